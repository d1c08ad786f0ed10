# Deployment: make install / make uninstall, and the deploy test suites.
#
#   make install   [DESTDIR=/staging] [PREFIX=/usr/local]
#   make uninstall [DESTDIR=/staging] [PREFIX=/usr/local]
#
# Installs meshnetd, meshnet-agent and meshnetctl, their man pages, hardened
# systemd units, sysusers.d/modules-load.d snippets, default config files
# (never overwriting an existing one) and the meshnet.ko source for DKMS in
# /usr/src/meshnet-$(MESHNET_VERSION). With no DESTDIR and dkms present, the
# module is also built and installed by DKMS, the users are created and
# systemd is reloaded.

# MESHNET_VERSION: the top Makefile (VERSION file)
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/aligned-meshnet
# Configuration lives in /etc whatever the prefix (what the README and the
# units say); SYSCONFDIR=$(PREFIX)/etc for a self-contained tree.
SYSCONFDIR ?= /etc
# systemd reads units, sysusers.d and modules-load.d under /usr/lib and /usr/local/lib.
SYSTEMDDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib,$(PREFIX)/lib)
UNITDIR ?= $(SYSTEMDDIR)/systemd/system
SYSUSERSDIR ?= $(SYSTEMDDIR)/sysusers.d
MODLOADDIR ?= $(SYSTEMDDIR)/modules-load.d
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# DKMS only looks in /usr/src, whatever the prefix.
DKMS_SRCDIR ?= /usr/src/meshnet-$(MESHNET_VERSION)

INSTALL_PROGRAMS := meshnetd meshnet-agent meshnetctl meshnet-admin
INSTALL_MANPAGES := $(addprefix man/,$(addsuffix .8,$(INSTALL_PROGRAMS)))
INSTALL_UNITS := meshnetd.service meshnet-agent@.service
INSTALL_CONFIGS := meshnetd.conf agent.conf
# module sources only: not the kbuild products (meshnet.mod.c) of an in-tree build
KMOD_DKMS_SRCS = kmod/Kbuild $(filter-out %.mod.c,$(wildcard kmod/*.c)) $(wildcard kmod/*.h)
INSTALL_DOCS := $(wildcard docs/deploy.md docs/security.md docs/operations.md docs/architecture.md)

# @SBINDIR@ etc. in units and the DKMS file.
PACKAGING_SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@VERSION@|$(MESHNET_VERSION)|g'

.PHONY: install uninstall install-check-vars
install-check-vars:
	@for v in PREFIX=$(PREFIX) SBINDIR=$(SBINDIR) SYSCONFDIR=$(SYSCONFDIR) UNITDIR=$(UNITDIR) \
		MANDIR=$(MANDIR) DKMS_SRCDIR=$(DKMS_SRCDIR); do \
		case "$${v#*=}" in /*) ;; *) echo "install: $${v%%=*} must be an absolute path, got '$${v#*=}'" >&2; exit 2;; esac; \
		case "$${v#*=}" in *..*|*' '*) echo "install: $${v%%=*} must not contain '..' or spaces: '$${v#*=}'" >&2; exit 2;; esac; \
	done
	@case "$(DESTDIR)" in ''|/*) ;; *) echo "install: DESTDIR must be an absolute path, got '$(DESTDIR)'" >&2; exit 2;; esac

install: install-check-vars $(addprefix $(BUILD)/,$(INSTALL_PROGRAMS))
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(MODLOADDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(DKMS_SRCDIR)/kmod $(DESTDIR)$(DKMS_SRCDIR)/uapi/linux
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/meshnet
	install -m 0755 $(addprefix $(BUILD)/,$(INSTALL_PROGRAMS)) $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(INSTALL_MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	$(foreach u,$(INSTALL_UNITS),$(PACKAGING_SUBST) packaging/systemd/$(u).in >$(DESTDIR)$(UNITDIR)/$(u) && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$(u) &&) true
	install -m 0644 packaging/sysusers.d/meshnet.conf $(DESTDIR)$(SYSUSERSDIR)/meshnet.conf
	install -m 0644 packaging/modules-load.d/meshnet.conf $(DESTDIR)$(MODLOADDIR)/meshnet.conf
	install -d -m 0755 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 packaging/bash-completion/meshnet-admin $(DESTDIR)$(BASHCOMPDIR)/meshnet-admin
	@# default configs: never overwrite one the admin may have edited
	@for c in $(INSTALL_CONFIGS); do \
		if [ -e $(DESTDIR)$(SYSCONFDIR)/meshnet/$$c ]; then \
			echo "install: keeping existing $(DESTDIR)$(SYSCONFDIR)/meshnet/$$c"; \
		else \
			$(PACKAGING_SUBST) packaging/config/$$c >$(DESTDIR)$(SYSCONFDIR)/meshnet/$$c && \
			chmod 0644 $(DESTDIR)$(SYSCONFDIR)/meshnet/$$c || exit 1; \
		fi; \
	done
	$(if $(INSTALL_DOCS),install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/)
	@# meshnet.ko source tree for DKMS
	install -m 0644 Kbuild $(DESTDIR)$(DKMS_SRCDIR)/Kbuild
	install -m 0644 $(KMOD_DKMS_SRCS) $(DESTDIR)$(DKMS_SRCDIR)/kmod/
	install -m 0644 uapi/linux/meshnet.h $(DESTDIR)$(DKMS_SRCDIR)/uapi/linux/meshnet.h
	$(PACKAGING_SUBST) packaging/dkms/dkms.conf.in >$(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
	chmod 0644 $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf
ifeq ($(DESTDIR),)
	@# an upgrade replaces the module: every other meshnet version leaves DKMS first
	@if command -v dkms >/dev/null; then \
		for v in $$(dkms status -m meshnet 2>/dev/null | sed -n 's|^meshnet[/,] *\([^,:]*\).*|\1|p' | sort -u); do \
			[ "$$v" = "$(MESHNET_VERSION)" ] || dkms remove -m meshnet -v "$$v" --all; \
			[ "$$v" = "$(MESHNET_VERSION)" ] || rm -rf "/usr/src/meshnet-$$v"; \
		done; \
		dkms status -m meshnet -v $(MESHNET_VERSION) | grep -q . || dkms add -m meshnet -v $(MESHNET_VERSION); \
		dkms install -m meshnet -v $(MESHNET_VERSION) || echo "install: dkms could not build meshnet.ko (kernel headers installed?)" >&2; \
	else echo "install: dkms not found: apt-get install dkms, then dkms install -m meshnet -v $(MESHNET_VERSION)"; fi
	-command -v systemd-sysusers >/dev/null && systemd-sysusers $(SYSUSERSDIR)/meshnet.conf
	-[ -d /run/systemd/system ] && systemctl daemon-reload
	@echo "install: meshnet $(MESHNET_VERSION); load the new module with: modprobe -r meshnet && modprobe meshnet"
endif

uninstall: install-check-vars
ifeq ($(DESTDIR),)
	-[ -d /run/systemd/system ] && systemctl disable --now meshnetd.service 'meshnet-agent@*.service' 2>/dev/null
	-command -v dkms >/dev/null && dkms status -m meshnet -v $(MESHNET_VERSION) | grep -q . && \
		dkms remove -m meshnet -v $(MESHNET_VERSION) --all
endif
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INSTALL_PROGRAMS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(INSTALL_MANPAGES)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALL_UNITS))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/meshnet.conf $(DESTDIR)$(MODLOADDIR)/meshnet.conf
	rm -f $(DESTDIR)$(BASHCOMPDIR)/meshnet-admin
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DKMS_SRCDIR)
	@# configs: removed only when unchanged from the defaults
	@for c in $(INSTALL_CONFIGS); do \
		f=$(DESTDIR)$(SYSCONFDIR)/meshnet/$$c; [ -e $$f ] || continue; \
		if $(PACKAGING_SUBST) packaging/config/$$c | cmp -s - $$f; then rm -f $$f; \
		else echo "uninstall: keeping modified $$f"; fi; \
	done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/meshnet 2>/dev/null
ifeq ($(DESTDIR),)
	-[ -d /run/systemd/system ] && systemctl daemon-reload
endif

# --- test suites (host) --------------------------------------------------
.PHONY: deploy-check deploy-terraform deploy-compose deploy-install deploy-man
HOST_SUITES += deploy-terraform deploy-compose deploy-install deploy-man
deploy-check: deploy-terraform deploy-compose deploy-install deploy-man

deploy-terraform: $(BUILD)/meshnetd $(BUILD)/meshnet-agent $(BUILD)/meshnet-eval
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) deploy-terraform \
		bash $(TOP)/selftests/deploy/terraform.sh $(BUILD)/meshnetd $(BUILD)/meshnet-agent

deploy-compose:
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) deploy-compose \
		bash $(TOP)/selftests/deploy/compose.sh

deploy-install: $(addprefix $(BUILD)/,$(INSTALL_PROGRAMS))
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) deploy-install \
		bash $(TOP)/selftests/deploy/install.sh $(BUILD)

deploy-man: $(addprefix $(BUILD)/,$(INSTALL_PROGRAMS)) $(BUILD)/meshnet-eval
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) deploy-man \
		bash $(TOP)/selftests/deploy/man.sh $(BUILD)

# --- lint ------------------------------------------------------------------
# shellcheck (warnings and errors) on every deployment script, terraform fmt,
# groff -ww on the man pages, docker-compose config -q.
.PHONY: lint-deploy
LINT_TARGETS += lint-deploy
DEPLOY_SCRIPTS = $(wildcard selftests/deploy/*.sh terraform/scripts/*.sh)
lint-deploy:
	@shellcheck -x -S warning -s bash $(DEPLOY_SCRIPTS)
	@shellcheck -S warning docker/node/entrypoint.sh
	@for m in $(INSTALL_MANPAGES); do out=$$(groff -man -Tutf8 -ww -z $$m 2>&1); \
		[ -z "$$out" ] || { echo "$$m: $$out"; exit 1; }; done
	@docker-compose -f docker-compose.yml config -q
	@if command -v terraform >/dev/null; then CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null \
		terraform -chdir=terraform fmt -check -diff; else echo "lint-deploy: terraform not installed, fmt skipped"; fi
	@echo "lint-deploy: clean"
