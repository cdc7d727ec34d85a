/* CTC prefix beam search constrained by a lexicon trie, streaming and in
 * bounded memory. See decoder.h for the search space and the commit rule.
 *
 * Per frame every hypothesis h (log probabilities lp_b of its label sequence
 * ending in a blank, lp_nb ending in its last label) proposes:
 *   stay:   lp_b' = (lp_b + lp_nb) y_blank,  lp_nb' = lp_nb y_last   (repeat collapses)
 *   extend by label c allowed by the lexicon:
 *           lp_nb' = (c == last ? lp_b : lp_b + lp_nb) y_c
 * (products and sums in the log domain). Proposals with the same identity
 * (uncommitted words, trie node, last label) are summed, the beam_size best
 * survive. */
#include "decoder.h"
#include "svx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int32_t word;                 /* lexicon index */
    int32_t start, end;           /* frames: first symbol, one past the last */
    float conf;
} pword;

typedef struct {
    double lp_b, lp_nb;
    int32_t node;                 /* trie node of the partial word; 0 = root */
    int32_t last;                 /* last label, -1 before any */
    int32_t w_start;              /* frame of the partial word's first symbol */
    int32_t last_t;               /* latest frame its last label was emitted */
    double cum_start;             /* cumulative max posterior before w_start */
    double cum_last;              /* ... up to and including last_t */
    int n_words;
    uint64_t hash;                /* of the uncommitted word ids */
    pword *words;                 /* max_pending_words */
} hyp;

typedef struct {
    int parent;                   /* index into cur */
    int32_t node, last;
    int add_word;                 /* 1: the parent's partial word is finished here */
    int is_stay;
    double lp_b, lp_nb;
    double best_contrib;          /* largest single contribution: it sets the timing */
    int32_t w_start, last_t;
    double cum_start, cum_last;
    pword added;
    uint64_t hash;
} cand;

typedef struct {
    int32_t first_child, next_sibling;
    int32_t sym;
    int32_t word;                 /* lexicon index ending here, or -1 */
} tnode;

struct svx_beam {
    svx_symtab tab;
    svx_dec_params p;
    /* lexicon */
    int n_lex;
    char (*lex)[SVX_DEC_MAX_WORD_BYTES + 1];
    tnode *trie;
    int n_nodes;
    int32_t *root_child;          /* [n_symbols]: child of the root by symbol, or -1 */
    /* hypotheses */
    hyp *cur, *nxt;
    int n_cur;
    pword *word_pool;             /* 2 * beam_size * max_pending_words */
    cand *cands;
    int max_cands, n_cands;
    int32_t *table;               /* open-addressing hash of candidates */
    int table_size;
    int *heap;                    /* top-k selection */
    svx_wordq q;
    int32_t t;
    double cum;                   /* sum of max posteriors of frames before t */
    uint64_t forced;
    int flushed;
    double final_score;
};

/* ---- trie ---- */

static int32_t trie_child(const svx_beam *b, int32_t node, int sym)
{
    if (node == 0)
        return b->root_child[sym];
    for (int32_t c = b->trie[node].first_child; c >= 0; c = b->trie[c].next_sibling)
        if (b->trie[c].sym == sym)
            return c;
    return -1;
}

static int build_trie(svx_beam *b, const char *const *words, int n_words)
{
    int ids[SVX_DEC_MAX_WORD_BYTES];
    /* Count nodes first: at most total symbols + 1. */
    size_t total = 1;
    for (int i = 0; i < n_words; i++) {
        if (!words[i])
            return svx_fail(SVX_ERR_INVALID_ARG, "lexicon: word %d is NULL", i);
        int n = svx_symtab_spell(&b->tab, words[i], ids, SVX_DEC_MAX_WORD_BYTES, "lexicon word");
        if (n < 0)
            return n;
        if (n == 0)
            return svx_fail(SVX_ERR_KEYWORD, "lexicon: word %d is empty", i);
        for (int k = 0; k < n; k++)
            if (ids[k] == b->tab.space)
                return svx_fail(SVX_ERR_KEYWORD, "lexicon word \"%s\" contains a space; list "
                                "the words separately", words[i]);
        total += (size_t)n;
    }
    b->trie = calloc(total, sizeof *b->trie);
    b->lex = calloc((size_t)n_words, sizeof *b->lex);
    b->root_child = malloc((size_t)b->tab.n_symbols * sizeof *b->root_child);
    if (!b->trie || !b->lex || !b->root_child)
        return svx_fail(SVX_ERR_NO_MEMORY, "lexicon of %d words", n_words);
    for (int s = 0; s < b->tab.n_symbols; s++)
        b->root_child[s] = -1;
    b->trie[0] = (tnode){-1, -1, -1, -1};
    b->n_nodes = 1;
    b->n_lex = 0;
    for (int i = 0; i < n_words; i++) {
        int n = svx_symtab_spell(&b->tab, words[i], ids, SVX_DEC_MAX_WORD_BYTES, "lexicon word");
        int32_t node = 0;
        for (int k = 0; k < n; k++) {
            int32_t c = trie_child(b, node, ids[k]);
            if (c < 0) {
                c = b->n_nodes++;
                b->trie[c] = (tnode){-1, b->trie[node].first_child, ids[k], -1};
                b->trie[node].first_child = c;
                if (node == 0)
                    b->root_child[ids[k]] = c;
            }
            node = c;
        }
        if (b->trie[node].word < 0) {     /* duplicates keep the first */
            int w = b->n_lex++;
            size_t len = 0;
            /* Store the spelled (lower-case) form. */
            for (int k = 0; k < n; k++) {
                size_t sl = strlen(b->tab.sym[ids[k]]);
                memcpy(b->lex[w] + len, b->tab.sym[ids[k]], sl);
                len += sl;
            }
            b->lex[w][len] = '\0';
            b->trie[node].word = w;
        }
    }
    return SVX_OK;
}

/* ---- helpers ---- */

static double log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

static uint64_t hash_words(const pword *w, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uint32_t)w[i].word + 1;
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t hash_word_append(uint64_t h, int32_t word)
{
    h ^= (uint64_t)(uint32_t)word + 1;
    return h * 1099511628211ull;
}

static uint64_t cand_key(const cand *c)
{
    uint64_t h = c->hash;
    h ^= (uint64_t)(uint32_t)c->node * 0x9E3779B97F4A7C15ull;
    h ^= ((uint64_t)(uint32_t)(c->last + 1)) << 40;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

/* Word i of the uncommitted words of candidate c. */
static const pword *cand_word(const svx_beam *b, const cand *c, int i)
{
    const hyp *par = &b->cur[c->parent];
    return i < par->n_words ? &par->words[i] : &c->added;
}

static int cand_n_words(const svx_beam *b, const cand *c)
{
    return b->cur[c->parent].n_words + c->add_word;
}

static int cand_same(const svx_beam *b, const cand *x, const cand *y)
{
    if (x->node != y->node || x->last != y->last || x->hash != y->hash)
        return 0;
    int n = cand_n_words(b, x);
    if (n != cand_n_words(b, y))
        return 0;
    for (int i = 0; i < n; i++)
        if (cand_word(b, x, i)->word != cand_word(b, y, i)->word)
            return 0;
    return 1;
}

/* Adds a proposal: merges it with an equal candidate or appends it. */
static void propose(svx_beam *b, const cand *c)
{
    uint64_t key = cand_key(c);
    int mask = b->table_size - 1;
    int pos = (int)(key & (uint64_t)mask);
    while (b->table[pos] >= 0) {
        cand *o = &b->cands[b->table[pos]];
        if (cand_same(b, o, c)) {
            o->lp_b = log_add(o->lp_b, c->lp_b);
            o->lp_nb = log_add(o->lp_nb, c->lp_nb);
            if (c->best_contrib > o->best_contrib) {
                o->best_contrib = c->best_contrib;
                o->w_start = c->w_start;
                o->last_t = c->last_t;
                o->cum_start = c->cum_start;
                o->cum_last = c->cum_last;
                o->added = c->added;
                o->parent = c->parent;   /* words equal by id; keep the dominant timing */
                o->add_word = c->add_word;
            }
            return;
        }
        pos = (pos + 1) & mask;
    }
    int i = b->n_cands++;
    b->cands[i] = *c;
    b->table[pos] = i;
}

static pword finished_word(const svx_beam *b, const hyp *h)
{
    pword w;
    w.word = b->trie[h->node].word;
    w.start = h->w_start;
    w.end = h->last_t + 1;
    double n = (double)(w.end - w.start);
    double conf = n > 0 ? (h->cum_last - h->cum_start) / n : 0.0;
    w.conf = (float)(conf < 0 ? 0 : conf > 1 ? 1 : conf);
    return w;
}

static void to_svx_word(const svx_beam *b, const pword *w, svx_word *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->text, b->lex[w->word], sizeof out->text);
    out->text[sizeof out->text - 1] = '\0';
    out->start_s = w->start * b->p.frame_s;
    out->end_s = w->end * b->p.frame_s;
    out->confidence = w->conf;
}

static double hyp_total(const hyp *h) { return log_add(h->lp_b, h->lp_nb); }
static double cand_total(const cand *c) { return log_add(c->lp_b, c->lp_nb); }

/* ---- create / reset ---- */

int svx_beam_create(const svx_symtab *t, const svx_dec_params *p, const char *const *words,
                    int n_words, svx_beam **out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_beam_create: out is NULL");
    *out = NULL;
    if (!t || !p || !(p->frame_s > 0) || p->beam_size < 1 || p->beam_size > 1 << 16 ||
        p->max_pending_words < 1 || p->max_pending_words > 1024 || p->max_words < 1 ||
        !(p->commit_margin >= 0) || !(p->commit_lag_s >= 0))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_beam_create: bad parameters (beam %d, pending "
                        "words %d)", p ? p->beam_size : 0, p ? p->max_pending_words : 0);
    if (!words) {
        words = svx_vocab_default;
        n_words = SVX_VOCAB_DEFAULT_SIZE;
    }
    if (n_words < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_beam_create: empty lexicon");
    svx_beam *b = calloc(1, sizeof *b);
    if (!b)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_beam_create: out of memory");
    b->tab = *t;
    b->p = *p;
    int rc = build_trie(b, words, n_words);
    if (rc < 0)
        goto fail;
    const size_t K = (size_t)p->beam_size, P = (size_t)p->max_pending_words;
    b->cur = calloc(K, sizeof *b->cur);
    b->nxt = calloc(K, sizeof *b->nxt);
    b->word_pool = calloc(2 * K * P, sizeof *b->word_pool);
    /* stay + at most 2 proposals per label (continue the word, or end it
     * and start the next) */
    b->max_cands = (int)(K * (size_t)(2 * t->n_symbols + 1));
    b->cands = calloc((size_t)b->max_cands, sizeof *b->cands);
    b->table_size = 1;
    while (b->table_size < 2 * b->max_cands)
        b->table_size <<= 1;
    b->table = malloc((size_t)b->table_size * sizeof *b->table);
    b->heap = malloc(K * sizeof *b->heap);
    if (!b->cur || !b->nxt || !b->word_pool || !b->cands || !b->table || !b->heap) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "svx_beam_create: beam %d", p->beam_size);
        goto fail;
    }
    for (size_t i = 0; i < K; i++) {
        b->cur[i].words = b->word_pool + i * P;
        b->nxt[i].words = b->word_pool + (K + i) * P;
    }
    rc = svx_wordq_init(&b->q, p->max_words);
    if (rc < 0)
        goto fail;
    svx_beam_reset(b);
    *out = b;
    return SVX_OK;
fail:
    svx_beam_destroy(b);
    return rc;
}

void svx_beam_destroy(svx_beam *b)
{
    if (!b)
        return;
    free(b->lex);
    free(b->trie);
    free(b->root_child);
    free(b->cur);
    free(b->nxt);
    free(b->word_pool);
    free(b->cands);
    free(b->table);
    free(b->heap);
    svx_wordq_free(&b->q);
    free(b);
}

void svx_beam_reset(svx_beam *b)
{
    svx_wordq_clear(&b->q);
    hyp *h = &b->cur[0];
    h->lp_b = 0.0;
    h->lp_nb = -INFINITY;
    h->node = 0;
    h->last = -1;
    h->w_start = h->last_t = 0;
    h->cum_start = h->cum_last = 0.0;
    h->n_words = 0;
    h->hash = hash_words(NULL, 0);
    b->n_cur = 1;
    b->t = 0;
    b->cum = 0.0;
    b->forced = 0;
    b->flushed = 0;
    b->final_score = -INFINITY;
}

/* ---- the search ---- */


/* Moves the best hypothesis' first uncommitted word to the queue while the
 * hypotheses that disagree with it hold less than e^-commit_margin of the
 * probability mass (none at all with an infinite margin), or the word ended
 * commit_lag_s ago; the hypotheses that disagree are dropped. */
static void commit_agreed(svx_beam *b)
{
    for (;;) {
        if (b->n_cur == 0 || b->cur[0].n_words == 0)
            return;
        int32_t w = b->cur[0].words[0].word;
        double agree = -INFINITY, other = -INFINITY;
        for (int i = 0; i < b->n_cur; i++) {
            const hyp *h = &b->cur[i];
            if (h->n_words > 0 && h->words[0].word == w)
                agree = log_add(agree, hyp_total(h));
            else
                other = log_add(other, hyp_total(h));
        }
        /* fixed lag: the word ended commit_lag_s ago */
        const int old = (double)(b->t - b->cur[0].words[0].end) * b->p.frame_s >= b->p.commit_lag_s;
        if (other != -INFINITY && !(other < agree - b->p.commit_margin) && !old)
            return;
        svx_word out;
        to_svx_word(b, &b->cur[0].words[0], &out);   /* cur[0] is the best */
        svx_wordq_push(&b->q, &out);
        int k = 0;
        for (int i = 0; i < b->n_cur; i++) {
            hyp *h = &b->cur[i];
            if (!(h->n_words > 0 && h->words[0].word == w))
                continue;
            memmove(h->words, h->words + 1, (size_t)(h->n_words - 1) * sizeof *h->words);
            h->n_words--;
            h->hash = hash_words(h->words, h->n_words);
            if (k != i) {   /* compact, swapping word storage */
                hyp tmp = b->cur[k];
                b->cur[k] = *h;
                b->cur[i] = tmp;
            }
            k++;
        }
        b->n_cur = k;
    }
}

/* Keeps the hypotheses whose first word agrees with the best one's, then
 * commits it (only when a hypothesis is out of room for words). */
static void force_commit(svx_beam *b)
{
    int32_t w = b->cur[0].words[0].word;
    int k = 0;
    for (int i = 0; i < b->n_cur; i++) {
        if (b->cur[i].n_words > 0 && b->cur[i].words[0].word == w) {
            if (k != i) {
                pword *keep = b->cur[k].words;
                b->cur[k] = b->cur[i];
                b->cur[k].words = keep;
                memcpy(keep, b->cur[i].words, (size_t)b->cur[i].n_words * sizeof *keep);
            }
            k++;
        }
    }
    b->n_cur = k;
    b->forced++;
    commit_agreed(b);
}

static void heap_sift_down(const svx_beam *b, int *heap, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_total(&b->cands[heap[l]]) < cand_total(&b->cands[heap[m]]))
            m = l;
        if (r < n && cand_total(&b->cands[heap[r]]) < cand_total(&b->cands[heap[m]]))
            m = r;
        if (m == i)
            return;
        int tmp = heap[i];
        heap[i] = heap[m];
        heap[m] = tmp;
        i = m;
    }
}

void svx_beam_push(svx_beam *b, const float *lp)
{
    if (b->flushed)
        return;
    const int V = b->tab.n_symbols, space = b->tab.space;
    const int32_t t = b->t;
    float mx = lp[0];
    for (int i = 1; i < V; i++)
        if (lp[i] > mx)
            mx = lp[i];
    const double cum_before = b->cum, cum_after = b->cum + exp((double)mx);

    for (int i = 0; i < b->n_cur; i++)
        if (b->cur[i].n_words >= b->p.max_pending_words) {
            force_commit(b);
            break;
        }

    b->n_cands = 0;
    for (int i = 0; i < b->table_size; i++)
        b->table[i] = -1;
    const double y_blank = lp[0];
    for (int i = 0; i < b->n_cur; i++) {
        const hyp *h = &b->cur[i];
        const double tot = hyp_total(h);
        cand c;
        memset(&c, 0, sizeof c);
        c.parent = i;
        c.hash = h->hash;
        /* stay */
        c.node = h->node;
        c.last = h->last;
        c.is_stay = 1;
        c.lp_b = tot + y_blank;
        c.lp_nb = h->last >= 0 ? h->lp_nb + lp[h->last] : -INFINITY;
        c.w_start = h->w_start;
        c.cum_start = h->cum_start;
        c.last_t = h->last_t;
        c.cum_last = h->cum_last;
        if (c.lp_nb > c.lp_b) {
            c.last_t = t;
            c.cum_last = cum_after;
        }
        c.best_contrib = c.lp_b > c.lp_nb ? c.lp_b : c.lp_nb;
        propose(b, &c);
        /* extensions */
        const int word_end = h->node != 0 && b->trie[h->node].word >= 0;
        for (int s = 1; s < V; s++) {
            double from = s == h->last ? h->lp_b : tot;
            if (from == -INFINITY)
                continue;
            double sc = from + lp[s];
            cand e;
            memset(&e, 0, sizeof e);
            e.parent = i;
            e.lp_b = -INFINITY;
            e.lp_nb = sc;
            e.best_contrib = sc;
            e.last = s;
            e.last_t = t;
            e.cum_last = cum_after;
            if (s == space) {
                if (word_end) {
                    e.add_word = 1;
                    e.added = finished_word(b, h);
                    e.hash = hash_word_append(h->hash, e.added.word);
                } else if (h->node == 0 && h->last == -1) {
                    e.hash = h->hash;              /* leading space */
                } else {
                    continue;
                }
                e.node = 0;
                e.w_start = t;
                e.cum_start = cum_before;
                propose(b, &e);
                continue;
            }
            int32_t child = trie_child(b, h->node, s);
            if (child >= 0) {                      /* continue (or start) the word */
                e.node = child;
                e.hash = h->hash;
                if (h->node == 0) {
                    e.w_start = t;
                    e.cum_start = cum_before;
                } else {
                    e.w_start = h->w_start;
                    e.cum_start = h->cum_start;
                }
                propose(b, &e);
            }
            if (word_end && b->root_child[s] >= 0) {   /* next word without a space */
                e.node = b->root_child[s];
                e.add_word = 1;
                e.added = finished_word(b, h);
                e.hash = hash_word_append(h->hash, e.added.word);
                e.w_start = t;
                e.cum_start = cum_before;
                propose(b, &e);
            }
        }
    }

    /* the beam_size best candidates: a min-heap on the total */
    const int K = b->p.beam_size;
    int n_heap = 0;
    for (int i = 0; i < b->n_cands; i++) {
        if (cand_total(&b->cands[i]) == -INFINITY)
            continue;
        if (n_heap < K) {
            b->heap[n_heap++] = i;
            if (n_heap == K)
                for (int j = K / 2 - 1; j >= 0; j--)
                    heap_sift_down(b, b->heap, n_heap, j);
        } else if (cand_total(&b->cands[i]) > cand_total(&b->cands[b->heap[0]])) {
            b->heap[0] = i;
            heap_sift_down(b, b->heap, n_heap, 0);
        }
    }
    /* best first (insertion sort; ties keep candidate order) */
    for (int i = 1; i < n_heap; i++) {
        int x = b->heap[i];
        double xs = cand_total(&b->cands[x]);
        int j = i - 1;
        while (j >= 0 && (cand_total(&b->cands[b->heap[j]]) < xs ||
                          (cand_total(&b->cands[b->heap[j]]) == xs && b->heap[j] > x))) {
            b->heap[j + 1] = b->heap[j];
            j--;
        }
        b->heap[j + 1] = x;
    }
    for (int k = 0; k < n_heap; k++) {
        const cand *c = &b->cands[b->heap[k]];
        const hyp *par = &b->cur[c->parent];
        hyp *h = &b->nxt[k];
        h->lp_b = c->lp_b;
        h->lp_nb = c->lp_nb;
        h->node = c->node;
        h->last = c->last;
        h->w_start = c->w_start;
        h->last_t = c->last_t;
        h->cum_start = c->cum_start;
        h->cum_last = c->cum_last;
        memcpy(h->words, par->words, (size_t)par->n_words * sizeof *h->words);
        h->n_words = par->n_words;
        if (c->add_word)
            h->words[h->n_words++] = c->added;
        h->hash = c->hash;
    }
    hyp *tmp = b->cur;
    b->cur = b->nxt;
    b->nxt = tmp;
    b->n_cur = n_heap;
    b->t++;
    b->cum = cum_after;
    commit_agreed(b);
}

void svx_beam_flush(svx_beam *b)
{
    if (b->flushed)
        return;
    b->flushed = 1;
    /* Complete every hypothesis (finish a partial word that is a lexicon
     * word; drop those inside a word), then sum hypotheses with equal word
     * sequences and keep the best sequence. nxt holds the completed ones. */
    int n = 0;
    for (int i = 0; i < b->n_cur; i++) {
        const hyp *h = &b->cur[i];
        int word_end = h->node != 0 && b->trie[h->node].word >= 0;
        if (h->node != 0 && !word_end)
            continue;
        if (word_end && h->n_words >= b->p.max_pending_words)
            continue;
        hyp *o = &b->nxt[n++];
        memcpy(o->words, h->words, (size_t)h->n_words * sizeof *o->words);
        o->n_words = h->n_words;
        if (word_end)
            o->words[o->n_words++] = finished_word(b, h);
        o->lp_b = hyp_total(h);   /* the total, summed below */
        o->lp_nb = -INFINITY;
    }
    int best = -1;
    double best_sc = -INFINITY;
    for (int i = 0; i < n; i++) {
        hyp *o = &b->nxt[i];
        if (o->n_words < 0)
            continue;
        double sum = o->lp_b;
        for (int j = i + 1; j < n; j++) {
            hyp *x = &b->nxt[j];
            if (x->n_words != o->n_words)
                continue;
            int same = 1;
            for (int k = 0; k < o->n_words && same; k++)
                same = x->words[k].word == o->words[k].word;
            if (same) {
                sum = log_add(sum, x->lp_b);
                x->n_words = -1;   /* merged */
            }
        }
        if (sum > best_sc) {
            best_sc = sum;
            best = i;
        }
    }
    if (best >= 0) {
        for (int k = 0; k < b->nxt[best].n_words; k++) {
            svx_word w;
            to_svx_word(b, &b->nxt[best].words[k], &w);
            svx_wordq_push(&b->q, &w);
        }
        b->final_score = best_sc;
    } else if (b->n_cur > 0) {
        /* Nothing complete (input cut inside a word): keep the best
         * hypothesis' whole words. */
        for (int k = 0; k < b->cur[0].n_words; k++) {
            svx_word w;
            to_svx_word(b, &b->cur[0].words[k], &w);
            svx_wordq_push(&b->q, &w);
        }
    }
    b->n_cur = 0;
}

int svx_beam_words(const svx_beam *b, svx_word *out, int max)
{
    int n = svx_wordq_copy(&b->q, out, max);
    if (!b->flushed && b->n_cur > 0) {
        const hyp *h = &b->cur[0];
        for (int k = 0; k < h->n_words; k++, n++)
            if (n < max)
                to_svx_word(b, &h->words[k], &out[n]);
    }
    return n;
}

int svx_beam_pending(const svx_beam *b, svx_word *out, int max)
{
    if (b->flushed || b->n_cur == 0)
        return 0;
    const hyp *h = &b->cur[0];
    for (int k = 0; k < h->n_words && k < max; k++)
        to_svx_word(b, &h->words[k], &out[k]);
    return h->n_words;
}

int svx_beam_take_words(svx_beam *b, svx_word *out, int max)
{
    return svx_wordq_take(&b->q, out, max);
}

double svx_beam_final_score(const svx_beam *b) { return b->final_score; }
uint64_t svx_beam_forced_commits(const svx_beam *b) { return b->forced; }
const svx_wordq *svx_beam_queue(const svx_beam *b) { return &b->q; }
