/* Lexicon prefix beam search: against an exhaustive search over every
 * alignment, against the CTC forward algorithm on longer inputs, word times
 * and confidence, bounded memory, bad lexicons. */
#include <stdlib.h>

#include "../model/model.h"
#include "test_decoder_util.h"

#define FRAME_S 0.02

static double g_margin = 20.0, g_lag = 1.0;

static svx_beam *make_beam(const char *const *syms, int V, const char *const *lex, int n_lex,
                           int beam, int max_pending)
{
    svx_symtab tab;
    CU_ASSERT_EQUAL_FATAL(svx_symtab_init(&tab, syms, V), SVX_OK);
    svx_dec_params p;
    svx_dec_params_default(&p, FRAME_S);
    p.beam_size = beam;
    p.max_pending_words = max_pending;
    p.commit_margin = g_margin;
    p.commit_lag_s = g_lag;
    svx_beam *b = NULL;
    int rc = svx_beam_create(&tab, &p, lex, n_lex, &b);
    CU_ASSERT_EQUAL_FATAL(rc, SVX_OK);
    return b;
}

/* ---- brute force over the lexicon language ---- */

typedef struct {
    int n;
    int w[TDU_MAX_T];
    double logp;
} wseq;

typedef struct {
    const int (*lex)[4];          /* spelled words, -1 terminated */
    int n_lex;
    int space;
    wseq *out;
    int n_out, max_out;
    double logp;                  /* of the label sequence being parsed */
} parse_ctx;

static void add_wseq(parse_ctx *c, const int *w, int n)
{
    int k;
    for (k = 0; k < c->n_out; k++)
        if (c->out[k].n == n && !memcmp(c->out[k].w, w, (size_t)n * sizeof *w))
            break;
    if (k == c->n_out) {
        if (c->n_out == c->max_out)
            return;
        c->out[k].n = n;
        memcpy(c->out[k].w, w, (size_t)n * sizeof *w);
        c->out[k].logp = -INFINITY;
        c->n_out++;
    }
    c->out[k].logp = tdu_log_add(c->out[k].logp, c->logp);
}

/* All parses of ids[pos..n) as [space] w [space] w ... [space], no two
 * spaces in a row. prev_space: the previous label was a space. */
static void parse(parse_ctx *c, const int *ids, int n, int pos, int prev_space, int *w, int n_w)
{
    if (pos == n) {
        add_wseq(c, w, n_w);
        return;
    }
    if (ids[pos] == c->space) {
        if (!prev_space)
            parse(c, ids, n, pos + 1, 1, w, n_w);
        return;
    }
    for (int k = 0; k < c->n_lex; k++) {
        int len = 0;
        while (len < 4 && c->lex[k][len] >= 0)
            len++;
        if (pos + len <= n && !memcmp(ids + pos, c->lex[k], (size_t)len * sizeof(int))) {
            w[n_w] = k;
            parse(c, ids, n, pos + len, 0, w, n_w + 1);
        }
    }
}

/* With a beam wide enough to keep every prefix, the result is the word
 * sequence of highest total probability found by enumerating all V^T
 * alignments, and its score is that probability. */
static void test_beam_vs_brute_force(void)
{
    const int V = 5;                   /* blank, space, a, b, c */
    static const char *const lex_txt[] = {"a", "ab", "ba", "bb", "c"};
    static const int lex_ids[5][4] = {{2, -1, -1, -1}, {2, 3, -1, -1}, {3, 2, -1, -1},
                                      {3, 3, -1, -1}, {4, -1, -1, -1}};
    g_margin = g_lag = INFINITY;   /* commit only on full agreement: exact */
    svx_beam *b = make_beam(tdu_small_syms, V, lex_txt, 5, 4096, 16);
    g_margin = 20.0;
    g_lag = 1.0;
    static tdu_seq seqs[TDU_MAX_SEQS];
    static wseq ws[TDU_MAX_SEQS];
    int n_ok = 0, n_trials = 150;
    for (int trial = 0; trial < n_trials; trial++) {
        int T = 1 + (int)(tu_rand_uniform() * 6);
        float lp[6 * 5];
        tdu_random_logprobs(lp, T, V, 1.0 + 2.0 * tu_rand_uniform());
        int n_seqs = tdu_enumerate(lp, T, V, seqs, TDU_MAX_SEQS, NULL);
        parse_ctx c = {lex_ids, 5, 1, ws, 0, TDU_MAX_SEQS, 0};
        for (int k = 0; k < n_seqs; k++) {
            int w[TDU_MAX_T];
            c.logp = seqs[k].logp;
            parse(&c, seqs[k].ids, seqs[k].n, 0, 0, w, 0);
        }
        int best = -1;
        for (int k = 0; k < c.n_out; k++)
            if (best < 0 || ws[k].logp > ws[best].logp)
                best = k;
        svx_beam_reset(b);
        for (int t = 0; t < T; t++)
            svx_beam_push(b, lp + t * V);
        svx_beam_flush(b);
        svx_word got[TDU_MAX_T + 2];
        int n_got = svx_beam_words(b, got, TDU_MAX_T + 2);
        /* the beam's word sequence must be one of highest probability (two
         * parses of one label sequence, e.g. "ab a" and "a ba", can tie) */
        int found = -1;
        for (int k = 0; k < c.n_out && found < 0; k++) {
            int same = ws[k].n == n_got;
            for (int i = 0; same && i < n_got; i++)
                same = !strcmp(got[i].text, lex_txt[ws[k].w[i]]);
            if (same)
                found = k;
        }
        double tol = best >= 0 ? 1e-6 * (1.0 + fabs(ws[best].logp)) : 0;
        double score = svx_beam_final_score(b);
        int ok = best >= 0 && found >= 0 && fabs(ws[found].logp - ws[best].logp) <= tol &&
                 fabs(score - ws[best].logp) <= tol;
        if (ok) {
            n_ok++;
        } else {
            printf("\n  trial %d (T %d): beam gave %d words (score %.9g), brute force %d words "
                   "(score %.9g)\n", trial, T, n_got, score, best >= 0 ? ws[best].n : -1,
                   best >= 0 ? ws[best].logp : NAN);
        }
    }
    CU_ASSERT_EQUAL(n_ok, n_trials);
    svx_beam_destroy(b);
}

/* Sums exp(ctc forward) over every optional-space variant of a word
 * sequence: the independent reference of the beam's final score. */
static double word_seq_score(const svx_symtab *tab, const float *lp, int T, svx_word *w, int n)
{
    double total = -INFINITY;
    int n_gaps = n + 1;
    for (int mask = 0; mask < (1 << n_gaps); mask++) {
        int ids[256], L = 0;
        for (int i = 0; i <= n; i++) {
            if (mask & (1 << i))
                ids[L++] = tab->space;
            if (i < n) {
                int k = svx_symtab_spell(tab, w[i].text, ids + L, 256 - L, "test");
                L += k;
            }
        }
        double sc;
        CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, tab->n_symbols, ids, L, &sc), SVX_OK);
        total = tdu_log_add(total, sc);
    }
    return total;
}

/* "yes no" with and without a space symbol, a pause or neither: two words,
 * times from the first and last letter frames; with a wide beam the score is
 * the forward algorithm summed over the spacing variants. */
static void test_beam_yes_no(void)
{
    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    static const char *const texts[] = {"|yes||||no|", "yes no", "yesno", "|yes no |"};
    const int starts[4][2] = {{5, 34}, {0, 12}, {0, 9}, {5, 17}};
    const int ends[4][2] = {{13, 39}, {8, 17}, {8, 14}, {13, 22}};
    for (int k = 0; k < 4; k++) {
        svx_beam *b = make_beam(svx_default_symbols, 29, NULL, 0, 2048, 16);
        static float lp[200 * 29];
        int T = tdu_spell_frames(&tab, texts[k], 2, 5, 0.9, lp, 200);
        for (int t = 0; t < T; t++)
            svx_beam_push(b, lp + t * 29);
        svx_beam_flush(b);
        svx_word w[4];
        int n = svx_beam_words(b, w, 4);
        CU_ASSERT_EQUAL(n, 2);
        if (n == 2) {
            CU_ASSERT_STRING_EQUAL(w[0].text, "yes");
            CU_ASSERT_STRING_EQUAL(w[1].text, "no");
            for (int i = 0; i < 2; i++) {
                TU_ASSERT_CLOSE(w[i].start_s, starts[k][i] * FRAME_S, 1e-9);
                TU_ASSERT_CLOSE(w[i].end_s, ends[k][i] * FRAME_S, 1e-9);
                CU_ASSERT(w[i].confidence >= 0.0f && w[i].confidence <= 1.0f);
                TU_ASSERT_CLOSE(w[i].confidence, 0.9, 1e-4);
            }
            double ref = word_seq_score(&tab, lp, T, w, 2);
            TU_ASSERT_CLOSE(svx_beam_final_score(b), ref, 1e-6 * (1 + fabs(ref)));
            /* the default beam prunes unlikely spacing variants: the same
             * words, a slightly lower (never higher) score */
            svx_beam *b8 = make_beam(svx_default_symbols, 29, NULL, 0, 8, 16);
            for (int t = 0; t < T; t++)
                svx_beam_push(b8, lp + t * 29);
            svx_beam_flush(b8);
            svx_word w8[4];
            CU_ASSERT_EQUAL(svx_beam_words(b8, w8, 4), 2);
            CU_ASSERT_STRING_EQUAL(w8[0].text, "yes");
            CU_ASSERT_STRING_EQUAL(w8[1].text, "no");
            double s8 = svx_beam_final_score(b8);
            CU_ASSERT(s8 <= ref + 1e-9 && s8 >= ref - 0.05);
            svx_beam_destroy(b8);
        }
        svx_beam_destroy(b);
    }
}

/* The lexicon constrains: a misspelling ("yez") comes out as the nearest
 * lexicon word, never as letters outside it; confidence drops when the
 * posteriors are ambiguous. */
static void test_beam_lexicon_and_confidence(void)
{
    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    static float lp[100 * 29];
    int T = tdu_spell_frames(&tab, "|yez|", 2, 3, 0.9, lp, 100);
    svx_beam *b = make_beam(svx_default_symbols, 29, NULL, 0, 8, 16);
    for (int t = 0; t < T; t++)
        svx_beam_push(b, lp + t * 29);
    svx_beam_flush(b);
    svx_word w[4];
    CU_ASSERT_EQUAL_FATAL(svx_beam_words(b, w, 4), 1);
    CU_ASSERT_STRING_EQUAL(w[0].text, "yes");
    float sure = w[0].confidence;
    /* flat: the letters of "cat" at 0.3 */
    svx_beam_reset(b);
    T = tdu_spell_frames(&tab, "|cat|", 2, 3, 0.3, lp, 100);
    for (int t = 0; t < T; t++)
        svx_beam_push(b, lp + t * 29);
    svx_beam_flush(b);
    CU_ASSERT_EQUAL_FATAL(svx_beam_words(b, w, 4), 1);
    CU_ASSERT_STRING_EQUAL(w[0].text, "cat");
    CU_ASSERT(w[0].confidence >= 0.0f && w[0].confidence < sure);
    /* a user lexicon */
    svx_beam_destroy(b);
    static const char *const mine[] = {"Lights", "off", "on"};
    b = make_beam(svx_default_symbols, 29, mine, 3, 8, 16);
    T = tdu_spell_frames(&tab, "|lights|on|", 2, 3, 0.9, lp, 100);
    for (int t = 0; t < T; t++)
        svx_beam_push(b, lp + t * 29);
    svx_beam_flush(b);
    CU_ASSERT_EQUAL_FATAL(svx_beam_words(b, w, 4), 2);
    CU_ASSERT_STRING_EQUAL(w[0].text, "lights");
    CU_ASSERT_STRING_EQUAL(w[1].text, "on");
    svx_beam_destroy(b);
}

/* Long noisy input: committed words never change, with a wide beam the final
 * score equals the forward algorithm summed over spacing variants (commits
 * do not disturb it), and an hour of frames through the default beam runs
 * without allocating, words taken as they come. */
static void test_beam_streaming_bounded(void)
{
    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    enum { MAXT = 400 };
    static float lp[MAXT * 29];
    /* noisy spelling of six words with pauses */
    int T = tdu_spell_frames(&tab, "|left||right||go|||stop||up||down|", 2, 4, 0.7, lp, MAXT);
    for (int i = 0; i < T * 29; i++)
        lp[i] += (float)(0.3 * tu_rand_normal());
    for (int t = 0; t < T; t++) {   /* renormalise */
        double mx = -1e300, s = 0;
        for (int v = 0; v < 29; v++)
            mx = lp[t * 29 + v] > mx ? lp[t * 29 + v] : mx;
        for (int v = 0; v < 29; v++)
            s += exp(lp[t * 29 + v] - mx);
        for (int v = 0; v < 29; v++)
            lp[t * 29 + v] = (float)(lp[t * 29 + v] - mx - log(s));
    }
    /* exact: wide beam, commits only on full agreement */
    g_margin = g_lag = INFINITY;
    svx_beam *b = make_beam(svx_default_symbols, 29, NULL, 0, 512, 16);
    g_margin = 20.0;
    g_lag = 1.0;
    for (int t = 0; t < T; t++)
        svx_beam_push(b, lp + t * 29);
    svx_beam_flush(b);
    svx_word exact_w[16];
    int n_exact = svx_beam_words(b, exact_w, 16);
    static const char *const want[] = {"left", "right", "go", "stop", "up", "down"};
    CU_ASSERT_EQUAL(n_exact, 6);
    for (int i = 0; i < n_exact && i < 6; i++)
        CU_ASSERT_STRING_EQUAL(exact_w[i].text, want[i]);
    double ref = word_seq_score(&tab, lp, T, exact_w, n_exact);
    TU_ASSERT_CLOSE(svx_beam_final_score(b), ref, 1e-6 * (1 + fabs(ref)));
    svx_beam_destroy(b);

    /* default beam and commit rules: words become final on the way and
     * never change afterwards */
    b = make_beam(svx_default_symbols, 29, NULL, 0, 8, 16);
    svx_word early[16];
    int n_early_max = 0;
    svx_word final_w[16];
    int stable = 1;
    svx_word snap[16][16];
    int n_snap[16] = {0};
    for (int t = 0; t < T; t++) {
        svx_beam_push(b, lp + t * 29);
        int nq = svx_wordq_copy(svx_beam_queue(b), early, 16);
        if (nq > n_early_max)
            n_early_max = nq;
        if (t % 25 == 0 && t / 25 < 16) {
            n_snap[t / 25] = nq;
            memcpy(snap[t / 25], early, sizeof early);
        }
    }
    svx_beam_flush(b);
    int n = svx_beam_words(b, final_w, 16);
    CU_ASSERT_EQUAL(n, 6);
    printf("(%d of 6 words final before the end) ", n_early_max);
    CU_ASSERT(n_early_max >= 3);
    for (int s = 0; s < 16; s++)
        for (int i = 0; i < n_snap[s] && i < n; i++)
            if (strcmp(snap[s][i].text, final_w[i].text) || snap[s][i].start_s != final_w[i].start_s)
                stable = 0;
    CU_ASSERT(stable);
    for (int i = 0; i < n && i < 6; i++)
        CU_ASSERT_STRING_EQUAL(final_w[i].text, want[i]);
    double s8 = svx_beam_final_score(b);
    printf("(score %.4f, exact %.4f) ", s8, ref);
    /* 8 hypotheses cannot hold every spacing variant of six words: the
     * summed probability is lower (0.8 nats with the seed we looked at), never
     * higher */
    CU_ASSERT(s8 <= ref + 1e-9 && s8 >= ref - 2.0);
    CU_ASSERT_EQUAL(svx_beam_forced_commits(b), 0);

    /* one hour at 50 frames/s, repeating the utterance, taking words */
    svx_beam_reset(b);
    uint64_t before = tu_alloc_count();
    long n_words = 0;
    const long n_frames = 3600L * 50;
    for (long f = 0; f < n_frames; f++) {
        svx_beam_push(b, lp + (f % T) * 29);
        if (f % 1000 == 0) {
            svx_word tmp[64];
            n_words += svx_beam_take_words(b, tmp, 64);
        }
    }
    svx_beam_flush(b);
    svx_word tmp[64];
    n_words += svx_beam_take_words(b, tmp, 64);
    CU_ASSERT_EQUAL(tu_alloc_count(), before);
    long want_words = 6 * (n_frames / T) + 0;
    printf("(%ld words over %ld frames, %ld expected from whole repeats) ", n_words, n_frames,
           want_words);
    CU_ASSERT(n_words >= want_words && n_words <= want_words + 6);
    CU_ASSERT_EQUAL(svx_beam_queue(b)->n_dropped, 0);
    svx_beam_destroy(b);
}

/* Words the symbols cannot spell are refused, naming the character. */
static void test_beam_bad_lexicon(void)
{
    svx_symtab tab;
    svx_symtab_init(&tab, svx_default_symbols, 29);
    svx_dec_params p;
    svx_dec_params_default(&p, FRAME_S);
    svx_beam *b = (svx_beam *)&p;
    static const char *const bad1[] = {"yes", "n0"};
    CU_ASSERT_EQUAL(svx_beam_create(&tab, &p, bad1, 2, &b), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "'0'"));
    static const char *const bad2[] = {"turn on"};
    CU_ASSERT_EQUAL(svx_beam_create(&tab, &p, bad2, 1, &b), SVX_ERR_KEYWORD);
    static const char *const bad3[] = {""};
    CU_ASSERT_EQUAL(svx_beam_create(&tab, &p, bad3, 1, &b), SVX_ERR_KEYWORD);
    p.beam_size = 0;
    CU_ASSERT_EQUAL(svx_beam_create(&tab, &p, NULL, 0, &b), SVX_ERR_INVALID_ARG);
}

void test_register_decoder_beam(void);
void test_register_decoder_beam(void)
{
    static const tu_test tests[] = {
        {"wide beam == exhaustive best word sequence", test_beam_vs_brute_force},
        {"yes no: spacing variants, times, score", test_beam_yes_no},
        {"lexicon constraint, confidence, user words", test_beam_lexicon_and_confidence},
        {"commit is stable, bounded over an hour", test_beam_streaming_bounded},
        {"bad lexicon words refused", test_beam_bad_lexicon},
    };
    tu_add_suite("decoder_beam", tests, sizeof tests / sizeof tests[0]);
}
