/* The whole-model integer runner (model/int_runner.c behind
 * svx_model_state_*): streaming frame by frame == a whole-utterance
 * computation done here layer by layer over the full sequence (each
 * convolution reads its zero-padded input sequence in place instead of a
 * history ring); reset, reset_recurrent, no allocation per frame, and the
 * output boundary (log-probabilities of the int16 scores). The C == Python
 * parity of the same runner is train/tests/test_integer_model.py. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_int_fixture.h"

enum { T = 57 };

static svx_model *load_ix(ix_model *ix)
{
    uint8_t *b = NULL;
    size_t n;
    svx_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&ix->desc, &b, &n, NULL), SVX_OK);
    CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, NULL, &m), SVX_OK);
    free(b);
    return m;
}

static void make_feats(float *x, int n_frames)
{
    for (int t = 0; t < n_frames; t++)
        for (int f = 0; f < FX_MELS; f++)
            x[t * FX_MELS + f] = (float)(2.0 * sin(0.3 * t + f) + tu_rand_normal());
}

/* One conv layer over a whole sequence: in [n_in_frames][n_in], out frames
 * at t = 0, s_t, 2 s_t... Returns the number of output frames. */
static int conv_seq(const svx_int_layer *L, const int8_t *in, int n_frames, int8_t *out)
{
    size_t fr = (size_t)L->n_in, kt = L->conv.k_t;
    int8_t *pad = calloc((n_frames + kt) * fr, 1);
    int8_t win[1024];
    int32_t acc[256];
    CU_ASSERT_FATAL(svx_int_conv_win_bytes(&L->conv) <= sizeof win &&
                    SVX_INT_CONV_ACC(&L->conv) <= 256);
    memcpy(pad + (kt - 1) * fr, in, (size_t)n_frames * fr);
    int n_out = 0;
    for (int t = 0; t < n_frames; t += L->s_t)
        svx_int_conv2d_frame(&L->conv, pad + (size_t)t * fr, out + (size_t)n_out++ * (size_t)L->n_out,
                             win, acc);
    free(pad);
    return n_out;
}

/* The whole utterance, layer after layer; returns output frames. */
static int whole_utterance(const svx_model *m, const float *x, int n_frames, int16_t *scores)
{
    const svx_int_layer *L = m->int_layers;
    static int8_t a[T * 256], b[T * 256];
    for (int t = 0; t < n_frames; t++)
        for (int f = 0; f < L[0].n_in; f++) {
            /* INTEGER.md "Model input": float32 v, then floor(v * 2^f + 1/2), sat8 */
            float v = (x[t * FX_MELS + f] - L[0].mean[f]) * L[0].inv_std[f];
            double q = floor((double)v * 32.0 + 0.5);
            a[t * L[0].n_out + f] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    int n = n_frames;
    n = conv_seq(&L[1], a, n, b);
    n = conv_seq(&L[2], b, n, a);
    int16_t h[IX_H] = {0};
    int32_t scratch[6 * IX_H + FX_V];
    for (int t = 0; t < n; t++) {
        int8_t h8[IX_H];
        svx_int_gru_step(&L[3].gru, a + (size_t)t * (size_t)L[3].n_in, h, scratch);
        svx_int_h_to_i8(h, IX_H, L[3].frac_bits, h8);
        svx_int_linear_run(&L[4].lin, h8, scores + (size_t)t * FX_V, scratch);
    }
    return n;
}

static int stream_scores(svx_model_state *st, const float *x, int n_frames, int16_t *scores)
{
    int n = 0;
    for (int t = 0; t < n_frames; t++) {
        int rc = svx_model_state_push_scores(st, x + t * FX_MELS, scores + n * FX_V);
        CU_ASSERT(rc == 0 || rc == 1);
        n += rc == 1;
    }
    return n;
}

static void test_stream_equals_whole(void)
{
    ix_model ix;
    ix_build(&ix);
    svx_model *m = load_ix(&ix);
    CU_ASSERT_FATAL(svx_model_is_integer(m));
    static float x[T * FX_MELS];
    static int16_t want[T * FX_V], got[T * FX_V];
    make_feats(x, T);
    int n_w = whole_utterance(m, x, T, want);
    svx_model_state *st;
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
    int n_s = stream_scores(st, x, T, got);
    CU_ASSERT_EQUAL(n_w, (T - 1) / 2 + 1);
    CU_ASSERT_EQUAL(n_s, n_w);
    int first = -1, spread = 0;
    for (int i = 0; i < n_w * FX_V; i++) {
        if (got[i] != want[i] && first < 0)
            first = i;
        spread |= want[i] != want[0];
    }
    if (first >= 0)
        printf("\n  first mismatch at frame %d symbol %d: %d vs %d\n", first / FX_V, first % FX_V,
               got[first], want[first]);
    CU_ASSERT_EQUAL(first, -1);
    CU_ASSERT(spread); /* the scores are not constant: the comparison has content */

    /* reset: the same again */
    svx_model_state_reset(st);
    static int16_t again[T * FX_V];
    CU_ASSERT_EQUAL(stream_scores(st, x, T, again), n_w);
    CU_ASSERT(memcmp(again, want, (size_t)n_w * FX_V * sizeof(int16_t)) == 0);

    /* reset_recurrent zeroes the GRU state: after it, a frame's scores equal
     * those of a state whose h was never set but whose conv history is the same
     * (a second state fed the same frames, then both reset_recurrent) */
    svx_model_state *st2;
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st2), SVX_OK);
    svx_model_state_reset(st);
    static int16_t s1[T * FX_V], s2[T * FX_V];
    /* st2's history: frames 10..19 with the first four replaced by -3x, so
     * its h differs for sure while the last six frames (all the convolutions
     * see) are the same (a random fixture fed the same last ten frames could
     * forget the difference: one run in many gave equal scores) */
    static float x2[10 * FX_MELS];
    memcpy(x2, x + 10 * FX_MELS, sizeof x2);
    for (int i = 0; i < 4 * FX_MELS; i++)
        x2[i] *= -3.0f;
    stream_scores(st, x, 20, s1);
    stream_scores(st2, x2, 10, s2);             /* a different h, the same last frames */
    svx_model_state_reset_recurrent(st);
    svx_model_state_reset_recurrent(st2);
    int n1 = stream_scores(st, x + 20 * FX_MELS, 8, s1);
    int n2 = stream_scores(st2, x + 20 * FX_MELS, 8, s2);
    CU_ASSERT_EQUAL(n1, n2);
    CU_ASSERT(n1 > 0 && memcmp(s1, s2, (size_t)n1 * FX_V * sizeof(int16_t)) == 0);
    /* without the reset the two states differ (h carries history) */
    svx_model_state_reset(st);
    svx_model_state_reset(st2);
    stream_scores(st, x, 20, s1);
    stream_scores(st2, x2, 10, s2);
    n1 = stream_scores(st, x + 20 * FX_MELS, 8, s1);
    n2 = stream_scores(st2, x + 20 * FX_MELS, 8, s2);
    CU_ASSERT(memcmp(s1, s2, (size_t)n1 * FX_V * sizeof(int16_t)) != 0);
    svx_model_state_destroy(st2);
    svx_model_state_destroy(st);
    svx_model_destroy(m);
}

static void test_logprobs_and_no_alloc(void)
{
    ix_model ix;
    ix_build(&ix);
    svx_model *m = load_ix(&ix);
    svx_model_state *st, *st2;
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st2), SVX_OK);
    CU_ASSERT(svx_model_state_bytes(m) > 384 && svx_model_state_bytes(m) < 8192); /* 384 B of data + the handle */
    static float x[T * FX_MELS];
    make_feats(x, T);
    uint64_t before = tu_alloc_count();
    int n = 0;
    double worst = 0.0;
    for (int t = 0; t < T; t++) {
        float lp[FX_V];
        int16_t sc[FX_V];
        int rc = svx_model_state_push(st, x + t * FX_MELS, lp);
        CU_ASSERT_EQUAL(svx_model_state_push_scores(st2, x + t * FX_MELS, sc), rc);
        if (rc != 1)
            continue;
        n++;
        /* output boundary: log-softmax of score * 2^-8, same order as the scores */
        double z = 0.0;
        for (int k = 0; k < FX_V; k++)
            z += exp((double)sc[k] / 256.0);
        for (int k = 0; k < FX_V; k++) {
            double d = fabs((double)lp[k] - ((double)sc[k] / 256.0 - log(z)));
            if (d > worst)
                worst = d;
        }
    }
    CU_ASSERT_EQUAL(tu_alloc_count(), before); /* push never allocates */
    CU_ASSERT_EQUAL(n, (T - 1) / 2 + 1);
    printf("(log-prob boundary max |err| %.2g) ", worst);
    CU_ASSERT(worst < 1e-4);
    /* bad calls */
    int16_t sc[FX_V];
    CU_ASSERT_EQUAL(svx_model_state_push_scores(NULL, x, sc), SVX_ERR_INVALID_ARG);
    x[3] = NAN;
    CU_ASSERT_EQUAL(svx_model_state_push_scores(st, x, sc), SVX_ERR_INVALID_ARG);
    svx_model_state_destroy(st);
    svx_model_state_destroy(st2);
    svx_model_destroy(m);
    /* a float model refuses push_scores */
    fx_model fx;
    static const fx_enc e[5] = {{SVX_ENC_F32, 32}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_DENSESHIFT, 3},
                                {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_F32, 32}};
    fx_build(&fx, e);
    size_t nb;
    uint8_t *b = fx_bytes(&fx, &nb, NULL);
    CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, nb, NULL, &m), SVX_OK);
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
    x[3] = 0.0f;
    CU_ASSERT_EQUAL(svx_model_state_push_scores(st, x, sc), SVX_ERR_STATE);
    svx_model_state_destroy(st);
    svx_model_destroy(m);
    free(b);
    fx_free(&fx);
}

/* Chunking must not matter through the whole stream either (front end +
 * integer model + greedy decoder): one push == many small pushes. */
static void test_stream_chunks(void)
{
    ix_model ix;
    ix_build(&ix);
    svx_model *m = load_ix(&ix);
    int rate = svx_model_frontend(m)->sample_rate_hz;
    size_t n = (size_t)rate;
    float *pcm = malloc(n * sizeof *pcm);
    for (size_t i = 0; i < n; i++)
        pcm[i] = (float)(0.3 * sin(0.02 * (double)i) * sin(0.0005 * (double)i) + 0.01 * tu_rand_normal());
    char text[2][256];
    static const size_t chunk[2] = {16000, 123};
    for (int c = 0; c < 2; c++) {
        svx_stream_config cfg;
        svx_stream_config_default(&cfg);
        cfg.mode = SVX_DECODE_GREEDY;
        svx_stream *s;
        CU_ASSERT_EQUAL_FATAL(svx_stream_create(m, &cfg, &s), SVX_OK);
        for (size_t i = 0; i < n; i += chunk[c])
            CU_ASSERT(svx_stream_push(s, pcm + i, n - i < chunk[c] ? n - i : chunk[c]) >= 0);
        svx_stream_flush(s);
        CU_ASSERT(svx_stream_get_text(s, text[c], sizeof text[c]) >= 0);
        svx_stream_destroy(s);
    }
    CU_ASSERT_STRING_EQUAL(text[0], text[1]);
    free(pcm);
    svx_model_destroy(m);
}

/* The AVX2 twins (SVX_KERNEL_AUTO on an AVX2 CPU) give the scalar kernels'
 * integers on the whole model (SIMD and scalar twins must agree). */
static void test_avx2_equals_scalar(void)
{
    ix_model ix;
    ix_build(&ix);
    uint8_t *b = NULL;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&ix.desc, &b, &n, NULL), SVX_OK);
    svx_model *m[2];
    static int16_t sc[2][T * FX_V];
    static float x[T * FX_MELS];
    make_feats(x, T);
    int got[2];
    for (int k = 0; k < 2; k++) {
        svx_model_options opt;
        svx_model_options_default(&opt);
        opt.kernel = k ? SVX_KERNEL_SCALAR : SVX_KERNEL_AUTO;
        CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, &opt, &m[k]), SVX_OK);
        svx_model_state *st;
        CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m[k], &st), SVX_OK);
        got[k] = stream_scores(st, x, T, sc[k]);
        svx_model_state_destroy(st);
    }
    int simd = m[0]->int_layers[3].gru.w_ih_vals != NULL;
    printf("(%s) ", simd ? "AVX2 twins in use" : "no AVX2 here: scalar on both sides");
    CU_ASSERT(m[1]->int_layers[3].gru.w_ih_vals == NULL);
    CU_ASSERT_EQUAL(simd, svx_int_avx2_built() && svx_cpu_has_simd() &&
                          !strcmp(svx_simd_name(), "avx2"));
    CU_ASSERT_EQUAL(got[0], got[1]);
    CU_ASSERT(memcmp(sc[0], sc[1], (size_t)got[0] * FX_V * sizeof(int16_t)) == 0);
    svx_model_destroy(m[0]);
    svx_model_destroy(m[1]);
    free(b);
}

/* The commands: info says which forms a file carries and which runs;
 * --integer forces the integer graph (refused on a float-only file);
 * bench compares the two forms of one file side by side. */
static void test_cli_integer(void)
{
    static char out[65536];
    char cmd[1024], both[512];
    fx_model fx;
    ix_model ix;
    static const fx_enc e[5] = {{SVX_ENC_F32, 32}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_DENSESHIFT, 3},
                                {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_F32, 32}};
    fx_build(&fx, e);
    ix_build_both(&ix, &fx);
    uint8_t *b = NULL;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&ix.desc, &b, &n, NULL), SVX_OK);
    tu_tmp_path(both, sizeof both, "both-forms.svxm");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(both, b, n), 0);
    free(b);
    fx_free(&fx);

    snprintf(cmd, sizeof cmd, "%s info %s", tu_bin(), both);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "forms         float-activation + integer (running: float-activation)") != NULL);
    snprintf(cmd, sizeof cmd, "%s info %s --integer", tu_bin(), both);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "(running: integer)") != NULL);
    snprintf(cmd, sizeof cmd, "%s info tests/data/models/det_int.svxm", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "forms         integer (running: integer)") != NULL);
    snprintf(cmd, sizeof cmd, "%s info tests/data/models/tiny_ds3.svxm --integer", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 1);
    CU_ASSERT(strstr(out, "carries only the float-activation graph") != NULL);
    /* transcribe and eval take --integer (a float-only model is refused) */
    snprintf(cmd, sizeof cmd, "%s transcribe --integer -m tests/data/models/tiny_ds3.svxm samples/yes.wav",
             tu_bin());
    CU_ASSERT_NOT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "carries only the float-activation graph") != NULL);
    snprintf(cmd, sizeof cmd, "%s transcribe --help", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "--integer") != NULL);
    /* bench: both forms of the file side by side */
    snprintf(cmd, sizeof cmd, "%s bench --model %s --seconds 0.2 --reps 1 --json", tu_bin(), both);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "\"integer\": {\"forms\": 3, \"running\": \"float\"") != NULL);
    CU_ASSERT(strstr(out, "\"speedup\": ") != NULL);
    snprintf(cmd, sizeof cmd, "%s bench --model %s --seconds 0.2 --reps 1", tu_bin(), both);
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT(strstr(out, "integer / float-activation speed") != NULL);
}

void test_register_int_runner(void);
void test_register_int_runner(void)
{
    static const tu_test tests[] = {
        {"integer runner: streaming == whole utterance, reset, reset_recurrent",
         test_stream_equals_whole},
        {"integer runner: log-prob boundary, no allocation per frame, bad calls",
         test_logprobs_and_no_alloc},
        {"integer model through svx_stream: chunking does not matter", test_stream_chunks},
        {"integer runner: AVX2 twins == scalar kernels on the whole model", test_avx2_equals_scalar},
        {"commands: info forms, --integer, bench side by side", test_cli_integer},
    };
    tu_add_suite("int_runner", tests, sizeof tests / sizeof tests[0]);
}
