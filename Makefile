# A thin wrapper over Meson: `make` builds build/vigil; `make demo` and
# `make test` are the two commands of the README. Both install the Debian
# packages vigil needs first (scripts/install-deps.sh, one list).

BUILD     ?= build
ASAN      ?= build-asan
MESON_OPTS ?=

.PHONY: all deps demo test test-asan bench clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

demo: deps all
	./$(BUILD)/vigil scan --format text \
		--members data/samples/members.txt --protected data/samples/protected.tsv \
		--relays data/samples/relays.txt data/samples/

test: deps all
	@sh scripts/run-tests.sh $(BUILD)

test-asan: deps
	@[ -f $(ASAN)/build.ninja ] || meson setup $(ASAN) -Db_sanitize=address,undefined \
		-Db_lundef=false -Darena_debug=true -Dbuildtype=debug $(MESON_OPTS)
	ninja -C $(ASAN)
	@sh scripts/run-tests.sh $(ASAN)

bench: deps all
	@sh bench/run-all.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN)
