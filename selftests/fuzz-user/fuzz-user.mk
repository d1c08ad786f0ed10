# libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) for every
# parser that takes outside bytes; see selftests/fuzz-user/README.md.
#
#   make fuzz-smoke   a host suite of make check: each target a few seconds
#                     (FUZZ_SMOKE_SECONDS), its seed corpus and regressions
#   make fuzz         each target, one at a time, until FUZZ_RUNS (10 million)
#                     executions or FUZZ_SECONDS (default 7200); FUZZ_ONLY=
#                     "fuzz_x fuzz_y" runs only those. Figures per target in
#                     build/fuzz/summary.txt, goal lines in build/bench/fuzz.txt

FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = $(CFLAGS_COMMON) -O1 -gline-tables-only \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIBS = $(shell pkg-config --libs libmicrohttpd json-c openssl libnl-genl-3.0 libpq libcurl \
	2>/dev/null) -lpthread -lm
FUZZ_DIR := selftests/fuzz-user
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_SECONDS ?= 7200
FUZZ_RUNS ?= 10000000

$(BUILD)/fuzz/obj/%.o: %.c | harness
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

FUZZ_LIB_SRCS = $(LIBMESHNET_SRCS)
$(BUILD)/fuzz/libmeshnet.a: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# $(call fuzz_target,NAME,EXTRA_SOURCES): build/fuzz/NAME from
# selftests/fuzz-user/NAME.c, the sources it fuzzes and the shared library.
FUZZ_TARGETS :=
define fuzz_target
FUZZ_TARGETS += $(1)
$(BUILD)/fuzz/$(1): $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_DIR)/$(1).c $(2)) \
		$(BUILD)/fuzz/libmeshnet.a
	$(FUZZ_CC) $(FUZZ_SAN) -o $$@ $$^ $(FUZZ_LIBS)
endef

# The controller's own parsers run inside the controller: link all of it but main.c.
FUZZ_CONTROLLER_SRCS = $(filter-out %/main.c,$(MESHNETD_SRCS))
$(eval $(call fuzz_target,fuzz_benchmark,$(FUZZ_CONTROLLER_SRCS)))
$(eval $(call fuzz_target,fuzz_enrolment,$(FUZZ_CONTROLLER_SRCS)))
$(eval $(call fuzz_target,fuzz_sign,))
$(eval $(call fuzz_target,fuzz_epoch,))
$(eval $(call fuzz_target,fuzz_ids,))
$(eval $(call fuzz_target,fuzz_route,userspace/controller/router.c))
$(eval $(call fuzz_target,fuzz_audit,userspace/controller/audit.c))
$(eval $(call fuzz_target,fuzz_checkpoint,))
$(eval $(call fuzz_target,fuzz_controller_config,userspace/controller/config.c))
$(eval $(call fuzz_target,fuzz_bench_cmd,userspace/agent/bench.c userspace/agent/harness.c userspace/agent/options.c \
	userspace/agent/ctl_urls.c))
$(eval $(call fuzz_target,fuzz_agent_config,userspace/agent/options.c userspace/agent/ctl_urls.c))
$(eval $(call fuzz_target,fuzz_statement,userspace/agent/statement_read.c userspace/agent/explanation.c \
	userspace/agent/dh_cache.c))
$(eval $(call fuzz_target,fuzz_attestation,))
# ack_parse is static: fuzz_ack.c includes routes/ack.c, so link the rest
$(eval $(call fuzz_target,fuzz_ack,$(filter-out %/routes/ack.c,$(FUZZ_CONTROLLER_SRCS))))
$(eval $(call fuzz_target,fuzz_policy,userspace/controller/policy.c userspace/controller/membership.c))

.PHONY: fuzz-bins fuzz-smoke fuzz
fuzz-bins: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

fuzz-smoke: fuzz-bins
	@sh scripts/run-suite.sh $(RESULTS) fuzz-smoke sh $(FUZZ_DIR)/run.sh smoke \
		$(FUZZ_SMOKE_SECONDS) 0 $(BUILD) $(BUILD)/results/fuzz-smoke.txt $(FUZZ_TARGETS)

FUZZ_ONLY ?= $(FUZZ_TARGETS)
fuzz: fuzz-bins
	@mkdir -p $(BUILD)/bench
	nice -n 19 sh $(FUZZ_DIR)/run.sh long $(FUZZ_SECONDS) $(FUZZ_RUNS) $(BUILD) \
		$(BUILD)/fuzz/summary.txt $(FUZZ_ONLY); rc=$$?; \
		grep '^goal' $(BUILD)/fuzz/summary.txt >$(BUILD)/bench/fuzz.txt; \
		cat $(BUILD)/fuzz/summary.txt; exit $$rc

HOST_SUITES += fuzz-smoke

# The controller's console route includes its generated assets header.
$(BUILD)/fuzz/obj/userspace/controller/routes/console.o: $(BUILD)/gen/console_assets.h
$(BUILD)/fuzz/obj/userspace/controller/routes/console.o: FUZZ_CFLAGS += -I$(BUILD)/gen
