# QEMU guest suites (docs/VM-TEST.md). vm-test/run-vm.sh builds the initramfs,
# boots the kernel under TCG and leaves build/results/vm-<name>-<suite>.log.
#   make vm-test                  every kernel in KERNEL (stock debug)
#   make vm-test KERNEL=stock     only Debian's stock kernel
#   make vm-shell                 interactive guest (stock kernel)
VM_RUNNER := $(TOP)/vm-test/run-vm.sh
KERNEL ?= stock debug
VM_SUITES ?=
VM_ARGS ?=

.PHONY: vm-test vm-test-stock vm-shell vm-print-bins vm-bins

vm-test: $(addprefix vm-test-,$(KERNEL))

# VM_BINS is complete only once every fragment is read: build it in a
# sub-make (the recipe is expanded when it runs, not when it is read).
vm-bins:
	$(MAKE) --no-print-directory $(addprefix $(BUILD)/,$(VM_BINS))

vm-print-bins:
	@echo $(VM_BINS)

# The stock guest runs beside a throwaway PostgreSQL 15 on the host (the
# two-controller suite e2e-ha reaches it as VM_PG_URL); without one installed
# that suite skips. Decided when the recipe runs: make check installs it first.
VM_WITH_PG = sh -c 'if [ -x /usr/lib/postgresql/15/bin/postgres ]; then exec $(PG_RUN) "$$@"; fi; \
	echo "vm-test: no PostgreSQL 15 (make deps): the suites that need it skip"; exec "$$@"' vm-with-pg

vm-test-stock: all vm-bins
	VM_BINS="$(VM_BINS)" RESULTS="$(RESULTS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		$(VM_WITH_PG) bash $(VM_RUNNER) --name stock $(if $(VM_SUITES),--suites "$(VM_SUITES)") $(VM_ARGS)

vm-shell: all vm-bins
	VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" bash $(VM_RUNNER) --shell $(VM_ARGS)

VM_DEPS += vm-test-stock
