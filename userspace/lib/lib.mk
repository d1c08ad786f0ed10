# Shared userspace library: build/libmeshnet.a (release) and
# build/san/libmeshnet.a (ASan+UBSan). Every .c in userspace/lib/ and
# userspace/lib/nl/ (the libnl client of the kernel module) and userspace/lib/tlog/
# (the transparency log: Merkle proofs, signed notes, checkpoints) goes in.

LIBMESHNET_SRCS := $(sort $(wildcard userspace/lib/*.c userspace/lib/nl/*.c userspace/lib/tlog/*.c))
LIBMESHNET_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIBMESHNET_SRCS))
LIBMESHNET_SAN_OBJS := $(patsubst %.c,$(BUILD)/san/obj/%.o,$(LIBMESHNET_SRCS))

$(BUILD)/libmeshnet.a: $(LIBMESHNET_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/san/libmeshnet.a: $(LIBMESHNET_SAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

.PHONY: libmeshnet
libmeshnet: $(BUILD)/libmeshnet.a $(BUILD)/san/libmeshnet.a
