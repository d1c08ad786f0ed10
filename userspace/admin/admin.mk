# meshnet-admin: the operator's CLI for meshnetd's admin API.
MESHNET_ADMIN_SRCS := $(sort $(wildcard userspace/admin/*.c))
MESHNET_ADMIN_LIBS = $(shell pkg-config --libs libcurl json-c libcrypto)

$(eval $(call program,meshnet-admin,$(MESHNET_ADMIN_SRCS),$(MESHNET_ADMIN_LIBS)))
BINS += meshnet-admin

# meshnet-admin against a real meshnetd, a node joining with a one-time token.
HOST_SUITES += admin-cli
.PHONY: admin-cli
admin-cli: $(BUILD)/meshnet-admin $(BUILD)/meshnetd $(BUILD)/meshnet-agent $(BUILD)/meshnet-eval
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) admin-cli bash $(TOP)/selftests/admin/admin.sh $(BUILD)
