# PostgreSQL store tests: a real PostgreSQL 15 started for the suite by
# scripts/pg-test-server.sh (initdb in a temp dir, unprivileged user,
# 127.0.0.1), stopped and removed at the end.

PG_TEST_LIBS = $(shell pkg-config --libs json-c openssl libpq) -lpthread -lm
STORE_SRCS := $(addprefix userspace/controller/,store.c store_dir.c store_pg.c store_pg_tlog.c store_pg_schema.c \
	epoch_seal.c audit.c store_dir_tlog.c tlog_store.c)
PG_RUN = env MESHNET_TOP=$(TOP) bash $(TOP)/scripts/pg-test-server.sh run --

$(eval $(call program,store-pg-test,selftests/pg/store_pg_test.c selftests/pg/pgtest.c \
	$(STORE_SRCS),$(PG_TEST_LIBS)))

# Several real meshnetd on one database (selftests/pg/cluster.c spawns them).
# (and the agent's own HTTP client failing over between them: agent/http.c, ctl_urls.c)
$(eval $(call program,controller-ha-test,selftests/pg/ha_test.c selftests/pg/cluster.c \
	selftests/pg/pgtest.c selftests/controller/client.c userspace/agent/http.c \
	userspace/agent/ctl_urls.c,$(PG_TEST_LIBS) $(shell pkg-config --libs libcurl)))

.PHONY: store-pg controller-ha
store-pg: $(BUILD)/san/store-pg-test
	@sh scripts/run-suite.sh $(RESULTS) store-pg $(PG_RUN) $(BUILD)/san/store-pg-test
controller-ha: $(BUILD)/san/controller-ha-test $(BUILD)/san/meshnetd
	@sh scripts/run-suite.sh $(RESULTS) controller-ha $(PG_RUN) $(BUILD)/san/controller-ha-test

# kill -9 of any of three controllers, 50 times, under a flood of signed submissions.
.PHONY: controller-ha-torture
controller-ha-torture: $(BUILD)/san/controller-ha-test $(BUILD)/san/meshnetd
	@sh scripts/run-suite.sh $(RESULTS) controller-ha-torture env HA_KILLS=$${HA_KILLS:-50} \
		$(PG_RUN) $(BUILD)/san/controller-ha-test

HOST_SUITES += store-pg controller-ha

PG_TEST_OBJS := $(foreach t,store_pg_test ha_test cluster,$(BUILD)/obj/selftests/pg/$(t).o \
	$(BUILD)/san/obj/selftests/pg/$(t).o)
$(PG_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation
$(PG_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral -Wno-format-truncation

# make bench-ha: submissions/s and config replies/s, 1-3 controllers on
# PostgreSQL against one on a state directory (build/bench/ha.txt).
$(eval $(call program,bench-ha,selftests/pg/bench_ha.c selftests/pg/cluster.c \
	selftests/pg/pgtest.c selftests/controller/client.c,$(PG_TEST_LIBS)))
$(BUILD)/obj/selftests/pg/bench_ha.o: CFLAGS_REL += -Wno-format-truncation

.PHONY: bench-ha
bench-ha: $(BUILD)/bench-ha $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	env MESHNETD=$(BUILD)/meshnetd $(PG_RUN) $(BUILD)/bench-ha $(BUILD)/bench/ha.txt
	@cat $(BUILD)/bench/ha.txt

BENCH_TARGETS += bench-ha
