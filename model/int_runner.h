/* Whole-model integer runner (issue 7): the integer layer graph of an SVXM
 * file (model/FORMAT.md, layer types 16..19) run frame by frame on int8/int16
 * activations with the primitives of int_model.h. model/int_runner.c holds the
 * arithmetic and contains no floating point (`make nofloat`); the two float
 * boundaries (quantising the normalised log-mel frame at the input, turning
 * int16 scores into log-probabilities at the output) are in model/model.c.
 * The rules are model/INTEGER.md; train/intq.py + train/export_int.py
 * (`int_forward`) are the Python reference, bit-exact with this runner
 * (train/tests/test_integer_model.py). */
#ifndef SVX_INT_RUNNER_H
#define SVX_INT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "int_model.h"

/* Layer type ids of the integer graph (model/FORMAT.md). */
enum {
    SVX_LAYER_INT_INPUT = 16,  /* normalise + quantise the log-mel frame to int8 */
    SVX_LAYER_INT_CONV2D = 17, /* int8 -> int8 */
    SVX_LAYER_INT_GRU = 18,    /* int8 -> int16 Q.12 state -> int8 */
    SVX_LAYER_INT_LINEAR = 19  /* int8 -> int16 scores (last layer) */
};

typedef struct {
    int type;                  /* SVX_LAYER_INT_* */
    char name[64];
    int n_in, n_out;           /* values per input / output frame */
    int frac_bits;             /* input: f of the int8 input; gru: f of its int8 output;
                                  linear: f of the int16 scores */
    int s_t;                   /* conv: time stride */
    const float *mean, *inv_std; /* input: used by model.c only (float boundary) */
    svx_int_conv conv;
    svx_int_gru gru;
    svx_int_pwl pwl;           /* gru: sigmoid knots from the file */
    svx_int_linear lin;
    void *owned[12];           /* arrays this layer owns (freed by the loader) */
    size_t stored_bytes;       /* bytes of this layer's tensors in the file */
} svx_int_layer;

/* Per-stream state of the integer graph, carved from one allocation by
 * svx_int_state_init; push never allocates. */
typedef struct {
    int8_t *hist[64];          /* conv: k_t input frames, oldest first */
    int64_t count[64];         /* conv: input frames seen since reset */
    int16_t *h[64];            /* gru: hidden state, Q.12 */
    int8_t *act[2];            /* ping-pong int8 activation frames */
    int8_t *win;               /* conv window */
    int32_t *scratch;          /* accumulators */
    size_t n_bytes;
    void *mem;
} svx_int_state;

/* Bytes svx_int_state_init needs for these layers (a multiple of 8). */
size_t svx_int_state_bytes(const svx_int_layer *layers, int n_layers);
/* Carves mem (svx_int_state_bytes bytes, 8-byte aligned) into st and zeroes it. */
void svx_int_state_init(svx_int_state *st, const svx_int_layer *layers, int n_layers, void *mem);
void svx_int_state_reset(svx_int_state *st);
/* Zeroes the GRU hidden states only. */
void svx_int_state_reset_recurrent(svx_int_state *st, const svx_int_layer *layers, int n_layers);
/* Runs layers[1..] on one quantised input frame x (layers[0] is the input
 * layer, already applied by the caller: x has layers[0].n_out int8 values).
 * Returns 1 and writes the last layer's n_out int16 scores, or 0 when a
 * strided convolution emits nothing for this frame. */
int svx_int_state_push(svx_int_state *st, const svx_int_layer *layers, int n_layers,
                       const int8_t *x, int16_t *scores);

#endif
