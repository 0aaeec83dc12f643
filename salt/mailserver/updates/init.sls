# -*- coding: utf-8 -*-
# vim: ft=sls
# Automatic security updates (the guide's APT::Periodic and origin), never a reboot by itself:
# a reboot locks the encrypted mail store. A pending reboot is reported instead.
{%- set tplroot = tpldir.split("/")[0] %}
{%- from tplroot ~ "/map.jinja" import mailserver with context %}
{%- set updates = mailserver.updates %}

mailserver-updates-pkg-installed:
  pkg.installed:
    - pkgs: {{ updates.pkgs | json }}

mailserver-updates-file-managed-periodic:
  file.managed:
    - name: /etc/apt/apt.conf.d/10periodic
    - contents: |
        // Managed by Salt (mailserver formula)
        {%- for key, value in updates.periodic.items() %}
        APT::Periodic::{{ key }} "{{ value }}";
        {%- endfor %}
    - require:
      - pkg: mailserver-updates-pkg-installed

mailserver-updates-file-managed-unattended:
  file.managed:
    - name: /etc/apt/apt.conf.d/51mailserver-unattended-upgrades
    - contents: |
        // Managed by Salt (mailserver formula): Debian security updates only.
        // Debian's 50unattended-upgrades lists more origins: clear them first.
        #clear Unattended-Upgrade::Origins-Pattern;
        Unattended-Upgrade::Origins-Pattern {
        {%- for origin in updates.origins %}
                "{{ origin }}";
        {%- endfor %}
        };
        Unattended-Upgrade::Automatic-Reboot "{{ updates.automatic_reboot | lower }}";
    - require:
      - pkg: mailserver-updates-pkg-installed
{%- if salt["mailserver_host.reboot_required"]() %}

mailserver-updates-reboot-pending:
  test.show_notification:
    - text: >-
        An update asked for a reboot (/run/reboot-required). Reboot when you can unlock the
        mail store afterwards: salt-run mailserver.unlock {{ grains["id"] }}
{%- endif %}
