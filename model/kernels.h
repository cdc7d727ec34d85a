/* Matrix-vector kernels of the acoustic model (private to libshiftvox; the
 * bench app and the tests include it too).
 *
 * Every kernel computes y = W x for one weight matrix W [rows x cols] in one
 * of model/ARCH.md's encodings, with the per-row scale alpha applied once
 * per output: y[r] = alpha[r] * sum_j code_value(r, j) * x[j].
 * Sums run over j = 0, 1, ..., cols-1 in order, one float accumulator per row,
 * starting at +0, so a SIMD kernel and its scalar twin give bit-identical
 * results for the power-of-two encodings (each term x * (+-2^p) is exact).
 *
 * The exponent-add guard (DenseShift/DeepShift): x * (+-2^p) is computed as
 * bits(x) + (p << 23), then xor of the sign bit, which is exact when x is a
 * normal float whose biased exponent E satisfies 1 <= E <= 247 (so E + p <=
 * 254 for every p <= 7). Inputs outside that range (+-0, subnormals, |x| >=
 * 2^121, inf, nan) are classified once per input (never per weight) and take
 * the exact path x * 2^p = ldexpf(x, p), which IEEE-rounds exactly like
 * a float multiply by 2^p (overflow to inf, nan stays nan). Zero inputs
 * contribute +-0 to every row, which cannot change a sum that starts at +0,
 * so the per-weight kernels skip them and the table kernels use a table of +0.
 * The table kernels add the sign as 2^31 together with the exponent (one
 * integer add: adding 2^31 flips bit 31 like xor, and the guarded exponent
 * add never carries into it).
 *
 * Small matrices (<= 32 rows, one pass over the row blocks; kernels_avx2.c
 * and kernels_avx512.c, "DIRECT") use each table once, so the x86 table
 * kernels make it in a register as x times the vector of the 8 code values
 * +-2^p (vmulps, one per input and pass, never per weight) instead of
 * storing and reloading it. That IEEE product equals the guarded exponent add
 * bit for bit and is exact for +-0, subnormals and overflow, so the guard
 * needs no branch there; non-finite inputs take the table path (inf * 0 and
 * the sign of a nan would differ from the scalar twin).
 *
 * Known limit: the sums are alpha-free (alpha multiplies once at the end), so
 * sum_j +-2^p x_j must stay below FLT_MAX even where alpha would bring the
 * result back into range; with |x| < 2^100 this cannot happen for any matrix
 * the loader accepts.
 */
#ifndef SVX_KERNELS_H
#define SVX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Weight encodings: numbers stored in the model file (model/FORMAT.md). */
enum { SVX_ENC_F32 = 0, SVX_ENC_I8 = 1, SVX_ENC_DENSESHIFT = 2, SVX_ENC_DEEPSHIFT = 3 };

/* Kernel variants. The SIMD ones are AVX2+FMA on x86-64 (kernels_avx2.c,
 * chosen at run time from the CPU) and NEON on AArch64 (kernels_neon.c);
 * the *_AVX512 ones need AVX-512 F+BW+VL (kernels_avx512.c, also chosen at
 * run time); the scalar ones are their portable twins. */
typedef enum {
    SVX_K_F32_REF = 0,     /* plain loops on row-major float weights */
    SVX_K_F32_SIMD,        /* 8-row interleaved float weights, fused multiply-add */
    SVX_K_I8_SCALAR,       /* int8 weights, float activations */
    SVX_K_I8_SIMD,
    SVX_K_DS_SCALAR,       /* DenseShift: per-weight exponent add, canonical codes */
    SVX_K_DS_EXP_SIMD,     /* DenseShift: per-weight exponent add, 8 rows per vector */
    SVX_K_DS_TABLE_SIMD,   /* DenseShift: per-input 8-entry table + vpermps by code */
    SVX_K_DPS_SCALAR,      /* DeepShift (zero code): per-weight exponent add + zero mask */
    SVX_K_DPS_EXP_SIMD,
    SVX_K_DPS_TABLE_SIMD,  /* DeepShift with the same table trick (fair comparison) */
    SVX_K_F32_AVX512,      /* 16-row interleaved float weights, zmm fused multiply-add */
    SVX_K_DS_TABLE_AVX512, /* DenseShift table kernel on zmm: 16 rows per vpermps */
    SVX_K_COUNT
} svx_kernel_id;

/* One weight matrix. The canonical data is kept as loaded; layouts for the
 * SIMD kernels are built by svx_wmat_prepare. All pointers owned. */
typedef struct {
    int enc;               /* SVX_ENC_* */
    int bits;              /* 32, 8 or 2..4 */
    int rows, cols;
    float *alpha;          /* [rows], NULL for f32 */
    uint8_t *codes;        /* shift encodings: ARCH.md bit stream (+8 zero bytes) */
    int8_t *q8;            /* i8: [rows][cols] */
    float *f32;            /* f32 weights, or the dequantised copy (SVX_K_F32_*) */
    float *f32_blk;        /* SVX_K_F32_SIMD layout: [rows/8 up][cols][8] */
    int8_t *q8_blk;        /* SVX_K_I8_SIMD layout: [rows/8 up][cols][8] */
    uint8_t *code_blk;     /* shift SIMD layout: block k, column j: 8 codes of
                              rows 8k..8k+7 in bits*8 bits at k*cols*bits + j*bits
                              (exp kernels; NEON table kernel) */
    uint32_t *code_lw;     /* x86 table kernels: lane words, see svx_lw_* below */
    float *f32_blk16;      /* SVX_K_F32_AVX512 layout: [rows/16 up][cols][16] */
    int kernel;            /* the kernel svx_matvec uses by default */
} svx_wmat;

/* Copies canonical data into w. data: f32 float[rows*cols]; i8 int8[rows*cols];
 * shift encodings one code per byte [rows*cols] (packed here). alpha: [rows]
 * (ignored for f32). Returns SVX_OK or SVX_ERR_NO_MEMORY. */
int svx_wmat_init(svx_wmat *w, int enc, int bits, int rows, int cols, const float *alpha,
                  const void *data);
/* Same, with shift codes already packed (ARCH.md bit stream, ceil(rows*cols*bits/8) bytes). */
int svx_wmat_init_packed(svx_wmat *w, int enc, int bits, int rows, int cols, const float *alpha,
                         const void *packed);
void svx_wmat_free(svx_wmat *w);

/* Code of weight (r, j) read from the canonical bit stream. */
unsigned svx_wmat_code(const svx_wmat *w, int r, int j);
/* Exact float value of weight (r, j) (alpha included), ARCH.md's rule. */
float svx_wmat_value(const svx_wmat *w, int r, int j);

/* 1 if kernel k can run matrix w on this CPU (encoding matches, SIMD available). */
int svx_kernel_supported(const svx_wmat *w, svx_kernel_id k);
/* Builds the layout kernel k needs (allocates; call at load time, not per frame). */
int svx_wmat_prepare(svx_wmat *w, svx_kernel_id k);
/* The kernel chosen for w by an svx_kernel_choice (SVX_KERNEL_AUTO / SCALAR / FLOAT_REF). */
svx_kernel_id svx_kernel_pick(const svx_wmat *w, int choice);
const char *svx_kernel_name(svx_kernel_id k);
/* Bytes of weight data kernel k reads per matvec (codes/values plus alpha). */
size_t svx_kernel_weight_bytes(const svx_wmat *w, svx_kernel_id k);

/* Floats of scratch svx_matvec needs for w (32-byte aligned memory). */
size_t svx_matvec_scratch_floats(const svx_wmat *w);
/* y[rows] = W x[cols] with kernel k (prepared). scratch: svx_matvec_scratch_floats
 * floats, 32-byte aligned. Never allocates. */
void svx_matvec(const svx_wmat *w, svx_kernel_id k, const float *x, float *y, float *scratch);

/* Several input vectors at once (a convolution's frequency positions, all
 * with the same weights): y[p*rows .. p*rows+rows) = W x[p*cols .. p*cols+cols)
 * for p = 0 .. n_pos-1. Every output is bit-identical to svx_matvec on that
 * vector (same terms, same order per row). Kernels with a multi-position path
 * (float32 and the table kernels on AVX2) run up to SVX_MM_MAX_POS positions
 * per pass, sharing each weight load (float32) or lane-word load and index op
 * (table) between them and keeping positions x blocks accumulator chains; the
 * others loop over svx_matvec. scratch: svx_matmul_scratch_floats floats,
 * 32-byte aligned. Never allocates. */
#define SVX_MM_MAX_POS 4
size_t svx_matmul_scratch_floats(const svx_wmat *w);
void svx_matmul(const svx_wmat *w, svx_kernel_id k, const float *x, int n_pos, float *y,
                float *scratch);

/* 32-byte aligned zeroed memory from malloc; release with svx_free32(NULL ok). */
void *svx_alloc32(size_t n_bytes);
void svx_free32(void *p);

/* 1 if the SIMD kernels can run: x86-64 with AVX2 and FMA (checked at run
 * time), or AArch64 (NEON is part of the architecture). */
int svx_cpu_has_simd(void);

/* The exponent-add guard: 1 if x * 2^p for 0 <= p <= 7 may be done by adding
 * p to the exponent field (x normal, biased exponent in [1, 247]). */
static inline int svx_shift_safe(uint32_t xbits)
{
    uint32_t e = (xbits >> 23) & 0xFFu;
    return e >= 1u && e <= 247u;
}

/* The 8-entry table of one input x for the table kernels: entry i is the
 * weight-code value of index i (low 3 bits of the lane's shifted code word)
 * times x, exact (see the guard above). For 4-bit codes the table holds
 * x * 2^i and the sign bit is applied by the kernel. */
void svx_shift_table(int enc, int bits, float x, float *t8);

/* Lane-word layout of the x86 table kernels (code_lw), built at load time
 * from the canonical codes (model/FORMAT.md's file layout is unchanged).
 * Rows go in groups of 16 (padded with code 0); each row of a group owns one
 * uint32 "lane word" per svx_lw_per_word(bits) consecutive columns:
 *   code_lw[(group * n_words + g) * 16 + row % 16], n_words = svx_lw_n_words,
 * column j = g * n + c in word g. The word is two 16-bit halves, each holding
 * h = 16 / bits codes LSB-first: code c at bit bits*c for c < h, at bit
 * 16 + bits*(c - h) for c >= h. Why: a vector of 8 (16) lane words of one
 * column group then yields each column's vpermps index with one integer op
 * (code 0: none; other codes in a half: vpmulhuw by 2^(16 - shift), which
 * runs on the integer-multiply pipes, not the shuffle pipes that vpermps
 * needs; the high half: one vpsrld), instead of a broadcast + vpsrlvd per
 * column and block. vpermps reads only the low 3 (4) index bits, so the
 * codes above need no masking. 3-bit codes: 10 per word = 3.2 bits per
 * weight (float32 / this = 10x); 2-bit 16 per word; 4-bit 8 per word. The
 * AVX2 kernel reads a group as two blocks of 8 lanes. */
static inline int svx_lw_per_word(int bits) { return 2 * (16 / bits); }
static inline int svx_lw_n_words(int bits, int cols)
{
    return (cols + svx_lw_per_word(bits) - 1) / svx_lw_per_word(bits);
}
static inline int svx_lw_bitpos(int bits, int c)
{
    int h = 16 / bits;
    return c < h ? bits * c : 16 + bits * (c - h);
}

/* SIMD implementations (kernels_avx2.c or kernels_neon.c); only called when
 * svx_cpu_has_simd(). svx_simd_name() is "avx2", "neon" or "none". */
const char *svx_simd_name(void);
void svx_mv_f32_simd(const svx_wmat *w, const float *x, float *y);
void svx_mv_i8_simd(const svx_wmat *w, const float *x, float *y);
void svx_mv_shift_table_simd(const svx_wmat *w, const float *x, float *y, float *scratch);
void svx_mv_shift_exp_simd(const svx_wmat *w, const float *x, float *y, float *scratch);
int svx_simd_compiled(void);
void svx_mm_f32_simd(const svx_wmat *w, const float *x, int n_pos, float *y);
void svx_mm_shift_table_simd(const svx_wmat *w, const float *x, int n_pos, float *y, float *scratch);

/* AVX-512 implementations (kernels_avx512.c, compiled with -mavx512f
 * -mavx512bw -mavx512vl); only called when svx_cpu_has_avx512(). */
int svx_cpu_has_avx512(void);
int svx_avx512_compiled(void);
void svx_mv_f32_avx512(const svx_wmat *w, const float *x, float *y);
void svx_mv_shift_table_avx512(const svx_wmat *w, const float *x, float *y, float *scratch);

#endif
