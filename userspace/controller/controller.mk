# meshnetd: the control plane (build/meshnetd, build/san/meshnetd).
MESHNETD_SRCS := $(addprefix userspace/controller/,main.c config.c controller.c nodes.c \
	verdicts.c epochs.c records.c auth.c membership.c revisions.c statements.c \
	controller_key.c commit.c replicate.c replay.c store.c store_dir.c store_pg.c store_pg_tlog.c store_pg_schema.c store_migrate.c \
	epoch_seal.c audit.c views.c http.c conn_guard.c router.c prefixes.c longpoll.c \
	store_dir_tlog.c tlog_store.c \
	audit_verify.c audit_cli.c audit_lifecycle.c \
	routes/health.c routes/epochs.c routes/benchmarks.c routes/config.c routes/nodes.c \
	routes/log.c acks.c routes/ack.c witness_client.c)
# admin read views, one-time join tokens and their routes
MESHNETD_SRCS += $(addprefix userspace/controller/,admin_views.c join_tokens.c routes/admin.c \
	routes/console.c)

# The web console's page, script and style, embedded into meshnetd.
CONSOLE_ASSETS := $(addprefix userspace/controller/console/,index.html app.js app.css)
$(BUILD)/gen/console_assets.h: $(CONSOLE_ASSETS) scripts/embed-text.sh
	@mkdir -p $(@D)
	sh $(TOP)/scripts/embed-text.sh console $(CONSOLE_ASSETS) >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/userspace/controller/routes/console.o $(BUILD)/san/obj/userspace/controller/routes/console.o: \
	$(BUILD)/gen/console_assets.h
$(BUILD)/obj/userspace/controller/routes/console.o: CFLAGS_REL += -I$(BUILD)/gen
$(BUILD)/san/obj/userspace/controller/routes/console.o: CFLAGS_SAN += -I$(BUILD)/gen
# the trust layer: policy engine, evaluators, attestations (docs/policy.md)
MESHNETD_SRCS += $(addprefix userspace/controller/,policy.c evaluators.c evidence.c trust.c \
	attestations.c policies.c routes/attestations.c routes/evaluators.c routes/policy.c \
	audit_verify_policy.c)
MESHNETD_LIBS = $(shell pkg-config --libs libmicrohttpd json-c openssl libpq libcurl) -lpthread -lm

BINS += meshnetd
$(eval $(call program,meshnetd,$(MESHNETD_SRCS),$(MESHNETD_LIBS)))

.PHONY: meshnetd
meshnetd: $(BUILD)/meshnetd $(BUILD)/san/meshnetd

# The web console in Debian's headless Chromium (chromium-driver), screenshots
# in build/console/.
HOST_SUITES += console-browser
.PHONY: console-browser
console-browser: $(BUILD)/meshnetd $(BUILD)/meshnet-agent
	@sh $(TOP)/scripts/run-suite.sh $(RESULTS) console-browser python3 $(TOP)/selftests/console/console_test.py $(BUILD)
