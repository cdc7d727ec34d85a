/* Keyword latency in `shiftvox bench` (apps/bench_kws.c) and the energy word
 * segmentation it relies on (apps/speech.c).
 * The test runner links apps/speech.o (Makefile, TEST_OBJ). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../apps/speech.h"
#include "testutil.h"

#define RATE 16000
#define PI 3.14159265358979323846

/* Adds a tone of amplitude amp on [t0, t1) seconds (sample-exact). */
static void add_tone(float *x, double t0, double t1, double hz, double amp)
{
    size_t i0 = (size_t)lround(t0 * RATE), i1 = (size_t)lround(t1 * RATE);
    for (size_t i = i0; i < i1; i++)
        x[i] += (float)(amp * sin(2.0 * PI * hz * (double)i / RATE));
}

/* Tones at different levels, ends placed off the 10 ms grid, separated by
 * pauses of 150 ms and more, one tone broken by a 40 ms gap (a stop closure
 * inside a word), on white noise 60 dB under the loudest tone. */
static void test_segments_tones(void)
{
    const double at[3][2] = {{0.2031, 0.5037}, {0.6842, 1.1519}, {1.3013, 1.7466}};
    const double amp[3] = {0.5, 0.09, 0.25}; /* the middle one 15 dB under the first */
    const size_t n = 2 * RATE;
    float *x = calloc(n, sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.0005 * (2.0 * tu_rand_uniform() - 1.0));
    add_tone(x, at[0][0], at[0][1], 440.0, amp[0]);
    add_tone(x, at[1][0], 0.90, 660.0, amp[1]);
    add_tone(x, 0.94, at[1][1], 660.0, amp[1]);
    add_tone(x, at[2][0], at[2][1], 880.0, amp[2]);

    speech_segment seg[8];
    int n_seg = speech_segments(x, n, RATE, 0.1, seg, 8);
    CU_ASSERT_EQUAL_FATAL(n_seg, 3);
    for (int k = 0; k < 3; k++) {
        double s = (double)seg[k].start / RATE, e = (double)seg[k].end / RATE;
        if (fabs(e - at[k][1]) > 0.010 || fabs(s - at[k][0]) > 0.010)
            printf("\n  tone %d at %.4f-%.4f s, segment %.4f-%.4f s\n", k, at[k][0], at[k][1], s, e);
        CU_ASSERT(fabs(e - at[k][1]) <= 0.010);
        CU_ASSERT(fabs(s - at[k][0]) <= 0.010);
    }
    /* Fewer slots than segments: the count is still the whole. */
    CU_ASSERT_EQUAL(speech_segments(x, n, RATE, 0.1, seg, 1), 3);
    /* A minimum pause longer than every gap: one segment, the speech extent. */
    CU_ASSERT_EQUAL(speech_segments(x, n, RATE, 0.25, seg, 8), 1);
    size_t b0, b1;
    double power;
    speech_extent(x, n, RATE, &b0, &b1, &power);
    CU_ASSERT_EQUAL(b0, seg[0].start);
    CU_ASSERT_EQUAL(b1, seg[0].end);
    CU_ASSERT(power > 0.0);
    /* A gap of 40 ms splits the middle tone when 30 ms is enough to separate. */
    CU_ASSERT_EQUAL(speech_segments(x, n, RATE, 0.03, seg, 8), 4);
    free(x);
}

static void test_segments_edges(void)
{
    float z[RATE / 2];
    memset(z, 0, sizeof z);
    speech_segment seg[4];
    CU_ASSERT_EQUAL(speech_segments(z, 0, RATE, 0.1, seg, 4), 0);
    CU_ASSERT_EQUAL(speech_segments(z, RATE / 2, RATE, 0.1, seg, 4), 0); /* digital silence */
    /* A tone running to the last (short) block ends at the last sample. */
    const size_t n = RATE / 2 + 37;
    float *x = calloc(n, sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    for (size_t i = RATE / 4; i < n; i++)
        x[i] = (float)(0.3 * sin(0.2 * (double)i));
    CU_ASSERT_EQUAL_FATAL(speech_segments(x, n, RATE, 0.1, seg, 4), 1);
    CU_ASSERT_EQUAL(seg[0].start, (size_t)RATE / 4);
    CU_ASSERT_EQUAL(seg[0].end, n);
    free(x);
}

static char g_out[65536];

/* Value after key in the output, NAN when absent. */
static double num_after(const char *key)
{
    const char *p = strstr(g_out, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* The bundled model on the bundled samples: the latency section is there and
 * its numbers are sane. */
static void test_bench_latency(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s bench --model models/default.svxm --seconds 0.2 --reps 1", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 0);
    const char *sec = strstr(g_out, "keyword latency (samples/samples.tsv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sec);
    int n_occ = -1, n_files = -1, n_skip = -1, n_bad = -1, n_det = -1, n_other = -1;
    const char *p = strchr(sec, '\n');
    CU_ASSERT_EQUAL_FATAL(sscanf(p, " %d keyword occurrences in %d files (%d skipped: energy segments != "
                                    "words; %d unreadable), %d detected, %d other events",
                                 &n_occ, &n_files, &n_skip, &n_bad, &n_det, &n_other), 6);
    CU_ASSERT_EQUAL(n_files, 10);
    CU_ASSERT_EQUAL(n_skip, 0);
    CU_ASSERT_EQUAL(n_bad, 0);
    CU_ASSERT_EQUAL(n_occ, 14); /* the keywords of samples.tsv */
    CU_ASSERT(n_det > 0 && n_det <= n_occ);
    double med = NAN, p90 = NAN, mx = NAN, within = NAN, end_med = NAN;
    p = strstr(sec, "event available - end of the word:");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(sscanf(p, "event available - end of the word: median %lf ms, p90 %lf ms, max %lf ms; "
                              "%lf%% within 200 ms", &med, &p90, &mx, &within), 4);
    p = strstr(sec, "event end - end of the word: median");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(sscanf(p, "event end - end of the word: median %lf ms", &end_med), 1);
    if (!(med >= 0.0 && med <= 1000.0))
        printf("\n  median latency %g ms\n", med);
    CU_ASSERT(med >= 0.0 && med <= 1000.0);
    CU_ASSERT(med <= p90 && p90 <= mx && mx < 2000.0);
    CU_ASSERT(within >= 0.0 && within <= 100.0);
    /* The event is given after the end it reports. */
    CU_ASSERT(end_med <= med);
}

/* --samples: a folder of our own, where one recording is listed with a word
 * too many (skipped and counted), JSON output; and a folder with no list. */
static void test_bench_latency_dir(void)
{
    char dir[1024], path[1200], cmd[4096];
    tu_tmp_path(dir, sizeof dir, "bench_kws");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp samples/yes.wav samples/up_down.wav '%s'/", dir, dir);
    CU_ASSERT_EQUAL_FATAL(tu_run(cmd, g_out, sizeof g_out), 0);
    snprintf(path, sizeof path, "%s/samples.tsv", dir);
    static const char tsv[] = "file\twords\tvoice\n"
                              "yes.wav\tyes\ten-us\n"
                              "up_down.wav\tup down stop\ten-gb\n";
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, tsv, sizeof tsv - 1), 0);
    snprintf(cmd, sizeof cmd, "%s bench --model models/default.svxm --seconds 0.2 --reps 1 --json --samples '%s'",
             tu_bin(), dir);
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "up_down.wav: 2 energy segments for 3 words"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "\"kws_latency\": {"));
    CU_ASSERT_EQUAL(num_after("\"files\": "), 2.0);
    CU_ASSERT_EQUAL(num_after("\"files_segments_mismatch\": "), 1.0);
    CU_ASSERT_EQUAL(num_after("\"occurrences\": "), 1.0);
    CU_ASSERT_EQUAL(num_after("\"detected\": "), 1.0);
    double med = num_after("\"emit_median_ms\": ");
    CU_ASSERT(med >= 0.0 && med <= 1000.0);
    CU_ASSERT_PTR_NULL(strstr(g_out, "nan"));

    /* No list: one line says so; the rest of the benchmark runs. */
    snprintf(cmd, sizeof cmd, "%s bench --model models/default.svxm --seconds 0.2 --reps 1 --samples '%s/none'",
             tu_bin(), dir);
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "keyword latency: skipped, cannot open "));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "RTF"));
    CU_ASSERT_PTR_NULL(strstr(g_out, "event available"));
}

void test_register_bench_kws(void);
void test_register_bench_kws(void)
{
    static const tu_test tests[] = {
        {"speech_segments: tones separated by silence", test_segments_tones},
        {"speech_segments: empty, silent, speech to the last sample", test_segments_edges},
        {"shiftvox bench: keyword latency on the bundled samples", test_bench_latency},
        {"shiftvox bench --samples DIR --json: skipped files, no list", test_bench_latency_dir},
    };
    tu_add_suite("bench_kws", tests, sizeof tests / sizeof tests[0]);
}
