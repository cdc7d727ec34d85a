/* decoder/classify.c: the CTC forward algorithm against a brute-force sum
 * over every frame-level path, and the text / classifier wrappers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "test_model_fixture.h"
#include "shiftvox.h"
#include "testutil.h"

/* Both sides sum the same float log-probabilities in double precision, in a
 * different order: they agree to rounding. */
#define CTC_TOL 1e-9

/* Random per-frame log-softmax of N(0, 2^2) logits: a mix of confident and
 * flat frames. */
static void random_logprobs(float *lp, int T, int V)
{
    for (int t = 0; t < T; t++) {
        double z[64], mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) {
            z[v] = 2.0 * tu_rand_normal();
            if (z[v] > mx)
                mx = z[v];
        }
        for (int v = 0; v < V; v++)
            s += exp(z[v] - mx);
        for (int v = 0; v < V; v++)
            lp[t * V + v] = (float)(z[v] - mx - log(s));
    }
}

/* ln of the sum over all V^T paths whose CTC collapse (merge repeats, drop
 * blanks) equals labels. */
static double brute_force(const float *lp, int T, int V, const int *labels, int L)
{
    int path[16];
    long n_paths = 1;
    for (int t = 0; t < T; t++)
        n_paths *= V;
    double total = 0.0;
    for (long p = 0; p < n_paths; p++) {
        long q = p;
        for (int t = 0; t < T; t++) {
            path[t] = (int)(q % V);
            q /= V;
        }
        int out[16], n = 0, prev = -1;
        for (int t = 0; t < T; t++) {
            if (path[t] != prev && path[t] != 0)
                out[n++] = path[t];
            prev = path[t];
        }
        if (n != L || memcmp(out, labels, (size_t)L * sizeof(int)) != 0)
            continue;
        double s = 0;
        for (int t = 0; t < T; t++)
            s += lp[t * V + path[t]];
        total += exp(s);
    }
    return total > 0 ? log(total) : -INFINITY;
}

static void test_forward_vs_brute_force(void)
{
    int n_cases = 0, n_impossible = 0;
    double worst = 0;
    for (int V = 2; V <= 4; V++) {
        for (int T = 1; T <= 6; T++) {
            float lp[6 * 4];
            random_logprobs(lp, T, V);
            /* Every label sequence of length 0..3 over the V-1 non-blank symbols,
             * repeats included ("aa" needs a blank between). */
            for (int L = 0; L <= 3; L++) {
                long n_seq = 1;
                for (int i = 0; i < L; i++)
                    n_seq *= V - 1;
                for (long s = 0; s < n_seq; s++) {
                    int labels[3];
                    long q = s;
                    for (int i = 0; i < L; i++) {
                        labels[i] = 1 + (int)(q % (V - 1));
                        q /= V - 1;
                    }
                    double got, want = brute_force(lp, T, V, labels, L);
                    CU_ASSERT_EQUAL_FATAL(svx_ctc_log_likelihood_ids(lp, T, V, labels, L, &got), SVX_OK);
                    n_cases++;
                    if (isinf(want)) {
                        n_impossible++;
                        CU_ASSERT(isinf(got) && got < 0);
                        continue;
                    }
                    double err = fabs(got - want);
                    if (err > worst)
                        worst = err;
                    if (err > CTC_TOL)
                        printf("\n  V=%d T=%d L=%d: forward %.12f, brute force %.12f\n", V, T, L, got, want);
                    CU_ASSERT(err <= CTC_TOL);
                }
            }
        }
    }
    printf("(%d cases, %d impossible, worst |error| %.1e) ", n_cases, n_impossible, worst);
    CU_ASSERT(n_impossible > 0);   /* the -inf branch was exercised */
}

/* The probabilities of every label sequence that fits sum to 1 (T = 3, V = 3:
 * sequences of length 0..3). */
static void test_probabilities_sum_to_one(void)
{
    const int T = 3, V = 3;
    float lp[9];
    random_logprobs(lp, T, V);
    double total = 0;
    for (int L = 0; L <= 3; L++) {
        long n_seq = 1;
        for (int i = 0; i < L; i++)
            n_seq *= V - 1;
        for (long s = 0; s < n_seq; s++) {
            int labels[3];
            long q = s;
            for (int i = 0; i < L; i++) {
                labels[i] = 1 + (int)(q % (V - 1));
                q /= V - 1;
            }
            double ll;
            CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, labels, L, &ll), SVX_OK);
            total += exp(ll);
        }
    }
    TU_ASSERT_CLOSE(total, 1.0, 1e-6);
}

/* A model with the standard symbols (one linear layer; only its symbol table
 * matters here), from the engine's writer. */
static svx_model *symbol_model(const char *meta)
{
    svx_frontend_params fe;
    svx_frontend_params_default(&fe);
    enum { V = 29 };
    float *w = calloc((size_t)V * (size_t)fe.n_mels, sizeof *w), bias[V] = {0};
    uint8_t *bytes = NULL;
    size_t n = 0;
    svx_model *m = NULL;
    if (w && fx_linear_model_bytes(&fe, w, bias, meta, &bytes, &n) == SVX_OK)
        svx_model_load_memory(bytes, n, NULL, &m);
    free(bytes);
    free(w);
    return m;
}

static void test_text_and_classify(void)
{
    svx_model *m = symbol_model(NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const int V = svx_model_n_symbols(m), T = 12;
    CU_ASSERT_EQUAL_FATAL(V, 29);
    float *lp = malloc((size_t)T * (size_t)V * sizeof *lp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
    random_logprobs(lp, T, V);

    /* Text is spelled with the symbol table: a=3 ... z=28, space 1, apostrophe 2. */
    struct { const char *text; int ids[8]; int n; } cases[] = {
        {"yes", {27, 7, 21}, 3},
        {"off", {17, 8, 8}, 3},
        {"it's on", {11, 22, 2, 21, 1, 17, 16}, 7},
        {"", {0}, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double a, b;
        CU_ASSERT_EQUAL(svx_ctc_log_likelihood(m, lp, T, cases[c].text, &a), SVX_OK);
        CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, cases[c].ids, cases[c].n, &b), SVX_OK);
        CU_ASSERT_EQUAL(a, b);
    }
    /* "" is the all-blank path: the sum of the blank log-probabilities. */
    double silence, blank_sum = 0;
    for (int t = 0; t < T; t++)
        blank_sum += lp[t * V];
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood(m, lp, T, "", &silence), SVX_OK);
    TU_ASSERT_CLOSE(silence, blank_sum, CTC_TOL);

    /* Unspellable text names the byte. */
    double x;
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood(m, lp, T, "Yes", &x), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "byte 0"));
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood(m, lp, T, "go2", &x), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "byte 2"));
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood(m, lp, T, "caf\xc3\xa9", &x), SVX_ERR_KEYWORD);
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood(NULL, lp, T, "yes", &x), SVX_ERR_INVALID_ARG);
    int bad_label = 29;
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, &bad_label, 1, &x), SVX_ERR_INVALID_ARG);
    bad_label = 0;
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, &bad_label, 1, &x), SVX_ERR_INVALID_ARG);

    /* The classifier returns the argmax of the scores it writes. */
    const char *const cand[] = {"yes", "no", "up", "down", "", "off"};
    const int n_cand = 6;
    double scores[6];
    int best = svx_classify_clip(m, lp, T, cand, n_cand, scores);
    CU_ASSERT_FATAL(best >= 0 && best < n_cand);
    for (int k = 0; k < n_cand; k++) {
        double s;
        svx_ctc_log_likelihood(m, lp, T, cand[k], &s);
        CU_ASSERT_EQUAL(scores[k], s);
        CU_ASSERT(scores[best] >= scores[k]);
    }
    /* Ties go to the first; a bad candidate is an error, not a guess. */
    const char *const same[] = {"no", "no"};
    CU_ASSERT_EQUAL(svx_classify_clip(m, lp, T, same, 2, NULL), 0);
    const char *const bad[] = {"yes", "NO"};
    CU_ASSERT_EQUAL(svx_classify_clip(m, lp, T, bad, 2, NULL), SVX_ERR_KEYWORD);
    CU_ASSERT_EQUAL(svx_classify_clip(m, lp, T, cand, 0, NULL), SVX_ERR_INVALID_ARG);
    /* Too few frames for any word: every word is -inf, silence still wins. */
    const char *const words[] = {"three", ""};
    double sc[2];
    CU_ASSERT_EQUAL(svx_classify_clip(m, lp, 2, words, 2, sc), 1);
    CU_ASSERT(isinf(sc[0]) && sc[0] < 0);
    free(lp);
    svx_model_destroy(m);
}

/* Long texts take the heap path: a posterior that allows exactly one
 * alignment of a 300-letter text (blank, letter, blank, ...) gives ln 1 = 0,
 * and any other text gives -inf. */
static void test_long_text(void)
{
    enum { L = 300, V = 5 };
    const int T = 2 * L + 1;
    int labels[L];
    for (int i = 0; i < L; i++)
        labels[i] = 1 + (int)(tu_rand_u64() % (V - 1));
    float *lp = malloc((size_t)T * V * sizeof *lp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
    for (int t = 0; t < T; t++)
        for (int v = 0; v < V; v++)
            lp[t * V + v] = v == ((t & 1) ? labels[t >> 1] : 0) ? 0.0f : -INFINITY;
    double ll;
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, labels, L, &ll), SVX_OK);
    TU_ASSERT_CLOSE(ll, 0.0, CTC_TOL);
    labels[L / 2] = labels[L / 2] % (V - 1) + 1;   /* a different letter */
    CU_ASSERT_EQUAL(svx_ctc_log_likelihood_ids(lp, T, V, labels, L, &ll), SVX_OK);
    CU_ASSERT(isinf(ll) && ll < 0);
    free(lp);
}

/* The trainer's calibrated offsets come out of the model's metadata. */
static void test_bias_from_metadata(void)
{
    const char *const cand[] = {"yes", "", "it's on", "backward"};
    double b[4] = {9, 9, 9, 9};
    svx_model *m = symbol_model(
        "{\"bits\": 3, \"eval_bias\": {\"char_bonus\": 1.5, \"silence\": -2.0}, \"quant\": \"denseshift\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(svx_classify_bias(m, cand, 4, b), 1);
    CU_ASSERT_EQUAL(b[0], 4.5);     /* 3 letters */
    CU_ASSERT_EQUAL(b[1], -2.0);    /* silence */
    CU_ASSERT_EQUAL(b[2], 9.0);     /* 6 non-space bytes */
    CU_ASSERT_EQUAL(b[3], 12.0);
    svx_model_destroy(m);
    /* No eval_bias (or a broken one): zeros, and 0 says so. */
    const char *const metas[] = {NULL, "{\"bits\": 3}", "{\"eval_bias\": {\"char_bonus\": \"x\"}}",
                                 "{\"eval_bias\": 3}"};
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        m = symbol_model(metas[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        b[0] = b[1] = 9;
        CU_ASSERT_EQUAL(svx_classify_bias(m, cand, 2, b), 0);
        CU_ASSERT_EQUAL(b[0], 0.0);
        CU_ASSERT_EQUAL(b[1], 0.0);
        svx_model_destroy(m);
    }
    CU_ASSERT_EQUAL(svx_classify_bias(NULL, cand, 2, b), SVX_ERR_INVALID_ARG);
}

void test_register_classify(void);
void test_register_classify(void)
{
    static const tu_test tests[] = {
        {"CTC forward == brute force over all paths (T<=6, V<=4)", test_forward_vs_brute_force},
        {"probabilities of all label sequences sum to 1", test_probabilities_sum_to_one},
        {"text spelling, silence, errors, classifier argmax", test_text_and_classify},
        {"300-label text (heap path)", test_long_text},
        {"score bias from the model's metadata", test_bias_from_metadata},
    };
    tu_add_suite("classify", tests, sizeof tests / sizeof tests[0]);
}
