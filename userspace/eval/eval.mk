# meshnet-eval: the reference evaluator (docs/policy.md, man/meshnet-eval.1).
MESHNET_EVAL_LIBS = $(shell pkg-config --libs libcurl json-c openssl) -lpthread -lm

BINS += meshnet-eval
$(eval $(call program,meshnet-eval,userspace/eval/meshnet_eval.c,$(MESHNET_EVAL_LIBS)))
VM_BINS += meshnet-eval
