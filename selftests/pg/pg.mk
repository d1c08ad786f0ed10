# PostgreSQL store tests: a real PostgreSQL 15 started for the suite by
# scripts/pg-test-server.sh (initdb in a temp dir, unprivileged user,
# 127.0.0.1), stopped and removed at the end.

PG_TEST_LIBS = $(shell pkg-config --libs json-c openssl libpq) -lpthread -lm
STORE_SRCS := $(addprefix userspace/controller/,store.c store_dir.c store_pg.c store_pg_schema.c \
	epoch_seal.c audit.c)
PG_RUN = env MESHNET_TOP=$(TOP) bash $(TOP)/scripts/pg-test-server.sh run --

$(eval $(call program,store-pg-test,selftests/pg/store_pg_test.c selftests/pg/pgtest.c \
	$(STORE_SRCS),$(PG_TEST_LIBS)))

.PHONY: store-pg
store-pg: $(BUILD)/san/store-pg-test
	@sh scripts/run-suite.sh $(RESULTS) store-pg $(PG_RUN) $(BUILD)/san/store-pg-test

HOST_SUITES += store-pg

PG_TEST_OBJS := $(BUILD)/obj/selftests/pg/store_pg_test.o $(BUILD)/san/obj/selftests/pg/store_pg_test.o
$(PG_TEST_OBJS): CFLAGS_REL += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral
$(PG_TEST_OBJS): CFLAGS_SAN += -Wno-unused-parameter -Wno-missing-prototypes -Wno-sign-compare -Wno-format-nonliteral
