# tightrope — build, run, test.
#   make run     install what is missing, build, run scenarios/doha.yaml
#   make test    install what is missing, build, run every test
#   make check   valgrind on scenarios/doha.yaml, then the tests under AddressSanitizer +
#                UndefinedBehaviorSanitizer (CI, .ci/run: make test, then make check)
#   make bench   benchmarks (actor-ticks per second against hand-written C; runs per
#                second over threads and MPI ranks, peak memory, cost per actor-tick)
#   make fuzz    libFuzzer harnesses (fuzz/), FUZZ_SECONDS each (default 60); crashes in fuzz/crashes/
#   make lint    luacheck over scripts/ and the scripts beside bundled scenarios (.luacheckrc)
#   make install PREFIX=...   binary, scripts, man pages, schema, LuaLS file, bash completion;
#                make uninstall removes them

CC      ?= cc
PKGS    := libgsl-dev libyaml-dev liblua5.4-dev nettle-dev pkg-config python3 gnuplot-nox
LIBS_PC := gsl yaml-0.1 lua5.4 nettle
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CPPFLAGS += -D_GNU_SOURCE -DTR_SRCDIR='"$(CURDIR)"' -DTR_SHAREDIR='"$(PREFIX)/share/tightrope"'
PREFIX  ?= /usr/local
ifeq ($(MPI),1)
  BUILD ?= build-mpi
endif
BUILD   ?= build
SRC     := $(wildcard core/*.c)
OBJ     := $(patsubst core/%.c,$(BUILD)/obj/%.o,$(SRC))
BIN     := $(BUILD)/tightrope

ifeq ($(MPI),1)
  CC := mpicc
  CPPFLAGS += -DTR_MPI=1
  PKGS += libopenmpi-dev openmpi-bin
endif

.PHONY: all deps run test check bench clean install uninstall fuzz lint man

# What the tests need besides the build: headless Chromium renders the
# report page; mandoc lints the man pages, luacheck the Lua scripts, and
# Debian's python3-jsonschema validates scenarios against the schema;
# make check needs clang with its sanitizer runtime, and valgrind.
test: PKGS += chromium mandoc lua-check python3-jsonschema
lint: PKGS += lua-check
check: PKGS += clang libclang-rt-dev valgrind
fuzz: PKGS += clang libclang-rt-dev

all: deps $(BIN) man

# The man pages are generated from their docs/ pages, so the two never drift.
MANPAGES := $(BUILD)/man/tightrope.1 $(BUILD)/man/tightrope-scenario.5
man: $(MANPAGES)
$(BUILD)/man/tightrope.1: docs/cli.md share/man/md2man.py
	@mkdir -p $(@D)
	python3 share/man/md2man.py $< tightrope 1 > $@.tmp && mv $@.tmp $@
$(BUILD)/man/tightrope-scenario.5: docs/scenario-format.md share/man/md2man.py
	@mkdir -p $(@D)
	python3 share/man/md2man.py $< tightrope-scenario 5 "the scenario file format of tightrope" > $@.tmp && mv $@.tmp $@

lint: deps
	luacheck --quiet scripts/ $$(find scenarios -name '*.lua')

# Install the Debian packages that are missing (needs root or sudo).
deps:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "tightrope: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null \
	    || { echo "tightrope: could not install$$missing"; exit 1; }; \
	fi

$(BUILD)/obj/%.o: core/%.c core/internal.h core/tightrope.h | $(BUILD)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $$(pkg-config --cflags $(LIBS_PC)) -c $< -o $@

$(BIN): $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $$(pkg-config --libs $(LIBS_PC)) -lpthread -lm

$(BUILD)/obj:
	@mkdir -p $@

run: all
	@./scripts/run-flagship.sh $(BIN)

# The MPI build too (installs libopenmpi-dev openmpi-bin): the MPI tests use
# it, and are skipped with the reason printed when it cannot be built.
test: all
	@$(MAKE) --no-print-directory MPI=1 BUILD=build-mpi all || { rm -f build-mpi/tightrope; \
	  echo "tightrope: no MPI build (Open MPI could not be installed or built): MPI tests skipped"; }
	@python3 tests/run_tests.py --binary $(BIN)

check: deps
	@$(MAKE) --no-print-directory all
	@command -v valgrind >/dev/null || { echo "tightrope: valgrind is missing (apt-get install valgrind)"; exit 1; }
	@rm -rf build/valgrind-out
	@echo "tightrope: scenarios/doha.yaml under valgrind"
	@valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  $(BIN) run scenarios/doha.yaml -n 4 -t 20 -j 2 --quiet --events --series all -o build/valgrind-out
	@rm -rf build/valgrind-out
	@echo "tightrope: valgrind found no errors and no leaks"
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" build-asan/tightrope
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  python3 tests/run_tests.py --binary build-asan/tightrope --sanitized

# libFuzzer harnesses (fuzz/*.c) linked with every core object but main.o,
# built with clang in build-fuzz; each runs FUZZ_SECONDS, seeded by
# fuzz/corpus/<harness>/ (hand-written) and by the repository's scenarios,
# scripts and hostile cases (fuzz/seeds.sh writes them to
# build-fuzz/seeds/<harness>/), growing build-fuzz/corpus-<harness>/; crash
# inputs are saved as fuzz/crashes/<harness>-crash-<sha1>.
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES := scenario script
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_OBJ = $(filter-out $(BUILD)/obj/main.o,$(OBJ))

$(BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer $(WARN) -Icore $$(pkg-config --cflags $(LIBS_PC)) \
	  -o $@ $< $(FUZZ_OBJ) $$(pkg-config --libs $(LIBS_PC)) -lpthread -lm

fuzz: deps
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" $(FUZZ_HARNESSES:%=build-fuzz/fuzz_%)
	@mkdir -p fuzz/crashes fuzz/corpus/scenario fuzz/corpus/script
	@./fuzz/seeds.sh build-fuzz/seeds
	@for h in $(FUZZ_HARNESSES); do \
	  mkdir -p build-fuzz/corpus-$$h; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    build-fuzz/fuzz_$$h -fork=1 -ignore_timeouts=1 -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix=fuzz/crashes/$$h- \
	    build-fuzz/corpus-$$h build-fuzz/seeds/$$h fuzz/corpus/$$h >build-fuzz/fuzz-$$h.log 2>&1; rc=$$?; \
	  grep -E '^#[0-9]+: cov' build-fuzz/fuzz-$$h.log | tail -1; \
	  ls fuzz/crashes/$$h-* 2>/dev/null | sed 's/^/fuzz: saved input (timeout or crash): /'; \
	  if [ $$rc != 0 ]; then tail -40 build-fuzz/fuzz-$$h.log; echo "fuzz: $$h found a crash (fuzz/crashes/)"; exit 1; fi; \
	done

bench: all
	@./bench/run.sh $(BIN)
	@$(MAKE) --no-print-directory MPI=1 BUILD=build-mpi all || echo "tightrope: no MPI build: the MPI benchmark is skipped"
	@./bench/scale.sh $(BIN) build-mpi/tightrope

SHARE := $(DESTDIR)$(PREFIX)/share
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/tightrope/scripts $(SHARE)/tightrope/lua \
	  $(SHARE)/man/man1 $(SHARE)/man/man5 $(SHARE)/bash-completion/completions
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tightrope
	cp -r scripts/policies scripts/textbook $(SHARE)/tightrope/scripts/
	install -m 644 share/schema/scenario.schema.json $(SHARE)/tightrope/scenario.schema.json
	install -m 644 share/lua/tightrope.lua $(SHARE)/tightrope/lua/tightrope.lua
	install -m 644 $(BUILD)/man/tightrope.1 $(SHARE)/man/man1/tightrope.1
	install -m 644 $(BUILD)/man/tightrope-scenario.5 $(SHARE)/man/man5/tightrope-scenario.5
	install -m 644 share/completion/tightrope.bash $(SHARE)/bash-completion/completions/tightrope

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tightrope $(SHARE)/man/man1/tightrope.1 \
	  $(SHARE)/man/man5/tightrope-scenario.5 $(SHARE)/bash-completion/completions/tightrope
	rm -rf $(SHARE)/tightrope

clean:
	rm -rf build build-asan build-fuzz build-mpi
