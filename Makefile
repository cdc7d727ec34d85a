# shiftvox — top-level Makefile.
#
#   make            build libshiftvox.a, libshiftvox.so and build/shiftvox
#   make test       install missing Debian packages, build, run every test (CUnit + pytest),
#                   then asan, valgrind and fuzz (QUICK=1 skips those three)
#   make asan       build and run the whole CUnit suite under ASan + UBSan
#   make demo       install missing packages, build, transcribe samples/ with the default model
#   make bench      kernel and pipeline benchmark (shiftvox bench)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (clang)
#   make valgrind   command-line tests with shiftvox under valgrind memcheck
#   make nofloat    integer model + decoder compile with -mgeneral-regs-only (no FP)
#   make cross-aarch64  AArch64 cross build, engine + integer tests under qemu-user
#   make train      reproduce the default model (see train/README in README.md)
#   make install    PREFIX=/usr/local DESTDIR= : library, header, command, shiftvox.pc
#   make clean

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
# OpenBLAS (Debian libopenblas-dev) for the sgemv baseline of `shiftvox bench`.
BLAS_LIBS ?= -lopenblas
CC ?= cc
PYTHON ?= /usr/bin/python3
FUZZ_SECONDS ?= 60

PKGS := portaudio-2.0 sndfile kissfft-float samplerate
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CUNIT_LIBS := $(shell pkg-config --libs cunit 2>/dev/null)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Werror
OPT ?= -O2
CFLAGS_ALL := -std=c11 $(OPT) -g $(WARN) -fPIC -D_POSIX_C_SOURCE=200809L -Iinclude -Icommon \
              $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lm -lpthread $(EXTRA_LDFLAGS)

ARCH := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq (,$(findstring x86_64,$(ARCH)))
SIMD_FLAGS := -mavx2 -mfma
SIMD512_FLAGS := -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl
endif

# Library sources: every .c file of the pipeline stages. Files ending in
# _avx2.c hold AVX2 kernels and are compiled with SIMD_FLAGS, files ending in _avx512.c
# AVX-512 kernels with SIMD512_FLAGS (both dispatched at run time from the CPU).
LIB_SRC := $(wildcard common/*.c audio/*.c features/*.c model/*.c decoder/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_SRC := $(wildcard apps/*.c)
APP_OBJ := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
# apps/speech.o (energy word segmentation, libc only) is linked in for its tests.
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/main.o $(BUILD)/tests/testutil.o \
    $(BUILD)/apps/speech.o

LIB_A := $(BUILD)/libshiftvox.a
LIB_SO := $(BUILD)/libshiftvox.so
BIN := $(BUILD)/shiftvox
TEST_BIN := $(BUILD)/run_tests

.PHONY: all deps test test-run asan demo bench fuzz fuzz-build fuzz-bins valgrind train install clean \
        nofloat cross-aarch64

all: $(LIB_A) $(LIB_SO) $(BIN)

$(BUILD)/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIMD_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIMD512_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS_ALL)

$(BIN): $(APP_OBJ) $(LIB_A)
	$(CC) -o $@ $(APP_OBJ) $(LIB_A) $(LDLIBS_ALL) $(BLAS_LIBS)

# The test runner: one CUnit registry; each tests/test_NAME.c defines
# void test_register_NAME(void). The list is generated from the file names.
$(BUILD)/tests/registry.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@{ for f in $(notdir $(basename $(TEST_SRC))); do n=$${f#test_}; \
	   echo "X(test_register_$$n)"; done; } > $@.tmp && \
	 (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp

$(BUILD)/tests/main.o: tests/main.c $(BUILD)/tests/registry.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(BUILD)/tests -MMD -MP -c $< -o $@

# malloc is wrapped in the test runner so tests can count allocations made by
# the statically linked library on the per-frame path.
$(TEST_BIN): $(TEST_OBJ) $(LIB_A) $(BIN)
	$(CC) -o $@ $(TEST_OBJ) $(LIB_A) $(LDLIBS_ALL) $(CUNIT_LIBS) \
	    -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc

deps:
	@bash scripts/install-deps.sh

# The README's test command. Installs what is missing, then builds and runs
# everything in a second make so pkg-config sees the new packages.
test: deps
	@$(MAKE) --no-print-directory test-run

# The whole CUnit suite under ASan + UBSan (make asan), the command-line tests
# under valgrind memcheck (make valgrind) and each libFuzzer target for
# FUZZ_SECONDS (make fuzz) run first; then the plain CUnit suite and the
# trainer's pytest, so that the run ends with their summaries. QUICK=1 skips
# the first three (for a fast local loop; CI never sets it).
test-run: all $(TEST_BIN)
ifneq ($(QUICK),1)
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory valgrind
	@$(MAKE) --no-print-directory fuzz
endif
	@$(MAKE) --no-print-directory nofloat
	@$(MAKE) --no-print-directory cross-aarch64
	SVX_BIN=$(BIN) $(TEST_BIN)
	@if [ -d train/tests ]; then cd train && SVX_LIB=$(abspath $(LIB_SO)) $(PYTHON) -m pytest -q tests; fi

asan:
	@bash scripts/install-deps.sh
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/run_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 SVX_BIN=build-asan/shiftvox build-asan/run_tests

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh

# Reproduces models/default.svxm from the audio in ../shared/data: installs the
# trainer's Debian packages, builds the feature cache through the C front end
# (train/cache/), trains float32 then DenseShift 3-bit from it (train/runs/),
# exports, adds the integer graph and fits the keyword-score calibration
# (models/README.md, recipe steps 1-7). Resumable: run it again after an
# interruption (the training stages resume from their checkpoints).
train:
	@bash scripts/install-deps.sh train
	@$(MAKE) --no-print-directory all
	SVX_LIB=$(abspath $(LIB_SO)) nice -n 5 $(PYTHON) -m train recipe --model train/runs/recipe/default.svxm
	SVX_LIB=$(abspath $(LIB_SO)) nice -n 5 $(PYTHON) -m train.export_int train/runs/recipe/default.svxm \
	    --calib 200 --per-word 0 --out train/runs/recipe/both.svxm
	SVX_LIB=$(abspath $(LIB_SO)) SVX_BIN=$(BIN) nice -n 5 sh scripts/calibrate-kws.sh \
	    train/runs/recipe/both.svxm models/default.svxm

bench: all
	$(BIN) bench

# ---- fuzzing (fuzz/README.md) ----
# libFuzzer targets built with clang into build-fuzz/ (library sources compiled
# again with -fsanitize=fuzzer-no-link,address,undefined). `make fuzz` runs
# each target for FUZZ_SECONDS on its committed seed corpus fuzz/corpus/NAME
# (new inputs go to build-fuzz/corpus/NAME) and fails on any crash, leak,
# sanitizer report or timeout; the artefact is left in build-fuzz/artifacts/.
FUZZ_TARGETS := audio_reader model_loader keywords stream
FUZZ_BUILD := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_BINS := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

# Inner target of `fuzz` (BUILD=build-fuzz CC=clang): one binary per target.
fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(LIB_OBJ)
	$(CC) -o $@ $^ -fsanitize=fuzzer $(LDLIBS_ALL)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN) -Ifuzz" \
	    EXTRA_LDFLAGS="$(FUZZ_SAN)" fuzz-bins

fuzz: fuzz-build
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- integer-only path (model/INTEGER.md, issue 7) ----
# Proof that the integer model and decoder use no floating point: GCC's
# -mgeneral-regs-only turns any float/double operation in these translation
# units into a compile error (x86-64 here; aarch64 in cross-aarch64). A
# control file that does use float must be rejected, so the check cannot pass
# vacuously on a compiler that ignores the flag.
NOFLOAT_SRC := model/int_model.c model/int_ctc.c model/int_runner.c
NOFLOAT_CC ?= gcc
nofloat:
	@mkdir -p $(BUILD)/nofloat
	@for f in $(NOFLOAT_SRC); do \
	    $(NOFLOAT_CC) -std=c11 $(OPT) $(WARN) -mgeneral-regs-only -c $$f \
	        -o $(BUILD)/nofloat/$$(basename $$f .c).o || exit 1; done
	@printf 'int f(int x);\nint f(int x) { double d = x; return (int)(d * 1.5); }\n' \
	    > $(BUILD)/nofloat/control.c
	@if $(NOFLOAT_CC) -std=c11 $(OPT) -mgeneral-regs-only -c $(BUILD)/nofloat/control.c \
	    -o $(BUILD)/nofloat/control.o 2>/dev/null; then \
	    echo "nofloat: $(NOFLOAT_CC) accepted float code with -mgeneral-regs-only"; exit 1; fi
	@echo "nofloat: $(NOFLOAT_SRC) compile with -mgeneral-regs-only (float control rejected)"

# AArch64 cross build and qemu-user run of the engine (NEON) and integer tests
# (scripts/cross-aarch64.sh); skipped with a message when the cross tools are absent.
cross-aarch64:
	@if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then \
	    sh scripts/cross-aarch64.sh; \
	else echo "cross-aarch64: skipped (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user not installed)"; fi

# ---- valgrind memcheck on the command-line tests (scripts/valgrind-cli.sh) ----
valgrind: all $(TEST_BIN)
	bash scripts/valgrind-cli.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/shiftvox
	install -m 644 models/default.svxm $(DESTDIR)$(PREFIX)/share/shiftvox/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/shiftvox.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' scripts/shiftvox.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/shiftvox.pc

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%.d)
