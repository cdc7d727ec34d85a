/* Helpers shared by the CUnit tests: numeric comparison metrics, allocation
 * counting (the runner wraps malloc/calloc/realloc), temporary files. */
#ifndef SVX_TESTUTIL_H
#define SVX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <CUnit/CUnit.h>

/* Largest |a[i] - b[i]|. */
double tu_max_abs(const float *a, const float *b, size_t n);
/* Normalised mean squared error sum((a-b)^2) / sum(b^2) (b is the reference);
 * 0 when both are all zero, +inf when only the reference is. */
double tu_nmse(const float *a, const float *ref, size_t n);
/* Signal-to-noise ratio of a against the reference, in dB (+inf if equal). */
double tu_snr_db(const float *a, const float *ref, size_t n);
/* Index of the first i with |a[i]-b[i]| > tol, or -1. Prints it when found. */
long tu_first_mismatch(const char *what, const float *a, const float *b, size_t n, double tol);

/* Allocation counter: number of malloc/calloc/realloc calls since start. */
uint64_t tu_alloc_count(void);

/* Deterministic random numbers (xorshift64*), seed printed by the runner. */
void tu_seed(uint64_t seed);
uint64_t tu_rand_u64(void);
double tu_rand_uniform(void);           /* [0, 1) */
double tu_rand_normal(void);

/* Path of a fresh temporary directory for this test run (created once). */
const char *tu_tmpdir(void);
/* tu_tmpdir()/name written into buf. */
const char *tu_tmp_path(char *buf, size_t n, const char *name);
/* Writes n bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);
/* Path of the shiftvox binary under test (env SVX_BIN, default build/shiftvox). */
const char *tu_bin(void);
/* Runs a shell command, capturing stdout+stderr into out (NUL-terminated,
 * truncated to n-1); returns the exit status or -1. */
int tu_run(const char *cmd, char *out, size_t n);

/* Adds a suite with the given tests; used by every test_register_*(). */
typedef struct { const char *name; void (*fn)(void); } tu_test;
void tu_add_suite(const char *suite, const tu_test *tests, size_t n_tests);

#define TU_ASSERT_CLOSE(a, b, tol) CU_ASSERT(fabs((double)(a) - (double)(b)) <= (tol))

#endif
