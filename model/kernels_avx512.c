/* AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx2
 * -mfma, called only after svx_cpu_has_avx512()). Scalar twins are in
 * kernels.c; the design and the exactness guard are in kernels.h.
 *
 * One zmm lane per row, 16 rows per block, four blocks at a time (four
 * independent accumulators); each row's sum runs over j in order from +0,
 * so the DenseShift table kernel is bit-identical to its scalar twin.
 * - f32: weights in f32_blk16 ([rows/16 up][cols][16]), one FMA per column
 *   and block: the like-for-like float32 baseline of the table kernel.
 * - DenseShift table: the 8-entry table of input j (kernels.c/avx2 build
 *   it, exact, guard included) is broadcast to both halves of a zmm, so
 *   vpermps's 4-bit index may carry garbage in bit 3; indices come from the
 *   lane words (code_lw) as in kernels_avx2.c, one 16-row group per zmm. */
#include "kernels.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>
#include <string.h>

#define SVX_INLINE static inline __attribute__((always_inline))

int svx_avx512_compiled(void) { return 1; }

SVX_INLINE uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* y rows 16k .. 16k+15 (the valid ones) = alpha * acc (alpha NULL: acc). */
SVX_INLINE void store16(const float *alpha, int rows, int k, __m512 acc, float *y)
{
    int r0 = 16 * k, n = rows - r0 < 16 ? rows - r0 : 16;
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    if (alpha)
        acc = _mm512_mul_ps(acc, _mm512_maskz_loadu_ps(m, alpha + r0));
    _mm512_mask_storeu_ps(y + r0, m, acc);
}

SVX_INLINE void f32_blocks(const svx_wmat *w, const float *x, float *y, int k, const int NB)
{
    const int cols = w->cols;
    const size_t stride = (size_t)cols * 16u;
    const float *w0 = w->f32_blk16 + (size_t)k * stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < cols; j++) {
        __m512 xv = _mm512_set1_ps(x[j]);
        const float *p = w0 + (size_t)j * 16u;
        a0 = _mm512_fmadd_ps(_mm512_load_ps(p), xv, a0);
        if (NB > 1)
            a1 = _mm512_fmadd_ps(_mm512_load_ps(p + stride), xv, a1);
        if (NB > 2) {
            a2 = _mm512_fmadd_ps(_mm512_load_ps(p + 2 * stride), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_load_ps(p + 3 * stride), xv, a3);
        }
    }
    store16(NULL, w->rows, k, a0, y);
    if (NB > 1)
        store16(NULL, w->rows, k + 1, a1, y);
    if (NB > 2) {
        store16(NULL, w->rows, k + 2, a2, y);
        store16(NULL, w->rows, k + 3, a3, y);
    }
}

void svx_mv_f32_avx512(const svx_wmat *w, const float *x, float *y)
{
    const int nblk = (w->rows + 15) / 16;
    int k = 0;
    for (; k + 4 <= nblk; k += 4)
        f32_blocks(w, x, y, k, 4);
    if (k + 2 <= nblk) {
        f32_blocks(w, x, y, k, 2);
        k += 2;
    }
    if (k < nblk)
        f32_blocks(w, x, y, k, 1);
}

/* The table of input x (8 floats at t), as build_table in kernels_avx2.c:
 * exponent add when the guard allows, +0 for +-0, else the exact scalar path. */
SVX_INLINE void build_table8(const svx_wmat *w, __m256i pconst, float xj, float *t)
{
    uint32_t xb = f2u(xj);
    if (svx_shift_safe(xb))
        _mm256_store_si256((__m256i *)(void *)t, _mm256_add_epi32(_mm256_set1_epi32((int32_t)xb), pconst));
    else if ((xb & 0x7FFFFFFFu) == 0)
        _mm256_store_ps(t, _mm256_setzero_ps());
    else
        svx_shift_table(w->enc, w->bits, xj, t);
}

/* All cols tables, eight inputs per guard test (kernels_avx2.c build_tables). */
SVX_INLINE void build_tables8(const svx_wmat *w, __m256i pconst, const float *x, float *tab)
{
    const int cols = w->cols;
    const __m256i lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(248), ff = _mm256_set1_epi32(0xFF);
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
        __m256i e = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(_mm256_loadu_ps(x + j)), 23), ff);
        __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(e, lo), _mm256_cmpgt_epi32(hi, e));
        if (_mm256_movemask_ps(_mm256_castsi256_ps(ok)) == 0xFF) {
            for (int i = 0; i < 8; i++)
                _mm256_store_si256((__m256i *)(void *)(tab + 8 * (j + i)),
                                   _mm256_add_epi32(_mm256_castps_si256(_mm256_broadcast_ss(x + j + i)), pconst));
        } else {
            for (int i = 0; i < 8; i++)
                build_table8(w, pconst, x[j + i], tab + 8 * (j + i));
        }
    }
    if (j < cols) { /* the last 1..7 inputs: lanes past cols pass the test */
        __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i e = _mm256_and_si256(_mm256_srli_epi32(_mm256_maskload_epi32((const int *)(const void *)(x + j), in), 23), ff);
        __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(e, lo), _mm256_cmpgt_epi32(hi, e));
        int all = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(ok, _mm256_xor_si256(in, _mm256_set1_epi32(-1))))) == 0xFF;
        for (; j < cols; j++) {
            if (all)
                _mm256_store_si256((__m256i *)(void *)(tab + 8 * j),
                                   _mm256_add_epi32(_mm256_castps_si256(_mm256_broadcast_ss(x + j)), pconst));
            else
                build_table8(w, pconst, x[j], tab + 8 * j);
        }
    }
}

/* Looks up one column for 16 rows; 4-bit codes carry the sign in bit 3. */
SVX_INLINE __m512 lookup16(__m512 t, __m512i idx, int bits)
{
    __m512 v = _mm512_permutexvar_ps(idx, t); /* low 4 bits; entries 8..15 = 0..7 */
    if (bits == 4) {
        __m512i sg = _mm512_and_si512(_mm512_slli_epi32(idx, 28), _mm512_set1_epi32((int32_t)0x80000000u));
        v = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), sg));
    }
    return v;
}

/* The 8 floats at t in both halves (vbroadcastf64x4: AVX512F, no DQ needed). */
SVX_INLINE __m512 bcast8(const float *t)
{
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_load_ps(t))));
}

SVX_INLINE __m512i lw_index16(__m512i v, __m512i h, int bits, int c)
{
    const int half = 16 / bits;
    if (c == 0)
        return v;
    if (c < half)
        return _mm512_mulhi_epu16(v, _mm512_set1_epi16((short)(1 << (16 - bits * c))));
    if (c == half)
        return h;
    return _mm512_mulhi_epu16(h, _mm512_set1_epi16((short)(1 << (16 - bits * (c - half)))));
}

#define LW16_STEP(a, v, h)                                                                        \
    do {                                                                                          \
        if (c == half)                                                                            \
            h = _mm512_srli_epi32(v, 16);                                                         \
        a = _mm512_add_ps(a, lookup16(tv, lw_index16(v, h, bits, c), bits));                      \
        __asm__("" : "+v"(a)); /* keeps GCC from hoisting all lookups and spilling them */        \
    } while (0)

/* NB (1, 2 or 4) consecutive 16-row blocks; explicit variables, not arrays.
 * DIRECT (matrices of <= 32 rows, finite inputs; kernels_avx2.c explains it):
 * tab is x, and each table is x[j] times cv, the 8 code values +-2^p in both
 * halves (the exact IEEE product), made in a register instead of memory. */
SVX_INLINE void lw_blocks16(const svx_wmat *w, const float *tab, float *y, int k, const int NB,
                            const int bits, const int DIRECT, const __m512 cv)
{
    const size_t ELEM = DIRECT ? 1u : 8u;
#define TV16(tp) (DIRECT ? _mm512_mul_ps(_mm512_set1_ps(*(tp)), cv) : bcast8(tp))
    const int cols = w->cols, n = svx_lw_per_word(bits), half = 16 / bits;
    const int nw = svx_lw_n_words(bits, cols), full = cols / n;
    const size_t stride = (size_t)nw * 16u;
    const uint32_t *p0 = w->code_lw + (size_t)k * stride, *p1 = p0 + (NB > 1 ? stride : 0),
                   *p2 = p0 + (NB > 2 ? 2 * stride : 0), *p3 = p0 + (NB > 3 ? 3 * stride : 0);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512i v0, v1 = _mm512_setzero_si512(), v2 = v1, v3 = v1, h0 = v1, h1 = v1, h2 = v1, h3 = v1;
    for (int g = 0; g < full; g++) {
        const float *t = tab + (size_t)g * (size_t)n * ELEM;
        const size_t o = (size_t)g * 16u;
        v0 = _mm512_load_si512((const void *)(p0 + o));
        if (NB > 1)
            v1 = _mm512_load_si512((const void *)(p1 + o));
        if (NB > 2) {
            v2 = _mm512_load_si512((const void *)(p2 + o));
            v3 = _mm512_load_si512((const void *)(p3 + o));
        }
#pragma GCC unroll 16
        for (int c = 0; c < n; c++) {
            __m512 tv = TV16(t + ELEM * (size_t)c);
            LW16_STEP(a0, v0, h0);
            if (NB > 1)
                LW16_STEP(a1, v1, h1);
            if (NB > 2) {
                LW16_STEP(a2, v2, h2);
                LW16_STEP(a3, v3, h3);
            }
        }
    }
    if (full < nw) { /* last, partial word: shift counts from a register */
        const float *t = tab + (size_t)full * (size_t)n * ELEM;
        const size_t o = (size_t)full * 16u;
        v0 = _mm512_load_si512((const void *)(p0 + o));
        v1 = _mm512_load_si512((const void *)(p1 + o));
        v2 = _mm512_load_si512((const void *)(p2 + o));
        v3 = _mm512_load_si512((const void *)(p3 + o));
        for (int c = 0; c < cols - full * n; c++) {
            __m512 tv = TV16(t + ELEM * (size_t)c);
            __m128i cnt = _mm_cvtsi32_si128(svx_lw_bitpos(bits, c));
            a0 = _mm512_add_ps(a0, lookup16(tv, _mm512_srl_epi32(v0, cnt), bits));
            if (NB > 1)
                a1 = _mm512_add_ps(a1, lookup16(tv, _mm512_srl_epi32(v1, cnt), bits));
            if (NB > 2) {
                a2 = _mm512_add_ps(a2, lookup16(tv, _mm512_srl_epi32(v2, cnt), bits));
                a3 = _mm512_add_ps(a3, lookup16(tv, _mm512_srl_epi32(v3, cnt), bits));
            }
        }
    }
#undef TV16
    store16(w->alpha, w->rows, k, a0, y);
    if (NB > 1)
        store16(w->alpha, w->rows, k + 1, a1, y);
    if (NB > 2) {
        store16(w->alpha, w->rows, k + 2, a2, y);
        store16(w->alpha, w->rows, k + 3, a3, y);
    }
}

SVX_INLINE void table_kernel16(const svx_wmat *w, const float *x, float *y, float *tab, const int bits)
{
    const int nblk = (w->rows + 15) / 16;
    /* exponent << 23 plus sign << 31 per table index (kernels_avx2.c make_consts) */
    int32_t p[8];
    for (int i = 0; i < 8; i++) {
        unsigned code = bits == 2 ? ((unsigned)i & 3u) : (unsigned)i;
        unsigned field = bits == 4 ? (unsigned)i : (code & ((1u << (bits - 1)) - 1u));
        unsigned sg = bits == 4 ? 0u : (code >> (bits - 1)) & 1u;
        p[i] = (int32_t)((field << 23) + (sg << 31));
    }
    const __m256i pconst = _mm256_loadu_si256((const __m256i *)(const void *)p);
    const __m256i v8 = _mm256_add_epi32(_mm256_set1_epi32(127 << 23), pconst); /* +-2^p as floats */
    const __m512 cv = _mm512_castsi512_ps(_mm512_broadcast_i64x4(v8));
    if (nblk <= 2) { /* DIRECT: no tables in memory when the inputs are finite */
        int finite = 1;
        for (int j = 0; j < w->cols; j++)
            finite &= (f2u(x[j]) & 0x7F800000u) != 0x7F800000u;
        if (finite) {
            if (nblk == 2)
                lw_blocks16(w, x, y, 0, 2, bits, 1, cv);
            else
                lw_blocks16(w, x, y, 0, 1, bits, 1, cv);
            return;
        }
    }
    build_tables8(w, pconst, x, tab);
    int k = 0;
    for (; k + 4 <= nblk; k += 4)
        lw_blocks16(w, tab, y, k, 4, bits, 0, cv);
    if (k + 2 <= nblk) {
        lw_blocks16(w, tab, y, k, 2, bits, 0, cv);
        k += 2;
    }
    if (k < nblk)
        lw_blocks16(w, tab, y, k, 1, bits, 0, cv);
}

void svx_mv_shift_table_avx512(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    switch (w->bits) {
    case 2: table_kernel16(w, x, y, scratch, 2); break;
    case 3: table_kernel16(w, x, y, scratch, 3); break;
    default: table_kernel16(w, x, y, scratch, 4); break;
    }
}

#else
/* no AVX-512 in this build (other architectures, or a compiler without the
 * flags): the dispatcher never calls these */

int svx_avx512_compiled(void) { return 0; }
void svx_mv_f32_avx512(const svx_wmat *w, const float *x, float *y) { (void)w; (void)x; (void)y; }
void svx_mv_shift_table_avx512(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    (void)w; (void)x; (void)y; (void)scratch;
}
#endif
