/* A tiny model written by a test helper (C twin of train/svxmodel.py via
 * svx_model_serialize), shared by test_model_file.c and test_model_run.c:
 *   norm(8) -> conv2d 1->2 ch, K 2x3, S 1x1, P 1, ReLU (8 -> 8 bins)
 *           -> conv2d 2->3 ch, K 3x3, S 2x2, P 1, ReLU (8 -> 4 bins)
 *           -> gru 12 -> 6 -> linear 6 -> 29 -> logsoftmax
 * Five weight matrices whose encodings the test chooses. */
#ifndef SVX_TEST_MODEL_FIXTURE_H
#define SVX_TEST_MODEL_FIXTURE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "svx_internal.h"
#include "testutil.h"

#define FX_MELS 8
#define FX_H 6
#define FX_V 29

typedef struct {
    int enc, bits;
} fx_enc;

typedef struct {
    int enc, bits, rows, cols;
    float *alpha;
    void *data;
} fx_matrix;

typedef struct {
    float mean[FX_MELS], istd[FX_MELS], b1[2], b2[3], bih[3 * FX_H], bhh[3 * FX_H], bo[FX_V];
    fx_matrix w[5]; /* conv1, conv2, gru.ih, gru.hh, out */
    svx_layer_desc layers[6];
    svx_model_desc desc;
} fx_model;

static inline void fx_make_matrix(fx_matrix *m, fx_enc e, int rows, int cols, double scale)
{
    size_t n = (size_t)rows * (size_t)cols;
    m->enc = e.enc;
    m->bits = e.bits;
    m->rows = rows;
    m->cols = cols;
    m->alpha = malloc((size_t)rows * sizeof(float));
    for (int r = 0; r < rows; r++)
        m->alpha[r] = (float)(scale * (0.5 + tu_rand_uniform()));
    if (e.enc == SVX_ENC_F32) {
        float *f = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            f[i] = (float)(scale * tu_rand_normal());
        m->data = f;
    } else if (e.enc == SVX_ENC_I8) {
        int8_t *q = malloc(n);
        for (size_t i = 0; i < n; i++)
            q[i] = (int8_t)((int)(tu_rand_u64() % 255u) - 127);
        for (int r = 0; r < rows; r++)
            m->alpha[r] /= 64.0f;
        m->data = q;
    } else {
        uint8_t *c = malloc(n);
        for (size_t i = 0; i < n; i++)
            c[i] = (uint8_t)(tu_rand_u64() % (1u << (e.bits > 0 && e.bits < 8 ? e.bits : 3)));
        for (int r = 0; r < rows; r++)
            m->alpha[r] /= (float)(1 << ((1 << ((e.bits > 1 && e.bits < 8 ? e.bits : 3) - 1)) - 1));
        m->data = c;
    }
}

/* The value of weight (r, c) by model/ARCH.md, computed here independently of
 * the library (double). */
static inline double fx_value(const fx_matrix *m, int r, int c)
{
    size_t i = (size_t)r * (size_t)m->cols + (size_t)c;
    if (m->enc == SVX_ENC_F32)
        return ((const float *)m->data)[i];
    if (m->enc == SVX_ENC_I8)
        return (double)m->alpha[r] * ((const int8_t *)m->data)[i];
    unsigned code = ((const uint8_t *)m->data)[i], b = (unsigned)m->bits;
    double s = ((code >> (b - 1)) & 1u) ? -1.0 : 1.0;
    unsigned field = code & ((1u << (b - 1)) - 1u);
    if (m->enc == SVX_ENC_DENSESHIFT)
        return (double)m->alpha[r] * s * ldexp(1.0, (int)field);
    return field ? (double)m->alpha[r] * s * ldexp(1.0, (int)field - 1) : 0.0;
}

static inline svx_tensor_desc fx_tensor(const fx_matrix *m)
{
    svx_tensor_desc t = {1, m->enc, m->bits, m->rows, m->cols, m->alpha, m->data};
    return t;
}

static inline svx_tensor_desc fx_vector(const float *v, int n)
{
    svx_tensor_desc t = {0, SVX_ENC_F32, 32, n, 1, NULL, v};
    return t;
}

/* Builds the fixture's description (pointers into fx). enc: 5 encodings. */
/* The fixtures' model description: default front end with FX_MELS bands,
 * the 29 standard symbols, meta text and the layers. */
static inline void fx_desc(svx_model_desc *d, const char *meta, svx_layer_desc *layers,
                           int n_layers)
{
    svx_frontend_params_default(&d->fe);
    d->fe.n_mels = FX_MELS;
    d->n_symbols = FX_V;
    d->symbols = svx_default_symbols;
    d->meta = meta;
    d->n_layers = n_layers;
    d->layers = layers;
}

static inline void fx_build(fx_model *fx, const fx_enc enc[5])
{
    memset(fx, 0, sizeof *fx);
    for (int i = 0; i < FX_MELS; i++) {
        fx->mean[i] = (float)tu_rand_normal();
        fx->istd[i] = (float)(0.5 + tu_rand_uniform());
    }
    for (int i = 0; i < 2; i++)
        fx->b1[i] = (float)(0.2 * tu_rand_normal());
    for (int i = 0; i < 3; i++)
        fx->b2[i] = (float)(0.2 * tu_rand_normal());
    for (int i = 0; i < 3 * FX_H; i++) {
        fx->bih[i] = (float)(0.2 * tu_rand_normal());
        fx->bhh[i] = (float)(0.2 * tu_rand_normal());
    }
    for (int i = 0; i < FX_V; i++)
        fx->bo[i] = (float)tu_rand_normal();
    fx_make_matrix(&fx->w[0], enc[0], 2, 1 * 2 * 3, 0.5);
    fx_make_matrix(&fx->w[1], enc[1], 3, 2 * 3 * 3, 0.3);
    fx_make_matrix(&fx->w[2], enc[2], 3 * FX_H, 12, 0.3);
    fx_make_matrix(&fx->w[3], enc[3], 3 * FX_H, FX_H, 0.3);
    fx_make_matrix(&fx->w[4], enc[4], FX_V, FX_H, 2.0);
    svx_layer_desc *L = fx->layers;
    L[0] = (svx_layer_desc){SVX_LAYER_NORM, "norm", 1, {FX_MELS}, 2,
                            {fx_vector(fx->mean, FX_MELS), fx_vector(fx->istd, FX_MELS)}};
    L[1] = (svx_layer_desc){SVX_LAYER_CONV2D, "conv1", 10, {1, 8, 2, 8, 2, 3, 1, 1, 1, 1}, 2,
                            {fx_tensor(&fx->w[0]), fx_vector(fx->b1, 2)}};
    L[2] = (svx_layer_desc){SVX_LAYER_CONV2D, "conv2", 10, {2, 8, 3, 4, 3, 3, 2, 2, 1, 1}, 2,
                            {fx_tensor(&fx->w[1]), fx_vector(fx->b2, 3)}};
    L[3] = (svx_layer_desc){SVX_LAYER_GRU, "gru", 2, {12, FX_H}, 4,
                            {fx_tensor(&fx->w[2]), fx_tensor(&fx->w[3]), fx_vector(fx->bih, 3 * FX_H),
                             fx_vector(fx->bhh, 3 * FX_H)}};
    L[4] = (svx_layer_desc){SVX_LAYER_LINEAR, "out", 3, {FX_H, FX_V, 0}, 2,
                            {fx_tensor(&fx->w[4]), fx_vector(fx->bo, FX_V)}};
    L[5] = (svx_layer_desc){SVX_LAYER_LOGSOFTMAX, "logsoftmax", 1, {FX_V}, 0, {{0}}};
    fx_desc(&fx->desc, "{\"test\": \"fixture\"}", fx->layers, 6);
}

static inline void fx_free(fx_model *fx)
{
    for (int i = 0; i < 5; i++) {
        free(fx->w[i].alpha);
        free(fx->w[i].data);
    }
}

static inline uint8_t *fx_bytes(const fx_model *fx, size_t *n, svx_model_layout *lay)
{
    uint8_t *b = NULL;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&fx->desc, &b, n, lay), SVX_OK);
    return b;
}

/* Writes a new total size and CRC after an edit (a "valid" damaged file). */
static inline void fx_restamp(uint8_t *b, size_t n)
{
    for (int k = 0; k < 8; k++)
        b[8 + k] = (uint8_t)((uint64_t)n >> (8 * k));
    uint32_t crc = svx_crc32(0, b, n - 4u);
    for (int k = 0; k < 4; k++)
        b[n - 4u + (size_t)k] = (uint8_t)(crc >> (8 * k));
}

/* The smallest model with the standard 29 symbols: one f32 linear layer
 * (w: [29 x fe->n_mels], bias: [29]) then log-softmax, serialised into
 * *bytes (free it). Returns svx_model_serialize's code. */
static inline int fx_linear_model_bytes(const svx_frontend_params *fe, const float *w,
                                        const float *bias, const char *meta, uint8_t **bytes,
                                        size_t *n)
{
    enum { V = 29 };
    svx_layer_desc ly[2];
    memset(ly, 0, sizeof ly);
    ly[0].type = SVX_LAYER_LINEAR;
    ly[0].name = "out";
    ly[0].n_params = 3;
    ly[0].params[0] = fe->n_mels;
    ly[0].params[1] = V;
    ly[0].n_tensors = 2;
    ly[0].t[0] = (svx_tensor_desc){1, SVX_ENC_F32, 32, V, fe->n_mels, NULL, w};
    ly[0].t[1] = (svx_tensor_desc){0, SVX_ENC_F32, 32, V, 1, NULL, bias};
    ly[1].type = SVX_LAYER_LOGSOFTMAX;
    ly[1].name = "logsoftmax";
    ly[1].n_params = 1;
    ly[1].params[0] = V;
    svx_model_desc d;
    memset(&d, 0, sizeof d);
    d.fe = *fe;
    d.n_symbols = V;
    d.symbols = svx_default_symbols;
    d.meta = meta;
    d.n_layers = 2;
    d.layers = ly;
    return svx_model_serialize(&d, bytes, n, NULL);
}

#endif
