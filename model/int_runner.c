/* Whole-model integer runner: see int_runner.h and model/INTEGER.md.
 * No floating point in this translation unit (checked by `make nofloat`). */
#include "int_runner.h"

#include <string.h>

static size_t up8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* Sizes of the shared buffers: largest int8 frame, conv window, accumulators. */
static void shared_sizes(const svx_int_layer *layers, int n_layers, size_t *act, size_t *win,
                         size_t *acc)
{
    *act = *win = *acc = 1;
    for (int i = 0; i < n_layers; i++) {
        const svx_int_layer *L = &layers[i];
        if ((size_t)L->n_out > *act) *act = (size_t)L->n_out;
        if ((size_t)L->n_in > *act) *act = (size_t)L->n_in;
        if (L->type == SVX_LAYER_INT_CONV2D) {
            size_t w = svx_int_conv_win_bytes(&L->conv);
            if (w > *win) *win = w;
            if (SVX_INT_CONV_ACC(&L->conv) > *acc) *acc = SVX_INT_CONV_ACC(&L->conv);
        } else if (L->type == SVX_LAYER_INT_GRU) {
            if (6u * L->gru.n_hidden > *acc) *acc = 6u * L->gru.n_hidden;
        } else if (L->type == SVX_LAYER_INT_LINEAR) {
            if (L->lin.n_out > *acc) *acc = L->lin.n_out;
        }
    }
}

size_t svx_int_state_bytes(const svx_int_layer *layers, int n_layers)
{
    size_t act, win, acc, n = 0;
    shared_sizes(layers, n_layers, &act, &win, &acc);
    for (int i = 0; i < n_layers; i++) {
        const svx_int_layer *L = &layers[i];
        if (L->type == SVX_LAYER_INT_CONV2D)
            n += up8(L->conv.k_t * (size_t)L->n_in);
        else if (L->type == SVX_LAYER_INT_GRU)
            n += up8(L->gru.n_hidden * sizeof(int16_t));
    }
    return n + 2u * up8(act) + up8(win) + up8(acc * sizeof(int32_t));
}

void svx_int_state_init(svx_int_state *st, const svx_int_layer *layers, int n_layers, void *mem)
{
    size_t act, win, acc;
    uint8_t *p = mem;
    memset(st, 0, sizeof *st);
    st->mem = mem;
    st->n_bytes = svx_int_state_bytes(layers, n_layers);
    shared_sizes(layers, n_layers, &act, &win, &acc);
    /* int32 scratch first: mem is 8-byte aligned, every piece a multiple of 8 */
    st->scratch = (int32_t *)(void *)p; p += up8(acc * sizeof(int32_t));
    for (int i = 0; i < n_layers && i < 64; i++) {
        const svx_int_layer *L = &layers[i];
        if (L->type == SVX_LAYER_INT_GRU) {
            st->h[i] = (int16_t *)(void *)p;
            p += up8(L->gru.n_hidden * sizeof(int16_t));
        }
    }
    for (int i = 0; i < n_layers && i < 64; i++) {
        const svx_int_layer *L = &layers[i];
        if (L->type == SVX_LAYER_INT_CONV2D) {
            st->hist[i] = (int8_t *)p;
            p += up8(L->conv.k_t * (size_t)L->n_in);
        }
    }
    st->act[0] = (int8_t *)p; p += up8(act);
    st->act[1] = (int8_t *)p; p += up8(act);
    st->win = (int8_t *)p;
    svx_int_state_reset(st);
}

void svx_int_state_reset(svx_int_state *st)
{
    memset(st->mem, 0, st->n_bytes);
    memset(st->count, 0, sizeof st->count);
}

void svx_int_state_reset_recurrent(svx_int_state *st, const svx_int_layer *layers, int n_layers)
{
    for (int i = 0; i < n_layers && i < 64; i++)
        if (layers[i].type == SVX_LAYER_INT_GRU && st->h[i])
            memset(st->h[i], 0, layers[i].gru.n_hidden * sizeof(int16_t));
}

int svx_int_state_push(svx_int_state *st, const svx_int_layer *layers, int n_layers,
                       const int8_t *x, int16_t *scores)
{
    int ping = 0;
    for (int li = 1; li < n_layers; li++) {
        const svx_int_layer *L = &layers[li];
        int8_t *y = st->act[ping];
        switch (L->type) {
        case SVX_LAYER_INT_CONV2D: {
            /* history of the last k_t input frames, oldest first (ARCH.md:
             * zeros before frame 0, which the reset state provides) */
            size_t fr = (size_t)L->n_in, kt = L->conv.k_t;
            memmove(st->hist[li], st->hist[li] + fr, (kt - 1u) * fr);
            memcpy(st->hist[li] + (kt - 1u) * fr, x, fr);
            int64_t n = st->count[li]++;
            if (n % L->s_t != 0)
                return 0;
            svx_int_conv2d_frame(&L->conv, st->hist[li], y, st->win, st->scratch);
            break;
        }
        case SVX_LAYER_INT_GRU:
            svx_int_gru_step(&L->gru, x, st->h[li], st->scratch);
            svx_int_h_to_i8(st->h[li], L->gru.n_hidden, L->frac_bits, y);
            break;
        case SVX_LAYER_INT_LINEAR:
            /* the loader allows it only as the last layer */
            svx_int_linear_run(&L->lin, x, scores, st->scratch);
            return 1;
        default:
            return 0;
        }
        x = y;
        ping ^= 1;
    }
    return 0;
}
