# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set webmail = mailserver.webmail %}

include:
  - {{ tplroot }}.webmail.package
  - {{ tplroot }}.web.package

# its own user: the PHP of the webmail can read nothing of other services
mailserver-webmail-config-group-present:
  group.present:
    - name: {{ webmail.user }}
    - system: true

mailserver-webmail-config-user-present:
  user.present:
    - name: {{ webmail.user }}
    - gid: {{ webmail.user }}
    - home: {{ webmail.data_dir }}
    - createhome: false
    - shell: /usr/sbin/nologin
    - system: true
    - require:
      - group: mailserver-webmail-config-group-present

# the key that encrypts each session's IMAP password (made here, never in pillar)
mailserver-webmail-config-secrets-present:
  mailserver_webmail.secrets_present:
    - name: {{ webmail.key_file }}
    - require:
      - pkg: mailserver-webmail-package-pkg-installed
      - user: mailserver-webmail-config-user-present

mailserver-webmail-config-file-managed:
  file.managed:
    - names:
      - {{ webmail.config_file }}:
        - source: salt://{{ tplroot }}/webmail/files/config.inc.php.jinja
{%- for plugin in ("managesieve", "markasjunk") %}
      - {{ webmail.plugin_config_dir }}/{{ plugin }}/config.inc.php:
        - source: salt://{{ tplroot }}/webmail/files/plugin.inc.php.jinja
{%- endfor %}
    - template: jinja
    - context:
        webmail: {{ webmail | json }}
        hostname: {{ mailserver.hostname }}
        ports: {{ mailserver.ports | json }}
        message_size_limit: {{ mailserver.postfix.message_size_limit }}
    - user: root
    - group: {{ webmail.user }}
    - mode: "0640"
    - check_cmd: php -l
    - require:
      - pkg: mailserver-webmail-package-pkg-installed
      - user: mailserver-webmail-config-user-present

# the webmail's pool: its own user, its PHP confined to its files and its data
mailserver-webmail-config-file-managed-pool:
  file.managed:
    - name: {{ webmail.pool_file }}
    - source: salt://{{ tplroot }}/webmail/files/pool.conf.jinja
    - template: jinja
    - context:
        webmail: {{ webmail | json }}
        web_group: {{ mailserver.web.group }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-webmail-package-pkg-installed
      - user: mailserver-webmail-config-user-present

# Debian's pool of www-data: nothing else runs PHP here
mailserver-webmail-config-file-absent-default-pool:
  file.absent:
    - name: {{ webmail.default_pool_file }}
    - require:
      - pkg: mailserver-webmail-package-pkg-installed

# Roundcube's clean-ups (timers) run as its user, and only while the store is unlocked
mailserver-webmail-config-file-managed-timer-dropins:
  file.managed:
    - names:
{%- for unit in ("roundcube-gc", "roundcube-cleandb") %}
      - /etc/systemd/system/{{ unit }}.service.d/mailserver.conf
{%- endfor %}
    - source: salt://{{ tplroot }}/webmail/files/timer-dropin.conf.jinja
    - template: jinja
    - context:
        webmail: {{ webmail | json }}
        mount_point: {{ mailserver.store.mount_point }}
    - makedirs: true

mailserver-webmail-config-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: mailserver-webmail-config-file-managed-timer-dropins

# what nginx answers while the store is locked (PHP-FPM is not running then)
mailserver-webmail-config-file-managed-maintenance:
  file.managed:
    - name: {{ mailserver.web.root }}/maintenance/maintenance.html
    - source: salt://{{ tplroot }}/webmail/files/maintenance.html.jinja
    - template: jinja
    - context:
        product_name: {{ webmail.product_name | json }}
    - makedirs: true
    - user: root
    - group: root
    - mode: "0644"
    - dir_mode: "0755"
