/* NEON kernels for AArch64 (NEON is part of the architecture, so no run-time
 * check). Same weight layouts and summation order as the AVX2 kernels: a
 * block of 8 rows is two float32x4 accumulators, each row's sum runs over j
 * in order from +0, so the power-of-two kernels are bit-identical to their
 * scalar twins (kernels.c). The exactness guard is described in kernels.h. */
#include "kernels.h"

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>
#include <string.h>

#define SVX_INLINE static inline __attribute__((always_inline))

int svx_simd_compiled(void) { return 1; }
const char *svx_simd_name(void) { return "neon"; }

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

/* y rows 8k..8k+7 = alpha * acc (alpha NULL: as is). */
SVX_INLINE void store_rows(const float *alpha, int rows, int k, float32x4_t lo, float32x4_t hi,
                           float *y)
{
    int r0 = 8 * k;
    float tmp[8];
    if (r0 + 8 <= rows) {
        if (alpha) {
            lo = vmulq_f32(lo, vld1q_f32(alpha + r0));
            hi = vmulq_f32(hi, vld1q_f32(alpha + r0 + 4));
        }
        vst1q_f32(y + r0, lo);
        vst1q_f32(y + r0 + 4, hi);
        return;
    }
    vst1q_f32(tmp, lo);
    vst1q_f32(tmp + 4, hi);
    for (int l = 0; l < 8 && r0 + l < rows; l++)
        y[r0 + l] = alpha ? alpha[r0 + l] * tmp[l] : tmp[l];
}

void svx_mv_f32_simd(const svx_wmat *w, const float *x, float *y)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    for (int k = 0; k < nblk; k++) {
        const float *p = w->f32_blk + (size_t)k * (size_t)cols * 8u;
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
        for (int j = 0; j < cols; j++, p += 8) {
            float32x4_t xv = vdupq_n_f32(x[j]);
            lo = vfmaq_f32(lo, vld1q_f32(p), xv);
            hi = vfmaq_f32(hi, vld1q_f32(p + 4), xv);
        }
        store_rows(NULL, w->rows, k, lo, hi, y);
    }
}

void svx_mv_i8_simd(const svx_wmat *w, const float *x, float *y)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    for (int k = 0; k < nblk; k++) {
        const int8_t *p = w->q8_blk + (size_t)k * (size_t)cols * 8u;
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
        for (int j = 0; j < cols; j++, p += 8) {
            int16x8_t q = vmovl_s8(vld1_s8(p));
            float32x4_t xv = vdupq_n_f32(x[j]);
            lo = vfmaq_f32(lo, vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), xv);
            hi = vfmaq_f32(hi, vcvtq_f32_s32(vmovl_s16(vget_high_s16(q))), xv);
        }
        store_rows(w->alpha, w->rows, k, lo, hi, y);
    }
}

/* Lane codes of one column of a block: lanes 0-3 and 4-7, each shifted down
 * to bit 0 (higher bits still hold the next lanes' codes). */
SVX_INLINE void lane_codes(const uint8_t *p, int bits, uint32x4_t *lo, uint32x4_t *hi)
{
    const int32_t sl[4] = {0, -bits, -2 * bits, -3 * bits};
    const int32_t sh[4] = {-4 * bits, -5 * bits, -6 * bits, -7 * bits};
    uint32x4_t word = vdupq_n_u32(load_u32(p));
    *lo = vshlq_u32(word, vld1q_s32(sl));
    *hi = vshlq_u32(word, vld1q_s32(sh));
}

/* Table lookup of 4 lanes: byte indices 4c..4c+3 of the 32-byte table t. */
SVX_INLINE float32x4_t table_lookup4(uint8x16x2_t t, uint32x4_t code, int bits)
{
    uint32x4_t c3 = vandq_u32(code, vdupq_n_u32(7u));
    uint32x4_t bidx = vmlaq_n_u32(vdupq_n_u32(0x03020100u), c3, 0x04040404u);
    uint32x4_t v = vreinterpretq_u32_u8(vqtbl2q_u8(t, vreinterpretq_u8_u32(bidx)));
    if (bits == 4) {
        uint32x4_t sg = vandq_u32(vshlq_n_u32(code, 28), vdupq_n_u32(0x80000000u));
        v = veorq_u32(v, sg);
    }
    return vreinterpretq_f32_u32(v);
}

SVX_INLINE uint8x16x2_t load_table(const float *t8)
{
    uint8x16x2_t t;
    t.val[0] = vreinterpretq_u8_f32(vld1q_f32(t8));
    t.val[1] = vreinterpretq_u8_f32(vld1q_f32(t8 + 4));
    return t;
}

/* One input's table into t (8 floats), exact (kernels.h's guard). */
static void build_table(const svx_wmat *w, float xj, float *t)
{
    uint32_t xb = f2u(xj);
    if ((xb & 0x7FFFFFFFu) == 0) {
        /* +-0: every term is +-0, which cannot change a sum starting at +0 */
        memset(t, 0, 8 * sizeof(float));
        return;
    }
    svx_shift_table(w->enc, w->bits, xj, t);
}

SVX_INLINE void table_kernel(const svx_wmat *w, const float *x, float *y, float *tab, const int bits)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * (size_t)bits;
    for (int j = 0; j < cols; j++)
        build_table(w, x[j], tab + 8 * j);
    for (int k = 0; k < nblk; k++) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
        for (int j = 0; j < cols; j++) {
            uint8x16x2_t t = load_table(tab + 8 * j);
            uint32x4_t cl, ch;
            lane_codes(c0 + (size_t)j * (size_t)bits, bits, &cl, &ch);
            lo = vaddq_f32(lo, table_lookup4(t, cl, bits));
            hi = vaddq_f32(hi, table_lookup4(t, ch, bits));
        }
        store_rows(w->alpha, w->rows, k, lo, hi, y);
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

/* The literal per-weight form (see kernels_avx2.c's exp_term). */
SVX_INLINE float32x4_t exp_term(uint32x4_t xb, uint32x4_t code, int bits, int deep)
{
    uint32x4_t field = vandq_u32(code, vdupq_n_u32((1u << (bits - 1)) - 1u));
    uint32x4_t s = vandq_u32(vshlq_u32(code, vdupq_n_s32(32 - bits)), vdupq_n_u32(0x80000000u));
    if (deep) {
        uint32x4_t p = vsubq_u32(field, vdupq_n_u32(1u));
        uint32x4_t keep = vcgtq_u32(field, vdupq_n_u32(0u));
        uint32x4_t t = veorq_u32(vaddq_u32(xb, vshlq_n_u32(p, 23)), s);
        return vreinterpretq_f32_u32(vandq_u32(t, keep));
    }
    return vreinterpretq_f32_u32(veorq_u32(vaddq_u32(xb, vshlq_n_u32(field, 23)), s));
}

SVX_INLINE void exp_kernel(const svx_wmat *w, const float *x, float *y, float *tab, const int bits,
                           const int deep)
{
    const int cols = w->cols, nblk = (w->rows + 7) / 8;
    const size_t stride = (size_t)cols * (size_t)bits;
    for (int j = 0; j < cols; j++)
        if (x[j] != 0.0f && !svx_shift_safe(f2u(x[j])))
            build_table(w, x[j], tab + 8 * j);
    for (int k = 0; k < nblk; k++) {
        const uint8_t *c0 = w->code_blk + (size_t)k * stride;
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;
        for (int j = 0; j < cols; j++) {
            uint32_t xbits = f2u(x[j]);
            if ((xbits & 0x7FFFFFFFu) == 0)
                continue;
            uint32x4_t cl, ch;
            lane_codes(c0 + (size_t)j * (size_t)bits, bits, &cl, &ch);
            if (__builtin_expect(svx_shift_safe(xbits), 1)) {
                uint32x4_t xb = vdupq_n_u32(xbits);
                lo = vaddq_f32(lo, exp_term(xb, cl, bits, deep));
                hi = vaddq_f32(hi, exp_term(xb, ch, bits, deep));
            } else {
                uint8x16x2_t t = load_table(tab + 8 * j);
                lo = vaddq_f32(lo, table_lookup4(t, cl, bits));
                hi = vaddq_f32(hi, table_lookup4(t, ch, bits));
            }
        }
        store_rows(w->alpha, w->rows, k, lo, hi, y);
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

#else
/* Not AArch64: the SIMD kernels (if any) are in kernels_avx2.c */
typedef int svx_kernels_neon_unused;
#endif
