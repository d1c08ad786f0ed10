# Harness self-test (issue 7): the planted-bug module, built against the
# debug kernel only (never installed, never part of meshnet.ko), and one
# short debug boot per planted bug (detector-boots.sh). The build product is
# copied to selftests/detector/ (git-ignored) so the guest has it under
# /opt/meshnet/selftests/detector/. Variables DEBUG_*: vm-test/debug-kernel/debug.mk.
DETECTOR_BUILD := $(BUILD)/detector-debug
DETECTOR_KO := $(TOP)/selftests/detector/meshnet_detector.ko
# (also in debug.mk, included later; needed here when the rule is read)
DEBUG_KERNEL_DEP = $(if $(DEBUG_KERNEL_DONE),,debug-kernel)

.PHONY: detector-debug vm-test-debug-detectors lint-detector
LINT_TARGETS += lint-detector

detector-debug: $(DEBUG_KERNEL_DEP)
	@rm -rf $(DETECTOR_BUILD) $(DETECTOR_KO) && mkdir -p $(DETECTOR_BUILD)
	@cp $(TOP)/selftests/detector/meshnet_detector.c $(TOP)/selftests/detector/Kbuild $(DETECTOR_BUILD)/
	$(DEBUG_KMAKE) M=$(DETECTOR_BUILD) modules
	@cp $(DETECTOR_BUILD)/meshnet_detector.ko $(DETECTOR_KO)

vm-test-debug-detectors: vm-test-debug-build
	@test -f $(DETECTOR_KO) || { echo "vm-test-debug: no planted-bug module (see vm-debug-build)"; exit 1; }
	@CACHE="$(CACHE)" sh $(TOP)/scripts/run-suite.sh $(RESULTS) vm-debug-detectors \
		bash $(TOP)/selftests/detector/detector-boots.sh --kernel $(DEBUG_BZIMAGE)

# sparse (C=2, W=1) against Debian's headers and checkpatch --strict.
lint-detector:
	@rm -rf $(BUILD)/lint/detector && mkdir -p $(BUILD)/lint/detector
	@cp $(TOP)/selftests/detector/meshnet_detector.c $(TOP)/selftests/detector/Kbuild $(BUILD)/lint/detector/
	@$(MAKE) -s -C $(KDIR) M=$(BUILD)/lint/detector W=1 C=2 modules >$(BUILD)/lint/detector.log 2>&1 || \
		{ cat $(BUILD)/lint/detector.log; exit 1; }
	@if grep -E '(warning|error):' $(BUILD)/lint/detector.log; then \
		echo "lint-detector: sparse/W=1 findings above"; exit 1; fi
	@bash $(TOP)/scripts/get-checkpatch.sh $(CHECKPATCH_DIR) >/dev/null
	@$(CHECKPATCH_DIR)/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES --codespellfile=/dev/null \
		-f $(TOP)/selftests/detector/meshnet_detector.c >$(BUILD)/lint/detector-checkpatch.log 2>&1; \
	if grep -E '(ERROR|WARNING|CHECK):' $(BUILD)/lint/detector-checkpatch.log; then \
		echo "lint-detector: checkpatch findings above"; exit 1; fi
	@echo "lint-detector: clean"
