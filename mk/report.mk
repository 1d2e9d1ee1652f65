# Report: headless Chromium for the report test (it opens the HTML report, takes a screenshot and
# checks that every chart drew its data points). Debian's package; root or sudo installs it.

CHROMIUM ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: chromium
chromium: ## install headless Chromium (Debian `chromium`) for the report test
	@if [ -n "$(CHROMIUM)" ]; then $(CHROMIUM) --version; else \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium \
	  && chromium --version; fi

ci-tools: chromium

.PHONY: report
report: venv ## write the report from the marts (.tickettrak/reports/report.html); ARGS="--format csv" for exports
	$(TT) report $(ARGS)
