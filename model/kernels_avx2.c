/* AVX2 kernels (compiled with -mavx2 -mfma, called only after run-time
 * dispatch checks the CPU). Scalar twins are in kernels.c; the design and the
 * exactness guard are described in kernels.h.
 *
 * Layout: rows are taken 8 at a time (one vector lane per row). The table
 * kernel reads kernels.h's lane words (code_lw); the exp kernels read
 * code_blk: for a block of 8 rows and column j the 8 codes are 8*b contiguous
 * bits, lane l at bits [l*b, l*b + b). Four blocks are processed together so that four
 * independent accumulators hide the latency of the vector add, while each
 * row's sum still runs over j in order (bit-identical to the scalar twin). */
#include "kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>
#include <string.h>

#define SVX_INLINE static inline __attribute__((always_inline))
/* accumulator of position p, block b in the multi-position kernels */
#define MP_ACC(p, b) a##p##b
/* Stores the NP x NB accumulators of a multi-position pass (position p's
 * outputs at y + p * rows), scaled by alpha per row (NULL: unscaled). Uses
 * the pass's rows, k, y, NB and NP. */
#define MP_STORE_POS(alpha, p)                                                                    \
    do {                                                                                          \
        float *yp_ = y + (size_t)(p) * (size_t)rows;                                              \
        store_rows(alpha, rows, k, MP_ACC(p, 0), yp_);                                            \
        if (NB > 1) store_rows(alpha, rows, k + 1, MP_ACC(p, 1), yp_);                            \
        if (NB > 2) store_rows(alpha, rows, k + 2, MP_ACC(p, 2), yp_);                            \
        if (NB > 3) store_rows(alpha, rows, k + 3, MP_ACC(p, 3), yp_);                            \
    } while (0)
#define MP_STORE_ALL(alpha)                                                                       \
    do {                                                                                          \
        MP_STORE_POS(alpha, 0);                                                                   \
        if (NP > 1) MP_STORE_POS(alpha, 1);                                                       \
        if (NP > 2) MP_STORE_POS(alpha, 2);                                                       \
        if (NP > 3) MP_STORE_POS(alpha, 3);                                                       \
    } while (0)
/* The passes over nblk row blocks of a multi-position kernel: PASS(k, NB,
 * NP) for blocks k..k+NB-1, at most 8 accumulators (NP * NB): four-block
 * passes, then two, then one; with four positions, two-block passes. */
#define MP_PASSES(nblk, NP, PASS)                                                                 \
    do {                                                                                          \
        int k_ = 0;                                                                               \
        if ((NP) == 4) {                                                                          \
            for (; k_ + 2 <= (nblk); k_ += 2)                                                     \
                PASS(k_, 2, 4);                                                                   \
        } else {                                                                                  \
            for (; k_ + 4 <= (nblk); k_ += 4)                                                     \
                PASS(k_, 4, NP);                                                                  \
            if (k_ + 2 <= (nblk)) {                                                               \
                PASS(k_, 2, NP);                                                                  \
                k_ += 2;                                                                          \
            }                                                                                     \
        }                                                                                         \
        if (k_ < (nblk))                                                                          \
            PASS(k_, 1, NP);                                                                      \
    } while (0)
#ifndef SVX_MM_POS_F32
#define SVX_MM_POS_F32 4 /* positions per pass (2 or 4), float32 */
#endif
#ifndef SVX_MM_POS_DS
#define SVX_MM_POS_DS 2 /* positions per pass (2 or 4), table kernel */
#endif

int svx_simd_compiled(void) { return 1; }
const char *svx_simd_name(void) { return "avx2"; }

SVX_INLINE uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

SVX_INLINE uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* y[8k .. 8k+7] = alpha * acc for the valid rows of block k (alpha NULL:
 * acc as is, for the float kernels whose weights already include alpha). */
SVX_INLINE void store_rows(const float *alpha, int rows, int k, __m256 acc, float *y)
{
    int r0 = 8 * k;
    if (alpha) {
        if (r0 + 8 <= rows) {
            _mm256_storeu_ps(y + r0, _mm256_mul_ps(acc, _mm256_loadu_ps(alpha + r0)));
            return;
        }
    } else if (r0 + 8 <= rows) {
        _mm256_storeu_ps(y + r0, acc);
        return;
    }
    float tmp[8];
    _mm256_storeu_ps(tmp, acc);
    for (int l = 0; l < 8 && r0 + l < rows; l++)
        y[r0 + l] = alpha ? alpha[r0 + l] * tmp[l] : tmp[l];
}

#define store_block(w, k, acc, y) store_rows((w)->alpha, (w)->rows, (k), (acc), (y))
#define store_block_f32(w, k, acc, y) store_rows(NULL, (w)->rows, (k), (acc), (y))

void svx_mv_f32_simd(const svx_wmat *w, const float *x, float *y)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * 8u;
    int k = 0;
    for (; k + 4 <= nblk; k += 4) {
        const float *w0 = w->f32_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < cols; j++) {
            __m256 xv = _mm256_broadcast_ss(x + j);
            const float *p = w0 + (size_t)j * 8u;
            a0 = _mm256_fmadd_ps(_mm256_load_ps(p), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(p + stride), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_load_ps(p + 2 * stride), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_load_ps(p + 3 * stride), xv, a3);
        }
        store_block_f32(w, k, a0, y);
        store_block_f32(w, k + 1, a1, y);
        store_block_f32(w, k + 2, a2, y);
        store_block_f32(w, k + 3, a3, y);
    }
    if (k + 2 <= nblk) { /* two blocks: two FMA chains (a fair baseline for 16-row matrices) */
        const float *w0 = w->f32_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (int j = 0; j < cols; j++) {
            __m256 xv = _mm256_broadcast_ss(x + j);
            const float *p = w0 + (size_t)j * 8u;
            a0 = _mm256_fmadd_ps(_mm256_load_ps(p), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(p + stride), xv, a1);
        }
        store_block_f32(w, k, a0, y);
        store_block_f32(w, k + 1, a1, y);
        k += 2;
    }
    for (; k < nblk; k++) {
        const float *w0 = w->f32_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int j = 0; j < cols; j++)
            a0 = _mm256_fmadd_ps(_mm256_load_ps(w0 + (size_t)j * 8u), _mm256_broadcast_ss(x + j), a0);
        store_block_f32(w, k, a0, y);
    }
}

/* Several input vectors per pass, the float32 twin of svx_mm_shift_table_simd:
 * NB blocks x NP positions, each weight vector loaded once for NP broadcasts,
 * NP * NB FMA chains; per (position, row) the same FMAs in the same order as
 * svx_mv_f32_simd, so the results are bit-identical to it. */
SVX_INLINE void f32_pos_blocks(const svx_wmat *w, const float *x, float *y, int k, const int NB,
                               const int NP)
{
    const int cols = w->cols, rows = w->rows;
    const size_t stride = (size_t)cols * 8u;
    const float *w0 = w->f32_blk + (size_t)k * stride;
    const float *x0 = x, *x1 = x + (NP > 1 ? cols : 0), *x2 = x + (NP > 2 ? 2 * cols : 0),
                *x3 = x + (NP > 3 ? 3 * cols : 0);
    const __m256 z = _mm256_setzero_ps();
    __m256 a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
    __m256 a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
#define MPF_POS(p, xp)                                                                            \
    do {                                                                                          \
        const __m256 xv = _mm256_broadcast_ss(xp + j);                                            \
        MP_ACC(p, 0) = _mm256_fmadd_ps(w0v, xv, MP_ACC(p, 0));                                    \
        if (NB > 1) MP_ACC(p, 1) = _mm256_fmadd_ps(w1v, xv, MP_ACC(p, 1));                        \
        if (NB > 2) MP_ACC(p, 2) = _mm256_fmadd_ps(w2v, xv, MP_ACC(p, 2));               \
        if (NB > 3) MP_ACC(p, 3) = _mm256_fmadd_ps(w3v, xv, MP_ACC(p, 3));               \
    } while (0)
    for (int j = 0; j < cols; j++) {
        const float *p = w0 + (size_t)j * 8u;
        const __m256 w0v = _mm256_load_ps(p), w1v = NB > 1 ? _mm256_load_ps(p + stride) : w0v,
                     w2v = NB > 2 ? _mm256_load_ps(p + 2 * stride) : w0v,
                     w3v = NB > 3 ? _mm256_load_ps(p + 3 * stride) : w0v;
        MPF_POS(0, x0);
        if (NP > 1)
            MPF_POS(1, x1);
        if (NP > 2)
            MPF_POS(2, x2);
        if (NP > 3)
            MPF_POS(3, x3);
    }
#undef MPF_POS
    MP_STORE_ALL(NULL);
}

SVX_INLINE void f32_pos(const svx_wmat *w, const float *x, float *y, const int NP)
{
#define F32_PASS(k, nb, np) f32_pos_blocks(w, x, y, k, nb, np)
    MP_PASSES((w->rows + 7) / 8, NP, F32_PASS);
#undef F32_PASS
}

void svx_mm_f32_simd(const svx_wmat *w, const float *x, int n_pos, float *y)
{
    const size_t xs = (size_t)w->cols, ys = (size_t)w->rows;
    int p = 0;
    for (; p + SVX_MM_POS_F32 <= n_pos; p += SVX_MM_POS_F32)
        f32_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, SVX_MM_POS_F32);
    if (SVX_MM_POS_F32 > 2 && p + 2 <= n_pos) {
        f32_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, 2);
        p += 2;
    }
    if (p < n_pos)
        f32_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, 1);
}

SVX_INLINE __m256 i8_col(const int8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)p)));
}

void svx_mv_i8_simd(const svx_wmat *w, const float *x, float *y)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * 8u;
    int k = 0;
    for (; k + 4 <= nblk; k += 4) {
        const int8_t *w0 = w->q8_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < cols; j++) {
            __m256 xv = _mm256_broadcast_ss(x + j);
            const int8_t *p = w0 + (size_t)j * 8u;
            a0 = _mm256_fmadd_ps(i8_col(p), xv, a0);
            a1 = _mm256_fmadd_ps(i8_col(p + stride), xv, a1);
            a2 = _mm256_fmadd_ps(i8_col(p + 2 * stride), xv, a2);
            a3 = _mm256_fmadd_ps(i8_col(p + 3 * stride), xv, a3);
        }
        store_block(w, k, a0, y);
        store_block(w, k + 1, a1, y);
        store_block(w, k + 2, a2, y);
        store_block(w, k + 3, a3, y);
    }
    for (; k < nblk; k++) {
        const int8_t *w0 = w->q8_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int j = 0; j < cols; j++)
            a0 = _mm256_fmadd_ps(i8_col(w0 + (size_t)j * 8u), _mm256_broadcast_ss(x + j), a0);
        store_block(w, k, a0, y);
    }
}

/* Per-index constants of the table: exponent (P, already << 23), sign (S,
 * << 31) and a keep mask (Z, 0 for DeepShift's zero code). */
typedef struct {
    __m256i p, s, z; /* p: exponent << 23 plus sign << 31 (see make_consts) */
    int has_zero;
} table_consts;

SVX_INLINE table_consts make_consts(int enc, int bits)
{
    int32_t p[8], s[8], z[8];
    for (int i = 0; i < 8; i++) {
        unsigned code = bits == 2 ? ((unsigned)i & 3u) : (unsigned)i;
        int b = bits == 4 ? 4 : bits;
        unsigned field = bits == 4 ? (unsigned)i : (code & ((1u << (b - 1)) - 1u));
        unsigned sg = bits == 4 ? 0u : (code >> (b - 1)) & 1u;
        int zero = enc == SVX_ENC_DEEPSHIFT && field == 0;
        unsigned e = enc == SVX_ENC_DEEPSHIFT ? (field ? field - 1u : 0u) : field;
        p[i] = (int32_t)(e << 23);
        s[i] = (int32_t)(sg << 31);
        z[i] = zero ? 0 : -1;
    }
    /* Adding 2^31 flips bit 31 exactly like xor, and the exponent add never
     * carries into bit 31 (guard), so exponent and sign go in one add. */
    for (int i = 0; i < 8; i++)
        p[i] = (int32_t)((uint32_t)p[i] + (uint32_t)s[i]);
    table_consts c;
    c.p = _mm256_loadu_si256((const __m256i *)(const void *)p);
    c.s = _mm256_loadu_si256((const __m256i *)(const void *)s);
    c.z = _mm256_loadu_si256((const __m256i *)(const void *)z);
    c.has_zero = enc == SVX_ENC_DEEPSHIFT;
    return c;
}

/* One input's table, 8 floats at t (aligned). */
SVX_INLINE void build_table(const svx_wmat *w, const table_consts *c, float xj, float *t)
{
    uint32_t xb = f2u(xj);
    if (svx_shift_safe(xb)) {
        __m256i v = _mm256_add_epi32(_mm256_set1_epi32((int32_t)xb), c->p);
        if (c->has_zero)
            v = _mm256_and_si256(v, c->z);
        _mm256_store_ps(t, _mm256_castsi256_ps(v));
    } else if ((xb & 0x7FFFFFFFu) == 0) {
        /* +-0 (common after ReLU): every entry is +-0, and a +-0 term cannot
         * change a sum that starts at +0, so +0 everywhere is exact */
        _mm256_store_ps(t, _mm256_setzero_ps());
    } else {
        svx_shift_table(w->enc, w->bits, xj, t);
    }
}

/* All cols tables. Eight inputs at a time: one vector test of the guard
 * (1 <= biased exponent <= 247 for all eight), then per input a memory
 * broadcast, an add and a store; any other group goes input by input. */
SVX_INLINE void build_tables(const svx_wmat *w, const table_consts *c, const float *x, float *tab)
{
    const int cols = w->cols;
    const __m256i lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(248), ff = _mm256_set1_epi32(0xFF);
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
        __m256i e = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(_mm256_loadu_ps(x + j)), 23), ff);
        __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(e, lo), _mm256_cmpgt_epi32(hi, e));
        if (_mm256_movemask_ps(_mm256_castsi256_ps(ok)) == 0xFF) {
            for (int i = 0; i < 8; i++) {
                __m256i v = _mm256_add_epi32(_mm256_castps_si256(_mm256_broadcast_ss(x + j + i)), c->p);
                if (c->has_zero)
                    v = _mm256_and_si256(v, c->z);
                _mm256_store_si256((__m256i *)(void *)(tab + 8 * (j + i)), v);
            }
        } else {
            for (int i = 0; i < 8; i++)
                build_table(w, c, x[j + i], tab + 8 * (j + i));
        }
    }
    if (j < cols) { /* the last 1..7 inputs: lanes past cols pass the test */
        __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i e = _mm256_and_si256(_mm256_srli_epi32(_mm256_maskload_epi32((const int *)(const void *)(x + j), in), 23), ff);
        __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(e, lo), _mm256_cmpgt_epi32(hi, e));
        int all = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(ok, _mm256_xor_si256(in, _mm256_set1_epi32(-1))))) == 0xFF;
        for (; j < cols; j++) {
            if (all) {
                __m256i v = _mm256_add_epi32(_mm256_castps_si256(_mm256_broadcast_ss(x + j)), c->p);
                if (c->has_zero)
                    v = _mm256_and_si256(v, c->z);
                _mm256_store_si256((__m256i *)(void *)(tab + 8 * j), v);
            } else {
                build_table(w, c, x[j], tab + 8 * j);
            }
        }
    }
}

/* Looks up the 8 lanes' values of one column from its table. */
SVX_INLINE __m256 table_lookup(__m256 t, __m256i idx, int bits)
{
    __m256 v = _mm256_permutevar8x32_ps(t, idx); /* uses the low 3 bits of each lane */
    if (bits == 4) {
        __m256i sg = _mm256_and_si256(_mm256_slli_epi32(idx, 28), _mm256_set1_epi32((int32_t)0x80000000u));
        v = _mm256_xor_ps(v, _mm256_castsi256_ps(sg));
    }
    return v;
}

SVX_INLINE __m256i lane_shifts(int bits)
{
    return _mm256_setr_epi32(0, bits, 2 * bits, 3 * bits, 4 * bits, 5 * bits, 6 * bits, 7 * bits);
}

/* vpermps index of column c of a lane-word vector (kernels.h): v the words,
 * h = v >> 16 (computed by the caller at c == 16/bits). Only the low 3 bits
 * are right; vpermps ignores the rest. vpmulhuw by 2^(16-s) is a right shift
 * by s within each 16-bit half, on the multiply pipes (Zen 4: FP0/FP3),
 * leaving the shuffle pipes (FP1/FP2) to vpermps. */
SVX_INLINE __m256i lw_index(__m256i v, __m256i h, int bits, int c)
{
    const int half = 16 / bits;
    if (c == 0)
        return v;
    if (c < half)
        return _mm256_mulhi_epu16(v, _mm256_set1_epi16((short)(1 << (16 - bits * c))));
    if (c == half)
        return h;
    return _mm256_mulhi_epu16(h, _mm256_set1_epi16((short)(1 << (16 - bits * (c - half)))));
}

/* One column c for block variables a (accumulator), v (words), h (v >> 16). */
#define LW_STEP(a, v, h)                                                                          \
    do {                                                                                          \
        if (c == half)                                                                            \
            h = _mm256_srli_epi32(v, 16);                                                         \
        a = _mm256_add_ps(a, table_lookup(tv, lw_index(v, h, bits, c), bits));                    \
        __asm__("" : "+x"(a)); /* keeps GCC from hoisting all lookups and spilling them */        \
    } while (0)

/* The code words of blocks p0 .. p(NB-1) at word offset o into v0 .. v3 (the
 * others keep their zeros). */
#define LW_LOAD_WORDS(o)                                                                          \
    do {                                                                                          \
        v0 = _mm256_load_si256((const __m256i *)(const void *)(p0 + (o)));                       \
        if (NB > 1)                                                                               \
            v1 = _mm256_load_si256((const __m256i *)(const void *)(p1 + (o)));                    \
        if (NB > 2)                                                                               \
            v2 = _mm256_load_si256((const __m256i *)(const void *)(p2 + (o)));                    \
        if (NB > 3)                                                                               \
            v3 = _mm256_load_si256((const __m256i *)(const void *)(p3 + (o)));                    \
    } while (0)

/* NB (1, 2 or 4) consecutive 8-row blocks k .. k+NB-1, each row's sum over
 * j in order. Explicit variables, not arrays: GCC keeps them in registers. */
SVX_INLINE void lw_blocks(const svx_wmat *w, const float *tab, float *y, int k, const int NB,
                          const int bits)
{
    const int cols = w->cols, n = svx_lw_per_word(bits), half = 16 / bits;
    const int nw = svx_lw_n_words(bits, cols), full = cols / n;
#define LW_BASE(b)                                                                                \
    (w->code_lw + (size_t)((k + (b)) >> 1) * (size_t)nw * 16u + (size_t)((k + (b)) & 1) * 8u)
    const uint32_t *p0 = LW_BASE(0), *p1 = LW_BASE(NB > 1 ? 1 : 0), *p2 = LW_BASE(NB > 2 ? 2 : 0),
                   *p3 = LW_BASE(NB > 3 ? 3 : 0);
#undef LW_BASE
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256i v0, v1 = _mm256_setzero_si256(), v2 = v1, v3 = v1, h0 = v1, h1 = v1, h2 = v1, h3 = v1;
    for (int g = 0; g < full; g++) {
        const float *t = tab + (size_t)g * (size_t)n * 8u;
        const size_t o = (size_t)g * 16u;
        LW_LOAD_WORDS(o);
#pragma GCC unroll 16
        for (int c = 0; c < n; c++) {
            __m256 tv = _mm256_load_ps(t + 8 * c);
            LW_STEP(a0, v0, h0);
            if (NB > 1)
                LW_STEP(a1, v1, h1);
            if (NB > 2) {
                LW_STEP(a2, v2, h2);
                LW_STEP(a3, v3, h3);
            }
        }
    }
    if (full < nw) { /* last, partial word: shift counts from a register */
        const float *t = tab + (size_t)full * (size_t)n * 8u;
        const size_t o = (size_t)full * 16u;
        LW_LOAD_WORDS(o);
        for (int c = 0; c < cols - full * n; c++) {
            __m256 tv = _mm256_load_ps(t + 8 * c);
            __m128i cnt = _mm_cvtsi32_si128(svx_lw_bitpos(bits, c));
            a0 = _mm256_add_ps(a0, table_lookup(tv, _mm256_srl_epi32(v0, cnt), bits));
            if (NB > 1)
                a1 = _mm256_add_ps(a1, table_lookup(tv, _mm256_srl_epi32(v1, cnt), bits));
            if (NB > 2) {
                a2 = _mm256_add_ps(a2, table_lookup(tv, _mm256_srl_epi32(v2, cnt), bits));
                a3 = _mm256_add_ps(a3, table_lookup(tv, _mm256_srl_epi32(v3, cnt), bits));
            }
        }
    }
    store_block(w, k, a0, y);
    if (NB > 1)
        store_block(w, k + 1, a1, y);
    if (NB > 2) {
        store_block(w, k + 2, a2, y);
        store_block(w, k + 3, a3, y);
    }
}

/* ---- small matrices and several input vectors per pass ----
 * NP positions (a convolution's, each its own input vector) x NB blocks of 8
 * rows: every lane-word load and index op serves NP positions, and NP*NB
 * independent accumulator chains hide the add latency. Each (position, row)
 * sum still runs over j in order from +0, so every output is bit-identical to
 * the one-vector kernel and its scalar twin.
 *
 * DIRECT (matrices of at most 32 rows, one pass over the blocks): no table in
 * memory. Each table is used by one pass only, so storing and reloading it
 * (a 32-byte store per input, about as costly as the lookups of 32 rows) is
 * replaced by one vmulps of the broadcast input by the constant vector of
 * the 8 code values +-2^p, on the multiply pipes that the lookups leave idle.
 * This is the IEEE product x * (+-2^p): bit-identical to the exponent add
 * for guarded inputs, and exact for +-0 (a +-0 term cannot change a sum that
 * starts at +0), subnormals and overflow (inf), so the guard holds without a
 * branch. Only non-finite inputs take the table path: inf * 0 (DeepShift's
 * zero code) and the sign of a nan would differ from the scalar twin. src is
 * then x (position p at src + p * sstride), else the tables. */
SVX_INLINE void lw_pos_blocks(const svx_wmat *w, const float *src, size_t sstride, float *y, int k,
                              const int NB, const int NP, const int bits, const int DIRECT,
                              const __m256 cvals)
{
    const size_t ELEM = DIRECT ? 1u : 8u; /* floats per column in src */
    const int cols = w->cols, rows = w->rows, n = svx_lw_per_word(bits), half = 16 / bits;
    const int nw = svx_lw_n_words(bits, cols), full = cols / n;
#define LW_BASE(b)                                                                                \
    (w->code_lw + (size_t)((k + (b)) >> 1) * (size_t)nw * 16u + (size_t)((k + (b)) & 1) * 8u)
    const uint32_t *p0 = LW_BASE(0), *p1 = LW_BASE(NB > 1 ? 1 : 0), *p2 = LW_BASE(NB > 2 ? 2 : 0),
                   *p3 = LW_BASE(NB > 3 ? 3 : 0);
#undef LW_BASE
    const __m256 z = _mm256_setzero_ps();
    __m256 a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
    __m256 a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
    __m256i v0 = _mm256_setzero_si256(), v1 = v0, v2 = v0, v3 = v0, h0 = v0, h1 = v0, h2 = v0, h3 = v0;
    /* one column c: the NB indices, then NP lookups each */
#define MP_COL(IDX)                                                                               \
    do {                                                                                          \
        const __m256i i0 = IDX(v0, h0), i1 = NB > 1 ? IDX(v1, h1) : i0,                           \
                      i2 = NB > 2 ? IDX(v2, h2) : i0, i3 = NB > 3 ? IDX(v3, h3) : i0;             \
        MP_POS(0, t0);                                                                            \
        if (NP > 1) MP_POS(1, t0 + sstride);                                                      \
        if (NP > 2) MP_POS(2, t0 + 2 * sstride);                                                  \
        if (NP > 3) MP_POS(3, t0 + 3 * sstride);                                                  \
    } while (0)
#define MP_ADD(a, tv, i)                                                                          \
    do {                                                                                          \
        a = _mm256_add_ps(a, table_lookup(tv, i, bits));                                          \
        __asm__("" : "+x"(a));                                                                    \
    } while (0)
#define MP_POS(p, tp)                                                                             \
    do {                                                                                          \
        const __m256 tv = DIRECT ? _mm256_mul_ps(_mm256_broadcast_ss(tp), cvals)                 \
                                 : _mm256_load_ps(tp);                                            \
        MP_ADD(MP_ACC(p, 0), tv, i0);                                                             \
        if (NB > 1) MP_ADD(MP_ACC(p, 1), tv, i1);                                                 \
        if (NB > 2) MP_ADD(MP_ACC(p, 2), tv, i2);                                        \
        if (NB > 3) MP_ADD(MP_ACC(p, 3), tv, i3);                                        \
    } while (0)
#define MP_IDX_LW(v, h) lw_index(v, h, bits, c)
#define MP_IDX_SRL(v, h) _mm256_srl_epi32(v, cnt)
    for (int g = 0; g < full; g++) {
        const float *tg = src + (size_t)g * (size_t)n * ELEM;
        const size_t o = (size_t)g * 16u;
        LW_LOAD_WORDS(o);
#pragma GCC unroll 16
        for (int c = 0; c < n; c++) {
            const float *t0 = tg + ELEM * (size_t)c;
            if (c == half) {
                h0 = _mm256_srli_epi32(v0, 16);
                h1 = _mm256_srli_epi32(v1, 16);
                h2 = _mm256_srli_epi32(v2, 16);
                h3 = _mm256_srli_epi32(v3, 16);
            }
            MP_COL(MP_IDX_LW);
        }
    }
    if (full < nw) { /* last, partial word: shift counts from a register */
        const float *tg = src + (size_t)full * (size_t)n * ELEM;
        const size_t o = (size_t)full * 16u;
        LW_LOAD_WORDS(o);
        for (int c = 0; c < cols - full * n; c++) {
            const float *t0 = tg + ELEM * (size_t)c;
            const __m128i cnt = _mm_cvtsi32_si128(svx_lw_bitpos(bits, c));
            MP_COL(MP_IDX_SRL);
        }
    }
#undef MP_COL
#undef MP_ADD
#undef MP_POS
#undef MP_IDX_LW
#undef MP_IDX_SRL
    MP_STORE_ALL(w->alpha);
}

/* The code values +-2^p (DeepShift's zero code: 0) per table index, as
 * floats: the DIRECT kernels' table is x times this vector. */
SVX_INLINE __m256 code_values(const table_consts *c)
{
    const __m256i one = _mm256_set1_epi32(127 << 23); /* 1.0f: add the exponent and sign */
    __m256i v = _mm256_add_epi32(one, c->p);
    if (c->has_zero)
        v = _mm256_and_si256(v, c->z);
    return _mm256_castsi256_ps(v);
}

/* 1 if all n floats at x are finite (exponent field != 255). */
SVX_INLINE int all_finite(const float *x, int n)
{
    const __m256i em = _mm256_set1_epi32(0x7F800000);
    __m256i bad = _mm256_setzero_si256();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i e = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(x + j)), em);
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(e, em));
    }
    int ok = _mm256_testz_si256(bad, bad);
    for (; j < n; j++)
        ok &= (f2u(x[j]) & 0x7F800000u) != 0x7F800000u;
    return ok;
}

/* NP consecutive input vectors (1, 2 or 4): passes of NB blocks with
 * NP * NB <= 8 accumulators; DIRECT when one pass covers every row (<= 32
 * rows; <= 16 for NP = 4) and the inputs are finite, else tables for all NP
 * inputs first (build_tables: guard, exact path). */
SVX_INLINE void table_kernel_pos(const svx_wmat *w, const float *x, float *y, float *tab, const int NP,
                                 const int bits, const int deep)
{
    const int nblk = (w->rows + 7) / 8;
    const size_t tstride = (size_t)w->cols * 8u, xstride = (size_t)w->cols;
    /* enc and bits are constants here, so the table constants fold */
    table_consts c = make_consts(deep ? SVX_ENC_DEEPSHIFT : SVX_ENC_DENSESHIFT, bits);
    const __m256 cv = code_values(&c);
#define DIRECT_PASS(k, nb, np) lw_pos_blocks(w, x, xstride, y, k, nb, np, bits, 1, cv)
#define TABLE_PASS(k, nb, np) lw_pos_blocks(w, tab, tstride, y, k, nb, np, bits, 0, cv)
    if (nblk <= 4 && all_finite(x, NP * w->cols)) {
        MP_PASSES(nblk, NP, DIRECT_PASS);
    } else {
        for (int p = 0; p < NP; p++)
            build_tables(w, &c, x + (size_t)p * xstride, tab + (size_t)p * tstride);
        MP_PASSES(nblk, NP, TABLE_PASS);
    }
#undef DIRECT_PASS
#undef TABLE_PASS
}

/* One input vector: matrices of <= 32 rows take the DIRECT pass, larger
 * ones build all tables once and share them between passes (lw_blocks). */
SVX_INLINE void table_kernel(const svx_wmat *w, const float *x, float *y, float *tab, const int bits,
                             const int deep)
{
    const int nblk = (w->rows + 7) / 8;
    if (nblk <= 4) {
        table_kernel_pos(w, x, y, tab, 1, bits, deep);
        return;
    }
    table_consts c = make_consts(deep ? SVX_ENC_DEEPSHIFT : SVX_ENC_DENSESHIFT, bits);
    build_tables(w, &c, x, tab);
    int k = 0;
    for (; k + 4 <= nblk; k += 4) /* four independent accumulators hide the add latency */
        lw_blocks(w, tab, y, k, 4, bits);
    if (k + 2 <= nblk) {
        lw_blocks(w, tab, y, k, 2, bits);
        k += 2;
    }
    if (k < nblk)
        lw_blocks(w, tab, y, k, 1, bits);
}

SVX_INLINE void table_kernel_mm(const svx_wmat *w, const float *x, int n_pos, float *y, float *tab,
                                const int bits, const int deep)
{
    const size_t xs = (size_t)w->cols, ys = (size_t)w->rows;
    int p = 0;
    for (; p + SVX_MM_POS_DS <= n_pos; p += SVX_MM_POS_DS)
        table_kernel_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, tab, SVX_MM_POS_DS, bits, deep);
    if (SVX_MM_POS_DS > 2 && p + 2 <= n_pos) {
        table_kernel_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, tab, 2, bits, deep);
        p += 2;
    }
    if (p < n_pos)
        table_kernel_pos(w, x + (size_t)p * xs, y + (size_t)p * ys, tab, 1, bits, deep);
}

void svx_mm_shift_table_simd(const svx_wmat *w, const float *x, int n_pos, float *y, float *scratch)
{
    switch (w->bits * 2 + (w->enc == SVX_ENC_DEEPSHIFT)) {
    case 4: table_kernel_mm(w, x, n_pos, y, scratch, 2, 0); break;
    case 5: table_kernel_mm(w, x, n_pos, y, scratch, 2, 1); break;
    case 6: table_kernel_mm(w, x, n_pos, y, scratch, 3, 0); break;
    case 7: table_kernel_mm(w, x, n_pos, y, scratch, 3, 1); break;
    case 8: table_kernel_mm(w, x, n_pos, y, scratch, 4, 0); break;
    default: table_kernel_mm(w, x, n_pos, y, scratch, 4, 1); break;
    }
}

void svx_mv_shift_table_simd(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    switch (w->bits * 2 + (w->enc == SVX_ENC_DEEPSHIFT)) {
    case 4: table_kernel(w, x, y, scratch, 2, 0); break;
    case 5: table_kernel(w, x, y, scratch, 2, 1); break;
    case 6: table_kernel(w, x, y, scratch, 3, 0); break;
    case 7: table_kernel(w, x, y, scratch, 3, 1); break;
    case 8: table_kernel(w, x, y, scratch, 4, 0); break;
    default: table_kernel(w, x, y, scratch, 4, 1); break;
    }
}

/* The literal per-weight form: each lane adds its own p to the exponent
 * field of the broadcast input and xors its sign bit (DeepShift: and masks
 * the zero code). Inputs outside the guard use the exact table path. */
SVX_INLINE __m256 exp_term(__m256i xb, __m256i idx, int bits, int deep)
{
    const __m256i pm = _mm256_set1_epi32((1 << (bits - 1)) - 1);
    const __m256i sgn = _mm256_set1_epi32((int32_t)0x80000000u);
    __m256i field = _mm256_and_si256(idx, pm);
    __m256i s = _mm256_and_si256(_mm256_slli_epi32(idx, 32 - bits), sgn);
    if (deep) {
        __m256i p = _mm256_sub_epi32(field, _mm256_set1_epi32(1));
        __m256i keep = _mm256_cmpgt_epi32(field, _mm256_setzero_si256());
        __m256i t = _mm256_xor_si256(_mm256_add_epi32(xb, _mm256_slli_epi32(p, 23)), s);
        return _mm256_castsi256_ps(_mm256_and_si256(t, keep));
    }
    __m256i t = _mm256_xor_si256(_mm256_add_epi32(xb, _mm256_slli_epi32(field, 23)), s);
    return _mm256_castsi256_ps(t);
}

SVX_INLINE void exp_kernel(const svx_wmat *w, const float *x, float *y, float *tab, const int bits,
                           const int deep)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * (size_t)bits;
    const __m256i L = lane_shifts(bits);
    table_consts c = make_consts(w->enc, bits);
    /* Tables only for the inputs the guard sends to the exact path. */
    for (int j = 0; j < cols; j++)
        if (x[j] != 0.0f && !svx_shift_safe(f2u(x[j])))
            build_table(w, &c, x[j], tab + 8 * j);
    int k = 0;
    for (; k + 4 <= nblk; k += 4) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < cols; j++) {
            uint32_t xbits = f2u(x[j]);
            const uint8_t *p = c0 + (size_t)j * (size_t)bits;
            if ((xbits & 0x7FFFFFFFu) == 0)
                continue;
            __m256i i0 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p)), L);
            __m256i i1 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + stride)), L);
            __m256i i2 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + 2 * stride)), L);
            __m256i i3 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + 3 * stride)), L);
            if (__builtin_expect(svx_shift_safe(xbits), 1)) {
                __m256i xb = _mm256_set1_epi32((int32_t)xbits);
                a0 = _mm256_add_ps(a0, exp_term(xb, i0, bits, deep));
                a1 = _mm256_add_ps(a1, exp_term(xb, i1, bits, deep));
                a2 = _mm256_add_ps(a2, exp_term(xb, i2, bits, deep));
                a3 = _mm256_add_ps(a3, exp_term(xb, i3, bits, deep));
            } else {
                __m256 t = _mm256_load_ps(tab + 8 * j);
                a0 = _mm256_add_ps(a0, table_lookup(t, i0, bits));
                a1 = _mm256_add_ps(a1, table_lookup(t, i1, bits));
                a2 = _mm256_add_ps(a2, table_lookup(t, i2, bits));
                a3 = _mm256_add_ps(a3, table_lookup(t, i3, bits));
            }
        }
        store_block(w, k, a0, y);
        store_block(w, k + 1, a1, y);
        store_block(w, k + 2, a2, y);
        store_block(w, k + 3, a3, y);
    }
    for (; k < nblk; k++) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int j = 0; j < cols; j++) {
            uint32_t xbits = f2u(x[j]);
            if ((xbits & 0x7FFFFFFFu) == 0)
                continue;
            __m256i i0 = _mm256_srlv_epi32(
                _mm256_set1_epi32((int32_t)load_u32(c0 + (size_t)j * (size_t)bits)), L);
            if (svx_shift_safe(xbits))
                a0 = _mm256_add_ps(a0, exp_term(_mm256_set1_epi32((int32_t)xbits), i0, bits, deep));
            else
                a0 = _mm256_add_ps(a0, table_lookup(_mm256_load_ps(tab + 8 * j), i0, bits));
        }
        store_block(w, k, a0, y);
    }
}

void svx_mv_shift_exp_simd(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    int deep = w->enc == SVX_ENC_DEEPSHIFT;
    switch (w->bits * 2 + deep) {
    case 4: exp_kernel(w, x, y, scratch, 2, 0); break;
    case 5: exp_kernel(w, x, y, scratch, 2, 1); break;
    case 6: exp_kernel(w, x, y, scratch, 3, 0); break;
    case 7: exp_kernel(w, x, y, scratch, 3, 1); break;
    case 8: exp_kernel(w, x, y, scratch, 4, 0); break;
    default: exp_kernel(w, x, y, scratch, 4, 1); break;
    }
}

#elif !(defined(__aarch64__) && defined(__ARM_NEON))
/* no SIMD in this build: the dispatcher never calls these */

int svx_simd_compiled(void) { return 0; }
const char *svx_simd_name(void) { return "none"; }
void svx_mv_f32_simd(const svx_wmat *w, const float *x, float *y) { (void)w; (void)x; (void)y; }
void svx_mv_i8_simd(const svx_wmat *w, const float *x, float *y) { (void)w; (void)x; (void)y; }
void svx_mv_shift_table_simd(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    (void)w; (void)x; (void)y; (void)scratch;
}
void svx_mv_shift_exp_simd(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    (void)w; (void)x; (void)y; (void)scratch;
}
void svx_mm_f32_simd(const svx_wmat *w, const float *x, int n_pos, float *y)
{
    (void)w; (void)x; (void)n_pos; (void)y;
}
void svx_mm_shift_table_simd(const svx_wmat *w, const float *x, int n_pos, float *y, float *scratch)
{
    (void)w; (void)x; (void)n_pos; (void)y; (void)scratch;
}

#else
/* AArch64: the SIMD kernels are in kernels_neon.c */
typedef int svx_kernels_avx2_unused;
#endif
