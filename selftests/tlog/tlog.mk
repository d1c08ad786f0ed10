# The transparency log: lib/tlog known answers (RFC 9162, C2SP, Go sumdb,
# a real CT log), the segment store (torn tails, tampering) and meshnetd's
# audit subcommands. ASan+UBSan builds, run through scripts/run-suite.sh.
TLOG_TEST_LIBS = $(shell pkg-config --libs json-c openssl) -lpthread -lm

$(eval $(call program,tlog-merkle-test,selftests/tlog/merkle_test.c,$(TLOG_TEST_LIBS)))

.PHONY: tlog
tlog: $(BUILD)/san/tlog-merkle-test
	@sh scripts/run-suite.sh $(RESULTS) tlog-merkle $(BUILD)/san/tlog-merkle-test

HOST_SUITES += tlog

TLOG_TEST_OBJS := $(foreach t,merkle_test,$(BUILD)/obj/selftests/tlog/$(t).o \
	$(BUILD)/san/obj/selftests/tlog/$(t).o)
$(TLOG_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral
$(TLOG_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral
