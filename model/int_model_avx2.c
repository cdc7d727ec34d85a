/* AVX2 twin of svx_int_pow2_matvec_i8 for x86-64 hosts (model/INTEGER.md,
 * "Kernels"). Weights are given as their int8 values +-2^p (|code| <= 7): a
 * byte sign (vpsignb) and an unsigned-by-signed byte multiply-add (vpmaddubsw)
 * form |w|*sgn(w)*x exactly, so the integers equal the shift-add kernel's.
 * This uses the SIMD multiplier; targets without one use int_model.c.
 * Compiled with -mavx2 (Makefile rule for *_avx2.c); elsewhere a stub. */
#include "int_model.h"

#if defined(__AVX2__)
#include <immintrin.h>

/* |w| times x*sgn(w) summed in int32 lanes (see the comment below). */
/* Sum of the eight int32 lanes. */
static inline int32_t hsum_epi32(__m256i a)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

static inline __m256i madd_i8(__m256i a, __m256i wv, __m256i xv, __m256i ones)
{
    __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
    return _mm256_add_epi32(a, _mm256_madd_epi16(p16, ones));
}

int svx_int_pow2_values_matvec_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols,
                                        const int8_t *x, int32_t *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    size_t c32 = cols & ~(size_t)31;
    size_t r = 0;
    /* four rows at a time share the x loads and one horizontal reduction */
    for (; c32 == cols && r + 4 <= rows; r += 4) {
        const int8_t *w = w_vals + r * cols;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < cols; c += 32) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + c));
            a0 = madd_i8(a0, _mm256_loadu_si256((const __m256i *)(const void *)(w + c)), xv, ones);
            a1 = madd_i8(a1, _mm256_loadu_si256((const __m256i *)(const void *)(w + cols + c)), xv, ones);
            a2 = madd_i8(a2, _mm256_loadu_si256((const __m256i *)(const void *)(w + 2 * cols + c)), xv,
                         ones);
            a3 = madd_i8(a3, _mm256_loadu_si256((const __m256i *)(const void *)(w + 3 * cols + c)), xv,
                         ones);
        }
        /* lanes of a0..a3 -> the four row sums */
        __m256i s01 = _mm256_hadd_epi32(a0, a1), s23 = _mm256_hadd_epi32(a2, a3);
        __m256i s = _mm256_hadd_epi32(s01, s23);
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        _mm_storeu_si128((__m128i *)(void *)(acc + r), t);
    }
    for (; r < rows; r++) {
        const int8_t *w = w_vals + r * cols;
        __m256i a = _mm256_setzero_si256();
        for (size_t c = 0; c < c32; c += 32) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w + c));
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + c));
            /* |w| (<= 127: codes up to 7, or rule-3b int8 values) times x*sgn(w):
             * pairs sum to at most 2*127*127 < 2^15, so vpmaddubsw never saturates */
            __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(p16, ones));
        }
        int32_t t = hsum_epi32(a);
        for (size_t c = c32; c < cols; c++) t += (int32_t)w[c] * x[c];
        acc[r] = t;
    }
    return 0;
}

int svx_int_values_matvec_i16_avx2(const int16_t *w_vals, size_t rows, size_t cols,
                                   const int16_t *x, int32_t *acc)
{
    size_t c16 = cols & ~(size_t)15;
    size_t r = 0;
    /* four rows at a time share the x loads and one horizontal reduction */
    for (; c16 == cols && r + 4 <= rows; r += 4) {
        const int16_t *w = w_vals + r * cols;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < cols; c += 16) {
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + c));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(
                _mm256_loadu_si256((const __m256i *)(const void *)(w + c)), xv));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(
                _mm256_loadu_si256((const __m256i *)(const void *)(w + cols + c)), xv));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(
                _mm256_loadu_si256((const __m256i *)(const void *)(w + 2 * cols + c)), xv));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(
                _mm256_loadu_si256((const __m256i *)(const void *)(w + 3 * cols + c)), xv));
        }
        __m256i s4 = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
        __m128i t4 = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
        _mm_storeu_si128((__m128i *)(void *)(acc + r), t4);
    }
    for (; r < rows; r++) {
        const int16_t *w = w_vals + r * cols;
        __m256i a = _mm256_setzero_si256();
        for (size_t c = 0; c < c16; c += 16) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w + c));
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + c));
            /* pairs of |w| <= 2^14 times |x| <= 4096: at most 2^27 each, exact */
            a = _mm256_add_epi32(a, _mm256_madd_epi16(wv, xv));
        }
        int32_t t = hsum_epi32(a);
        for (size_t c = c16; c < cols; c++) t += (int32_t)w[c] * x[c];
        acc[r] = t;
    }
    return 0;
}

int svx_int_values_matmul_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols, const int8_t *x,
                                  size_t n_vec, int32_t *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    if (cols & 31u)
        return -1;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w = w_vals + r * cols;
        for (size_t p = 0; p < n_vec; p++) {
            const int8_t *xp = x + p * cols;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t c = 0; c < cols; c += 32) {
                __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(xp + c));
                a0 = madd_i8(a0, _mm256_loadu_si256((const __m256i *)(const void *)(w + c)), xv, ones);
                a1 = madd_i8(a1, _mm256_loadu_si256((const __m256i *)(const void *)(w + cols + c)), xv,
                             ones);
                a2 = madd_i8(a2, _mm256_loadu_si256((const __m256i *)(const void *)(w + 2 * cols + c)),
                             xv, ones);
                a3 = madd_i8(a3, _mm256_loadu_si256((const __m256i *)(const void *)(w + 3 * cols + c)),
                             xv, ones);
            }
            __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
            __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            _mm_storeu_si128((__m128i *)(void *)(acc + p * rows + r), t);
        }
    }
    for (; r < rows; r++)
        for (size_t p = 0; p < n_vec; p++) {
            int32_t t;
            svx_int_pow2_values_matvec_i8_avx2(w_vals + r * cols, 1, cols, x + p * cols, &t);
            acc[p * rows + r] = t;
        }
    return 0;
}

int svx_int_avx2_built(void) { return 1; }
#else
int svx_int_pow2_values_matvec_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols,
                                        const int8_t *x, int32_t *acc)
{
    (void)w_vals; (void)rows; (void)cols; (void)x; (void)acc;
    return -1; /* not compiled for AVX2 */
}

int svx_int_values_matvec_i16_avx2(const int16_t *w_vals, size_t rows, size_t cols,
                                   const int16_t *x, int32_t *acc)
{
    (void)w_vals; (void)rows; (void)cols; (void)x; (void)acc;
    return -1;
}

int svx_int_values_matmul_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols, const int8_t *x,
                                  size_t n_vec, int32_t *acc)
{
    (void)w_vals; (void)rows; (void)cols; (void)x; (void)n_vec; (void)acc;
    return -1;
}

int svx_int_avx2_built(void) { return 0; }
#endif
