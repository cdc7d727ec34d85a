/* Integer-only inference primitives (issue 7, iRNN): int8/int16 activations,
 * power-of-two weights applied by shifts and adds, int32 accumulators,
 * requantisation by one mantissa multiply and a rounding shift, and a GRU
 * whose sigmoid and tanh are piecewise-linear with integer knots.
 * Every rule is defined once in model/INTEGER.md and mirrored by train/intq.py;
 * train/tests/test_integer.py checks the two agree bit for bit.
 * int_model.c and int_ctc.c contain no floating point: `make nofloat`
 * compiles them with -mgeneral-regs-only. Not yet wired to the SVXM loader. */
#ifndef SVX_INT_MODEL_H
#define SVX_INT_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Gate domain: Q.12 fixed point, SVX_INT_ONE represents 1.0. */
#define SVX_INT_FRAC 12
#define SVX_INT_ONE 4096
#define SVX_INT_PWL_MAX_KNOTS 32
#define SVX_INT_CODE_MAX 16 /* largest |code|: weight magnitude 2^15 */

/* R(x, s): round half up then shift (INTEGER.md rule 1). s in [-30, 62];
 * s <= 0 is a left shift. Result saturated to int32. */
int32_t svx_int_rshift_round(int64_t x, int shift);
/* Saturation to [-127, 127] and [-32767, 32767] (rule 2). */
int8_t svx_int_sat8(int32_t x);
int16_t svx_int_sat16(int32_t x);
/* Requantisation of one accumulator (rule 4): R(acc * mantissa, shift). */
int32_t svx_int_requant(int32_t acc, int32_t mantissa, int shift);

/* Power-of-two weights, one int8 code each (rule 3): 0 is weight 0, c > 0 is
 * +2^(c-1), c < 0 is -2^(-c-1). acc[r] = sum_c w[r][c] * x[c], rows x cols
 * row-major; applied with shifts and adds only. */
void svx_int_pow2_matvec_i8(const int8_t *codes, size_t rows, size_t cols,
                            const int8_t *x, int32_t *acc);
void svx_int_pow2_matvec_i16(const int8_t *codes, size_t rows, size_t cols,
                             const int16_t *x, int32_t *acc);

/* The same product, "sum then shift": each row's columns grouped by code, so the
 * inner loop is one add per weight and each group costs one shift:
 * acc[r] = sum_c +-2^p_c * (sum_{j in group c} x[j]). Bit-identical to
 * svx_int_pow2_matvec_i8 (integer addition is associative). */
#define SVX_INT_N_GROUPS (2 * SVX_INT_CODE_MAX + 1)
typedef struct {
    size_t rows, cols;
    uint16_t *idx;     /* [rows * cols] column indices, grouped per row */
    uint32_t *start;   /* [rows * SVX_INT_N_GROUPS + 1] offsets into idx */
} svx_int_grouped;

/* Builds the grouping (allocates; cols <= 65535, |code| <= SVX_INT_CODE_MAX).
 * Returns 0 or -1 (bad argument or out of memory; nothing to free then). */
int svx_int_grouped_init(svx_int_grouped *g, const int8_t *codes, size_t rows, size_t cols);
void svx_int_grouped_free(svx_int_grouped *g);
void svx_int_grouped_matvec_i8(const svx_int_grouped *g, const int8_t *x, int32_t *acc);

/* x86-64 AVX2 twin (model/int_model_avx2.c): the same integers from the weights'
 * int8 values +-2^p (|code| <= 7, 0 allowed). Returns 0, or -1 when the library
 * was not built with AVX2 (nothing written). The caller checks the CPU
 * (svx_cpu_has_simd). Uses the SIMD multiplier: not part of the no-float/no-multiply TUs. */
int svx_int_pow2_values_matvec_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols,
                                        const int8_t *x, int32_t *acc);
/* The same for int16 inputs (the GRU's h, |x| <= 4096) and int16 weight
 * values +-2^p (|code| <= 15) with vpmaddwd; also exact. Returns 0 or -1. */
/* Many vectors at once: acc[p][r] = sum_c w[r][c] x[p][c] for p < n_vec, x rows
 * of cols bytes; cols a multiple of 32. Returns 0 or -1. */
int svx_int_values_matmul_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols, const int8_t *x,
                                  size_t n_vec, int32_t *acc);
int svx_int_values_matvec_i16_avx2(const int16_t *w_vals, size_t rows, size_t cols,
                                   const int16_t *x, int32_t *acc);
/* 1 when this library was compiled with the AVX2 twins (the caller still
 * checks the CPU). */
int svx_int_avx2_built(void);

/* Rule 3b: int8 weights (a float32 layer quantised per row, w = alpha * q):
 * acc[r] = sum_c q[r][c] * x[c]. Uses multiplies; only for the layers a model
 * keeps in f32 (the default model's first conv and output layer). */
void svx_int_i8_matvec_i8(const int8_t *q, size_t rows, size_t cols, const int8_t *x,
                          int32_t *acc);

/* Integer conv2d output frame (ARCH.md conv2d): hist holds the last k_t input
 * frames, oldest first, each [c_in][f_in] int8; y is [c_out][f_out] int8 =
 * sat8(relu?(R(acc * m, k) + b)). w is [c_out][c_in * k_t * k_f] (order c, kt, kf),
 * rule-3 codes when w_pow2, else rule-3b int8 values. win: c_in*k_t*k_f int8
 * scratch, acc: c_out int32 scratch. */
typedef struct {
    size_t c_in, f_in, c_out, f_out, k_t, k_f, s_f, p_f;
    const int8_t *w;
    int w_pow2;
    const int32_t *m;
    const int8_t *k;
    const int32_t *b;
    int relu;
    const int8_t *w_vals;   /* optional: the weights' int8 values for the AVX2 twin (NULL: scalar),
                               rows of cols_pad (>= c_in*k_t*k_f, zero weights after) when
                               cols_pad > 0; win then needs cols_pad bytes, zero past c_in*k_t*k_f */
    size_t cols_pad;
} svx_int_conv;

void svx_int_conv2d_frame(const svx_int_conv *c, const int8_t *hist, int8_t *y, int8_t *win,
                          int32_t *acc);
/* Scratch svx_int_conv2d_frame needs: win bytes (f_out windows of cols_pad
 * with w_vals, one window of c_in*k_t*k_f without) and acc int32 (c_out*f_out). */
size_t svx_int_conv_win_bytes(const svx_int_conv *c);
#define SVX_INT_CONV_ACC(c) ((c)->c_out * (c)->f_out)

/* Piecewise-linear function with integer knots in Q.12 (rule 5). */
typedef struct {
    int n_knots;                          /* 2 .. SVX_INT_PWL_MAX_KNOTS */
    int32_t x[SVX_INT_PWL_MAX_KNOTS];     /* strictly increasing, Q.12; INT32_MAX past n_knots */
    int32_t y[SVX_INT_PWL_MAX_KNOTS];     /* Q.12 */
    int32_t slope[SVX_INT_PWL_MAX_KNOTS]; /* Q.12, computed by svx_int_pwl_init */
} svx_int_pwl;

/* Fills pwl from knots (copies them, computes slopes by rule 5).
 * Returns 0, or -1 when n_knots is out of range or x is not increasing. */
int svx_int_pwl_init(svx_int_pwl *pwl, int n_knots, const int32_t *x, const int32_t *y);
/* The default sigmoid knots (INTEGER.md table; train/intq.py derives the same). */
int svx_int_pwl_default_sigmoid(svx_int_pwl *pwl);
/* sigma(x) and tanh(x) = 2 sigma(2x) - 1, input and output Q.12. */
int32_t svx_int_pwl_eval(const svx_int_pwl *pwl, int32_t x);
int32_t svx_int_tanh(const svx_int_pwl *sigmoid, int32_t x);

/* Integer GRU (ARCH.md gate order r, z, n). Weights as codes; per gate row a
 * mantissa/shift pair brings the accumulator to Q.12 and a Q.12 bias is added.
 * x is int8 with the scale folded into m_ih/k_ih; h is int16 Q.12. */
typedef struct {
    size_t n_in, n_hidden;
    const int8_t *w_ih;            /* [3H][n_in] codes */
    const int8_t *w_hh;            /* [3H][H] codes */
    const int32_t *m_ih, *m_hh;    /* [3H] mantissas, |m| < 2^15 */
    const int8_t *k_ih, *k_hh;     /* [3H] shifts, 0 .. 62 */
    const int32_t *b_ih, *b_hh;    /* [3H] Q.12 */
    const svx_int_pwl *sigmoid;
    const int8_t *w_ih_vals;       /* optional AVX2 twins' weight values (NULL: scalar) */
    const int16_t *w_hh_vals;
} svx_int_gru;

/* One step: h (int16 Q.12, n_hidden) is updated in place. scratch holds 6H int32. */
void svx_int_gru_step(const svx_int_gru *g, const int8_t *x, int16_t *h, int32_t *scratch);

/* h (Q.12) to an int8 activation with frac_bits fractional bits (0..12). */
void svx_int_h_to_i8(const int16_t *h, size_t n, int frac_bits, int8_t *y);

/* Integer linear layer: y = sat16(R(acc * m, k) + b), optional ReLU. */
typedef struct {
    size_t n_in, n_out;
    const int8_t *w;        /* [n_out][n_in] codes (or int8 values when w_pow2 == 0) */
    const int32_t *m;       /* [n_out] */
    const int8_t *k;        /* [n_out] */
    const int32_t *b;       /* [n_out], output scale */
    int relu;
    int w_pow2;             /* 1: rule-3 codes, 0: rule-3b int8 values */
    const int8_t *w_vals;   /* optional: int8 weight values for the AVX2 twin (NULL: scalar) */
} svx_int_linear;

/* scratch holds n_out int32. */
void svx_int_linear_run(const svx_int_linear *l, const int8_t *x, int16_t *y, int32_t *scratch);

/* Greedy CTC on integer scores [n_frames][n_symbols] (symbol 0 = blank):
 * per-frame argmax (lowest index wins ties), repeats collapsed, blanks dropped.
 * Writes at most max_out symbols; returns the number of symbols decoded
 * (may exceed max_out, then the output is truncated). */
size_t svx_int_ctc_greedy(const int16_t *scores, size_t n_frames, size_t n_symbols,
                          int32_t *out, size_t max_out);

#endif
