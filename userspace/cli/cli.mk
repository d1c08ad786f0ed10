# meshnetctl: genl inspection and control of the meshnet module.
MESHNETCTL_SRCS := $(sort $(wildcard userspace/cli/*.c))
MESHNETCTL_LIBS = $(shell pkg-config --libs libnl-genl-3.0 json-c libcrypto)

$(eval $(call program,meshnetctl,$(MESHNETCTL_SRCS),$(MESHNETCTL_LIBS)))
BINS += meshnetctl
