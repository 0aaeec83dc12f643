"""The documentation a user reads is the formula's: the configuration reference is made from
the defaults, pillar.example covers every key a user sets, the README stays short."""

from __future__ import annotations

import re

import yaml

from tests.conftest import REPO
from tools import configdoc

# keys that are facts of Debian 12 or policies the formula keeps (packages, units, paths,
# users, internal ports, algorithm lists): in docs/configuration.md, not in pillar.example
FACTS = re.compile(
    r"(^|:)(pkgs|service|unit|group|user|uid|gid|socket|dir|root|default_site|resolv_conf"
    r"|resolv_conf_saved|deploy_hook|cert_name|database|reader|bind_address|[a-z]+_(file|dir)"
    r"|kex|ciphers|macs|host_key_algorithms|pubkey_algorithms|ssl_ciphers"
    r"|mandatory_protocols|min_protocol|banaction|banaction_allports|filter|journalmatch"
    r"|origins|periodic|sysctl|http_port|timer)$|^(dkim|dmarc|dns:bind|redis|postgrey|postfwd):port$"
    r"|^rspamd:([a-z]+_port|fuzzy_flag|web_[a-z]+_file)$"
    r"|^webmail:(default_pool_file|plugin_config_dir|document_root)$"
)


def leaves(tree, path=()):
    for key, value in tree.items():
        here = (*path, key)
        if isinstance(value, dict) and value and key not in ("sysctl", "periodic", "pkgs"):
            yield from leaves(value, here)
        else:
            yield ":".join(here)


def test_the_configuration_reference_is_made_from_the_defaults():
    assert (REPO / "docs/configuration.md").read_text() == configdoc.render(), (
        "docs/configuration.md differs from the defaults: run `make docs`"
    )


def test_every_key_of_the_defaults_says_what_it_means():
    assert [key for key, _, meaning in configdoc.rows() if not meaning] == []


def test_pillar_example_shows_every_key_a_user_sets():
    defaults = yaml.safe_load((REPO / "salt/mailserver/parameters/defaults.yaml").read_text())
    example = yaml.safe_load((REPO / "pillar.example").read_text())["mailserver"]
    # free-form: checked by their own validator
    free = ("domains", "mailboxes", "aliases", "cluster:hosts")
    want = {k for k in leaves(defaults["values"]) if not FACTS.search(k)}
    have = {k for k in leaves(example) if not k.startswith(free)} | set(free)
    assert sorted(want - have) == [], "keys a user sets, missing from pillar.example"
    assert sorted(have - set(leaves(defaults["values"])) - set(free)) == []


def test_the_readme_is_short_and_its_links_lead_somewhere():
    text = (REPO / "README.md").read_text()
    assert len(text.encode()) <= 6 * 1024
    assert "make test" in text and "make demo" in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (REPO / target).exists(), target
