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
