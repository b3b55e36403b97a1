# fincloud - one entry point for building, testing and installing.
#
#   make            build everything into build/
#   make check      install missing packages, build, run every test
#   make asan       the same suite under AddressSanitizer + UBSan (build/asan)
#   make fuzz       libFuzzer runs of the JSON and config parsers (clang)
#   make bench      benchmarks against their baselines
#   make demo       bring up a real testbed and show the main job
#   make install    PREFIX=/usr/local DESTDIR= (binaries, man pages, bash
#                   completion, units, schemas)
#   make deb        Debian packages into build/deb/ (debian/, scripts/deb.sh)
#   make image      the test image, build/images/fincloud-test.qcow2
#   make image-debian  a minimal Debian with cloud-init (slow, fetches),
#                   build/images/fincloud-debian.qcow2, then boots it
#
# Each component adds its sources, binaries and tests in its own
# <dir>/<dir>.mk, included below; this file holds only what they share.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/fincloud
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
BUILD ?= build
SAN ?=

CC ?= cc
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-missing-field-initializers
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) $(HARDEN) -I. -MMD -MP
ifeq ($(SAN),1)
# -O1 keeps stack traces readable; FORTIFY needs optimisation to stay on.
BASE_CFLAGS := $(filter-out -O2,$(BASE_CFLAGS)) -O1 \
	-fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
BASE_LDFLAGS := -fsanitize=address,undefined
endif
CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(LDFLAGS) -pthread

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

CJSON_CFLAGS := $(call pc_cflags,libcjson)
CJSON_LIBS := $(or $(call pc_libs,libcjson),-lcjson)
CURL_CFLAGS := $(call pc_cflags,libcurl)
CURL_LIBS := $(or $(call pc_libs,libcurl),-lcurl)
XML_CFLAGS := $(call pc_cflags,libxml-2.0)
XML_LIBS := $(or $(call pc_libs,libxml-2.0),-lxml2)
VIRT_CFLAGS := $(call pc_cflags,libvirt)
VIRT_LIBS := $(or $(call pc_libs,libvirt),-lvirt)
MHD_CFLAGS := $(call pc_cflags,libmicrohttpd)
MHD_LIBS := $(or $(call pc_libs,libmicrohttpd),-lmicrohttpd)
SQLITE_CFLAGS := $(call pc_cflags,sqlite3)
SQLITE_LIBS := $(or $(call pc_libs,sqlite3),-lsqlite3)
CMOCKA_CFLAGS := $(call pc_cflags,cmocka)
CMOCKA_LIBS := $(or $(call pc_libs,cmocka),-lcmocka)
# Debian's libglpk-dev ships no pkg-config file.
GLPK_CFLAGS :=
GLPK_LIBS := -lglpk

# Filled in by the component makefiles.
BINS :=          # programs installed to $(BINDIR)
UNIT_TESTS :=    # cmocka test programs, run by tests/run.sh
INSTALL_DATA :=  # "src:dest-relative-to-DATADIR" pairs
MAN_PAGES :=     # built man pages (NAME.1, NAME.8) for $(MANDIR)/manN
COMPLETIONS :=   # built bash completion scripts for $(BASHCOMPDIR)

.PHONY: all bins check test asan bench demo install deb clean deps print-bins \
	image image-debian
all:

# $(eval $(call unit_test,NAME,SOURCES,ARCHIVES,LINK_LIBS)) builds the
# cmocka program $(BUILD)/tests/unit/NAME from SOURCES (.c files) linked
# with ARCHIVES (our .a files, also prerequisites) and LINK_LIBS.
define unit_test
$(BUILD)/tests/unit/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(2)) $(3)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(3) $(4) $$(CMOCKA_LIBS) -lm
UNIT_TESTS += $(BUILD)/tests/unit/$(1)
endef
$(BUILD)/obj/tests/%.o: OBJ_CFLAGS += $(CMOCKA_CFLAGS) $(CJSON_CFLAGS)

include common/common.mk
-include scheduler/scheduler.mk
-include agents/agents.mk
-include controller/controller.mk
-include finctl/finctl.mk
-include ui/ui.mk
include man/man.mk
include tests/tests.mk
include tests/fuzz/fuzz.mk

all: $(BINS) $(UNIT_TESTS)

# the installed programs alone (what the packages build)
bins: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(OBJ_CFLAGS) -c -o $@ $<

deps:
	bash scripts/deps.sh

# check installs what is missing (with --deb: the suite builds and
# installs the Debian packages), builds, and runs every test.
check:
	bash scripts/deps.sh --deb --browser
	$(MAKE) test

# fuzz-build: tests/integration/fuzz_smoke.sh runs the fuzz targets
test: all fuzz-build
	bash tests/run.sh $(BUILD)

asan:
	bash scripts/deps.sh --deb --browser
	$(MAKE) BUILD=build/asan SAN=1 test

bench: all
	bash scripts/deps.sh --bench
	bash scripts/bench.sh $(BUILD)

# the test image is rebuilt when scripts/image/ changed (demo.sh itself
# only builds a missing one)
demo: deps all $(BUILD)/images/fincloud-test.qcow2
	bash scripts/demo.sh $(BUILD)

# Builds in a copy of the tree under $(BUILD)/deb/, so the checkout stays
# clean; the .deb files land in $(BUILD)/deb/.
deb:
	bash scripts/deps.sh --deb
	bash scripts/deb.sh $(BUILD)/deb

# Test images (docs/images.md). The test image builds offline in
# seconds; the Debian one fetches from the mirror, so it is its own
# target, which also boots it (tests/integration/image_boot.sh --debian).
IMAGE_SRC := scripts/build-image.sh $(wildcard scripts/image/*)
image: $(BUILD)/images/fincloud-test.qcow2
$(BUILD)/images/fincloud-test.qcow2: $(IMAGE_SRC)
	bash scripts/deps.sh
	bash scripts/build-image.sh $@
image-debian:
	bash scripts/deps.sh --image-debian
	bash scripts/build-image.sh --debian $(BUILD)/images/fincloud-debian.qcow2
	FC_TOP=$(CURDIR) bash tests/integration/image_boot.sh --debian $(BUILD)/images/fincloud-debian.qcow2

install: $(BINS) $(MAN_PAGES) $(COMPLETIONS) $(UI_FILES)
	install -d $(DESTDIR)$(BINDIR)
	for b in $(BINS); do install -m 0755 $$b $(DESTDIR)$(BINDIR)/; done
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	for m in $(MAN_PAGES); do \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	install -d $(DESTDIR)$(BASHCOMPDIR)
	for c in $(COMPLETIONS); do install -m 0644 $$c $(DESTDIR)$(BASHCOMPDIR)/; done
	install -d $(DESTDIR)$(DATADIR)/schemas $(DESTDIR)$(DATADIR)/docs
	for f in schemas/*; do [ -f "$$f" ] && install -m 0644 "$$f" $(DESTDIR)$(DATADIR)/schemas/; done; true
	install -m 0644 docs/*.md $(DESTDIR)$(DATADIR)/docs/
	install -d $(DESTDIR)$(DATADIR)/ui
	install -m 0644 $(UI_FILES) $(DESTDIR)$(DATADIR)/ui/
	# The units name /usr/local paths; point them at this PREFIX. They go
	# to the systemd unit directory and, for install-agent.sh (which
	# copies the agent's unit onto compute nodes), beside it in DATADIR.
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)/systemd
	for u in scripts/systemd/*.service scripts/systemd/*.timer; do \
		for d in $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)/systemd; do \
			sed -e 's|/usr/local/bin|$(BINDIR)|g' \
			    -e 's|/usr/local/share/fincloud|$(DATADIR)|g' "$$u" \
			    >$$d/$$(basename "$$u") && \
			chmod 0644 $$d/$$(basename "$$u") || exit 1; \
		done; \
	done
	install -m 0755 scripts/install-agent.sh $(DESTDIR)$(DATADIR)/install-agent.sh

clean:
	rm -rf build

print-bins:
	@echo $(BINS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
