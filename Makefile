# Two commands do all set-up on a fresh Debian 12 machine, as root:
#   make demo   build and boot the lab, apply the highstate to mx1 through a salt-master
#   make test   every test: lint, fast tier, integration tier, system tier (the lab)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
# (the lab's tools; a MariaDB server's binaries, named-checkzone and openssl for the fast tier)
HOST_PKGS := python3 python3-venv systemd-container mmdebstrap apt-cacher-ng iproute2 util-linux \
	mariadb-server-core mariadb-client-core bind9-utils openssl
HOST ?= mx1
ARGS ?= '*' test.ping

.PHONY: help deps host-deps test test-fast lint docs demo bench lab-down lab-shell lab-salt lab-status

help:
	@echo "make demo       build and boot the lab, apply the highstate to mx1, print a report"
	@echo "make test       run every test (lint, fast, integration, system)"
	@echo "make test-fast  unit and functional tests only (no containers, seconds)"
	@echo "make lint       ruff, yamllint, salt-lint"
	@echo "make docs       docs/configuration.md from the formula's defaults"
	@echo "make bench      benchmarks in the lab, ~10 min (N=mailboxes SMOKE=1 MORE=1; CLUSTER=1: two mail hosts instead, ~20 min)"
	@echo "make lab-shell  a root shell in mx1 (HOST=peer for the peer)"
	@echo "make lab-salt   the salt CLI against the demo master (ARGS=\"'mx*' test.ping\")"
	@echo "make lab-down   tear the lab down"

# Debian packages the lab needs on the host; installed once, only when one is missing.
host-deps:
	@missing=""; for p in $(HOST_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing host packages:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The project's Python environment, rebuilt when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

deps: host-deps $(VENV)/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/yamllint -s .
	find salt pillar -name '*.sls' -o -name '*.jinja' | xargs $(VENV)/bin/salt-lint

docs: $(VENV)/.installed
	$(PY) -m tools.configdoc

test-fast: deps
	$(VENV)/bin/pytest -m "not system and not integration" tests

# (the system tier in two labs side by side: tests/labs.py)
test: deps lint
	$(PY) -m tests.labs

demo: deps
	$(PY) -m lab demo

lab-down: $(VENV)/.installed
	$(PY) -m lab down

lab-shell: $(VENV)/.installed
	$(PY) -m lab shell $(HOST)

lab-salt: $(VENV)/.installed
	$(PY) -m lab salt $(ARGS)

lab-status: $(VENV)/.installed
	$(PY) -m lab status

# Benchmarks (not timed tests): figures as ratios to a baseline measured in the same run.
bench: deps
ifdef CLUSTER
	$(PY) -m pytest -q -s tests/system/bench_cluster.py
else
	$(PY) -m tests.bench.run $(if $(N),--mailboxes $(N)) $(if $(SMOKE),--smoke) $(if $(MORE),--more)
endif
