/* AVX2 twin of svx_int_pow2_matvec_i8 for x86-64 hosts (model/INTEGER.md,
 * "Kernels"). Weights are given as their int8 values +-2^p (|code| <= 7): a
 * byte sign (vpsignb) and an unsigned-by-signed byte multiply-add (vpmaddubsw)
 * form |w|*sgn(w)*x exactly, so the integers equal the shift-add kernel's.
 * This uses the SIMD multiplier; targets without one use int_model.c.
 * Compiled with -mavx2 (Makefile rule for *_avx2.c); elsewhere a stub. */
#include "int_model.h"

#if defined(__AVX2__)
#include <immintrin.h>

int svx_int_pow2_values_matvec_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols,
                                        const int8_t *x, int32_t *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    size_t c32 = cols & ~(size_t)31;
    for (size_t r = 0; r < rows; r++) {
        const int8_t *w = w_vals + r * cols;
        __m256i a = _mm256_setzero_si256();
        for (size_t c = 0; c < c32; c += 32) {
            __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(w + c));
            __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(x + c));
            /* |w| (<= 64) times x*sgn(w): pairs sum to at most 2*64*127 < 2^15 */
            __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(p16, ones));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        int32_t t = _mm_cvtsi128_si32(s);
        for (size_t c = c32; c < cols; c++) t += (int32_t)w[c] * x[c];
        acc[r] = t;
    }
    return 0;
}
#else
int svx_int_pow2_values_matvec_i8_avx2(const int8_t *w_vals, size_t rows, size_t cols,
                                        const int8_t *x, int32_t *acc)
{
    (void)w_vals; (void)rows; (void)cols; (void)x; (void)acc;
    return -1; /* not compiled for AVX2 */
}
#endif
