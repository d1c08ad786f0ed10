# make lint: sparse (C=2) and checkpatch --strict on the module and uapi,
# cppcheck and the clang static analyzer on userspace. Zero findings or fail.
CHECKPATCH_DIR := $(CACHE)/checkpatch
KMOD_SRCS = $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h)) uapi/linux/meshnet.h
USER_SRCS = $(shell find userspace -name '*.c' -not -path '*/tests/*')

.PHONY: lint-sparse lint-checkpatch lint-cppcheck lint-scan-build
LINT_TARGETS += lint-sparse lint-checkpatch lint-cppcheck lint-scan-build

lint-sparse:
	@mkdir -p $(BUILD)/lint
	@$(MAKE) -s -C $(KDIR) M=$(TOP) W=1 C=2 modules >$(BUILD)/lint/sparse.log 2>&1 || \
		{ cat $(BUILD)/lint/sparse.log; exit 1; }
	@if grep -E '(warning|error):' $(BUILD)/lint/sparse.log; then \
		echo "lint-sparse: findings above"; exit 1; fi
	@echo "lint-sparse: clean"

lint-checkpatch:
	@bash $(TOP)/scripts/get-checkpatch.sh $(CHECKPATCH_DIR) >/dev/null
	@$(CHECKPATCH_DIR)/checkpatch.pl --strict --no-tree --terse --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES \
		-f $(KMOD_SRCS) >$(BUILD)/lint-checkpatch.log 2>&1; \
	if grep -E '(ERROR|WARNING|CHECK):' $(BUILD)/lint-checkpatch.log; then \
		echo "lint-checkpatch: findings above"; exit 1; fi
	@echo "lint-checkpatch: clean"

lint-cppcheck:
	@cppcheck -q --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --std=c11 -D__GNUC__ -D_GNU_SOURCE -Iuapi -Iuserspace/lib \
		--suppress=missingIncludeSystem $(USER_SRCS)
	@echo "lint-cppcheck: clean"

lint-scan-build: harness
	@rm -rf $(BUILD)/scan
	@scan-build --status-bugs -o $(BUILD)/scan-report --use-cc=clang \
		$(MAKE) -s BUILD=$(BUILD)/scan userspace
	@echo "lint-scan-build: clean"

# make lint-analyzer: gcc -fanalyzer over userspace (not in make lint: see
# docs/security.md "Static analysis" for what it found). ANALYZER_SRCS= to narrow.
ANALYZER_SRCS ?= $(USER_SRCS)
.PHONY: lint-analyzer
lint-analyzer: harness
	@mkdir -p $(BUILD)/lint
	@: >$(BUILD)/lint/analyzer.log
	@for f in $(ANALYZER_SRCS); do \
		$(CC) $(CFLAGS_REL) -I$(BUILD)/gen -fanalyzer -c -o /dev/null $$f \
			>>$(BUILD)/lint/analyzer.log 2>&1 || echo "$$f: did not compile" >>$(BUILD)/lint/analyzer.log; \
	done
	@if grep -E 'warning:|error:|did not compile' $(BUILD)/lint/analyzer.log; then \
		echo "lint-analyzer: findings above ($(BUILD)/lint/analyzer.log)"; exit 1; fi
	@echo "lint-analyzer: clean"
