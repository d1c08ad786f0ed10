# make soak-controller: the release meshnetd for SOAK_SECONDS (600) with
# SOAK_NODES (10,000) simulated nodes submitting and long-polling, hostile
# clients mixed in (selftests/soak/soak.c); figures and goals in
# build/bench/soak.txt. make soak = this, make torture (200 kill -9 of
# meshnetd) and make agent-torture (50 kill -9 of the agent, in the VM).
# Not part of make check.
$(eval $(call program,meshnet-soak,selftests/soak/soak.c selftests/bench/sim_nodes.c \
	selftests/controller/client.c,$(shell pkg-config --libs json-c openssl) -lpthread -lm))
SOAK_SECONDS ?= 600
SOAK_NODES ?= 10000

.PHONY: soak-controller
soak-controller: $(BUILD)/meshnet-soak $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	nice -n 5 $(BUILD)/meshnet-soak $(BUILD)/meshnetd $(BUILD)/bench/soak.txt \
		$(SOAK_SECONDS) $(SOAK_NODES); rc=$$?; cat $(BUILD)/bench/soak.txt; exit $$rc

# make agent-torture: AGENT_TORTURE_ROUNDS (50) kill -9 of meshnet-agent during
# applies, in the stock guest (selftests/e2e/agent-torture.vmsuite; make
# check runs the same suite with 3 rounds). Log: build/bench/agent-torture.log,
# figures: build/bench/agent-torture.txt.
AGENT_TORTURE_ROUNDS ?= 50

.PHONY: agent-torture soak
agent-torture: all vm-bins
	@mkdir -p $(BUILD)/bench
	set -o pipefail; VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(TOP)/vm-test/run-vm.sh --name agent-torture --timeout 3600 \
		--run "cd /opt/meshnet/selftests/e2e && AGENT_TORTURE_ROUNDS=$(AGENT_TORTURE_ROUNDS) sh agent-torture.vmsuite" \
		| tee $(BUILD)/bench/agent-torture.log; rc=$$?; \
		grep -E '^(ok|not ok|# agent-torture|# recovery|# c -> a|# a.s module dropped|# Totals)' \
			$(BUILD)/bench/agent-torture.log >$(BUILD)/bench/agent-torture.txt; \
		cat $(BUILD)/bench/agent-torture.txt; exit $$rc

# the long runs of issue 15: meshnetd under load, kill -9 of meshnetd, of the agent
soak: soak-controller torture agent-torture
