/* shiftvox eval end to end, with a model whose output we control.
 *
 * The "tone model" is one linear layer + log-softmax over the log-mel frame:
 * letter i (a..z) fires when mel band 12+i holds a strong tone, the blank
 * fires otherwise. A word is then "spoken" as one 60 ms tone per letter at
 * that band's centre frequency, 50 ms apart, on quiet noise: the model's CTC
 * posteriors spell the word, so svx_classify_clip must pick it. Folders in the
 * three Speech Commands layouts are generated with such clips (some
 * deliberately in the wrong folder), so the confusion matrix eval must print
 * is known in advance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../model/model.h"
#include "test_model_fixture.h"
#include "shiftvox.h"
#include "testutil.h"

#define RATE 16000
#define PI 3.14159265358979323846
#define TONE_BAND0 12       /* band of letter 'a' */
#define TONE_GAIN 3.0f      /* logit per nat of log-mel energy */
#define TONE_AMP 0.3
#define NOISE_STD 0.002

/* Centre frequency of mel band k (HTK mel, the front end's filterbank). */
static double band_centre_hz(const svx_frontend_params *p, int k)
{
    double m0 = 2595.0 * log10(1.0 + p->fmin_hz / 700.0);
    double m1 = 2595.0 * log10(1.0 + p->fmax_hz / 700.0);
    double m = m0 + (k + 1) * (m1 - m0) / (p->n_mels + 1);
    return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
}

/* Writes the tone model to path with the given metadata; 0 on success. */
static int write_tone_model(const char *path, const char *meta)
{
    svx_frontend_params fe;
    svx_frontend_params_default(&fe);
    enum { V = 29 };
    const int F = fe.n_mels;
    float *w = calloc((size_t)V * (size_t)F, sizeof *w), bias[V];
    if (!w)
        return -1;
    for (int s = 0; s < V; s++)
        bias[s] = 0.0f;
    bias[1] = bias[2] = -40.0f;               /* space and apostrophe: never */
    for (int i = 0; i < 26; i++)
        w[(size_t)(3 + i) * (size_t)F + (size_t)(TONE_BAND0 + i)] = TONE_GAIN;
    /* blank: logit 0, i.e. a letter wins when its band's log energy is > 0
     * (a tone at TONE_AMP gives about +7, the noise about -6). */
    uint8_t *bytes;
    size_t n;
    int rc = fx_linear_model_bytes(&fe, w, bias, meta, &bytes, &n);
    free(w);
    if (rc < 0)
        return -1;
    rc = tu_write_file(path, bytes, n);
    free(bytes);
    return rc;
}

static uint64_t g_noise_state = 1;

static double noise_normal(void)
{
    /* xorshift64* + Box-Muller, independent of the runner's seed so that
     * generated folders are the same on every run. */
    double u[2];
    for (int k = 0; k < 2; k++) {
        g_noise_state ^= g_noise_state >> 12;
        g_noise_state ^= g_noise_state << 25;
        g_noise_state ^= g_noise_state >> 27;
        u[k] = (double)((g_noise_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    }
    if (u[0] < 1e-300)
        u[0] = 1e-300;
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* One second (or more for long words) of noise with the word's tones. */
static float *synth_word(const char *word, size_t *n_out)
{
    svx_frontend_params fe;
    svx_frontend_params_default(&fe);
    const size_t tone = 960, gap = 800, fade = 80, start = 2400;
    size_t n = start + strlen(word) * (tone + gap) + 2400;
    if (n < RATE)
        n = RATE;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)(NOISE_STD * noise_normal());
    size_t pos = start;
    for (const char *c = word; x && *c; c++, pos += tone + gap) {
        double f = band_centre_hz(&fe, TONE_BAND0 + (*c - 'a'));
        for (size_t i = 0; i < tone; i++) {
            double env = 1.0;
            if (i < fade)
                env = 0.5 - 0.5 * cos(PI * (double)i / fade);
            else if (i >= tone - fade)
                env = 0.5 - 0.5 * cos(PI * (double)(tone - i) / fade);
            x[pos + i] += (float)(TONE_AMP * env * sin(2.0 * PI * f * (double)i / RATE));
        }
    }
    *n_out = n;
    return x;
}

static void put_le(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* 16-bit PCM mono WAV. */
static int write_wav(const char *path, const float *x, size_t n)
{
    size_t nb = 44 + 2 * n;
    uint8_t *b = malloc(nb);
    if (!b)
        return -1;
    memcpy(b, "RIFF", 4);
    put_le(b + 4, (uint32_t)(nb - 8), 4);
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le(b + 16, 16, 4);
    put_le(b + 20, 1, 2);
    put_le(b + 22, 1, 2);
    put_le(b + 24, RATE, 4);
    put_le(b + 28, RATE * 2, 4);
    put_le(b + 32, 2, 2);
    put_le(b + 34, 16, 2);
    memcpy(b + 36, "data", 4);
    put_le(b + 40, (uint32_t)(2 * n), 4);
    for (size_t i = 0; i < n; i++) {
        double v = x[i] * 32767.0;
        v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        put_le(b + 44 + 2 * i, (uint32_t)(int16_t)lrint(v), 2);
    }
    int rc = tu_write_file(path, b, nb);
    free(b);
    return rc;
}

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0777);
            *p = '/';
        }
    mkdir(buf, 0777);
}

/* Writes root/rel as a clip of `spoken` (rel's folders are created). */
static void put_clip(const char *root, const char *rel, const char *spoken)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdirs(path);
    *slash = '/';
    size_t n;
    float *x = synth_word(spoken, &n);
    CU_ASSERT_FATAL(x != NULL);
    CU_ASSERT_EQUAL(write_wav(path, x, n), 0);
    free(x);
}

static void put_text(const char *root, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    CU_ASSERT_EQUAL(tu_write_file(path, text, strlen(text)), 0);
}

static const char *model_path(void)
{
    static char path[512];
    if (!path[0]) {
        tu_tmp_path(path, sizeof path, "tone.svxm");
        if (write_tone_model(path, "{\"test\": \"tone model\"}") != 0)
            path[0] = '\0';
    }
    return path;
}

/* The library alone: the tone model's posteriors over a synthesised word
 * make svx_classify_clip pick that word among the 35 and silence. */
static void test_tone_model_classifies(void)
{
    svx_model *m;
    CU_ASSERT_FATAL(model_path()[0] != '\0');
    CU_ASSERT_EQUAL_FATAL(svx_model_load(model_path(), &m), SVX_OK);
    static const char *const words[] = {
        "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "zero", "one",
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "bed", "bird", "cat",
        "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "backward", "forward",
        "follow", "learn", "visual", ""};
    const int n_cand = (int)(sizeof words / sizeof words[0]);
    const svx_frontend_params *fp = svx_model_frontend(m);
    const int V = svx_model_n_symbols(m);
    for (int w = 0; w < n_cand; w++) {
        size_t n;
        float *x = synth_word(words[w], &n);
        size_t nf = svx_frontend_n_frames(fp, n);
        float *feats = malloc(nf * (size_t)fp->n_mels * sizeof *feats);
        float *lp = malloc(nf * (size_t)V * sizeof *lp);
        CU_ASSERT_FATAL(x && feats && lp);
        CU_ASSERT_EQUAL_FATAL(svx_features_compute(fp, x, n, feats, nf), (int)nf);
        svx_model_state *st;
        CU_ASSERT_EQUAL_FATAL(svx_model_state_create(m, &st), SVX_OK);
        int T = 0;
        for (size_t f = 0; f < nf; f++)
            T += svx_model_state_push(st, feats + f * (size_t)fp->n_mels, lp + (size_t)T * (size_t)V);
        CU_ASSERT_EQUAL(T, (int)nf);
        double scores[64];
        int best = svx_classify_clip(m, lp, T, words, n_cand, scores);
        if (best != w)
            printf("\n  '%s' classified as '%s' (%.2f vs %.2f)\n", words[w], best >= 0 ? words[best] : "?",
                   best >= 0 ? scores[best] : 0.0, scores[w]);
        CU_ASSERT_EQUAL(best, w);
        /* A clear win: the runner-up is far behind (the design leaves e^10 margins per frame). */
        double second = -INFINITY;
        for (int k = 0; k < n_cand; k++)
            if (k != w && scores[k] > second)
                second = scores[k];
        CU_ASSERT(scores[w] - second > 5.0);
        svx_model_state_destroy(st);
        free(x);
        free(feats);
        free(lp);
    }
    svx_model_destroy(m);
}

/* Runs a command, prints its output when status differs from want. */
static int run_expect(const char *cmd, int want, char *out, size_t n)
{
    int st = tu_run(cmd, out, n);
    if (st != want)
        printf("\n  '%s' exited %d (wanted %d):\n%s\n", cmd, st, want, out);
    return st;
}

/* The report's confusion matrix (flattened), failed and skipped counts as
 * one line, read with Python's json module (so this also proves it parses). */
static int report_summary(const char *report, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,sys; r=json.load(open(sys.argv[1])); "
             "print(' '.join(str(v) for row in r['confusion'] for v in row), '|', r['n_failed'], "
             "r['n_skipped'], r['n_evaluated'], len(r['files']))\" %s", report);
    int st = tu_run(cmd, out, n);
    size_t l = strlen(out);
    while (l && (out[l - 1] == '\n' || out[l - 1] == '\r'))
        out[--l] = '\0';
    return st;
}

/* "c00 c01 ... | failed skipped evaluated n_files" for an expected matrix. */
static void expected_summary(const int *conf, int n_labels, int failed, int skipped, int evaluated,
                             int n_files, char *out, size_t n)
{
    size_t o = 0;
    for (int i = 0; i < n_labels * n_labels && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%d", i ? " " : "", conf[i]);
    if (o < n)
        snprintf(out + o, n - o, " | %d %d %d %d", failed, skipped, evaluated, n_files);
}

enum { YES, NO, UP, DOWN, LEFT, RIGHT, ON, OFF, STOP, GO, UNK, SIL };

static int have_gnuplot(void)
{
    char out[256];
    return tu_run("command -v gnuplot", out, sizeof out) == 0;
}

/* Full dataset layout: testing_list.txt, validation_list.txt, a noise folder
 * for the _silence_ windows, one clip in the wrong folder, one broken file. */
static void test_eval_full_layout(void)
{
    char root[512], cmd[4096], out[65536], report[600], plots[600];
    tu_tmp_path(root, sizeof root, "sc_full");
    put_clip(root, "yes/a1_nohash_0.wav", "yes");
    put_clip(root, "yes/a2_nohash_0.wav", "yes");
    put_clip(root, "yes/a3_nohash_0.wav", "yes");
    put_clip(root, "no/a1_nohash_0.wav", "no");
    put_clip(root, "no/a2_nohash_0.wav", "no");
    put_clip(root, "up/a1_nohash_0.wav", "down");     /* says "down": a known confusion */
    put_clip(root, "stop/a1_nohash_0.wav", "stop");
    put_clip(root, "bed/a1_nohash_0.wav", "bed");
    put_clip(root, "cat/a1_nohash_0.wav", "cat");
    put_clip(root, "marvin/a1_nohash_0.wav", "marvin");
    put_clip(root, "go/val_nohash_0.wav", "go");      /* validation only */
    put_text(root, "no/broken_nohash_0.wav", "RIFF this is not audio at all");
    put_text(root, "testing_list.txt",
             "yes/a1_nohash_0.wav\nyes/a2_nohash_0.wav\nyes/a3_nohash_0.wav\nno/a1_nohash_0.wav\n"
             "no/a2_nohash_0.wav\nup/a1_nohash_0.wav\nstop/a1_nohash_0.wav\nbed/a1_nohash_0.wav\n"
             "cat/a1_nohash_0.wav\nmarvin/a1_nohash_0.wav\nno/broken_nohash_0.wav\n");
    put_text(root, "validation_list.txt", "go/val_nohash_0.wav\n");
    char noise_dir[600];
    snprintf(noise_dir, sizeof noise_dir, "%s/_background_noise_", root);
    mkdirs(noise_dir);
    {
        size_t n = 3 * RATE;
        float *x = malloc(n * sizeof *x);
        CU_ASSERT_FATAL(x != NULL);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(NOISE_STD * noise_normal());
        char p[700];
        snprintf(p, sizeof p, "%s/white.wav", noise_dir);
        CU_ASSERT_EQUAL(write_wav(p, x, n), 0);
        free(x);
    }
    tu_tmp_path(report, sizeof report, "full.json");
    tu_tmp_path(plots, sizeof plots, "full_plots");
    snprintf(cmd, sizeof cmd, "%s eval -m %s -j 2 --report %s --plots %s %s", tu_bin(), model_path(),
             report, plots, root);
    /* One broken file: reported by name, the rest evaluated, exit status 1. */
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "broken_nohash_0.wav"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "accuracy 91.67% (11/12)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "confusion matrix"));

    /* 11 listed clips (10 good + the broken one) -> ceil(11/10) = 2 silence windows. */
    int conf[12][12] = {{0}};
    conf[YES][YES] = 3;
    conf[NO][NO] = 2;
    conf[UP][DOWN] = 1;
    conf[STOP][STOP] = 1;
    conf[UNK][UNK] = 3;
    conf[SIL][SIL] = 2;
    char want[8192], got[8192];
    expected_summary(&conf[0][0], 12, 1, 0, 12, 13, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    if (strcmp(want, got))
        printf("\n  want %s\n  got  %s\n", want, got);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (have_gnuplot()) {
        char png[700];
        struct stat st;
        snprintf(png, sizeof png, "%s/confusion.png", plots);
        CU_ASSERT(stat(png, &st) == 0 && st.st_size > 1000);
    }

    /* Without gnuplot on the PATH: said so, the script is kept, the
     * evaluation itself is unaffected. */
    char plots2[600];
    tu_tmp_path(plots2, sizeof plots2, "full_plots_nognuplot");
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent %s eval -m %s --plots %s %s", tu_bin(), model_path(),
             plots2, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "gnuplot not found"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "accuracy 91.67% (11/12)"));
    {
        char gp[700];
        snprintf(gp, sizeof gp, "%s/confusion.gp", plots2);
        CU_ASSERT_EQUAL(access(gp, R_OK), 0);
    }

    /* A model whose trainer calibrated a huge silence bonus: everything is
     * called silence; --no-bias gives the raw rule again. */
    char biased[600];
    tu_tmp_path(biased, sizeof biased, "tone_biased.svxm");
    CU_ASSERT_EQUAL_FATAL(write_tone_model(biased, "{\"eval_bias\": {\"char_bonus\": 0.0, \"silence\": 1000.0}}"), 0);
    snprintf(cmd, sizeof cmd, "%s eval -m %s -q --report %s %s", tu_bin(), biased, report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "accuracy 16.67% (2/12) with the model's score bias; 91.67% raw"));
    CU_ASSERT_PTR_NULL(strstr(out, "broken_nohash_0.wav"));   /* -q */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --no-bias --report %s %s", tu_bin(), biased, report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "accuracy 91.67% (11/12)\n"));

    /* The validation list holds only the "go" clip (+1 silence window). */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --list validation --report %s %s", tu_bin(), model_path(),
             report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    memset(conf, 0, sizeof conf);
    conf[GO][GO] = 1;
    conf[SIL][SIL] = 1;
    expected_summary(&conf[0][0], 12, 0, 0, 2, 2, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);

    /* 35-word task: silence windows and the broken file's word are no
     * obstacle; "up" is confused with "down". */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --task 35 --no-silence --report %s %s", tu_bin(),
             model_path(), report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    int c35[35][35] = {{0}};
    c35[0][0] = 3;       /* yes */
    c35[1][1] = 2;       /* no */
    c35[2][3] = 1;       /* up -> down */
    c35[8][8] = 1;       /* stop */
    c35[20][20] = 1;     /* bed */
    c35[22][22] = 1;     /* cat */
    c35[26][26] = 1;     /* marvin */
    expected_summary(&c35[0][0], 35, 1, 0, 10, 11, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* Official test-set layout: label folders with _unknown_ (word in the file
 * name) and _silence_. */
static void test_eval_testset_layout(void)
{
    char root[512], cmd[4096], out[65536], report[600];
    tu_tmp_path(root, sizeof root, "sc_testset");
    put_clip(root, "left/s1_nohash_0.wav", "left");
    put_clip(root, "left/s2_nohash_0.wav", "right");   /* confusion left -> right */
    put_clip(root, "right/s1_nohash_0.wav", "right");
    put_clip(root, "off/s1_nohash_0.wav", "off");
    put_clip(root, "on/s1_nohash_0.wav", "on");
    put_clip(root, "_unknown_/house_s1_nohash_0.wav", "house");
    put_clip(root, "_unknown_/tree_s2_nohash_1.wav", "tree");
    put_clip(root, "_unknown_/six_s3_nohash_0.wav", "yes");  /* an unknown heard as "yes" */
    put_clip(root, "_silence_/n1.wav", "");
    put_clip(root, "_silence_/n2.wav", "");
    tu_tmp_path(report, sizeof report, "testset.json");
    snprintf(cmd, sizeof cmd, "%s eval -m %s --report %s %s", tu_bin(), model_path(), report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    int conf[12][12] = {{0}};
    conf[LEFT][LEFT] = 1;
    conf[LEFT][RIGHT] = 1;
    conf[RIGHT][RIGHT] = 1;
    conf[OFF][OFF] = 1;
    conf[ON][ON] = 1;
    conf[UNK][UNK] = 2;
    conf[UNK][YES] = 1;
    conf[SIL][SIL] = 2;
    char want[8192], got[8192];
    expected_summary(&conf[0][0], 12, 0, 0, 10, 10, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "accuracy 80.00% (8/10)"));

    /* 35 words: silence skipped, unknown words come from the file names. */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --task 35 --report %s %s", tu_bin(), model_path(),
             report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    int c35[35][35] = {{0}};
    c35[4][4] = 1;      /* left */
    c35[4][5] = 1;      /* left -> right */
    c35[5][5] = 1;      /* right */
    c35[7][7] = 1;      /* off */
    c35[6][6] = 1;      /* on */
    c35[25][25] = 1;    /* house */
    c35[28][28] = 1;    /* tree */
    c35[16][0] = 1;     /* six -> yes */
    expected_summary(&c35[0][0], 35, 0, 2, 8, 10, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* A manifest TSV like ../shared/data/speech_commands/manifest.tsv. */
static void test_eval_manifest(void)
{
    char root[512], cmd[4096], out[65536], report[600], man[600];
    tu_tmp_path(root, sizeof root, "sc_manifest");
    put_clip(root, "dev/yes/x_nohash_0.flac.wav", "yes");
    put_clip(root, "dev/down/x_nohash_0.wav", "down");
    put_clip(root, "dev/_unknown_/x_nohash_0.wav", "wow");
    put_clip(root, "dev/_unknown_/y_nohash_0.wav", "follow");
    put_clip(root, "dev/_silence_/1.wav", "");
    put_clip(root, "train/yes/t_nohash_0.wav", "no");   /* wrong, but not in the dev split */
    put_text(root, "manifest.tsv",
             "path\tlabel12\tword\tspeaker\tsplit\tsource\n"
             "dev/yes/x_nohash_0.flac.wav\tyes\tyes\tx\tdev\tsynthetic\n"
             "dev/down/x_nohash_0.wav\tdown\tdown\tx\tdev\tsynthetic\n"
             "dev/_unknown_/x_nohash_0.wav\t_unknown_\twow\tx\tdev\tsynthetic\n"
             "dev/_unknown_/y_nohash_0.wav\t_unknown_\t-\ty\tdev\tsynthetic\n"
             "dev/_silence_/1.wav\t_silence_\t_silence_\t-\tdev\tsynthetic\n"
             "train/yes/t_nohash_0.wav\tyes\tyes\tt\ttrain\tsynthetic\n"
             "dev/missing/none.wav\tyes\tyes\tz\tdev\tsynthetic\n");
    tu_tmp_path(report, sizeof report, "manifest.json");
    snprintf(man, sizeof man, "%s/manifest.tsv", root);
    /* The manifest file itself, split chosen explicitly; the missing file is
     * reported and counted. */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --split dev --report %s %s", tu_bin(), model_path(),
             report, man);
    CU_ASSERT_EQUAL(run_expect(cmd, 1, out, sizeof out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.wav"));
    int conf[12][12] = {{0}};
    conf[YES][YES] = 1;
    conf[DOWN][DOWN] = 1;
    conf[UNK][UNK] = 2;
    conf[SIL][SIL] = 1;
    char want[8192], got[8192];
    expected_summary(&conf[0][0], 12, 1, 0, 5, 6, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);

    /* The folder holding manifest.tsv is detected too; the train split has
     * the one deliberately wrong clip. */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --split train --report %s %s", tu_bin(), model_path(),
             report, root);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    memset(conf, 0, sizeof conf);
    conf[YES][NO] = 1;
    expected_summary(&conf[0][0], 12, 0, 0, 1, 1, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* A model whose metadata lists the dev speakers it was trained on is never
 * scored on their clips, unless asked; a malformed list is an error. */
static void test_eval_trained_speakers(void)
{
    char root[512], cmd[4096], out[65536], report[600], man[600], model[600];
    tu_tmp_path(root, sizeof root, "sc_trained");
    put_clip(root, "dev/yes/x_nohash_0.wav", "yes");
    put_clip(root, "dev/_unknown_/bed_y_nohash_0.wav", "wow");   /* a wrong word: y's */
    put_clip(root, "dev/_unknown_/y_nohash_1.wav", "follow");
    put_clip(root, "dev/_silence_/1.wav", "");
    put_text(root, "manifest.tsv",
             "path\tlabel12\tword\tspeaker\tsplit\tsource\n"
             "dev/yes/x_nohash_0.wav\tyes\tyes\tx\tdev\tsynthetic\n"
             "dev/_unknown_/bed_y_nohash_0.wav\t_unknown_\tbed\ty\tdev\tsynthetic\n"
             "dev/_unknown_/y_nohash_1.wav\t_unknown_\tfollow\ty\tdev\tsynthetic\n"
             "dev/_silence_/1.wav\t_silence_\t_silence_\t-\tdev\tsynthetic\n");
    snprintf(man, sizeof man, "%s/manifest.tsv", root);
    tu_tmp_path(report, sizeof report, "trained.json");
    tu_tmp_path(model, sizeof model, "tone_trained.svxm");
    CU_ASSERT_FATAL(write_tone_model(model, "{\"eval_bias\": {\"char_bonus\": 0.0}, "
                                            "\"dev_trained_speakers\": [\"zz\", \"y\"]}") == 0);
    int conf[12][12] = {{0}};
    char want[8192], got[8192];
    /* Default: y's two clips are left out and counted. */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --split dev --report %s %s", tu_bin(), model, report,
             man);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "left out 2 clips of the 2 speakers the model was trained on"));
    conf[YES][YES] = 1;
    conf[SIL][SIL] = 1;
    expected_summary(&conf[0][0], 12, 0, 0, 2, 2, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
    snprintf(cmd, sizeof cmd, "grep -c '\"trained_speaker_clips_left_out\": 2,' %s", report);
    CU_ASSERT_EQUAL(tu_run(cmd, got, sizeof got), 0);
    /* --include-trained keeps them: the wrong word counts again. */
    snprintf(cmd, sizeof cmd, "%s eval -m %s --split dev --include-trained --report %s %s",
             tu_bin(), model, report, man);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "left out"));
    conf[UNK][UNK] = 2;
    expected_summary(&conf[0][0], 12, 0, 0, 4, 4, want, sizeof want);
    CU_ASSERT_EQUAL(report_summary(report, got, sizeof got), 0);
    CU_ASSERT_STRING_EQUAL(got, want);
    /* A list that is not an array of strings is refused, naming the field. */
    CU_ASSERT_FATAL(write_tone_model(model, "{\"dev_trained_speakers\": [\"y\", 3]}") == 0);
    snprintf(cmd, sizeof cmd, "%s eval -m %s --split dev %s", tu_bin(), model, man);
    CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "dev_trained_speakers is not an array of strings"));
}

static void test_eval_bad_input(void)
{
    char cmd[2048], out[8192], dir[512];
    snprintf(cmd, sizeof cmd, "%s eval -m %s /nonexistent/sc", tu_bin(), model_path());
    CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "/nonexistent/sc"));
    tu_tmp_path(dir, sizeof dir, "not_sc");
    mkdirs(dir);
    snprintf(cmd, sizeof cmd, "%s eval -m %s %s", tu_bin(), model_path(), dir);
    CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "not a Speech Commands folder"));
    snprintf(cmd, sizeof cmd, "%s eval -m %s --task 20 %s", tu_bin(), model_path(), dir);
    CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
    /* --layout forces a layout: the test-set folder read as the full
     * dataset has no testing_list.txt, and says so. */
    char ts[512];
    tu_tmp_path(ts, sizeof ts, "sc_testset");
    if (access(ts, R_OK) == 0) {
        snprintf(cmd, sizeof cmd, "%s eval -m %s --layout full %s", tu_bin(), model_path(), ts);
        CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "testing_list.txt"));
    }
    snprintf(cmd, sizeof cmd, "%s eval --bogus", tu_bin());
    CU_ASSERT_EQUAL(run_expect(cmd, 2, out, sizeof out), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--bogus"));
}

/* The bundled model, when there is one, on words spoken by espeak-ng (the
 * ten keywords and three other words, in the test-set layout): sensible,
 * i.e. far above chance (1/12), not a fixed accuracy. */
static void test_eval_bundled_model(void)
{
    char out[65536];
    if (access("models/default.svxm", R_OK) != 0 || tu_run("command -v espeak-ng", out, sizeof out) != 0) {
        printf("(skipped: no models/default.svxm or no espeak-ng) ");
        return;
    }
    static const char *const words[] = {"yes", "no", "up", "down", "left", "right", "on", "off",
                                        "stop", "go", "bed", "house", "dog"};
    char root[512], cmd[4096];
    tu_tmp_path(root, sizeof root, "sc_espeak");
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (i < 10)
            snprintf(cmd, sizeof cmd, "mkdir -p %s/%s && espeak-ng -v en-us -w %s/%s/espeak_nohash_0.wav %s",
                     root, words[i], root, words[i], words[i]);
        else
            snprintf(cmd, sizeof cmd,
                     "mkdir -p %s/_unknown_ && espeak-ng -v en-us -w %s/_unknown_/%s_espeak_nohash_0.wav %s",
                     root, root, words[i], words[i]);
        CU_ASSERT_EQUAL_FATAL(tu_run(cmd, out, sizeof out), 0);
    }
    snprintf(cmd, sizeof cmd, "%s eval -m models/default.svxm %s", tu_bin(), root);
    CU_ASSERT_EQUAL(run_expect(cmd, 0, out, sizeof out), 0);
    const char *acc = strstr(out, "accuracy ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(acc);
    double pct = atof(acc + 9);
    printf("(bundled model on 13 espeak-ng words: %.0f%%) ", pct);
    CU_ASSERT(pct >= 50.0);
}

/* --stream over the generated full layout: every keyword clip placed in the
 * noise is found at the lowest threshold, and the sweep is monotone. */
static void test_eval_stream(void)
{
    char root[512], cmd[4096], out[65536], report[600];
    tu_tmp_path(root, sizeof root, "sc_full");
    char list[700];
    snprintf(list, sizeof list, "%s/testing_list.txt", root);
    if (access(list, R_OK) != 0)
        test_eval_full_layout();
    tu_tmp_path(report, sizeof report, "stream.json");
    snprintf(cmd, sizeof cmd, "%s eval -m %s --stream --keywords yes,no,stop --seed 3 --snr 40 --report %s %s",
             tu_bin(), model_path(), report, root);
    int st = tu_run(cmd, out, sizeof out);
    /* The broken file fails to read; the rest is placed. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "broken_nohash_0.wav"));
    if (st != 0)
        printf("\n%s\n", out);
    CU_ASSERT_EQUAL(st, 0);
    char got[4096];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,sys; r=json.load(open(sys.argv[1])); s=r['sweep']; "
             "m=all(a['frr']<=b['frr'] and a['fa_per_hour']>=b['fa_per_hour'] for a,b in zip(s,s[1:])); "
             "e=r['latency_ms']['end_p90']; "
             "print(r['n_placed'], r['n_keyword_clips'], s[0]['frr'], int(m), int(abs(e) <= 50), "
             "int(r['n_pauses'] >= 9))\" %s", report);
    CU_ASSERT_EQUAL(tu_run(cmd, got, sizeof got), 0);
    /* 10 readable clips placed, 6 of them yes/no/stop; all found at threshold 0,
     * and the events end where the placed words end (within 50 ms, p90);
     * the stream paused in the gaps between the 10 clips (blank ~1 in the
     * quiet bed).
     * (The tone model's letters key on absolute band energy, so the noise bed
     * stays quiet: --snr 40.) */
    CU_ASSERT_STRING_EQUAL(got, "10 6 0 1 1 1\n");
}

/* The sweep's operating points are real ones: the events the report gives at
 * its report threshold are exactly those 'listen' finds at that threshold in
 * the same signal (keyword, start, end, score). Filtering the events of one
 * run at the lowest threshold by score is not equivalent: a weak early peak's
 * refractory period hides the keyword that follows it (printed: on this
 * signal that way finds fewer). The bundled model on the espeak-ng words at
 * 5-15 dB SNR, so that weak peaks exist. */
static void test_eval_stream_sweep_is_listen(void)
{
    char root[512], cmd[8192], out[65536], report[600], wav[600], got[8192];
    tu_tmp_path(root, sizeof root, "sc_espeak");
    char probe[700];
    snprintf(probe, sizeof probe, "%s/yes/espeak_nohash_0.wav", root);
    if (access(probe, R_OK) != 0)
        test_eval_bundled_model();
    if (access(probe, R_OK) != 0 || access("models/default.svxm", R_OK) != 0) {
        printf("(skipped: no models/default.svxm or no espeak-ng) ");
        return;
    }
    tu_tmp_path(report, sizeof report, "sweep.json");
    tu_tmp_path(wav, sizeof wav, "sweep.wav");
    snprintf(cmd, sizeof cmd, "%s eval -q -m models/default.svxm --stream --snr 5,15 --target-fa 0 "
             "--report %s --save-audio %s %s", tu_bin(), report, wav, root);
    int st = tu_run(cmd, out, sizeof out);
    if (st != 0)
        printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,subprocess,sys; r=json.load(open(sys.argv[1])); "
             "thr=r['report_threshold']; kw=','.join(r['keywords']); "
             "run=lambda s: [json.loads(l) for l in subprocess.run([sys.argv[2],'listen','-m',"
             "'models/default.svxm','-i',sys.argv[3],'-k',kw,'-s',s,'--json'],capture_output=True,"
             "text=True,check=True).stdout.splitlines() if l.startswith('{')]; "
             "a=[(e['keyword'],round(e['start'],3),round(e['end'],3),e['score']) for e in r['events']]; "
             "b=[(e['keyword'],e['start'],e['end'],e['score']) for e in run('%%.2f'%%(1-thr))]; "
             "same=len(a)==len(b) and all(x[:3]==y[:3] and abs(x[3]-y[3])<=6e-4 for x,y in zip(a,b)); "
             "c=[e for e in run('0.98') if e['score']>=thr]; "
             "print(len(a), len(b), int(same), len(c), thr)\" %s %s %s",
             report, tu_bin(), wav);
    CU_ASSERT_EQUAL(tu_run(cmd, got, sizeof got), 0);
    int na = -1, nb = -2, same = 0, nc = 0;
    double thr = 0;
    CU_ASSERT_EQUAL(sscanf(got, "%d %d %d %d %lf", &na, &nb, &same, &nc, &thr), 5);
    printf("(at %.2f: %d events in the report, %d from listen; %d filtering the lowest threshold's) ",
           thr, na, nb, nc);
    CU_ASSERT_EQUAL(na, nb);
    CU_ASSERT_EQUAL(same, 1);
    CU_ASSERT(na >= 5);
}

/* --stream's noise bed holds its SNR across noise files of very different
 * levels (the test-set layout's bed is its _silence_ folder of 1 s clips,
 * -80 to -10 dBFS): in the saved signal the noise before the first clip has
 * the same power, within 6 dB, in every 0.25 s, where one gain for all files
 * gave a 50 dB spread. */
static void test_eval_stream_noise_levels(void)
{
    char root[512], cmd[4096], out[65536], wav[600];
    tu_tmp_path(root, sizeof root, "sc_bed");
    put_clip(root, "yes/s1_nohash_0.wav", "yes");
    put_clip(root, "no/s1_nohash_0.wav", "no");
    char sil[700];
    snprintf(sil, sizeof sil, "%s/_silence_", root);
    mkdirs(sil);
    for (int k = 0; k < 6; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/n%d.wav", sil, k);
        const double std = k % 2 ? 0.3 : 0.001;
        float *x = malloc(RATE * sizeof *x);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        for (int i = 0; i < RATE; i++)
            x[i] = (float)(std * noise_normal());
        CU_ASSERT_EQUAL(write_wav(path, x, RATE), 0);
        free(x);
    }
    tu_tmp_path(wav, sizeof wav, "bed.wav");
    snprintf(cmd, sizeof cmd, "%s eval -m %s --stream -q --keywords yes,no --gap 3,3 --snr 10,10 "
             "--save-audio %s %s", tu_bin(), model_path(), wav, root);
    int st = tu_run(cmd, out, sizeof out);
    if (st != 0)
        printf("\n%s\n", out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    svx_audio_reader *rd = NULL;
    CU_ASSERT_EQUAL_FATAL(svx_audio_open_file(wav, RATE, &rd), SVX_OK);
    enum { W = RATE / 4, NW = 12 };
    float *x = calloc((size_t)W * NW, sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    size_t n = 0;
    long r;
    while (n < (size_t)W * NW && (r = svx_audio_read(rd, x + n, (size_t)W * NW - n)) > 0)
        n += (size_t)r;
    svx_audio_close(rd);
    CU_ASSERT_EQUAL_FATAL(n, (size_t)W * NW);
    double lo = INFINITY, hi = 0;
    for (int w = 0; w < NW; w++) {
        double p = 0;
        for (int i = 0; i < W; i++)
            p += (double)x[w * W + i] * x[w * W + i];
        p /= W;
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    printf("(noise power in 0.25 s windows: %.3g .. %.3g) ", lo, hi);
    CU_ASSERT(lo > 0);
    CU_ASSERT(hi < 4.0 * lo);
    free(x);
}

void test_register_eval(void);
void test_register_eval(void)
{
    static const tu_test tests[] = {
        {"tone model classifies synthesised words", test_tone_model_classifies},
        {"full layout: known confusion matrix, silence windows, bad file", test_eval_full_layout},
        {"test-set layout: _unknown_ and _silence_ folders, 12 and 35 words", test_eval_testset_layout},
        {"manifest TSV with splits", test_eval_manifest},
        {"speakers the model was trained on are left out", test_eval_trained_speakers},
        {"bad folders and options", test_eval_bad_input},
        {"bundled model on espeak-ng words", test_eval_bundled_model},
        {"stream mode: placed keywords found, monotone sweep", test_eval_stream},
        {"stream mode: the noise bed's SNR holds across noise files", test_eval_stream_noise_levels},
        {"stream mode: the sweep's events are listen's at that threshold", test_eval_stream_sweep_is_listen},
    };
    tu_add_suite("eval", tests, sizeof tests / sizeof tests[0]);
}
