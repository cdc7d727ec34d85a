#!/bin/sh
# Cross-checks the engine on AArch64 (NEON kernels) under qemu-user:
# kernels, loader and streaming tests (tests/test_kernels.c,
# tests/test_model_file.c, tests/test_model_run.c) built statically with
# aarch64-linux-gnu-gcc against a minimal CUnit stand-in and a front-end
# parameter stub (KissFFT is not needed by these tests).
#   Debian packages: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   Run from the repository root: sh model/check_aarch64.sh
set -eu
CC=${CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU:-qemu-aarch64}
command -v "$CC" >/dev/null || { echo "check_aarch64: $CC not found (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"; exit 2; }
command -v "$QEMU" >/dev/null || { echo "check_aarch64: $QEMU not found (apt-get install qemu-user)"; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/CUnit"
cat > "$T/CUnit/CUnit.h" <<'SHIM'
/* minimal CUnit stand-in for a cross-compiled kernel check */
#ifndef SHIM_CUNIT_H
#define SHIM_CUNIT_H
#include <stdio.h>
#include <stdlib.h>
typedef struct shim_suite *CU_pSuite;
typedef void (*CU_TestFunc)(void);
CU_pSuite CU_add_suite(const char *name, void *init, void *clean);
void CU_add_test(CU_pSuite s, const char *name, CU_TestFunc fn);
extern long shim_fail, shim_pass;
#define CU_ASSERT(v) do { if (v) shim_pass++; else { shim_fail++; printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #v); } } while (0)
#define CU_ASSERT_TRUE(v) CU_ASSERT(v)
#define CU_ASSERT_FALSE(v) CU_ASSERT(!(v))
#define CU_ASSERT_EQUAL(a, b) CU_ASSERT((a) == (b))
#define CU_ASSERT_EQUAL_FATAL(a, b) do { if ((a) != (b)) { printf("FATAL %s:%d\n", __FILE__, __LINE__); exit(1); } } while (0)
#include <string.h>
#define CU_ASSERT_FATAL(v) do { if (!(v)) { printf("FATAL %s:%d\n", __FILE__, __LINE__); exit(1); } } while (0)
#define CU_ASSERT_NOT_EQUAL(a, b) CU_ASSERT((a) != (b))
#define CU_ASSERT_PTR_NULL(p) CU_ASSERT((p) == NULL)
#define CU_ASSERT_PTR_NOT_NULL(p) CU_ASSERT((p) != NULL)
#define CU_ASSERT_STRING_EQUAL(a, b) CU_ASSERT(strcmp((a), (b)) == 0)
#define CU_FAIL(m) CU_ASSERT(0 && (m))
#endif
SHIM
cat > "$T/fe_stub.c" <<'SHIM'
/* stand-in for features/frontend.c (KissFFT is not available for aarch64 here) */
#include "shiftvox.h"
#include "svx_internal.h"
void svx_frontend_params_default(svx_frontend_params *p) {
  p->sample_rate_hz = 16000; p->win_length = 400; p->hop_length = 160; p->n_fft = 512; p->n_mels = 40;
  p->fmin_hz = 20.0f; p->fmax_hz = 7600.0f; p->log_floor = 1e-6f; p->window = 0; p->mel_scale = 0; }
int svx_frontend_params_check(const svx_frontend_params *p) {
  if (p->n_mels < 1 || p->n_mels > 512 || p->sample_rate_hz <= 0) return svx_fail(SVX_ERR_INVALID_ARG, "n_mels %d", p->n_mels);
  return SVX_OK; }
SHIM
cat > "$T/main.c" <<'SHIM'
#include <stdio.h>
#include "CUnit/CUnit.h"
#include "testutil.h"
long shim_fail, shim_pass;
static CU_TestFunc fns[64]; static const char *names[64]; static int n;
struct shim_suite { int x; };
static struct shim_suite one;
CU_pSuite CU_add_suite(const char *name, void *a, void *b) { (void)a; (void)b; printf("suite %s\n", name); return &one; }
void CU_add_test(CU_pSuite s, const char *name, CU_TestFunc fn) { (void)s; names[n] = name; fns[n++] = fn; }
void test_register_kernels(void); void test_register_model_file(void); void test_register_model_run(void);
int main(void) {
  tu_seed(12345);
  test_register_kernels(); test_register_model_file(); test_register_model_run();
  for (int i = 0; i < n; i++) { long f0 = shim_fail; fns[i](); printf("  %s: %s\n", names[i], shim_fail == f0 ? "passed" : "FAILED"); }
  printf("asserts passed %ld failed %ld\n", shim_pass, shim_fail);
  return shim_fail != 0;
}
SHIM
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I"$T" -Iinclude -Icommon -Itests \
    -static -pthread -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc \
    "$T/main.c" "$T/fe_stub.c" tests/test_kernels.c tests/test_model_file.c tests/test_model_run.c \
    tests/testutil.c model/*.c common/error.c common/crc32.c -lm -o "$T/engine_tests"
"$QEMU" "$T/engine_tests"
