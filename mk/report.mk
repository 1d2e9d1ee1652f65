# Report: headless Chromium for the report test (it opens the HTML report, takes a screenshot and
# checks that every chart drew its data points). Debian's package; root or sudo installs it.

# Elsewhere (macOS, Fedora, no sudo): install Chromium or Chrome yourself; the test finds it on
# PATH or in TICKETTRAK_TEST_CHROMIUM.
CHROMIUM ?= $(or $(TICKETTRAK_TEST_CHROMIUM),$(shell command -v chromium chromium-browser google-chrome \
  google-chrome-stable 2>/dev/null | head -1))
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: chromium
chromium: ## install headless Chromium (Debian `chromium`) for the report test
	@if [ -n "$(CHROMIUM)" ]; then "$(CHROMIUM)" --version; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium \
	  && chromium --version; \
	else echo "the report test needs headless Chromium or Chrome: install it and put it on PATH," \
	  "or set TICKETTRAK_TEST_CHROMIUM=/path/to/chrome (no apt-get here to install it)" >&2; exit 1; fi

ci-tools: chromium

.PHONY: report
report: venv ## write the report from the marts (.tickettrak/reports/report.html); ARGS="--format csv" for exports
	$(TT) report $(ARGS)
