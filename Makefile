# The README's commands. Each creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.plait-installed
SOURCES = setup.py pyproject.toml Cargo.toml $(shell find native -name '*.rs' -o -name 'Cargo.toml' 2>/dev/null) \
          $(shell find python -name '*.pyx' -o -name '*.pxd' 2>/dev/null)
DATA   ?= plait-data

.PHONY: run test lint bench install clean peers

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) $(SOURCES)
	$(PY) -m pip install --quiet "setuptools>=68" wheel "setuptools-rust>=1.9" "Cython>=3.0"
	$(PY) -m pip install --quiet --no-build-isolation -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/plait serve --data $(DATA)

test: lint peers
	cargo test --workspace
	$(PY) -m pytest -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check python tests benches
	$(VENV)/bin/mypy python/plait

# The DNS, SSH, terminal/telnet and NAT-test peers the interop tests and the dns-server / ssh benches run (Debian packages;
# needs root or sudo). Quick no-op when every binary is there. policy-rc.d keeps the packages from starting
# their own daemons during the install (tests use their own on high ports anyway).
PEER_BINS = dig delv kdig drill nsd named knotd unbound dnsperf dnssec-signzone dnssec-keygen ldns-signzone \
            ssh sshd ssh-keygen sftp scp dbclient dropbear dropbearkey dropbearconvert sshpass /usr/lib/openssh/sftp-server \
            tmux vttest telnet expect telnetd nft
PEER_PKGS = bind9-dnsutils bind9-utils knot-dnsutils ldnsutils nsd bind9 knot unbound dnsperf \
            openssh-client openssh-server openssh-sftp-server dropbear-bin sshpass \
            tmux vttest inetutils-telnet expect inetutils-telnetd nftables
APT       = apt-get -o DPkg::Lock::Timeout=300
POLICY_RC = /usr/sbin/policy-rc.d

peers:
	@PATH="$$PATH:/usr/sbin:/sbin"; missing=""; \
	for b in $(PEER_BINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "peers: installing $(PEER_PKGS) (missing:$$missing)"; \
	SUDO=""; if [ "$$(id -u)" != 0 ]; then SUDO="sudo -n"; fi; \
	created=""; \
	if [ ! -e $(POLICY_RC) ]; then \
	  printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $(POLICY_RC) >/dev/null && \
	  $$SUDO chmod 755 $(POLICY_RC) && created=1; fi; \
	status=0; \
	$$SUDO $(APT) -qq update >/dev/null || status=$$?; \
	if [ $$status = 0 ]; then \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends \
	    $(PEER_PKGS) >/dev/null || status=$$?; fi; \
	if [ -n "$$created" ]; then $$SUDO rm -f $(POLICY_RC); fi; \
	exit $$status

bench: $(STAMP)
	$(PY) benches/run.py

clean:
	rm -rf $(VENV) build target python/plait/*.so python/plait/**/*.so
