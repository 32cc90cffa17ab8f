# mintrac build. `make` builds build/mintrac; `make test` builds an
# ASan+UBSan copy and runs the unit and functional tests; `make fuzz` runs the
# libFuzzer targets for a bounded time (FUZZ_SECONDS each).
CC       ?= cc
CSTD     := -std=c17 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
            -Wshadow -Wpointer-arith -Wcast-qual -Wformat=2
LIBS     := -lev -lsqlite3 -lhttp_parser -ljansson -lsodium -lyajl -lexpat -lpthread -lm
CFLAGS   ?= -O2 -g
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC      := $(sort $(wildcard src/*.c))
LIBSRC   := $(filter-out src/main.c,$(SRC))
HDR      := $(wildcard src/*.h)
UNITSRC  := $(sort $(wildcard tests/unit/*.c))
FUZZSRC  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

.PHONY: all test unit functional fuzz bench clean
all: build/mintrac

build/mintrac: $(SRC) $(HDR) | build
	$(CC) $(CSTD) $(WARN) $(CFLAGS) -o $@ $(SRC) $(LIBS)

build/asan/mintrac: $(SRC) $(HDR) | build/asan
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -o $@ $(SRC) $(LIBS)

build/asan/unit: $(LIBSRC) $(UNITSRC) $(HDR) tests/unit/test.h | build/asan
	$(CC) $(CSTD) $(WARN) -O1 -g $(SAN) -Isrc -o $@ $(LIBSRC) $(UNITSRC) $(LIBS)

build build/asan build/fuzz:
	mkdir -p $@

unit: build/asan/unit
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build/asan/unit

functional: build/asan/mintrac
	MINTRAC_BIN=$(CURDIR)/build/asan/mintrac python3 tests/functional/run.py

# One summary line at the end counts unit and functional tests together.
test: build/asan/unit build/asan/mintrac
	@bash tests/run-all.sh

build/fuzz/%: fuzz/%.c $(LIBSRC) $(HDR) | build/fuzz
	clang $(CSTD) $(WARN) -Wno-unused-command-line-argument -O1 -g \
	  -fsanitize=fuzzer,address,undefined -Isrc -o $@ $< $(LIBSRC) $(LIBS)

fuzz: $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZSRC))
	@bash fuzz/run.sh $(FUZZ_SECONDS)

bench: build/mintrac
	@bash bench/ingest

clean:
	rm -rf build
