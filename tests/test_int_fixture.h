/* A tiny integer graph (model/FORMAT.md types 16..19) with the shapes of
 * test_model_fixture.h, written through svx_model_serialize, shared by
 * test_model_file.c (hostile cases) and test_int_runner.c (streaming):
 *   int_input(8, f=5) -> int_conv2d 1->2 ch K 2x3 S 1x1 P 1 ReLU, int8 weights
 *   -> int_conv2d 2->3 ch K 3x3 S 2x2 P 1 ReLU, power-of-two codes
 *   -> int_gru 12 -> 6 (default PWL knots, out f=7) -> int_linear 6 -> 29, int8, f=8
 * ix_append adds it after a float fixture's layers (a file with both forms). */
#ifndef SVX_TEST_INT_FIXTURE_H
#define SVX_TEST_INT_FIXTURE_H

#include "test_model_fixture.h"

#define IX_H 6

typedef struct {
    float mean[FX_MELS], istd[FX_MELS];
    int8_t w1[2 * 6], w2[3 * 18], wih[3 * IX_H * 12], whh[3 * IX_H * IX_H], wo[FX_V * IX_H];
    int32_t m1[2], k1[2], b1[2], m2[3], k2[3], b2[3];
    int32_t mih[3 * IX_H], kih[3 * IX_H], bih[3 * IX_H], mhh[3 * IX_H], khh[3 * IX_H], bhh[3 * IX_H];
    int32_t mo[FX_V], ko[FX_V], bo[FX_V];
    int32_t knots[2 * 23];
    svx_layer_desc layers[12];
    int n_layers;
    svx_model_desc desc;
} ix_model;

static inline svx_tensor_desc ix_i8(const int8_t *v, int rows, int cols)
{
    svx_tensor_desc t = {cols > 0, SVX_ENC_INT8, 8, rows, cols > 0 ? cols : 1, NULL, v};
    return t;
}

static inline svx_tensor_desc ix_i32(const int32_t *v, int rows, int cols)
{
    svx_tensor_desc t = {cols > 0, SVX_ENC_INT32, 32, rows, cols > 0 ? cols : 1, NULL, v};
    return t;
}

/* Mantissas in [2^14, 2^15) with shift k: scale ~ 1.5 * 2^(14 - k). */
static inline void ix_requant(int32_t *m, int32_t *k, int32_t *b, int n, int shift, int bias)
{
    for (int i = 0; i < n; i++) {
        m[i] = 16384 + (int32_t)(tu_rand_u64() % 16384u);
        k[i] = shift;
        b[i] = bias ? (int32_t)(tu_rand_u64() % (2u * (unsigned)bias + 1u)) - bias : 0;
    }
}

static inline void ix_codes(int8_t *c, int n, int max_code)
{
    for (int i = 0; i < n; i++) {
        int v = 1 + (int)(tu_rand_u64() % (unsigned)max_code);
        c[i] = (int8_t)(tu_rand_u64() & 1u ? -v : v);
    }
}

/* Fills ix and describes its integer layers into out[0..4]. */
static inline void ix_fill(ix_model *ix, svx_layer_desc *out)
{
    svx_int_pwl pwl;
    svx_int_pwl_default_sigmoid(&pwl);
    for (int i = 0; i < FX_MELS; i++) {
        ix->mean[i] = (float)tu_rand_normal();
        ix->istd[i] = (float)(0.5 + tu_rand_uniform());
    }
    for (int i = 0; i < 12; i++)
        ix->w1[i] = (int8_t)((int)(tu_rand_u64() % 255u) - 127);
    ix_codes(ix->w2, 54, 4);
    ix_codes(ix->wih, 3 * IX_H * 12, 4);
    ix_codes(ix->whh, 3 * IX_H * IX_H, 4);
    for (int i = 0; i < FX_V * IX_H; i++)
        ix->wo[i] = (int8_t)((int)(tu_rand_u64() % 255u) - 127);
    ix_requant(ix->m1, ix->k1, ix->b1, 2, 22, 20);
    ix_requant(ix->m2, ix->k2, ix->b2, 3, 21, 20);
    ix_requant(ix->mih, ix->kih, ix->bih, 3 * IX_H, 14, 1000);
    ix_requant(ix->mhh, ix->khh, ix->bhh, 3 * IX_H, 19, 1000);
    ix_requant(ix->mo, ix->ko, ix->bo, FX_V, 21, 300);
    for (int i = 0; i < pwl.n_knots; i++) {
        ix->knots[i] = pwl.x[i];
        ix->knots[pwl.n_knots + i] = pwl.y[i];
    }
    out[0] = (svx_layer_desc){SVX_LAYER_INT_INPUT, "in", 2, {FX_MELS, 5}, 2,
                              {fx_vector(ix->mean, FX_MELS), fx_vector(ix->istd, FX_MELS)}};
    out[1] = (svx_layer_desc){SVX_LAYER_INT_CONV2D, "iconv1", 11, {1, 8, 2, 8, 2, 3, 1, 1, 1, 1, 1}, 4,
                              {ix_i8(ix->w1, 2, 6), ix_i32(ix->m1, 2, 0), ix_i32(ix->k1, 2, 0),
                               ix_i32(ix->b1, 2, 0)}};
    out[2] = (svx_layer_desc){SVX_LAYER_INT_CONV2D, "iconv2", 11, {2, 8, 3, 4, 3, 3, 2, 2, 1, 1, 0}, 4,
                              {ix_i8(ix->w2, 3, 18), ix_i32(ix->m2, 3, 0), ix_i32(ix->k2, 3, 0),
                               ix_i32(ix->b2, 3, 0)}};
    out[3] = (svx_layer_desc){SVX_LAYER_INT_GRU, "igru", 3, {12, IX_H, 7}, 9,
                              {ix_i8(ix->wih, 3 * IX_H, 12), ix_i8(ix->whh, 3 * IX_H, IX_H),
                               ix_i32(ix->mih, 3 * IX_H, 0), ix_i32(ix->kih, 3 * IX_H, 0),
                               ix_i32(ix->bih, 3 * IX_H, 0), ix_i32(ix->mhh, 3 * IX_H, 0),
                               ix_i32(ix->khh, 3 * IX_H, 0), ix_i32(ix->bhh, 3 * IX_H, 0),
                               ix_i32(ix->knots, 2, pwl.n_knots)}};
    out[4] = (svx_layer_desc){SVX_LAYER_INT_LINEAR, "iout", 5, {IX_H, FX_V, 0, 1, 8}, 4,
                              {ix_i8(ix->wo, FX_V, IX_H), ix_i32(ix->mo, FX_V, 0),
                               ix_i32(ix->ko, FX_V, 0), ix_i32(ix->bo, FX_V, 0)}};
}

/* An integer-only model. */
static inline void ix_build(ix_model *ix)
{
    memset(ix, 0, sizeof *ix);
    ix_fill(ix, ix->layers);
    ix->n_layers = 5;
    fx_desc(&ix->desc, "{\"test\": \"int fixture\"}", ix->layers, 5);
}

/* Both forms: fx's six float layers, then ix's five integer layers. */
static inline void ix_build_both(ix_model *ix, const fx_model *fx)
{
    memset(ix, 0, sizeof *ix);
    memcpy(ix->layers, fx->layers, 6 * sizeof *ix->layers);
    ix_fill(ix, ix->layers + 6);
    ix->n_layers = 11;
    ix->desc = fx->desc;
    ix->desc.n_layers = 11;
    ix->desc.layers = ix->layers;
}

#endif
