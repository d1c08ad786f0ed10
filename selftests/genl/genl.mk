# genl_api: the meshnet genl API selftest. Runs in the QEMU guest
# (selftests/genl/genl_api.vmsuite), not on the host.
GENL_API_SRCS := selftests/genl/genl_api.c selftests/lib/mn_genl.c
$(eval $(call program,genl_api,$(GENL_API_SRCS),))
VM_BINS += genl_api

# kselftest_harness.h itself is not -Wextra clean: relax only what it trips,
# only for the test program (the helpers in selftests/lib/ get full warnings).
$(BUILD)/obj/selftests/genl/genl_api.o: CFLAGS_REL += -Wno-unused-parameter \
	-Wno-missing-prototypes -Wno-sign-compare
