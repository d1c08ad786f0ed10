# meshnet-agent: the node agent (emitter, config agent, probe).
AGENT_SRCS := $(filter-out userspace/agent/agent.c,$(wildcard userspace/agent/*.c))
AGENT_LIBS := $(shell pkg-config --libs libcurl json-c openssl libnl-genl-3.0 2>/dev/null) -lpthread -lm

BINS += meshnet-agent
$(eval $(call program,meshnet-agent,userspace/agent/agent.c $(AGENT_SRCS),$(AGENT_LIBS)))
