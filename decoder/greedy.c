/* CTC greedy (best-path) decoding, streaming. */
#include "decoder.h"
#include "svx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GREEDY_MAX_LABELS 1024

struct svx_greedy {
    svx_symtab tab;
    svx_dec_params p;
    int gap_frames;               /* blank run that ends a word */
    svx_wordq q;
    int32_t t;                    /* frames pushed since reset */
    int prev;                     /* symbol of the previous frame, -1 at start */
    int blank_run;
    /* the open word */
    int open;
    char text[SVX_DEC_MAX_WORD_BYTES + 1];
    size_t n_bytes;
    int32_t start, last;          /* frames of its first and (so far) last symbol */
    double post_sum;              /* sum of max posteriors from start to now */
    double post_sum_last;         /* ... up to and including frame `last` */
    /* collapsed labels, the last GREEDY_MAX_LABELS kept */
    int labels[GREEDY_MAX_LABELS];
    int n_labels;                 /* total emitted */
};

int svx_greedy_create(const svx_symtab *t, const svx_dec_params *p, svx_greedy **out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_greedy_create: out is NULL");
    *out = NULL;
    if (!t || !p || !(p->frame_s > 0) || !(p->word_gap_s > 0) || p->max_words < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_greedy_create: bad parameters");
    svx_greedy *g = calloc(1, sizeof *g);
    if (!g)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_greedy_create: out of memory");
    g->tab = *t;
    g->p = *p;
    g->gap_frames = (int)ceil(p->word_gap_s / p->frame_s - 1e-9);
    if (g->gap_frames < 1)
        g->gap_frames = 1;
    int rc = svx_wordq_init(&g->q, p->max_words);
    if (rc < 0) {
        free(g);
        return rc;
    }
    svx_greedy_reset(g);
    *out = g;
    return SVX_OK;
}

void svx_greedy_destroy(svx_greedy *g)
{
    if (!g)
        return;
    svx_wordq_free(&g->q);
    free(g);
}

void svx_greedy_reset(svx_greedy *g)
{
    svx_wordq_clear(&g->q);
    g->t = 0;
    g->prev = -1;
    g->blank_run = 0;
    g->open = 0;
    g->n_bytes = 0;
    g->text[0] = '\0';
    g->n_labels = 0;
}

static void open_word_as_svx(const svx_greedy *g, svx_word *w)
{
    memset(w, 0, sizeof *w);
    memcpy(w->text, g->text, g->n_bytes + 1);
    w->start_s = g->start * g->p.frame_s;
    w->end_s = (g->last + 1) * g->p.frame_s;
    double conf = g->post_sum_last / (double)(g->last - g->start + 1);
    w->confidence = (float)(conf < 0 ? 0 : conf > 1 ? 1 : conf);
}

static void close_word(svx_greedy *g)
{
    if (!g->open)
        return;
    svx_word w;
    open_word_as_svx(g, &w);
    svx_wordq_push(&g->q, &w);
    g->open = 0;
    g->n_bytes = 0;
    g->text[0] = '\0';
}

void svx_greedy_push(svx_greedy *g, const float *lp)
{
    const int V = g->tab.n_symbols;
    int c = 0;
    for (int i = 1; i < V; i++)
        if (lp[i] > lp[c])
            c = i;
    double post = exp((double)lp[c]);
    const int32_t t = g->t++;
    if (g->open)
        g->post_sum += post;
    if (c == 0) {
        g->blank_run++;
        if (g->open && g->blank_run >= g->gap_frames)
            close_word(g);
    } else {
        g->blank_run = 0;
        if (c != g->prev) {
            g->labels[g->n_labels % GREEDY_MAX_LABELS] = c;
            g->n_labels++;
            if (c == g->tab.space) {
                close_word(g);
            } else {
                size_t sl = strlen(g->tab.sym[c]);
                if (g->open && g->n_bytes + sl > SVX_DEC_MAX_WORD_BYTES)
                    close_word(g);
                if (!g->open) {
                    g->open = 1;
                    g->start = t;
                    g->post_sum = post;
                }
                memcpy(g->text + g->n_bytes, g->tab.sym[c], sl + 1);
                g->n_bytes += sl;
            }
        }
        if (g->open && c != g->tab.space) {
            g->last = t;
            g->post_sum_last = g->post_sum;
        }
    }
    g->prev = c;
}

void svx_greedy_flush(svx_greedy *g) { close_word(g); }

int svx_greedy_words(const svx_greedy *g, svx_word *out, int max)
{
    int n = svx_wordq_copy(&g->q, out, max);
    if (g->open) {
        if (n < max)
            open_word_as_svx(g, &out[n]);
        n++;
    }
    return n;
}

int svx_greedy_pending(const svx_greedy *g, svx_word *out, int max)
{
    if (g->open && max > 0)
        open_word_as_svx(g, out);
    return g->open;
}

int svx_greedy_take_words(svx_greedy *g, svx_word *out, int max)
{
    return svx_wordq_take(&g->q, out, max);
}

int svx_greedy_labels(const svx_greedy *g, int *ids, int max)
{
    int first = g->n_labels > GREEDY_MAX_LABELS ? g->n_labels - GREEDY_MAX_LABELS : 0;
    int n = g->n_labels - first;
    for (int i = 0; i < n && i < max; i++)
        ids[i] = g->labels[(first + i) % GREEDY_MAX_LABELS];
    return n;
}

const svx_wordq *svx_greedy_queue(const svx_greedy *g) { return &g->q; }
