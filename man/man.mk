# man/: the hand-written manual pages of the daemons and fincloud-sched,
# given the version of the file VERSION (@VERSION@). finctl's page is not
# here: the build writes it from finctl's command table (finctl/finctl.mk).
MAN_PAGES += $(patsubst man/%,$(BUILD)/man/%,$(wildcard man/*.[18]))

$(BUILD)/man/%: man/% VERSION
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(FC_VERSION)/g' $< >$@

all: $(MAN_PAGES)
