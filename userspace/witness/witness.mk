# meshnet-witness: a C2SP tlog-witness for meshnetd's transparency log
# (docs/tlog.md "Witnesses", man/meshnet-witness.8).
MESHNET_WITNESS_LIBS = $(shell pkg-config --libs libmicrohttpd json-c openssl) -lpthread -lm

BINS += meshnet-witness
$(eval $(call program,meshnet-witness,userspace/witness/meshnet_witness.c,$(MESHNET_WITNESS_LIBS)))

.PHONY: meshnet-witness
meshnet-witness: $(BUILD)/meshnet-witness $(BUILD)/san/meshnet-witness
