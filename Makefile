# tightrope — build, run, test.
#   make run     install what is missing, build, run scenarios/doha.yaml
#   make test    install what is missing, build, run every test (C unit tests in
#                tests/unit/, then tests/run_tests.py)
#   make check   valgrind on scenarios/doha.yaml, then the tests under AddressSanitizer +
#                UndefinedBehaviorSanitizer (CI, .ci/run: make test, then make check)
#   make bench   benchmarks (actor-ticks per second against hand-written C; runs per
#                second over threads and MPI ranks, peak memory, cost per actor-tick)
#   make bench-sqlite   results.sqlite against CSV: write speed, size, loading in pandas
#   make fuzz    libFuzzer harnesses (fuzz/), FUZZ_SECONDS each (default 60); crashes in fuzz/crashes/
#   make lint    luacheck over scripts/ and the scripts beside bundled scenarios (.luacheckrc)
#   make layers  every #include of core/ goes to its own layer or below (docs/internals.md)
#   make format-check / make format   core/ against .clang-format / reformat it
#   make install PREFIX=DIR / make uninstall PREFIX=DIR   (docs/install.md says what goes where)

CC      ?= cc
PKGS    := libgsl-dev libyaml-dev liblua5.4-dev nettle-dev libsqlite3-dev pkg-config python3 gnuplot-nox
LIBS_PC := gsl yaml-0.1 lua5.4 nettle sqlite3
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes
CPPFLAGS += -D_GNU_SOURCE -DTR_SRCDIR='"$(CURDIR)"' -DTR_SHAREDIR='"$(PREFIX)/share/tightrope"'
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SHAREDIR ?= $(PREFIX)/share/tightrope
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR  ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# Where Debian's python3 looks: /usr/lib/python3/dist-packages for /usr,
# else PREFIX/lib/python3.X/dist-packages (the /usr/local convention).
PYTHON  ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
PYVER   := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PREFIX),/usr)
  PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
else
  PYTHONDIR ?= $(PREFIX)/lib/python$(PYVER)/dist-packages
endif
# The library's version and soname (libtightrope.so.MAJOR), from tightrope.h.
LIBVERSION := $(shell sed -n 's/^\#define[[:space:]]*TR_VERSION[[:space:]]*"\(.*\)"/\1/p' core/tightrope.h)
SOMAJOR := $(firstword $(subst ., ,$(LIBVERSION)))
ifeq ($(MPI),1)
  BUILD ?= build-mpi
endif
BUILD   ?= build
# core/ is layered (docs/internals.md, "Layers"): base/ < scenario/ < run/ <
# experiment/ < app/; `make layers` refuses an #include that goes upward.
LAYERS  := base scenario run experiment app
SRC     := $(foreach l,$(LAYERS),$(wildcard core/$(l)/*.c))
HDR     := core/tightrope.h $(foreach l,$(LAYERS),$(wildcard core/$(l)/*.h))
OBJ     := $(patsubst core/%.c,$(BUILD)/obj/%.o,$(SRC))
BIN     := $(BUILD)/tightrope
LIB_OBJ = $(filter-out $(BUILD)/obj/app/main.o,$(OBJ))
STATICLIB := $(BUILD)/libtightrope.a
SHAREDLIB := $(BUILD)/libtightrope.so.$(LIBVERSION)
SONAME  := libtightrope.so.$(SOMAJOR)
# Objects are position-independent (they make the shared library too) and
# hide every symbol but the tr_ API (TR_API in tightrope.h).
LIBFLAGS := -fPIC -fvisibility=hidden

ifeq ($(MPI),1)
  CC := mpicc
  CPPFLAGS += -DTR_MPI=1
  PKGS += libopenmpi-dev openmpi-bin
endif

.PHONY: all deps run test check bench bench-sqlite clean install uninstall fuzz lint man lib unit layers format-check format

# What the tests need besides the build: headless Chromium renders the
# report page; mandoc lints the man pages, luacheck the Lua scripts, and
# Debian's python3-jsonschema validates scenarios against the schema;
# strace kills the install at each rename (tests/test_hostile.py), and
# stress-ng loads the machine to check the suite under load
# (`stress-ng --cpu 2 & make test`); clang-format checks the layout of
# core/ (make format-check); make check needs clang with its
# sanitizer runtime, and valgrind.
test: PKGS += chromium mandoc lua-check python3-jsonschema strace stress-ng clang-format
lint: PKGS += lua-check
check: PKGS += clang libclang-rt-dev valgrind
fuzz: PKGS += clang libclang-rt-dev

all: deps $(BIN) lib man

# libtightrope: static and shared (soname libtightrope.so.MAJOR, only tr_
# symbols exported), and tightrope-shared: main.c linked against the shared
# library, which proves the command line needs nothing but the public API.
lib: $(STATICLIB) $(SHAREDLIB) $(BUILD)/tightrope-shared

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

$(BUILD)/obj/%.o: core/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIBFLAGS) $(WARN) -Icore $$(pkg-config --cflags $(LIBS_PC)) -c $< -o $@

$(BIN): $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $$(pkg-config --libs $(LIBS_PC)) -lpthread -lm

$(STATICLIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(SHAREDLIB): $(LIB_OBJ) core/libtightrope.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,core/libtightrope.map \
	  -o $@ $(LIB_OBJ) $$(pkg-config --libs $(LIBS_PC)) -lpthread -lm
	ln -sf $(notdir $(SHAREDLIB)) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libtightrope.so

$(BUILD)/tightrope-shared: $(BUILD)/obj/app/main.o $(SHAREDLIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(BUILD)/obj/app/main.o -L$(BUILD) -ltightrope -Wl,-rpath,'$$ORIGIN'

run: all
	@./scripts/run-flagship.sh $(BIN)

# C unit tests (tests/unit/*.c): each linked with every core object but
# main.o, as the fuzz harnesses are, and run by make test.
UNIT_OBJ = $(filter-out $(BUILD)/obj/app/main.o,$(OBJ))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/%,$(wildcard tests/unit/*.c))

$(BUILD)/unit_%: tests/unit/unit_%.c tests/unit/unit.h $(UNIT_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Icore $$(pkg-config --cflags $(LIBS_PC)) \
	  -o $@ $< $(UNIT_OBJ) $$(pkg-config --libs $(LIBS_PC)) -lpthread -lm

# Each test's last line is "[NAME: ]N passed, M failed"; a failing test's
# whole output is shown, and the sum ends the output (non-zero exit on a failure).
unit: all $(UNIT_TESTS)
	@p=0; f=0; for t in $(UNIT_TESTS); do \
	  $$t >$$t.log 2>&1; rc=$$?; last=$$(tail -1 $$t.log); \
	  np=$$(echo "$$last" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$$/\1/p'); \
	  nf=$$(echo "$$last" | sed -n 's/.*\b\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$$/\2/p'); \
	  if [ $$rc != 0 ] || [ -z "$$np" ]; then cat $$t.log; echo "$$t failed (exit $$rc)"; nf=$${nf:-1}; [ "$$nf" = 0 ] && nf=1; fi; \
	  echo "$$t: $$last"; p=$$((p + $${np:-0})); f=$$((f + nf)); done; \
	  echo "unit: $$p passed, $$f failed"; [ $$f = 0 ]

# The MPI build too (installs libopenmpi-dev openmpi-bin): the MPI tests use
# it, and are skipped with the reason printed when it cannot be built.
# Every #include in core/ goes to its own layer or below (tests/layers.py).
layers:
	@python3 tests/layers.py core

# core/ laid out as .clang-format says (`make format` applies it); skipped,
# with the reason, where clang-format is not installed.
CORE_FILES = $(SRC) $(HDR)
format-check:
	@if ! command -v clang-format >/dev/null; then \
	  echo "tightrope: clang-format is not installed (Debian: clang-format): format check skipped"; \
	else clang-format --dry-run --Werror --style=file $(CORE_FILES) \
	  && echo "format-check: core/ is laid out as .clang-format says"; fi

format:
	clang-format -i --style=file $(CORE_FILES)

test: all unit layers format-check
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
FUZZ_OBJ = $(filter-out $(BUILD)/obj/app/main.o,$(OBJ))

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

# bench-sqlite: results.sqlite against the CSV files (bench/README.md#sqlite),
# with Debian's pandas for the loading times.
bench-sqlite: PKGS += python3-pandas time
bench-sqlite: all
	@/usr/bin/python3 bench/sqlite.py $(BIN)

bench: all
	@./bench/run.sh $(BIN)
	@$(MAKE) --no-print-directory MPI=1 BUILD=build-mpi all || echo "tightrope: no MPI build: the MPI benchmark is skipped"
	@./bench/scale.sh $(BIN) build-mpi/tightrope

# make install PREFIX=DIR [DESTDIR=STAGE]: the binary, the library (static,
# shared with its soname links), the header, tightrope.pc, the scripts and
# the Python package, the man pages, the scenario schema, the LuaLS
# annotations and the bash completion; make uninstall removes exactly those
# (docs/install.md).
PYFILES := $(notdir $(wildcard python/tightrope/*.py))
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SHAREDIR)/scripts $(DESTDIR)$(PYTHONDIR)/tightrope \
	  $(DESTDIR)$(SHAREDIR)/lua $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(COMPLETIONDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/tightrope
	install -m 644 $(STATICLIB) $(DESTDIR)$(LIBDIR)/libtightrope.a
	install -m 755 $(SHAREDLIB) $(DESTDIR)$(LIBDIR)/$(notdir $(SHAREDLIB))
	ln -sf $(notdir $(SHAREDLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libtightrope.so
	install -m 644 core/tightrope.h $(DESTDIR)$(INCLUDEDIR)/tightrope.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  -e 's|@VERSION@|$(LIBVERSION)|; s|@REQUIRES@|$(LIBS_PC)|' core/tightrope.pc.in \
	  >$(DESTDIR)$(PKGCONFIGDIR)/tightrope.pc
	cp -r scripts/policies scripts/textbook $(DESTDIR)$(SHAREDIR)/scripts/
	install -m 644 share/schema/scenario.schema.json $(DESTDIR)$(SHAREDIR)/scenario.schema.json
	install -m 644 share/lua/tightrope.lua $(DESTDIR)$(SHAREDIR)/lua/tightrope.lua
	install -m 644 $(BUILD)/man/tightrope.1 $(DESTDIR)$(MANDIR)/man1/tightrope.1
	install -m 644 $(BUILD)/man/tightrope-scenario.5 $(DESTDIR)$(MANDIR)/man5/tightrope-scenario.5
	install -m 644 share/completion/tightrope.bash $(DESTDIR)$(COMPLETIONDIR)/tightrope
	install -m 644 $(addprefix python/tightrope/,$(PYFILES)) $(DESTDIR)$(PYTHONDIR)/tightrope/
	printf '# written by make install\nBINARY = %s\n' "'$(BINDIR)/tightrope'" \
	  >$(DESTDIR)$(PYTHONDIR)/tightrope/_installed.py

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tightrope $(DESTDIR)$(LIBDIR)/libtightrope.a \
	  $(DESTDIR)$(LIBDIR)/$(notdir $(SHAREDLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libtightrope.so $(DESTDIR)$(INCLUDEDIR)/tightrope.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/tightrope.pc $(DESTDIR)$(MANDIR)/man1/tightrope.1 \
	  $(DESTDIR)$(MANDIR)/man5/tightrope-scenario.5 $(DESTDIR)$(COMPLETIONDIR)/tightrope
	rm -rf $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(PYTHONDIR)/tightrope

clean:
	rm -rf build build-asan build-fuzz build-mpi
