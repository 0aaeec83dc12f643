# -*- coding: utf-8 -*-
# vim: ft=sls
# Time (Chrony, as in the guide): servers and pools from pillar; no NTP service to others.
# In a container the clock is the host's: chronyd tracks it without setting it (-x).
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set chrony = mailserver.chrony %}
{%- set dropin = "/etc/systemd/system/" ~ chrony.service ~ ".service.d/mailserver.conf" %}

mailserver-chrony-pkg-installed:
  pkg.installed:
    - pkgs: {{ chrony.pkgs | json }}

mailserver-chrony-file-managed-config:
  file.managed:
    - name: {{ chrony.config_file }}
    - contents: |
        # Managed by Salt (mailserver formula). Edit pillar, not this file.
        {%- for server in chrony.servers %}
        server {{ server }} iburst
        {%- endfor %}
        {%- for pool in chrony.pools %}
        pool {{ pool }} iburst
        {%- endfor %}
        keyfile /etc/chrony/chrony.keys
        driftfile /var/lib/chrony/chrony.drift
        ntsdumpdir /var/lib/chrony
        logdir /var/log/chrony
        maxupdateskew 100.0
        rtcsync
        makestep 1 3
        leapsectz right/UTC
        # a client only: no NTP port open, chronyc from this host only
        port 0
    - user: root
    - group: root
    - mode: "0644"
    - require:
      - pkg: mailserver-chrony-pkg-installed

mailserver-chrony-file-managed-defaults:
  file.managed:
    - name: {{ chrony.defaults_file }}
    - contents: |
        # Managed by Salt (mailserver formula)
        DAEMON_OPTS="-F 1{{ "" if chrony.clock_control else " -x" }}"
    - require:
      - pkg: mailserver-chrony-pkg-installed

{%- if chrony.clock_control %}

mailserver-chrony-file-absent-dropin:
  file.absent:
    - name: {{ dropin }}
{%- else %}

# Debian's unit needs CAP_SYS_TIME, which a container lacks; with -x chronyd does not use it
mailserver-chrony-file-managed-dropin:
  file.managed:
    - name: {{ dropin }}
    - makedirs: true
    - contents: |
        # Managed by Salt (mailserver formula): the clock is not ours to set here
        [Unit]
        ConditionCapability=
{%- endif %}

mailserver-chrony-cmd-run-daemon-reload:
  cmd.run:
    - name: systemctl daemon-reload
    - onchanges:
      - file: {{ dropin }}

mailserver-chrony-service-running:
  service.running:
    - name: {{ chrony.service }}
    - enable: true
    - require:
      - cmd: mailserver-chrony-cmd-run-daemon-reload
    - watch:
      - file: mailserver-chrony-file-managed-config
      - file: mailserver-chrony-file-managed-defaults
      - file: {{ dropin }}
