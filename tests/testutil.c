#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- allocation counting through -Wl,--wrap --------------------------------- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

static _Atomic uint64_t g_allocs;

void *__wrap_malloc(size_t n) { g_allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { g_allocs++; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { g_allocs++; return __real_realloc(p, n); }
uint64_t tu_alloc_count(void) { return g_allocs; }

/* --- metrics ---------------------------------------------------------------- */
double tu_max_abs(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d))
            m = d;
    }
    return m;
}

double tu_nmse(const float *a, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    if (den == 0)
        return num == 0 ? 0 : INFINITY;
    return num / den;
}

double tu_snr_db(const float *a, const float *ref, size_t n)
{
    double e = tu_nmse(a, ref, n);
    if (e == 0)
        return INFINITY;
    return -10.0 * log10(e);
}

long tu_first_mismatch(const char *what, const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= tol)) {
            printf("\n  %s: first mismatch at index %zu: got %.9g, expected %.9g (|diff| %.3g > tol %.3g)\n",
                   what, i, (double)a[i], (double)b[i], d, tol);
            return (long)i;
        }
    }
    return -1;
}

/* --- random ----------------------------------------------------------------- */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
void tu_seed(uint64_t seed) { g_rng = seed ? seed : 0x9E3779B97F4A7C15ull; }
uint64_t tu_rand_u64(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}
double tu_rand_uniform(void) { return (double)(tu_rand_u64() >> 11) / 9007199254740992.0; }
double tu_rand_normal(void)
{
    double u1 = tu_rand_uniform(), u2 = tu_rand_uniform();
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* --- files and processes ---------------------------------------------------- */
const char *tu_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/svx-test-XXXXXX");
        if (!mkdtemp(dir)) {
            snprintf(dir, sizeof dir, "/tmp");
        }
    }
    return dir;
}

const char *tu_tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tu_tmpdir(), name);
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    int rc = fclose(f);
    return (w == n && rc == 0) ? 0 : -1;
}

const char *tu_bin(void)
{
    const char *b = getenv("SVX_BIN");
    return b && *b ? b : "build/shiftvox";
}

int tu_run(const char *cmd, char *out, size_t n)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t len = 0;
    if (out && n)
        out[0] = '\0';
    char chunk[1024];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
        if (out && len + 1 < n) {
            size_t take = got < n - 1 - len ? got : n - 1 - len;
            memcpy(out + len, chunk, take);
            len += take;
            out[len] = '\0';
        }
    }
    int st = pclose(p);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void tu_add_suite(const char *suite, const tu_test *tests, size_t n_tests)
{
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s)
        return;
    for (size_t i = 0; i < n_tests; i++)
        CU_add_test(s, tests[i].name, tests[i].fn);
}
