# tests/fuzz/: libFuzzer targets (built with clang) of the parsers that
# read untrusted text: the JSON parser of request bodies, agent messages
# and fincloud-sched input (fuzz_json), the daemons' config files
# (fuzz_config), Ganeti's htools text format (fuzz_htools), the JSON
# placement problem (fuzz_problem) and the agent's VM spec with its ports (fuzz_agent_spec). `make fuzz` builds them into $(BUILD)/fuzz and runs each
# for FUZZ_RUNS inputs (default 200000) from its seeds in
# tests/fuzz/seeds/ (the corpus it grows stays in $(BUILD)/fuzz);
# `make test` builds them and tests/integration/fuzz_smoke.sh runs 2000
# inputs of each.
FUZZ_CC ?= clang
FUZZ_RUNS ?= 200000
FUZZ_TARGETS := fuzz_json fuzz_config fuzz_htools fuzz_problem fuzz_agent_spec
FUZZ_SRCS := $(filter-out common/http_client.c,$(COMMON_SRCS))
# The sources each target reads besides common/.
FUZZ_SRCS_fuzz_htools := scheduler/htools.c scheduler/ganeti_score.c \
	scheduler/problem.c scheduler/names.c
FUZZ_SRCS_fuzz_problem := scheduler/problem.c scheduler/names.c
FUZZ_SRCS_fuzz_agent_spec := agents/agent_spec.c agents/agent_net.c
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -I. $(WARN) -Wno-format-nonliteral \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$(CJSON_CFLAGS)

.PHONY: fuzz fuzz-build
.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) $$(FUZZ_SRCS_$$*) \
		$(wildcard common/*.h scheduler/*.h agents/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS) $(FUZZ_SRCS_$*) \
		$(CJSON_LIBS) -lm

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)

fuzz: fuzz-build
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t && \
		$(BUILD)/fuzz/$$t -runs=$(FUZZ_RUNS) -max_len=16384 \
			-print_final_stats=1 $(BUILD)/fuzz/corpus-$$t \
			tests/fuzz/seeds/$${t#fuzz_} || exit 1; \
	done
