# meshnetd tests: kselftest binaries under ASan+UBSan (build/san/...), run
# through scripts/run-suite.sh. The API suite spawns build/san/meshnetd on a
# free loopback port with a temporary state directory.

CONTROLLER_TEST_LIBS = $(shell pkg-config --libs json-c openssl) -lpthread -lm

$(eval $(call program,controller-unit-test,selftests/controller/unit_test.c \
	userspace/controller/membership.c userspace/controller/replay.c \
	userspace/controller/audit.c,$(CONTROLLER_TEST_LIBS)))
$(eval $(call program,controller-api-test,selftests/controller/api_test.c \
	selftests/controller/client.c,$(CONTROLLER_TEST_LIBS)))

$(eval $(call program,controller-hostile-test,selftests/controller/hostile_test.c \
	selftests/controller/client.c,$(CONTROLLER_TEST_LIBS)))

$(eval $(call program,controller-torture-test,selftests/controller/torture_test.c \
	selftests/controller/client.c,$(CONTROLLER_TEST_LIBS)))

.PHONY: controller-unit controller-api controller-hostile controller-torture torture soak
controller-unit: $(BUILD)/san/controller-unit-test
	@sh scripts/run-suite.sh $(RESULTS) controller-unit $(BUILD)/san/controller-unit-test
controller-api: $(BUILD)/san/controller-api-test $(BUILD)/san/meshnetd
	@sh scripts/run-suite.sh $(RESULTS) controller-api $(BUILD)/san/controller-api-test

# Hostile clients: TLS versions/suites, slowloris, floods, a flooding node.
controller-hostile: $(BUILD)/san/controller-hostile-test $(BUILD)/san/meshnetd
	@sh scripts/run-suite.sh $(RESULTS) controller-hostile $(BUILD)/san/controller-hostile-test

# kill -9 under a signed flood (state directory): TORTURE_ROUNDS rounds (20 here,
# 200 in make torture / make soak, figures in build/bench/torture.txt).
controller-torture: $(BUILD)/san/controller-torture-test $(BUILD)/san/meshnetd
	@TORTURE_ROUNDS=$${TORTURE_ROUNDS:-20} sh scripts/run-suite.sh $(RESULTS) controller-torture \
		$(BUILD)/san/controller-torture-test

torture: $(BUILD)/san/controller-torture-test $(BUILD)/san/meshnetd
	@mkdir -p $(BUILD)/bench
	TORTURE_ROUNDS=$${TORTURE_ROUNDS:-200} TORTURE_RESULT=$(BUILD)/bench/torture.txt \
		sh scripts/run-suite.sh $(RESULTS) torture $(BUILD)/san/controller-torture-test
	@cat $(BUILD)/bench/torture.txt

HOST_SUITES += controller-unit controller-api controller-hostile controller-torture

# kselftest_harness.h itself is not -Wextra clean: relax only what it trips.
CONTROLLER_TEST_OBJS := $(foreach t,unit_test api_test hostile_test torture_test,$(BUILD)/obj/selftests/controller/$(t).o \
	$(BUILD)/san/obj/selftests/controller/$(t).o)
$(CONTROLLER_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral
$(CONTROLLER_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral

# make bench-controller: release meshnetd under a signing load generator.
$(eval $(call program,controller-bench,selftests/controller/bench_controller.c \
	selftests/controller/client.c,$(CONTROLLER_TEST_LIBS)))

.PHONY: bench-controller
bench-controller: $(BUILD)/controller-bench $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	$(BUILD)/controller-bench $(BUILD)/meshnetd $(BUILD)/bench/controller.txt
	@cat $(BUILD)/bench/controller.txt

BENCH_TARGETS += bench-controller
