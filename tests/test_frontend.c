/* Front end (features/frontend.c) against the independent NumPy reference
 * (tests/frontend_ref.py -> tests/data/frontend), chunking invariance,
 * parameter checks, bad samples, and no allocation per frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiftvox.h"
#include "testutil.h"

/* Tolerances, named. Log-mel cells whose reference mel energy is at least
 * STRONG_ENERGY must agree within LOG_TOL (float32 FFT vs float64 NumPy);
 * over all cells the mel energies must agree to ENERGY_SNR_DB. Weak cells
 * (Hann sidelobes 100+ dB down) are dominated by float32 rounding of the
 * FFT and are only covered by the energy SNR. */
#define LOG_TOL 2e-3
#define STRONG_ENERGY 1e-3
#define ENERGY_SNR_DB 70.0

static float *read_f32(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *buf = malloc(len > 0 ? (size_t)len : 1);
    *n = (size_t)len / sizeof(float);
    if (buf && fread(buf, sizeof(float), *n, f) != *n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void check_golden(const char *name)
{
    char path[256];
    size_t n_pcm, n_ref;
    snprintf(path, sizeof path, "tests/data/frontend/%s.pcm.f32", name);
    float *pcm = read_f32(path, &n_pcm);
    snprintf(path, sizeof path, "tests/data/frontend/%s.feat.f32", name);
    float *ref = read_f32(path, &n_ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pcm);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    size_t max_frames = svx_frontend_n_frames(&p, n_pcm);
    CU_ASSERT_EQUAL(max_frames * (size_t)p.n_mels, n_ref);
    float *got = calloc(n_ref + 1, sizeof(float));
    int n = svx_features_compute(&p, pcm, n_pcm, got, max_frames);
    CU_ASSERT_EQUAL((size_t)n, max_frames);

    /* Strong cells: log agreement. */
    double worst = 0;
    long worst_i = -1;
    float *e_got = malloc(n_ref * sizeof(float) + 1), *e_ref = malloc(n_ref * sizeof(float) + 1);
    for (size_t i = 0; i < n_ref; i++) {
        e_got[i] = expf(got[i]);
        e_ref[i] = expf(ref[i]);
        if (e_ref[i] >= STRONG_ENERGY) {
            double d = fabs((double)got[i] - ref[i]);
            if (d > worst) {
                worst = d;
                worst_i = (long)i;
            }
        }
    }
    if (worst > LOG_TOL)
        printf("\n  %s: strong cell %ld (frame %ld, mel %ld) differs by %.3g > %.3g\n", name, worst_i,
               worst_i / p.n_mels, worst_i % p.n_mels, worst, LOG_TOL);
    CU_ASSERT(worst <= LOG_TOL);
    double snr = tu_snr_db(e_got, e_ref, n_ref);
    if (!(snr >= ENERGY_SNR_DB))
        printf("\n  %s: mel energy SNR %.1f dB < %.1f dB\n", name, snr, ENERGY_SNR_DB);
    CU_ASSERT(snr >= ENERGY_SNR_DB || n_ref == 0);
    free(e_got);
    free(e_ref);
    free(got);
    free(pcm);
    free(ref);
}

static void test_golden_tone440(void) { check_golden("tone440"); }
static void test_golden_tone3k(void) { check_golden("tone3k"); }
static void test_golden_chirp(void) { check_golden("chirp"); }
static void test_golden_noise(void) { check_golden("noise"); }
static void test_golden_short(void) { check_golden("short"); }

static void test_golden_silence(void)
{
    /* Exact: every cell is the floor. */
    check_golden("silence");
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    float pcm[1000] = {0}, out[40 * 4];
    int n = svx_features_compute(&p, pcm, 1000, out, 4);
    CU_ASSERT_EQUAL(n, 4);
    for (int i = 0; i < 4 * 40; i++)
        CU_ASSERT_EQUAL(out[i], logf(1e-6f));
}

/* Pushes signal x in chunks of `chunk` samples (0 = all at once) with an
 * output capacity of max_frames per call; returns frames produced. */
static int run_chunked(const float *x, size_t n, size_t chunk, int max_frames, float *out)
{
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    svx_frontend *fe;
    if (svx_frontend_create(&p, &fe) < 0)
        return -1;
    int total = 0;
    size_t pos = 0;
    while (pos < n) {
        size_t len = chunk ? chunk : n;
        if (len > n - pos)
            len = n - pos;
        size_t off = 0;
        while (off < len) {
            size_t used;
            int got = svx_frontend_process(fe, x + pos + off, len - off, &used,
                                           out + (size_t)total * 40, max_frames);
            if (got < 0) {
                svx_frontend_destroy(fe);
                return got;
            }
            total += got;
            off += used;
        }
        pos += len;
    }
    svx_frontend_destroy(fe);
    return total;
}

static void test_chunking_invariance(void)
{
    const size_t n = 16000 + 123;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.3 * tu_rand_normal() + 0.2 * sin(0.05 * (double)i));
    size_t cap = 200 * 40;
    float *whole = calloc(cap, sizeof(float)), *part = calloc(cap, sizeof(float));
    int n_whole = run_chunked(x, n, 0, 1000, whole);
    CU_ASSERT_EQUAL(n_whole, 1 + (int)((n - 400) / 160));
    const size_t chunks[] = {1, 7, 160, 512, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        memset(part, 0, cap * sizeof(float));
        int got = run_chunked(x, n, chunks[c], 1000, part);
        CU_ASSERT_EQUAL(got, n_whole);
        CU_ASSERT(memcmp(part, whole, (size_t)n_whole * 40 * sizeof(float)) == 0);
    }
    /* Output capacity of one frame per call must not change anything either. */
    memset(part, 0, cap * sizeof(float));
    CU_ASSERT_EQUAL(run_chunked(x, n, 4096, 1, part), n_whole);
    CU_ASSERT(memcmp(part, whole, (size_t)n_whole * 40 * sizeof(float)) == 0);
    free(x);
    free(whole);
    free(part);
}

static void test_reset(void)
{
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    svx_frontend *fe;
    CU_ASSERT_EQUAL_FATAL(svx_frontend_create(&p, &fe), SVX_OK);
    float x[800], a[5 * 40], b[5 * 40];
    for (int i = 0; i < 800; i++)
        x[i] = (float)sin(0.1 * i);
    size_t used;
    int na = svx_frontend_process(fe, x, 300, &used, a, 5); /* partial frame buffered */
    CU_ASSERT_EQUAL(na, 0);
    svx_frontend_reset(fe);
    na = svx_frontend_process(fe, x, 800, &used, a, 5);
    svx_frontend *fe2;
    CU_ASSERT_EQUAL_FATAL(svx_frontend_create(&p, &fe2), SVX_OK);
    int nb = svx_frontend_process(fe2, x, 800, &used, b, 5);
    CU_ASSERT_EQUAL(na, 3);
    CU_ASSERT_EQUAL(na, nb);
    CU_ASSERT(memcmp(a, b, (size_t)na * 40 * sizeof(float)) == 0);
    svx_frontend_destroy(fe);
    svx_frontend_destroy(fe2);
    svx_frontend_destroy(NULL);
}

static void test_no_alloc_per_frame(void)
{
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    svx_frontend *fe;
    CU_ASSERT_EQUAL_FATAL(svx_frontend_create(&p, &fe), SVX_OK);
    float x[1024], out[8 * 40];
    for (int i = 0; i < 1024; i++)
        x[i] = (float)(0.1 * tu_rand_normal());
    uint64_t before = tu_alloc_count();
    int frames = 0;
    for (int rep = 0; rep < 100; rep++) {
        size_t off = 0;
        while (off < 1024) {
            size_t used;
            int got = svx_frontend_process(fe, x + off, 1024 - off, &used, out, 8);
            CU_ASSERT(got >= 0);
            frames += got;
            off += used;
        }
    }
    CU_ASSERT_EQUAL(tu_alloc_count(), before);
    CU_ASSERT(frames > 600);
    svx_frontend_destroy(fe);
}

static void test_bad_samples(void)
{
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    svx_frontend *fe;
    CU_ASSERT_EQUAL_FATAL(svx_frontend_create(&p, &fe), SVX_OK);
    float x[500] = {0}, out[4 * 40];
    x[321] = NAN;
    size_t used = 999;
    int rc = svx_frontend_process(fe, x, 500, &used, out, 4);
    CU_ASSERT_EQUAL(rc, SVX_ERR_BAD_AUDIO);
    CU_ASSERT_EQUAL(used, 321);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "NaN"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "321"));
    x[321] = INFINITY;
    rc = svx_frontend_process(fe, x + 321, 10, &used, out, 4);
    CU_ASSERT_EQUAL(rc, SVX_ERR_BAD_AUDIO);
    CU_ASSERT_EQUAL(used, 0);
    /* Skipping the bad sample, the stream goes on: 321 + 178 = 499 samples -> 1 frame. */
    rc = svx_frontend_process(fe, x + 322, 178, &used, out, 4);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_EQUAL(used, 178);
    CU_ASSERT_EQUAL(svx_frontend_process(NULL, x, 1, &used, out, 1), SVX_ERR_INVALID_ARG);
    svx_frontend_destroy(fe);
}

static void test_params_check(void)
{
    svx_frontend_params p, q;
    svx_frontend_params_default(&p);
    CU_ASSERT_EQUAL(svx_frontend_params_check(&p), SVX_OK);
    CU_ASSERT_EQUAL(svx_frontend_params_check(NULL), SVX_ERR_INVALID_ARG);
    q = p; q.n_fft = 500;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "power of two"));
    q = p; q.win_length = 1024;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    q = p; q.hop_length = 0;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    q = p; q.fmax_hz = 9000;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    q = p; q.log_floor = NAN;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    q = p; q.sample_rate_hz = 0;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    q = p; q.window = 7;
    CU_ASSERT_EQUAL(svx_frontend_params_check(&q), SVX_ERR_INVALID_ARG);
    svx_frontend *fe = (svx_frontend *)&q;
    CU_ASSERT_EQUAL(svx_frontend_create(&q, &fe), SVX_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NULL(fe);
    /* Other valid settings work: 8 kHz, 256-point FFT, 23 mels. */
    q = p; q.sample_rate_hz = 8000; q.win_length = 200; q.hop_length = 80; q.n_fft = 256;
    q.n_mels = 23; q.fmax_hz = 3800;
    CU_ASSERT_EQUAL(svx_frontend_create(&q, &fe), SVX_OK);
    svx_frontend_destroy(fe);
}

static void test_n_frames(void)
{
    svx_frontend_params p;
    svx_frontend_params_default(&p);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 0), 0);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 399), 0);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 400), 1);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 559), 1);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 560), 2);
    CU_ASSERT_EQUAL(svx_frontend_n_frames(&p, 16000), 98);
}

void test_register_frontend(void);
void test_register_frontend(void)
{
    static const tu_test tests[] = {
        {"golden tone 440 Hz vs NumPy", test_golden_tone440},
        {"golden two tones vs NumPy", test_golden_tone3k},
        {"golden chirp vs NumPy", test_golden_chirp},
        {"golden noise vs NumPy", test_golden_noise},
        {"golden short signal vs NumPy", test_golden_short},
        {"silence gives the floor exactly", test_golden_silence},
        {"chunking 1/7/160/512/4096/all identical", test_chunking_invariance},
        {"reset", test_reset},
        {"no allocation per frame", test_no_alloc_per_frame},
        {"NaN/Inf samples rejected with position", test_bad_samples},
        {"parameter checks", test_params_check},
        {"frame count formula", test_n_frames},
    };
    tu_add_suite("frontend", tests, sizeof tests / sizeof tests[0]);
}
