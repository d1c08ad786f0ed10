# meshnetd: the control plane (build/meshnetd, build/san/meshnetd).
MESHNETD_SRCS := $(addprefix userspace/controller/,main.c config.c controller.c nodes.c \
	verdicts.c epochs.c records.c auth.c membership.c revisions.c statements.c \
	controller_key.c commit.c replicate.c replay.c store.c store_dir.c store_pg.c store_pg_schema.c store_migrate.c \
	epoch_seal.c audit.c views.c http.c conn_guard.c router.c prefixes.c longpoll.c \
	store_dir_tlog.c tlog_store.c \
	audit_verify.c audit_cli.c \
	routes/health.c routes/epochs.c routes/benchmarks.c routes/config.c routes/nodes.c \
	routes/log.c)
# admin read views, one-time join tokens and their routes
MESHNETD_SRCS += $(addprefix userspace/controller/,admin_views.c join_tokens.c routes/admin.c)
MESHNETD_LIBS = $(shell pkg-config --libs libmicrohttpd json-c openssl libpq) -lpthread -lm

BINS += meshnetd
$(eval $(call program,meshnetd,$(MESHNETD_SRCS),$(MESHNETD_LIBS)))

.PHONY: meshnetd
meshnetd: $(BUILD)/meshnetd $(BUILD)/san/meshnetd
