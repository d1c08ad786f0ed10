# Each test directory brings its own fragment: selftests/<dir>/<dir>.mk
-include $(wildcard selftests/*/*.mk)
