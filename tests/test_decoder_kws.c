/* Keyword spotter: the incremental score against a brute-force search over
 * every span and alignment, events on synthetic posterior streams (right
 * times, one per occurrence, none on confusable words, latency), the
 * refractory period, phrases, sensitivity, bad keywords, no allocation. */
#include <stdlib.h>

#include "../model/model.h"
#include "test_decoder_util.h"

#define FRAME_S 0.02

static svx_kws *make_kws_p(const char *const *syms, int V, const svx_keyword *kw, int n,
                           const svx_kws_params *p)
{
    svx_symtab tab;
    CU_ASSERT_EQUAL_FATAL(svx_symtab_init(&tab, syms, V), SVX_OK);
    svx_kws *k = NULL;
    int rc = svx_kws_create(&tab, p, kw, n, &k);
    CU_ASSERT_EQUAL_FATAL(rc, SVX_OK);
    return k;
}

static svx_kws *make_kws(const char *const *syms, int V, const svx_keyword *kw, int n,
                         double context_s, double refractory_s, int max_events)
{
    svx_kws_params p;
    svx_kws_params_default(&p, FRAME_S);
    p.context_s = context_s;
    p.refractory_s = refractory_s;
    p.max_events = max_events;
    return make_kws_p(syms, V, kw, n, &p);
}

/* ---- brute force ---- */

static int is_bound(int s, int space) { return s == 0 || s == space; }

/* Does collapsed label list L (n_l) spell kw (n_kw), each space of kw optional? */
static int match_optional_spaces(const int *L, int n_l, const int *kw, int n_kw, int space)
{
    if (n_kw == 0)
        return n_l == 0;
    if (kw[0] == space && match_optional_spaces(L, n_l, kw + 1, n_kw - 1, space))
        return 1;
    return n_l > 0 && L[0] == kw[0] && match_optional_spaces(L + 1, n_l - 1, kw + 1, n_kw - 1, space);
}

/* Is sigma (frames a..a+n-1) lead{>=lead, or any if a == 0} kw tail{ctx}? */
static int pattern_ok(const int *sg, int n, int a, const int *kw, int n_kw, int lead, int ctx,
                      int space)
{
    if (n < ctx + 1)
        return 0;
    for (int i = n - ctx; i < n; i++)
        if (!is_bound(sg[i], space))
            return 0;
    int mid_end = n - ctx - 1, m = 0;
    while (m <= mid_end && is_bound(sg[m], space))
        m++;
    if (m > mid_end || (m < lead && a != 0))
        return 0;
    if (sg[m] != kw[0] || sg[mid_end] != kw[n_kw - 1])
        return 0;
    int L[TDU_MAX_T];
    int n_l = tdu_collapse(sg + m, mid_end - m + 1, L);
    return match_optional_spaces(L, n_l, kw, n_kw, space);
}

/* Best D over every start a <= t and every alignment of frames a..t. */
static double brute_raw(const float *lp, int t, int V, const int *kw, int n_kw, int lead, int ctx,
                        int space)
{
    double best = -INFINITY;
    for (int a = 0; a <= t; a++) {
        int n = t - a + 1, sg[TDU_MAX_T] = {0};
        for (;;) {
            if (pattern_ok(sg, n, a, kw, n_kw, lead, ctx, space)) {
                double d = 0;
                for (int i = 0; i < n; i++) {
                    const float *row = lp + (a + i) * V;
                    float mx = row[0];
                    for (int v = 1; v < V; v++)
                        mx = row[v] > mx ? row[v] : mx;
                    d += (double)row[sg[i]] - mx;
                }
                if (d > best)
                    best = d;
            }
            int i = n - 1;
            while (i >= 0 && ++sg[i] == V)
                sg[i--] = 0;
            if (i < 0)
                break;
        }
    }
    return best;
}

static void test_kws_vs_brute_force(void)
{
    const int V = 5;                  /* blank, space, a, b, c */
    static const char *const words[] = {"ab", "aa", "a b", "ba", "c", "a a"};
    static const int ids[6][3] = {{2, 3}, {2, 2}, {2, 1, 3}, {3, 2}, {4}, {2, 1, 2}};
    static const int lens[6] = {2, 2, 3, 2, 1, 3};
    svx_keyword kw[6];
    for (int i = 0; i < 6; i++)
        kw[i] = (svx_keyword){words[i], 0.5f};
    int n_bad = 0, n_cmp = 0;
    for (int cfg = 0; cfg < 4; cfg++) {
        const int ctx = 1 + cfg % 2, lead = 1 + cfg / 2;
        svx_kws_params p;
        svx_kws_params_default(&p, FRAME_S);
        p.context_s = ctx * FRAME_S;
        p.lead_context_s = lead * FRAME_S;
        svx_kws *k = make_kws_p(tdu_small_syms, V, kw, 6, &p);
        CU_ASSERT_EQUAL(svx_kws_context_frames(k), ctx);
        for (int trial = 0; trial < 25; trial++) {
            int T = 6;
            float lp[6 * 5];
            tdu_random_logprobs(lp, T, V, 1.0 + 2.0 * tu_rand_uniform());
            svx_kws_reset(k);
            for (int t = 0; t < T; t++) {
                svx_kws_push(k, lp + t * V);
                for (int i = 0; i < 6; i++) {
                    double want = brute_raw(lp, t, V, ids[i], lens[i], lead, ctx, 1);
                    double got = svx_kws_raw_score(k, i);
                    n_cmp++;
                    int same = (want == -INFINITY && got == -INFINITY) ||
                               fabs(want - got) <= 1e-5 * (1 + fabs(want));
                    if (!same) {
                        if (n_bad++ < 5)
                            printf("\n  lead %d ctx %d trial %d t %d keyword \"%s\": got %.6f, "
                                   "brute force %.6f", lead, ctx, trial, t, words[i], got, want);
                    }
                }
            }
        }
        svx_kws_destroy(k);
    }
    printf("(%d comparisons) ", n_cmp);
    CU_ASSERT_EQUAL(n_bad, 0);
}

/* ---- synthetic streams with the 29 standard symbols ---- */

typedef struct {
    svx_symtab tab;
    float lp[3000 * 29];
    int T;
} stream_buf;

/* Appends `text` spelled as spikes (each symbol 2 frames at p, a blank frame
 * after each) and `gap` blank frames; returns the frame of the first symbol
 * and stores one past the last symbol frame in *end. */
static int add_word(stream_buf *s, const char *text, int gap, double p, int *end)
{
    int start = s->T;
    for (const char *c = text; *c; c++) {
        int id;
        char one[2] = {*c, 0};
        CU_ASSERT_EQUAL_FATAL(svx_symtab_spell(&s->tab, one, &id, 1, "test"), 1);
        for (int k = 0; k < 2; k++)
            tdu_spike(s->lp + (s->T++) * 29, 29, id, p);
        if (end)
            *end = s->T;
        tdu_spike(s->lp + (s->T++) * 29, 29, 0, p);
    }
    for (int k = 0; k < gap; k++)
        tdu_spike(s->lp + (s->T++) * 29, 29, 0, p);
    return start;
}

/* Pushes all frames; events are popped after every frame so that the frame
 * at which each appeared is known. Returns the number of events. */
static int run_stream(svx_kws *k, const stream_buf *s, svx_kws_event *ev, int *at_frame, int max,
                      int flush)
{
    int n = 0;
    for (int t = 0; t < s->T; t++) {
        svx_kws_push(k, s->lp + t * 29);
        while (n < max && svx_kws_next_event(k, &ev[n])) {
            CU_ASSERT(ev[n].score >= 0.0f && ev[n].score <= 1.0f);
            at_frame[n++] = t;
        }
    }
    if (flush) {
        svx_kws_flush(k);
        while (n < max && svx_kws_next_event(k, &ev[n]))
            at_frame[n++] = s->T;
    }
    return n;
}

static void test_kws_events_and_confusables(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    s.T = 0;
    add_word(&s, "", 20, 0.9, NULL);
    int e_yes, e_no, e_on;
    int b_yes = add_word(&s, "yes", 30, 0.9, &e_yes);
    int b_no = add_word(&s, "no", 30, 0.9, &e_no);
    add_word(&s, "go", 30, 0.9, NULL);       /* not "no" */
    add_word(&s, "know", 30, 0.9, NULL);     /* "no" inside: leading context */
    add_word(&s, "one", 30, 0.9, NULL);      /* "on" inside: trailing context */
    add_word(&s, "none", 30, 0.9, NULL);     /* "no" and "on" inside */
    add_word(&s, "yet", 30, 0.9, NULL);      /* not "yes" */
    int b_on = add_word(&s, "on", 30, 0.9, &e_on);
    const svx_keyword kw[] = {{"yes", 0.5f}, {"NO", 0.5f}, {"on", 0.5f}};
    svx_kws *k = make_kws(svx_default_symbols, 29, kw, 3, 0.1, 1.0, 64);
    svx_kws_event ev[16];
    int at[16];
    int n = run_stream(k, &s, ev, at, 16, 1);
    CU_ASSERT_EQUAL(n, 3);
    const char *want[3] = {"yes", "no", "on"};
    const int wb[3] = {b_yes, b_no, b_on}, we[3] = {e_yes, e_no, e_on};
    for (int i = 0; i < n && i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(ev[i].keyword, want[i]);
        CU_ASSERT_EQUAL(ev[i].index, i);   /* its place in the keyword list */
        TU_ASSERT_CLOSE(ev[i].start_s, wb[i] * FRAME_S, 1e-9);
        TU_ASSERT_CLOSE(ev[i].end_s, we[i] * FRAME_S, 1e-9);
        CU_ASSERT(ev[i].score > 0.99f);   /* the keyword is the best path */
        double latency = (at[i] + 1) * FRAME_S - ev[i].end_s;
        printf("(%s latency %.0f ms) ", want[i], latency * 1000);
        CU_ASSERT(latency > 0 && latency <= 0.2);
    }
    svx_kws_destroy(k);
    /* The same with competition against the vocabulary (it holds "go",
     * "one", ...): the same three events. */
    svx_kws_params p;
    svx_kws_params_default(&p, FRAME_S);
    p.compete = 1;
    p.rivals = svx_vocabulary_default(&p.n_rivals);
    k = make_kws_p(svx_default_symbols, 29, kw, 3, &p);
    svx_kws_event ev2[16];
    CU_ASSERT_EQUAL(run_stream(k, &s, ev2, at, 16, 1), 3);
    for (int i = 0; i < n && i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(ev2[i].keyword, ev[i].keyword);
        CU_ASSERT_EQUAL(ev2[i].end_s, ev[i].end_s);
    }
    svx_kws_destroy(k);
}

/* One frame where symbol a has probability pa, b has pb and the rest share
 * what is left. */
static void add_row2(stream_buf *s, char a, double pa, char b, double pb)
{
    float *row = s->lp + (s->T++) * 29;
    for (int v = 0; v < 29; v++)
        row[v] = (float)log((1.0 - pa - pb) / 27);
    int ia = a ? a - 'a' + 3 : 0, ib = b ? b - 'a' + 3 : 0;
    row[ia] = (float)log(pa);
    row[ib] = (float)log(pb);
}

/* A mumbled "down": its "d" and "w" are barely above blank (0.4 vs 0.35), so
 * the path for "on" only pays ln(0.35/0.4) twice and scores 0.87. On its own
 * "on" fires; with competition it does not, whether "down" is a rival word
 * (the model's vocabulary) or another keyword, and then "down" fires. A clear
 * "on" later still fires, as do the keywords of the confusables stream. */
static void test_kws_competition(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    s.T = 0;
    add_word(&s, "", 20, 0.9, NULL);
    add_row2(&s, 'd', 0.4, 0, 0.35);
    add_row2(&s, 0, 0.9, 'o', 0.05);
    add_row2(&s, 'o', 0.9, 0, 0.05);
    add_row2(&s, 'o', 0.9, 0, 0.05);
    add_row2(&s, 'w', 0.4, 0, 0.35);
    add_row2(&s, 'n', 0.9, 0, 0.05);
    add_row2(&s, 'n', 0.9, 0, 0.05);
    add_word(&s, "", 80, 0.9, NULL);
    int e_on;
    add_word(&s, "on", 30, 0.9, &e_on);
    int n_vocab;
    const char *const *vocab = svx_vocabulary_default(&n_vocab);
    svx_kws_event ev[8];
    int at[8];
    for (int mode = 0; mode < 3; mode++) {
        /* 0: no competition; 1: "down" a rival; 2: "down" a keyword too */
        const svx_keyword kw[] = {{"on", 0.5f}, {"down", 0.5f}};
        svx_kws_params p;
        svx_kws_params_default(&p, FRAME_S);
        p.compete = mode > 0;
        p.rivals = vocab;
        p.n_rivals = n_vocab;
        svx_kws *k = make_kws_p(svx_default_symbols, 29, kw, mode == 2 ? 2 : 1, &p);
        int n = run_stream(k, &s, ev, at, 8, 1);
        printf("(%d: %d events%s%s) ", mode, n, n > 0 ? ", first " : "", n > 0 ? ev[0].keyword : "");
        /* the mumbled word's event (none with a rival), then the clear "on" */
        CU_ASSERT_EQUAL_FATAL(n, mode == 1 ? 1 : 2);
        if (mode != 1) {
            CU_ASSERT_STRING_EQUAL(ev[0].keyword, mode == 2 ? "down" : "on");
            if (mode == 0)
                CU_ASSERT(ev[0].score > 0.8f && ev[0].score < 0.95f);
        }
        CU_ASSERT_STRING_EQUAL(ev[n - 1].keyword, "on");
        TU_ASSERT_CLOSE(ev[n - 1].end_s, e_on * FRAME_S, 1e-9);
        CU_ASSERT(ev[n - 1].score > 0.99f);
        svx_kws_destroy(k);
    }
}

/* Two "yes" with 0.3 s of silence between them give one event with a 1 s
 * refractory period, two with none; with 1.4 s of silence always two. */
static void test_kws_refractory(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    const svx_keyword kw[] = {{"yes", 0.5f}};
    svx_kws_event ev[8];
    int at[8];
    const int gaps[2] = {15, 70};
    const int want_refr[2] = {1, 2};
    for (int g = 0; g < 2; g++) {
        s.T = 0;
        add_word(&s, "", 10, 0.9, NULL);
        add_word(&s, "yes", gaps[g], 0.9, NULL);
        add_word(&s, "yes", 20, 0.9, NULL);
        svx_kws *k = make_kws(svx_default_symbols, 29, kw, 1, 0.1, 1.0, 8);
        CU_ASSERT_EQUAL(run_stream(k, &s, ev, at, 8, 1), want_refr[g]);
        svx_kws_destroy(k);
        k = make_kws(svx_default_symbols, 29, kw, 1, 0.1, 0.0, 8);
        CU_ASSERT_EQUAL(run_stream(k, &s, ev, at, 8, 1), 2);
        svx_kws_destroy(k);
    }
}

/* A keyword at the very end fires only on flush, with its real times. */
static void test_kws_flush(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    s.T = 0;
    add_word(&s, "", 10, 0.9, NULL);
    int e;
    int b = add_word(&s, "stop", 0, 0.9, &e);
    const svx_keyword kw[] = {{"stop", 0.5f}};
    svx_kws *k = make_kws(svx_default_symbols, 29, kw, 1, 0.1, 1.0, 8);
    svx_kws_event ev[4];
    int at[4];
    CU_ASSERT_EQUAL(run_stream(k, &s, ev, at, 4, 0), 0);
    svx_kws_flush(k);
    CU_ASSERT_EQUAL_FATAL(svx_kws_next_event(k, &ev[0]), 1);
    TU_ASSERT_CLOSE(ev[0].start_s, b * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(ev[0].end_s, e * FRAME_S, 1e-9);
    CU_ASSERT_EQUAL(svx_kws_next_event(k, &ev[0]), 0);
    svx_kws_destroy(k);
}

/* A phrase fires whether or not the model emits the space between its words. */
static void test_kws_phrase(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    s.T = 0;
    add_word(&s, "", 10, 0.9, NULL);
    add_word(&s, "turn on", 40, 0.9, NULL);
    add_word(&s, "turnon", 40, 0.9, NULL);
    const svx_keyword kw[] = {{"  Turn   on ", 0.5f}};
    svx_kws *k = make_kws(svx_default_symbols, 29, kw, 1, 0.1, 1.0, 8);
    svx_kws_event ev[8];
    int at[8];
    int n = run_stream(k, &s, ev, at, 8, 1);
    CU_ASSERT_EQUAL(n, 2);
    if (n >= 1)
        CU_ASSERT_STRING_EQUAL(ev[0].keyword, "turn on");
    svx_kws_destroy(k);
}

/* An unclear "yes": its 'e' frames have 'e' at 0.3 against 'i' at 0.5, so
 * D = 2 ln(0.3 / 0.5) over 3 symbols, raw score 0.711. */
static void unclear_yes(stream_buf *s)
{
    svx_symtab_init(&s->tab, svx_default_symbols, 29);
    s->T = 0;
    add_word(s, "", 10, 0.9, NULL);
    int b = add_word(s, "yes", 30, 0.9, NULL);
    int e_id = 3 + ('e' - 'a'), i_id = 3 + ('i' - 'a');
    for (int t = b + 3; t < b + 5; t++) {
        float *row = s->lp + t * 29;
        for (int v = 0; v < 29; v++)
            row[v] = (float)log(0.2 / 27);
        row[e_id] = (float)log(0.3);
        row[i_id] = (float)log(0.5);
    }
}

/* The unclear "yes" scores lower: it fires at a high sensitivity and not at a
 * low one. */
static void test_kws_sensitivity(void)
{
    static stream_buf s;
    unclear_yes(&s);
    float score = -1;
    for (int hi = 0; hi < 2; hi++) {
        const svx_keyword kw[] = {{"yes", hi ? 0.9f : 0.1f}};
        svx_kws *k = make_kws(svx_default_symbols, 29, kw, 1, 0.1, 1.0, 8);
        svx_kws_event ev[4];
        int at[4];
        int n = run_stream(k, &s, ev, at, 4, 1);
        CU_ASSERT_EQUAL(n, hi ? 1 : 0);
        if (n == 1) {
            score = ev[0].score;
            /* D = 2 ln(0.3 / 0.5) over 3 symbols */
            TU_ASSERT_CLOSE(score, exp(2 * log(0.3 / 0.5) / 3), 1e-5);
        }
        svx_kws_destroy(k);
    }
    CU_ASSERT(score > 0.1f && score < 0.9f);
    TU_ASSERT_CLOSE(svx_kws_threshold(0.5f), 0.5, 1e-6);
    CU_ASSERT(svx_kws_threshold(0.9f) < svx_kws_threshold(0.1f));
}

/* A score power g (the stream's calibration) makes the score raw^g: the
 * unclear "yes" above (raw 0.711) fires at sensitivity 0.5 with g = 2 (0.506)
 * and not with g = 3 (0.360); competition still compares path scores D, not
 * calibrated scores. Bad powers are refused. */
static void test_kws_score_power(void)
{
    static stream_buf s;
    unclear_yes(&s);
    const double raw = exp(2 * log(0.3 / 0.5) / 3);
    const svx_keyword kw[] = {{"yes", 0.5f}};
    for (int g = 1; g <= 3; g++) {
        const float power[] = {(float)g};
        svx_kws_params p;
        svx_kws_params_default(&p, FRAME_S);
        p.score_power = power;
        svx_kws *k = make_kws_p(svx_default_symbols, 29, kw, 1, &p);
        svx_kws_event ev[4];
        int at[4];
        int n = run_stream(k, &s, ev, at, 4, 1);
        CU_ASSERT_EQUAL(n, pow(raw, g) >= 0.5 ? 1 : 0);
        if (n == 1)
            TU_ASSERT_CLOSE(ev[0].score, pow(raw, g), 1e-5);
        svx_kws_destroy(k);
    }

    /* Competition reads D. An "on" whose "n" is under blank (0.45 vs 0.5):
     * D = ln 0.9, raw 0.949; with g = 12 its score is 0.533. The rival "o"
     * (the "o" with the "n" frames as its trailing silence) has D = 0, so its
     * lexical score 0 + 1 is under the keyword's D + 2 = 1.89: "on" fires.
     * Calibrated scores would have put it at 2 (ln 0.533 + 1) = 0.74: beaten. */
    s.T = 0;
    add_word(&s, "", 20, 0.9, NULL);
    for (int r = 0; r < 3; r++)
        add_row2(&s, 'o', 0.9, 0, 0.05);
    for (int r = 0; r < 2; r++)
        add_row2(&s, 0, 0.5, 'n', 0.45);
    add_word(&s, "", 40, 0.9, NULL);
    static const char *const rivals[] = {"o"};
    const svx_keyword kw2[] = {{"on", 0.5f}};
    const float power2[] = {12.0f};
    svx_kws_params p;
    svx_kws_params_default(&p, FRAME_S);
    p.compete = 1;
    p.rivals = rivals;
    p.n_rivals = 1;
    p.score_power = power2;
    svx_kws *k = make_kws_p(svx_default_symbols, 29, kw2, 1, &p);
    svx_kws_event ev[4];
    int at[4];
    CU_ASSERT_EQUAL_FATAL(run_stream(k, &s, ev, at, 4, 1), 1);
    CU_ASSERT_STRING_EQUAL(ev[0].keyword, "on");
    TU_ASSERT_CLOSE(ev[0].score, pow(0.45 / 0.5, 12.0 / 2), 1e-4);
    svx_kws_destroy(k);

    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    static const float bad[] = {0.0f, -1.0f, 0.01f, 25.0f, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        svx_kws_params_default(&p, FRAME_S);
        p.score_power = &bad[i];
        k = NULL;
        CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, kw, 1, &k), SVX_ERR_INVALID_ARG);
        CU_ASSERT_PTR_NULL(k);
        CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "score power"));
    }
}

static void test_kws_bad_keywords(void)
{
    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    svx_kws_params p;
    svx_kws_params_default(&p, FRAME_S);
    svx_kws *k = NULL;
    const svx_keyword bang[] = {{"yes", 0.5f}, {"stop!", 0.5f}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, bang, 2, &k), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NULL(k);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "'!'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "stop!"));
    const svx_keyword digit[] = {{"route 66", 0.5f}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, digit, 1, &k), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "'6'"));
    const svx_keyword utf8[] = {{"caf\xc3\xa9", 0.5f}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, utf8, 1, &k), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "0xc3"));
    const svx_keyword empty[] = {{"   ", 0.5f}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, empty, 1, &k), SVX_ERR_KEYWORD);
    const svx_keyword sens[] = {{"yes", 1.5f}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, sens, 1, &k), SVX_ERR_INVALID_ARG);
    const svx_keyword nan_sens[] = {{"yes", NAN}};
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, nan_sens, 1, &k), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_kws_create(&tab, &p, NULL, 0, &k), SVX_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(k);
}

/* Pushing never allocates; a full event queue counts what it drops. */
static void test_kws_no_alloc_and_queue(void)
{
    static stream_buf s;
    svx_symtab_init(&s.tab, svx_default_symbols, 29);
    s.T = 0;
    for (int i = 0; i < 5; i++)
        add_word(&s, "go", 60, 0.9, NULL);
    const svx_keyword kw[] = {{"go", 0.5f}, {"stop", 0.5f}, {"marvin", 0.5f}};
    svx_kws *k = make_kws(svx_default_symbols, 29, kw, 3, 0.1, 1.0, 2);
    uint64_t before = tu_alloc_count();
    for (int rep = 0; rep < 20; rep++)
        for (int t = 0; t < s.T; t++)
            svx_kws_push(k, s.lp + t * 29);
    svx_kws_flush(k);
    CU_ASSERT_EQUAL(tu_alloc_count(), before);
    CU_ASSERT_EQUAL(svx_kws_dropped_events(k), 100 - 2);
    svx_kws_event ev;
    int n = 0;
    while (svx_kws_next_event(k, &ev))
        n++;
    CU_ASSERT_EQUAL(n, 2);
    svx_kws_destroy(k);
}

void test_register_decoder_kws(void);
void test_register_decoder_kws(void)
{
    static const tu_test tests[] = {
        {"keyword score == brute force over spans", test_kws_vs_brute_force},
        {"events, times, latency, confusables", test_kws_events_and_confusables},
        {"refractory period", test_kws_refractory},
        {"competition: a better-explaining word silences a keyword", test_kws_competition},
        {"keyword at the end fires on flush", test_kws_flush},
        {"phrase with or without the space", test_kws_phrase},
        {"sensitivity and score", test_kws_sensitivity},
        {"score power (calibration); competition reads path scores", test_kws_score_power},
        {"bad keywords refused, named", test_kws_bad_keywords},
        {"no allocation per frame; event queue", test_kws_no_alloc_and_queue},
    };
    tu_add_suite("decoder_kws", tests, sizeof tests / sizeof tests[0]);
}
