# meshnet-agent: the node agent (emitter, config agent, probe).
AGENT_SRCS := $(filter-out userspace/agent/agent.c,$(wildcard userspace/agent/*.c))
AGENT_LIBS := $(shell pkg-config --libs libcurl json-c openssl libnl-genl-3.0 2>/dev/null) -lpthread -lm

BINS += meshnet-agent
$(eval $(call program,meshnet-agent,userspace/agent/agent.c $(AGENT_SRCS),$(AGENT_LIBS)))

# agent_host_suite SUITE,PROGRAM,TEST_SOURCE: a kselftest-harness program
# linked with the agent's sources, run under ASan+UBSan as host suite SUITE.
define agent_host_suite
$(call program,$(2),$(3) $(AGENT_SRCS),$(AGENT_LIBS))
HOST_SUITES += $(1)
.PHONY: $(1)
$(1): $(BUILD)/san/$(2)
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) $(1) $(BUILD)/san/$(2)
endef

# Host tests of the agent's own logic.
$(eval $(call agent_host_suite,agent-units,agent-test,userspace/agent/tests/agent_test.c))

# Host tests of the control path: controller list, failover, statements.
$(eval $(call agent_host_suite,agent-control,agent-control-test,userspace/agent/tests/control_test.c))

# The sandboxed benchmark harness (needs root for the BENCH_USER cases).
$(eval $(call agent_host_suite,agent-harness,harness-test,userspace/agent/tests/harness_test.c))

# make bench-e2e: quarantine latency of the real mesh in the guest
# (selftests/e2e/bench-e2e.sh), figures in build/bench/e2e.txt.
# ROUNDS=N flips per agent version (default 20); E2E_DEBUG=1: agents and
# meshnetd log at debug level (TIMING lines) and the logs end e2e.log.
ROUNDS ?= 20
E2E_DEBUG ?= 0
BENCH_TARGETS += bench-e2e
.PHONY: bench-e2e
bench-e2e: all vm-bins
	@mkdir -p $(BUILD)/bench
	set -o pipefail; VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(TOP)/vm-test/run-vm.sh --name bench-e2e --timeout 1800 \
		--run "ROUNDS=$(ROUNDS) E2E_DEBUG=$(E2E_DEBUG) sh /opt/meshnet/selftests/e2e/bench-e2e.sh" | tr -d '\r' | tee $(BUILD)/bench/e2e.log
	@grep -E '^(bench|ratio|goal) ' $(BUILD)/bench/e2e.log > $(BUILD)/bench/e2e.txt
	@echo "bench e2e host_load=$$(cut -d' ' -f1-3 /proc/loadavg) (the host's, when the guest was done)" >> $(BUILD)/bench/e2e.txt
	@echo "bench-e2e: figures in $(BUILD)/bench/e2e.txt"; cat $(BUILD)/bench/e2e.txt

# make demo (the top Makefile only declares it): build, boot, run the story.
demo: deps all vm-bins
	VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" bash $(TOP)/vm-test/demo/demo.sh

# The metrics responder (metrics.c) over real sockets, checked by promtool.
$(eval $(call agent_host_suite,agent-metrics,agent-metrics-test,userspace/agent/tests/metrics_test.c))
