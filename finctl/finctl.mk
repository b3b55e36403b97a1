# finctl/: finctl, the operators' CLI. A client of the REST API only: it
# links libfccommon and nothing of the controller.
FINCTL_SRCS := finctl/main.c finctl/commands.c finctl/args.c finctl/help.c \
	finctl/client.c \
	finctl/output.c finctl/wait.c finctl/cmd_pool.c finctl/cmd_host.c \
	finctl/cmd_rebalance.c finctl/cmd_tenant.c finctl/cmd_vm.c \
	finctl/cmd_audit.c finctl/cmd_image.c finctl/cmd_console.c \
	finctl/cmd_net.c
FINCTL_OBJS := $(FINCTL_SRCS:%.c=$(BUILD)/obj/%.o)

$(FINCTL_OBJS): OBJ_CFLAGS += $(CJSON_CFLAGS) $(CURL_CFLAGS)

$(BUILD)/bin/finctl: $(FINCTL_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(COMMON_LIBS)

BINS += $(BUILD)/bin/finctl

# Everything but main(), for the unit tests.
FINCTL_LIB := $(BUILD)/lib/libfinctl.a
$(FINCTL_LIB): $(filter-out %/main.o,$(FINCTL_OBJS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(eval $(call unit_test,test_finctl_args,tests/unit/test_finctl_args.c,$(FINCTL_LIB) $(LIBCOMMON),$(COMMON_LIBS)))

# The man page and the bash completion, written by the finctl just built
# from its command table (finctl --man, finctl --bash-completion), so they
# cannot drift from it (docs/decisions.md).
$(BUILD)/man/finctl.1: $(BUILD)/bin/finctl
	@mkdir -p $(@D)
	$< --man >$@
$(BUILD)/completion/finctl: $(BUILD)/bin/finctl
	@mkdir -p $(@D)
	$< --bash-completion >$@
MAN_PAGES += $(BUILD)/man/finctl.1
COMPLETIONS += $(BUILD)/completion/finctl
all: $(BUILD)/man/finctl.1 $(BUILD)/completion/finctl
