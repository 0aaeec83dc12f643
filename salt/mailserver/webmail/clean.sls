# -*- coding: utf-8 -*-
# vim: ft=sls
# Roundcube and PHP-FPM go; their data in the store (settings, address books) stays.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set webmail = mailserver.webmail %}

mailserver-webmail-clean-service-dead:
  service.dead:
    - name: {{ webmail.service }}
    - enable: false

mailserver-webmail-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ webmail.all_pkgs | json }}
    - require:
      - service: mailserver-webmail-clean-service-dead

mailserver-webmail-clean-file-absent:
  file.absent:
    - names:
      - {{ webmail.config_file }}
      - {{ webmail.secret_file }}
      - {{ webmail.pool_file }}
      - {{ webmail.plugin_config_dir }}/managesieve/config.inc.php
      - {{ webmail.plugin_config_dir }}/markasjunk/config.inc.php
      - /etc/systemd/system/roundcube-gc.service.d/mailserver.conf
      - /etc/systemd/system/roundcube-cleandb.service.d/mailserver.conf
      - {{ mailserver.web.root }}/maintenance
    - require:
      - pkg: mailserver-webmail-clean-pkg-removed

mailserver-webmail-clean-user-absent:
  user.absent:
    - name: {{ webmail.user }}
    - require:
      - pkg: mailserver-webmail-clean-pkg-removed

mailserver-webmail-clean-group-absent:
  group.absent:
    - name: {{ webmail.user }}
    - require:
      - user: mailserver-webmail-clean-user-absent
