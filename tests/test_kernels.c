/* Matrix-vector kernels: every kernel against a double-precision reference
 * on random shapes (odd sizes included), SIMD kernels against their scalar
 * twins, and the exponent-add guard on 0, -0, subnormals, huge values, inf
 * and nan. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/kernels.h"
#include "shiftvox.h"
#include "testutil.h"

/* Recursive float32 summation of n terms has error <= n*u*sum|terms| with
 * u = 2^-24; the alpha multiply and FMA contraction add a few roundings. We
 * allow (n + 4) * FLT_EPSILON * sum|w_j x_j| per output: twice that bound. */
#define KERNEL_SUM_TOL(n) (((double)(n) + 4.0) * (double)FLT_EPSILON)

typedef struct {
    int enc, bits;
} enc_case;

static const enc_case k_encs[] = {
    {SVX_ENC_F32, 32}, {SVX_ENC_I8, 8},
    {SVX_ENC_DENSESHIFT, 2}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_DENSESHIFT, 4},
    {SVX_ENC_DEEPSHIFT, 2}, {SVX_ENC_DEEPSHIFT, 3}, {SVX_ENC_DEEPSHIFT, 4}};

static void *xmalloc32(size_t n_floats)
{
    size_t n = (n_floats * sizeof(float) + 31u) & ~(size_t)31u;
    return aligned_alloc(32, n ? n : 32);
}

/* Random matrix of an encoding: codes uniform, alpha in [0.01, 0.5). */
static int random_wmat(svx_wmat *w, int enc, int bits, int rows, int cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    float *alpha = malloc((size_t)rows * sizeof(float));
    void *data;
    if (enc == SVX_ENC_F32) {
        float *f = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            f[i] = (float)tu_rand_normal();
        data = f;
    } else if (enc == SVX_ENC_I8) {
        int8_t *q = malloc(n);
        for (size_t i = 0; i < n; i++)
            q[i] = (int8_t)((int)(tu_rand_u64() % 255u) - 127);
        data = q;
    } else {
        uint8_t *c = malloc(n);
        for (size_t i = 0; i < n; i++)
            c[i] = (uint8_t)(tu_rand_u64() % (1u << bits));
        data = c;
    }
    for (int r = 0; r < rows; r++)
        alpha[r] = (float)(0.01 + 0.49 * tu_rand_uniform());
    int rc = svx_wmat_init(w, enc, bits, rows, cols, alpha, data);
    free(alpha);
    free(data);
    return rc;
}

/* Checks every supported kernel on w against the double reference, and the
 * SIMD kernels against their twins. Returns the number of kernels run. */
static int check_all_kernels(svx_wmat *w, const float *x)
{
    const int rows = w->rows, cols = w->cols;
    double *ref = calloc((size_t)rows, sizeof(double)), *mag = calloc((size_t)rows, sizeof(double));
    float *y = malloc((size_t)rows * sizeof(float));
    float *ys[SVX_K_COUNT] = {0};
    float *scratch = xmalloc32(svx_matvec_scratch_floats(w));
    int n_run = 0;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            double t = (double)svx_wmat_value(w, r, j) * (double)x[j];
            ref[r] += t;
            mag[r] += fabs(t);
        }
    for (int k = 0; k < SVX_K_COUNT; k++) {
        if (!svx_kernel_supported(w, (svx_kernel_id)k))
            continue;
        CU_ASSERT_EQUAL_FATAL(svx_wmat_prepare(w, (svx_kernel_id)k), SVX_OK);
        ys[k] = malloc((size_t)rows * sizeof(float));
        svx_matvec(w, (svx_kernel_id)k, x, ys[k], scratch);
        n_run++;
        int bad = 0;
        for (int r = 0; r < rows; r++) {
            double err = fabs((double)ys[k][r] - ref[r]);
            if (!(err <= KERNEL_SUM_TOL(cols) * mag[r] + 1e-30)) {
                if (!bad)
                    printf("\n  %s %dx%d enc %d/%d row %d: got %.9g want %.9g (tol %.3g)\n",
                           svx_kernel_name((svx_kernel_id)k), rows, cols, w->enc, w->bits, r,
                           (double)ys[k][r], ref[r], KERNEL_SUM_TOL(cols) * mag[r]);
                bad++;
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
    }
    /* Twins: power-of-two kernels are bit-identical (exact terms, same order). */
    static const int twin[][2] = {{SVX_K_DS_EXP_SIMD, SVX_K_DS_SCALAR},
                                  {SVX_K_DS_TABLE_SIMD, SVX_K_DS_SCALAR},
                                  {SVX_K_DPS_EXP_SIMD, SVX_K_DPS_SCALAR},
                                  {SVX_K_DPS_TABLE_SIMD, SVX_K_DPS_SCALAR},
                                  {SVX_K_DS_TABLE_AVX512, SVX_K_DS_SCALAR}};
    for (size_t t = 0; t < sizeof twin / sizeof twin[0]; t++) {
        float *a = ys[twin[t][0]], *b = ys[twin[t][1]];
        if (a && b) {
            int same = memcmp(a, b, (size_t)rows * sizeof(float)) == 0;
            if (!same)
                tu_first_mismatch(svx_kernel_name((svx_kernel_id)twin[t][0]), a, b, (size_t)rows, 0.0);
            CU_ASSERT_TRUE(same);
        }
    }
    for (int k = 0; k < SVX_K_COUNT; k++)
        free(ys[k]);
    (void)y;
    free(y);
    free(ref);
    free(mag);
    free(scratch);
    return n_run;
}

static void test_random_shapes(void)
{
    static const int rows_list[] = {1, 7, 8, 9, 16, 29, 31, 32, 33, 56, 61, 96};
    /* 40 and 320: whole lane words only (10 and 16 codes per word, kernels.h) */
    static const int cols_list[] = {1, 3, 15, 16, 17, 40, 144, 161, 320};
    int total = 0;
    for (size_t e = 0; e < sizeof k_encs / sizeof k_encs[0]; e++)
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
            for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++) {
                int rows = rows_list[ri], cols = cols_list[ci];
                svx_wmat w;
                CU_ASSERT_EQUAL_FATAL(random_wmat(&w, k_encs[e].enc, k_encs[e].bits, rows, cols), SVX_OK);
                float *x = malloc((size_t)cols * sizeof(float));
                /* ReLU-like inputs: a third exact zeros, the rest of both signs */
                for (int j = 0; j < cols; j++) {
                    double u = tu_rand_uniform();
                    x[j] = u < 0.33 ? 0.0f : (float)(tu_rand_normal() * 3.0);
                }
                total += check_all_kernels(&w, x);
                free(x);
                svx_wmat_free(&w);
            }
    /* the scalar kernels alone are 8 encodings x 108 shapes x 2 (f32 ref + own) */
    CU_ASSERT(total >= 8 * 108);
    if (svx_cpu_has_simd())
        CU_ASSERT(total >= 8 * 108 * 2 + 6 * 108 * 2);
    if (svx_cpu_has_avx512()) /* f32-avx512 on all 8, the DenseShift table on 3 */
        CU_ASSERT(total >= 8 * 108 * 3 + 6 * 108 * 2 + 3 * 108);
}

/* The exponent-add guard: each kernel's result for one input x and every
 * code equals the ordinary float product x * (+-2^p) (IEEE, exact or
 * overflowing to inf), whatever x is. */
static void test_exponent_edge_cases(void)
{
    const float vals[] = {0.0f, -0.0f, 1.4e-45f /* smallest subnormal */, -1.4e-45f,
                          1.1754942e-38f /* largest subnormal */, FLT_MIN, -FLT_MIN,
                          1.0f, -3.5f, ldexpf(1.0f, 120), ldexpf(1.5f, 120), ldexpf(1.0f, 121),
                          ldexpf(-1.75f, 122), FLT_MAX / 3.0f, FLT_MAX, -FLT_MAX,
                          INFINITY, -INFINITY, NAN};
    CU_ASSERT_TRUE(svx_shift_safe(0x3F800000u));          /* 1.0 */
    CU_ASSERT_FALSE(svx_shift_safe(0x00000000u));         /* +0 */
    CU_ASSERT_FALSE(svx_shift_safe(0x80000001u));         /* -subnormal */
    CU_ASSERT_TRUE(svx_shift_safe(247u << 23));           /* 2^120 */
    CU_ASSERT_FALSE(svx_shift_safe(248u << 23));          /* 2^121: 2^121 * 2^7 overflows */
    CU_ASSERT_FALSE(svx_shift_safe(0x7F800000u));         /* inf */
    for (size_t e = 2; e < sizeof k_encs / sizeof k_encs[0]; e++) {
        const int enc = k_encs[e].enc, bits = k_encs[e].bits, n_codes = 1 << bits;
        /* one row per code, one column: y[r] = 1 * code_value(r) * x */
        uint8_t codes[16];
        float alpha[16];
        for (int c = 0; c < n_codes; c++) {
            codes[c] = (uint8_t)c;
            alpha[c] = 1.0f;
        }
        svx_wmat w;
        CU_ASSERT_EQUAL_FATAL(svx_wmat_init(&w, enc, bits, n_codes, 1, alpha, codes), SVX_OK);
        float *scratch = xmalloc32(svx_matvec_scratch_floats(&w));
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            float x = vals[v], t8[8], y[16];
            /* the table itself, bitwise against the float multiply */
            svx_shift_table(enc, bits, x, t8);
            for (int i = 0; i < 8; i++) {
                unsigned code = bits == 2 ? (unsigned)i & 3u : (unsigned)i;
                unsigned field = bits == 4 ? (unsigned)i : code & ((1u << (bits - 1)) - 1u);
                int neg = bits == 4 ? 0 : (int)((code >> (bits - 1)) & 1u);
                float wv = enc == SVX_ENC_DEEPSHIFT
                               ? (field ? ldexpf(1.0f, (int)field - 1) : 0.0f)
                               : ldexpf(1.0f, (int)field);
                float want = x * (neg ? -wv : wv);
                if (enc == SVX_ENC_DEEPSHIFT && field == 0)
                    want = 0.0f; /* the zero code gives +0, also for inf/nan inputs */
                uint32_t a, b;
                memcpy(&a, &t8[i], 4);
                memcpy(&b, &want, 4);
                int ok = isnan(want) ? isnan(t8[i]) : a == b;
                if (!ok)
                    printf("\n  table enc %d/%d x=%g i=%d: got %g want %g\n", enc, bits, (double)x, i,
                           (double)t8[i], (double)want);
                CU_ASSERT_TRUE(ok);
            }
            for (int k = 0; k < SVX_K_COUNT; k++) {
                if (k == SVX_K_F32_REF || k == SVX_K_F32_SIMD || k == SVX_K_F32_AVX512 ||
                    !svx_kernel_supported(&w, (svx_kernel_id)k))
                    continue;
                CU_ASSERT_EQUAL_FATAL(svx_wmat_prepare(&w, (svx_kernel_id)k), SVX_OK);
                svx_matvec(&w, (svx_kernel_id)k, &x, y, scratch);
                for (int c = 0; c < n_codes; c++) {
                    float wv = svx_wmat_value(&w, c, 0);
                    /* a sum starting at +0: +0 + (x*w) */
                    float want = (wv == 0.0f) ? 0.0f : 0.0f + x * wv;
                    int ok = isnan(want) ? isnan(y[c]) : (y[c] == want && !isnan(y[c]));
                    if (!ok)
                        printf("\n  %s x=%g code %d: got %g want %g\n", svx_kernel_name((svx_kernel_id)k),
                               (double)x, c, (double)y[c], (double)want);
                    CU_ASSERT_TRUE(ok);
                }
            }
        }
        free(scratch);
        svx_wmat_free(&w);
    }
}

/* Mixed edge values inside longer vectors: the twins still agree bitwise
 * and the per-input guard does not disturb neighbouring inputs. */
static void test_edge_values_in_vectors(void)
{
    float specials[] = {0.0f, -0.0f, 1.4e-45f, -1.1754942e-38f, ldexpf(1.0f, 121)};
    for (size_t e = 2; e < sizeof k_encs / sizeof k_encs[0]; e++) {
        /* 2^121 takes the exact (non exponent-add) path; with 4-bit codes
         * (2^7) the alpha-free sum would overflow, which the single-value
         * test covers, so use the largest guarded-safe magnitude there. */
        specials[4] = k_encs[e].bits == 4 ? ldexpf(1.0f, 119) : ldexpf(1.0f, 121);
        svx_wmat w;
        CU_ASSERT_EQUAL_FATAL(random_wmat(&w, k_encs[e].enc, k_encs[e].bits, 37, 53), SVX_OK);
        float x[53];
        for (int j = 0; j < 53; j++)
            x[j] = (j % 4 == 1) ? specials[(size_t)j / 4u % 5u] : (float)tu_rand_normal();
        check_all_kernels(&w, x);
        svx_wmat_free(&w);
    }
}

/* svx_matmul (several input vectors per call, a convolution's positions):
 * every kernel's output for each vector is bit-identical to svx_matvec with
 * the same kernel, and for the power-of-two kernels to the scalar twin, on
 * random odd shapes and position counts (partial position groups and block
 * groups), with 0, -0, subnormals and values outside the exponent-add guard
 * in the inputs; then inf and nan, one value per position. */
static int check_matmul(svx_wmat *w, const float *x, int n_pos)
{
    const int rows = w->rows, cols = w->cols;
    float *scratch = xmalloc32(svx_matmul_scratch_floats(w));
    float *ym = malloc((size_t)n_pos * (size_t)rows * sizeof(float));
    float *yv = malloc((size_t)n_pos * (size_t)rows * sizeof(float));
    float *yt = malloc((size_t)n_pos * (size_t)rows * sizeof(float));
    int n_run = 0;
    CU_ASSERT_FATAL(svx_matmul_scratch_floats(w) >= svx_matvec_scratch_floats(w));
    for (int k = 0; k < SVX_K_COUNT; k++) {
        if (!svx_kernel_supported(w, (svx_kernel_id)k))
            continue;
        CU_ASSERT_EQUAL_FATAL(svx_wmat_prepare(w, (svx_kernel_id)k), SVX_OK);
        memset(ym, 0xA5, (size_t)n_pos * (size_t)rows * sizeof(float));
        svx_matmul(w, (svx_kernel_id)k, x, n_pos, ym, scratch);
        for (int p = 0; p < n_pos; p++)
            svx_matvec(w, (svx_kernel_id)k, x + (size_t)p * (size_t)cols, yv + (size_t)p * (size_t)rows,
                       scratch);
        int same = memcmp(ym, yv, (size_t)n_pos * (size_t)rows * sizeof(float)) == 0;
        if (!same) {
            printf("\n  svx_matmul %s %dx%d x%d enc %d/%d:", svx_kernel_name((svx_kernel_id)k), rows,
                   cols, n_pos, w->enc, w->bits);
            tu_first_mismatch("matmul vs matvec", ym, yv, (size_t)n_pos * (size_t)rows, 0.0);
        }
        CU_ASSERT_TRUE(same);
        n_run++;
    }
    /* the table kernels' twin: the scalar per-weight kernel */
    svx_kernel_id tw = w->enc == SVX_ENC_DENSESHIFT ? SVX_K_DS_SCALAR : SVX_K_DPS_SCALAR;
    svx_kernel_id tk = w->enc == SVX_ENC_DENSESHIFT ? SVX_K_DS_TABLE_SIMD : SVX_K_DPS_TABLE_SIMD;
    if ((w->enc == SVX_ENC_DENSESHIFT || w->enc == SVX_ENC_DEEPSHIFT) && svx_kernel_supported(w, tk)) {
        svx_matmul(w, tk, x, n_pos, ym, scratch);
        for (int p = 0; p < n_pos; p++)
            svx_matvec(w, tw, x + (size_t)p * (size_t)cols, yt + (size_t)p * (size_t)rows, scratch);
        int same = memcmp(ym, yt, (size_t)n_pos * (size_t)rows * sizeof(float)) == 0;
        if (!same)
            tu_first_mismatch("matmul table vs scalar twin", ym, yt, (size_t)n_pos * (size_t)rows, 0.0);
        CU_ASSERT_TRUE(same);
        if (w->enc == SVX_ENC_DENSESHIFT && svx_kernel_supported(w, SVX_K_DS_TABLE_AVX512)) {
            svx_matmul(w, SVX_K_DS_TABLE_AVX512, x, n_pos, ym, scratch);
            same = memcmp(ym, yt, (size_t)n_pos * (size_t)rows * sizeof(float)) == 0;
            if (!same)
                tu_first_mismatch("matmul table avx512 vs scalar twin", ym, yt,
                                  (size_t)n_pos * (size_t)rows, 0.0);
            CU_ASSERT_TRUE(same);
        }
    }
    free(ym);
    free(yv);
    free(yt);
    free(scratch);
    return n_run;
}

static void test_matmul_positions(void)
{
    static const int rows_list[] = {1, 7, 9, 16, 17, 24, 31, 32, 33, 61};
    static const int cols_list[] = {1, 3, 15, 17, 40, 144, 161};
    static const int pos_list[] = {1, 2, 3, 4, 5, 7, 10};
    int total = 0;
    for (size_t e = 0; e < sizeof k_encs / sizeof k_encs[0]; e++)
        for (size_t ri = 0; ri < sizeof rows_list / sizeof rows_list[0]; ri++)
            for (size_t ci = 0; ci < sizeof cols_list / sizeof cols_list[0]; ci++) {
                const int rows = rows_list[ri], cols = cols_list[ci];
                const int n_pos = pos_list[(ri + ci + e) % (sizeof pos_list / sizeof pos_list[0])];
                const float specials[] = {0.0f, -0.0f, 1.4e-45f, -1.1754942e-38f,
                                          ldexpf(1.0f, k_encs[e].bits == 4 ? 119 : 121)};
                svx_wmat w;
                CU_ASSERT_EQUAL_FATAL(random_wmat(&w, k_encs[e].enc, k_encs[e].bits, rows, cols), SVX_OK);
                float *x = malloc((size_t)n_pos * (size_t)cols * sizeof(float));
                for (int j = 0; j < n_pos * cols; j++) {
                    double u = tu_rand_uniform();
                    x[j] = u < 0.3 ? 0.0f : u < 0.36 ? specials[tu_rand_u64() % 5u]
                                                     : (float)(tu_rand_normal() * 3.0);
                }
                total += check_matmul(&w, x, n_pos);
                free(x);
                svx_wmat_free(&w);
            }
    CU_ASSERT(total >= 8 * 70);
    /* one column, one special value per position (inf and nan included) */
    const float vals[] = {0.0f, -0.0f, 1.4e-45f, -1.4e-45f, 1.1754942e-38f, FLT_MIN, -3.5f,
                          ldexpf(1.0f, 120), ldexpf(1.0f, 121), ldexpf(-1.75f, 122), FLT_MAX, -FLT_MAX,
                          INFINITY, -INFINITY, NAN};
    for (size_t e = 2; e < sizeof k_encs / sizeof k_encs[0]; e++)
        for (int rows = 16; rows <= 33; rows += 17) {
            svx_wmat w;
            CU_ASSERT_EQUAL_FATAL(random_wmat(&w, k_encs[e].enc, k_encs[e].bits, rows, 1), SVX_OK);
            check_matmul(&w, vals, (int)(sizeof vals / sizeof vals[0]));
            svx_wmat_free(&w);
        }
}

static void test_weight_bytes(void)
{
    svx_wmat w;
    CU_ASSERT_EQUAL_FATAL(random_wmat(&w, SVX_ENC_DENSESHIFT, 3, 480, 160), SVX_OK);
    size_t f32 = svx_kernel_weight_bytes(&w, SVX_K_F32_REF);
    size_t ds = svx_kernel_weight_bytes(&w, SVX_K_DS_TABLE_SIMD);
    CU_ASSERT_EQUAL(f32, 480u * 160u * 4u);
#if defined(__x86_64__)
    /* lane words: 10 codes of 3 bits per uint32 (model/kernels.h) */
    CU_ASSERT_EQUAL(ds, 480u * 16u * 4u + 480u * 4u);
    CU_ASSERT_EQUAL(svx_kernel_weight_bytes(&w, SVX_K_DS_TABLE_AVX512), ds);
    CU_ASSERT_EQUAL(svx_kernel_weight_bytes(&w, SVX_K_F32_AVX512), f32);
#else
    CU_ASSERT_EQUAL(ds, 480u * 160u * 3u / 8u + 480u * 4u);
#endif
    CU_ASSERT(f32 >= 8u * ds * 9u / 10u); /* ~10x fewer bytes for 3-bit */
    svx_wmat_free(&w);
}

void test_register_kernels(void);
void test_register_kernels(void)
{
    static const tu_test tests[] = {
        {"random shapes vs double reference, SIMD twins bit-exact", test_random_shapes},
        {"exponent-add guard: 0, -0, subnormal, huge, inf, nan", test_exponent_edge_cases},
        {"edge values inside vectors", test_edge_values_in_vectors},
        {"several positions per call (svx_matmul) bit-identical to svx_matvec and twins",
         test_matmul_positions},
        {"weight bytes read", test_weight_bytes},
    };
    tu_add_suite("kernels", tests, sizeof tests / sizeof tests[0]);
}
