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

#include "shiftvox.h"
#include "testutil.h"

#define TONE_HZ 440.0
#define TONE_AMPLITUDE 0.5
#define CAPTURE_RATE_HZ 16000
#define RMS_REL_TOL 0.03      /* relative error of the captured RMS */
#define FREQ_TOL_HZ 3.0       /* zero-crossing frequency estimate */

static int g_ready = -1;      /* -1 not tried, 0 unavailable, 1 ready */

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
    };
    tu_add_suite("capture", tests, sizeof tests / sizeof tests[0]);
}
