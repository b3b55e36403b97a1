# scheduler/: libfcsched (placement model, solvers; pure logic + GLPK) and
# the fincloud-sched tool.
#
# Programs linking libfcsched use: $(LIBSCHED) $(LIBCOMMON) $(SCHED_LIBS)
# $(COMMON_LIBS).
# Library sources: add new ones to this list (before the rules below).
SCHED_SRCS := scheduler/names.c scheduler/problem.c scheduler/state.c \
	scheduler/metrics.c scheduler/plan.c scheduler/place.c \
	scheduler/place_one.c scheduler/place_fill.c scheduler/place_improve.c \
	scheduler/place_mip.c scheduler/place_ffd.c scheduler/place_exact.c \
	scheduler/place_round.c \
	scheduler/rank.c scheduler/lpmat.c \
	scheduler/gen.c scheduler/capacity.c
# The rebalancer: Ganeti's htools format and score, migration plans.
SCHED_SRCS += scheduler/htools.c scheduler/ganeti_score.c \
	scheduler/rebalance.c scheduler/rebal_score.c scheduler/rebal_spread.c \
	scheduler/rebal_pack.c scheduler/rebal_budget.c
SCHED_OBJS = $(SCHED_SRCS:%.c=$(BUILD)/obj/%.o)
LIBSCHED := $(BUILD)/lib/libfcsched.a
SCHED_LIBS := $(GLPK_LIBS) $(CJSON_LIBS) -lm

$(BUILD)/obj/scheduler/%.o: OBJ_CFLAGS += $(CJSON_CFLAGS) $(GLPK_CFLAGS)

$(LIBSCHED): $(SCHED_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

all: $(LIBSCHED)

SCHED_TOOL_SRCS := scheduler/fincloud-sched.c
SCHED_TOOL_SRCS += scheduler/cmd_rebalance.c
$(BUILD)/bin/fincloud-sched: $(SCHED_TOOL_SRCS:%.c=$(BUILD)/obj/%.o) $(LIBSCHED) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSCHED) $(LIBCOMMON) $(SCHED_LIBS) $(COMMON_LIBS)
BINS += $(BUILD)/bin/fincloud-sched

# Benchmark helper (scripts/bench-sched.sh), not installed.
SCHED_BENCH := $(BUILD)/bench/sched-place-one
$(SCHED_BENCH): $(BUILD)/obj/scheduler/bench_place_one.o $(LIBSCHED) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSCHED) $(LIBCOMMON) $(SCHED_LIBS) $(COMMON_LIBS)
all: $(SCHED_BENCH)
# Generated problems of every shape (gen --shape), for the same scripts.
SCHED_BENCH_GEN := $(BUILD)/bench/sched-gen
$(SCHED_BENCH_GEN): $(BUILD)/obj/scheduler/bench_gen.o $(LIBSCHED) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBSCHED) $(LIBCOMMON) $(SCHED_LIBS) $(COMMON_LIBS)
all: $(SCHED_BENCH_GEN)

SCHED_TEST_LIBS := $(LIBSCHED) $(LIBCOMMON)
$(eval $(call unit_test,test_sched_problem,tests/unit/test_sched_problem.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_sched_state,tests/unit/test_sched_state.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_sched_place,tests/unit/test_sched_place.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_sched_capacity,tests/unit/test_sched_capacity.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_sched_gen,tests/unit/test_sched_gen.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_htools,tests/unit/test_htools.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
$(eval $(call unit_test,test_rebal_plan,tests/unit/test_rebal_plan.c,$(SCHED_TEST_LIBS),$(SCHED_LIBS) $(COMMON_LIBS)))
