# meshnet-agent: the node agent (emitter, config agent, probe).
AGENT_SRCS := $(filter-out userspace/agent/agent.c,$(wildcard userspace/agent/*.c))
AGENT_LIBS := $(shell pkg-config --libs libcurl json-c openssl libnl-genl-3.0 2>/dev/null) -lpthread -lm

BINS += meshnet-agent
$(eval $(call program,meshnet-agent,userspace/agent/agent.c $(AGENT_SRCS),$(AGENT_LIBS)))

# Host tests of the agent's own logic (kselftest harness, ASan+UBSan).
AGENT_TEST_SRCS := userspace/agent/tests/agent_test.c $(AGENT_SRCS)
$(eval $(call program,agent-test,$(AGENT_TEST_SRCS),$(AGENT_LIBS)))
HOST_SUITES += agent-units
.PHONY: agent-units
agent-units: $(BUILD)/san/agent-test
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) agent-units $(BUILD)/san/agent-test

# Host tests of the control path: controller list, failover, statements.
AGENT_CONTROL_TEST_SRCS := userspace/agent/tests/control_test.c $(AGENT_SRCS)
$(eval $(call program,agent-control-test,$(AGENT_CONTROL_TEST_SRCS),$(AGENT_LIBS)))
HOST_SUITES += agent-control
.PHONY: agent-control
agent-control: $(BUILD)/san/agent-control-test
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) agent-control $(BUILD)/san/agent-control-test

# The sandboxed benchmark harness (needs root for the BENCH_USER cases).
HARNESS_TEST_SRCS := userspace/agent/tests/harness_test.c $(AGENT_SRCS)
$(eval $(call program,harness-test,$(HARNESS_TEST_SRCS),$(AGENT_LIBS)))
HOST_SUITES += agent-harness
.PHONY: agent-harness
agent-harness: $(BUILD)/san/harness-test
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) agent-harness $(BUILD)/san/harness-test

# make bench-e2e: quarantine latency of the real mesh in the guest
# (selftests/e2e/bench-e2e.sh), figures in build/bench/e2e.txt.
BENCH_TARGETS += bench-e2e
.PHONY: bench-e2e
bench-e2e: all vm-bins
	@mkdir -p $(BUILD)/bench
	set -o pipefail; VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(TOP)/vm-test/run-vm.sh --name bench-e2e --timeout 1800 \
		--run "sh /opt/meshnet/selftests/e2e/bench-e2e.sh" | tr -d '\r' | tee $(BUILD)/bench/e2e.log
	@grep -E '^(bench|ratio|goal) ' $(BUILD)/bench/e2e.log > $(BUILD)/bench/e2e.txt
	@echo "bench-e2e: figures in $(BUILD)/bench/e2e.txt"; cat $(BUILD)/bench/e2e.txt

# make demo (the top Makefile only declares it): build, boot, run the story.
demo: deps all vm-bins
	VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" bash $(TOP)/vm-test/demo/demo.sh

# The metrics responder (metrics.c) over real sockets, checked by promtool.
METRICS_TEST_SRCS := userspace/agent/tests/metrics_test.c $(AGENT_SRCS)
$(eval $(call program,agent-metrics-test,$(METRICS_TEST_SRCS),$(AGENT_LIBS)))
HOST_SUITES += agent-metrics
.PHONY: agent-metrics
agent-metrics: $(BUILD)/san/agent-metrics-test
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) agent-metrics $(BUILD)/san/agent-metrics-test
