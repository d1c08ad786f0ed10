# End-to-end mesh in the QEMU guest (selftests/e2e/e2e.vmsuite, run by
# vm-test-stock like every *.vmsuite) and its latency probe meshnet-e2e,
# also used by `make bench-e2e` (userspace/agent/agent.mk).
E2E_FLIP_SRCS := selftests/e2e/e2e_tool.c userspace/agent/http.c userspace/agent/ctl_urls.c \
	userspace/agent/bench.c userspace/agent/harness.c userspace/agent/options.c
$(eval $(call program,meshnet-e2e,$(E2E_FLIP_SRCS),$(AGENT_LIBS)))
VM_BINS += meshnet-e2e
