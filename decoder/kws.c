/* Keyword spotting with a CTC keyword score against the best-path filler,
 * computed incrementally per frame (see decoder.h for the model). */
#include "decoder.h"
#include "svx_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KWS_BOUNDARY (-2)         /* state symbol: blank or space */
#define KWS_MAX_PREDS 4
#define KWS_RING 16               /* frames of scores kept per chain for competition */

typedef struct {
    int32_t sym;                  /* symbol index or KWS_BOUNDARY */
    int32_t n_preds;
    int32_t preds[KWS_MAX_PREDS];
    uint8_t self_loop;
    uint8_t entry;                /* the chain may start here (score 0) */
    uint8_t is_first;             /* the keyword's first symbol */
    uint8_t is_last;              /* the keyword's last symbol */
} kstate;

typedef struct {
    char text[SVX_DEC_MAX_WORD_BYTES + 1];
    float threshold;
    float power;                  /* score exponent (calibration), 1 by default */
    int n_labels;                 /* symbols excluding optional spaces */
    int n_states;
    int final_state;
    kstate *st;
    double *d, *d_new;            /* Viterbi scores */
    int32_t *beg, *beg_new;       /* frame the path entered the first symbol */
    int32_t *end, *end_new;       /* last frame of the path in the last symbol */
    double raw;                   /* score of the final state at the last frame */
    /* detection */
    int cand;                     /* a peak above threshold is pending */
    float cand_score;
    double cand_raw;              /* its path score D */
    int32_t cand_beg, cand_end;
    int has_event;
    int32_t ev_end;               /* end frame of the previous event */
    /* The recursion runs once per distinct text: an entry whose text an
     * earlier one has (a word listed at several sensitivities) reads that
     * one's scores and spans. */
    int word;                     /* index of the first chain with the same text */
    /* competition: lexical score D + bonus * n_labels per step, by step % KWS_RING */
    float ring_ls[KWS_RING];
    int32_t ring_beg[KWS_RING], ring_end[KWS_RING];
} keyword;

struct svx_kws {
    svx_symtab tab;
    svx_kws_params p;
    int ctx;                      /* trailing context frames */
    int lead;                     /* leading context frames */
    int refractory_frames;
    int n_kw;                     /* keywords: kw[0 .. n_kw-1] */
    int n_chain;                  /* keywords and rivals: kw[n_kw .. n_chain-1] */
    keyword *kw;
    int compete;
    float bonus;
    uint64_t n_steps;             /* recursion steps, virtual flush frames included */
    uint64_t ring_from;           /* first step whose scores count (after a restart) */
    kstate *state_pool;
    double *d_pool;
    int32_t *i_pool;
    svx_kws_event *ev;
    int ev_head, ev_n;
    uint64_t dropped;
    int32_t t;                    /* real frames pushed */
    int flushed;
    float *virt;                  /* a boundary-only frame for flush */
};

void svx_kws_params_default(svx_kws_params *p, double frame_s)
{
    p->frame_s = frame_s;
    p->refractory_s = 1.0;
    p->context_s = 0.1;
    p->lead_context_s = 0.2;
    p->max_events = 64;
    p->compete = 0;
    p->length_bonus = 1.0;
    p->rivals = NULL;
    p->n_rivals = 0;
    p->score_power = NULL;
}

float svx_kws_threshold(float sensitivity)
{
    float thr = 1.0f - sensitivity;
    return thr < 0.02f ? 0.02f : thr > 0.98f ? 0.98f : thr;
}

int svx_kws_normalise(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int pending_space = 0;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t') {
            pending_space = n > 0;
            continue;
        }
        if (pending_space) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = ' ';
            pending_space = 0;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    out[n] = '\0';
    return (int)n;
}

/* Builds the state chain of one keyword into st (room for max_states). */
static int build_states(const svx_kws *k, const int *ids, int n, kstate *st, int *n_states,
                        int *final_state, int *n_labels)
{
    const int ctx = k->ctx, lead = k->lead;
    int ns = 0;
    /* leading context L0..L(lead-1) */
    for (int j = 0; j < lead; j++) {
        kstate s = {KWS_BOUNDARY, 0, {0}, 0, 0, 0, 0};
        if (j == 0)
            s.entry = 1;
        else
            s.preds[s.n_preds++] = ns - 1;
        if (j == lead - 1)
            s.self_loop = 1;
        st[ns++] = s;
    }
    const int lead_last = ns - 1;
    /* label i: optional blank state before it (i > 0), then its own state */
    int lab_state[SVX_DEC_MAX_WORD_BYTES], blank_state[SVX_DEC_MAX_WORD_BYTES];
    *n_labels = 0;
    for (int i = 0; i < n; i++) {
        const int optional_prev = i >= 1 && ids[i - 1] == k->tab.space;
        blank_state[i] = -1;
        if (i > 0) {
            kstate b = {0, 0, {0}, 1, 0, 0, 0};
            b.preds[b.n_preds++] = lab_state[i - 1];
            if (optional_prev)   /* skip the space: blank straight after label i-2 */
                b.preds[b.n_preds++] = lab_state[i - 2];
            blank_state[i] = ns;
            st[ns++] = b;
        }
        kstate s = {ids[i], 0, {0}, 1, 0, 0, 0};
        if (i == 0) {
            s.preds[s.n_preds++] = lead_last;
            s.is_first = 1;
        } else {
            s.preds[s.n_preds++] = blank_state[i];
            if (ids[i] != ids[i - 1])
                s.preds[s.n_preds++] = lab_state[i - 1];
            if (optional_prev) {
                if (ids[i] != ids[i - 2])
                    s.preds[s.n_preds++] = lab_state[i - 2];
                s.preds[s.n_preds++] = blank_state[i - 1];
            }
        }
        if (i == n - 1)
            s.is_last = 1;
        lab_state[i] = ns;
        st[ns++] = s;
        if (ids[i] != k->tab.space)
            (*n_labels)++;
    }
    /* trailing context T0..T(ctx-1), exactly ctx frames */
    for (int j = 0; j < ctx; j++) {
        kstate s = {KWS_BOUNDARY, 1, {ns - 1}, 0, 0, 0, 0};
        st[ns++] = s;
    }
    *n_states = ns;
    *final_state = ns - 1;
    return SVX_OK;
}

int svx_kws_create(const svx_symtab *t, const svx_kws_params *p, const svx_keyword *keywords,
                   int n_keywords, svx_kws **out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_kws_create: out is NULL");
    *out = NULL;
    if (!t || !p || !(p->frame_s > 0) || !(p->refractory_s >= 0) || !(p->context_s >= 0) ||
        !(p->lead_context_s >= 0) || !(p->length_bonus >= 0 && p->length_bonus < 100) ||
        p->max_events < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_kws_create: bad parameters");
    if (!keywords || n_keywords < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_kws_create: no keywords");
    svx_kws *k = calloc(1, sizeof *k);
    if (!k)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_kws_create: out of memory");
    int rc = SVX_OK;
    k->tab = *t;
    k->p = *p;
    k->ctx = (int)lround(p->context_s / p->frame_s);
    if (k->ctx < 1)
        k->ctx = 1;
    k->lead = (int)lround(p->lead_context_s / p->frame_s);
    if (k->lead < 1)
        k->lead = 1;
    k->refractory_frames = (int)lround(p->refractory_s / p->frame_s);
    k->n_kw = n_keywords;
    k->compete = p->compete != 0;
    k->bonus = (float)p->length_bonus;
    if (p->n_rivals < 0 || (p->n_rivals > 0 && !p->rivals) || p->n_rivals > 65536 - n_keywords) {
        rc = svx_fail(SVX_ERR_INVALID_ARG, "svx_kws_create: %d rival words", p->n_rivals);
        free(k);
        return rc;
    }
    const int max_chain = n_keywords + (k->compete ? p->n_rivals : 0);
    k->kw = calloc((size_t)max_chain, sizeof *k->kw);
    const size_t max_states = 2 * (size_t)SVX_DEC_MAX_WORD_BYTES + (size_t)k->ctx + (size_t)k->lead;
    const size_t S = max_states * (size_t)max_chain;
    k->state_pool = calloc(S, sizeof *k->state_pool);
    k->d_pool = calloc(2 * S, sizeof *k->d_pool);
    k->i_pool = calloc(4 * S, sizeof *k->i_pool);
    k->ev = calloc((size_t)p->max_events, sizeof *k->ev);
    k->virt = malloc((size_t)t->n_symbols * sizeof *k->virt);
    if (!k->kw || !k->state_pool || !k->d_pool || !k->i_pool || !k->ev || !k->virt) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "svx_kws_create: %d keywords", n_keywords);
        goto fail;
    }
    k->virt[0] = 0.0f;
    for (int i = 1; i < t->n_symbols; i++)
        k->virt[i] = -INFINITY;
    k->n_chain = 0;
    for (int i = 0; i < max_chain; i++) {
        keyword *kw = &k->kw[k->n_chain];
        const int rival = i >= n_keywords;
        const char *word = rival ? p->rivals[i - n_keywords] : keywords[i].word;
        const char *what = rival ? "rival word" : "keyword";
        if (!word) {
            rc = svx_fail(SVX_ERR_INVALID_ARG, "svx_kws_create: %s %d is NULL", what,
                          rival ? i - n_keywords : i);
            goto fail;
        }
        if (!rival && !(keywords[i].sensitivity >= 0.0f && keywords[i].sensitivity <= 1.0f)) {
            rc = svx_fail(SVX_ERR_INVALID_ARG, "keyword \"%s\": sensitivity %g, expected 0..1",
                          word, (double)keywords[i].sensitivity);
            goto fail;
        }
        if (!rival && p->score_power &&
            !(p->score_power[i] >= KWS_MIN_POWER && p->score_power[i] <= KWS_MAX_POWER)) {
            rc = svx_fail(SVX_ERR_INVALID_ARG, "keyword \"%s\": score power %g, expected %g..%g",
                          word, (double)p->score_power[i], KWS_MIN_POWER, KWS_MAX_POWER);
            goto fail;
        }
        if (svx_kws_normalise(word, kw->text, sizeof kw->text) < 0) {
            rc = svx_fail(SVX_ERR_KEYWORD, "%s \"%.40s...\" is longer than %d bytes", what, word,
                          SVX_DEC_MAX_WORD_BYTES);
            goto fail;
        }
        if (!kw->text[0]) {
            rc = svx_fail(SVX_ERR_KEYWORD, "%s %d is empty", what, rival ? i - n_keywords : i);
            goto fail;
        }
        kw->word = k->n_chain;
        for (int j = 0; j < k->n_chain; j++)
            if (!strcmp(k->kw[j].text, kw->text)) {
                kw->word = j;
                break;
            }
        if (rival && kw->word != k->n_chain) {
            memset(kw, 0, sizeof *kw);   /* a keyword or an earlier rival already */
            continue;
        }
        /* A model without a space symbol spells phrases without spaces. */
        char spelled[SVX_DEC_MAX_WORD_BYTES + 1];
        size_t m = 0;
        for (const char *c = kw->text; *c; c++)
            if (*c != ' ' || t->space >= 0)
                spelled[m++] = *c;
        spelled[m] = '\0';
        int ids[SVX_DEC_MAX_WORD_BYTES];
        int n = svx_symtab_spell(t, spelled, ids, SVX_DEC_MAX_WORD_BYTES, what);
        if (n < 0) {
            rc = n;
            goto fail;
        }
        const size_t c = (size_t)k->n_chain++;
        if (!rival) {
            kw->threshold = svx_kws_threshold(keywords[i].sensitivity);
            kw->power = p->score_power ? p->score_power[i] : 1.0f;
        }
        kw->st = k->state_pool + c * max_states;
        kw->d = k->d_pool + c * 2 * max_states;
        kw->d_new = kw->d + max_states;
        kw->beg = k->i_pool + c * 4 * max_states;
        kw->beg_new = kw->beg + max_states;
        kw->end = kw->beg_new + max_states;
        kw->end_new = kw->end + max_states;
        build_states(k, ids, n, kw->st, &kw->n_states, &kw->final_state, &kw->n_labels);
    }
    svx_kws_reset(k);
    *out = k;
    return SVX_OK;
fail:
    svx_kws_destroy(k);
    return rc;
}

void svx_kws_destroy(svx_kws *k)
{
    if (!k)
        return;
    free(k->kw);
    free(k->state_pool);
    free(k->d_pool);
    free(k->i_pool);
    free(k->ev);
    free(k->virt);
    free(k);
}

/* Every chain's search starts afresh at frame t: each leading-context state
 * is reached with score 0 (frames before count as boundary); no event of the
 * past restricts the next. */
static void start_chains(svx_kws *k, int32_t t)
{
    for (int i = 0; i < k->n_chain; i++) {
        keyword *kw = &k->kw[i];
        for (int s = 0; s < kw->n_states; s++) {
            kw->d[s] = s < k->lead ? 0.0 : -INFINITY;
            kw->beg[s] = kw->end[s] = t;
        }
        kw->raw = -INFINITY;
        kw->has_event = 0;
    }
}

void svx_kws_reset(svx_kws *k)
{
    start_chains(k, 0);
    for (int i = 0; i < k->n_chain; i++)
        k->kw[i].cand = 0;
    k->ev_head = k->ev_n = 0;
    k->dropped = 0;
    k->t = 0;
    k->n_steps = k->ring_from = 0;
    k->flushed = 0;
}

static void emit(svx_kws *k, keyword *kw);

void svx_kws_restart(svx_kws *k)
{
    for (int i = 0; i < k->n_kw; i++)
        if (k->kw[i].cand)
            emit(k, &k->kw[i]);
    k->ring_from = k->n_steps;
    start_chains(k, k->t);
}

/* Competition: another word (a keyword of other text or a rival) explains
 * the candidate better when, at one of the last KWS_RING steps, its lexical
 * score D + bonus * n_labels was higher and its path covers at least half of
 * the shorter of the two spans. */
static int beaten(const svx_kws *k, const keyword *kw)
{
    const float ls = (float)(kw->cand_raw + k->bonus * kw->n_labels);
    const int32_t b = kw->cand_beg, e = kw->cand_end;
    const uint64_t from = k->n_steps > KWS_RING ? k->n_steps - KWS_RING : 0;
    const uint64_t first = from > k->ring_from ? from : k->ring_from;
    for (int j = 0; j < k->n_chain; j++) {
        const keyword *o = &k->kw[j];
        if (o->word != j || o->word == kw->word)
            continue;                 /* a repeated text, or the candidate's own */
        for (uint64_t st = first; st < k->n_steps; st++) {
            const int r = (int)(st % KWS_RING);
            if (!(o->ring_ls[r] > ls))
                continue;
            const int32_t ob = o->ring_beg[r], oe = o->ring_end[r];
            const int32_t ov = (oe < e ? oe : e) - (ob > b ? ob : b) + 1;
            const int32_t shorter = (oe - ob < e - b ? oe - ob : e - b) + 1;
            if (2 * ov >= shorter)
                return 1;
        }
    }
    return 0;
}

static void emit(svx_kws *k, keyword *kw)
{
    kw->cand = 0;
    if (k->compete && beaten(k, kw))
        return;
    kw->has_event = 1;
    kw->ev_end = kw->cand_end;
    if (k->ev_n == k->p.max_events) {
        k->dropped++;
        return;
    }
    svx_kws_event *ev = &k->ev[(k->ev_head + k->ev_n) % k->p.max_events];
    k->ev_n++;
    memset(ev, 0, sizeof *ev);
    memcpy(ev->keyword, kw->text, sizeof ev->keyword);
    ev->keyword[sizeof ev->keyword - 1] = '\0';
    ev->start_s = kw->cand_beg * k->p.frame_s;
    ev->end_s = (kw->cand_end + 1) * k->p.frame_s;
    ev->score = kw->cand_score;
    ev->index = (int)(kw - k->kw);
}

/* One frame of the Viterbi recursion and the peak detector. real: 0 for the
 * virtual boundary frames of flush (they do not advance time). */
static void step(svx_kws *k, const float *lp, int real)
{
    const int V = k->tab.n_symbols;
    const int32_t t = k->t;
    float mx = lp[0];
    for (int i = 1; i < V; i++)
        if (lp[i] > mx)
            mx = lp[i];
    double bnd = lp[0];
    if (k->tab.space >= 0 && lp[k->tab.space] > bnd)
        bnd = lp[k->tab.space];
    bnd -= mx;
    const int r = (int)(k->n_steps % KWS_RING);
    for (int i = 0; i < k->n_chain; i++) {
        keyword *kw = &k->kw[i];
        if (kw->word != i)
            continue;                 /* the same text as chain kw->word */
        for (int s = 0; s < kw->n_states; s++) {
            const kstate *st = &kw->st[s];
            double best = st->entry ? 0.0 : -INFINITY;
            int from = -1;
            if (st->self_loop && kw->d[s] > best) {
                best = kw->d[s];
                from = s;
            }
            for (int j = 0; j < st->n_preds; j++)
                if (kw->d[st->preds[j]] > best) {
                    best = kw->d[st->preds[j]];
                    from = st->preds[j];
                }
            double e = st->sym == KWS_BOUNDARY ? bnd : (double)lp[st->sym] - mx;
            kw->d_new[s] = best == -INFINITY ? -INFINITY : best + e;
            int32_t b = from >= 0 ? kw->beg[from] : t, en = from >= 0 ? kw->end[from] : t;
            if (st->is_first && from != s)
                b = t;
            if (st->is_last)
                en = t;
            kw->beg_new[s] = b;
            kw->end_new[s] = en;
        }
        double *td = kw->d;
        kw->d = kw->d_new;
        kw->d_new = td;
        int32_t *ti = kw->beg;
        kw->beg = kw->beg_new;
        kw->beg_new = ti;
        ti = kw->end;
        kw->end = kw->end_new;
        kw->end_new = ti;

        const int f = kw->final_state;
        kw->raw = kw->d[f];
        kw->ring_ls[r] = (float)(kw->raw + k->bonus * kw->n_labels);
        kw->ring_beg[r] = kw->beg[f];
        kw->ring_end[r] = kw->end[f];
    }
    k->n_steps++;
    /* Detection, once every chain has this frame's score. */
    for (int i = 0; i < k->n_kw; i++) {
        keyword *kw = &k->kw[i];
        const keyword *src = &k->kw[kw->word];
        const int f = src->final_state;
        const double raw = src->raw;
        float score = raw == -INFINITY ? 0.0f : (float)exp(kw->power * raw / src->n_labels);
        int32_t beg = src->beg[f], end = src->end[f];
        int eligible = raw != -INFINITY && score >= kw->threshold &&
                       (!kw->has_event ||
                        (beg > kw->ev_end && end - kw->ev_end >= k->refractory_frames));
        if (kw->cand) {
            if (eligible && score > kw->cand_score) {
                kw->cand_score = score;
                kw->cand_raw = raw;
                kw->cand_beg = beg;
                kw->cand_end = end;
            } else {
                emit(k, kw);
            }
        } else if (eligible) {
            kw->cand = 1;
            kw->cand_score = score;
            kw->cand_raw = raw;
            kw->cand_beg = beg;
            kw->cand_end = end;
        }
    }
    if (real)
        k->t++;
}

void svx_kws_push(svx_kws *k, const float *lp)
{
    if (!k->flushed)
        step(k, lp, 1);
}

void svx_kws_flush(svx_kws *k)
{
    if (k->flushed)
        return;
    /* ctx + 1 boundary frames complete every chain that ended at the last
     * real frame and let pending peaks fire; they are not counted as time. */
    for (int j = 0; j <= k->ctx; j++)
        step(k, k->virt, 0);
    for (int i = 0; i < k->n_kw; i++)
        if (k->kw[i].cand)
            emit(k, &k->kw[i]);
    k->flushed = 1;
}

int svx_kws_next_event(svx_kws *k, svx_kws_event *ev)
{
    if (k->ev_n == 0)
        return 0;
    *ev = k->ev[k->ev_head];
    k->ev_head = (k->ev_head + 1) % k->p.max_events;
    k->ev_n--;
    return 1;
}

uint64_t svx_kws_dropped_events(const svx_kws *k) { return k->dropped; }
int svx_kws_n_keywords(const svx_kws *k) { return k->n_kw; }
double svx_kws_raw_score(const svx_kws *k, int i)
{
    return i >= 0 && i < k->n_kw ? k->kw[k->kw[i].word].raw : -INFINITY;
}
int svx_kws_context_frames(const svx_kws *k) { return k->ctx; }
