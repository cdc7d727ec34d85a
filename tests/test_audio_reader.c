/* Audio readers (audio/reader.c): a format matrix against an analytic
 * reference signal, resampling quality, chunk-size invariance, hostile
 * files with the exact error each must give, raw PCM from a pipe written in
 * odd-sized pieces, and constant memory on a ten-minute file.
 *
 * Test files are generated here at run time with libsndfile into the test's
 * temporary directory. Integer PCM is written as integers so the expected
 * float of every sample is known exactly: q / 2^(bits-1), the scale
 * shiftvox.h promises (int16 / 32768). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shiftvox.h"
#include "testutil.h"

#define TARGET_HZ 16000
#define DURATION_S 1.0
#define PI 3.14159265358979323846

/* Tolerances, named once. */
/* Measured (libsamplerate 0.2.2, SRC_SINC_MEDIUM_QUALITY): 122-127 dB from
 * float sources, 87-90 dB from 16-bit ones (their quantisation), Vorbis 29 dB. */
#define RESAMPLE_SNR_MIN_DB 100.0  /* float source, interior only */
#define RESAMPLE_PCM16_SNR_MIN_DB 80.0
#define VORBIS_SNR_MIN_DB 20.0     /* lossy codec: the waveform matches only roughly */
/* A stored PCM sample is within 1.1 steps of the analytic value (libsndfile
 * writes with full scale 2^(bits-1) - 1 and reads with 2^(bits-1)). */
#define STORED_MAX_STEPS 1.5
#define FLOAT_STORE_TOL 1e-6
#define EDGE_SKIP 400              /* output samples ignored at each end (25 ms) */
#define MAX_LAG 8                  /* delay search window, output samples */

/* The reference: a 440 Hz tone plus a linear chirp 200 -> 3000 Hz over 1 s,
 * peak below 0.6, band-limited well under 4 kHz so that every source rate
 * down to 8 kHz represents it exactly. */
static double ref_signal(double t)
{
    return 0.3 * sin(2 * PI * 440.0 * t) + 0.3 * sin(2 * PI * (200.0 * t + 1400.0 * t * t));
}

/* A second signal for multichannel files: it cancels in the mean. */
static double side_signal(double t) { return 0.2 * sin(2 * PI * 1000.0 * t + 0.3); }

static float *ref_at(int rate, size_t *n)
{
    *n = (size_t)lround(DURATION_S * rate);
    float *x = malloc(*n * sizeof *x);
    for (size_t i = 0; i < *n; i++)
        x[i] = (float)ref_signal((double)i / rate);
    return x;
}

static int pcm_bits(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_PCM_S8: return 8;
    case SF_FORMAT_PCM_16: return 16;
    case SF_FORMAT_PCM_24: return 24;
    case SF_FORMAT_PCM_32: return 32;
    default: return 0;   /* float, double, lossy */
    }
}

/* Channel c of the written test signal at time t: mono is the reference;
 * with 2 or more channels, channel 0 adds the side signal, channel 1
 * subtracts it and further channels carry the reference unchanged. */
static double chan_signal(int c, int channels, double t)
{
    double s = ref_signal(t);
    if (channels == 1 || c >= 2)
        return s;
    return c == 0 ? s + side_signal(t) : s - side_signal(t);
}

/* What a sample becomes once stored: the integer code for PCM. */
static double stored(double v, int bits)
{
    if (!bits)
        return v;
    double full = ldexp(1.0, bits - 1);
    return (double)lrint(v * (full - 1)) / full;
}

/* Writes DURATION_S (or seconds) of the test signal, chunk by chunk, and
 * returns 0 on success. */
static int write_test_file(const char *path, int format, int rate, int channels, double seconds)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        printf("\n  cannot write %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    int bits = pcm_bits(format);
    enum { CH = 1024 };
    int *ibuf = malloc(sizeof(int) * CH * (size_t)channels);
    float *fbuf = malloc(sizeof(float) * CH * (size_t)channels);
    size_t total = (size_t)lround(seconds * rate);
    int rc = 0;
    for (size_t start = 0; start < total && rc == 0; start += CH) {
        size_t n = total - start < CH ? total - start : CH;
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < channels; c++) {
                double v = chan_signal(c, channels, (double)(start + i) / rate);
                size_t k = i * (size_t)channels + (size_t)c;
                if (bits) {
                    double full = ldexp(1.0, bits - 1);
                    long long q = lrint(v * (full - 1));
                    ibuf[k] = (int)(q * (long long)ldexp(1.0, 32 - bits));
                } else {
                    fbuf[k] = (float)v;
                }
            }
        sf_count_t w = bits ? sf_writef_int(sf, ibuf, (sf_count_t)n) : sf_writef_float(sf, fbuf, (sf_count_t)n);
        if (w != (sf_count_t)n)
            rc = -1;
    }
    free(ibuf);
    free(fbuf);
    if (sf_close(sf) != 0)
        rc = -1;
    return rc;
}

/* The exact mono float the reader must produce for a file written above at
 * the target rate: the mean, in double, of the stored channel values. */
static float *expected_mono(int format, int channels, size_t n)
{
    int bits = pcm_bits(format);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / TARGET_HZ, sum = 0;
        for (int c = 0; c < channels; c++)
            sum += (double)(float)stored(chan_signal(c, channels, t), bits);
        x[i] = (float)(sum / channels);
    }
    return x;
}

/* Reads a whole input chunk_size samples at a time; NULL on failure. */
static float *read_reader(svx_audio_reader *rd, size_t chunk, size_t *n_out)
{
    size_t cap = 1 << 16, n = 0;
    float *x = malloc(cap * sizeof *x);
    float *buf = malloc(chunk * sizeof *buf);
    long got;
    while ((got = svx_audio_read(rd, buf, chunk)) > 0) {
        CU_ASSERT((size_t)got <= chunk);
        if (n + (size_t)got > cap) {
            cap *= 2;
            x = realloc(x, cap * sizeof *x);
        }
        memcpy(x + n, buf, (size_t)got * sizeof *x);
        n += (size_t)got;
    }
    free(buf);
    if (got < 0) {
        printf("\n  read failed: %s\n", svx_last_error_message());
        free(x);
        return NULL;
    }
    *n_out = n;
    return x;
}

static float *read_file(const char *path, size_t chunk, size_t *n_out)
{
    svx_audio_reader *rd;
    int rc = svx_audio_open_file(path, TARGET_HZ, &rd);
    if (rc < 0) {
        printf("\n  open %s failed: %s\n", path, svx_last_error_message());
        return NULL;
    }
    float *x = read_reader(rd, chunk, n_out);
    svx_audio_close(rd);
    return x;
}

/* SNR of got against the reference over the interior, at the best delay in
 * [-MAX_LAG, MAX_LAG] (got[i + lag] compared with ref[i]). */
static double aligned_snr(const float *got, size_t n_got, const float *ref, size_t n_ref, int *best_lag)
{
    double best = -INFINITY;
    *best_lag = 0;
    size_t n = n_got < n_ref ? n_got : n_ref;
    if (n < 2 * EDGE_SKIP + 2 * MAX_LAG)
        return best;
    for (int lag = -MAX_LAG; lag <= MAX_LAG; lag++) {
        size_t len = n - 2 * EDGE_SKIP;
        double snr = tu_snr_db(got + EDGE_SKIP + lag, ref + EDGE_SKIP, len);
        if (snr > best) {
            best = snr;
            *best_lag = lag;
        }
    }
    return best;
}

/* --- the format matrix at the target rate -------------------------------------- */
typedef struct {
    const char *name;
    int format;
    int channels;
} fmt_case;

static void test_formats_exact(void)
{
    static const fmt_case cases[] = {
        {"pcm_u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1},
        {"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1},
        {"pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1},
        {"pcm32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1},
        {"float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1},
        {"double.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 1},
        {"pcm16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1},
        {"pcm24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1},
        {"pcm16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1},
        {"pcm24.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 1},
        {"stereo16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2},
        {"stereo16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 2},
        {"3ch_float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const fmt_case *c = &cases[k];
        char path[512];
        tu_tmp_path(path, sizeof path, c->name);
        CU_ASSERT_EQUAL_FATAL(write_test_file(path, c->format, TARGET_HZ, c->channels, DURATION_S), 0);
        svx_audio_reader *rd;
        CU_ASSERT_EQUAL_FATAL(svx_audio_open_file(path, TARGET_HZ, &rd), SVX_OK);
        CU_ASSERT_EQUAL(svx_audio_source_rate(rd), TARGET_HZ);
        CU_ASSERT_EQUAL(svx_audio_source_channels(rd), c->channels);
        CU_ASSERT_EQUAL(svx_audio_source_frames(rd), (int64_t)(DURATION_S * TARGET_HZ));
        size_t n = 0;
        float *got = read_reader(rd, 1000, &n);
        svx_audio_close(rd);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(n, (size_t)(DURATION_S * TARGET_HZ));
        float *want = expected_mono(c->format, c->channels, n);
        /* Bit-exact: no conversion happens at the target rate. */
        CU_ASSERT_EQUAL(tu_first_mismatch(c->name, got, want, n, 0.0), -1);
        /* The test's own expectation is within one step of the analytic signal. */
        int bits = pcm_bits(c->format);
        double tol = bits ? STORED_MAX_STEPS * ldexp(1.0, 1 - bits) : 0;
        if (tol < FLOAT_STORE_TOL)
            tol = FLOAT_STORE_TOL;
        size_t n_ref;
        float *ref = ref_at(TARGET_HZ, &n_ref);
        CU_ASSERT(tu_max_abs(want, ref, n) <= tol);
        free(ref);
        free(want);
        free(got);
    }
}

static void test_vorbis(void)
{
    char path[512];
    tu_tmp_path(path, sizeof path, "lossy.ogg");
    CU_ASSERT_EQUAL_FATAL(write_test_file(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, TARGET_HZ, 1, DURATION_S), 0);
    size_t n = 0, n_ref;
    float *got = read_file(path, 4096, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    float *ref = ref_at(TARGET_HZ, &n_ref);
    CU_ASSERT_EQUAL(n, n_ref);
    int lag;
    double snr = aligned_snr(got, n, ref, n_ref, &lag);
    printf("\n  ogg vorbis at 16 kHz: %zu samples, SNR %.1f dB at lag %d (min %.0f dB)\n", n, snr, lag,
           VORBIS_SNR_MIN_DB);
    CU_ASSERT(snr >= VORBIS_SNR_MIN_DB);
    CU_ASSERT_EQUAL(lag, 0);
    free(ref);
    free(got);
}

/* --- resampling ---------------------------------------------------------------- */
static void test_resampled(void)
{
    static const struct { int rate; int format; int channels; double min_snr; } cases[] = {
        {8000, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, RESAMPLE_SNR_MIN_DB},
        {22050, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, RESAMPLE_SNR_MIN_DB},
        {44100, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, RESAMPLE_SNR_MIN_DB},
        {48000, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, RESAMPLE_SNR_MIN_DB},
        {44100, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, RESAMPLE_PCM16_SNR_MIN_DB},
        {48000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1, RESAMPLE_PCM16_SNR_MIN_DB},
        {8000, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, RESAMPLE_PCM16_SNR_MIN_DB},
    };
    size_t n_ref;
    float *ref = ref_at(TARGET_HZ, &n_ref);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[512], name[64];
        snprintf(name, sizeof name, "rs_%d_%d_%zu.%s", cases[k].rate, cases[k].channels, k,
                 (cases[k].format & SF_FORMAT_TYPEMASK) == SF_FORMAT_FLAC ? "flac" : "wav");
        tu_tmp_path(path, sizeof path, name);
        CU_ASSERT_EQUAL_FATAL(write_test_file(path, cases[k].format, cases[k].rate, cases[k].channels, DURATION_S), 0);
        size_t n = 0;
        float *got = read_file(path, 4096, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        int lag;
        double snr = aligned_snr(got, n, ref, n_ref, &lag);
        printf("\n  %-22s %6d Hz x%d -> %zu samples (want %zu), SNR %.1f dB at lag %d (min %.0f)", name,
               cases[k].rate, cases[k].channels, n, n_ref, snr, lag, cases[k].min_snr);
        CU_ASSERT(snr >= cases[k].min_snr);
        CU_ASSERT_EQUAL(lag, 0);
        CU_ASSERT(n + 2 >= n_ref && n <= n_ref + 2);
        free(got);
    }
    printf("\n");
    free(ref);
}

/* --- chunk-size invariance --------------------------------------------------- */
static void test_chunk_invariance(void)
{
    static const struct { const char *name; int format; int rate; int channels; } files[] = {
        {"chunk_16k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1},
        {"chunk_44k_stereo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2},
        {"chunk_8k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, 1},
    };
    static const size_t chunks[] = {1, 7, 160, 4096, 4097, 20000};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[512];
        tu_tmp_path(path, sizeof path, files[f].name);
        CU_ASSERT_EQUAL_FATAL(write_test_file(path, files[f].format, files[f].rate, files[f].channels, 0.7), 0);
        size_t n0 = 0;
        float *x0 = read_file(path, chunks[0], &n0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x0);
        CU_ASSERT(n0 > 11000);
        for (size_t c = 1; c < sizeof chunks / sizeof chunks[0]; c++) {
            size_t n = 0;
            float *x = read_file(path, chunks[c], &n);
            CU_ASSERT_PTR_NOT_NULL_FATAL(x);
            CU_ASSERT_EQUAL(n, n0);
            CU_ASSERT(n == n0 && memcmp(x, x0, n * sizeof *x) == 0);
            free(x);
        }
        free(x0);
    }
}

/* --- hostile inputs ------------------------------------------------------------ */
/* A canonical 44-byte PCM WAV header (RIFF, "fmt " of 16 bytes, "data"). */
static void wav_header(unsigned char *h, unsigned channels, unsigned rate, unsigned bits, unsigned data_bytes)
{
    unsigned block = channels * bits / 8;
    memcpy(h, "RIFF", 4);
    unsigned riff = 36 + data_bytes;
    h[4] = (unsigned char)riff; h[5] = (unsigned char)(riff >> 8);
    h[6] = (unsigned char)(riff >> 16); h[7] = (unsigned char)(riff >> 24);
    memcpy(h + 8, "WAVEfmt ", 8);
    h[16] = 16; h[17] = h[18] = h[19] = 0;
    h[20] = 1; h[21] = 0;                                /* PCM */
    h[22] = (unsigned char)channels; h[23] = (unsigned char)(channels >> 8);
    h[24] = (unsigned char)rate; h[25] = (unsigned char)(rate >> 8);
    h[26] = (unsigned char)(rate >> 16); h[27] = (unsigned char)(rate >> 24);
    unsigned byte_rate = rate * block;
    h[28] = (unsigned char)byte_rate; h[29] = (unsigned char)(byte_rate >> 8);
    h[30] = (unsigned char)(byte_rate >> 16); h[31] = (unsigned char)(byte_rate >> 24);
    h[32] = (unsigned char)block; h[33] = (unsigned char)(block >> 8);
    h[34] = (unsigned char)bits; h[35] = 0;
    memcpy(h + 36, "data", 4);
    h[40] = (unsigned char)data_bytes; h[41] = (unsigned char)(data_bytes >> 8);
    h[42] = (unsigned char)(data_bytes >> 16); h[43] = (unsigned char)(data_bytes >> 24);
}

static int write_wav_bytes(const char *path, unsigned channels, unsigned rate, unsigned bits, size_t n_data)
{
    size_t total = 44 + n_data;
    unsigned char *b = calloc(1, total);
    wav_header(b, channels, rate, bits, (unsigned)n_data);
    for (size_t i = 44; i < total; i++)
        b[i] = (unsigned char)(i * 37);
    int rc = tu_write_file(path, b, total);
    free(b);
    return rc;
}

/* Opening path must fail with err, leave *out NULL, and give a message that
 * names the file and contains needle. Returns the message (static copy). */
static const char *expect_open_error(const char *path, int err, const char *needle)
{
    static char msg[16][600];
    static int slot;
    svx_audio_reader *rd = (svx_audio_reader *)&rd;
    int rc = svx_audio_open_file(path, TARGET_HZ, &rd);
    const char *m = svx_last_error_message();
    if (rc != err || !strstr(m, path) || !strstr(m, needle))
        printf("\n  %s: got %d (%s), want %d with '%s'\n", path, rc, m, err, needle);
    CU_ASSERT_EQUAL(rc, err);
    CU_ASSERT_PTR_NULL(rd);
    CU_ASSERT_PTR_NOT_NULL(strstr(m, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, needle));
    if (getenv("SVX_TEST_VERBOSE"))
        printf("\n  %s", m);
    slot = (slot + 1) % 16;
    snprintf(msg[slot], sizeof msg[slot], "%s", m);
    if (rc == SVX_OK)
        svx_audio_close(rd);
    return msg[slot];
}

/* Open file descriptors of this process. */
static int count_open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static void test_bad_inputs(void)
{
    char p_missing[512], p_empty[512], p_trunc[512], p_random[512], p_zero_ch[512],
        p_zero_rate[512], p_huge_rate[512], p_many_ch[512], p_dir[512];
    tu_tmp_path(p_missing, sizeof p_missing, "does-not-exist.wav");
    tu_tmp_path(p_empty, sizeof p_empty, "empty.wav");
    tu_tmp_path(p_trunc, sizeof p_trunc, "truncated-header.wav");
    tu_tmp_path(p_random, sizeof p_random, "random-bytes.wav");
    tu_tmp_path(p_zero_ch, sizeof p_zero_ch, "zero-channels.wav");
    tu_tmp_path(p_zero_rate, sizeof p_zero_rate, "zero-rate.wav");
    tu_tmp_path(p_huge_rate, sizeof p_huge_rate, "huge-rate.wav");
    tu_tmp_path(p_many_ch, sizeof p_many_ch, "many-channels.wav");
    tu_tmp_path(p_dir, sizeof p_dir, "a-directory.wav");

    CU_ASSERT_EQUAL_FATAL(tu_write_file(p_empty, "", 0), 0);
    unsigned char h[44];
    wav_header(h, 1, 16000, 16, 32000);
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p_trunc, h, 30), 0);     /* ends inside "fmt " */
    unsigned char rnd[4096];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (unsigned char)(tu_rand_u64() % 0xF0);            /* no MPEG sync (0xFF) */
    CU_ASSERT_EQUAL_FATAL(tu_write_file(p_random, rnd, sizeof rnd), 0);
    CU_ASSERT_EQUAL_FATAL(write_wav_bytes(p_zero_ch, 0, 16000, 16, 3200), 0);
    CU_ASSERT_EQUAL_FATAL(write_wav_bytes(p_zero_rate, 1, 0, 16, 3200), 0);
    CU_ASSERT_EQUAL_FATAL(write_wav_bytes(p_huge_rate, 1, 50000000, 16, 3200), 0);
    CU_ASSERT_EQUAL_FATAL(write_wav_bytes(p_many_ch, 1000, 16000, 16, 2000 * 10), 0);
    if (mkdir(p_dir, 0700) != 0 && errno != EEXIST)
        CU_FAIL("mkdir");

    const char *msgs[9];
    int k = 0;
    int fds_before = count_open_fds();
    msgs[k++] = expect_open_error(p_missing, SVX_ERR_IO, "No such file");
    msgs[k++] = expect_open_error(p_empty, SVX_ERR_FORMAT, "empty");
    msgs[k++] = expect_open_error(p_trunc, SVX_ERR_TRUNCATED, "truncated");
    msgs[k++] = expect_open_error(p_random, SVX_ERR_FORMAT, "not a recognised audio format");
    msgs[k++] = expect_open_error(p_zero_ch, SVX_ERR_BAD_AUDIO, "0 channels");
    msgs[k++] = expect_open_error(p_zero_rate, SVX_ERR_BAD_AUDIO, "0 Hz");
    msgs[k++] = expect_open_error(p_huge_rate, SVX_ERR_BAD_AUDIO, "50000000 Hz");
    msgs[k++] = expect_open_error(p_many_ch, SVX_ERR_BAD_AUDIO, "1000 channels");
    msgs[k++] = expect_open_error(p_dir, SVX_ERR_IO, "directory");
    CU_ASSERT_EQUAL(count_open_fds(), fds_before);      /* failed opens close what they opened */
    /* Each problem has its own message (the paths differ, so compare the
     * text after the path). */
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++) {
            const char *a = strstr(msgs[i], ": "), *b = strstr(msgs[j], ": ");
            CU_ASSERT(a && b && strcmp(a, b) != 0);
            if (a && b && !strcmp(a, b))
                printf("\n  same message: %s\n", a);
        }

    /* A WAV whose fmt chunk names an unknown encoding (0x1234). */
    char p_codec[512];
    tu_tmp_path(p_codec, sizeof p_codec, "unknown-codec.wav");
    {
        unsigned char b[44 + 64];
        wav_header(b, 1, 16000, 16, 64);
        b[20] = 0x34;
        b[21] = 0x12;
        memset(b + 44, 0, 64);
        CU_ASSERT_EQUAL_FATAL(tu_write_file(p_codec, b, sizeof b), 0);
        expect_open_error(p_codec, SVX_ERR_FORMAT, "unsupported WAV file (encoding tag 0x1234");
    }

    /* The data chunk declares more than the file holds: libsndfile clamps
     * it, and the samples that are there are read. */
    char p_short[512];
    tu_tmp_path(p_short, sizeof p_short, "short-data.wav");
    {
        unsigned char b[44 + 1000];
        wav_header(b, 1, 16000, 16, 32000);
        for (int i = 0; i < 500; i++) {
            b[44 + 2 * i] = 0x00;
            b[44 + 2 * i + 1] = (unsigned char)(i % 2 ? 0x20 : 0xE0);   /* +-0.25 */
        }
        CU_ASSERT_EQUAL_FATAL(tu_write_file(p_short, b, sizeof b), 0);
        svx_audio_reader *r2;
        CU_ASSERT_EQUAL_FATAL(svx_audio_open_file(p_short, TARGET_HZ, &r2), SVX_OK);
        float x[1024];
        CU_ASSERT_EQUAL(svx_audio_read(r2, x, 1024), 500);
        CU_ASSERT_EQUAL(x[0], -0.25f);
        CU_ASSERT_EQUAL(x[499], 0.25f);
        CU_ASSERT_EQUAL(svx_audio_read(r2, x, 1024), 0);
        svx_audio_close(r2);
    }

    /* Caller mistakes. */
    svx_audio_reader *rd;
    CU_ASSERT_EQUAL(svx_audio_open_file(NULL, TARGET_HZ, &rd), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_audio_open_file("-", TARGET_HZ, &rd), SVX_ERR_INVALID_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "svx_audio_open_raw_fd"));
    CU_ASSERT_EQUAL(svx_audio_open_file(p_empty, 0, &rd), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_audio_open_file(p_empty, TARGET_HZ, NULL), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_audio_read(NULL, NULL, 0), SVX_ERR_INVALID_ARG);
    svx_audio_close(NULL);
}

/* A float file with one NaN (or infinity) opens, then reading fails with
 * SVX_ERR_BAD_AUDIO naming the file and the sample index, and keeps failing. */
static void check_non_finite(const char *name, int channels, size_t bad_frame, int bad_channel, float bad,
                             const char *word)
{
    char path[512];
    tu_tmp_path(path, sizeof path, name);
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = TARGET_HZ;
    info.channels = channels;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    enum { N = 20000 };
    float *x = calloc((size_t)N * (size_t)channels, sizeof *x);
    for (size_t i = 0; i < N; i++)
        for (int c = 0; c < channels; c++)
            x[i * (size_t)channels + (size_t)c] = (float)ref_signal((double)i / TARGET_HZ);
    x[bad_frame * (size_t)channels + (size_t)bad_channel] = bad;
    CU_ASSERT_EQUAL(sf_writef_float(sf, x, N), N);
    sf_close(sf);
    free(x);

    svx_audio_reader *rd;
    CU_ASSERT_EQUAL_FATAL(svx_audio_open_file(path, TARGET_HZ, &rd), SVX_OK);
    float buf[1000];
    long got, total = 0;
    while ((got = svx_audio_read(rd, buf, 1000)) > 0)
        total += got;
    CU_ASSERT_EQUAL(got, SVX_ERR_BAD_AUDIO);
    /* Whole chunks before the bad one may be delivered, nothing after it. */
    CU_ASSERT(total <= (long)bad_frame);
    char idx[64];
    snprintf(idx, sizeof idx, "sample %zu", bad_frame);
    const char *m = svx_last_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(m, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, idx));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, word));
    CU_ASSERT_EQUAL(svx_audio_read(rd, buf, 1000), SVX_ERR_BAD_AUDIO);   /* sticky */
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), idx));
    svx_audio_close(rd);
}

static void test_non_finite(void)
{
    check_non_finite("nan.wav", 1, 12345, 0, NAN, "NaN");
    check_non_finite("inf-stereo.wav", 2, 777, 1, -INFINITY, "infinite");
}

/* --- raw PCM from a file descriptor ------------------------------------------- */
typedef struct {
    int fd;
    const unsigned char *bytes;
    size_t n_bytes;
} pipe_writer;

static void *write_odd_pieces(void *p)
{
    pipe_writer *w = p;
    static const size_t pieces[] = {1, 3, 2, 7, 333, 1, 4095, 5, 64, 9, 1001};
    size_t pos = 0, k = 0;
    while (pos < w->n_bytes) {
        size_t n = pieces[k++ % (sizeof pieces / sizeof pieces[0])];
        if (n > w->n_bytes - pos)
            n = w->n_bytes - pos;
        ssize_t put = write(w->fd, w->bytes + pos, n);
        if (put <= 0)
            break;
        pos += (size_t)put;
        if (k % 5 == 0) {   /* let the reader drain the pipe in between */
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
    close(w->fd);
    return NULL;
}

/* Sends s16le through a pipe in odd-sized writes and reads it back. */
static float *raw_through_pipe(const int16_t *pcm, size_t n, int in_rate, size_t chunk, int nonblock,
                               size_t *n_out)
{
    unsigned char *bytes = malloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        uint16_t u = (uint16_t)pcm[i];
        bytes[2 * i] = (unsigned char)(u & 0xFF);
        bytes[2 * i + 1] = (unsigned char)(u >> 8);
    }
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    if (nonblock)   /* reads then fail with EAGAIN whenever the writer lags */
        CU_ASSERT_EQUAL(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK), 0);
    pipe_writer w = {fds[1], bytes, 2 * n};
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, write_odd_pieces, &w), 0);
    svx_audio_reader *rd = NULL;
    int rc = svx_audio_open_raw_fd(fds[0], in_rate, TARGET_HZ, &rd);
    CU_ASSERT_EQUAL(rc, SVX_OK);
    float *x = NULL;
    if (rc == SVX_OK) {
        CU_ASSERT_EQUAL(svx_audio_source_rate(rd), in_rate);
        CU_ASSERT_EQUAL(svx_audio_source_channels(rd), 1);
        CU_ASSERT_EQUAL(svx_audio_source_frames(rd), -1);
        x = read_reader(rd, chunk, n_out);
        svx_audio_close(rd);
    }
    pthread_join(th, NULL);
    close(fds[0]);
    free(bytes);
    return x;
}

static int16_t *ref_s16(int rate, size_t *n)
{
    *n = (size_t)lround(DURATION_S * rate);
    int16_t *q = malloc(*n * sizeof *q);
    for (size_t i = 0; i < *n; i++)
        q[i] = (int16_t)lrint(ref_signal((double)i / rate) * 32767.0);
    q[10] = -32768;   /* the extremes convert too */
    q[11] = 32767;
    return q;
}

static void test_raw_fd(void)
{
    size_t n;
    int16_t *q = ref_s16(TARGET_HZ, &n);
    float *want = malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = (float)q[i] / 32768.0f;
    static const size_t chunks[] = {1, 7, 160, 4096};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        size_t n_out = 0;
        float *got = raw_through_pipe(q, n, TARGET_HZ, chunks[c], c == 1, &n_out);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_EQUAL(n_out, n);
        if (n_out == n)
            CU_ASSERT_EQUAL(tu_first_mismatch("raw s16le", got, want, n, 0.0), -1);
        CU_ASSERT_EQUAL(got[10], -1.0f);
        CU_ASSERT_EQUAL(got[11], 32767.0f / 32768.0f);
        free(got);
    }
    free(want);
    free(q);

    /* 8 kHz raw resampled to 16 kHz. */
    q = ref_s16(8000, &n);
    q[10] = (int16_t)lrint(ref_signal(10.0 / 8000) * 32767.0);
    q[11] = (int16_t)lrint(ref_signal(11.0 / 8000) * 32767.0);
    size_t n_out = 0, n_ref;
    float *got = raw_through_pipe(q, n, 8000, 333, 0, &n_out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    float *ref = ref_at(TARGET_HZ, &n_ref);
    int lag;
    double snr = aligned_snr(got, n_out, ref, n_ref, &lag);
    printf("\n  raw 8 kHz pipe -> %zu samples, SNR %.1f dB at lag %d (min %.0f)\n", n_out, snr, lag,
           RESAMPLE_PCM16_SNR_MIN_DB);
    CU_ASSERT(snr >= RESAMPLE_PCM16_SNR_MIN_DB);
    CU_ASSERT_EQUAL(lag, 0);
    free(ref);
    free(got);
    free(q);

    /* A regular file with an odd number of bytes: the last byte is ignored. */
    char path[512];
    tu_tmp_path(path, sizeof path, "odd.raw");
    const unsigned char odd[7] = {0x00, 0x40, 0x00, 0xC0, 0xFF, 0x7F, 0x12};
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, odd, sizeof odd), 0);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    svx_audio_reader *rd;
    CU_ASSERT_EQUAL_FATAL(svx_audio_open_raw_fd(fileno(f), TARGET_HZ, TARGET_HZ, &rd), SVX_OK);
    float buf[8];
    CU_ASSERT_EQUAL(svx_audio_read(rd, buf, 8), 3);
    CU_ASSERT_EQUAL(buf[0], 0.5f);
    CU_ASSERT_EQUAL(buf[1], -0.5f);
    CU_ASSERT_EQUAL(buf[2], 32767.0f / 32768.0f);
    CU_ASSERT_EQUAL(svx_audio_read(rd, buf, 8), 0);
    svx_audio_close(rd);
    fclose(f);

    /* A descriptor that cannot be read (the write end of a pipe): SVX_ERR_IO. */
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    CU_ASSERT_EQUAL_FATAL(svx_audio_open_raw_fd(fds[1], TARGET_HZ, TARGET_HZ, &rd), SVX_OK);
    CU_ASSERT_EQUAL(svx_audio_read(rd, buf, 8), SVX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "read failed"));
    svx_audio_close(rd);
    close(fds[0]);
    close(fds[1]);

    CU_ASSERT_EQUAL(svx_audio_open_raw_fd(-1, TARGET_HZ, TARGET_HZ, &rd), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_audio_open_raw_fd(0, 0, TARGET_HZ, &rd), SVX_ERR_BAD_AUDIO);
}

/* --- constant memory ----------------------------------------------------------- */
static void test_long_file_constant_memory(void)
{
    /* Ten minutes of 8 kHz stereo: exercises mixing and resampling. */
    const double seconds = 600.0;
    char path[512];
    tu_tmp_path(path, sizeof path, "ten-minutes.wav");
    clock_t t0 = clock();
    CU_ASSERT_EQUAL_FATAL(write_test_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, seconds), 0);
    svx_audio_reader *rd;
    CU_ASSERT_EQUAL_FATAL(svx_audio_open_file(path, TARGET_HZ, &rd), SVX_OK);
    uint64_t allocs0 = tu_alloc_count();
    static float buf[4096];
    long got;
    size_t total = 0;
    double sum_sq = 0;
    while ((got = svx_audio_read(rd, buf, 4096)) > 0) {
        total += (size_t)got;
        for (long i = 0; i < got; i++)
            sum_sq += (double)buf[i] * buf[i];
    }
    uint64_t allocs = tu_alloc_count() - allocs0;
    svx_audio_close(rd);
    unlink(path);
    double rms = sqrt(sum_sq / (double)(total ? total : 1));
    printf("\n  10-minute 8 kHz stereo -> %zu samples at 16 kHz, %llu allocations while reading, "
           "rms %.4f, %.1f s CPU\n",
           total, (unsigned long long)allocs, rms, (double)(clock() - t0) / CLOCKS_PER_SEC);
    CU_ASSERT_EQUAL(got, 0);
    CU_ASSERT_EQUAL(allocs, 0);
    CU_ASSERT(total + 2 >= (size_t)(seconds * TARGET_HZ) && total <= (size_t)(seconds * TARGET_HZ) + 2);
    /* Two 0.3-amplitude sines: rms 0.3 (the side signal cancels in the mean).
     * Over ten minutes the chirp's frequency sweeps past 4 kHz and aliases in
     * the 8 kHz file; the part that falls in the resampler's transition band
     * (above ~3.6 kHz) is attenuated, hence 0.293 measured. */
    TU_ASSERT_CLOSE(rms, 0.3, 0.01);
}

/* --- files from an independent encoder (sox) ------------------------------------
 * tests/data/audio/make.sh writes a 0.2 s, 440 Hz sine at amplitude 0.5 in
 * several containers, formats, rates and channel counts. A 440 Hz sine fitted
 * by least squares to the interior of what the reader returns must have that
 * amplitude, and the residual must be small. */
#define SOX_DIR "tests/data/audio/"
#define SOX_AMPLITUDE 0.5
#define SOX_AMPLITUDE_TOL 0.005

static void fit_sine(const float *x, size_t n, double hz, double rate, double *amp, double *snr_db)
{
    /* Normal equations of x ~ a sin + b cos. */
    double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2 * PI * hz * (double)i / rate, si = sin(w), co = cos(w);
        ss += si * si; cc += co * co; sc += si * co;
        xs += x[i] * si; xc += x[i] * co;
    }
    double det = ss * cc - sc * sc;
    double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
    double e = 0, p = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2 * PI * hz * (double)i / rate, m = a * sin(w) + b * cos(w);
        e += (x[i] - m) * (x[i] - m);
        p += m * m;
    }
    *amp = sqrt(a * a + b * b);
    *snr_db = e > 0 ? 10 * log10(p / e) : INFINITY;
}

static void test_sox_files(void)
{
    /* Residual limits sit 7-23 dB under what was measured (printed below):
     * 91.9, 45.8, 143.5, 136.0, 96.5 and 41.6 dB. */
    static const struct { const char *name; int rate; int channels; double min_snr; } files[] = {
        {"sox_s16_16000.wav", 16000, 1, 85},
        {"sox_u8_8000.wav", 8000, 1, 38},
        {"sox_s24_32000.aiff", 32000, 1, 120},
        {"sox_f32_11025_stereo.wav", 11025, 2, 120},
        {"sox_s16_44100_stereo.flac", 44100, 2, 88},
        {"sox_16000.ogg", 16000, 1, 33},
    };
    if (access(SOX_DIR "make.sh", R_OK) != 0) {
        printf("\n  SKIPPED: %s not found (run the tests from the repository root)\n", SOX_DIR);
        return;
    }
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, SOX_DIR "%s", files[k].name);
        svx_audio_reader *rd;
        int rc = svx_audio_open_file(path, TARGET_HZ, &rd);
        CU_ASSERT_EQUAL(rc, SVX_OK);
        if (rc != SVX_OK) {
            printf("\n  %s\n", svx_last_error_message());
            continue;
        }
        CU_ASSERT_EQUAL(svx_audio_source_rate(rd), files[k].rate);
        CU_ASSERT_EQUAL(svx_audio_source_channels(rd), files[k].channels);
        size_t n = 0;
        float *x = read_reader(rd, 333, &n);
        svx_audio_close(rd);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT(n + 2 >= 3200 && n <= 3202);
        double amp = 0, snr = -INFINITY;
        if (n > 2 * EDGE_SKIP + 100)
            fit_sine(x + EDGE_SKIP, n - 2 * EDGE_SKIP, 440.0, TARGET_HZ, &amp, &snr);
        printf("\n  %-26s -> %zu samples, 440 Hz amplitude %.5f, residual %.1f dB (min %.0f)",
               files[k].name, n, amp, snr, files[k].min_snr);
        TU_ASSERT_CLOSE(amp, SOX_AMPLITUDE, SOX_AMPLITUDE_TOL);
        CU_ASSERT(snr >= files[k].min_snr);
        free(x);
    }
    printf("\n");
}

void test_register_audio_reader(void);
void test_register_audio_reader(void)
{
    static const tu_test tests[] = {
        {"WAV/FLAC/AIFF 8-32 bit, float, multichannel at 16 kHz are bit-exact", test_formats_exact},
        {"Ogg Vorbis decodes close to the reference", test_vorbis},
        {"8/22.05/44.1/48 kHz resample to the 16 kHz reference", test_resampled},
        {"read chunk size does not change the output", test_chunk_invariance},
        {"hostile files: exact error code, file named, distinct messages", test_bad_inputs},
        {"NaN/Inf float samples: SVX_ERR_BAD_AUDIO with the sample index", test_non_finite},
        {"raw s16le from a pipe written in odd-sized pieces", test_raw_fd},
        {"ten-minute file: no allocation after open", test_long_file_constant_memory},
        {"files written by sox read back as the sine they hold", test_sox_files},
    };
    tu_add_suite("audio_reader", tests, sizeof tests / sizeof tests[0]);
}
