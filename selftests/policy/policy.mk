# The trust layer's host suites: attestations (lib/attestation.c), the
# policy file parser and the policy engine (userspace/controller/policy.c),
# under ASan+UBSan.

POLICY_TEST_LIBS = $(shell pkg-config --libs json-c openssl) -lpthread -lm

$(eval $(call program,policy-unit-test,selftests/policy/policy_test.c \
	userspace/controller/policy.c userspace/controller/membership.c \
	userspace/controller/evaluators.c userspace/controller/evidence.c \
	userspace/controller/trust.c,$(POLICY_TEST_LIBS)))

# meshnetd with a policy file over a real socket (spawns build/san/meshnetd).
$(eval $(call program,policy-api-test,selftests/policy/trust_api_test.c \
	selftests/controller/client.c userspace/controller/tlog_store.c,$(POLICY_TEST_LIBS)))

.PHONY: policy-unit policy-api
policy-unit: $(BUILD)/san/policy-unit-test
	@sh scripts/run-suite.sh $(RESULTS) policy-unit $(BUILD)/san/policy-unit-test
policy-api: $(BUILD)/san/policy-api-test $(BUILD)/san/meshnetd $(BUILD)/san/meshnet-eval
	@sh scripts/run-suite.sh $(RESULTS) policy-api $(BUILD)/san/policy-api-test

HOST_SUITES += policy-unit policy-api

POLICY_TEST_OBJS := $(foreach t,policy_test trust_api_test,$(BUILD)/obj/selftests/policy/$(t).o \
	$(BUILD)/san/obj/selftests/policy/$(t).o)
$(POLICY_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation
$(POLICY_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation

# make bench-policy (also run by make bench-controller): attestation verify +
# policy evaluation per submission vs one core's Ed25519 verify rate, and
# 100,000 nodes decided again after a policy change; build/bench/policy.txt.
$(eval $(call program,policy-bench,selftests/policy/bench_policy.c \
	selftests/controller/client.c userspace/controller/policy.c \
	userspace/controller/membership.c userspace/controller/evaluators.c \
	userspace/controller/evidence.c userspace/controller/trust.c,$(POLICY_TEST_LIBS)))

.PHONY: bench-policy
bench-policy: $(BUILD)/policy-bench $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	$(BUILD)/policy-bench $(BUILD)/meshnetd $(BUILD)/bench/policy.txt
	@cat $(BUILD)/bench/policy.txt

bench-controller: bench-policy
BENCH_TARGETS += bench-policy
