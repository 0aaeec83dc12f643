# -*- coding: utf-8 -*-
# vim: ft=sls
# fail2ban (DenyHosts is not packaged for Debian 12): jails for SSH, Postfix SASL, Dovecot
# and repeat offenders, reading the systemd journal, banning on IPv4 and IPv6.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set f2b = mailserver.fail2ban %}

mailserver-fail2ban-pkg-installed:
  pkg.installed:
    - pkgs: {{ f2b.pkgs | json }}

mailserver-fail2ban-file-managed-jails:
  file.managed:
    - name: {{ f2b.config_file }}
    - contents: {{ salt["mailserver_fail2ban.jail_config"](mailserver) | json }}
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-fail2ban-pkg-installed

# say what Debian's file leaves implicit (fail2ban warns about it at every start)
mailserver-fail2ban-file-managed-daemon:
  file.managed:
    - name: {{ f2b.daemon_file }}
    - contents: |
        # Managed by Salt (mailserver formula)
        [Definition]
        allowipv6 = auto
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-fail2ban-pkg-installed

# the whole configuration must load before fail2ban is reloaded with it
mailserver-fail2ban-cmd-run-check:
  cmd.run:
    - name: fail2ban-client --test
    - onchanges:
      - file: mailserver-fail2ban-file-managed-jails
      - file: mailserver-fail2ban-file-managed-daemon

mailserver-fail2ban-service-running:
  service.running:
    - name: {{ f2b.service }}
    - enable: true
    - reload: true
    - require:
      - cmd: mailserver-fail2ban-cmd-run-check
    - watch:
      - file: mailserver-fail2ban-file-managed-jails
      - file: mailserver-fail2ban-file-managed-daemon
