/* AVX2 kernels (compiled with -mavx2 -mfma, called only after run-time
 * dispatch checks the CPU). Scalar twins are in kernels.c; the design and the
 * exactness guard are described in kernels.h.
 *
 * Layout: rows are taken 8 at a time (one vector lane per row); for a block
 * of 8 rows and column j the 8 codes are 8*b contiguous bits, lane l at bits
 * [l*b, l*b + b). Four blocks are processed together so that four
 * independent accumulators hide the latency of the vector add, while each
 * row's sum still runs over j in order (bit-identical to the scalar twin). */
#include "kernels.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)

#include <immintrin.h>
#include <string.h>

#define SVX_INLINE static inline __attribute__((always_inline))

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
    for (; k < nblk; k++) {
        const float *w0 = w->f32_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int j = 0; j < cols; j++)
            a0 = _mm256_fmadd_ps(_mm256_load_ps(w0 + (size_t)j * 8u), _mm256_broadcast_ss(x + j), a0);
        store_block_f32(w, k, a0, y);
    }
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

static table_consts make_consts(int enc, int bits)
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

SVX_INLINE void table_kernel(const svx_wmat *w, const float *x, float *y, float *tab, const int bits)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * (size_t)bits;
    const __m256i L = lane_shifts(bits);
    table_consts c = make_consts(w->enc, bits);
    for (int j = 0; j < cols; j++)
        build_table(w, &c, x[j], tab + 8 * j);
    int k = 0;
    for (; k + 4 <= nblk; k += 4) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < cols; j++) {
            __m256 t = _mm256_load_ps(tab + 8 * j);
            const uint8_t *p = c0 + (size_t)j * (size_t)bits;
            __m256i i0 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p)), L);
            __m256i i1 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + stride)), L);
            __m256i i2 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + 2 * stride)), L);
            __m256i i3 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + 3 * stride)), L);
            a0 = _mm256_add_ps(a0, table_lookup(t, i0, bits));
            a1 = _mm256_add_ps(a1, table_lookup(t, i1, bits));
            a2 = _mm256_add_ps(a2, table_lookup(t, i2, bits));
            a3 = _mm256_add_ps(a3, table_lookup(t, i3, bits));
        }
        store_block(w, k, a0, y);
        store_block(w, k + 1, a1, y);
        store_block(w, k + 2, a2, y);
        store_block(w, k + 3, a3, y);
    }
    if (k + 2 <= nblk) { /* two blocks: still two independent accumulators */
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        for (int j = 0; j < cols; j++) {
            __m256 t = _mm256_load_ps(tab + 8 * j);
            const uint8_t *p = c0 + (size_t)j * (size_t)bits;
            __m256i i0 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p)), L);
            __m256i i1 = _mm256_srlv_epi32(_mm256_set1_epi32((int32_t)load_u32(p + stride)), L);
            a0 = _mm256_add_ps(a0, table_lookup(t, i0, bits));
            a1 = _mm256_add_ps(a1, table_lookup(t, i1, bits));
        }
        store_block(w, k, a0, y);
        store_block(w, k + 1, a1, y);
        k += 2;
    }
    for (; k < nblk; k++) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        __m256 a0 = _mm256_setzero_ps();
        for (int j = 0; j < cols; j++) {
            __m256i i0 = _mm256_srlv_epi32(
                _mm256_set1_epi32((int32_t)load_u32(c0 + (size_t)j * (size_t)bits)), L);
            a0 = _mm256_add_ps(a0, table_lookup(_mm256_load_ps(tab + 8 * j), i0, bits));
        }
        store_block(w, k, a0, y);
    }
}

void svx_mv_shift_table_simd(const svx_wmat *w, const float *x, float *y, float *scratch)
{
    switch (w->bits) {
    case 2: table_kernel(w, x, y, scratch, 2); break;
    case 3: table_kernel(w, x, y, scratch, 3); break;
    default: table_kernel(w, x, y, scratch, 4); break;
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

#else
/* AArch64: the SIMD kernels are in kernels_neon.c */
typedef int svx_kernels_avx2_unused;
#endif
