# The transparency log: lib/tlog known answers (RFC 9162, C2SP, Go sumdb,
# a real CT log), the segment store (torn tails, tampering) and meshnetd's
# audit subcommands. ASan+UBSan builds, run through scripts/run-suite.sh.
TLOG_TEST_LIBS = $(shell pkg-config --libs json-c openssl) -lpthread -lm

$(eval $(call program,tlog-merkle-test,selftests/tlog/merkle_test.c,$(TLOG_TEST_LIBS)))
# The store test runs build/san/meshnetd (beside it) for the offline tools.
$(eval $(call program,tlog-store-test,selftests/tlog/store_test.c \
	userspace/controller/tlog_store.c,$(TLOG_TEST_LIBS)))

.PHONY: tlog tlog-merkle tlog-store
tlog: tlog-merkle tlog-store tlog-witness
tlog-merkle: $(BUILD)/san/tlog-merkle-test
	@sh scripts/run-suite.sh $(RESULTS) tlog-merkle $(BUILD)/san/tlog-merkle-test
tlog-store: $(BUILD)/san/tlog-store-test $(BUILD)/san/meshnetd
	@sh scripts/run-suite.sh $(RESULTS) tlog-store $(BUILD)/san/tlog-store-test

# Witness mode: real meshnetd + meshnet-witness, the agent's monitor (REQUIRE_WITNESS).
$(eval $(call program,tlog-witness-test,selftests/tlog/witness_test.c \
	selftests/controller/client.c userspace/agent/monitor.c,$(TLOG_TEST_LIBS)))
.PHONY: tlog-witness
tlog-witness: $(BUILD)/san/tlog-witness-test $(BUILD)/san/meshnetd $(BUILD)/san/meshnet-witness
	@sh scripts/run-suite.sh $(RESULTS) tlog-witness $(BUILD)/san/tlog-witness-test

HOST_SUITES += tlog-merkle tlog-store tlog-witness

TLOG_TEST_OBJS := $(foreach t,merkle_test store_test bench_audit witness_test,$(BUILD)/obj/selftests/tlog/$(t).o \
	$(BUILD)/san/obj/selftests/tlog/$(t).o)
$(TLOG_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation
$(TLOG_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation

# make bench-audit: build/bench/audit.txt (release build; a few minutes, disk-bound).
$(eval $(call program,bench-audit,selftests/tlog/bench_audit.c userspace/controller/tlog_store.c \
	userspace/controller/audit.c,$(TLOG_TEST_LIBS)))

.PHONY: bench-audit
bench-audit: $(BUILD)/bench-audit
	@mkdir -p $(BUILD)/bench
	nice -n 10 $(BUILD)/bench-audit $(BUILD)/bench/audit-work $(BUILD)/bench/audit.txt
	@cat $(BUILD)/bench/audit.txt

BENCH_TARGETS += bench-audit
