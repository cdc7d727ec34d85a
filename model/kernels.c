/* Scalar kernels, weight layouts and run-time dispatch (see kernels.h). */
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svx_internal.h"

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* 64-byte (so also 32-byte) aligned, zeroed memory obtained from malloc (so that the test
 * runner's counting malloc sees every allocation); free with svx_free32. */
void *svx_alloc32(size_t n_bytes)
{
    if (n_bytes > SIZE_MAX - 128u)
        return NULL;
    unsigned char *raw = malloc(n_bytes + 128u);
    if (!raw)
        return NULL;
    /* 64-byte (cache line, zmm) alignment, room for the raw pointer before it */
    uintptr_t a = ((uintptr_t)raw + 64u + 63u) & ~(uintptr_t)63u;
    unsigned char *p = (unsigned char *)a;
    memcpy(p - sizeof raw, &raw, sizeof raw);
    memset(p, 0, n_bytes);
    return p;
}

void svx_free32(void *p)
{
    if (!p)
        return;
    unsigned char *raw;
    memcpy(&raw, (unsigned char *)p - sizeof raw, sizeof raw);
    free(raw);
}

static void *alloc32(size_t n_bytes) { return svx_alloc32(n_bytes); }

int svx_cpu_has_simd(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* no cache: __builtin_cpu_supports only reads flags set at start-up, and
     * an unsynchronised cache would race when threads load models at once */
    return svx_simd_compiled() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return svx_simd_compiled();
#endif
}

/* 1 if the AVX-512 kernels can run: an AVX-512 build of kernels_avx512.c
 * and a CPU (and OS, which libgcc checks through XCR0) with F, BW and VL. */
int svx_cpu_has_avx512(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return svx_avx512_compiled() && svx_cpu_has_simd() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
    return 0; /* no reference to kernels_avx512.c: other targets may link without it */
#endif
}

/* The x86 table kernels read the lane-word layout (kernels.h); NEON keeps code_blk. */
#if defined(__x86_64__)
#define SVX_TABLE_LW 1
#else
#define SVX_TABLE_LW 0
#endif

static size_t packed_bytes(int rows, int cols, int bits)
{
    return ((size_t)rows * (size_t)cols * (size_t)bits + 7u) / 8u;
}

static int init_common(svx_wmat *w, int enc, int bits, int rows, int cols, const float *alpha)
{
    memset(w, 0, sizeof *w);
    w->enc = enc;
    w->bits = bits;
    w->rows = rows;
    w->cols = cols;
    w->kernel = SVX_K_F32_REF;
    if (enc != SVX_ENC_F32) {
        w->alpha = alloc32((size_t)rows * sizeof(float));
        if (!w->alpha)
            return SVX_ERR_NO_MEMORY;
        memcpy(w->alpha, alpha, (size_t)rows * sizeof(float));
    }
    return SVX_OK;
}

int svx_wmat_init_packed(svx_wmat *w, int enc, int bits, int rows, int cols, const float *alpha,
                         const void *packed)
{
    int rc = init_common(w, enc, bits, rows, cols, alpha);
    size_t n = (size_t)rows * (size_t)cols;
    if (rc < 0)
        return rc;
    if (enc == SVX_ENC_F32) {
        w->f32 = alloc32(n * sizeof(float));
        if (!w->f32)
            goto oom;
        memcpy(w->f32, packed, n * sizeof(float));
    } else if (enc == SVX_ENC_I8) {
        w->q8 = alloc32(n);
        if (!w->q8)
            goto oom;
        memcpy(w->q8, packed, n);
    } else {
        size_t nb = packed_bytes(rows, cols, bits);
        w->codes = alloc32(nb + 8); /* the scalar kernels read 2 bytes per code */
        if (!w->codes)
            goto oom;
        memcpy(w->codes, packed, nb);
    }
    return SVX_OK;
oom:
    svx_wmat_free(w);
    return SVX_ERR_NO_MEMORY;
}

int svx_wmat_init(svx_wmat *w, int enc, int bits, int rows, int cols, const float *alpha,
                  const void *data)
{
    if (enc != SVX_ENC_DENSESHIFT && enc != SVX_ENC_DEEPSHIFT)
        return svx_wmat_init_packed(w, enc, bits, rows, cols, alpha, data);
    size_t n = (size_t)rows * (size_t)cols;
    uint8_t *tmp = calloc(packed_bytes(rows, cols, bits) + 1, 1);
    if (!tmp)
        return SVX_ERR_NO_MEMORY;
    const uint8_t *c = data;
    for (size_t i = 0; i < n; i++) {
        size_t pos = i * (size_t)bits;
        unsigned v = (unsigned)(c[i] & ((1u << bits) - 1u)) << (pos & 7u);
        tmp[pos >> 3] |= (uint8_t)(v & 0xFFu);
        tmp[(pos >> 3) + 1] |= (uint8_t)(v >> 8);
    }
    int rc = svx_wmat_init_packed(w, enc, bits, rows, cols, alpha, tmp);
    free(tmp);
    return rc;
}

void svx_wmat_free(svx_wmat *w)
{
    if (!w)
        return;
    svx_free32(w->alpha);
    svx_free32(w->codes);
    svx_free32(w->q8);
    svx_free32(w->f32);
    svx_free32(w->f32_blk);
    svx_free32(w->q8_blk);
    svx_free32(w->code_blk);
    svx_free32(w->code_lw);
    svx_free32(w->f32_blk16);
    memset(w, 0, sizeof *w);
}

static inline unsigned code_at(const uint8_t *codes, size_t idx, int bits)
{
    size_t pos = idx * (size_t)bits;
    unsigned two = (unsigned)codes[pos >> 3] | ((unsigned)codes[(pos >> 3) + 1] << 8);
    return (two >> (pos & 7u)) & ((1u << bits) - 1u);
}

unsigned svx_wmat_code(const svx_wmat *w, int r, int j)
{
    return code_at(w->codes, (size_t)r * (size_t)w->cols + (size_t)j, w->bits);
}

/* Sign (0/1), exponent and zero flag of a power-of-two code (ARCH.md). */
static inline void decode_shift(int enc, int bits, unsigned code, unsigned *s, unsigned *p,
                                int *zero)
{
    unsigned field = code & ((1u << (bits - 1)) - 1u);
    *s = (code >> (bits - 1)) & 1u;
    *zero = 0;
    if (enc == SVX_ENC_DENSESHIFT) {
        *p = field;
    } else {
        *zero = field == 0;
        *p = field ? field - 1u : 0u;
    }
}

float svx_wmat_value(const svx_wmat *w, int r, int j)
{
    size_t i = (size_t)r * (size_t)w->cols + (size_t)j;
    if (w->enc == SVX_ENC_F32)
        return w->f32[i];
    if (w->enc == SVX_ENC_I8)
        return w->alpha[r] * (float)w->q8[i];
    unsigned s, p;
    int zero;
    decode_shift(w->enc, w->bits, code_at(w->codes, i, w->bits), &s, &p, &zero);
    if (zero)
        return 0.0f;
    float v = ldexpf(w->alpha[r], (int)p);
    return s ? -v : v;
}

/* x * (+-2^p), exact: the exponent add when the guard allows, ldexpf otherwise. */
static inline float shift_term(float x, unsigned p, unsigned s)
{
    uint32_t xb = f2u(x), r;
    if (svx_shift_safe(xb))
        r = xb + (p << 23);
    else
        r = f2u(ldexpf(x, (int)p));
    return u2f(r ^ (s << 31));
}

void svx_shift_table(int enc, int bits, float x, float *t8)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned code = bits == 2 ? (i & 3u) : i, s, p;
        int zero;
        if (bits == 4) {
            /* magnitude index only: the kernel applies the sign bit */
            decode_shift(enc, 4, i, &s, &p, &zero);
        } else {
            decode_shift(enc, bits, code, &s, &p, &zero);
        }
        t8[i] = zero ? 0.0f : shift_term(x, p, s);
    }
}

static void mv_f32_ref(const svx_wmat *w, const float *x, float *y)
{
    const float *W = w->f32;
    for (int r = 0; r < w->rows; r++) {
        const float *row = W + (size_t)r * (size_t)w->cols;
        float acc = 0.0f;
        for (int j = 0; j < w->cols; j++)
            acc += row[j] * x[j];
        y[r] = acc;
    }
}

static void mv_i8_scalar(const svx_wmat *w, const float *x, float *y)
{
    for (int r = 0; r < w->rows; r++) {
        const int8_t *row = w->q8 + (size_t)r * (size_t)w->cols;
        float acc = 0.0f;
        for (int j = 0; j < w->cols; j++)
            acc += (float)row[j] * x[j];
        y[r] = w->alpha[r] * acc;
    }
}

/* The literal DenseShift / DeepShift kernels: per weight, add p to the
 * input's exponent field and xor the sign (DeepShift: and mask the zero code). */
static void mv_shift_scalar(const svx_wmat *w, const float *x, float *y)
{
    const int bits = w->bits, cols = w->cols;
    const unsigned pmask = (1u << (bits - 1)) - 1u;
    const int dense = w->enc == SVX_ENC_DENSESHIFT;
    for (int r = 0; r < w->rows; r++) {
        size_t base = (size_t)r * (size_t)cols;
        float acc = 0.0f;
        for (int j = 0; j < cols; j++) {
            if (x[j] == 0.0f)
                continue; /* +-0 terms cannot change a sum that starts at +0 */
            unsigned c = code_at(w->codes, base + (size_t)j, bits);
            unsigned field = c & pmask, s = c >> (bits - 1);
            uint32_t xb = f2u(x[j]);
            uint32_t t;
            if (dense) {
                t = svx_shift_safe(xb) ? xb + (field << 23) : f2u(ldexpf(x[j], (int)field));
            } else {
                unsigned p = field ? field - 1u : 0u;
                t = svx_shift_safe(xb) ? xb + (p << 23) : f2u(ldexpf(x[j], (int)p));
                t &= field ? 0xFFFFFFFFu : 0u;
                s &= field ? 1u : 0u;
            }
            acc += u2f(t ^ (s << 31));
        }
        y[r] = w->alpha[r] * acc;
    }
}

int svx_kernel_supported(const svx_wmat *w, svx_kernel_id k)
{
    int avx = svx_cpu_has_simd(), avx512 = svx_cpu_has_avx512();
    switch (k) {
    case SVX_K_F32_AVX512: return avx512;
    case SVX_K_DS_TABLE_AVX512: return avx512 && w->enc == SVX_ENC_DENSESHIFT;
    case SVX_K_F32_REF: return 1;
    case SVX_K_F32_SIMD: return avx;
    case SVX_K_I8_SCALAR: return w->enc == SVX_ENC_I8;
    case SVX_K_I8_SIMD: return avx && w->enc == SVX_ENC_I8;
    case SVX_K_DS_SCALAR: return w->enc == SVX_ENC_DENSESHIFT;
    case SVX_K_DS_EXP_SIMD:
    case SVX_K_DS_TABLE_SIMD: return avx && w->enc == SVX_ENC_DENSESHIFT;
    case SVX_K_DPS_SCALAR: return w->enc == SVX_ENC_DEEPSHIFT;
    case SVX_K_DPS_EXP_SIMD:
    case SVX_K_DPS_TABLE_SIMD: return avx && w->enc == SVX_ENC_DEEPSHIFT;
    default: return 0;
    }
}

static int ensure_f32(svx_wmat *w)
{
    if (w->f32)
        return SVX_OK;
    w->f32 = alloc32((size_t)w->rows * (size_t)w->cols * sizeof(float));
    if (!w->f32)
        return SVX_ERR_NO_MEMORY;
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < w->cols; j++)
            w->f32[(size_t)r * (size_t)w->cols + (size_t)j] = svx_wmat_value(w, r, j);
    return SVX_OK;
}

/* code_blk of kernels.h: 8-row blocks, bits*8 bits per column. */
static int prepare_code_blk(svx_wmat *w)
{
    const size_t blocks = ((size_t)w->rows + 7u) / 8u, cols = (size_t)w->cols;
    if (w->code_blk)
        return SVX_OK;
    /* +4 bytes: the kernels load 32 bits at the last column */
    w->code_blk = alloc32(blocks * cols * (size_t)w->bits + 4u);
    if (!w->code_blk)
        return SVX_ERR_NO_MEMORY;
    for (int r = 0; r < w->rows; r++)
        for (size_t j = 0; j < cols; j++) {
            size_t bitpos = ((size_t)r / 8u * cols + j) * (size_t)w->bits * 8u +
                            ((size_t)r % 8u) * (size_t)w->bits;
            unsigned v = svx_wmat_code(w, r, (int)j) << (bitpos & 7u);
            w->code_blk[bitpos >> 3] |= (uint8_t)(v & 0xFFu);
            w->code_blk[(bitpos >> 3) + 1] |= (uint8_t)(v >> 8);
        }
    return SVX_OK;
}

/* code_lw of kernels.h: lane words, groups of 16 rows, zero-padded. */
static int prepare_lane_words(svx_wmat *w)
{
    if (w->code_lw)
        return SVX_OK;
    const int bits = w->bits, n = svx_lw_per_word(bits), nw = svx_lw_n_words(bits, w->cols);
    const size_t groups = ((size_t)w->rows + 15u) / 16u;
    w->code_lw = alloc32(groups * (size_t)nw * 16u * sizeof(uint32_t));
    if (!w->code_lw)
        return SVX_ERR_NO_MEMORY;
    for (int r = 0; r < w->rows; r++)
        for (int j = 0; j < w->cols; j++)
            w->code_lw[((size_t)r / 16u * (size_t)nw + (size_t)(j / n)) * 16u + (size_t)r % 16u] |=
                (uint32_t)svx_wmat_code(w, r, j) << svx_lw_bitpos(bits, j % n);
    return SVX_OK;
}

int svx_wmat_prepare(svx_wmat *w, svx_kernel_id k)
{
    const size_t blocks = ((size_t)w->rows + 7u) / 8u, cols = (size_t)w->cols;
    if (!svx_kernel_supported(w, k))
        return svx_fail(SVX_ERR_INVALID_ARG, "kernel %s cannot run a %d-bit encoding-%d matrix here",
                        svx_kernel_name(k), w->bits, w->enc);
    switch (k) {
    case SVX_K_F32_REF: return ensure_f32(w);
    case SVX_K_F32_SIMD:
        if (ensure_f32(w) < 0)
            return SVX_ERR_NO_MEMORY;
        if (!w->f32_blk) {
            w->f32_blk = alloc32(blocks * cols * 8u * sizeof(float));
            if (!w->f32_blk)
                return SVX_ERR_NO_MEMORY;
            for (int r = 0; r < w->rows; r++)
                for (size_t j = 0; j < cols; j++)
                    w->f32_blk[((size_t)r / 8u * cols + j) * 8u + (size_t)r % 8u] =
                        w->f32[(size_t)r * cols + j];
        }
        return SVX_OK;
    case SVX_K_I8_SIMD:
        if (!w->q8_blk) {
            w->q8_blk = alloc32(blocks * cols * 8u + 8u);
            if (!w->q8_blk)
                return SVX_ERR_NO_MEMORY;
            for (int r = 0; r < w->rows; r++)
                for (size_t j = 0; j < cols; j++)
                    w->q8_blk[((size_t)r / 8u * cols + j) * 8u + (size_t)r % 8u] =
                        w->q8[(size_t)r * cols + j];
        }
        return SVX_OK;
    case SVX_K_F32_AVX512:
        if (ensure_f32(w) < 0)
            return SVX_ERR_NO_MEMORY;
        if (!w->f32_blk16) {
            const size_t groups = ((size_t)w->rows + 15u) / 16u;
            w->f32_blk16 = alloc32(groups * cols * 16u * sizeof(float));
            if (!w->f32_blk16)
                return SVX_ERR_NO_MEMORY;
            for (int r = 0; r < w->rows; r++)
                for (size_t j = 0; j < cols; j++)
                    w->f32_blk16[((size_t)r / 16u * cols + j) * 16u + (size_t)r % 16u] =
                        w->f32[(size_t)r * cols + j];
        }
        return SVX_OK;
    case SVX_K_DS_TABLE_SIMD:
    case SVX_K_DPS_TABLE_SIMD:
    case SVX_K_DS_TABLE_AVX512:
        return SVX_TABLE_LW ? prepare_lane_words(w) : prepare_code_blk(w);
    case SVX_K_DS_EXP_SIMD:
    case SVX_K_DPS_EXP_SIMD: return prepare_code_blk(w);
    default: return SVX_OK;
    }
}

svx_kernel_id svx_kernel_pick(const svx_wmat *w, int choice)
{
    int avx = choice == SVX_KERNEL_AUTO && svx_cpu_has_simd();
    if (choice == SVX_KERNEL_FLOAT_REF)
        return SVX_K_F32_REF;
    switch (w->enc) {
    case SVX_ENC_I8: return avx ? SVX_K_I8_SIMD : SVX_K_I8_SCALAR;
    /* The AVX-512 table kernel is not picked: on the bundled model's shapes it
     * measured no faster than the AVX2 one (model/BENCH.md). */
    case SVX_ENC_DENSESHIFT: return avx ? SVX_K_DS_TABLE_SIMD : SVX_K_DS_SCALAR;
    case SVX_ENC_DEEPSHIFT: return avx ? SVX_K_DPS_TABLE_SIMD : SVX_K_DPS_SCALAR;
    default: return avx ? SVX_K_F32_SIMD : SVX_K_F32_REF;
    }
}

const char *svx_kernel_name(svx_kernel_id k)
{
#if defined(__aarch64__)
#define SVX_SIMD_SUFFIX "neon"
#else
#define SVX_SIMD_SUFFIX "avx2"
#endif
    static const char *const names[SVX_K_COUNT] = {
        "f32-scalar", "f32-" SVX_SIMD_SUFFIX, "i8-scalar", "i8-" SVX_SIMD_SUFFIX,
        "denseshift-scalar", "denseshift-exp-" SVX_SIMD_SUFFIX, "denseshift-table-" SVX_SIMD_SUFFIX,
        "deepshift-scalar", "deepshift-exp-" SVX_SIMD_SUFFIX, "deepshift-table-" SVX_SIMD_SUFFIX,
        "f32-avx512", "denseshift-table-avx512"};
    return (unsigned)k < SVX_K_COUNT ? names[k] : "?";
}

size_t svx_kernel_weight_bytes(const svx_wmat *w, svx_kernel_id k)
{
    size_t n = (size_t)w->rows * (size_t)w->cols, alpha = (size_t)w->rows * 4u;
    size_t padded = ((size_t)w->rows + 7u) / 8u * 8u * (size_t)w->cols;
    switch (k) {
    case SVX_K_F32_REF: return n * 4u;
    case SVX_K_F32_SIMD: return padded * 4u;
    case SVX_K_I8_SCALAR: return n + alpha;
    case SVX_K_I8_SIMD: return padded + alpha;
    case SVX_K_DS_SCALAR:
    case SVX_K_DPS_SCALAR: return packed_bytes(w->rows, w->cols, w->bits) + alpha;
    case SVX_K_F32_AVX512: return ((size_t)w->rows + 15u) / 16u * 16u * (size_t)w->cols * 4u;
    case SVX_K_DS_TABLE_SIMD:
    case SVX_K_DPS_TABLE_SIMD:
    case SVX_K_DS_TABLE_AVX512:
        if (SVX_TABLE_LW)
            return ((size_t)w->rows + 15u) / 16u * 16u * (size_t)svx_lw_n_words(w->bits, w->cols) * 4u +
                   alpha;
        return padded * (size_t)w->bits / 8u + alpha;
    default: return padded * (size_t)w->bits / 8u + alpha;
    }
}

size_t svx_matvec_scratch_floats(const svx_wmat *w)
{
    return (size_t)w->cols * 8u + 8u;
}

size_t svx_matmul_scratch_floats(const svx_wmat *w)
{
    return (size_t)SVX_MM_MAX_POS * (size_t)w->cols * 8u + 8u;
}

void svx_matmul(const svx_wmat *w, svx_kernel_id k, const float *x, int n_pos, float *y,
                float *scratch)
{
#if defined(__x86_64__)
    switch (k) {
    case SVX_K_F32_SIMD: svx_mm_f32_simd(w, x, n_pos, y); return;
    case SVX_K_DS_TABLE_SIMD:
    case SVX_K_DPS_TABLE_SIMD: svx_mm_shift_table_simd(w, x, n_pos, y, scratch); return;
    default: break;
    }
#endif
    for (int p = 0; p < n_pos; p++)
        svx_matvec(w, k, x + (size_t)p * (size_t)w->cols, y + (size_t)p * (size_t)w->rows, scratch);
}

void svx_matvec(const svx_wmat *w, svx_kernel_id k, const float *x, float *y, float *scratch)
{
    switch (k) {
    case SVX_K_F32_SIMD: svx_mv_f32_simd(w, x, y); return;
    case SVX_K_I8_SCALAR: mv_i8_scalar(w, x, y); return;
    case SVX_K_I8_SIMD: svx_mv_i8_simd(w, x, y); return;
    case SVX_K_DS_SCALAR:
    case SVX_K_DPS_SCALAR: mv_shift_scalar(w, x, y); return;
    case SVX_K_DS_EXP_SIMD:
    case SVX_K_DPS_EXP_SIMD: svx_mv_shift_exp_simd(w, x, y, scratch); return;
    case SVX_K_DS_TABLE_SIMD:
    case SVX_K_DPS_TABLE_SIMD: svx_mv_shift_table_simd(w, x, y, scratch); return;
#if defined(__x86_64__)
    case SVX_K_F32_AVX512: svx_mv_f32_avx512(w, x, y); return;
    case SVX_K_DS_TABLE_AVX512: svx_mv_shift_table_avx512(w, x, y, scratch); return;
#endif
    default: mv_f32_ref(w, x, y); return;
    }
}
