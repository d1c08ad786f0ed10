# make bench-kmod: meshnet.ko against an nftables set and no filter, in the
# QEMU guest on the stock kernel (selftests/bench/kmod_bench.sh). Results:
# build/bench/kmod.txt (figures), build/bench/kmod.log (full). Not part of
# make check. The guest boots without slub_debug/panic_on_warn (--append ""),
# so the allocator's debug checks do not dilute what is measured.
$(eval $(call program,meshnet-udpflood,selftests/bench/udpflood.c,))
$(eval $(call program,meshnet-epoch-time,selftests/bench/epoch_time.c,$(shell pkg-config --libs libnl-genl-3.0 json-c libcrypto)))
VM_BINS += meshnet-udpflood meshnet-epoch-time
BENCH_TARGETS += bench-kmod

.PHONY: bench-kmod
bench-kmod: all vm-bins
	@mkdir -p $(BUILD)/bench
	set -o pipefail; VM_BINS="$(VM_BINS)" KVER="$(KVER)" CACHE="$(CACHE)" \
		bash $(TOP)/vm-test/run-vm.sh --name bench --append "" --timeout 1800 \
		--run "bash /opt/meshnet/selftests/bench/kmod_bench.sh" | tee $(BUILD)/bench/kmod.log
	@grep -E '^(bench|ratio|goal|# bench)' $(BUILD)/bench/kmod.log > $(BUILD)/bench/kmod.txt
	@echo "bench-kmod: figures in $(BUILD)/bench/kmod.txt"; cat $(BUILD)/bench/kmod.txt

# make bench-scale: 1,000 / 10,000 / 100,000 simulated nodes (one epoll loop,
# 127.0.0.2-65 sources) against the release meshnetd on loopback: one flip,
# one rotation, every node flipping, /health meanwhile, RSS per waiter.
# Figures and goals: build/bench/scale.txt. BENCH_SCALE_N="1000 10000" to choose.
$(eval $(call program,meshnet-bench-scale,selftests/bench/scale.c selftests/bench/sim_nodes.c \
	selftests/controller/client.c,$(shell pkg-config --libs json-c openssl) -lpthread -lm))
BENCH_TARGETS += bench-scale
BENCH_SCALE_N ?= 1000 10000 100000

.PHONY: bench-scale
bench-scale: $(BUILD)/meshnet-bench-scale $(BUILD)/meshnetd
	@mkdir -p $(BUILD)/bench
	nice -n 5 $(BUILD)/meshnet-bench-scale $(BUILD)/meshnetd $(BUILD)/bench/scale.txt $(BENCH_SCALE_N)
	@cat $(BUILD)/bench/scale.txt
