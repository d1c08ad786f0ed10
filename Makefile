# aligned-meshnet top-level build.
#
#   make            build meshnet.ko (Debian 6.1 headers) and all userspace
#   make check      install deps, build, run every test suite (host + VM), print
#                   one line "N passed, N failed"
#   make demo       install deps, build, run the three-node mesh demo in QEMU
#   make bench      run every benchmark (results in build/bench/)
#   make lint       sparse, checkpatch --strict, cppcheck, scan-build
#
# Components add themselves through the *.mk fragments included below; each
# fragment appends to BINS, HOST_SUITES, VM_DEPS, BENCH_TARGETS, LINT_TARGETS.

SHELL := /bin/bash
TOP := $(CURDIR)
BUILD := $(TOP)/build
RESULTS := $(BUILD)/results
CACHE ?= $(HOME)/.cache/meshnet
HARNESS_DIR := $(CACHE)/kselftest

# The guest kernel is Debian's, never the host's `uname -r`.
KVER ?= $(shell ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
KDIR ?= /usr/src/linux-headers-$(KVER)

CC ?= gcc
# The tree's version: VERSION, plus the commit when built from a git checkout
# (`PROGRAM --version`, the DKMS package version).
MESHNET_VERSION := $(shell cat $(TOP)/VERSION)
MESHNET_BUILD_ID := $(shell git -C $(TOP) describe --always --dirty --exclude '*' 2>/dev/null)
PKGS := libmicrohttpd json-c openssl libcurl libnl-genl-3.0 libpq
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_COMMON = -std=gnu11 -g $(WARN) -D_GNU_SOURCE -I$(TOP)/uapi -I$(TOP)/userspace/lib \
	-I$(HARNESS_DIR) $(PKG_CFLAGS) \
	-DMESHNET_VERSION='"$(MESHNET_VERSION)$(if $(MESHNET_BUILD_ID), (git $(MESHNET_BUILD_ID)))"'
CFLAGS_REL = $(CFLAGS_COMMON) -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS_SAN = $(CFLAGS_COMMON) -O1 $(SAN_FLAGS)
LDFLAGS_REL := -pie -Wl,-z,relro,-z,now

BINS :=
HOST_SUITES :=
VM_DEPS :=
BENCH_TARGETS :=
LINT_TARGETS :=

.PHONY: all deps harness kmod userspace check check-host check-vm demo bench lint clean
all: kmod userspace

deps:
	@bash $(TOP)/scripts/install-deps.sh

harness:
	@bash $(TOP)/scripts/get-kselftest-harness.sh $(HARNESS_DIR)

kmod:
	$(MAKE) -C $(KDIR) M=$(TOP) W=1 modules

# $(call program,NAME,SOURCES,LIBS): build/NAME (release) and build/san/NAME
# (ASan+UBSan), both linked with the shared static library.
define program
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(2)) $(BUILD)/libmeshnet.a
	@mkdir -p $$(@D)
	$$(CC) $(LDFLAGS_REL) -o $$@ $$^ $(3)
$(BUILD)/san/$(1): $(patsubst %.c,$(BUILD)/san/obj/%.o,$(2)) $(BUILD)/san/libmeshnet.a
	@mkdir -p $$(@D)
	$$(CC) $(SAN_FLAGS) -o $$@ $$^ $(3)
endef

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -MMD -MP -c -o $@ $<
$(BUILD)/san/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) -MMD -MP -c -o $@ $<

# Only the tests need the kselftest harness: `make` builds the programs
# without fetching it.
HARNESS_SRCS := $(shell cd $(TOP) && find selftests userspace -name '*.c' \
	-exec grep -l kselftest_harness.h {} + 2>/dev/null)
$(foreach o,$(HARNESS_SRCS:.c=.o),$(BUILD)/obj/$(o) $(BUILD)/san/obj/$(o)): | harness

-include userspace/lib/lib.mk
-include userspace/controller/controller.mk
-include userspace/cli/cli.mk
-include userspace/agent/agent.mk
-include userspace/admin/admin.mk
-include userspace/eval/eval.mk
-include userspace/witness/witness.mk
-include selftests/selftests.mk
-include vm-test/vm-test.mk
-include vm-test/debug-kernel/debug.mk
-include lint.mk
-include deploy.mk

userspace: $(addprefix $(BUILD)/,$(BINS))

# make check: never stops at the first failing suite; the summary decides.
# Everything is built first; then the stock and the debug guest run side by
# side (-j2: much of a guest suite's time is waiting on timers and pings, and
# the debug kernel's build overlaps the stock suites), keeping CI in budget.
check: deps
	@rm -rf $(RESULTS); mkdir -p $(RESULTS)
	$(MAKE) all
	$(MAKE) vm-bins
	$(MAKE) -k check-host || true
	@sh $(TOP)/scripts/missing-suites.sh $(RESULTS) $(HOST_SUITES)
	$(MAKE) -k -j2 check-vm || true
	@sh $(TOP)/scripts/summarize.sh $(RESULTS)

check-host: $(HOST_SUITES)
check-vm: $(VM_DEPS)

bench: deps all $(BENCH_TARGETS)

lint: $(LINT_TARGETS)

clean:
	-$(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
