# meshnetctl tests: host unit tests of the parsers and the binary without a
# module (cli-args, under ASan+UBSan); the guest suite cli.vmsuite runs
# against the real module via vm-test (VM_DEPS).
CLI_TEST_SRCS := selftests/cli/cli_args_test.c userspace/cli/args.c
CLI_TEST_LIBS = $(shell pkg-config --libs libnl-genl-3.0 json-c libcrypto)

$(eval $(call program,cli_args_test,$(CLI_TEST_SRCS),$(CLI_TEST_LIBS)))

.PHONY: test-cli-args
test-cli-args: $(BUILD)/san/cli_args_test $(BUILD)/san/meshnetctl
	@MESHNETCTL=$(BUILD)/san/meshnetctl sh $(TOP)/scripts/run-suite.sh $(RESULTS) cli-args \
		$(BUILD)/san/cli_args_test
HOST_SUITES += test-cli-args

# kselftest_harness.h itself is not -Wextra clean: relax only what it trips,
# only for the test program.
CLI_TEST_OBJS := $(BUILD)/obj/selftests/cli/cli_args_test.o \
	$(BUILD)/san/obj/selftests/cli/cli_args_test.o
$(CLI_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare
$(CLI_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare
