# controller/: fincloud-controller (REST API, SQLite state).
#
# libcrypto (OpenSSL) provides SHA-256 for the token hashes, the audit
# chain and the images (docs/controller.md, docs/images.md).
CRYPTO_CFLAGS := $(call pc_cflags,libcrypto)
CRYPTO_LIBS := $(or $(call pc_libs,libcrypto),-lcrypto)

CTRL_SRCS := controller/db.c controller/db_pg.c controller/store.c controller/schema.c controller/auth.c controller/audit.c \
	controller/anchor.c \
	controller/series.c controller/route.c controller/config.c \
	controller/api.c controller/api_res.c controller/api_metrics.c controller/api_vm.c controller/vmref.c controller/idem.c \
	controller/api_agent.c controller/desired.c controller/api_join.c controller/enrol.c \
	controller/place.c controller/rebalance.c \
	controller/api_rebalance.c controller/model.c controller/eta.c \
	controller/resource.c controller/ctrl.c controller/jobs.c controller/leader.c \
	controller/wakeup.c \
	controller/task.c controller/domname.c controller/report.c controller/report_batch.c \
	controller/authlimit.c controller/steady.c controller/image.c controller/api_image.c \
	controller/vmimage.c controller/console.c controller/api_console.c \
	controller/peercert.c controller/ipam.c controller/netstate.c \
	controller/api_net.c controller/ui.c controller/storage.c controller/api_storage.c \
	controller/server.c controller/hapolicy.c controller/ha.c controller/ha_fence.c controller/api_ha.c
CTRL_OBJS := $(CTRL_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCTRL := $(BUILD)/lib/libfcctrl.a
# GnuTLS verifies the agents' client certificates (peercert.c), in the
# TLS sessions libmicrohttpd holds.
GNUTLS_CFLAGS := $(call pc_cflags,gnutls)
GNUTLS_LIBS := $(or $(call pc_libs,gnutls),-lgnutls)
# libpq is the PostgreSQL engine behind controller/db.h (db_pg.c).
PQ_CFLAGS := $(call pc_cflags,libpq)
PQ_LIBS := $(or $(call pc_libs,libpq),-lpq)
CTRL_LIBS := $(MHD_LIBS) $(GNUTLS_LIBS) $(SQLITE_LIBS) $(PQ_LIBS) $(CRYPTO_LIBS) -lm

$(CTRL_OBJS) $(BUILD)/obj/controller/main.o: OBJ_CFLAGS += $(CJSON_CFLAGS) \
	$(MHD_CFLAGS) $(GNUTLS_CFLAGS) $(SQLITE_CFLAGS) $(PQ_CFLAGS) $(CRYPTO_CFLAGS)

# the dashboard's installed files (ui.h), the default of ui_dir
$(BUILD)/obj/controller/config.o: OBJ_CFLAGS += -DFC_UI_DIR='"$(DATADIR)/ui"'

$(LIBCTRL): $(CTRL_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/bin/fincloud-controller: $(BUILD)/obj/controller/main.o $(LIBCTRL) \
		$(LIBSCHED) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CTRL_LIBS) $(SCHED_LIBS) $(COMMON_LIBS)

BINS += $(BUILD)/bin/fincloud-controller

CTRL_TEST_LIBS := $(LIBCTRL) $(LIBSCHED) $(LIBCOMMON)
CTRL_TEST_LINK := $(CTRL_LIBS) $(SCHED_LIBS) $(COMMON_LIBS)
$(eval $(call unit_test,test_ctrl_db,tests/unit/test_ctrl_db.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_routes,tests/unit/test_ctrl_routes.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_audit,tests/unit/test_ctrl_audit.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_series,tests/unit/test_ctrl_series.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_api,tests/unit/test_ctrl_api.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_model,tests/unit/test_ctrl_model.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_ctrl,tests/unit/test_ctrl_ctrl.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_task,tests/unit/test_ctrl_task.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_report,tests/unit/test_ctrl_report.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_domname,tests/unit/test_ctrl_domname.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_hapolicy,tests/unit/test_ctrl_hapolicy.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_authlimit,tests/unit/test_ctrl_authlimit.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_steady,tests/unit/test_ctrl_steady.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_image,tests/unit/test_ctrl_image.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_console,tests/unit/test_ctrl_console.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_peercert,tests/unit/test_ctrl_peercert.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_vmref,tests/unit/test_ctrl_vmref.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_enrol,tests/unit/test_ctrl_enrol.c tests/unit/ctrl_fixture.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_ipam,tests/unit/test_ctrl_ipam.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
$(eval $(call unit_test,test_ctrl_storage,tests/unit/test_ctrl_storage.c,$(CTRL_TEST_LIBS),$(CTRL_TEST_LINK)))
