# common/: logging, config, JSON, HTTP client, errors (libfccommon.a)
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCOMMON := $(BUILD)/lib/libfccommon.a
# What a program linking libfccommon needs.
COMMON_LIBS := $(CJSON_LIBS) $(CURL_LIBS)

$(COMMON_OBJS): OBJ_CFLAGS += $(CJSON_CFLAGS) $(CURL_CFLAGS)

$(LIBCOMMON): $(COMMON_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# The version of every program, one place: the file VERSION.
FC_VERSION := $(shell cat VERSION)
$(BUILD)/obj/common/version.o: OBJ_CFLAGS += -DFC_VERSION='"$(FC_VERSION)"'
$(BUILD)/obj/common/version.o: VERSION
