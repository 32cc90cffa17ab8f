# mintrac build. `make` builds build/mintrac; `make test` builds an
# ASan+UBSan copy and runs the unit, functional and browser tests; `make
# check` checks the layering of src/ (every header compiles alone, no
# include runs upward); `make fuzz` runs the libFuzzer targets for a bounded
# time (FUZZ_SECONDS each).
#
# Each source is compiled once per flavour into build/<flavour>/obj/ (with
# -MMD dependency files), and the objects of everything but cli/main.c make
# one library per flavour: libmintrac.a. The binary, the unit tests and the
# fuzz targets all link that library.
#   build/rel    -O2 -g, the binary users run
#   build/asan   ASan + UBSan, the binary and unit tests the tests run
#   build/fuzz   clang, libFuzzer instrumentation + ASan + UBSan
CC       ?= cc
# Where scripts/setup.sh installs the offline geodata (mintrac geo load).
GEODATA  ?= $(CURDIR)/geodata/node_modules
CSTD     := -std=c17 -D_GNU_SOURCE -DMINTRAC_GEODATA_DIR='"$(GEODATA)"'
WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wpointer-arith -Wcast-qual -Wformat=2
# libpq's header lives in a directory of its own (Debian: /usr/include/postgresql).
PQ_INC   := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
LIBS     := -lev -lsqlite3 -lpq -lhttp_parser -ljansson -lsodium -lyajl -lexpat -lz -larchive -lwslay -lpthread -lm
CFLAGS   ?= -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
INC      := -Isrc $(PQ_INC)

# The layers, lowest first (see README "Source layout"); `make check`
# enforces that a file includes only from its own layer or lower ones.
LAYERS   := base net store proto history io receiver webapp cli
SRC      := $(sort $(wildcard $(addprefix src/,$(addsuffix /*.c,$(LAYERS)))))
HDR      := $(sort $(wildcard $(addprefix src/,$(addsuffix /*.h,$(LAYERS)))))
MAIN     := src/cli/main.c
LIBSRC   := $(filter-out $(MAIN),$(SRC))
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

# Objects of one flavour: $(call objs,FLAVOUR,SOURCES)
objs      = $(patsubst %.c,build/$(1)/obj/%.o,$(2))
REL_LIB  := build/rel/libmintrac.a
ASAN_LIB := build/asan/libmintrac.a
FUZZ_LIB := build/fuzz/libmintrac.a

.PHONY: all test unit functional functional-pg browser check fuzz bench bench-track bench-signin bench-history bench-derive bench-geo bench-import bench-pg stress clean
# Objects reached only through pattern rules (the fuzz targets') are kept,
# not deleted as intermediates, so a second build compiles nothing.
.SECONDARY:
all: build/mintrac

# ---- compiling: one pattern rule per flavour ----------------------------
build/rel/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -DNDEBUG $(INC) -MMD -MP -c -o $@ $<

# The test flavour alone carries the storage fault injection (faultvfs.h).
build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -DMINTRAC_FAULTVFS $(INC) -MMD -MP -c -o $@ $<

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer-no-link,address,undefined $(INC) -MMD -MP -c -o $@ $<

%/libmintrac.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(REL_LIB):  $(call objs,rel,$(LIBSRC))
$(ASAN_LIB): $(call objs,asan,$(LIBSRC))
$(FUZZ_LIB): $(call objs,fuzz,$(LIBSRC))

# ---- linking ------------------------------------------------------------
# The embedded page (build/gen/assets.c) is linked as an object, not from
# the archive: web_static.c refers to it only weakly (so a binary built
# without it still links), and a weak reference pulls nothing out of an
# archive.

build/mintrac: $(call objs,rel,$(MAIN) $(GEN)) $(REL_LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

build/asan/mintrac: $(call objs,asan,$(MAIN) $(GEN)) $(ASAN_LIB)
	$(CC) -g $(SAN) -o $@ $^ $(LIBS)

# Unit tests register themselves with constructors, so their objects are
# linked directly rather than through an archive (which would drop them).
build/asan/unit: $(call objs,asan,$(UNITSRC) $(GEN)) $(ASAN_LIB)
	$(CC) -g $(SAN) -o $@ $^ $(LIBS)

build/fuzz/%: build/fuzz/obj/fuzz/%.o $(call objs,fuzz,$(GEN)) $(FUZZ_LIB)
	clang -g -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- the page, embedded -------------------------------------------------
build/gen/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

$(GEN): build/gen/embed $(WEBFILES) $(WEBDEPS)
	build/gen/embed $@ $(foreach f,$(WEBFILES),$(notdir $(f))=$(f)) \
	  $(foreach f,$(filter $(LEAFLET)/%,$(WEBDEPS)),$(f:$(LEAFLET)/%=%)=$(f)) \
	  qrcode.js=$(NODEMOD)/qrcode-generator/dist/qrcode.js

# npm packages not installed: say how to get them rather than fail with
# "No rule to make target".
$(WEBDEPS):
	@echo "$@ is missing: run 'bash scripts/setup.sh' (or 'cd web && npm ci')" >&2
	@exit 1

# ---- checks and tests ---------------------------------------------------
# Layering: every header compiles on its own, and no file includes from a
# layer above its own (tools/check-layers.sh).
check:
	@CC="$(CC)" EXTRA_INC="$(PQ_INC)" bash tools/check-layers.sh $(LAYERS)

unit: build/asan/unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build/asan/unit

functional: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac python3 tests/functional/run.py

# The same tests with the store in a throwaway PostgreSQL cluster
# (tests/functional/pgcluster.py; scripts/setup.sh --with-postgresql).
functional-pg: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac python3 tests/functional/run.py --backend postgresql

# The page in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from web/node_modules) against the ASan build.
browser: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac node tests/browser/run.js

# One summary line at the end counts unit, functional (SQLite and PostgreSQL)
# and browser tests.
test: build/asan/unit build/asan/mintrac
	@bash tests/run-all.sh

fuzz: $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZSRC))
	@bash fuzz/run.sh $(FUZZ_SECONDS)

bench: build/mintrac
	@bash bench/ingest

# One year of 1 Hz fixes (31.5 M rows, ~1.7 GB cached in /tmp): the map's
# thinned tracks against a bare SELECT of the same rows.
bench-track: build/mintrac
	@MINTRAC_BIN=$(CURDIR)/build/mintrac bash bench/track

# Long robustness runs, not part of `make test` (tens of minutes): 1,000
# rounds of kill -9 during group commits (tests/functional/test_crash.py,
# 50 rounds in `make test`), and RSS flat over 2 million mixed requests
# against the optimised binary (tests/functional/soak.py).
stress: build/asan/mintrac build/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac MINTRAC_CRASH_ROUNDS=1000 \
	  python3 tests/functional/run.py -k test_crash
	MINTRAC_BIN=$(CURDIR)/build/mintrac python3 tests/functional/soak.py 2000000
bench-signin: build/mintrac
	@MINTRAC_BIN=$(CURDIR)/build/mintrac python3 bench/signin

# Deriving stays and trips from a year of 1 Hz fixes in memory, against a
# bare loop over the same array (bench/history.c).
build/bench_history: bench/history.c $(REL_LIB)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -DNDEBUG $(INC) -o $@ $^ $(LIBS)
bench-history: build/bench_history
	@build/bench_history

# The same on the store, end to end: deriving bench/track's year of fixes
# from scratch against a bare read of them, and the API's reads
# (bench/derive, bench/derive.c).
build/bench_derive: bench/derive.c $(REL_LIB)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -DNDEBUG $(INC) -o $@ $^ $(LIBS)
bench-derive: build/mintrac build/bench_derive
	@MINTRAC_BIN=$(CURDIR)/build/mintrac bash bench/derive

# Place names: load time and geo_lookup calls/s against a bare R*Tree box
# query on the same database (bench/geo_bench.c).
build/bench_geo: $(call objs,rel,bench/geo_bench.c) $(REL_LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)
bench-geo: build/bench_geo
	@build/bench_geo

# `mintrac import` of a generated 1 GB Records.json and a 100 MB GPX
# (cached in /tmp), against `cat FILE > /dev/null` in the same run.
bench-import: build/mintrac
	@MINTRAC_BIN=$(CURDIR)/build/mintrac python3 bench/import

# PostgreSQL: ingest with one and two receivers beside SQLite and the no-op
# baseline; a day and a year read from the 31.5 M-fix set (bench/pg).
bench-pg: build/mintrac
	@python3 bench/pg

clean:
	rm -rf build
