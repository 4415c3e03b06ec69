# tightrope — build, run, test.
#   make run     install what is missing, build, run scenarios/doha.yaml
#   make test    install what is missing, build, run every test
#   make check   the tests under AddressSanitizer + UndefinedBehaviorSanitizer, and valgrind
#   make bench   benchmarks (actor-ticks per second against hand-written C; runs per
#                second over threads and MPI ranks, peak memory, cost per actor-tick)

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

.PHONY: all deps run test check bench clean install

all: deps $(BIN)

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
	$(MAKE) BUILD=build-asan CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" build-asan/tightrope
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  python3 tests/run_tests.py --binary build-asan/tightrope --sanitized

bench: all
	@./bench/run.sh $(BIN)
	@$(MAKE) --no-print-directory MPI=1 BUILD=build-mpi all || echo "tightrope: no MPI build: the MPI benchmark is skipped"
	@./bench/scale.sh $(BIN) build-mpi/tightrope

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tightrope/scripts
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tightrope
	cp -r scripts/policies scripts/actions $(DESTDIR)$(PREFIX)/share/tightrope/scripts/

clean:
	rm -rf build build-asan build-fuzz
