# genl_fuzz: a generic-netlink fuzzer for meshnet.ko (selftests/fuzz/genl_fuzz.c),
# run in the QEMU guest by selftests/fuzz/genl_fuzz.vmsuite.
GENL_FUZZ_SRCS := selftests/fuzz/genl_fuzz.c selftests/lib/mn_genl.c
$(eval $(call program,meshnet-genl-fuzz,$(GENL_FUZZ_SRCS),-lpthread))
VM_BINS += meshnet-genl-fuzz
