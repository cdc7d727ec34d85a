/* shiftvox bench: kernels side by side on the model's own layer shapes, then
 * the real-time factor of each pipeline stage, peak memory and model bytes.
 *
 * This is the one app that includes a private header (model/kernels.h): it
 * measures the kernels themselves, as whisper.cpp's bench reaches into ggml. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../model/int_model.h"
#include "../model/model.h"
#include "bench_kws.h"
#include "cli.h"
#include "common.h"
#include "shiftvox.h"

/* ---- timing ---- */

/* CPU time of this thread: what "on one core" means, and robust to other
 * processes sharing the machine (time spent descheduled is not counted). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, app_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static double rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (double)((g_rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the kernels compared ---- */

enum {
    B_F32_SCALAR, B_F32_SIMD, B_BLAS, B_I8_SIMD, B_DS_SCALAR, B_DS_EXP, B_DS_TABLE,
    B_DPS_SCALAR, B_DPS_EXP, B_DPS_TABLE, B_INT_POW2, B_INT_AVX2, B_F32_512, B_DS_512, B_COUNT
};
/* B_INT_POW2: the integer-only path (model/int_model.c, issue 7): int8 activations,
 * the DenseShift codes as shifts and adds into int32, one int8 code per weight. */
static const int k_bmap[B_COUNT] = {SVX_K_F32_REF, SVX_K_F32_SIMD, -1, SVX_K_I8_SIMD,
                                    SVX_K_DS_SCALAR, SVX_K_DS_EXP_SIMD, SVX_K_DS_TABLE_SIMD,
                                    SVX_K_DPS_SCALAR, SVX_K_DPS_EXP_SIMD, SVX_K_DPS_TABLE_SIMD, -2, -3,
                                    SVX_K_F32_AVX512, SVX_K_DS_TABLE_AVX512};

/* "openblas-sgemv" or the library's kernel name ("denseshift-table-avx2"). */
static const char *bname(int b)
{
    if (b == B_INT_POW2)
        return "int8-pow2-sum-shift";
    if (b == B_INT_AVX2)
        return "int8-pow2-avx2";
    return k_bmap[b] < 0 ? "openblas-sgemv" : svx_kernel_name((svx_kernel_id)k_bmap[b]);
}

typedef struct {
    const char *layer;
    int rows, cols, bits;
    int n_pos;                  /* input vectors per call: 1, or a conv's positions (svx_matmul) */
    int ds_layer;               /* the model runs this matrix with a DenseShift kernel */
    double calls_per_s;
    svx_wmat ds, dps, i8;       /* same shape, random codes; ds carries the f32 copy */
    float *x, *y, *scratch;
    int8_t *codes, *x8, *vals; /* vals: +-2^p as int8, for the AVX2 twin */         /* integer path: rule-3 codes of ds, int8 input */
    int32_t *acc;
    svx_int_grouped grouped;    /* the same codes, grouped (sum then shift) */
    double ns[B_COUNT];         /* median ns per matvec, <0 if not run */
    size_t bytes[B_COUNT];
} shape_bench;

static void *alloc32f(size_t n)
{
    size_t b = (n * sizeof(float) + 31u) & ~(size_t)31u;
    void *p = aligned_alloc(32, b ? b : 32);
    if (p)
        memset(p, 0, b ? b : 32);
    return p;
}

static int setup_shape(shape_bench *s)
{
    size_t n = (size_t)s->rows * (size_t)s->cols;
    uint8_t *c = malloc(n), *d = malloc(n);
    int8_t *q = malloc(n);
    float *alpha = malloc((size_t)s->rows * sizeof(float));
    if (!c || !d || !q || !alpha)
        return -1;
    for (size_t i = 0; i < n; i++) {
        c[i] = (uint8_t)(rnd() * (double)(1 << s->bits));
        d[i] = (uint8_t)(rnd() * (double)(1 << s->bits));
        q[i] = (int8_t)(rnd() * 255.0 - 127.0);
    }
    for (int r = 0; r < s->rows; r++)
        alpha[r] = (float)(0.01 + 0.1 * rnd());
    if (s->n_pos < 1)
        s->n_pos = 1;
    const size_t np = (size_t)s->n_pos;
    s->codes = malloc(n);
    s->vals = malloc(n);
    s->x8 = malloc(np * (size_t)s->cols);
    s->acc = malloc((size_t)s->rows * sizeof(int32_t));
    if (!s->codes || !s->vals || !s->x8 || !s->acc)
        return -1;
    for (size_t i = 0; i < n; i++) { /* DenseShift code -> +-(p + 1) (model/INTEGER.md rule 3) */
        int p = c[i] & ((1 << (s->bits - 1)) - 1);
        s->codes[i] = (int8_t)(((c[i] >> (s->bits - 1)) & 1) ? -(p + 1) : p + 1);
        s->vals[i] = (int8_t)(((c[i] >> (s->bits - 1)) & 1) ? -(1 << p) : (1 << p));
    }
    if (svx_int_grouped_init(&s->grouped, s->codes, (size_t)s->rows, (size_t)s->cols) < 0)
        return -1;
    int rc = svx_wmat_init(&s->ds, SVX_ENC_DENSESHIFT, s->bits, s->rows, s->cols, alpha, c);
    if (rc >= 0)
        rc = svx_wmat_init(&s->dps, SVX_ENC_DEEPSHIFT, s->bits, s->rows, s->cols, alpha, d);
    if (rc >= 0)
        rc = svx_wmat_init(&s->i8, SVX_ENC_I8, 8, s->rows, s->cols, alpha, q);
    free(c);
    free(d);
    free(q);
    free(alpha);
    if (rc < 0)
        return rc;
    s->x = alloc32f(np * (size_t)s->cols);
    s->y = alloc32f(np * (size_t)s->rows + 8u);
    s->scratch = alloc32f(svx_matmul_scratch_floats(&s->ds));
    if (!s->x || !s->y || !s->scratch)
        return -1;
    /* ReLU-like activations would favour kernels that skip zeros; use dense ones. */
    for (size_t j = 0; j < np * (size_t)s->cols; j++) {
        s->x[j] = (float)(rnd() * 2.0 - 1.0);
        s->x8[j] = (int8_t)lrint(127.0 * s->x[j]);
    }
    for (int k = 0; k < B_COUNT; k++)
        s->ns[k] = -1.0;
    return 0;
}

static void free_shape(shape_bench *s)
{
    svx_wmat_free(&s->ds);
    svx_wmat_free(&s->dps);
    svx_wmat_free(&s->i8);
    free(s->x);
    free(s->y);
    free(s->scratch);
    free(s->codes);
    free(s->vals);
    free(s->x8);
    free(s->acc);
    svx_int_grouped_free(&s->grouped);
}

/* Which matrix and svx kernel a bench kernel uses (-1: not an svx kernel). */
static svx_wmat *bench_target(shape_bench *s, int b, svx_kernel_id *k)
{
    *k = (svx_kernel_id)k_bmap[b];
    if (b == B_I8_SIMD)
        return &s->i8;
    if (b == B_F32_512 || b == B_DS_512)
        return &s->ds;
    if (b >= B_DPS_SCALAR)
        return &s->dps;
    return &s->ds;
}

static void run_kernel(shape_bench *s, int b, long n_calls)
{
    svx_kernel_id k;
    svx_wmat *w = bench_target(s, b, &k);
    if (b == B_INT_AVX2) { /* no multi-position path: one matvec per position */
        for (long i = 0; i < n_calls; i++)
            for (int p = 0; p < s->n_pos; p++)
                svx_int_pow2_values_matvec_i8_avx2(s->vals, (size_t)s->rows, (size_t)s->cols,
                                                   s->x8 + (size_t)p * (size_t)s->cols, s->acc);
        return;
    }
    if (b == B_INT_POW2) {
        for (long i = 0; i < n_calls; i++)
            for (int p = 0; p < s->n_pos; p++)
                svx_int_grouped_matvec_i8(&s->grouped, s->x8 + (size_t)p * (size_t)s->cols, s->acc);
        return;
    }
    if (b == B_BLAS) {
        for (long i = 0; i < n_calls; i++) {
            if (s->n_pos == 1)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, s->rows, s->cols, 1.0f, s->ds.f32, s->cols,
                            s->x, 1, 0.0f, s->y, 1);
            else /* positions batched: Y[pos][rows] = X[pos][cols] W^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->n_pos, s->rows, s->cols, 1.0f,
                            s->x, s->cols, s->ds.f32, s->cols, 0.0f, s->y, s->rows);
        }
        return;
    }
    if (s->n_pos > 1) {
        for (long i = 0; i < n_calls; i++)
            svx_matmul(w, k, s->x, s->n_pos, s->y, s->scratch);
        return;
    }
    for (long i = 0; i < n_calls; i++)
        svx_matvec(w, k, s->x, s->y, s->scratch);
}

static int kernel_available(shape_bench *s, int b)
{
    svx_kernel_id k;
    svx_wmat *w = bench_target(s, b, &k);
    if (b == B_BLAS)
        return svx_wmat_prepare(&s->ds, SVX_K_F32_REF) >= 0;
    if (b == B_INT_POW2)
        return s->codes != NULL;
    if (b == B_INT_AVX2) /* needs a 3-bit (|p| <= 6) model, an AVX2 build and CPU */
        return s->vals != NULL && s->bits <= 4 && svx_cpu_has_simd() &&
               svx_int_pow2_values_matvec_i8_avx2(s->vals, 0, 0, s->x8, s->acc) == 0;
    return svx_kernel_supported(w, k) && svx_wmat_prepare(w, k) >= 0;
}

/* Interleaved measurement: each repetition times every kernel on every
 * shape once, for about slice_s seconds each; the median is kept. */
static void measure_kernels(shape_bench *sh, int n_shapes, double seconds, int reps)
{
    double slice = seconds / (double)(reps * n_shapes * B_COUNT);
    double *samples = malloc(sizeof(double) * (size_t)reps * (size_t)n_shapes * B_COUNT);
    long calls[64][B_COUNT];
    for (int i = 0; i < n_shapes; i++)
        for (int b = 0; b < B_COUNT; b++) {
            calls[i][b] = 0;
            if (!kernel_available(&sh[i], b))
                continue;
            sh[i].bytes[b] = b == B_BLAS ? (size_t)sh[i].rows * (size_t)sh[i].cols * 4u : 0;
            if (b == B_INT_POW2)
                sh[i].bytes[b] = (size_t)sh[i].rows * (size_t)sh[i].cols * 2u + /* uint16 index */
                                 ((size_t)sh[i].rows * SVX_INT_N_GROUPS + 1u) * 4u;
            else if (b == B_INT_AVX2)
                sh[i].bytes[b] = (size_t)sh[i].rows * (size_t)sh[i].cols; /* one int8 each */
            else if (b != B_BLAS) {
                svx_kernel_id k;
                svx_wmat *w = bench_target(&sh[i], b, &k);
                sh[i].bytes[b] = svx_kernel_weight_bytes(w, k);
            }
            /* calibrate: calls that take about one slice */
            long n = 1;
            for (;;) {
                double t0 = now_s();
                run_kernel(&sh[i], b, n);
                double dt = now_s() - t0;
                if (dt > slice * 0.5 || n > (1L << 24)) {
                    calls[i][b] = (long)fmax(1.0, (double)n * slice / fmax(dt, 1e-9));
                    break;
                }
                n *= 4;
            }
        }
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n_shapes; i++)
            for (int b = 0; b < B_COUNT; b++) {
                if (!calls[i][b])
                    continue;
                double t0 = now_s();
                run_kernel(&sh[i], b, calls[i][b]);
                double dt = now_s() - t0;
                samples[((size_t)i * B_COUNT + (size_t)b) * (size_t)reps + (size_t)r] =
                    1e9 * dt / (double)calls[i][b];
            }
    for (int i = 0; i < n_shapes; i++)
        for (int b = 0; b < B_COUNT; b++)
            if (calls[i][b])
                sh[i].ns[b] = median(samples + ((size_t)i * B_COUNT + (size_t)b) * (size_t)reps, reps);
    free(samples);
}

/* ---- default model: the planned ~150k-weight CRNN, random weights ---- */

static int default_model_bytes(uint8_t **out, size_t *n)
{
    enum { M = 40, C1 = 16, F1 = 20, C2 = 16, F2 = 10, H = 160, V = 29 };
    static float mean[M], istd[M], b1[C1], b2[C2], bih[3 * H], bhh[3 * H], bo[V];
    static float w1[C1 * 15], a2[C2], aih[3 * H], ahh[3 * H], ao[V];
    static uint8_t c2[C2 * C1 * 9], cih[3 * H * C2 * F2], chh[3 * H * H];
    static int8_t qo[V * H];
    for (int i = 0; i < M; i++) {
        mean[i] = (float)(rnd() - 0.5);
        istd[i] = 1.0f;
    }
    for (size_t i = 0; i < sizeof w1 / sizeof w1[0]; i++)
        w1[i] = (float)(rnd() - 0.5);
    for (size_t i = 0; i < sizeof c2; i++)
        c2[i] = (uint8_t)(rnd() * 8);
    for (size_t i = 0; i < sizeof cih; i++)
        cih[i] = (uint8_t)(rnd() * 8);
    for (size_t i = 0; i < sizeof chh; i++)
        chh[i] = (uint8_t)(rnd() * 8);
    for (size_t i = 0; i < sizeof qo; i++)
        qo[i] = (int8_t)(rnd() * 255 - 127);
    for (int i = 0; i < C2; i++)
        a2[i] = 0.02f;
    for (int i = 0; i < 3 * H; i++) {
        aih[i] = 0.01f;
        ahh[i] = 0.01f;
        bih[i] = bhh[i] = 0.0f;
    }
    for (int i = 0; i < V; i++)
        ao[i] = 0.01f;
    svx_layer_desc L[5] = {
        {SVX_LAYER_NORM, "norm", 1, {M}, 2,
         {{0, 0, 32, M, 1, NULL, mean}, {0, 0, 32, M, 1, NULL, istd}}},
        {SVX_LAYER_CONV2D, "conv1", 10, {1, M, C1, F1, 3, 5, 1, 2, 2, 1}, 2,
         {{1, SVX_ENC_F32, 32, C1, 15, NULL, w1}, {0, 0, 32, C1, 1, NULL, b1}}},
        {SVX_LAYER_CONV2D, "conv2", 10, {C1, F1, C2, F2, 3, 3, 2, 2, 1, 1}, 2,
         {{1, SVX_ENC_DENSESHIFT, 3, C2, C1 * 9, a2, c2}, {0, 0, 32, C2, 1, NULL, b2}}},
        {SVX_LAYER_GRU, "gru", 2, {C2 * F2, H}, 4,
         {{1, SVX_ENC_DENSESHIFT, 3, 3 * H, C2 * F2, aih, cih},
          {1, SVX_ENC_DENSESHIFT, 3, 3 * H, H, ahh, chh},
          {0, 0, 32, 3 * H, 1, NULL, bih}, {0, 0, 32, 3 * H, 1, NULL, bhh}}},
        {SVX_LAYER_LINEAR, "out", 3, {H, V, 0}, 2,
         {{1, SVX_ENC_I8, 8, V, H, ao, qo}, {0, 0, 32, V, 1, NULL, bo}}},
    };
    svx_layer_desc all[6];
    memcpy(all, L, sizeof L);
    all[5] = (svx_layer_desc){SVX_LAYER_LOGSOFTMAX, "logsoftmax", 1, {V}, 0, {{0}}};
    svx_model_desc d;
    memset(&d, 0, sizeof d);
    svx_frontend_params_default(&d.fe);
    d.n_symbols = V;
    d.symbols = svx_default_symbols;
    d.meta = "{\"note\": \"random weights, shiftvox bench default architecture\"}";
    d.n_layers = 6;
    d.layers = all;
    return svx_model_serialize(&d, out, n, NULL);
}

/* ---- pipeline stages: each returns seconds of compute for audio_s of audio ---- */

typedef struct {
    const svx_model *model;
    double audio_s;
    float *pcm;
    size_t n_samples;
    float *feats;
    int n_frames;
} pipe_ctx;

static double stage_frontend(pipe_ctx *c, int choice)
{
    (void)choice;
    svx_frontend *fe;
    if (svx_frontend_create(svx_model_frontend(c->model), &fe) < 0)
        return -1.0;
    int n_mels = svx_model_n_inputs(c->model);
    double t0 = now_s();
    size_t done = 0;
    int frames = 0;
    while (done < c->n_samples) {
        size_t used = 0;
        int k = svx_frontend_process(fe, c->pcm + done, c->n_samples - done, &used,
                                     c->feats + (size_t)frames * (size_t)n_mels, c->n_frames - frames);
        if (k < 0 || (used == 0 && k == 0))
            break;
        frames += k;
        done += used;
    }
    double dt = now_s() - t0;
    svx_frontend_destroy(fe);
    c->n_frames = frames;
    return dt;
}

static double stage_model(pipe_ctx *c, int choice)
{
    double best = -1.0;
    svx_model_options opt;
    svx_model_options_default(&opt);
    opt.kernel = (svx_kernel_choice)choice;
    (void)opt;
    svx_model_state *st;
    if (svx_model_state_create(c->model, &st) < 0)
        return -1.0;
    float lp[SVX_MAX_SYMBOLS];
    for (int rep = 0; rep < 3; rep++) {
        svx_model_state_reset(st);
        double t0 = now_s();
        for (int i = 0; i < c->n_frames; i++)
            svx_model_state_push(st, c->feats + (size_t)i * (size_t)svx_model_n_inputs(c->model), lp);
        double dt = now_s() - t0;
        if (best < 0 || dt < best)
            best = dt;
    }
    svx_model_state_destroy(st);
    return best;
}

/* The whole stream (front end + model + decoder) with one decode mode;
 * the decoder's share is this minus the front end and model stages. */
static double stage_stream(pipe_ctx *c, int mode)
{
    svx_stream_config cfg;
    svx_stream_config_default(&cfg);
    cfg.mode = (svx_decode_mode)mode;
    svx_keyword kw[3] = {{"yes", 0.5f}, {"no", 0.5f}, {"stop", 0.5f}};
    if (mode == SVX_DECODE_KWS) {
        cfg.keywords = kw;
        cfg.n_keywords = 3;
    }
    svx_stream *st;
    if (svx_stream_create(c->model, &cfg, &st) < 0)
        return -1.0;
    double best = -1.0;
    for (int rep = 0; rep < 2; rep++) {
        svx_stream_reset(st);
        double t0 = now_s();
        for (size_t i = 0; i < c->n_samples; i += 1600) {
            size_t k = c->n_samples - i < 1600 ? c->n_samples - i : 1600;
            svx_stream_push(st, c->pcm + i, k);
            svx_word w[16];
            while (svx_stream_take_words(st, w, 16) > 0) {
            }
            svx_kws_event ev;
            while (svx_stream_next_event(st, &ev) > 0) {
            }
        }
        svx_stream_flush(st);
        double dt = now_s() - t0;
        if (best < 0 || dt < best)
            best = dt;
    }
    svx_stream_destroy(st);
    return best;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: shiftvox bench [--model FILE] [--seconds S] [--reps N] [--shape RxC] [--json]\n"
               "  Kernel throughput on the model's layer shapes (default: a random ~150k-weight\n"
               "  DenseShift-3 CRNN), ratios, real-time factor per stage, peak memory.\n"
               "  --seconds S   total time for the kernel measurements (default 6)\n"
               "  --reps N      interleaved repetitions, the median is kept (default 7)\n"
               "  --shape RxC   also measure a RxC matrix (repeatable; not in the totals)\n"
               "  --json        one JSON object instead of the tables\n"
               "  --integer     the pipeline rows run the model's integer-only graph; with a\n"
               "                file that carries both forms, the integer section compares them\n"
               "  --save-default FILE  write the default random model to FILE and exit\n"
               "  --samples DIR keyword latency on DIR/samples.tsv's recordings (default samples)\n");
}

int cmd_bench(int argc, char **argv)
{
    const char *model_path = NULL, *samples_dir = "samples";
    int extra_rows[8], extra_cols[8], n_extra = 0;
    double seconds = 6.0;
    int reps = 7, json = 0, force_integer = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_path = argv[++i];
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples_dir = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--integer"))
            force_integer = 1;
        else if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            int r, c;
            if (n_extra >= 8 || sscanf(argv[++i], "%dx%d", &r, &c) != 2 || r < 1 || c < 1 ||
                r > 65536 || c > 65536) {
                fprintf(stderr, "shiftvox bench: --shape ROWSxCOLS (at most 8, each 1..65536)\n");
                return 2;
            }
            extra_rows[n_extra] = r;
            extra_cols[n_extra++] = c;
        }
        else if (!strcmp(argv[i], "--save-default") && i + 1 < argc) {
            /* writes the default random model (for profiling and tests) and exits */
            uint8_t *b;
            size_t nb;
            FILE *f = fopen(argv[++i], "wb");
            if (!f || default_model_bytes(&b, &nb) < 0 || fwrite(b, 1, nb, f) != nb) {
                fprintf(stderr, "shiftvox bench: cannot write %s\n", argv[i]);
                if (f)
                    fclose(f);
                return 1;
            }
            free(b);
            return fclose(f) == 0 ? 0 : 1;
        }
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "shiftvox bench: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!(seconds > 0.0) || reps < 1 || reps > 101) {
        fprintf(stderr, "shiftvox bench: --seconds must be > 0 and --reps in 1..101\n");
        return 2;
    }
    openblas_set_num_threads(1);

    /* the model: given, or the default architecture with random weights */
    svx_model *model[3] = {NULL, NULL, NULL};
    uint8_t *buf = NULL;
    size_t n_buf = 0;
    for (int choice = 0; choice < 3; choice++) {
        svx_model_options opt;
        svx_model_options_default(&opt);
        opt.kernel = (svx_kernel_choice)choice;
        opt.force_integer = force_integer;
        int rc;
        if (model_path) {
            rc = svx_model_load_ex(model_path, &opt, &model[choice]);
        } else {
            if (!buf && default_model_bytes(&buf, &n_buf) < 0) {
                fprintf(stderr, "shiftvox bench: %s\n", svx_last_error_message());
                return 1;
            }
            rc = svx_model_load_memory(buf, n_buf, &opt, &model[choice]);
        }
        if (rc < 0) {
            fprintf(stderr, "shiftvox bench: %s\n", svx_last_error_message());
            for (int k = 0; k < choice; k++)
                svx_model_destroy(model[k]);
            free(buf);
            return 1;
        }
    }
    size_t file_bytes = model[0]->file_bytes;
    free(buf);
    /* integer section: the same file loaded once per form (both when it has both) */
    svx_model *form[2] = {NULL, NULL}; /* float-activation, integer */
    if (model_path)
        for (int k = 0; k < 2; k++)
            if (svx_model_forms(model[0]) & (k ? SVX_MODEL_FORM_INTEGER : SVX_MODEL_FORM_FLOAT)) {
                svx_model_options opt;
                svx_model_options_default(&opt);
                opt.force_integer = k;
                if (svx_model_load_ex(model_path, &opt, &form[k]) < 0 ||
                    svx_model_is_integer(form[k]) != k) {
                    svx_model_destroy(form[k]);
                    form[k] = NULL;
                }
            }

    /* kernels on each weight matrix's shape */
    shape_bench sh[64];
    int n_sh = 0, n_model_sh = 0;
    const svx_wmat *w;
    const char *lname;
    double cps;
    size_t n_weights = 0;
    while (n_sh < 64 && (w = svx_model_matrix(model[0], n_sh, &lname, &cps)) != NULL) {
        shape_bench *s = &sh[n_sh];
        memset(s, 0, sizeof *s);
        s->layer = lname;
        s->rows = w->rows;
        s->cols = w->cols;
        s->bits = (w->enc == SVX_ENC_DENSESHIFT || w->enc == SVX_ENC_DEEPSHIFT) ? w->bits : 3;
        s->calls_per_s = cps;
        s->ds_layer = w->enc == SVX_ENC_DENSESHIFT;
        n_weights += (size_t)w->rows * (size_t)w->cols;
        if (setup_shape(s) < 0) {
            fprintf(stderr, "shiftvox bench: out of memory\n");
            return 1;
        }
        n_sh++;
        n_model_sh++;
    }
    /* each convolution again with all its frequency positions per call
     * (svx_matmul, what the engine runs): the "positions batched" totals */
    for (int i = 0; i < n_model_sh && n_sh < 64; i++) {
        int f_out = 1;
        for (int li = 0; li < model[0]->n_layers; li++)
            if (model[0]->layers[li].name == sh[i].layer && model[0]->layers[li].type == SVX_LAYER_CONV2D)
                f_out = model[0]->layers[li].f_out;
        if (f_out < 2)
            continue;
        shape_bench *s = &sh[n_sh];
        memset(s, 0, sizeof *s);
        s->layer = sh[i].layer;
        s->rows = sh[i].rows;
        s->cols = sh[i].cols;
        s->bits = sh[i].bits;
        s->n_pos = f_out;
        s->ds_layer = sh[i].ds_layer;
        s->calls_per_s = sh[i].calls_per_s / f_out;
        if (setup_shape(s) < 0) {
            fprintf(stderr, "shiftvox bench: out of memory\n");
            return 1;
        }
        n_sh++;
    }
    /* extra shapes (--shape): measured, not part of the per-audio totals */
    for (int e = 0; e < n_extra && n_sh < 64; e++) {
        shape_bench *s = &sh[n_sh];
        memset(s, 0, sizeof *s);
        s->layer = "extra";
        s->rows = extra_rows[e];
        s->cols = extra_cols[e];
        s->bits = 3;
        s->calls_per_s = 0.0;
        if (setup_shape(s) < 0) {
            fprintf(stderr, "shiftvox bench: out of memory\n");
            return 1;
        }
        n_sh++;
    }
    measure_kernels(sh, n_sh, seconds, reps);

    /* per second of audio: all matrices at their call rates, four ways:
     * one input vector per call (every conv position a matvec, as the engine
     * runs them; the earlier headline) or conv positions batched (svx_matmul),
     * each over all layers or over the matrices the model runs with a
     * DenseShift kernel (the others only show what DenseShift would do there) */
    enum { TOT_MATVEC, TOT_MATVEC_DS, TOT_BATCHED, TOT_DS_LAYERS, TOT_COUNT };
    static const char *const tot_name[TOT_COUNT] = {"one vector per call, all layers",
                                                    "one vector per call, DenseShift layers",
                                                    "conv positions batched, all layers",
                                                    "conv positions batched, DenseShift layers"};
    double tot_us[TOT_COUNT][B_COUNT];
    int tot_ok[TOT_COUNT][B_COUNT];
    size_t bytes_tot[B_COUNT];
    for (int t = 0; t < TOT_COUNT; t++)
        for (int b = 0; b < B_COUNT; b++) {
            tot_us[t][b] = 0.0;
            tot_ok[t][b] = 1;
            if (t == 0)
                bytes_tot[b] = 0;
            for (int i = 0; i < n_sh; i++) {
                if (sh[i].calls_per_s <= 0.0)
                    continue; /* --shape extras */
                int batched_twin = 0; /* a single-position conv entry with a batched entry */
                for (int e = n_model_sh; e < n_sh; e++)
                    if (i < n_model_sh && sh[e].n_pos > 1 && sh[e].layer == sh[i].layer &&
                        sh[e].rows == sh[i].rows && sh[e].cols == sh[i].cols)
                        batched_twin = 1;
                if ((t == TOT_MATVEC || t == TOT_MATVEC_DS) ? sh[i].n_pos > 1 : batched_twin)
                    continue;
                if ((t == TOT_DS_LAYERS || t == TOT_MATVEC_DS) && !sh[i].ds_layer)
                    continue;
                if (sh[i].ns[b] < 0) {
                    tot_ok[t][b] = 0;
                    continue;
                }
                tot_us[t][b] += 1e-3 * sh[i].ns[b] * sh[i].calls_per_s;
                if (t == 0)
                    bytes_tot[b] += sh[i].bytes[b];
            }
        }
    double *us_per_s = tot_us[TOT_MATVEC];
    int *all_ok = tot_ok[TOT_MATVEC];
#define TRATIO(t, a, b)                                                                           \
    ((tot_ok[t][a] && tot_ok[t][b] && tot_us[t][a] > 0) ? tot_us[t][b] / tot_us[t][a] : NAN)
#define RATIO(a, b) TRATIO(TOT_MATVEC, a, b)
    int ds_best = (all_ok[B_DS_TABLE] && us_per_s[B_DS_TABLE] <= us_per_s[B_DS_EXP]) ? B_DS_TABLE
                  : all_ok[B_DS_EXP] ? B_DS_EXP : B_DS_SCALAR;
    int f32_best = all_ok[B_F32_SIMD] ? B_F32_SIMD : B_F32_SCALAR;

    /* pipeline: 10 s of noise-like audio through each stage */
    pipe_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.model = model[0];
    pc.audio_s = 10.0;
    pc.n_samples = (size_t)(pc.audio_s * svx_model_frontend(model[0])->sample_rate_hz);
    pc.pcm = malloc(pc.n_samples * sizeof(float));
    pc.n_frames = (int)svx_frontend_n_frames(svx_model_frontend(model[0]), pc.n_samples);
    pc.feats = malloc((size_t)pc.n_frames * (size_t)svx_model_n_inputs(model[0]) * sizeof(float) + 4);
    for (size_t i = 0; i < pc.n_samples; i++)
        pc.pcm[i] = (float)(0.1 * (rnd() - 0.5) + 0.2 * sin(0.05 * (double)i));
    double t_fe = stage_frontend(&pc, 0);
    double t_model[3];
    for (int c = 0; c < 3; c++) {
        pc.model = model[c];
        t_model[c] = stage_model(&pc, c);
    }
    /* float-activation vs integer model, interleaved, best of each */
    double t_form[2] = {-1.0, -1.0};
    for (int rep = 0; rep < 3; rep++)
        for (int k = 0; k < 2; k++)
            if (form[k]) {
                pc.model = form[k];
                double t = stage_model(&pc, 0);
                if (t_form[k] < 0 || (t >= 0 && t < t_form[k]))
                    t_form[k] = t;
            }
    pc.model = model[0];
    static const char *const mode_name[3] = {"greedy", "beam", "kws"};
    double t_stream[3];
    for (int md = 0; md < 3; md++)
        t_stream[md] = stage_stream(&pc, md);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak_mib = (double)ru.ru_maxrss / 1024.0;
    bench_kws_stats kws; /* after the peak: the recordings are not part of a stream's memory */
    bench_kws_measure(model[0], samples_dir, &kws);
    static const char *const choice_name[3] = {"auto", "scalar", "float-ref"};

    if (json) {
        printf("{\"model\": \"%s\", \"simd\": \"%s\", \"weights\": %zu, \"model_file_bytes\": %zu, "
               "\"model_tensor_bytes\": %zu, \"state_bytes\": %zu, \"reps\": %d, \"shapes\": [",
               model_path ? model_path : "default-random", svx_cpu_has_simd() ? svx_simd_name() : "none",
               n_weights, file_bytes,
               svx_model_weight_bytes(model[0]), svx_model_state_bytes(model[0]), reps);
        for (int i = 0; i < n_sh; i++) {
            printf("%s{\"layer\": \"%s\", \"rows\": %d, \"cols\": %d, \"positions\": %d, "
                   "\"bits\": %d, \"calls_per_s\": %.1f, \"gmacs\": {", i ? ", " : "", sh[i].layer,
                   sh[i].rows, sh[i].cols, sh[i].n_pos, sh[i].bits, sh[i].calls_per_s);
            int first = 1;
            for (int b = 0; b < B_COUNT; b++)
                if (sh[i].ns[b] >= 0) {
                    printf("%s\"%s\": %.3f", first ? "" : ", ", bname(b),
                           (double)sh[i].rows * sh[i].cols * sh[i].n_pos / sh[i].ns[b]);
                    first = 0;
                }
            printf("}}");
        }
        printf("], \"us_per_audio_s\": {");
        int first = 1;
        for (int b = 0; b < B_COUNT; b++)
            if (all_ok[b]) {
                printf("%s\"%s\": %.2f", first ? "" : ", ", bname(b), us_per_s[b]);
                first = 0;
            }
        printf("}, \"weight_bytes\": {");
        first = 1;
        for (int b = 0; b < B_COUNT; b++)
            if (all_ok[b]) {
                printf("%s\"%s\": %zu", first ? "" : ", ", bname(b), bytes_tot[b]);
                first = 0;
            }
        printf("}, \"denseshift_kernel\": \"%s\", \"ratios\": {", bname(ds_best));
        const double ratios[12] = {RATIO(ds_best, B_DPS_EXP), RATIO(ds_best, B_DPS_TABLE),
                                   RATIO(B_DS_SCALAR, B_DPS_SCALAR), RATIO(ds_best, f32_best),
                                   RATIO(ds_best, B_BLAS), RATIO(B_DS_512, B_F32_512),
                                   TRATIO(TOT_MATVEC_DS, ds_best, f32_best),
                                   TRATIO(TOT_MATVEC_DS, B_DS_512, B_F32_512),
                                   TRATIO(TOT_BATCHED, ds_best, f32_best),
                                   TRATIO(TOT_DS_LAYERS, ds_best, f32_best),
                                   TRATIO(TOT_BATCHED, B_DS_512, B_F32_512),
                                   TRATIO(TOT_DS_LAYERS, B_DS_512, B_F32_512)};
        static const char *const rnames[12] = {"denseshift_over_deepshift_exp",
                                               "denseshift_over_deepshift_table",
                                               "denseshift_over_deepshift_scalar",
                                               "denseshift_over_f32_simd", "denseshift_over_openblas",
                                               "denseshift_avx512_over_f32_avx512",
                                               "denseshift_over_f32_simd_ds_layers",
                                               "denseshift_avx512_over_f32_avx512_ds_layers",
                                               "denseshift_over_f32_simd_batched",
                                               "denseshift_over_f32_simd_batched_ds_layers",
                                               "denseshift_avx512_over_f32_avx512_batched",
                                               "denseshift_avx512_over_f32_avx512_batched_ds_layers"};
        for (int k = 0; k < 12; k++) {
            if (isnan(ratios[k]))
                printf("%s\"%s\": null", k ? ", " : "", rnames[k]); /* kernel not on this CPU */
            else
                printf("%s\"%s\": %.3f", k ? ", " : "", rnames[k], ratios[k]);
        }
        printf("}, ");
        printf("\"rtf\": {\"frontend\": %.6f", t_fe / pc.audio_s);
        for (int c = 0; c < 3; c++)
            printf(", \"model_%s\": %.6f", choice_name[c], t_model[c] / pc.audio_s);
        for (int md = 0; md < 3; md++) {
            if (t_stream[md] < 0)
                printf(", \"stream_%s\": null", mode_name[md]);
            else
                printf(", \"stream_%s\": %.6f", mode_name[md], t_stream[md] / pc.audio_s);
        }
        printf("}, \"integer\": {\"forms\": %d, \"running\": \"%s\"", svx_model_forms(model[0]),
               svx_model_is_integer(model[0]) ? "integer" : "float");
        for (int k = 0; k < 2; k++) {
            if (!form[k]) {
                printf(", \"%s\": null", k ? "integer" : "float");
                continue;
            }
            printf(", \"%s\": {\"model_rtf\": %.6f, \"weight_bytes\": %zu, \"state_bytes\": %zu}",
                   k ? "integer" : "float", t_form[k] / pc.audio_s, svx_model_weight_bytes(form[k]),
                   svx_model_state_bytes(form[k]));
        }
        if (form[0] && form[1] && t_form[1] > 0)
            printf(", \"speedup\": %.3f", t_form[0] / t_form[1]);
        printf("}, \"peak_rss_mib\": %.1f, \"kws_latency\": ", peak_mib);
        bench_kws_print(stdout, &kws, 1);
        printf("}\n");
    } else {
        printf("shiftvox bench: %s, %zu weights, 1 thread, SIMD %s\n",
               model_path ? model_path : "default architecture with random weights", n_weights,
               svx_cpu_has_simd() ? svx_simd_name() : "none (scalar twins only)");
        printf("\nkernel throughput, GMAC/s (median of %d interleaved runs), on the model's shapes:\n",
               reps);
        printf("%-10s %-12s %4s %7s", "layer", "shape", "bits", "calls/s");
        static const int show[] = {B_F32_SCALAR, B_F32_SIMD, B_BLAS, B_I8_SIMD, B_DS_SCALAR, B_DS_EXP,
                                   B_DS_TABLE, B_DPS_SCALAR, B_DPS_EXP, B_DPS_TABLE, B_INT_POW2,
                                   B_INT_AVX2, B_F32_512, B_DS_512};
        static const char *const shortn[] = {"f32", "f32-simd", "openblas", "i8-simd", "ds-scal",
                                             "ds-exp", "ds-table", "dps-scal", "dps-exp", "dps-table",
                                             "int-pow2", "int-avx2", "f32-512", "ds-t512"};
        for (size_t b = 0; b < sizeof show / sizeof show[0]; b++)
            printf(" %9s", shortn[b]);
        printf("\n");
        for (int i = 0; i < n_sh; i++) {
            char shape[32];
            if (sh[i].n_pos > 1)
                snprintf(shape, sizeof shape, "%dx%dx%dp", sh[i].rows, sh[i].cols, sh[i].n_pos);
            else
                snprintf(shape, sizeof shape, "%dx%d", sh[i].rows, sh[i].cols);
            printf("%-10s %-12s %4d %7.0f", sh[i].layer, shape, sh[i].bits, sh[i].calls_per_s);
            for (size_t b = 0; b < sizeof show / sizeof show[0]; b++) {
                if (sh[i].ns[show[b]] < 0)
                    printf(" %9s", "-");
                else
                    printf(" %9.2f", (double)sh[i].rows * sh[i].cols * sh[i].n_pos / sh[i].ns[show[b]]);
            }
            printf("\n");
        }
        printf("\nall layers at their call rates, per second of audio (us; RxCxNp: N conv positions\n"
               "per call, svx_matmul; \"batched\" totals use those for the convolutions):\n");
        printf("%-24s %10s %10s %10s %10s %14s\n", "kernel", "one/call", "one/c DS", "batched",
               "batch DS", "weight bytes");
        for (int b = 0; b < B_COUNT; b++)
            if (all_ok[b])
                printf("%-24s %10.1f %10.1f %10.1f %10.1f %14zu\n", bname(b), us_per_s[b],
                       tot_us[TOT_MATVEC_DS][b], tot_us[TOT_BATCHED][b], tot_us[TOT_DS_LAYERS][b],
                       bytes_tot[b]);
        printf("\nratios (throughput, >1 means DenseShift is faster; DenseShift = %s):\n",
               bname(ds_best));
        printf("  DenseShift / DeepShift per-weight (exp-add + zero mask) %6.2fx\n",
               RATIO(ds_best, B_DPS_EXP));
        printf("  DenseShift / DeepShift with the same table trick         %6.2fx\n",
               RATIO(ds_best, B_DPS_TABLE));
        printf("  DenseShift scalar / DeepShift scalar                     %6.2fx\n",
               RATIO(B_DS_SCALAR, B_DPS_SCALAR));
        printf("  DenseShift / float32 %-10s                         %6.2fx  (weight bytes %.1fx fewer)\n",
               bname(f32_best), RATIO(ds_best, f32_best),
               bytes_tot[ds_best] ? (double)bytes_tot[f32_best] / (double)bytes_tot[ds_best] : NAN);
        printf("  DenseShift / OpenBLAS cblas_sgemv (1 thread)             %6.2fx\n",
               RATIO(ds_best, B_BLAS));
        printf("  DenseShift AVX-512 / float32 AVX-512 (like for like)     %6.2fx  (weight bytes %.1fx fewer)\n",
               RATIO(B_DS_512, B_F32_512),
               bytes_tot[B_DS_512] ? (double)bytes_tot[B_F32_512] / (double)bytes_tot[B_DS_512] : NAN);
        printf("  DenseShift / float32, like for like, by what is counted:   %-10s %s\n", "AVX2",
               "AVX-512");
        for (int t = 0; t < TOT_COUNT; t++)
            printf("    %-44s %6.2fx    %6.2fx\n", tot_name[t], TRATIO(t, ds_best, f32_best),
                   TRATIO(t, B_DS_512, B_F32_512));
        printf("  integer path (int8 x, shift-add) / float DenseShift %-5s %6.2fx  (matvec only)\n",
               "", RATIO(B_INT_POW2, ds_best));
        printf("  integer path AVX2 (int8 x, vpmaddubsw) / float DenseShift  %6.2fx  (matvec only)\n",
               RATIO(B_INT_AVX2, ds_best));
        printf("\npipeline on one core, %.0f s of audio (real-time factor = thread CPU time / audio time):\n",
               pc.audio_s);
        printf("  front end            RTF %.5f\n", t_fe / pc.audio_s);
        for (int c = 0; c < 3; c++)
            printf("  model (%-9s)    RTF %.5f  (%.0fx faster than real time)\n", choice_name[c],
                   t_model[c] / pc.audio_s, pc.audio_s / t_model[c]);
        for (int md = 0; md < 3; md++) {
            if (t_stream[md] < 0) {
                printf("  whole stream, %-6s (cannot create: %s)\n", mode_name[md],
                       svx_last_error_message());
                continue;
            }
            double dec = t_stream[md] - t_fe - t_model[0];
            printf("  whole stream, %-6s RTF %.5f  (decoder share ~%.5f)\n", mode_name[md],
                   t_stream[md] / pc.audio_s, (dec > 0 ? dec : 0.0) / pc.audio_s);
        }
        printf("\nmodel file %zu bytes (tensors %zu), state %zu bytes per stream, peak RSS %.1f MiB\n",
               file_bytes, svx_model_weight_bytes(model[0]), svx_model_state_bytes(model[0]), peak_mib);
        printf("\ninteger-only path (model/INTEGER.md), whole model frame by frame, %.0f s of audio:\n",
               pc.audio_s);
        if (!form[0] || !form[1])
            printf("  %s\n", !model_path ? "(the default random model has no integer graph; --model FILE)"
                                        : !form[1] ? "(this file carries no integer graph)"
                                                   : "(this file carries only the integer graph)");
        for (int k = 0; k < 2; k++)
            if (form[k])
                printf("  %-17s RTF %.5f  %8.0f us / audio s  weights %7zu B  state %6zu B\n",
                       k ? "integer" : "float-activation", t_form[k] / pc.audio_s,
                       1e6 * t_form[k] / pc.audio_s, svx_model_weight_bytes(form[k]),
                       svx_model_state_bytes(form[k]));
        if (form[0] && form[1] && t_form[1] > 0)
            printf("  integer / float-activation speed %.2fx\n", t_form[0] / t_form[1]);
        bench_kws_print(stdout, &kws, 0);
    }
    for (int i = 0; i < n_sh; i++)
        free_shape(&sh[i]);
    free(pc.pcm);
    free(pc.feats);
    for (int c = 0; c < 3; c++)
        svx_model_destroy(model[c]);
    svx_model_destroy(form[0]);
    svx_model_destroy(form[1]);
    return 0;
}
