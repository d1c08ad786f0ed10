# meshnetd: the control plane (build/meshnetd, build/san/meshnetd).
MESHNETD_SRCS := $(addprefix userspace/controller/,main.c config.c controller.c membership.c \
	replay.c store.c audit.c api.c views.c)
MESHNETD_LIBS = $(shell pkg-config --libs libmicrohttpd json-c openssl) -lpthread -lm

BINS += meshnetd
$(eval $(call program,meshnetd,$(MESHNETD_SRCS),$(MESHNETD_LIBS)))

.PHONY: meshnetd
meshnetd: $(BUILD)/meshnetd $(BUILD)/san/meshnetd
