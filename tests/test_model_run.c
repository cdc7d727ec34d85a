/* Streaming execution: the tiny fixture model run frame by frame against an
 * independent whole-utterance double-precision forward pass (written here
 * from model/ARCH.md), kernel choices against each other, reset, no
 * allocation per frame, threads sharing one model, and the golden file
 * written by train/svxmodel.py (tests/data/models/make_golden.py). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_model_fixture.h"

/* float32 streaming vs float64 reference over ~40 frames of a 6-unit GRU:
 * max |difference| of log-probabilities. */
#define LOGPROB_TOL 1e-4
/* The golden file's NumPy reference vs C (float32, any kernel). */
#define GOLDEN_TOL 2e-4

/* Whole-utterance forward of the fixture: feats [T][8] -> out [T'][29]. */
static int reference_forward(const fx_model *fx, const float *feats, int T, double *out)
{
    enum { M = FX_MELS };
    double *x0 = malloc(sizeof(double) * (size_t)T * M);
    for (int t = 0; t < T; t++)
        for (int f = 0; f < M; f++)
            x0[t * M + f] = ((double)feats[t * M + f] - fx->mean[f]) * fx->istd[f];
    /* conv1: C 1->2, K 2x3, S 1x1, P 1, F 8->8, every frame */
    double *x1 = calloc((size_t)T * 16, sizeof(double));
    for (int t = 0; t < T; t++)
        for (int o = 0; o < 2; o++)
            for (int g = 0; g < 8; g++) {
                double acc = fx->b1[o];
                for (int kt = 0; kt < 2; kt++)
                    for (int kf = 0; kf < 3; kf++) {
                        int tt = t - 1 + kt, f = g - 1 + kf;
                        if (tt >= 0 && f >= 0 && f < 8)
                            acc += fx_value(&fx->w[0], o, kt * 3 + kf) * x0[tt * M + f];
                    }
                x1[t * 16 + o * 8 + g] = acc > 0 ? acc : 0;
            }
    /* conv2: C 2->3, K 3x3, S 2x2, P 1, F 8->4, outputs at t = 0, 2, 4 ... */
    int T2 = (T - 1) / 2 + 1;
    double *x2 = calloc((size_t)T2 * 12, sizeof(double));
    for (int n = 0; n < T2; n++) {
        int t = 2 * n;
        for (int o = 0; o < 3; o++)
            for (int g = 0; g < 4; g++) {
                double acc = fx->b2[o];
                for (int c = 0; c < 2; c++)
                    for (int kt = 0; kt < 3; kt++)
                        for (int kf = 0; kf < 3; kf++) {
                            int tt = t - 2 + kt, f = 2 * g - 1 + kf;
                            if (tt >= 0 && f >= 0 && f < 8)
                                acc += fx_value(&fx->w[1], o, (c * 3 + kt) * 3 + kf) *
                                       x1[tt * 16 + c * 8 + f];
                        }
                x2[n * 12 + o * 4 + g] = acc > 0 ? acc : 0;
            }
    }
    /* GRU (PyTorch gate order r, z, n) then linear then log-softmax */
    double h[FX_H] = {0};
    for (int n = 0; n < T2; n++) {
        double gi[3 * FX_H], gh[3 * FX_H], hn[FX_H];
        for (int r = 0; r < 3 * FX_H; r++) {
            gi[r] = fx->bih[r];
            gh[r] = fx->bhh[r];
            for (int j = 0; j < 12; j++)
                gi[r] += fx_value(&fx->w[2], r, j) * x2[n * 12 + j];
            for (int j = 0; j < FX_H; j++)
                gh[r] += fx_value(&fx->w[3], r, j) * h[j];
        }
        for (int i = 0; i < FX_H; i++) {
            double rr = 1 / (1 + exp(-(gi[i] + gh[i])));
            double z = 1 / (1 + exp(-(gi[FX_H + i] + gh[FX_H + i])));
            double nn = tanh(gi[2 * FX_H + i] + rr * gh[2 * FX_H + i]);
            hn[i] = (1 - z) * nn + z * h[i];
        }
        memcpy(h, hn, sizeof h);
        double y[FX_V], mx = -1e300, s = 0;
        for (int v = 0; v < FX_V; v++) {
            y[v] = fx->bo[v];
            for (int j = 0; j < FX_H; j++)
                y[v] += fx_value(&fx->w[4], v, j) * h[j];
            if (y[v] > mx)
                mx = y[v];
        }
        for (int v = 0; v < FX_V; v++)
            s += exp(y[v] - mx);
        for (int v = 0; v < FX_V; v++)
            out[n * FX_V + v] = y[v] - mx - log(s);
    }
    free(x0);
    free(x1);
    free(x2);
    return T2;
}

/* Streams feats through a state; returns the number of outputs. */
static int stream(svx_model_state *st, const float *feats, int T, float *out)
{
    int k = 0;
    for (int t = 0; t < T; t++) {
        int rc = svx_model_state_push(st, feats + (size_t)t * FX_MELS, out + (size_t)k * FX_V);
        CU_ASSERT(rc == 0 || rc == 1);
        if (rc == 1)
            k++;
    }
    return k;
}

static float *random_feats(int T)
{
    float *f = malloc(sizeof(float) * (size_t)T * FX_MELS);
    for (int i = 0; i < T * FX_MELS; i++)
        f[i] = (float)(2.0 * tu_rand_normal());
    return f;
}

static const fx_enc k_cases[][5] = {
    {{SVX_ENC_F32, 32}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_DENSESHIFT, 3}, {SVX_ENC_I8, 8}},
    {{SVX_ENC_DENSESHIFT, 2}, {SVX_ENC_DENSESHIFT, 4}, {SVX_ENC_DENSESHIFT, 2}, {SVX_ENC_DENSESHIFT, 4}, {SVX_ENC_DENSESHIFT, 3}},
    {{SVX_ENC_DEEPSHIFT, 3}, {SVX_ENC_DEEPSHIFT, 2}, {SVX_ENC_DEEPSHIFT, 4}, {SVX_ENC_DEEPSHIFT, 3}, {SVX_ENC_F32, 32}},
};

static void test_stream_vs_reference(void)
{
    const int T = 41;
    for (size_t c = 0; c < sizeof k_cases / sizeof k_cases[0]; c++) {
        fx_model fx;
        fx_build(&fx, k_cases[c]);
        size_t n;
        uint8_t *b = fx_bytes(&fx, &n, NULL);
        float *feats = random_feats(T);
        double *ref = malloc(sizeof(double) * (size_t)T * FX_V);
        int n_ref = reference_forward(&fx, feats, T, ref);
        CU_ASSERT_EQUAL(n_ref, 21);
        for (int choice = 0; choice < 3; choice++) {
            svx_model_options opt;
            svx_model_options_default(&opt);
            opt.kernel = (svx_kernel_choice)choice;
            svx_model *m;
            CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, &opt, &m), SVX_OK);
            svx_model_state *st;
            CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
            float *out = malloc(sizeof(float) * (size_t)T * FX_V);
            int k = stream(st, feats, T, out);
            CU_ASSERT_EQUAL(k, n_ref);
            double worst = 0;
            for (int i = 0; i < k * FX_V; i++)
                worst = fmax(worst, fabs((double)out[i] - ref[i]));
            if (!(worst <= LOGPROB_TOL))
                printf("\n  case %zu kernel choice %d: max |dlogp| %.3g\n", c, choice, worst);
            CU_ASSERT(worst <= LOGPROB_TOL);
            /* the outputs are not trivially flat (the test would see a bug) */
            double spread = 0;
            for (int v = 0; v < FX_V; v++)
                spread = fmax(spread, fabs(ref[v] - ref[FX_V + v]));
            CU_ASSERT(spread > 1e-3);
            free(out);
            svx_model_state_destroy(st);
            svx_model_destroy(m);
        }
        free(ref);
        free(feats);
        free(b);
        fx_free(&fx);
    }
}

/* With only power-of-two matrices, the SIMD and scalar choices are bit-identical. */
static void test_auto_equals_scalar(void)
{
    fx_model fx;
    fx_build(&fx, k_cases[1]);
    size_t n;
    uint8_t *b = fx_bytes(&fx, &n, NULL);
    const int T = 30;
    float *feats = random_feats(T);
    float *out[2];
    for (int c = 0; c < 2; c++) {
        svx_model_options opt;
        svx_model_options_default(&opt);
        opt.kernel = c ? SVX_KERNEL_SCALAR : SVX_KERNEL_AUTO;
        svx_model *m;
        svx_model_state *st;
        CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, &opt, &m), SVX_OK);
        CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
        out[c] = malloc(sizeof(float) * (size_t)T * FX_V);
        CU_ASSERT_EQUAL(stream(st, feats, T, out[c]), 15);
        svx_model_state_destroy(st);
        svx_model_destroy(m);
    }
    CU_ASSERT_EQUAL(memcmp(out[0], out[1], sizeof(float) * 15 * FX_V), 0);
    free(out[0]);
    free(out[1]);
    free(feats);
    free(b);
    fx_free(&fx);
}

static void test_reset_and_no_alloc(void)
{
    fx_model fx;
    fx_build(&fx, k_cases[0]);
    size_t n;
    uint8_t *b = fx_bytes(&fx, &n, NULL);
    svx_model *m;
    svx_model_state *st;
    CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, NULL, &m), SVX_OK);
    uint64_t at_create = tu_alloc_count();
    CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
    CU_ASSERT(tu_alloc_count() > at_create); /* the counter does see the engine's allocations */
    const int T = 50;
    float *feats = random_feats(T);
    float *a = malloc(sizeof(float) * (size_t)T * FX_V), *c = malloc(sizeof(float) * (size_t)T * FX_V);
    uint64_t before = tu_alloc_count();
    int ka = stream(st, feats, T, a);
    svx_model_state_reset(st);
    int kc = stream(st, feats, T, c);
    uint64_t after = tu_alloc_count();
    CU_ASSERT_EQUAL(after, before); /* push and reset never allocate */
    CU_ASSERT_EQUAL(ka, kc);
    CU_ASSERT_EQUAL(memcmp(a, c, sizeof(float) * (size_t)ka * FX_V), 0);
    /* a different history gives different outputs, so the comparison above can fail */
    svx_model_state_reset(st);
    stream(st, feats + FX_MELS, T - 1, c);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, sizeof(float) * FX_V * 4), 0);
    /* bad calls */
    float bad[FX_MELS] = {0};
    bad[3] = NAN;
    CU_ASSERT_EQUAL(svx_model_state_push(st, bad, a), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_model_state_push(st, NULL, a), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_model_state_create(NULL, &st), SVX_ERR_INVALID_ARG);
    CU_ASSERT(svx_model_state_bytes(m) > 0);
    svx_model_state_destroy(NULL);
    free(a);
    free(c);
    free(feats);
    svx_model_state_destroy(st);
    svx_model_destroy(m);
    free(b);
    fx_free(&fx);
}

typedef struct {
    const svx_model *m;
    const float *feats;
    int T;
    float *out;
    int k;
} thread_job;

static void *thread_run(void *arg)
{
    thread_job *j = arg;
    svx_model_state *st;
    if (svx_model_state_create(j->m, &st) < 0)
        return NULL;
    for (int rep = 0; rep < 20; rep++) {
        svx_model_state_reset(st);
        j->k = 0;
        for (int t = 0; t < j->T; t++)
            if (svx_model_state_push(st, j->feats + (size_t)t * FX_MELS, j->out + (size_t)j->k * FX_V) == 1)
                j->k++;
    }
    svx_model_state_destroy(st);
    return NULL;
}

static void test_threads_share_model(void)
{
    fx_model fx;
    fx_build(&fx, k_cases[0]);
    size_t n;
    uint8_t *b = fx_bytes(&fx, &n, NULL);
    svx_model *m;
    CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, NULL, &m), SVX_OK);
    const int T = 60;
    float *feats = random_feats(T);
    thread_job single = {m, feats, T, malloc(sizeof(float) * (size_t)T * FX_V), 0};
    thread_run(&single);
    enum { NT = 4 };
    pthread_t th[NT];
    thread_job jobs[NT];
    for (int i = 0; i < NT; i++) {
        jobs[i] = (thread_job){m, feats, T, malloc(sizeof(float) * (size_t)T * FX_V), 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(jobs[i].k, single.k);
        CU_ASSERT_EQUAL(memcmp(jobs[i].out, single.out, sizeof(float) * (size_t)single.k * FX_V), 0);
        free(jobs[i].out);
    }
    free(single.out);
    free(feats);
    svx_model_destroy(m);
    free(b);
    fx_free(&fx);
}

/* tests/data/models/golden_*.bin: "SVXG", u32 T, u32 n_mels, u32 T_out,
 * u32 V, float feats[T][n_mels], float logprobs[T_out][V] (NumPy, float64
 * reference rounded to float32), next to the model it belongs to. */
static float *read_golden(const char *path, uint32_t hdr[4])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char magic[4];
    float *data = NULL;
    if (fread(magic, 1, 4, f) == 4 && !memcmp(magic, "SVXG", 4) && fread(hdr, 4, 4, f) == 4 &&
        hdr[0] < 100000 && hdr[1] < 1000 && hdr[2] < 100000 && hdr[3] < 1000) {
        size_t nf = (size_t)hdr[0] * hdr[1] + (size_t)hdr[2] * hdr[3];
        data = malloc(nf * sizeof(float));
        if (fread(data, sizeof(float), nf, f) != nf) {
            free(data);
            data = NULL;
        }
    }
    fclose(f);
    return data;
}

static void test_python_golden(void)
{
    static const char *const names[] = {"tiny_ds3", "tiny_mixed"};
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char mpath[256], gpath[256];
        snprintf(mpath, sizeof mpath, "tests/data/models/%s.svxm", names[i]);
        snprintf(gpath, sizeof gpath, "tests/data/models/%s.golden", names[i]);
        uint32_t h[4];
        float *g = read_golden(gpath, h);
        if (!g)
            continue;
        found++;
        for (int choice = 0; choice < 3; choice++) {
            svx_model_options opt;
            svx_model_options_default(&opt);
            opt.kernel = (svx_kernel_choice)choice;
            svx_model *m;
            int rc = svx_model_load_ex(mpath, &opt, &m);
            if (rc < 0)
                printf("\n  %s: %s\n", mpath, svx_last_error_message());
            CU_ASSERT_EQUAL_FATAL(rc, SVX_OK);
            CU_ASSERT_EQUAL_FATAL(svx_model_n_inputs(m), (int)h[1]);
            CU_ASSERT_EQUAL_FATAL(svx_model_n_symbols(m), (int)h[3]);
            svx_model_state *st;
            CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
            float *out = malloc(sizeof(float) * (size_t)h[0] * h[3]);
            int k = 0;
            for (uint32_t t = 0; t < h[0]; t++)
                if (svx_model_state_push(st, g + (size_t)t * h[1], out + (size_t)k * h[3]) == 1)
                    k++;
            CU_ASSERT_EQUAL(k, (int)h[2]);
            const float *want = g + (size_t)h[0] * h[1];
            double worst = 0;
            for (size_t j = 0; j < (size_t)h[2] * h[3] && k == (int)h[2]; j++)
                worst = fmax(worst, fabs((double)out[j] - want[j]));
            if (!(worst <= GOLDEN_TOL))
                printf("\n  %s kernel choice %d: max |dlogp| %.3g\n", names[i], choice, worst);
            CU_ASSERT(worst <= GOLDEN_TOL);
            free(out);
            svx_model_state_destroy(st);
            svx_model_destroy(m);
        }
        free(g);
    }
    if (!found)
        printf("(no golden files under tests/data/models: skipped) ");
    CU_ASSERT(found == 0 || found == 2);
}

void test_register_model_run(void);
void test_register_model_run(void)
{
    static const tu_test tests[] = {
        {"streaming == whole-utterance double reference (3 encodings x 3 kernels)",
         test_stream_vs_reference},
        {"AUTO (SIMD) == SCALAR bit-exact for power-of-two models", test_auto_equals_scalar},
        {"reset repeats, no allocation per frame, bad calls", test_reset_and_no_alloc},
        {"threads share one model", test_threads_share_model},
        {"golden outputs from train/svxmodel.py + NumPy", test_python_golden},
    };
    tu_add_suite("model_run", tests, sizeof tests / sizeof tests[0]);
}
