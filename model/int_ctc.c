/* Greedy CTC decoding of integer scores (issue 7): the decoder end of the
 * integer-only path. No floating point (checked by `make nofloat`). */
#include "int_model.h"

size_t svx_int_ctc_greedy(const int16_t *scores, size_t n_frames, size_t n_symbols,
                          int32_t *out, size_t max_out)
{
    size_t n_out = 0;
    size_t prev = 0;
    if (n_symbols == 0) return 0;
    for (size_t t = 0; t < n_frames; t++) {
        const int16_t *s = scores + t * n_symbols;
        size_t best = 0;
        for (size_t k = 1; k < n_symbols; k++)
            if (s[k] > s[best]) best = k;
        if (best != 0 && best != prev) {
            if (n_out < max_out) out[n_out] = (int32_t)best;
            n_out++;
        }
        prev = best;
    }
    return n_out;
}
