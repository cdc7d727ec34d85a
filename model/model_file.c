/* Model file (.svxm) reader and writer. The layout is model/FORMAT.md;
 * train/svxmodel.py is the Python twin. The reader trusts nothing: every
 * read is bounded, every count, shape and offset is checked with overflow-
 * safe arithmetic, and each failure names what was found and what was
 * expected. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "svx_internal.h"

const char *const svx_default_symbols[29] = {
    "", " ", "'", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
    "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};

/* ---- little-endian field reader, bounded by end ---- */

typedef struct {
    const uint8_t *p;
    size_t end, pos;
    const char *src;
    const char *what;   /* section being read, for messages */
} reader;

static int need(reader *r, size_t n)
{
    if (n > r->end - r->pos)
        return svx_fail(SVX_ERR_TRUNCATED,
                        "%s: %s at byte %zu needs %zu bytes but the data ends at byte %zu",
                        r->src, r->what, r->pos, n, r->end);
    return SVX_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static float lef32(const uint8_t *p)
{
    uint32_t u = le32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int rd_u8(reader *r, uint32_t *v)
{
    if (need(r, 1) < 0)
        return SVX_ERR_TRUNCATED;
    *v = r->p[r->pos++];
    return SVX_OK;
}

static int rd_u32(reader *r, uint32_t *v)
{
    if (need(r, 4) < 0)
        return SVX_ERR_TRUNCATED;
    *v = le32(r->p + r->pos);
    r->pos += 4;
    return SVX_OK;
}

static int rd_u64(reader *r, uint64_t *v)
{
    if (need(r, 8) < 0)
        return SVX_ERR_TRUNCATED;
    *v = le64(r->p + r->pos);
    r->pos += 8;
    return SVX_OK;
}

/* A length-prefixed (u8) string of at most max bytes into buf[max+1]. */
static int rd_str(reader *r, char *buf, uint32_t max, const char *what)
{
    uint32_t n;
    if (rd_u8(r, &n) < 0)
        return SVX_ERR_TRUNCATED;
    if (n > max)
        return svx_fail(SVX_ERR_SHAPE, "%s: %s at byte %zu is %u bytes long, at most %u allowed",
                        r->src, what, r->pos - 1, n, max);
    if (need(r, n) < 0)
        return SVX_ERR_TRUNCATED;
    memcpy(buf, r->p + r->pos, n);
    buf[n] = '\0';
    r->pos += n;
    return SVX_OK;
}

#define TRY(expr)            \
    do {                     \
        rc = (expr);         \
        if (rc < 0)          \
            goto fail;       \
    } while (0)

/* Parameter counts and tensor slots per layer type. */
static int layer_n_params(int type)
{
    switch (type) {
    case SVX_LAYER_NORM: return 1;
    case SVX_LAYER_CONV2D: return 10;
    case SVX_LAYER_GRU: return 2;
    case SVX_LAYER_LINEAR: return 3;
    case SVX_LAYER_LOGSOFTMAX: return 1;
    case SVX_LAYER_INT_INPUT: return 2;
    case SVX_LAYER_INT_CONV2D: return 11;
    case SVX_LAYER_INT_GRU: return 3;
    case SVX_LAYER_INT_LINEAR: return 5;
    default: return -1;
    }
}

static int layer_n_tensors(int type)
{
    switch (type) {
    case SVX_LAYER_NORM: return 2;
    case SVX_LAYER_CONV2D: return 2;
    case SVX_LAYER_GRU: return 4;
    case SVX_LAYER_LINEAR: return 2;
    case SVX_LAYER_INT_INPUT: return 2;
    case SVX_LAYER_INT_CONV2D: return 4;
    case SVX_LAYER_INT_GRU: return 9;
    case SVX_LAYER_INT_LINEAR: return 4;
    default: return 0;
    }
}

static const char *layer_type_name(int type)
{
    switch (type) {
    case SVX_LAYER_NORM: return "norm";
    case SVX_LAYER_CONV2D: return "conv2d";
    case SVX_LAYER_GRU: return "gru";
    case SVX_LAYER_LINEAR: return "linear";
    case SVX_LAYER_LOGSOFTMAX: return "logsoftmax";
    case SVX_LAYER_INT_INPUT: return "int_input";
    case SVX_LAYER_INT_CONV2D: return "int_conv2d";
    case SVX_LAYER_INT_GRU: return "int_gru";
    case SVX_LAYER_INT_LINEAR: return "int_linear";
    default: return "?";
    }
}

typedef struct {
    char name[SVX_MAX_NAME_BYTES + 1];
    uint32_t enc, bits, ndim, dims[2];
    uint64_t offset, n_bytes;
} tensor_entry;

typedef struct {
    uint32_t type;
    char name[SVX_MAX_NAME_BYTES + 1];
    int32_t params[SVX_MAX_LAYER_PARAMS];
    uint32_t tensor[SVX_MAX_LAYER_TENSORS];
} layer_entry;

/* Expected stored size of a tensor, or 0 on overflow (checked by caller). */
static uint64_t tensor_expected_bytes(const tensor_entry *t)
{
    uint64_t n = t->dims[0];
    if (t->ndim == 2)
        n *= t->dims[1]; /* dims <= 65536 each: no overflow in 64 bits */
    if (t->enc == SVX_ENC_F32 || t->enc == SVX_ENC_INT32)
        return n * 4u;
    if (t->enc == SVX_ENC_INT8)
        return n;
    if (t->ndim != 2)
        return 0;
    uint64_t alpha = (uint64_t)t->dims[0] * 4u;
    if (t->enc == SVX_ENC_I8)
        return alpha + n;
    return alpha + (n * t->bits + 7u) / 8u;
}

static int check_encoding(const char *src, const tensor_entry *t)
{
    int ok;
    switch (t->enc) {
    case SVX_ENC_F32: ok = t->bits == 32; break;
    case SVX_ENC_I8: ok = t->bits == 8; break;
    case SVX_ENC_DENSESHIFT:
    case SVX_ENC_DEEPSHIFT: ok = t->bits >= 2 && t->bits <= 4; break;
    case SVX_ENC_INT8: ok = t->bits == 8; break;
    case SVX_ENC_INT32: ok = t->bits == 32; break;
    default:
        return svx_fail(SVX_ERR_ENCODING,
                        "%s: tensor '%s' has encoding %u; this software knows 0 (f32), 1 (i8), "
                        "2 (denseshift), 3 (deepshift), 4 (int8), 5 (int32)", src, t->name, t->enc);
    }
    if (!ok)
        return svx_fail(SVX_ERR_ENCODING,
                        "%s: tensor '%s' has encoding %u with %u bits; expected f32/32, i8/8, "
                        "2..4 bits for power-of-two codes, int8/8 or int32/32", src, t->name,
                        t->enc, t->bits);
    return SVX_OK;
}

static int check_finite(const char *src, const char *name, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float f = lef32(p + 4 * i);
        if (!isfinite(f))
            return svx_fail(SVX_ERR_FORMAT, "%s: tensor '%s' value %zu is %g; expected a finite float",
                            src, name, i, (double)f);
    }
    return SVX_OK;
}

static float *decode_f32(const uint8_t *p, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    if (v)
        for (size_t i = 0; i < n; i++)
            v[i] = lef32(p + 4 * i);
    return v;
}

/* A vector tensor: f32, 1-D, n values. */
static int bind_vector(const char *src, const uint8_t *data, const tensor_entry *t,
                       const char *layer, uint32_t n, float **out)
{
    if (t->enc != SVX_ENC_F32)
        return svx_fail(SVX_ERR_ENCODING, "%s: layer '%s' tensor '%s' must be f32, found encoding %u",
                        src, layer, t->name, t->enc);
    if (t->ndim != 1 || t->dims[0] != n)
        return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' tensor '%s' has %u dims [%u%s], expected [%u]",
                        src, layer, t->name, t->ndim, t->dims[0], t->ndim == 2 ? ", ..." : "", n);
    int rc = check_finite(src, t->name, data + t->offset, n);
    if (rc < 0)
        return rc;
    *out = decode_f32(data + t->offset, n);
    return *out ? SVX_OK : svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
}

static int bind_matrix(const char *src, const uint8_t *data, const tensor_entry *t,
                       const char *layer, uint32_t rows, uint32_t cols, svx_wmat *w)
{
    if (t->ndim != 2 || t->dims[0] != rows || t->dims[1] != cols)
        return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' tensor '%s' is %u x %u, expected %u x %u",
                        src, layer, t->name, t->dims[0], t->ndim == 2 ? t->dims[1] : 1u, rows, cols);
    const uint8_t *p = data + t->offset;
    size_t n = (size_t)rows * cols;
    int rc;
    if (t->enc == SVX_ENC_INT8 || t->enc == SVX_ENC_INT32)
        return svx_fail(SVX_ERR_ENCODING, "%s: layer '%s' tensor '%s' has the integer-graph "
                        "encoding %u; a float layer's weights are f32, i8, denseshift or deepshift",
                        src, layer, t->name, t->enc);
    if (t->enc == SVX_ENC_F32) {
        if ((rc = check_finite(src, t->name, p, n)) < 0)
            return rc;
        float *v = decode_f32(p, n);
        if (!v)
            return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        rc = svx_wmat_init_packed(w, SVX_ENC_F32, 32, (int)rows, (int)cols, NULL, v);
        free(v);
    } else {
        if ((rc = check_finite(src, t->name, p, rows)) < 0)
            return rc;
        float *alpha = decode_f32(p, rows);
        if (!alpha)
            return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        if (t->enc == SVX_ENC_I8) {
            for (size_t i = 0; i < n; i++)
                if (p[4u * rows + i] == 0x80u) {
                    free(alpha);
                    return svx_fail(SVX_ERR_FORMAT, "%s: tensor '%s' weight %zu is -128; i8 weights "
                                    "are in [-127, 127]", src, t->name, i);
                }
        }
        rc = svx_wmat_init_packed(w, (int)t->enc, (int)t->bits, (int)rows, (int)cols, alpha,
                                  p + 4u * rows);
        free(alpha);
    }
    if (rc < 0)
        return svx_fail(rc, "%s: out of memory", src);
    return SVX_OK;
}

static int param_error(const char *src, const layer_entry *le, const char *what, long got,
                       const char *expected)
{
    return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' (%s) has %s = %ld, expected %s", src, le->name,
                    layer_type_name((int)le->type), what, got, expected);
}

/* Validates the hyper-parameters of one layer and fills its shape fields. */
static int setup_layer(const char *src, const layer_entry *le, svx_layer *L)
{
    const int32_t *p = le->params;
    int np = layer_n_params((int)le->type);
    static const char *const conv_names[10] = {"c_in", "f_in", "c_out", "f_out", "k_t", "k_f",
                                               "s_t", "s_f", "p_f", "relu"};
    static const char *const lin_names[3] = {"in", "out", "relu"};
    static const char *const gru_names[2] = {"input", "hidden"};
    for (int i = 0; i < np; i++) {
        const char *nm = le->type == SVX_LAYER_CONV2D ? conv_names[i]
                         : le->type == SVX_LAYER_LINEAR ? lin_names[i]
                         : le->type == SVX_LAYER_GRU ? gru_names[i] : "n";
        int is_relu = !strcmp(nm, "relu"), is_pad = !strcmp(nm, "p_f");
        long lo = (is_relu || is_pad) ? 0 : 1, hi = is_relu ? 1 : SVX_MAX_DIM;
        if (p[i] < lo || p[i] > hi) {
            char exp[64];
            snprintf(exp, sizeof exp, "%ld..%ld", lo, hi);
            return param_error(src, le, nm, p[i], exp);
        }
    }
    L->type = (int)le->type;
    memcpy(L->name, le->name, sizeof L->name);
    switch (le->type) {
    case SVX_LAYER_NORM:
    case SVX_LAYER_LOGSOFTMAX: L->n_in = L->n_out = p[0]; break;
    case SVX_LAYER_CONV2D: {
        L->c_in = p[0]; L->f_in = p[1]; L->c_out = p[2]; L->f_out = p[3]; L->k_t = p[4];
        L->k_f = p[5]; L->s_t = p[6]; L->s_f = p[7]; L->p_f = p[8]; L->relu = p[9];
        if (L->k_t > SVX_MAX_KT)
            return param_error(src, le, "k_t", L->k_t, "at most 64");
        if (L->p_f >= L->k_f)
            return param_error(src, le, "p_f", L->p_f, "less than k_f");
        long span = (long)L->f_in + 2L * L->p_f;
        if (span < L->k_f)
            return param_error(src, le, "k_f", L->k_f, "at most f_in + 2 p_f");
        long f_out = (span - L->k_f) / L->s_f + 1;
        if (f_out != L->f_out) {
            char exp[64];
            snprintf(exp, sizeof exp, "(f_in + 2 p_f - k_f) / s_f + 1 = %ld", f_out);
            return param_error(src, le, "f_out", L->f_out, exp);
        }
        uint64_t n_in = (uint64_t)L->c_in * (uint64_t)L->f_in;
        uint64_t n_out = (uint64_t)L->c_out * (uint64_t)L->f_out;
        uint64_t cols = (uint64_t)L->c_in * (uint64_t)L->k_t * (uint64_t)L->k_f;
        if (n_in > SVX_MAX_DIM || n_out > SVX_MAX_DIM || cols > SVX_MAX_DIM)
            return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' frames of %llu -> %llu floats with %llu "
                            "weights per output exceed the limit %d", src, le->name,
                            (unsigned long long)n_in, (unsigned long long)n_out,
                            (unsigned long long)cols, SVX_MAX_DIM);
        L->n_in = (int)n_in;
        L->n_out = (int)n_out;
        break;
    }
    case SVX_LAYER_GRU:
        if ((long)p[1] * 3 > SVX_MAX_DIM)
            return param_error(src, le, "hidden", p[1], "at most 21845");
        L->n_in = p[0];
        L->n_out = L->hidden = p[1];
        break;
    case SVX_LAYER_LINEAR:
        L->n_in = p[0];
        L->n_out = p[1];
        L->relu = p[2];
        break;
    default: break;
    }
    return SVX_OK;
}

/* The layer's tensor entries into t (in the layer's order); returns the
 * bytes they take in the file. */
static size_t layer_tensors(const layer_entry *le, const tensor_entry *te,
                            const tensor_entry *t[SVX_MAX_LAYER_TENSORS])
{
    size_t bytes = 0;
    for (int i = 0; i < layer_n_tensors((int)le->type); i++) {
        t[i] = &te[le->tensor[i]];
        bytes += (size_t)t[i]->n_bytes;
    }
    return bytes;
}

static int bind_layer(const char *src, const uint8_t *data, const layer_entry *le,
                      const tensor_entry *te, svx_layer *L)
{
    const tensor_entry *t[SVX_MAX_LAYER_TENSORS];
    int rc = SVX_OK;
    L->stored_bytes += layer_tensors(le, te, t);
    switch (le->type) {
    case SVX_LAYER_NORM:
        L->n_vec = 2;
        if ((rc = bind_vector(src, data, t[0], L->name, (uint32_t)L->n_in, &L->vec[0])) < 0)
            return rc;
        rc = bind_vector(src, data, t[1], L->name, (uint32_t)L->n_in, &L->vec[1]);
        break;
    case SVX_LAYER_CONV2D:
        L->n_w = 1;
        L->n_vec = 1;
        if ((rc = bind_matrix(src, data, t[0], L->name, (uint32_t)L->c_out,
                              (uint32_t)(L->c_in * L->k_t * L->k_f), &L->w[0])) < 0)
            return rc;
        rc = bind_vector(src, data, t[1], L->name, (uint32_t)L->c_out, &L->vec[0]);
        break;
    case SVX_LAYER_GRU: {
        uint32_t h3 = 3u * (uint32_t)L->hidden;
        L->n_w = 2;
        L->n_vec = 2;
        if ((rc = bind_matrix(src, data, t[0], L->name, h3, (uint32_t)L->n_in, &L->w[0])) < 0)
            return rc;
        if ((rc = bind_matrix(src, data, t[1], L->name, h3, (uint32_t)L->hidden, &L->w[1])) < 0)
            return rc;
        if ((rc = bind_vector(src, data, t[2], L->name, h3, &L->vec[0])) < 0)
            return rc;
        rc = bind_vector(src, data, t[3], L->name, h3, &L->vec[1]);
        break;
    }
    case SVX_LAYER_LINEAR:
        L->n_w = 1;
        L->n_vec = 1;
        if ((rc = bind_matrix(src, data, t[0], L->name, (uint32_t)L->n_out, (uint32_t)L->n_in,
                              &L->w[0])) < 0)
            return rc;
        rc = bind_vector(src, data, t[1], L->name, (uint32_t)L->n_out, &L->vec[0]);
        break;
    default: break;
    }
    return rc;
}

/* ---- integer graph (layer types 16..19, model/FORMAT.md and INTEGER.md) ---- */

static int int_dims_error(const char *src, const char *layer, const tensor_entry *t, uint32_t rows,
                          uint32_t cols)
{
    char want[48];
    if (cols)
        snprintf(want, sizeof want, "%u x %u", rows, cols);
    else
        snprintf(want, sizeof want, "[%u]", rows);
    char got[48];
    if (t->ndim == 2)
        snprintf(got, sizeof got, "%u x %u", t->dims[0], t->dims[1]);
    else
        snprintf(got, sizeof got, "[%u]", t->dims[0]);
    return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' tensor '%s' is %s, expected %s", src, layer,
                    t->name, got, want);
}

/* An int8 (enc 4) or int32 (enc 5) tensor of shape [rows] (cols 0) or
 * rows x cols, values in [lo, hi], copied into a new array of elem bytes
 * (1 or 4) owned by L. */
static int bind_int(const char *src, const uint8_t *data, const tensor_entry *t, svx_int_layer *L,
                    uint32_t enc, uint32_t rows, uint32_t cols, long lo, long hi, int elem,
                    const char *what, void **out)
{
    if (t->enc != enc)
        return svx_fail(SVX_ERR_ENCODING, "%s: layer '%s' tensor '%s' (%s) has encoding %u, "
                        "expected %u (%s)", src, L->name, t->name, what, t->enc, enc,
                        enc == SVX_ENC_INT8 ? "int8" : "int32");
    if ((cols == 0 && (t->ndim != 1 || t->dims[0] != rows)) ||
        (cols != 0 && (t->ndim != 2 || t->dims[0] != rows || t->dims[1] != cols)))
        return int_dims_error(src, L->name, t, rows, cols);
    size_t n = (size_t)rows * (cols ? cols : 1u);
    const uint8_t *p = data + t->offset;
    uint8_t *v = malloc(n * (size_t)elem + 1u);
    if (!v)
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
    for (size_t i = 0; i < n; i++) {
        long x = enc == SVX_ENC_INT8 ? (long)(int8_t)p[i] : (long)(int32_t)le32(p + 4u * i);
        if (x < lo || x > hi) {
            free(v);
            return svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' tensor '%s' (%s) value %zu is %ld, "
                            "expected %ld..%ld", src, L->name, t->name, what, i, x, lo, hi);
        }
        if (elem == 1)
            ((int8_t *)v)[i] = (int8_t)x;
        else
            ((int32_t *)v)[i] = (int32_t)x;
    }
    int k = 0;
    while (k < 12 && L->owned[k])
        k++;
    L->owned[k] = v; /* at most 11 arrays per layer: always a free slot */
    *out = v;
    return SVX_OK;
}

/* Weights as rule-3 codes (pow2) or rule-3b int8 values, plus the accumulator
 * bound: sum |w| * x_max must stay below 2^31 for every row. */
static int bind_int_weights(const char *src, const uint8_t *data, const tensor_entry *t,
                            svx_int_layer *L, uint32_t rows, uint32_t cols, int pow2, long x_max,
                            const char *what, const int8_t **out)
{
    void *v;
    int rc = bind_int(src, data, t, L, SVX_ENC_INT8, rows, cols, pow2 ? -SVX_INT_CODE_MAX : -127,
                      pow2 ? SVX_INT_CODE_MAX : 127, 1, pow2 ? "power-of-two codes" : "int8 weights",
                      &v);
    if (rc < 0)
        return rc;
    const int8_t *w = v;
    for (uint32_t r = 0; r < rows; r++) {
        uint64_t sum = 0;
        for (uint32_t c = 0; c < cols; c++) {
            int q = w[(size_t)r * cols + c], a = q < 0 ? -q : q;
            sum += pow2 ? (a ? (uint64_t)1 << (a - 1) : 0u) : (uint64_t)a;
        }
        if (sum * (uint64_t)x_max > (uint64_t)INT32_MAX)
            return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' tensor '%s' (%s) row %u: sum of |w| %llu "
                            "times the largest input %ld can overflow the int32 accumulator",
                            src, L->name, t->name, what, r, (unsigned long long)sum, x_max);
    }
    *out = w;
    return SVX_OK;
}

/* Mantissa [rows] (|m| < 2^15), shift [rows] (0..62, kept as int8) and bias
 * [rows] (int32) of rule 4. */
static int bind_requant(const char *src, const uint8_t *data, const tensor_entry *const *t,
                        svx_int_layer *L, uint32_t rows, const int32_t **m, const int8_t **k,
                        const int32_t **b)
{
    void *vm, *vk, *vb;
    int rc;
    if ((rc = bind_int(src, data, t[0], L, SVX_ENC_INT32, rows, 0, -32767, 32767, 4, "mantissa",
                       &vm)) < 0 ||
        (rc = bind_int(src, data, t[1], L, SVX_ENC_INT32, rows, 0, 0, 62, 4, "shift", &vk)) < 0 ||
        (rc = bind_int(src, data, t[2], L, SVX_ENC_INT32, rows, 0, INT32_MIN, INT32_MAX, 4, "bias",
                       &vb)) < 0)
        return rc;
    /* shifts as int8, in place: the int32 array is at least as large */
    int8_t *k8 = vk;
    for (uint32_t i = 0; i < rows; i++)
        k8[i] = (int8_t)((const int32_t *)vk)[i];
    *m = vm;
    *k = k8;
    *b = vb;
    return SVX_OK;
}

/* Parameter ranges and shapes of one integer layer. */
static int setup_int_layer(const char *src, const layer_entry *le, svx_int_layer *L)
{
    const int32_t *p = le->params;
    L->type = (int)le->type;
    memcpy(L->name, le->name, sizeof L->name);
    switch (le->type) {
    case SVX_LAYER_INT_INPUT:
        if (p[0] < 1 || p[0] > SVX_MAX_DIM)
            return param_error(src, le, "n", p[0], "1..65536");
        if (p[1] < 0 || p[1] > 12)
            return param_error(src, le, "frac_bits", p[1], "0..12");
        L->n_in = L->n_out = p[0];
        L->frac_bits = p[1];
        break;
    case SVX_LAYER_INT_CONV2D: {
        /* the first ten parameters are conv2d's: the same checks */
        layer_entry fe = *le;
        svx_layer tmp;
        memset(&tmp, 0, sizeof tmp);
        fe.type = SVX_LAYER_CONV2D;
        int rc = setup_layer(src, &fe, &tmp);
        if (rc < 0)
            return rc;
        if (p[10] < 0 || p[10] > 1)
            return param_error(src, le, "w_kind", p[10], "0 (power-of-two codes) or 1 (int8)");
        svx_int_conv *c = &L->conv;
        c->c_in = (size_t)tmp.c_in; c->f_in = (size_t)tmp.f_in; c->c_out = (size_t)tmp.c_out;
        c->f_out = (size_t)tmp.f_out; c->k_t = (size_t)tmp.k_t; c->k_f = (size_t)tmp.k_f;
        c->s_f = (size_t)tmp.s_f; c->p_f = (size_t)tmp.p_f; c->relu = tmp.relu;
        c->w_pow2 = p[10] == 0;
        L->s_t = tmp.s_t;
        L->n_in = tmp.n_in;
        L->n_out = tmp.n_out;
        break;
    }
    case SVX_LAYER_INT_GRU:
        if (p[0] < 1 || p[0] > SVX_MAX_DIM)
            return param_error(src, le, "input", p[0], "1..65536");
        if (p[1] < 1 || (long)p[1] * 3 > SVX_MAX_DIM)
            return param_error(src, le, "hidden", p[1], "1..21845");
        if (p[2] < 0 || p[2] > 12)
            return param_error(src, le, "out_frac", p[2], "0..12");
        L->n_in = p[0];
        L->n_out = p[1];
        L->frac_bits = p[2];
        L->gru.n_in = (size_t)p[0];
        L->gru.n_hidden = (size_t)p[1];
        break;
    case SVX_LAYER_INT_LINEAR:
        if (p[0] < 1 || p[0] > SVX_MAX_DIM)
            return param_error(src, le, "in", p[0], "1..65536");
        if (p[1] < 1 || p[1] > SVX_MAX_DIM)
            return param_error(src, le, "out", p[1], "1..65536");
        if (p[2] < 0 || p[2] > 1)
            return param_error(src, le, "relu", p[2], "0..1");
        if (p[3] < 0 || p[3] > 1)
            return param_error(src, le, "w_kind", p[3], "0 (power-of-two codes) or 1 (int8)");
        if (p[4] < 0 || p[4] > 15)
            return param_error(src, le, "out_frac", p[4], "0..15");
        L->n_in = p[0];
        L->n_out = p[1];
        L->lin.n_in = (size_t)p[0];
        L->lin.n_out = (size_t)p[1];
        L->lin.relu = p[2];
        L->lin.w_pow2 = p[3] == 0;
        L->frac_bits = p[4];
        break;
    default: break;
    }
    return SVX_OK;
}

static int bind_int_layer(const char *src, const uint8_t *data, const layer_entry *le,
                          const tensor_entry *te, svx_int_layer *L)
{
    const tensor_entry *t[SVX_MAX_LAYER_TENSORS];
    int rc = SVX_OK;
    L->stored_bytes += layer_tensors(le, te, t);
    switch (le->type) {
    case SVX_LAYER_INT_INPUT: {
        float *mean = NULL, *istd = NULL;
        if ((rc = bind_vector(src, data, t[0], L->name, (uint32_t)L->n_in, &mean)) < 0)
            return rc;
        L->owned[0] = mean;
        if ((rc = bind_vector(src, data, t[1], L->name, (uint32_t)L->n_in, &istd)) < 0)
            return rc;
        L->owned[1] = istd;
        L->mean = mean;
        L->inv_std = istd;
        break;
    }
    case SVX_LAYER_INT_CONV2D: {
        svx_int_conv *c = &L->conv;
        uint32_t cols = (uint32_t)(c->c_in * c->k_t * c->k_f);
        if ((rc = bind_int_weights(src, data, t[0], L, (uint32_t)c->c_out, cols, c->w_pow2, 127,
                                   "weight", &c->w)) < 0)
            return rc;
        rc = bind_requant(src, data, t + 1, L, (uint32_t)c->c_out, &c->m, &c->k, &c->b);
        break;
    }
    case SVX_LAYER_INT_GRU: {
        svx_int_gru *g = &L->gru;
        uint32_t h3 = 3u * (uint32_t)g->n_hidden;
        if ((rc = bind_int_weights(src, data, t[0], L, h3, (uint32_t)g->n_in, 1, 127, "w_ih",
                                   &g->w_ih)) < 0 ||
            (rc = bind_int_weights(src, data, t[1], L, h3, (uint32_t)g->n_hidden, 1, SVX_INT_ONE,
                                   "w_hh", &g->w_hh)) < 0)
            return rc;
        const tensor_entry *ih[3] = {t[2], t[3], t[4]}, *hh[3] = {t[5], t[6], t[7]};
        if ((rc = bind_requant(src, data, ih, L, h3, &g->m_ih, &g->k_ih, &g->b_ih)) < 0 ||
            (rc = bind_requant(src, data, hh, L, h3, &g->m_hh, &g->k_hh, &g->b_hh)) < 0)
            return rc;
        /* knots [2][n]: x row (Q.12, strictly increasing, |x| <= 2^24), y row
         * (Q.12 in [0, 4096], which keeps h in [-4096, 4096]: INTEGER.md rule 6) */
        const tensor_entry *kn = t[8];
        if (kn->enc != SVX_ENC_INT32 || kn->ndim != 2 || kn->dims[0] != 2 || kn->dims[1] < 2 ||
            kn->dims[1] > SVX_INT_PWL_MAX_KNOTS) {
            if (kn->enc != SVX_ENC_INT32)
                return svx_fail(SVX_ERR_ENCODING, "%s: layer '%s' tensor '%s' (PWL knots) has "
                                "encoding %u, expected 5 (int32)", src, L->name, kn->name, kn->enc);
            return svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' tensor '%s' (PWL knots) has %u dims "
                            "[%u, %u], expected [2, 2..%d]", src, L->name, kn->name, kn->ndim,
                            kn->dims[0], kn->ndim == 2 ? kn->dims[1] : 0u, SVX_INT_PWL_MAX_KNOTS);
        }
        uint32_t nk = kn->dims[1];
        void *vx;
        if ((rc = bind_int(src, data, kn, L, SVX_ENC_INT32, 2, nk, -(1L << 24), 1L << 24, 4,
                           "PWL knots", &vx)) < 0)
            return rc;
        const int32_t *kx = vx, *ky = kx + nk;
        for (uint32_t i = 0; i < nk; i++) {
            if (i + 1 < nk && kx[i] >= kx[i + 1])
                return svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' PWL knot x[%u] = %d is not below "
                                "x[%u] = %d; knots must increase", src, L->name, i, kx[i], i + 1,
                                kx[i + 1]);
            if (ky[i] < 0 || ky[i] > SVX_INT_ONE)
                return svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' PWL knot y[%u] = %d, expected "
                                "0..4096 (a sigmoid in Q.12)", src, L->name, i, ky[i]);
        }
        if (svx_int_pwl_init(&L->pwl, (int)nk, kx, ky) < 0)
            return svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' PWL knots refused", src, L->name);
        g->sigmoid = &L->pwl; /* L does not move: the layer array is allocated once */
        break;
    }
    case SVX_LAYER_INT_LINEAR: {
        svx_int_linear *l = &L->lin;
        if ((rc = bind_int_weights(src, data, t[0], L, (uint32_t)l->n_out, (uint32_t)l->n_in,
                                   l->w_pow2, 127, "weight", &l->w)) < 0)
            return rc;
        rc = bind_requant(src, data, t + 1, L, (uint32_t)l->n_out, &l->m, &l->k, &l->b);
        break;
    }
    default: break;
    }
    return rc;
}

static void free_layers(svx_model *m)
{
    if (!m->layers)
        return;
    for (int i = 0; i < m->n_layers; i++) {
        for (int k = 0; k < 2; k++)
            svx_wmat_free(&m->layers[i].w[k]);
        for (int k = 0; k < 4; k++)
            free(m->layers[i].vec[k]);
    }
    free(m->layers);
    m->layers = NULL;
    if (m->int_layers)
        for (int i = 0; i < m->n_int_layers; i++)
            for (int k = 0; k < 12; k++)
                free(m->int_layers[i].owned[k]);
    free(m->int_layers);
    m->int_layers = NULL;
}

void svx_model_destroy(svx_model *m)
{
    if (!m)
        return;
    free_layers(m);
    free(m->meta);
    free(m);
}

void svx_model_options_default(svx_model_options *opt)
{
    if (!opt)
        return;
    opt->kernel = SVX_KERNEL_AUTO;
    opt->force_integer = 0;
}

/* Everything after the header: sections, directory, layer binding. */
static int parse_body(svx_model *m, const uint8_t *data, size_t n, const char *src)
{
    int rc = SVX_OK;
    reader r = {data, n - 4u, SVX_MODEL_HEADER_BYTES, src, "front-end parameters"};
    layer_entry *le = NULL;
    tensor_entry *te = NULL;
    uint32_t n_layers = 0, n_tensors = 0, v;

    /* 2. front end */
    {
        uint32_t f[10];
        for (int i = 0; i < 10; i++)
            TRY(rd_u32(&r, &f[i]));
        svx_frontend_params *fe = &m->fe;
        fe->sample_rate_hz = (int32_t)f[0];
        fe->win_length = (int32_t)f[1];
        fe->hop_length = (int32_t)f[2];
        fe->n_fft = (int32_t)f[3];
        fe->n_mels = (int32_t)f[4];
        memcpy(&fe->fmin_hz, &f[5], 4);
        memcpy(&fe->fmax_hz, &f[6], 4);
        memcpy(&fe->log_floor, &f[7], 4);
        fe->window = (int32_t)f[8];
        fe->mel_scale = (int32_t)f[9];
        if (svx_frontend_params_check(fe) < 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", svx_last_error_message());
            rc = svx_fail(SVX_ERR_FORMAT, "%s: front-end parameters in the file are unusable: %s",
                          src, why);
            goto fail;
        }
    }
    /* 3. symbols */
    r.what = "symbol table";
    TRY(rd_u32(&r, &v));
    if (v < 2 || v > SVX_MAX_SYMBOLS) {
        rc = svx_fail(SVX_ERR_SHAPE, "%s: %u output symbols, expected 2..%d", src, v, SVX_MAX_SYMBOLS);
        goto fail;
    }
    m->n_symbols = (int)v;
    for (uint32_t i = 0; i < v; i++) {
        TRY(rd_str(&r, m->symbols[i], SVX_MAX_SYMBOL_BYTES, "a symbol"));
        /* the decoders spell words with these: blank first, then distinct,
         * non-empty, printable symbols */
        const char *sym = m->symbols[i];
        int bad = (i == 0) != (sym[0] == '\0');
        for (const char *c = sym; *c && !bad; c++)
            bad = (unsigned char)*c < 0x20u || *c == 0x7F;
        for (uint32_t k = 1; k < i && !bad; k++)
            bad = !strcmp(m->symbols[k], sym);
        if (bad) {
            rc = svx_fail(SVX_ERR_FORMAT, "%s: symbol %u is \"%s\"; expected the blank \"\" first, "
                          "then distinct non-empty printable symbols", src, i, sym);
            goto fail;
        }
    }
    /* 4. metadata */
    r.what = "metadata";
    TRY(rd_u32(&r, &v));
    if (v > SVX_MAX_META_BYTES) {
        rc = svx_fail(SVX_ERR_SHAPE, "%s: metadata of %u bytes, at most %u allowed", src, v,
                      SVX_MAX_META_BYTES);
        goto fail;
    }
    TRY(need(&r, v));
    m->meta = malloc((size_t)v + 1u);
    if (!m->meta) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        goto fail;
    }
    memcpy(m->meta, data + r.pos, v);
    m->meta[v] = '\0';
    r.pos += v;
    /* 5. layers */
    r.what = "layer list";
    TRY(rd_u32(&r, &n_layers));
    if (n_layers < 1 || n_layers > SVX_MAX_LAYERS) {
        rc = svx_fail(SVX_ERR_SHAPE, "%s: %u layers, expected 1..%d", src, n_layers, SVX_MAX_LAYERS);
        goto fail;
    }
    le = calloc(n_layers, sizeof *le);
    if (!le) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        goto fail;
    }
    for (uint32_t i = 0; i < n_layers; i++) {
        uint32_t np, nt;
        TRY(rd_u32(&r, &le[i].type));
        if (layer_n_params((int)le[i].type) < 0) {
            rc = svx_fail(SVX_ERR_ENCODING, "%s: layer %u has type %u; this software knows types "
                          "1..5 (norm, conv2d, gru, linear, logsoftmax) and 16..19 (int_input, "
                          "int_conv2d, int_gru, int_linear)", src, i, le[i].type);
            goto fail;
        }
        TRY(rd_str(&r, le[i].name, SVX_MAX_NAME_BYTES, "a layer name"));
        TRY(rd_u32(&r, &np));
        if (np != (uint32_t)layer_n_params((int)le[i].type)) {
            rc = svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' (%s) has %u parameters, expected %d", src,
                          le[i].name, layer_type_name((int)le[i].type), np,
                          layer_n_params((int)le[i].type));
            goto fail;
        }
        for (uint32_t k = 0; k < np; k++) {
            uint32_t u;
            TRY(rd_u32(&r, &u));
            le[i].params[k] = (int32_t)u;
        }
        TRY(rd_u32(&r, &nt));
        if (nt != (uint32_t)layer_n_tensors((int)le[i].type)) {
            rc = svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' (%s) refers to %u tensors, expected %d", src,
                          le[i].name, layer_type_name((int)le[i].type), nt,
                          layer_n_tensors((int)le[i].type));
            goto fail;
        }
        for (uint32_t k = 0; k < nt; k++)
            TRY(rd_u32(&r, &le[i].tensor[k]));
    }
    /* 6. tensor directory */
    r.what = "tensor directory";
    TRY(rd_u32(&r, &n_tensors));
    if (n_tensors > SVX_MAX_TENSORS) {
        rc = svx_fail(SVX_ERR_SHAPE, "%s: %u tensors, at most %d allowed", src, n_tensors,
                      SVX_MAX_TENSORS);
        goto fail;
    }
    te = calloc(n_tensors ? n_tensors : 1u, sizeof *te);
    if (!te) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        goto fail;
    }
    for (uint32_t i = 0; i < n_tensors; i++) {
        tensor_entry *t = &te[i];
        TRY(rd_str(&r, t->name, SVX_MAX_NAME_BYTES, "a tensor name"));
        TRY(rd_u32(&r, &t->enc));
        TRY(rd_u32(&r, &t->bits));
        TRY(rd_u32(&r, &t->ndim));
        if (t->ndim < 1 || t->ndim > 2) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' has %u dimensions, expected 1 or 2", src,
                          t->name, t->ndim);
            goto fail;
        }
        for (uint32_t k = 0; k < t->ndim; k++) {
            TRY(rd_u32(&r, &t->dims[k]));
            if (t->dims[k] < 1 || t->dims[k] > SVX_MAX_DIM) {
                rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' dimension %u is %u, expected 1..%d",
                              src, t->name, k, t->dims[k], SVX_MAX_DIM);
                goto fail;
            }
        }
        TRY(rd_u64(&r, &t->offset));
        TRY(rd_u64(&r, &t->n_bytes));
        TRY(check_encoding(src, t));
        if (t->ndim == 2 && (uint64_t)t->dims[0] * t->dims[1] > SVX_MAX_MATRIX) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' has %u x %u weights, at most %u allowed",
                          src, t->name, t->dims[0], t->dims[1], SVX_MAX_MATRIX);
            goto fail;
        }
        uint64_t want = tensor_expected_bytes(t);
        if (want == 0) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' is a 1-D %s tensor; only f32 vectors exist",
                          src, t->name, t->enc == SVX_ENC_I8 ? "i8" : "power-of-two");
            goto fail;
        }
        if (t->n_bytes != want) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' declares %llu bytes, its shape and "
                          "encoding need %llu", src, t->name, (unsigned long long)t->n_bytes,
                          (unsigned long long)want);
            goto fail;
        }
    }
    /* 7. data: aligned, in directory order, inside [end of directory, CRC) */
    {
        uint64_t lo = r.pos, data_end = n - 4u;
        for (uint32_t i = 0; i < n_tensors; i++) {
            tensor_entry *t = &te[i];
            if (t->offset % SVX_MODEL_ALIGN != 0) {
                rc = svx_fail(SVX_ERR_FORMAT, "%s: tensor '%s' starts at offset %llu, expected a "
                              "multiple of %d", src, t->name, (unsigned long long)t->offset,
                              SVX_MODEL_ALIGN);
                goto fail;
            }
            if (t->offset < lo || t->offset > data_end || t->n_bytes > data_end - t->offset) {
                rc = svx_fail(SVX_ERR_SHAPE, "%s: tensor '%s' declares %llu bytes at offset %llu but "
                              "its data must lie in [%llu, %llu)", src, t->name,
                              (unsigned long long)t->n_bytes, (unsigned long long)t->offset,
                              (unsigned long long)lo, (unsigned long long)data_end);
                goto fail;
            }
            lo = t->offset + t->n_bytes;
        }
    }
    /* 8. bind layers and check that each feeds the next. The float graph
     * (types 1..5) comes first, then the integer graph (16..19); either may
     * be absent, each runs from n_mels to n_symbols on its own. */
    uint32_t n_float = 0;
    while (n_float < n_layers && le[n_float].type < SVX_LAYER_INT_INPUT)
        n_float++;
    for (uint32_t i = n_float; i < n_layers; i++)
        if (le[i].type < SVX_LAYER_INT_INPUT) {
            rc = svx_fail(SVX_ERR_FORMAT, "%s: float layer '%s' (%s) follows the integer graph; "
                          "float layers must come first", src, le[i].name,
                          layer_type_name((int)le[i].type));
            goto fail;
        }
    for (uint32_t i = 0; i < n_layers; i++)
        for (int k = 0; k < layer_n_tensors((int)le[i].type); k++)
            if (le[i].tensor[k] >= n_tensors) {
                rc = svx_fail(SVX_ERR_FORMAT, "%s: layer '%s' refers to tensor %u but the "
                              "directory has %u", src, le[i].name, le[i].tensor[k], n_tensors);
                goto fail;
            }
    m->layers = calloc(n_float ? n_float : 1u, sizeof *m->layers);
    m->int_layers = calloc(n_layers - n_float ? n_layers - n_float : 1u, sizeof *m->int_layers);
    if (!m->layers || !m->int_layers) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
        goto fail;
    }
    m->n_layers = (int)n_float;
    if (n_float) {
        int width = m->fe.n_mels;
        for (uint32_t i = 0; i < n_float; i++) {
            svx_layer *L = &m->layers[i];
            TRY(setup_layer(src, &le[i], L));
            if (L->n_in != width) {
                rc = svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' takes %d floats per frame but receives "
                              "%d (%s)", src, L->name, L->n_in, width,
                              i ? "the previous layer's output" : "n_mels");
                goto fail;
            }
            width = L->n_out;
            TRY(bind_layer(src, data, &le[i], te, L));
            m->float_weight_bytes += L->stored_bytes;
        }
        if (width != m->n_symbols) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: the last layer gives %d floats per frame, expected one "
                          "per output symbol (%d)", src, width, m->n_symbols);
            goto fail;
        }
    }
    if (n_float < n_layers) {
        int width = m->fe.n_mels, ni = (int)(n_layers - n_float);
        for (int j = 0; j < ni; j++) {
            const layer_entry *e = &le[n_float + (uint32_t)j];
            svx_int_layer *L = &m->int_layers[j];
            m->n_int_layers = j + 1; /* owned arrays of layers bound so far are freed */
            int first = j == 0, last = j == ni - 1;
            if ((e->type == SVX_LAYER_INT_INPUT) != first ||
                (e->type == SVX_LAYER_INT_LINEAR) != last) {
                rc = svx_fail(SVX_ERR_FORMAT, "%s: integer layer '%s' (%s) is number %d of %d in the "
                              "integer graph; it must start with int_input and end with its only "
                              "int_linear", src, e->name, layer_type_name((int)e->type), j + 1, ni);
                goto fail;
            }
            TRY(setup_int_layer(src, e, L));
            if (L->n_in != width) {
                rc = svx_fail(SVX_ERR_SHAPE, "%s: layer '%s' takes %d values per frame but receives "
                              "%d (%s)", src, L->name, L->n_in, width,
                              first ? "n_mels" : "the previous layer's output");
                goto fail;
            }
            width = L->n_out;
            TRY(bind_int_layer(src, data, e, te, L));
            m->int_weight_bytes += L->stored_bytes;
        }
        if (width != m->n_symbols) {
            rc = svx_fail(SVX_ERR_SHAPE, "%s: the integer graph gives %d scores per frame, expected "
                          "one per output symbol (%d)", src, width, m->n_symbols);
            goto fail;
        }
    }
fail:
    free(le);
    free(te);
    return rc;
}

/* Weight values +-2^(|c|-1) of rule-3 codes for the AVX2 twins (int8 when
 * every |c| <= 7, int16 when every |c| <= 15), or NULL when a code is larger
 * (that layer keeps the scalar shift-add kernel). Owned by L. */
static void *int_values(svx_int_layer *L, const int8_t *codes, size_t n, int wide)
{
    int lim = wide ? 15 : 7;
    for (size_t i = 0; i < n; i++)
        if (codes[i] > lim || codes[i] < -lim)
            return NULL;
    void *v = malloc(n * (wide ? 2u : 1u));
    int k = 0;
    while (k < 12 && L->owned[k])
        k++;
    if (!v || k == 12) {
        free(v);
        return NULL;
    }
    L->owned[k] = v;
    for (size_t i = 0; i < n; i++) {
        int c = codes[i], a = c < 0 ? -c : c;
        int mag = a ? 1 << (a - 1) : 0;
        if (wide)
            ((int16_t *)v)[i] = (int16_t)(c < 0 ? -mag : mag);
        else
            ((int8_t *)v)[i] = (int8_t)(c < 0 ? -mag : mag);
    }
    return v;
}

/* SVX_KERNEL_AUTO on an AVX2 CPU: the integer layers use the AVX2 twins
 * (model/int_model_avx2.c, equal integers); otherwise the scalar kernels. */
static void prepare_int_kernels(svx_model *m)
{
    if (m->opt.kernel != SVX_KERNEL_AUTO || !svx_int_avx2_built() || !svx_cpu_has_simd() ||
        strcmp(svx_simd_name(), "avx2") != 0)
        return;
    for (int i = 0; i < m->n_int_layers; i++) {
        svx_int_layer *L = &m->int_layers[i];
        if (L->type == SVX_LAYER_INT_CONV2D) {
            /* rows padded to a multiple of 32 columns (zero weights): no scalar tail */
            size_t cols = L->conv.c_in * L->conv.k_t * L->conv.k_f, n = L->conv.c_out * cols;
            size_t pad = (cols + 31u) & ~(size_t)31u;
            const int8_t *v = L->conv.w_pow2 ? int_values(L, L->conv.w, n, 0) : L->conv.w;
            int k = 0;
            while (k < 12 && L->owned[k])
                k++;
            int8_t *p = v && k < 12 ? calloc(L->conv.c_out * pad, 1) : NULL;
            if (p) {
                L->owned[k] = p;
                for (size_t r = 0; r < L->conv.c_out; r++)
                    memcpy(p + r * pad, v + r * cols, cols);
                L->conv.w_vals = p;
                L->conv.cols_pad = pad;
            }
        } else if (L->type == SVX_LAYER_INT_GRU) {
            size_t h3 = 3u * L->gru.n_hidden;
            L->gru.w_ih_vals = int_values(L, L->gru.w_ih, h3 * L->gru.n_in, 0);
            L->gru.w_hh_vals = int_values(L, L->gru.w_hh, h3 * L->gru.n_hidden, 1);
        } else if (L->type == SVX_LAYER_INT_LINEAR) {
            size_t n = L->lin.n_in * L->lin.n_out;
            L->lin.w_vals = L->lin.w_pow2 ? int_values(L, L->lin.w, n, 0) : L->lin.w;
        }
    }
}

static int finish_model(svx_model *m, const char *src)
{
    prepare_int_kernels(m);
    /* each layer's s_t is checked alone (1..SVX_MAX_DIM); their product is
     * the model's frame stride, which must stay small (and within an int) */
    long stride = 1;
    for (int i = 0; i < m->n_int_layers; i++)
        if (m->int_layers[i].type == SVX_LAYER_INT_CONV2D &&
            (stride *= m->int_layers[i].s_t) > SVX_MAX_TIME_STRIDE)
            return svx_fail(SVX_ERR_SHAPE, "%s: the integer graph's convolution time strides "
                            "multiply to more than %d frames", src, SVX_MAX_TIME_STRIDE);
    m->int_time_stride = (int)stride;
    stride = 1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].type == SVX_LAYER_CONV2D &&
            (stride *= m->layers[i].s_t) > SVX_MAX_TIME_STRIDE)
            return svx_fail(SVX_ERR_SHAPE, "%s: the convolution time strides multiply to more "
                            "than %d frames", src, SVX_MAX_TIME_STRIDE);
    m->time_stride = (int)stride;
    if (m->opt.force_integer && m->n_int_layers == 0)
        return svx_fail(SVX_ERR_ENCODING, "%s: the integer path was asked for but this model "
                        "carries only the float-activation graph", src);
    m->use_int = m->n_int_layers > 0 && (m->opt.force_integer || m->n_layers == 0);
    m->weight_bytes = m->use_int ? m->int_weight_bytes : m->float_weight_bytes;
    m->max_frame = m->fe.n_mels;
    m->scratch_floats = 0;
    for (int i = 0; i < m->n_layers; i++) {
        svx_layer *L = &m->layers[i];
        if (L->n_out > m->max_frame)
            m->max_frame = L->n_out;
        if (L->type == SVX_LAYER_GRU && 3 * L->hidden > m->max_frame)
            m->max_frame = 3 * L->hidden;
        for (int k = 0; k < L->n_w; k++) {
            svx_wmat *w = &L->w[k];
            L->kernel[k] = svx_kernel_pick(w, m->opt.kernel);
            int rc = svx_wmat_prepare(w, L->kernel[k]);
            if (rc < 0)
                return svx_fail(SVX_ERR_NO_MEMORY, "out of memory preparing layer '%s'", L->name);
            w->kernel = L->kernel[k];
            size_t s = svx_matvec_scratch_floats(w);
            if (s > m->scratch_floats)
                m->scratch_floats = s;
        }
    }
    m->float_time_stride = m->time_stride;
    if (m->n_layers > 0 && m->n_int_layers > 0 && m->float_time_stride != m->int_time_stride)
        return svx_fail(SVX_ERR_SHAPE, "%s: the float graph's time stride is %d but the integer "
                        "graph's is %d; both forms of one model must agree", src,
                        m->float_time_stride, m->int_time_stride);
    if (m->use_int)
        m->time_stride = m->int_time_stride;
    return SVX_OK;
}

/* Header checks (magic, version, declared size) on the first
 * min(n, 16) bytes of a file of n bytes. */
static int check_header(const uint8_t *data, size_t n, const char *src)
{
    if (n < 4)
        return svx_fail(SVX_ERR_TRUNCATED, "%s: %zu bytes, too short for the magic 'SVXM'", src, n);
    if (memcmp(data, SVX_MODEL_MAGIC, 4) != 0)
        return svx_fail(SVX_ERR_BAD_MAGIC, "%s: starts with bytes %02x %02x %02x %02x, expected "
                        "'SVXM' (53 56 58 4d)", src, data[0], data[1], data[2], data[3]);
    if (n < SVX_MODEL_HEADER_BYTES)
        return svx_fail(SVX_ERR_TRUNCATED, "%s: %zu bytes, too short for the %d-byte header", src, n,
                        SVX_MODEL_HEADER_BYTES);
    unsigned major = (unsigned)data[4] | ((unsigned)data[5] << 8);
    unsigned minor = (unsigned)data[6] | ((unsigned)data[7] << 8);
    if (major != SVX_MODEL_VERSION_MAJOR)
        return svx_fail(SVX_ERR_VERSION, "%s: file is version %u.%u but this software reads "
                        "version %d.x", src, major, minor, SVX_MODEL_VERSION_MAJOR);
    uint64_t declared = le64(data + 8);
    if (declared > n)
        return svx_fail(SVX_ERR_TRUNCATED, "%s: header declares %llu bytes but the file has %zu", src,
                        (unsigned long long)declared, n);
    if (declared < n)
        return svx_fail(SVX_ERR_FORMAT, "%s: header declares %llu bytes but the file has %zu "
                        "(trailing data)", src, (unsigned long long)declared, n);
    if (n < SVX_MODEL_HEADER_BYTES + 4u)
        return svx_fail(SVX_ERR_TRUNCATED, "%s: %zu bytes, too short for header and checksum", src, n);
    return SVX_OK;
}

static int load_memory_named(const void *buf, size_t n, const svx_model_options *opt,
                             svx_model **out, const char *src)
{
    const uint8_t *data = buf;
    if (!out || (!buf && n))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_load: NULL argument");
    *out = NULL;
    int hrc = check_header(data, n, src);
    if (hrc < 0)
        return hrc;
    unsigned minor = (unsigned)data[6] | ((unsigned)data[7] << 8);
    uint32_t stored = le32(data + n - 4u), computed = svx_crc32(0, data, n - 4u);
    if (stored != computed)
        return svx_fail(SVX_ERR_CHECKSUM, "%s: CRC32 of the first %zu bytes is %08x but the file "
                        "stores %08x", src, n - 4u, computed, stored);

    svx_model *m = calloc(1, sizeof *m);
    if (!m)
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", src);
    svx_model_options_default(&m->opt);
    if (opt)
        m->opt = *opt;
    m->version_minor = (int)minor;
    m->file_bytes = n;
    int rc = parse_body(m, data, n, src);
    if (rc >= 0)
        rc = finish_model(m, src);
    if (rc < 0) {
        svx_model_destroy(m);
        return rc;
    }
    *out = m;
    return SVX_OK;
}

int svx_model_load_memory(const void *data, size_t n_bytes, const svx_model_options *opt,
                          svx_model **out)
{
    return load_memory_named(data, n_bytes, opt, out, "<memory>");
}

int svx_model_load_ex(const char *path, const svx_model_options *opt, svx_model **out)
{
    if (!path || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_load: NULL argument");
    *out = NULL;
    /* Non-blocking open so a FIFO without a writer cannot hang the loader;
     * only regular files are model files. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return svx_fail(SVX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int is_dir = fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
        close(fd);
        return svx_fail(SVX_ERR_IO, "%s: %s, expected a model file", path,
                        is_dir ? "is a directory" : "is not a regular file (pipe or device)");
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return svx_fail(SVX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = SVX_OK;
    /* A regular file: its size is known, so the header is checked before
     * anything else is read (a huge or foreign file costs no memory). */
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            uint8_t hdr[SVX_MODEL_HEADER_BYTES];
            size_t got = fread(hdr, 1, sizeof hdr, f);
            if ((size_t)size < sizeof hdr && got == (size_t)size)
                got = (size_t)size;
            if (!ferror(f) && (got == sizeof hdr || got == (size_t)size)) {
                rc = check_header(hdr, (size_t)size, path);
                if (rc >= 0 && (uint64_t)size > SVX_MAX_MODEL_BYTES)
                    rc = svx_fail(SVX_ERR_SHAPE, "%s: %ld bytes, more than the %u MiB a model file "
                                  "may have", path, size, SVX_MAX_MODEL_BYTES >> 20);
                if (rc < 0) {
                    fclose(f);
                    return rc;
                }
            }
            rewind(f); /* also clears a read error: the loop below reports it */
        }
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2u : 65536u;
            if (ncap > ((size_t)1 << 31)) {
                rc = svx_fail(SVX_ERR_SHAPE, "%s: larger than 2 GiB, not a model file", path);
                break;
            }
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                rc = svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = svx_fail(SVX_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc >= 0)
        rc = load_memory_named(buf, n, opt, out, path);
    free(buf);
    return rc;
}

int svx_model_load(const char *path, svx_model **out)
{
    return svx_model_load_ex(path, NULL, out);
}

/* ---- writer ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096u;
        while (cap < b->n + n)
            cap *= 2u;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (src)
        memcpy(b->p + b->n, src, n);
    else
        memset(b->p + b->n, 0, n);
    b->n += n;
}

static void put_u8(wbuf *b, uint32_t v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, c, 4);
}

static void put_u64(wbuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(wbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 255)
        n = 255;
    put_u8(b, (uint32_t)n);
    put(b, s, n);
}

static void put_tensor_data(wbuf *b, const svx_tensor_desc *t)
{
    size_t n = (size_t)t->rows * (size_t)(t->is_matrix ? t->cols : 1);
    if (t->enc == SVX_ENC_INT8) {
        put(b, t->data, n);
        return;
    }
    if (t->enc == SVX_ENC_INT32) {
        for (size_t i = 0; i < n; i++)
            put_u32(b, (uint32_t)((const int32_t *)t->data)[i]);
        return;
    }
    if (!t->is_matrix || t->enc == SVX_ENC_F32) {
        for (size_t i = 0; i < n; i++)
            put_f32(b, ((const float *)t->data)[i]);
        return;
    }
    for (int r = 0; r < t->rows; r++)
        put_f32(b, t->alpha[r]);
    if (t->enc == SVX_ENC_I8) {
        put(b, t->data, n);
        return;
    }
    size_t start = b->n, nb = (n * (size_t)t->bits + 7u) / 8u;
    put(b, NULL, nb);
    if (b->oom)
        return;
    const uint8_t *c = t->data;
    for (size_t i = 0; i < n; i++) {
        size_t pos = i * (size_t)t->bits;
        unsigned v = (unsigned)(c[i] & ((1u << t->bits) - 1u)) << (pos & 7u);
        b->p[start + (pos >> 3)] |= (uint8_t)(v & 0xFFu);
        if ((pos >> 3) + 1 < nb)
            b->p[start + (pos >> 3) + 1] |= (uint8_t)(v >> 8);
    }
}

static size_t tensor_bytes(const svx_tensor_desc *t)
{
    size_t n = (size_t)t->rows * (size_t)(t->is_matrix ? t->cols : 1);
    if (t->enc == SVX_ENC_INT8)
        return n;
    if (t->enc == SVX_ENC_INT32)
        return 4u * n;
    if (!t->is_matrix || t->enc == SVX_ENC_F32)
        return n * 4u;
    if (t->enc == SVX_ENC_I8)
        return (size_t)t->rows * 4u + n;
    return (size_t)t->rows * 4u + (n * (size_t)t->bits + 7u) / 8u;
}

int svx_model_serialize(const svx_model_desc *d, uint8_t **out, size_t *n_bytes,
                        svx_model_layout *layout)
{
    wbuf b = {0};
    svx_model_layout lay;
    size_t n_t = 0, fix[SVX_MAX_TENSORS];
    const svx_tensor_desc *tl[SVX_MAX_TENSORS];
    if (!d || !out || !n_bytes)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_serialize: NULL argument");
    /* 1.0 for a float-only model (older readers load it), 1.1 with an integer graph */
    int minor = 0;
    for (int i = 0; i < d->n_layers; i++)
        if (d->layers[i].type >= SVX_LAYER_INT_INPUT)
            minor = SVX_MODEL_VERSION_MINOR;
    put(&b, SVX_MODEL_MAGIC, 4);
    put_u8(&b, SVX_MODEL_VERSION_MAJOR & 0xFF);
    put_u8(&b, SVX_MODEL_VERSION_MAJOR >> 8);
    put_u8(&b, (uint32_t)minor & 0xFF);
    put_u8(&b, (uint32_t)minor >> 8);
    put_u64(&b, 0); /* file bytes, patched below */
    lay.frontend = b.n;
    const svx_frontend_params *fe = &d->fe;
    put_u32(&b, (uint32_t)fe->sample_rate_hz);
    put_u32(&b, (uint32_t)fe->win_length);
    put_u32(&b, (uint32_t)fe->hop_length);
    put_u32(&b, (uint32_t)fe->n_fft);
    put_u32(&b, (uint32_t)fe->n_mels);
    put_f32(&b, fe->fmin_hz);
    put_f32(&b, fe->fmax_hz);
    put_f32(&b, fe->log_floor);
    put_u32(&b, (uint32_t)fe->window);
    put_u32(&b, (uint32_t)fe->mel_scale);
    lay.symbols = b.n;
    put_u32(&b, (uint32_t)d->n_symbols);
    for (int i = 0; i < d->n_symbols; i++)
        put_str(&b, d->symbols[i]);
    lay.meta = b.n;
    const char *meta = d->meta ? d->meta : "{}";
    put_u32(&b, (uint32_t)strlen(meta));
    put(&b, meta, strlen(meta));
    lay.layers = b.n;
    put_u32(&b, (uint32_t)d->n_layers);
    for (int i = 0; i < d->n_layers; i++) {
        const svx_layer_desc *L = &d->layers[i];
        put_u32(&b, (uint32_t)L->type);
        put_str(&b, L->name ? L->name : layer_type_name(L->type));
        put_u32(&b, (uint32_t)L->n_params);
        for (int k = 0; k < L->n_params; k++)
            put_u32(&b, (uint32_t)L->params[k]);
        put_u32(&b, (uint32_t)L->n_tensors);
        for (int k = 0; k < L->n_tensors; k++) {
            if (n_t >= SVX_MAX_TENSORS) {
                free(b.p);
                return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_serialize: too many tensors");
            }
            put_u32(&b, (uint32_t)n_t);
            tl[n_t++] = &L->t[k];
        }
    }
    lay.tensors = b.n;
    put_u32(&b, (uint32_t)n_t);
    size_t ti = 0;
    for (int i = 0; i < d->n_layers; i++) {
        const svx_layer_desc *L = &d->layers[i];
        static const char *const slot[9][9] = {
            {""}, {"mean", "inv_std"}, {"weight", "bias"}, {"w_ih", "w_hh", "b_ih", "b_hh"},
            {"weight", "bias"}, {"mean", "inv_std"}, {"weight", "m", "k", "b"},
            {"w_ih", "w_hh", "m_ih", "k_ih", "b_ih", "m_hh", "k_hh", "b_hh", "knots"},
            {"weight", "m", "k", "b"}};
        for (int k = 0; k < L->n_tensors; k++, ti++) {
            const svx_tensor_desc *t = tl[ti];
            char nm[128];
            int ty = L->type >= 1 && L->type <= 4 ? L->type
                     : L->type >= SVX_LAYER_INT_INPUT && L->type <= SVX_LAYER_INT_LINEAR
                         ? L->type - SVX_LAYER_INT_INPUT + 5 : 0;
            const char *sn = k < 9 && slot[ty][k] ? slot[ty][k] : "";
            snprintf(nm, sizeof nm, "%s.%s", L->name ? L->name : "layer", sn[0] ? sn : "t");
            nm[SVX_MAX_NAME_BYTES] = '\0';
            put_str(&b, nm);
            int is_int = t->enc == SVX_ENC_INT8 || t->enc == SVX_ENC_INT32;
            put_u32(&b, (uint32_t)(t->is_matrix || is_int ? t->enc : SVX_ENC_F32));
            put_u32(&b, (uint32_t)(is_int ? (t->enc == SVX_ENC_INT8 ? 8 : 32)
                                   : t->is_matrix ? t->bits : 32));
            put_u32(&b, t->is_matrix ? 2u : 1u);
            put_u32(&b, (uint32_t)t->rows);
            if (t->is_matrix)
                put_u32(&b, (uint32_t)t->cols);
            fix[ti] = b.n;
            put_u64(&b, 0);
            put_u64(&b, tensor_bytes(t));
        }
    }
    lay.data = b.n;
    for (size_t i = 0; i < n_t; i++) {
        put(&b, NULL, (SVX_MODEL_ALIGN - b.n % SVX_MODEL_ALIGN) % SVX_MODEL_ALIGN);
        if (b.oom)
            break;
        uint64_t off = b.n;
        for (int k = 0; k < 8; k++)
            b.p[fix[i] + (size_t)k] = (uint8_t)(off >> (8 * k));
        put_tensor_data(&b, tl[i]);
    }
    if (n_t == 0)
        put(&b, NULL, (SVX_MODEL_ALIGN - b.n % SVX_MODEL_ALIGN) % SVX_MODEL_ALIGN);
    lay.crc = b.n;
    put_u32(&b, 0);
    if (b.oom) {
        free(b.p);
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_model_serialize: out of memory");
    }
    lay.file_bytes = b.n;
    for (int k = 0; k < 8; k++)
        b.p[8 + k] = (uint8_t)((uint64_t)b.n >> (8 * k));
    uint32_t crc = svx_crc32(0, b.p, b.n - 4u);
    for (int k = 0; k < 4; k++)
        b.p[b.n - 4u + (size_t)k] = (uint8_t)(crc >> (8 * k));
    *out = b.p;
    *n_bytes = b.n;
    if (layout)
        *layout = lay;
    return SVX_OK;
}

const char *svx_model_metadata(const svx_model *m)
{
    return m && m->meta ? m->meta : "";
}
