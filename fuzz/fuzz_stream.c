/* libFuzzer target: front end + model (+ decoder) fed random audio in random
 * chunk sizes.
 *
 * Input layout: byte 0 picks the decoder and whether special float values
 * (NaN, ±Inf, huge, subnormal) are planted; bytes 1..8 seed the chunk sizes;
 * the rest is 16-bit little-endian PCM. The same audio is pushed twice, once
 * in one piece and once in the fuzzed chunk sizes, and the results must be
 * identical (the library promises chunking does not matter):
 *   - front end + svx_model_state: every log-probability row, bit for bit;
 *   - svx_stream (when the library has it): the transcript and the events.
 * The model is tests/data/models/tiny_ds3.svxm (SVX_FUZZ_MODEL overrides). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shiftvox.h"

/* svx_stream_* are weak here so this target builds before the decoder helper's
 * stream exists; the fuzz build links every library object, so a strong
 * definition wins as soon as there is one. */
#pragma weak svx_stream_create
#pragma weak svx_stream_destroy
#pragma weak svx_stream_push
#pragma weak svx_stream_flush
#pragma weak svx_stream_next_event
#pragma weak svx_stream_get_text
#pragma weak svx_stream_config_default

static svx_model *g_model;
static svx_keyword_list *g_keywords;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("SVX_FUZZ_MODEL");
    if (!path || !*path)
        path = "tests/data/models/tiny_ds3.svxm";
    if (svx_model_load(path, &g_model) != SVX_OK) {
        fprintf(stderr, "fuzz_stream: %s\n", svx_last_error_message());
        exit(1);
    }
    if (svx_keywords_from_csv("yes,no:0.7,go", 0.5f, &g_keywords) != SVX_OK)
        exit(1);
    return 0;
}

typedef struct {
    float *lp;          /* rows of n_symbols log-probabilities */
    size_t n_rows, cap_rows;
    int err;            /* first error from the front end or the model */
} fm_result;

/* Front end + model state, pushing pcm in the given chunk sizes. */
static void run_frontend_model(const float *pcm, size_t n, const uint8_t *seed, int whole,
                               fm_result *res)
{
    const svx_frontend_params *p = svx_model_frontend(g_model);
    int n_mels = p->n_mels, n_sym = svx_model_n_symbols(g_model);
    svx_frontend *fe = NULL;
    svx_model_state *st = NULL;
    float frames[4 * 128];
    float *lp = malloc((size_t)n_sym * sizeof *lp);
    memset(res, 0, sizeof *res);
    if (!lp || n_mels > 128 || svx_frontend_create(p, &fe) != SVX_OK ||
        svx_model_state_create(g_model, &st) != SVX_OK)
        abort();
    size_t pos = 0, k = 0;
    while (pos < n && !res->err) {
        size_t chunk = whole ? n - pos : 1u + (size_t)((seed[k % 8] * 131u + k * 17u) % 3001u);
        k++;
        if (chunk > n - pos)
            chunk = n - pos;
        size_t done = 0;
        while (done < chunk && !res->err) {
            size_t used = 0;
            int nf = svx_frontend_process(fe, pcm + pos + done, chunk - done, &used, frames, 4);
            if (nf < 0) {
                res->err = nf;
                break;
            }
            if (used > chunk - done || (nf < 4 && used != chunk - done))
                abort();   /* consumed more than given, or stopped early without reason */
            done += used;
            for (int f = 0; f < nf; f++) {
                int r = svx_model_state_push(st, frames + (size_t)f * (size_t)n_mels, lp);
                if (r < 0) {
                    res->err = r;
                    break;
                }
                if (r == 1) {
                    if (res->n_rows == res->cap_rows) {
                        size_t c = res->cap_rows ? 2 * res->cap_rows : 64;
                        float *g = realloc(res->lp, c * (size_t)n_sym * sizeof *g);
                        if (!g)
                            abort();
                        res->lp = g;
                        res->cap_rows = c;
                    }
                    for (int s = 0; s < n_sym; s++)
                        if (!isfinite(lp[s]) || lp[s] > 1e-3f)
                            abort();   /* a log-probability is finite and <= 0 */
                    memcpy(res->lp + res->n_rows * (size_t)n_sym, lp, (size_t)n_sym * sizeof *lp);
                    res->n_rows++;
                }
            }
            if (nf == 0 && used == 0)
                break;
        }
        pos += chunk;
    }
    free(lp);
    svx_frontend_destroy(fe);
    svx_model_state_destroy(st);
}

/* The whole stream (decoder included), transcript into text. */
static int run_stream(const float *pcm, size_t n, const uint8_t *seed, int whole, int mode,
                      char *text, size_t n_text, char *events, size_t n_events)
{
    svx_stream_config cfg;
    svx_stream_config_default(&cfg);
    cfg.mode = (svx_decode_mode)mode;
    if (mode == SVX_DECODE_KWS) {
        cfg.keywords = svx_keyword_list_items(g_keywords);
        cfg.n_keywords = svx_keyword_list_count(g_keywords);
    }
    svx_stream *s = NULL;
    int rc = svx_stream_create(g_model, &cfg, &s);
    if (rc < 0)
        abort();   /* a valid configuration on a valid model */
    size_t pos = 0, k = 0, ev_len = 0;
    events[0] = '\0';
    while (pos < n && rc >= 0) {
        size_t chunk = whole ? n - pos : 1u + (size_t)((seed[k % 8] * 131u + k * 17u) % 3001u);
        k++;
        if (chunk > n - pos)
            chunk = n - pos;
        rc = svx_stream_push(s, pcm + pos, chunk);
        pos += chunk;
    }
    if (rc >= 0)
        rc = svx_stream_flush(s);
    svx_kws_event ev;
    while (svx_stream_next_event(s, &ev) == 1) {
        int w = snprintf(events + ev_len, n_events - ev_len, "%s@%.3f-%.3f;", ev.keyword, ev.start_s,
                         ev.end_s);
        if (w > 0 && (size_t)w < n_events - ev_len)
            ev_len += (size_t)w;
    }
    text[0] = '\0';
    int need = svx_stream_get_text(s, text, n_text);
    if (need < 0 || strlen(text) >= n_text)
        abort();
    svx_stream_destroy(s);
    return rc < 0 ? rc : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint8_t ctl = data[0];
    const uint8_t *seed = data + 1;
    size_t n = (size - 9) / 2;
    float *pcm = malloc((n ? n : 1) * sizeof *pcm);
    if (!pcm)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int16_t v = (int16_t)((uint16_t)data[9 + 2 * i] | ((uint16_t)data[10 + 2 * i] << 8));
        pcm[i] = (float)v / 32768.0f;
    }
    if ((ctl & 0x80) && n) {
        /* Plant one special value where the seed says. */
        static const float specials[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e-40f, 0.0f, -0.0f};
        size_t at = ((size_t)seed[0] << 8 | seed[1]) % n;
        pcm[at] = specials[(ctl >> 4) & 7];
    }

    fm_result a, b;
    run_frontend_model(pcm, n, seed, 1, &a);
    run_frontend_model(pcm, n, seed, 0, &b);
    int n_sym = svx_model_n_symbols(g_model);
    if (a.err != b.err || a.n_rows != b.n_rows ||
        (a.n_rows && memcmp(a.lp, b.lp, a.n_rows * (size_t)n_sym * sizeof(float)) != 0)) {
        fprintf(stderr, "fuzz_stream: chunked front end + model differs from one piece "
                "(err %d vs %d, rows %zu vs %zu)\n", a.err, b.err, a.n_rows, b.n_rows);
        abort();
    }
    free(a.lp);
    free(b.lp);

    if (svx_stream_create) {
        int mode = ctl % 3;
        char t1[2048], t2[2048], e1[2048], e2[2048];
        int r1 = run_stream(pcm, n, seed, 1, mode, t1, sizeof t1, e1, sizeof e1);
        int r2 = run_stream(pcm, n, seed, 0, mode, t2, sizeof t2, e2, sizeof e2);
        /* After a refused push (NaN/Inf) only the error code must agree: the
         * two runs stopped at different points. */
        int differ = (r1 < 0 || r2 < 0) ? r1 != r2 : (strcmp(t1, t2) != 0 || strcmp(e1, e2) != 0);
        if (differ) {
            fprintf(stderr, "fuzz_stream: mode %d chunked stream differs from one piece:\n"
                    "  rc %d vs %d\n  text '%s' vs '%s'\n  events '%s' vs '%s'\n",
                    mode, r1, r2, t1, t2, e1, e2);
            abort();
        }
    }
    free(pcm);
    return 0;
}
