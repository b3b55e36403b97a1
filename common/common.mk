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
