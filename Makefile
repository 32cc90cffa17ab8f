# mintrac build. `make` builds build/mintrac; `make test` builds an
# ASan+UBSan copy and runs the unit and functional tests; `make fuzz` runs the
# libFuzzer targets for a bounded time (FUZZ_SECONDS each); `make browser`
# runs the page's tests in headless Chromium (also part of `make test`).
CC       ?= cc
CSTD     := -std=c17 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wpointer-arith -Wcast-qual -Wformat=2
LIBS     := -lev -lsqlite3 -lhttp_parser -ljansson -lsodium -lyajl -lexpat -lwslay -lpthread -lm
CFLAGS   ?= -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(sort $(wildcard src/*.c))
LIBSRC   := $(filter-out src/main.c,$(SRC))
HDR      := $(wildcard src/*.h)
UNITSRC  := $(sort $(wildcard tests/unit/*.c))
FUZZSRC  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

# The page: web/*.{html,js,css} and the files it loads from web/node_modules
# (installed by scripts/setup.sh with `npm ci`), compiled into the binary by
# tools/embed.c as NAME=FILE (NAME is the path under /static/).
NODEMOD  := web/node_modules
LEAFLET  := $(NODEMOD)/leaflet/dist
WEBFILES := $(sort $(wildcard web/*.html web/*.js web/*.css))
WEBDEPS  := $(LEAFLET)/leaflet.js $(LEAFLET)/leaflet.css \
            $(addprefix $(LEAFLET)/images/,layers.png layers-2x.png marker-icon.png \
              marker-icon-2x.png marker-shadow.png) \
            $(NODEMOD)/qrcode-generator/dist/qrcode.js
GEN      := build/gen/assets.c

.PHONY: all test unit functional browser fuzz bench bench-track clean
all: build/mintrac

build/mintrac: $(SRC) $(HDR) $(GEN) | build
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -Isrc -o $@ $(SRC) $(GEN) $(LIBS)

build/asan/mintrac: $(SRC) $(HDR) $(GEN) | build/asan
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -Isrc -o $@ $(SRC) $(GEN) $(LIBS)

build/asan/unit: $(LIBSRC) $(UNITSRC) $(HDR) $(GEN) tests/unit/test.h | build/asan
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -Isrc -o $@ $(LIBSRC) $(GEN) $(UNITSRC) $(LIBS)

build build/asan build/fuzz build/gen:
	mkdir -p $@

build/gen/embed: tools/embed.c | build/gen
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

$(GEN): build/gen/embed $(WEBFILES) $(WEBDEPS) | build/gen
	build/gen/embed $@ $(foreach f,$(WEBFILES),$(notdir $(f))=$(f)) \
	  $(foreach f,$(filter $(LEAFLET)/%,$(WEBDEPS)),$(f:$(LEAFLET)/%=%)=$(f)) \
	  qrcode.js=$(NODEMOD)/qrcode-generator/dist/qrcode.js

# npm packages not installed: say how to get them rather than fail with
# "No rule to make target".
$(WEBDEPS):
	@echo "$@ is missing: run 'bash scripts/setup.sh' (or 'cd web && npm ci')" >&2
	@exit 1

unit: build/asan/unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build/asan/unit

functional: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac python3 tests/functional/run.py

# The page in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from web/node_modules) against the ASan build.
browser: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac node tests/browser/run.js

# One summary line at the end counts unit, functional and browser tests.
test: build/asan/unit build/asan/mintrac
	@bash tests/run-all.sh

build/fuzz/%: fuzz/%.c $(LIBSRC) $(HDR) $(GEN) | build/fuzz
	clang $(CSTD) $(WARN) -Wno-unused-command-line-argument -O1 -g \
	  -fsanitize=fuzzer,address,undefined -Isrc -o $@ $< $(LIBSRC) $(GEN) $(LIBS)

fuzz: $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZSRC))
	@bash fuzz/run.sh $(FUZZ_SECONDS)

bench: build/mintrac
	@bash bench/ingest

# One year of 1 Hz fixes (31.5 M rows, ~1.7 GB cached in /tmp): the map's
# thinned tracks against a bare SELECT of the same rows.
bench-track: build/mintrac
	@MINTRAC_BIN=$(CURDIR)/build/mintrac bash bench/track

clean:
	rm -rf build
