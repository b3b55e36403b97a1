# agents/: fincloud-agent, the only fincloud code that talks to libvirt.
AGENT_LIB_SRCS := agents/agent_config.c agents/agent_spec.c \
	agents/agent_domxml.c agents/agent_reconcile.c agents/agent_virt.c \
	agents/agent_virt_volume.c agents/agent_virt_migrate.c \
	agents/agent_manifest.c agents/agent_client.c agents/agent_report.c \
	agents/agent_health.c agents/agent_task.c agents/agent_journal.c \
	agents/agent_events.c agents/agent_storage.c agents/agent_nodecheck.c \
	agents/agent_hvtype.c agents/agent_loop.c agents/agent_image.c \
	agents/agent_seed.c agents/agent_provision.c agents/agent_console.c \
	agents/agent_virt_console.c agents/agent_hb.c agents/agent_net.c \
	agents/agent_netxml.c agents/agent_netlink.c agents/agent_virt_net.c agents/agent_virt_rbd.c agents/agent_rbd.c \
	agents/agent_fetchsink.c agents/agent_dhcp.c agents/agent_fence.c
AGENT_LIB_OBJS := $(AGENT_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIBAGENT := $(BUILD)/lib/libfcagent.a
# libcrypto: the SHA-256 of the cached images (agent_image.c,
# agent_fetchsink.c)
AGENT_LIBS := $(VIRT_LIBS) $(XML_LIBS) $(COMMON_LIBS) \
	$(or $(call pc_libs,libcrypto),-lcrypto)
AGENT_BIN := $(BUILD)/bin/fincloud-agent

$(AGENT_LIB_OBJS) $(BUILD)/obj/agents/main.o: OBJ_CFLAGS += $(VIRT_CFLAGS) $(XML_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
$(BUILD)/obj/tests/unit/test_agent_%.o: OBJ_CFLAGS += $(VIRT_CFLAGS) $(XML_CFLAGS)

$(LIBAGENT): $(AGENT_LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(AGENT_BIN): $(BUILD)/obj/agents/main.o $(LIBAGENT) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBAGENT) $(LIBCOMMON) $(AGENT_LIBS)

BINS += $(AGENT_BIN)

$(eval $(call unit_test,test_agent_config,tests/unit/test_agent_config.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_domxml,tests/unit/test_agent_domxml.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_net,tests/unit/test_agent_net.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_reconcile,tests/unit/test_agent_reconcile.c tests/unit/agent_fixture.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_virt,tests/unit/test_agent_virt.c tests/unit/agent_fixture.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_hvtype,tests/unit/test_agent_hvtype.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_nodecheck,tests/unit/test_agent_nodecheck.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_files,tests/unit/test_agent_files.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_errors,tests/unit/test_agent_errors.c tests/unit/agent_fixture.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_task,tests/unit/test_agent_task.c tests/unit/agent_fixture.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_storage,tests/unit/test_agent_storage.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_fence,tests/unit/test_agent_fence.c tests/unit/agent_fixture.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_rbd,tests/unit/test_agent_rbd.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_image,tests/unit/test_agent_image.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_provision,tests/unit/test_agent_provision.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_seed,tests/unit/test_agent_seed.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
$(eval $(call unit_test,test_agent_console,tests/unit/test_agent_console.c,$(LIBAGENT) $(LIBCOMMON),$(AGENT_LIBS)))
