/* The integer-only inference primitives (model/int_model.c, model/int_ctc.c)
 * against independent references: the rounding shift against exact double
 * arithmetic, the shift-add matvec against integer multiplies, PWL sigmoid/tanh
 * against libm, the integer GRU against a double GRU using the same quantised
 * weights and scales, greedy CTC against hand-made paths. Bit-exact parity
 * with the Python reference is in train/tests/test_integer.py. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../model/int_model.h"
#include "../model/kernels.h"
#include "testutil.h"

/* PWL error limits vs exact functions (knot spacing 0.5 within |x| <= 4). */
#define TOL_SIGMOID 0.004
#define TOL_TANH 0.008
/* Integer GRU vs double GRU on the same quantised weights (hidden state units). */
#define TOL_GRU_H 0.02

static void test_rshift_round(void)
{
    CU_ASSERT_EQUAL(svx_int_rshift_round(3, 1), 2);     /* 1.5 -> 2 (half up) */
    CU_ASSERT_EQUAL(svx_int_rshift_round(-3, 1), -1);   /* -1.5 -> -1 (half up) */
    CU_ASSERT_EQUAL(svx_int_rshift_round(-5, 2), -1);   /* -1.25 -> -1 */
    CU_ASSERT_EQUAL(svx_int_rshift_round(-7, 2), -2);   /* -1.75 -> -2 */
    CU_ASSERT_EQUAL(svx_int_rshift_round(5, 0), 5);
    CU_ASSERT_EQUAL(svx_int_rshift_round(-5, -3), -40);
    CU_ASSERT_EQUAL(svx_int_rshift_round((int64_t)1 << 40, 0), INT32_MAX);
    CU_ASSERT_EQUAL(svx_int_rshift_round(-((int64_t)1 << 40), 1), INT32_MIN);
    tu_seed(7);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t x = (int64_t)(tu_rand_u64() % ((uint64_t)1 << 41)) - ((int64_t)1 << 40);
        int s = 1 + (int)(tu_rand_u64() % 20);
        double want = floor((double)x / ldexp(1.0, s) + 0.5); /* exact: |x| < 2^52 */
        if (want > INT32_MAX) want = INT32_MAX;
        if (want < INT32_MIN) want = INT32_MIN;
        if ((double)svx_int_rshift_round(x, s) != want) bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(svx_int_sat8(200), 127);
    CU_ASSERT_EQUAL(svx_int_sat8(-200), -127);
    CU_ASSERT_EQUAL(svx_int_sat16(-40000), -32767);
    CU_ASSERT_EQUAL(svx_int_requant(1000, 3, 2), 750);
}

static int64_t code_value(int c)
{
    if (c == 0) return 0;
    int64_t m = 1;
    for (int i = 1; i < (c > 0 ? c : -c); i++) m *= 2;
    return c > 0 ? m : -m;
}

static void test_matvec(void)
{
    enum { R = 13, C = 37 };
    int8_t w[R * C], x8[C];
    int16_t x16[C];
    int32_t acc8[R], acc16[R];
    tu_seed(11);
    for (int i = 0; i < R * C; i++) w[i] = (int8_t)((int)(tu_rand_u64() % 15) - 7);
    for (int i = 0; i < C; i++) {
        x8[i] = (int8_t)((int)(tu_rand_u64() % 255) - 127);
        x16[i] = (int16_t)((int)(tu_rand_u64() % 8193) - 4096);
    }
    svx_int_pow2_matvec_i8(w, R, C, x8, acc8);
    svx_int_pow2_matvec_i16(w, R, C, x16, acc16);
    int bad = 0;
    for (int r = 0; r < R; r++) {
        int64_t a = 0, b = 0;
        for (int c = 0; c < C; c++) {
            a += code_value(w[r * C + c]) * x8[c];
            b += code_value(w[r * C + c]) * x16[c];
        }
        if (a != acc8[r] || b != acc16[r]) bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* sum-then-shift grouping gives the same integers */
    svx_int_grouped g;
    int32_t accg[R];
    CU_ASSERT_EQUAL_FATAL(svx_int_grouped_init(&g, w, R, C), 0);
    svx_int_grouped_matvec_i8(&g, x8, accg);
    CU_ASSERT_EQUAL(memcmp(accg, acc8, sizeof accg), 0);
    svx_int_grouped_free(&g);
    svx_int_grouped_free(NULL);
    /* the AVX2 twin on the weights' values, with a column tail (C = 37) */
    if (svx_cpu_has_simd()) {
        int8_t vals[R * C];
        for (int i = 0; i < R * C; i++) vals[i] = (int8_t)code_value(w[i]);
        memset(accg, 0, sizeof accg);
        if (svx_int_pow2_values_matvec_i8_avx2(vals, R, C, x8, accg) == 0)
            CU_ASSERT_EQUAL(memcmp(accg, acc8, sizeof accg), 0);
    }
    w[5] = 20; /* |code| > SVX_INT_CODE_MAX is refused */
    CU_ASSERT_EQUAL(svx_int_grouped_init(&g, w, R, C), -1);
}

static void test_pwl(void)
{
    svx_int_pwl p;
    CU_ASSERT_EQUAL_FATAL(svx_int_pwl_default_sigmoid(&p), 0);
    double e_sig = 0, e_tanh = 0;
    for (int32_t x = -12 * 4096; x <= 12 * 4096; x += 7) {
        double xr = x / 4096.0;
        double s = svx_int_pwl_eval(&p, x) / 4096.0;
        double t = svx_int_tanh(&p, x) / 4096.0;
        e_sig = fmax(e_sig, fabs(s - 1.0 / (1.0 + exp(-xr))));
        e_tanh = fmax(e_tanh, fabs(t - tanh(xr)));
    }
    printf("\n    PWL sigmoid max err %.5f (tol %.3f), tanh %.5f (tol %.3f)\n", e_sig, TOL_SIGMOID,
           e_tanh, TOL_TANH);
    CU_ASSERT(e_sig <= TOL_SIGMOID);
    CU_ASSERT(e_tanh <= TOL_TANH);
    /* knots are hit exactly; monotone */
    for (int k = 0; k < p.n_knots; k++) CU_ASSERT_EQUAL(svx_int_pwl_eval(&p, p.x[k]), p.y[k]);
    int mono = 1;
    for (int32_t x = -40000; x < 40000; x++)
        if (svx_int_pwl_eval(&p, x + 1) < svx_int_pwl_eval(&p, x)) mono = 0;
    CU_ASSERT(mono);
    int32_t xs[3] = {0, 0, 1}, ys[3] = {0, 1, 2};
    CU_ASSERT_EQUAL(svx_int_pwl_init(&p, 3, xs, ys), -1);
    CU_ASSERT_EQUAL(svx_int_pwl_init(&p, 1, xs, ys), -1);
}

/* mantissa/shift with m * 2^-k ~ scale, 2^14 <= m < 2^15 */
static void to_mant(double scale, int32_t *m, int8_t *k)
{
    int kk = 0;
    while (scale * ldexp(1.0, kk + 1) < 32768.0 && kk < 60) kk++;
    *k = (int8_t)kk;
    *m = (int32_t)lround(scale * ldexp(1.0, kk));
}

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

static void test_gru(void)
{
    enum { I = 16, H = 8, T = 40, XF = 7 };
    int8_t wih[3 * H * I], whh[3 * H * H], kih[3 * H], khh[3 * H];
    int32_t mih[3 * H], mhh[3 * H], bih[3 * H], bhh[3 * H], scratch[6 * H];
    double aih[3 * H], ahh[3 * H];
    svx_int_pwl p;
    svx_int_pwl_default_sigmoid(&p);
    tu_seed(23);
    for (int i = 0; i < 3 * H * I; i++) wih[i] = (int8_t)((tu_rand_u64() % 2 ? 1 : -1) * (1 + (int)(tu_rand_u64() % 4)));
    for (int i = 0; i < 3 * H * H; i++) whh[i] = (int8_t)((tu_rand_u64() % 2 ? 1 : -1) * (1 + (int)(tu_rand_u64() % 4)));
    for (int r = 0; r < 3 * H; r++) {
        double a = 0.03 * (1.0 + tu_rand_uniform()), b = 0.05 * (1.0 + tu_rand_uniform());
        /* x real = q / 2^XF; gate Q.12: acc * a * 2^(12 - XF) */
        to_mant(a * ldexp(1.0, 12 - XF), &mih[r], &kih[r]);
        to_mant(b, &mhh[r], &khh[r]);
        aih[r] = mih[r] * ldexp(1.0, -kih[r]) * ldexp(1.0, XF - 12); /* effective alpha */
        ahh[r] = mhh[r] * ldexp(1.0, -khh[r]);
        bih[r] = (int32_t)lround(0.4 * (2 * tu_rand_uniform() - 1) * 4096);
        bhh[r] = (int32_t)lround(0.4 * (2 * tu_rand_uniform() - 1) * 4096);
    }
    svx_int_gru g = {I, H, wih, whh, mih, mhh, kih, khh, bih, bhh, &p, NULL, NULL};
    int16_t h[H];
    double hr[H];
    memset(h, 0, sizeof h);
    for (int j = 0; j < H; j++) hr[j] = 0;
    double err = 0;
    for (int t = 0; t < T; t++) {
        int8_t xq[I];
        double xr[I];
        for (int i = 0; i < I; i++) {
            xq[i] = (int8_t)lround(100 * sin(0.3 * t + i) * (1 + 0.2 * tu_rand_normal()) > 127 ? 127 : 100 * sin(0.3 * t + i));
            xr[i] = xq[i] / 128.0;
        }
        svx_int_gru_step(&g, xq, h, scratch);
        double gi[3 * H], gh[3 * H], hn[H];
        for (int r = 0; r < 3 * H; r++) {
            double a = 0, b = 0;
            for (int i = 0; i < I; i++) a += (double)code_value(wih[r * I + i]) * xr[i];
            for (int j = 0; j < H; j++) b += (double)code_value(whh[r * H + j]) * hr[j];
            gi[r] = aih[r] * a + bih[r] / 4096.0;
            gh[r] = ahh[r] * b + bhh[r] / 4096.0;
        }
        for (int j = 0; j < H; j++) {
            double rg = sigm(gi[j] + gh[j]), z = sigm(gi[H + j] + gh[H + j]);
            double n = tanh(gi[2 * H + j] + rg * gh[2 * H + j]);
            hn[j] = (1 - z) * n + z * hr[j];
        }
        for (int j = 0; j < H; j++) {
            hr[j] = hn[j];
            err = fmax(err, fabs(h[j] / 4096.0 - hr[j]));
        }
    }
    printf("    integer GRU vs double GRU, %d steps: max |dh| %.4f (tol %.2f)\n", T, err, TOL_GRU_H);
    CU_ASSERT(err <= TOL_GRU_H);
    double mag = 0;
    for (int j = 0; j < H; j++) mag = fmax(mag, fabs(hr[j]));
    CU_ASSERT(mag > 0.1); /* the state moved: the comparison is not of zeros */
}

static void test_linear(void)
{
    int8_t w[6] = {1, -2, 3, 0, -1, 4}, x[3] = {10, -3, 7}, k[2] = {1, 0};
    int32_t m[2] = {1, 1}, b[2] = {5, -100}, scratch[2];
    int16_t y[2];
    svx_int_linear l = {3, 2, w, m, k, b, 1, 1, NULL};
    svx_int_linear_run(&l, x, y, scratch);
    /* row 0: 10 + 6 + 28 = 44 -> R(44,1) = 22 + 5; row 1: 0 - 1*-3... */
    int64_t r0 = 10 * 1 + (-3) * -2 + 7 * 4, r1 = 0 + (-3) * -1 + 7 * 8;
    CU_ASSERT_EQUAL(y[0], (r0 + 1) / 2 + 5);
    CU_ASSERT_EQUAL(y[1], (r1 - 100) > 0 ? r1 - 100 : 0);
}

static void test_ctc_greedy(void)
{
    /* path over 4 symbols: 2 2 0 2 3 3 0 0 1 -> 2 2 3 1 */
    const int path[9] = {2, 2, 0, 2, 3, 3, 0, 0, 1};
    int16_t s[9 * 4];
    tu_seed(5);
    for (int t = 0; t < 9; t++)
        for (int k = 0; k < 4; k++)
            s[t * 4 + k] = (int16_t)(k == path[t] ? 1000 : -(int)(tu_rand_u64() % 3000));
    int32_t out[8];
    CU_ASSERT_EQUAL_FATAL(svx_int_ctc_greedy(s, 9, 4, out, 8), 4);
    CU_ASSERT_EQUAL(out[0], 2);
    CU_ASSERT_EQUAL(out[1], 2);
    CU_ASSERT_EQUAL(out[2], 3);
    CU_ASSERT_EQUAL(out[3], 1);
    CU_ASSERT_EQUAL(svx_int_ctc_greedy(s, 9, 4, out, 2), 4); /* truncated, count kept */
    int16_t tie[3] = {5, 5, 5};
    CU_ASSERT_EQUAL(svx_int_ctc_greedy(tie, 1, 3, out, 8), 0); /* tie -> lowest = blank */
}

void test_register_integer(void);
void test_register_integer(void)
{
    static const tu_test tests[] = {
        {"rshift_round", test_rshift_round}, {"pow2_matvec", test_matvec},
        {"pwl_sigmoid_tanh", test_pwl},      {"gru_vs_double", test_gru},
        {"linear", test_linear},             {"ctc_greedy", test_ctc_greedy},
    };
    tu_add_suite("integer", tests, sizeof tests / sizeof tests[0]);
}
