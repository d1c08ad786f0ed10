# Debug guest kernel (issue 7): every kernel suite also runs under a kernel
# with KASAN, KFENCE, lockdep, DEBUG_ATOMIC_SLEEP, UBSAN and kmemleak.
#
#   make debug-kernel     build it (tree + ccache in $(CACHE)/debug-kernel)
#   make kmod-debug       meshnet.ko against it, in build/kmod-debug/
#   make vm-test-debug    all guest suites + kmemleak on it, and the harness
#                         self-test (selftests/detector/: planted bugs)
#   make debug-shell      boot the debug guest with a shell on the console
# See vm-test/debug-kernel/README.md.
DEBUG_KERNEL_SH := $(TOP)/vm-test/debug-kernel/build.sh
DEBUG_KDIR = $(shell CACHE=$(CACHE) bash $(DEBUG_KERNEL_SH) --print-kdir 2>/dev/null)
DEBUG_BZIMAGE = $(DEBUG_KDIR)/arch/x86/boot/bzImage
DEBUG_KMOD := $(BUILD)/kmod-debug
DEBUG_MESHNET_KO := $(DEBUG_KMOD)/kmod/meshnet.ko
# Same compiler as the tree (build.sh), so external modules hit its ccache.
DEBUG_KMAKE = CCACHE_DIR=$(CACHE)/debug-kernel/ccache \
	$(MAKE) -C $(DEBUG_KDIR) CC="ccache gcc" HOSTCC="ccache gcc" W=1
# panic_on_warn: the first WARN (and KASAN/KFENCE/UBSAN report) stops the
# run, and the runner counts the suites it cut short as failed.
DEBUG_APPEND := panic_on_warn=1
# The debug guest is ~4x slower under TCG: scale the per-suite time limits
# once the runner can (request in /work/team/requests-vmtest.md).
DEBUG_SCALE = $(shell grep -q -e '--timeout-scale' $(VM_RUNNER) 2>/dev/null && echo --timeout-scale 4)

VM_DEPS += vm-test-debug
HOST_SUITES += debug-config-check
.PHONY: debug-kernel kmod-debug vm-test-debug vm-test-debug-build vm-test-debug-suites \
	debug-shell debug-config-check

# Host suite: a fragment line Kconfig dropped or changed must be an error.
debug-config-check:
	@CACHE="$(CACHE)" sh $(TOP)/scripts/run-suite.sh $(RESULTS) debug-config-check \
		bash $(TOP)/vm-test/debug-kernel/test-config-check.sh

debug-kernel:
	@CACHE=$(CACHE) bash $(DEBUG_KERNEL_SH)

# DEBUG_KERNEL_DONE=1: the caller already brought the kernel up to date.
DEBUG_KERNEL_DEP = $(if $(DEBUG_KERNEL_DONE),,debug-kernel)

# A copy of the module sources (no stock objects) built against the tree:
# a module built for Debian's kernel does not load into this one.
kmod-debug: $(DEBUG_KERNEL_DEP)
	@rm -rf $(DEBUG_KMOD) && mkdir -p $(DEBUG_KMOD)/kmod $(DEBUG_KMOD)/uapi
	@cp $(TOP)/Kbuild $(DEBUG_KMOD)/
	@cp -R $(TOP)/uapi/. $(DEBUG_KMOD)/uapi/
	@cd $(TOP)/kmod && find . -type f \( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) \
		! -name '*.mod.c' -print0 | cpio -0 -pdm --quiet $(DEBUG_KMOD)/kmod
	$(DEBUG_KMAKE) M=$(DEBUG_KMOD) modules
	@test -f $(DEBUG_MESHNET_KO)

vm-test-debug: vm-test-debug-suites vm-test-debug-detectors

# The builds as a counted result suite (build/results/vm-debug-build.log).
vm-test-debug-build:
	@mkdir -p $(RESULTS)
	@TOP="$(TOP)" MAKE="$(MAKE)" sh $(TOP)/scripts/run-suite.sh $(RESULTS) vm-debug-build \
		bash $(TOP)/vm-test/debug-kernel/build-tap.sh

# Same suites, binaries and options (VM_SUITES, VM_ARGS) as vm-test-stock.
vm-test-debug-suites: vm-test-debug-build all vm-bins
	@test -f $(DEBUG_MESHNET_KO) || { echo "vm-test-debug: no debug meshnet.ko (see vm-debug-build)"; exit 1; }
	VM_BINS="$(VM_BINS)" RESULTS="$(RESULTS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(VM_RUNNER) --kernel $(DEBUG_BZIMAGE) --modules-dir none \
		--meshnet-ko $(DEBUG_MESHNET_KO) --name debug --append "$(DEBUG_APPEND)" \
		$(DEBUG_SCALE) $(if $(VM_SUITES),--suites "$(VM_SUITES)") $(VM_ARGS)

debug-shell: kmod-debug all vm-bins
	VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(VM_RUNNER) --kernel $(DEBUG_BZIMAGE) --modules-dir none \
		--meshnet-ko $(DEBUG_MESHNET_KO) --name debug-shell \
		--append "$(DEBUG_APPEND)" --shell $(VM_ARGS)
