/* Real PortAudio capture without a microphone: ALSA's `file` PCM plugin
 * serves capture from a raw s16le file (../shared/notes/alsa-file-capture.md).
 * The suite writes a 440 Hz tone and a test-only ALSA configuration into the
 * test's temporary directory and points ALSA_CONFIG_PATH at it before the
 * first Pa_Initialize of the process (no other suite uses PortAudio).
 *
 * The configuration stands alone (it defines "null" itself) instead of
 * following the system's alsa.conf as the note does: alsa.conf pulls in
 * alsa.conf.d, whose JACK/PulseAudio plugins PortAudio probes when it lists
 * devices; they leak memory from modules unloaded at exit, which fails the
 * LeakSanitizer run of `make asan`, and they print JACK errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../audio/capture_internal.h"
#include "shiftvox.h"
#include "testutil.h"

#define TONE_HZ 440.0
#define TONE_AMPLITUDE 0.5
#define CAPTURE_RATE_HZ 16000
#define RMS_REL_TOL 0.03      /* relative error of the captured RMS */
#define FREQ_TOL_HZ 3.0       /* zero-crossing frequency estimate */
#define DETACHED_SNR_MIN_DB 90.0   /* float device frames resampled (measured ~120 dB) */
#define DETACHED_S16_SNR_MIN_DB 75.0 /* 16-bit device frames resampled (measured ~88 dB) */
#define EDGE_SKIP 400           /* samples ignored at each end of a resampled signal */

static int g_ready = -1;      /* -1 not tried, 0 unavailable, 1 ready */
static char *g_saved_env;     /* ALSA_CONFIG_PATH before this suite, restored by its last test */
static int g_had_env;

static int setup_alsa_file_device(void)
{
    if (g_ready >= 0)
        return g_ready;
    g_ready = 0;
    char raw[512], conf[512];
    tu_tmp_path(raw, sizeof raw, "capture-input.raw");
    tu_tmp_path(conf, sizeof conf, "test-asound.conf");
    if (raw[0] != '/')
        return 0;
    /* 3 s of tone; the plugin keeps delivering past the end of the file. */
    enum { N = 3 * CAPTURE_RATE_HZ };
    unsigned char *b = malloc(2 * N);
    for (int i = 0; i < N; i++) {
        int16_t v = (int16_t)lrint(TONE_AMPLITUDE * 32767.0 *
                                   sin(2 * 3.14159265358979323846 * TONE_HZ * i / CAPTURE_RATE_HZ));
        b[2 * i] = (unsigned char)((uint16_t)v & 0xFF);
        b[2 * i + 1] = (unsigned char)((uint16_t)v >> 8);
    }
    int rc = tu_write_file(raw, b, 2 * N);
    free(b);
    char text[2048];
    int len = snprintf(text, sizeof text,
                       "pcm.null { type null }\n"
                       "pcm.!default { type asym capture.pcm \"filemic\" playback.pcm \"null\" }\n"
                       "pcm.filemic {\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n"
                       "  infile \"%s\"\n  format \"raw\"\n}\n",
                       raw);
    if (rc != 0 || tu_write_file(conf, text, (size_t)len) != 0) {
        printf("\n  SKIPPED: cannot write %s\n", conf);
        return 0;
    }
    const char *old = getenv("ALSA_CONFIG_PATH");
    g_had_env = old != NULL;
    g_saved_env = old ? strdup(old) : NULL;
    setenv("ALSA_CONFIG_PATH", conf, 1);
    g_ready = 1;
    return 1;
}

/* Reads exactly n samples (timeouts of 200 ms, at most ~5 s in all). */
static long read_exactly(svx_capture *cap, float *x, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 25; tries++) {
        long r = svx_capture_read(cap, x + got, n - got, 200);
        if (r < 0)
            return r;
        got += (size_t)r;
    }
    return (long)got;
}

static double rms_of(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* Frequency from the rising zero crossings between the first and the last. */
static double zero_crossing_hz(const float *x, size_t n, double rate)
{
    long first = -1, last = -1, count = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i - 1] < 0 && x[i] >= 0) {
            if (first < 0)
                first = (long)i;
            last = (long)i;
            count++;
        }
    if (count < 2)
        return 0;
    return (double)(count - 1) * rate / (double)(last - first);
}

static void check_tone(const char *what, const float *x, size_t n)
{
    double rms = rms_of(x, n), want = TONE_AMPLITUDE / sqrt(2.0);
    double hz = zero_crossing_hz(x, n, CAPTURE_RATE_HZ);
    printf("\n  %s: %zu samples, rms %.4f (want %.4f), %.1f Hz", what, n, rms, want, hz);
    CU_ASSERT(fabs(rms - want) <= RMS_REL_TOL * want);
    CU_ASSERT(fabs(hz - TONE_HZ) <= FREQ_TOL_HZ);
}

static int find_filemic(void)
{
    svx_device_info devs[64];
    int n = svx_capture_list_devices(devs, 64);
    for (int i = 0; i < n && i < 64; i++)
        if (!strcmp(devs[i].name, "filemic"))
            return devs[i].index;
    return -1;
}

static void test_list_devices(void)
{
    if (!setup_alsa_file_device())
        return;
    svx_device_info devs[64];
    int n = svx_capture_list_devices(devs, 64);
    CU_ASSERT_FATAL(n >= 1);
    CU_ASSERT_EQUAL(svx_capture_list_devices(NULL, 0), n);
    CU_ASSERT_EQUAL(svx_capture_list_devices(NULL, 3), SVX_ERR_INVALID_ARG);
    int found = 0, n_default = 0;
    for (int i = 0; i < n && i < 64; i++) {
        CU_ASSERT(devs[i].max_input_channels > 0);
        CU_ASSERT(devs[i].default_rate_hz > 0);
        found += !strcmp(devs[i].name, "filemic");
        n_default += devs[i].is_default != 0;
    }
    CU_ASSERT_EQUAL(found, 1);
    CU_ASSERT_EQUAL(n_default, 1);
}

static void test_capture_tone(void)
{
    if (!setup_alsa_file_device())
        return;
    svx_capture_config cfg;
    svx_capture_config_default(&cfg);
    CU_ASSERT_EQUAL(cfg.target_rate_hz, 16000);
    cfg.device = "FileMic";                      /* case-insensitive name */
    svx_capture *cap;
    int rc = svx_capture_open(&cfg, &cap);
    if (rc < 0)
        printf("\n  open: %s\n", svx_last_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, SVX_OK);
    CU_ASSERT_STRING_EQUAL(svx_capture_device_name(cap), "filemic");
    CU_ASSERT_EQUAL(svx_capture_device_rate(cap), (double)CAPTURE_RATE_HZ);
    enum { N = CAPTURE_RATE_HZ };
    static float x[N];
    CU_ASSERT_EQUAL(read_exactly(cap, x, N), N);
    check_tone("capture 1 s", x, N);

    /* Listing devices while capturing must not terminate PortAudio under the
     * open stream (Pa_Initialize/Pa_Terminate are reference-counted). */
    CU_ASSERT(svx_capture_list_devices(NULL, 0) >= 1);
    CU_ASSERT_EQUAL(read_exactly(cap, x, N / 4), N / 4);
    check_tone("after a device listing", x, N / 4);
    CU_ASSERT_EQUAL(svx_capture_read(cap, x, 0, 10), 0);
    svx_capture_close(cap);
    svx_capture_close(NULL);
}

static void test_capture_by_index(void)
{
    if (!setup_alsa_file_device())
        return;
    int idx = find_filemic();
    CU_ASSERT_FATAL(idx >= 0);
    char spec[16];
    snprintf(spec, sizeof spec, "%d", idx);
    svx_capture_config cfg;
    svx_capture_config_default(&cfg);
    cfg.device = spec;
    cfg.frames_per_buffer = 160;
    svx_capture *cap;
    CU_ASSERT_EQUAL_FATAL(svx_capture_open(&cfg, &cap), SVX_OK);
    CU_ASSERT_STRING_EQUAL(svx_capture_device_name(cap), "filemic");
    static float x[4800];
    CU_ASSERT_EQUAL(read_exactly(cap, x, 4800), 4800);
    check_tone("by index, 160-frame buffers", x, 4800);
    svx_capture_close(cap);
}

/* The consumer stalls: the callback drops and counts, never blocks, and
 * capture goes on delivering the signal afterwards. */
static void test_overrun(void)
{
    if (!setup_alsa_file_device())
        return;
    svx_capture_config cfg;
    svx_capture_config_default(&cfg);
    cfg.device = "filemic";
    cfg.ring_seconds = 0.1;                      /* 1600 frames -> 2048 */
    svx_capture *cap;
    CU_ASSERT_EQUAL_FATAL(svx_capture_open(&cfg, &cap), SVX_OK);
    struct timespec ts = {0, 600 * 1000000L};
    nanosleep(&ts, NULL);
    uint64_t over = svx_capture_overruns(cap);
    /* At least 0.6 s of audio into a 2048-sample ring. (ALSA's file plugin
     * over the null PCM is not paced by a clock: it delivers as fast as it
     * is asked, so far more is dropped than 0.6 s; no upper bound here.) */
    printf("\n  stalled 0.6 s with a 2048-sample ring: %llu samples dropped",
           (unsigned long long)over);
    CU_ASSERT(over > 0.6 * CAPTURE_RATE_HZ - 2048);
    /* The ring kept the oldest samples: the first 2048 read are contiguous. */
    static float x[8000];
    CU_ASSERT_EQUAL(read_exactly(cap, x, 2000), 2000);
    check_tone("first read after the stall", x, 2000);
    /* Capture goes on. Later reads are spliced wherever the unpaced test
     * device overran again, which moves zero crossings but not the level. */
    CU_ASSERT_EQUAL(read_exactly(cap, x, 8000), 8000);
    double rms = rms_of(x, 8000), want = TONE_AMPLITUDE / sqrt(2.0);
    CU_ASSERT(fabs(rms - want) <= RMS_REL_TOL * want);
    CU_ASSERT(svx_capture_overruns(cap) >= over);
    svx_capture_close(cap);
}

static void test_bad_device(void)
{
    if (!setup_alsa_file_device())
        return;
    svx_capture_config cfg;
    svx_capture_config_default(&cfg);
    svx_capture *cap = (svx_capture *)&cfg;
    cfg.device = "no-such-microphone";
    CU_ASSERT_EQUAL(svx_capture_open(&cfg, &cap), SVX_ERR_DEVICE);
    CU_ASSERT_PTR_NULL(cap);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "no-such-microphone"));
    cfg.device = "9999";
    CU_ASSERT_EQUAL(svx_capture_open(&cfg, &cap), SVX_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "9999"));
    cfg.device = NULL;
    cfg.ring_seconds = 0;
    CU_ASSERT_EQUAL(svx_capture_open(&cfg, &cap), SVX_ERR_INVALID_ARG);
    svx_capture_config_default(&cfg);
    cfg.target_rate_hz = 0;
    CU_ASSERT_EQUAL(svx_capture_open(&cfg, &cap), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_capture_open(NULL, NULL), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_capture_read(NULL, NULL, 0, 0), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_capture_overruns(NULL), 0);
}

/* The command lists the same device (child process, same environment). */
static void test_devices_command(void)
{
    if (!setup_alsa_file_device())
        return;
    char cmd[600], out[8192];
    snprintf(cmd, sizeof cmd, "%s devices", tu_bin());
    int rc = tu_run(cmd, out, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "filemic"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "* "));
    snprintf(cmd, sizeof cmd, "%s devices --help", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: shiftvox devices"));
    snprintf(cmd, sizeof cmd, "%s devices --bogus", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, out, sizeof out), 2);
}

/* --- the consumer side without a device ---------------------------------------
 * svx_capture_open_detached runs the same callback, ring, mixing and
 * resampling as a PortAudio stream, fed by the test: it covers what the ALSA
 * file device cannot (it accepts 16 kHz, so nothing is resampled there). */
static double tone_signal(double t) { return 0.4 * sin(2 * 3.14159265358979323846 * 523.0 * t); }
static double side(double t) { return 0.2 * sin(2 * 3.14159265358979323846 * 1700.0 * t); }

/* Pushes seconds of the tone at rate in blocks of block frames; channel 0
 * carries tone + side, channel 1 tone - side. */
static void push_tone(svx_capture *cap, double rate, int channels, int is_int16, double seconds,
                      unsigned long block, float *out, size_t *n_out, size_t read_chunk)
{
    size_t total = (size_t)lround(seconds * rate);
    float fb[2 * 1024];
    int16_t ib[2 * 1024];
    for (size_t start = 0; start < total; start += block) {
        size_t n = total - start < block ? total - start : block;
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < channels; c++) {
                double t = (double)(start + i) / rate;
                double v = channels == 1 ? tone_signal(t) : tone_signal(t) + (c == 0 ? side(t) : -side(t));
                fb[i * (size_t)channels + (size_t)c] = (float)v;
                ib[i * (size_t)channels + (size_t)c] = (int16_t)lrint(v * 32767.0);
            }
        svx_capture_detached_push(cap, is_int16 ? (const void *)ib : (const void *)fb, n);
        if (out) {
            long r;
            while ((r = svx_capture_read(cap, out + *n_out, read_chunk, 0)) > 0)
                *n_out += (size_t)r;
        }
    }
}

static double snr_vs_tone(const float *x, size_t n, int *lag_out)
{
    static float ref[32000];
    double best = -INFINITY;
    *lag_out = 0;
    if (n > 32000 || n < 2 * EDGE_SKIP + 20)
        return best;
    for (size_t i = 0; i < n; i++)
        ref[i] = (float)tone_signal((double)i / CAPTURE_RATE_HZ);
    for (int lag = -8; lag <= 8; lag++) {
        double snr = tu_snr_db(x + EDGE_SKIP + lag, ref + EDGE_SKIP, n - 2 * EDGE_SKIP);
        if (snr > best) {
            best = snr;
            *lag_out = lag;
        }
    }
    return best;
}

static void test_detached_resampling(void)
{
    static const struct { double rate; int channels; int is_int16; unsigned long block; double min_snr; } cases[] = {
        {44100, 2, 0, 441, DETACHED_SNR_MIN_DB},
        {48000, 1, 1, 512, DETACHED_S16_SNR_MIN_DB},
        {22050, 2, 1, 1000, DETACHED_S16_SNR_MIN_DB},
        {16000, 2, 0, 160, DETACHED_SNR_MIN_DB},
    };
    static float x[32000];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        svx_capture *cap;
        CU_ASSERT_EQUAL_FATAL(svx_capture_open_detached(cases[k].rate, cases[k].channels, cases[k].is_int16,
                                                        CAPTURE_RATE_HZ, 2.0, &cap), SVX_OK);
        CU_ASSERT_EQUAL(svx_capture_device_rate(cap), cases[k].rate);
        size_t n = 0;
        push_tone(cap, cases[k].rate, cases[k].channels, cases[k].is_int16, 1.0, cases[k].block, x, &n, 1000);
        int lag;
        double snr = snr_vs_tone(x, n, &lag);
        printf("\n  detached %5.0f Hz x%d %s -> %zu samples, SNR %.1f dB at lag %d (min %.0f)", cases[k].rate,
               cases[k].channels, cases[k].is_int16 ? "s16" : "f32", n, snr, lag, cases[k].min_snr);
        /* A live stream is never flushed: the resampler may hold a few ms. */
        CU_ASSERT(n <= CAPTURE_RATE_HZ && n + 200 >= CAPTURE_RATE_HZ);
        CU_ASSERT(snr >= cases[k].min_snr);
        CU_ASSERT_EQUAL(lag, 0);
        CU_ASSERT_EQUAL(svx_capture_overruns(cap), 0);
        svx_capture_close(cap);
    }
}

/* How much the consumer asks for at a time does not change what it gets. */
static void test_detached_chunk_invariance(void)
{
    static const size_t chunks[] = {4096, 1, 7, 160};
    static float x0[32000], x[32000];
    size_t n0 = 0;
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        svx_capture *cap;
        CU_ASSERT_EQUAL_FATAL(svx_capture_open_detached(44100, 2, 1, CAPTURE_RATE_HZ, 2.0, &cap), SVX_OK);
        push_tone(cap, 44100, 2, 1, 0.5, 441, NULL, NULL, 0);   /* all in the ring first */
        size_t n = 0;
        long r;
        while ((r = svx_capture_read(cap, (c ? x : x0) + n, chunks[c], 0)) > 0)
            n += (size_t)r;
        CU_ASSERT(r == 0);
        if (c == 0) {
            n0 = n;
            CU_ASSERT(n0 > 7000);
        } else {
            CU_ASSERT_EQUAL(n, n0);
            CU_ASSERT(n == n0 && memcmp(x, x0, n * sizeof *x) == 0);
        }
        svx_capture_close(cap);
    }
}

/* Timeout, stopped stream and overruns counted at the target rate. */
static void test_detached_states(void)
{
    svx_capture *cap;
    CU_ASSERT_EQUAL_FATAL(svx_capture_open_detached(48000, 1, 0, CAPTURE_RATE_HZ, 0.1, &cap), SVX_OK);
    float x[8192];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(svx_capture_read(cap, x, 100, 50), 0);          /* nothing yet: times out */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
    CU_ASSERT(waited_ms >= 45 && waited_ms < 1000);

    /* 1 s at 48 kHz into a 0.1 s ring (4800 -> 8192 frames): 39,808 device
     * frames dropped, reported as 13,269 samples at 16 kHz. */
    push_tone(cap, 48000, 1, 0, 1.0, 480, NULL, NULL, 0);
    uint64_t over = svx_capture_overruns(cap);
    printf("\n  detached overrun: %llu samples at 16 kHz", (unsigned long long)over);
    CU_ASSERT(over >= 13260 && over <= 13280);

    /* After the stream stops, what is buffered is still delivered, then
     * SVX_ERR_DEVICE. */
    svx_capture_detached_finish(cap);
    size_t n = 0;
    long r;
    while ((r = svx_capture_read(cap, x, 1000, 10)) > 0)
        n += (size_t)r;
    CU_ASSERT_EQUAL(r, SVX_ERR_DEVICE);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "stopped"));
    CU_ASSERT(n > 2600 && n <= 8192 / 3 + 1);
    svx_capture_close(cap);
}

/* Last test of the suite: later suites (and the commands they run) see the
 * ALSA configuration the runner started with. */
static void test_restore_env(void)
{
    if (g_ready != 1)
        return;
    if (g_had_env)
        setenv("ALSA_CONFIG_PATH", g_saved_env, 1);
    else
        unsetenv("ALSA_CONFIG_PATH");
    const char *now = getenv("ALSA_CONFIG_PATH");
    CU_ASSERT(g_had_env ? (now && !strcmp(now, g_saved_env)) : now == NULL);
    free(g_saved_env);
    g_saved_env = NULL;
    g_ready = -1;
}

void test_register_capture(void);
void test_register_capture(void)
{
    static const tu_test tests[] = {
        {"lists the ALSA file device", test_list_devices},
        {"captures a 440 Hz tone by name at 16 kHz", test_capture_tone},
        {"opens by index with a fixed buffer size", test_capture_by_index},
        {"stalled consumer: overruns counted, capture continues", test_overrun},
        {"unknown device and bad config are refused", test_bad_device},
        {"shiftvox devices lists the device", test_devices_command},
        {"detached: callback -> ring -> mix -> resample matches the tone", test_detached_resampling},
        {"detached: read size does not change the output", test_detached_chunk_invariance},
        {"detached: timeout, overruns at the target rate, stopped stream", test_detached_states},
        {"ALSA_CONFIG_PATH is restored for later suites", test_restore_env},
    };
    tu_add_suite("capture", tests, sizeof tests / sizeof tests[0]);
}
