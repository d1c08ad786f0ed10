# make soak-controller: the release meshnetd for SOAK_SECONDS (600) with
# SOAK_NODES (10,000) simulated nodes submitting and long-polling, hostile
# clients mixed in (selftests/soak/soak.c); figures and goals in
# build/bench/soak.txt. make soak = this, make torture (200 kill -9 of
# meshnetd) and make agent-torture (50 kill -9 of the agent, in the VM).
# Not part of make check.
$(eval $(call program,meshnet-soak,selftests/soak/soak.c selftests/controller/client.c \
	selftests/lib/procstat.c,$(shell pkg-config --libs json-c openssl) -lpthread -lm))
SOAK_SECONDS ?= 600
SOAK_NODES ?= 10000

.PHONY: soak-controller
soak-controller: $(BUILD)/meshnet-soak $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	nice -n 5 $(BUILD)/meshnet-soak $(BUILD)/meshnetd $(BUILD)/bench/soak.txt \
		$(SOAK_SECONDS) $(SOAK_NODES); rc=$$?; cat $(BUILD)/bench/soak.txt; exit $$rc
