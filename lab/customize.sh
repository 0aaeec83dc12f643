#!/bin/sh
# mmdebstrap customize hook: $1 is the image root, $2 the image name (base or peer).
set -eu
root=$1
name=$2

# A fresh host has no package lists yet, as after an install; the first pkg state fetches them
# (through the lab's apt proxy, configured per host when the lab starts).
rm -rf "$root"/var/lib/apt/lists/*

# Machine id is made per container at first boot.
: > "$root/etc/machine-id"

if [ "$name" = base ]; then
    # Salt as a user would install it: in its own Python environment, with the formula's
    # libraries (pymysql, passlib, dnspython) beside it.
    chroot "$root" python3 -m venv /opt/salt
    chroot "$root" env PIP_CONFIG_FILE=/dev/null /opt/salt/bin/pip install -q --no-index \
        --find-links /opt/wheels -r /opt/wheels/requirements.txt
    rm -rf "$root/opt/wheels"
    for tool in salt-call salt-minion; do
        ln -sf /opt/salt/bin/$tool "$root/usr/bin/$tool"
    done
    chroot "$root" systemctl enable salt-minion.service
fi

if [ "$name" = peer ]; then
    # the mailbox that receives everything sent to the outside world's domain
    chroot "$root" useradd --create-home --shell /usr/sbin/nologin sink
fi
