/* Integer-only inference primitives: see int_model.h and model/INTEGER.md.
 * No floating point in this translation unit (checked by `make nofloat`). */
#include "int_model.h"

#include <stdlib.h>

static int32_t sat32(int64_t v)
{
    if (v > INT32_MAX) return INT32_MAX;
    if (v < INT32_MIN) return INT32_MIN;
    return (int32_t)v;
}

/* floor(num / den) for den > 0. */
static int64_t floor_div(int64_t num, int64_t den)
{
    int64_t q = num / den;
    if ((num % den) != 0 && num < 0) q -= 1;
    return q;
}

/* Rule 1, inlined in this file's loops; svx_int_rshift_round is its public name. */
static inline int32_t rshift_round(int64_t x, int shift)
{
    if (shift <= 0) {
        int s = -shift;
        if (s > 30) s = 30;
        /* left shift done on the magnitude: shifting a negative value is undefined */
        int64_t mag = x < 0 ? -x : x;
        if (mag > ((int64_t)INT32_MAX >> s)) return x < 0 ? INT32_MIN : INT32_MAX;
        mag = (int64_t)((uint64_t)mag << s);
        return sat32(x < 0 ? -mag : mag);
    }
    if (shift > 62) shift = 62;
    /* floor((x + 2^(s-1)) / 2^s) without a sign branch (ReLU outputs make it
     * unpredictable) and without shifting a negative value: for |x| < 2^62,
     * u = x + 2^(s-1) + 2^62 lies in [0, 2^64) and 2^62 is a multiple of 2^s,
     * so floor(u / 2^s) - 2^(62-s) is the same floor. */
    uint64_t u = (uint64_t)x + ((uint64_t)1 << (shift - 1)) + ((uint64_t)1 << 62);
    return sat32((int64_t)(u >> shift) - ((int64_t)1 << (62 - shift)));
}

int32_t svx_int_rshift_round(int64_t x, int shift) { return rshift_round(x, shift); }

static inline int8_t sat8(int32_t x)
{
    if (x > 127) return 127;
    if (x < -127) return -127;
    return (int8_t)x;
}

static inline int16_t sat16(int32_t x)
{
    if (x > 32767) return 32767;
    if (x < -32767) return -32767;
    return (int16_t)x;
}

int8_t svx_int_sat8(int32_t x) { return sat8(x); }
int16_t svx_int_sat16(int32_t x) { return sat16(x); }

static inline int32_t requant(int32_t acc, int32_t mantissa, int shift)
{
    return rshift_round((int64_t)acc * mantissa, shift);
}

int32_t svx_int_requant(int32_t acc, int32_t mantissa, int shift)
{
    return requant(acc, mantissa, shift);
}

/* +-(x << p) for code c, branch-free (random signs defeat branch prediction)
 * and without shifting a negative value: the shift is done on the unsigned bit
 * pattern, which is the two's-complement product x * 2^p for |x * 2^p| < 2^31. */
static inline int32_t pow2_term(int32_t x, int c)
{
    int32_t neg = -(int32_t)(c < 0);            /* all ones for a negative weight */
    int32_t nz = -(int32_t)(c != 0);            /* all ones unless the weight is 0 */
    int ac = c < 0 ? -c : c;
    uint32_t sh = (uint32_t)x << ((unsigned)(ac - 1) & 31u);
    int32_t v = (int32_t)sh;
    return ((v ^ neg) - neg) & nz;
}

void svx_int_pow2_matvec_i8(const int8_t *codes, size_t rows, size_t cols,
                            const int8_t *x, int32_t *acc)
{
    for (size_t r = 0; r < rows; r++) {
        const int8_t *w = codes + r * cols;
        int32_t a = 0;
        for (size_t c = 0; c < cols; c++) a += pow2_term(x[c], w[c]);
        acc[r] = a;
    }
}

void svx_int_pow2_matvec_i16(const int8_t *codes, size_t rows, size_t cols,
                             const int16_t *x, int32_t *acc)
{
    for (size_t r = 0; r < rows; r++) {
        const int8_t *w = codes + r * cols;
        int32_t a = 0;
        for (size_t c = 0; c < cols; c++) a += pow2_term(x[c], w[c]);
        acc[r] = a;
    }
}

int svx_int_grouped_init(svx_int_grouped *g, const int8_t *codes, size_t rows, size_t cols)
{
    if (!g || !codes || rows == 0 || cols == 0 || cols > 65535 || rows > (SIZE_MAX / 4) / cols)
        return -1;
    g->rows = rows;
    g->cols = cols;
    g->idx = malloc(rows * cols * sizeof *g->idx);
    g->start = malloc((rows * SVX_INT_N_GROUPS + 1) * sizeof *g->start);
    if (!g->idx || !g->start) {
        svx_int_grouped_free(g);
        return -1;
    }
    uint32_t pos = 0;
    for (size_t r = 0; r < rows; r++) {
        const int8_t *w = codes + r * cols;
        for (int grp = 0; grp < SVX_INT_N_GROUPS; grp++) {
            int code = grp - SVX_INT_CODE_MAX;
            g->start[r * SVX_INT_N_GROUPS + (size_t)grp] = pos;
            for (size_t c = 0; c < cols; c++) {
                if (w[c] < -SVX_INT_CODE_MAX || w[c] > SVX_INT_CODE_MAX) {
                    svx_int_grouped_free(g);
                    return -1;
                }
                if (code != 0 && w[c] == code) g->idx[pos++] = (uint16_t)c;
            }
        }
    }
    g->start[rows * SVX_INT_N_GROUPS] = pos;
    return 0;
}

void svx_int_grouped_free(svx_int_grouped *g)
{
    if (!g) return;
    free(g->idx);
    free(g->start);
    g->idx = NULL;
    g->start = NULL;
}

void svx_int_grouped_matvec_i8(const svx_int_grouped *g, const int8_t *x, int32_t *acc)
{
    for (size_t r = 0; r < g->rows; r++) {
        const uint32_t *st = g->start + r * SVX_INT_N_GROUPS;
        int32_t a = 0;
        for (int grp = 0; grp < SVX_INT_N_GROUPS; grp++) {
            uint32_t b = st[grp], e = st[grp + 1];
            if (b == e) continue;
            int32_t sum = 0;
            for (uint32_t i = b; i < e; i++) sum += x[g->idx[i]];
            a += pow2_term(sum, grp - SVX_INT_CODE_MAX);
        }
        acc[r] = a;
    }
}

void svx_int_i8_matvec_i8(const int8_t *q, size_t rows, size_t cols, const int8_t *x,
                          int32_t *acc)
{
    for (size_t r = 0; r < rows; r++) {
        const int8_t *w = q + r * cols;
        int32_t a = 0;
        for (size_t c = 0; c < cols; c++) a += (int32_t)w[c] * x[c];
        acc[r] = a;
    }
}

void svx_int_conv2d_frame(const svx_int_conv *c, const int8_t *hist, int8_t *y, int8_t *win,
                          int32_t *acc)
{
    size_t n_win = c->c_in * c->k_t * c->k_f;
    /* with the AVX2 twin: every position's window first (rows of cols_pad,
     * zero tail), one call for all of them; else window by window */
    size_t stride = c->w_vals ? (c->cols_pad ? c->cols_pad : n_win) : 0;
    for (size_t g = 0; g < c->f_out; g++) {
        /* input columns g*s_f - p_f + kf, zero outside [0, f_in): kf in [lo, hi) inside */
        size_t g0 = g * c->s_f;
        size_t lo = g0 < c->p_f ? c->p_f - g0 : 0;
        size_t hi = g0 >= c->f_in + c->p_f ? 0 : c->f_in + c->p_f - g0;
        if (hi > c->k_f) hi = c->k_f;
        if (hi < lo) hi = lo;
        int8_t *w = win + g * stride;
        for (size_t ch = 0; ch < c->c_in; ch++)
            for (size_t t = 0; t < c->k_t; t++, w += c->k_f) {
                /* input column of kf = lo: g0 + lo - p_f >= 0 */
                const int8_t *src = hist + (t * c->c_in + ch) * c->f_in + (g0 + lo - c->p_f);
                for (size_t kf = 0; kf < lo; kf++) w[kf] = 0;
                for (size_t kf = lo; kf < hi; kf++) w[kf] = src[kf - lo];
                for (size_t kf = hi; kf < c->k_f; kf++) w[kf] = 0;
            }
        if (c->w_vals) {
            int8_t *row = win + g * stride;
            for (size_t i = n_win; i < stride; i++) row[i] = 0; /* meets zero weights */
        } else if (c->w_pow2) {
            svx_int_pow2_matvec_i8(c->w, c->c_out, n_win, win, acc + g * c->c_out);
        } else {
            svx_int_i8_matvec_i8(c->w, c->c_out, n_win, win, acc + g * c->c_out);
        }
    }
    if (c->w_vals)
        svx_int_values_matmul_i8_avx2(c->w_vals, c->c_out, stride, win, c->f_out, acc);
    /* acc[g][o] -> y[o][g]: requantise row by row (the row's m, k, b fixed) */
    for (size_t o = 0; o < c->c_out; o++) {
        int32_t m = c->m[o], b = c->b[o];
        int k = c->k[o];
        int8_t *yo = y + o * c->f_out;
        for (size_t g = 0; g < c->f_out; g++) {
            int32_t v = sat32((int64_t)requant(acc[g * c->c_out + o], m, k) + b);
            if (c->relu && v < 0) v = 0;
            yo[g] = sat8(v);
        }
    }
}

size_t svx_int_conv_win_bytes(const svx_int_conv *c)
{
    size_t n_win = c->c_in * c->k_t * c->k_f;
    return c->w_vals ? c->f_out * (c->cols_pad ? c->cols_pad : n_win) : n_win;
}

int svx_int_pwl_init(svx_int_pwl *pwl, int n_knots, const int32_t *x, const int32_t *y)
{
    if (!pwl || !x || !y || n_knots < 2 || n_knots > SVX_INT_PWL_MAX_KNOTS) return -1;
    for (int k = 0; k + 1 < n_knots; k++)
        if (x[k] >= x[k + 1]) return -1;
    pwl->n_knots = n_knots;
    for (int k = 0; k < SVX_INT_PWL_MAX_KNOTS; k++) {
        pwl->x[k] = k < n_knots ? x[k] : INT32_MAX; /* the search in pwl_eval relies on it */
        pwl->y[k] = k < n_knots ? y[k] : 0;
        pwl->slope[k] = 0;
    }
    for (int k = 0; k + 1 < n_knots; k++) {
        int64_t num = ((int64_t)y[k + 1] - y[k]) * SVX_INT_ONE;
        int64_t den = (int64_t)x[k + 1] - x[k];
        pwl->slope[k] = sat32(floor_div(2 * num + den, 2 * den));
    }
    return 0;
}

/* INTEGER.md, default sigmoid: x in {-8,-6,-5,-4,-3.5,...,3.5,4,5,6,8},
 * y = floor(4096 sigma(x) + 1/2). */
static const int32_t default_sig_x[23] = {
    -32768, -24576, -20480, -16384, -14336, -12288, -10240, -8192, -6144, -4096, -2048, 0,
    2048, 4096, 6144, 8192, 10240, 12288, 14336, 16384, 20480, 24576, 32768};
static const int32_t default_sig_y[23] = {
    1, 10, 27, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
    2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4069, 4086, 4095};

int svx_int_pwl_default_sigmoid(svx_int_pwl *pwl)
{
    return svx_int_pwl_init(pwl, 23, default_sig_x, default_sig_y);
}

static inline int32_t pwl_eval(const svx_int_pwl *pwl, int32_t x)
{
    int n = pwl->n_knots;
    if (x < pwl->x[0]) return pwl->y[0];
    if (x >= pwl->x[n - 1]) return pwl->y[n - 1];
    /* the segment: the largest k <= n - 2 with x_k <= x. Branch-free binary
     * search: x[] past the last knot holds INT32_MAX (svx_int_pwl_init), and
     * x < x_{n-1} here, so k never passes n - 2. */
    int k = 0;
    for (int s = SVX_INT_PWL_MAX_KNOTS / 2; s > 0; s >>= 1)
        k += (x >= pwl->x[k + s]) ? s : 0;
    int32_t v = pwl->y[k] + rshift_round((int64_t)(x - pwl->x[k]) * pwl->slope[k], SVX_INT_FRAC);
    /* the rounded slope may overshoot the next knot: clamp to the segment's range
     * so that a monotone knot table gives a monotone function */
    int32_t lo = pwl->y[k] < pwl->y[k + 1] ? pwl->y[k] : pwl->y[k + 1];
    int32_t hi = pwl->y[k] < pwl->y[k + 1] ? pwl->y[k + 1] : pwl->y[k];
    return v < lo ? lo : (v > hi ? hi : v);
}

int32_t svx_int_pwl_eval(const svx_int_pwl *pwl, int32_t x) { return pwl_eval(pwl, x); }

static inline int32_t tanh_pwl(const svx_int_pwl *sigmoid, int32_t x)
{
    /* tanh(x) = 2 sigma(2x) - 1; |x| beyond 2^29 is far in saturation */
    if (x > (1 << 29)) x = 1 << 29;
    if (x < -(1 << 29)) x = -(1 << 29);
    return 2 * pwl_eval(sigmoid, 2 * x) - SVX_INT_ONE;
}

int32_t svx_int_tanh(const svx_int_pwl *sigmoid, int32_t x) { return tanh_pwl(sigmoid, x); }

void svx_int_gru_step(const svx_int_gru *g, const int8_t *x, int16_t *h, int32_t *scratch)
{
    size_t H = g->n_hidden;
    int32_t *gi = scratch, *gh = scratch + 3 * H;
    if (g->w_ih_vals)
        svx_int_pow2_values_matvec_i8_avx2(g->w_ih_vals, 3 * H, g->n_in, x, gi);
    else
        svx_int_pow2_matvec_i8(g->w_ih, 3 * H, g->n_in, x, gi);
    if (g->w_hh_vals)
        svx_int_values_matvec_i16_avx2(g->w_hh_vals, 3 * H, H, h, gh);
    else
        svx_int_pow2_matvec_i16(g->w_hh, 3 * H, H, h, gh);
    for (size_t r = 0; r < 3 * H; r++) {
        gi[r] = sat32((int64_t)requant(gi[r], g->m_ih[r], g->k_ih[r]) + g->b_ih[r]);
        gh[r] = sat32((int64_t)requant(gh[r], g->m_hh[r], g->k_hh[r]) + g->b_hh[r]);
    }
    for (size_t j = 0; j < H; j++) {
        int32_t r = pwl_eval(g->sigmoid, sat32((int64_t)gi[j] + gh[j]));
        int32_t z = pwl_eval(g->sigmoid, sat32((int64_t)gi[H + j] + gh[H + j]));
        int32_t rn = rshift_round((int64_t)r * gh[2 * H + j], SVX_INT_FRAC);
        int32_t n = tanh_pwl(g->sigmoid, sat32((int64_t)gi[2 * H + j] + rn));
        /* h' = (1 - z) n + z h = n + z (h - n) */
        int32_t hn = n + rshift_round((int64_t)z * ((int32_t)h[j] - n), SVX_INT_FRAC);
        h[j] = sat16(hn);
    }
}

void svx_int_h_to_i8(const int16_t *h, size_t n, int frac_bits, int8_t *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = sat8(rshift_round(h[i], SVX_INT_FRAC - frac_bits));
}

void svx_int_linear_run(const svx_int_linear *l, const int8_t *x, int16_t *y, int32_t *scratch)
{
    if (l->w_vals)
        svx_int_pow2_values_matvec_i8_avx2(l->w_vals, l->n_out, l->n_in, x, scratch);
    else if (l->w_pow2)
        svx_int_pow2_matvec_i8(l->w, l->n_out, l->n_in, x, scratch);
    else
        svx_int_i8_matvec_i8(l->w, l->n_out, l->n_in, x, scratch);
    for (size_t o = 0; o < l->n_out; o++) {
        int32_t v = sat32((int64_t)requant(scratch[o], l->m[o], l->k[o]) + l->b[o]);
        if (l->relu && v < 0) v = 0;
        y[o] = sat16(v);
    }
}
