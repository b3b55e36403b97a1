# ui/: the web dashboard (docs/dashboard.md), static files the controller
# serves under /ui/ from ui_dir. Its own files and uPlot, taken from the
# npm cache scripts/deps.sh fills (never committed, never a CDN), are laid
# out in $(BUILD)/ui: what a controller run from the build serves
# (--ui-dir $(BUILD)/ui) and what `make install` copies to DATADIR/ui.
NPM_CACHE ?= $(or $(FINCLOUD_NPM_CACHE),/var/cache/fincloud/npm)
UI_SRCS := $(wildcard ui/*.html ui/*.js ui/*.css ui/*.svg)
UI_FILES := $(UI_SRCS:ui/%=$(BUILD)/ui/%) $(BUILD)/ui/uplot.esm.js \
	$(BUILD)/ui/uplot.min.css

$(BUILD)/ui/%: ui/%
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/ui/uplot.esm.js: | $(NPM_CACHE)/node_modules/uplot/dist/uPlot.esm.js
$(BUILD)/ui/uplot.min.css: | $(NPM_CACHE)/node_modules/uplot/dist/uPlot.min.css
$(BUILD)/ui/uplot.esm.js $(BUILD)/ui/uplot.min.css:
	@mkdir -p $(@D)
	cp $(NPM_CACHE)/node_modules/uplot/dist/$(if $(filter %.js,$@),uPlot.esm.js,uPlot.min.css) $@

$(NPM_CACHE)/node_modules/uplot/dist/%:
	@echo "uPlot is not in $(NPM_CACHE): run 'make deps' (scripts/deps.sh fetches it from npm)" >&2
	@exit 1

all: $(UI_FILES)
