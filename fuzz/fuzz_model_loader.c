/* libFuzzer target: the model loader (svx_model_load_memory).
 *
 * Each input is tried twice: as is, and "repaired" (header size field set to
 * the input length and the trailing CRC32 recomputed). Without the repair
 * almost every mutation stops at the checksum; with it the fuzzer reaches the
 * section parser, the tensor directory and the layer binding. A model that
 * loads is run for a few frames and summarised, so a loader that accepts an
 * inconsistent file shows up as an out-of-bounds access there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shiftvox.h"
#include "svx_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void exercise(const svx_model *m)
{
    char summary[4096];
    (void)svx_model_summary(m, summary, sizeof summary);
    int n_in = svx_model_n_inputs(m), n_sym = svx_model_n_symbols(m);
    if (n_in < 1 || n_sym < 2)
        abort();
    for (int i = 0; i < n_sym; i++)
        if (!svx_model_symbol(m, i))
            abort();
    svx_model_state *st = NULL;
    if (svx_model_state_create(m, &st) != SVX_OK)
        return;
    float *frame = calloc((size_t)n_in, sizeof *frame);
    float *lp = calloc((size_t)n_sym, sizeof *lp);
    if (frame && lp) {
        for (int t = 0; t < 8; t++) {
            for (int k = 0; k < n_in; k++)
                frame[k] = (float)((t * 7 + k * 3) % 11) - 5.0f;
            (void)svx_model_state_push(st, frame, lp);
        }
    }
    free(frame);
    free(lp);
    svx_model_state_destroy(st);
}

static void try_load(const uint8_t *data, size_t size)
{
    svx_model *m = NULL;
    /* Exact-size heap copy so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return;
    if (size)
        memcpy(buf, data, size);
    if (svx_model_load_memory(buf, size, NULL, &m) == SVX_OK) {
        free(buf);   /* documented: the buffer may be freed after return */
        exercise(m);
        svx_model_destroy(m);
        return;
    }
    if (m)
        abort();     /* a failed load must leave *out NULL */
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size);
    if (size >= 20 && size <= (1u << 24) && memcmp(data, "SVXM", 4) == 0) {
        uint8_t *fixed = malloc(size);
        if (!fixed)
            return 0;
        memcpy(fixed, data, size);
        fixed[4] = 1; fixed[5] = 0;   /* major version 1 */
        uint64_t n = size;
        for (int i = 0; i < 8; i++)
            fixed[8 + i] = (uint8_t)(n >> (8 * i));
        uint32_t crc = svx_crc32(0, fixed, size - 4);
        for (int i = 0; i < 4; i++)
            fixed[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        try_load(fixed, size);
        free(fixed);
    }
    return 0;
}
