/* Helpers for the decoder tests: random posteriors and an exhaustive
 * enumeration of CTC alignments (the brute-force reference). Everything is
 * static inline so each test file takes what it uses. */
#ifndef SVX_TEST_DECODER_UTIL_H
#define SVX_TEST_DECODER_UTIL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../decoder/decoder.h"
#include "testutil.h"

/* Small alphabet for brute force: blank, space, a, b, c. */
static const char *const tdu_small_syms[5] = {"", " ", "a", "b", "c"};

#define TDU_MAX_T 8
#define TDU_MAX_SEQS 20000

static inline double tdu_log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* T rows of V log-probabilities: log-softmax of normal logits * scale. */
static inline void tdu_random_logprobs(float *lp, int T, int V, double scale)
{
    for (int t = 0; t < T; t++) {
        double z[64], mx = -1e300, sum = 0;
        for (int v = 0; v < V; v++) {
            z[v] = tu_rand_normal() * scale;
            if (z[v] > mx)
                mx = z[v];
        }
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        for (int v = 0; v < V; v++)
            lp[t * V + v] = (float)(z[v] - mx - log(sum));
    }
}

/* A label sequence (no blanks) with its total CTC log-probability. */
typedef struct {
    int n;
    int ids[TDU_MAX_T];
    double logp;
} tdu_seq;

/* CTC collapse of a path: merge repeats, drop blanks (0). */
static inline int tdu_collapse(const int *path, int T, int *ids)
{
    int n = 0, prev = -1;
    for (int t = 0; t < T; t++) {
        if (path[t] != prev && path[t] != 0)
            ids[n++] = path[t];
        prev = path[t];
    }
    return n;
}

/* Enumerates all V^T alignments and sums P(path) per label sequence.
 * Returns the number of distinct sequences written to seqs. Also returns the
 * single best path in best_path (first in enumeration order on ties). */
static inline int tdu_enumerate(const float *lp, int T, int V, tdu_seq *seqs, int max_seqs,
                                int *best_path)
{
    int path[TDU_MAX_T] = {0};
    int n_seqs = 0;
    double best = -INFINITY;
    for (;;) {
        double lpath = 0;
        for (int t = 0; t < T; t++)
            lpath += lp[t * V + path[t]];
        if (best_path && lpath > best) {
            best = lpath;
            memcpy(best_path, path, (size_t)T * sizeof *path);
        }
        int ids[TDU_MAX_T];
        int n = tdu_collapse(path, T, ids);
        int k;
        for (k = 0; k < n_seqs; k++)
            if (seqs[k].n == n && !memcmp(seqs[k].ids, ids, (size_t)n * sizeof *ids))
                break;
        if (k == n_seqs && n_seqs < max_seqs) {
            seqs[k].n = n;
            memcpy(seqs[k].ids, ids, (size_t)n * sizeof *ids);
            seqs[k].logp = -INFINITY;
            n_seqs++;
        }
        if (k < n_seqs)
            seqs[k].logp = tdu_log_add(seqs[k].logp, lpath);
        /* next path (odometer, last frame fastest) */
        int t = T - 1;
        while (t >= 0 && ++path[t] == V)
            path[t--] = 0;
        if (t < 0)
            break;
    }
    return n_seqs;
}

/* Log-probabilities of one frame where symbol `sym` has probability p and
 * the rest share 1 - p equally. */
static inline void tdu_spike(float *row, int V, int sym, double p)
{
    for (int v = 0; v < V; v++)
        row[v] = (float)log((1.0 - p) / (V - 1));
    row[sym] = (float)log(p);
}

/* Builds frames spelling text: each letter `hold` frames, one blank frame
 * between letters, `gap` blank frames for each '|' (and a space symbol
 * frame for ' '). Returns the number of frames. */
static inline int tdu_spell_frames(const svx_symtab *tab, const char *text, int hold, int gap,
                                   double p, float *lp, int max_frames)
{
    int V = tab->n_symbols, T = 0;
    for (const char *c = text; *c; c++) {
        if (*c == '|') {
            for (int k = 0; k < gap && T < max_frames; k++)
                tdu_spike(lp + (T++) * V, V, 0, p);
            continue;
        }
        int id;
        char one[2] = {*c, 0};
        CU_ASSERT_EQUAL_FATAL(svx_symtab_spell(tab, one, &id, 1, "test"), 1);
        for (int k = 0; k < hold && T < max_frames; k++)
            tdu_spike(lp + (T++) * V, V, id, p);
        if (T < max_frames)
            tdu_spike(lp + (T++) * V, V, 0, p);
    }
    return T;
}

#endif
