/* CTC greedy decoder: against the exhaustive best path, word boundaries,
 * timestamps, confidence, allocation-free pushes. */
#include <stdlib.h>

#include "../model/model.h"
#include "test_decoder_util.h"

#define FRAME_S 0.02

static svx_greedy *make_greedy(const char *const *syms, int V, double gap_s)
{
    svx_symtab tab;
    CU_ASSERT_EQUAL_FATAL(svx_symtab_init(&tab, syms, V), SVX_OK);
    svx_dec_params p;
    svx_dec_params_default(&p, FRAME_S);
    p.word_gap_s = gap_s;
    svx_greedy *g = NULL;
    CU_ASSERT_EQUAL_FATAL(svx_greedy_create(&tab, &p, &g), SVX_OK);
    return g;
}

/* Greedy labels equal the collapse of the exhaustive argmax path. */
static void test_greedy_vs_brute_force(void)
{
    const int V = 5;
    svx_greedy *g = make_greedy(tdu_small_syms, V, 1.0);
    static tdu_seq seqs[TDU_MAX_SEQS];
    int n_checked = 0;
    for (int trial = 0; trial < 300; trial++) {
        int T = 1 + (int)(tu_rand_uniform() * 6);
        float lp[6 * 5];
        tdu_random_logprobs(lp, T, V, 1.0 + 2.0 * tu_rand_uniform());
        int best_path[TDU_MAX_T];
        tdu_enumerate(lp, T, V, seqs, TDU_MAX_SEQS, best_path);
        int want[TDU_MAX_T];
        int n_want = tdu_collapse(best_path, T, want);
        svx_greedy_reset(g);
        for (int t = 0; t < T; t++)
            svx_greedy_push(g, lp + t * V);
        int got[TDU_MAX_T + 4];
        int n_got = svx_greedy_labels(g, got, TDU_MAX_T + 4);
        CU_ASSERT_EQUAL(n_got, n_want);
        if (n_got == n_want && memcmp(got, want, (size_t)n_got * sizeof *got) == 0)
            n_checked++;
        else
            printf("\n  greedy mismatch at trial %d (T %d)\n", trial, T);
    }
    CU_ASSERT_EQUAL(n_checked, 300);
    svx_greedy_destroy(g);
}

static svx_greedy *make_default(svx_symtab *tab, int max_words)
{
    CU_ASSERT_EQUAL_FATAL(svx_symtab_init(tab, svx_default_symbols, 29), SVX_OK);
    svx_dec_params p;
    svx_dec_params_default(&p, FRAME_S);
    p.max_words = max_words;
    svx_greedy *g = NULL;
    CU_ASSERT_EQUAL_FATAL(svx_greedy_create(tab, &p, &g), SVX_OK);
    return g;
}

static void feed(svx_greedy *g, const float *lp, int T, int V)
{
    for (int t = 0; t < T; t++)
        svx_greedy_push(g, lp + t * V);
}

/* "yes" then 20 blank frames (0.4 s > word_gap_s 0.25) then "no": two
 * words, with the frames of their first and last letters as times. */
static void test_greedy_words_by_blank_gap(void)
{
    svx_symtab tab;
    svx_greedy *g = make_default(&tab, 64);
    static float lp[200 * 29];
    int T = tdu_spell_frames(&tab, "|yes||||no|", 2, 5, 0.9, lp, 200);
    feed(g, lp, T, 29);
    svx_word w[4];
    /* before flush the open word is there but "yes" is already final */
    CU_ASSERT_EQUAL(svx_wordq_copy(svx_greedy_queue(g), w, 4), 1);
    svx_greedy_flush(g);
    int n = svx_greedy_words(g, w, 4);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(w[0].text, "yes");
    CU_ASSERT_STRING_EQUAL(w[1].text, "no");
    TU_ASSERT_CLOSE(w[0].start_s, 5 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[0].end_s, 13 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[1].start_s, 34 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[1].end_s, 39 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[0].confidence, 0.9, 1e-5);
    TU_ASSERT_CLOSE(w[1].confidence, 0.9, 1e-5);
    svx_greedy_destroy(g);
}

/* A space symbol ends a word even without a pause; short blank runs do not. */
static void test_greedy_words_by_space(void)
{
    svx_symtab tab;
    svx_greedy *g = make_default(&tab, 64);
    static float lp[200 * 29];
    int T = tdu_spell_frames(&tab, "yes no", 2, 5, 0.9, lp, 200);
    feed(g, lp, T, 29);
    svx_greedy_flush(g);
    svx_word w[4];
    int n = svx_greedy_words(g, w, 4);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(w[0].text, "yes");
    CU_ASSERT_STRING_EQUAL(w[1].text, "no");
    TU_ASSERT_CLOSE(w[0].start_s, 0.0, 1e-9);
    TU_ASSERT_CLOSE(w[0].end_s, 8 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[1].start_s, 12 * FRAME_S, 1e-9);
    TU_ASSERT_CLOSE(w[1].end_s, 17 * FRAME_S, 1e-9);
    svx_greedy_destroy(g);
}

/* Confidence is the mean max posterior: in [0, 1] and lower when the
 * posteriors are flat. */
static void test_greedy_confidence(void)
{
    svx_symtab tab;
    svx_greedy *g = make_default(&tab, 64);
    static float lp[100 * 29];
    double conf[2];
    const double p[2] = {0.95, 0.4};
    for (int k = 0; k < 2; k++) {
        svx_greedy_reset(g);
        int T = tdu_spell_frames(&tab, "|stop|", 2, 5, p[k], lp, 100);
        feed(g, lp, T, 29);
        svx_greedy_flush(g);
        svx_word w[2];
        CU_ASSERT_EQUAL_FATAL(svx_greedy_words(g, w, 2), 1);
        CU_ASSERT_STRING_EQUAL(w[0].text, "stop");
        conf[k] = w[0].confidence;
        CU_ASSERT(conf[k] >= 0.0 && conf[k] <= 1.0);
        TU_ASSERT_CLOSE(conf[k], p[k], 1e-5);
    }
    CU_ASSERT(conf[1] < conf[0]);
    svx_greedy_destroy(g);
}

/* Pushing frames never allocates; final words can be taken as they come and
 * a full store drops the oldest, counting them. */
static void test_greedy_no_alloc_and_queue(void)
{
    svx_symtab tab;
    svx_greedy *g = make_default(&tab, 4);
    static float lp[200 * 29];
    int T = tdu_spell_frames(&tab, "yes no ", 2, 5, 0.9, lp, 200);
    uint64_t before = tu_alloc_count();
    for (int rep = 0; rep < 500; rep++)
        feed(g, lp, T, 29);
    svx_greedy_flush(g);
    CU_ASSERT_EQUAL(tu_alloc_count(), before);
    svx_word w[8];
    CU_ASSERT_EQUAL(svx_greedy_words(g, w, 8), 4);
    CU_ASSERT_EQUAL(svx_greedy_queue(g)->n_dropped, 996);
    CU_ASSERT_STRING_EQUAL(w[3].text, "no");
    CU_ASSERT_EQUAL(svx_greedy_take_words(g, w, 3), 3);
    CU_ASSERT_EQUAL(svx_greedy_words(g, w, 8), 1);
    CU_ASSERT_STRING_EQUAL(w[0].text, "no");
    svx_greedy_destroy(g);
}

void test_register_decoder_greedy(void);
void test_register_decoder_greedy(void)
{
    static const tu_test tests[] = {
        {"greedy labels == exhaustive best path", test_greedy_vs_brute_force},
        {"words split by a blank gap, times", test_greedy_words_by_blank_gap},
        {"words split by a space symbol, times", test_greedy_words_by_space},
        {"confidence in [0,1], lower when flat", test_greedy_confidence},
        {"no allocation per frame; word store", test_greedy_no_alloc_and_queue},
    };
    tu_add_suite("decoder_greedy", tests, sizeof tests / sizeof tests[0]);
}
