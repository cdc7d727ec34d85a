/* Live capture with PortAudio.
 *
 * Threads: PortAudio calls capture_callback on its own thread; the callback
 * only copies the interleaved device frames into a preallocated lock-free
 * SPSC ring (ring.h) and counts what does not fit. Mixing to mono and
 * resampling happen in svx_capture_read, on the consumer's thread.
 *
 * Pa_Initialize / Pa_Terminate are reference-counted under a mutex, so
 * several captures and device listings may overlap.
 */
#include "audio_internal.h"
#include "capture_internal.h"
#include "ring.h"

#include <ctype.h>
#include <limits.h>
#include <portaudio.h>
#include <pthread.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct svx_capture {
    PaStream *stream;
    svx_ring ring;           /* interleaved device frames, float */
    int channels;            /* channels opened on the device (1 or 2) */
    int is_int16;            /* sample format: paInt16, else paFloat32 */
    double device_rate;
    int target_rate;
    char name[128];
    atomic_int finished;     /* set by PortAudio when the stream ends */

    float *scratch;          /* SVX_AUDIO_CHUNK_FRAMES * channels */
    float *mono;             /* SVX_AUDIO_CHUNK_FRAMES */
    size_t mono_pos, mono_len;
    SRC_STATE *src;          /* NULL when device_rate == target_rate */
    double ratio;
    float *out;              /* SVX_AUDIO_CHUNK_FRAMES */
    size_t out_pos, out_len;
    int pa_held;
};

/* --- PortAudio reference count ---------------------------------------------- */
static pthread_mutex_t g_pa_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_pa_users;

static int pa_acquire(void)
{
    int rc = SVX_OK;
    pthread_mutex_lock(&g_pa_lock);
    if (g_pa_users == 0) {
        PaError e = Pa_Initialize();
        if (e != paNoError)
            rc = svx_fail(SVX_ERR_DEVICE, "cannot initialise PortAudio: %s", Pa_GetErrorText(e));
    }
    if (rc == SVX_OK)
        g_pa_users++;
    pthread_mutex_unlock(&g_pa_lock);
    return rc;
}

static void pa_release(void)
{
    pthread_mutex_lock(&g_pa_lock);
    if (g_pa_users > 0 && --g_pa_users == 0)
        Pa_Terminate();
    pthread_mutex_unlock(&g_pa_lock);
}

static void copy_name(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

/* --- device listing and lookup ------------------------------------------------ */
int svx_capture_list_devices(svx_device_info *out, int max_devices)
{
    if (max_devices < 0 || (!out && max_devices > 0))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_capture_list_devices: NULL out with max_devices %d",
                        max_devices);
    int rc = pa_acquire();
    if (rc < 0)
        return rc;
    int n_dev = Pa_GetDeviceCount();
    if (n_dev < 0) {
        rc = svx_fail(SVX_ERR_DEVICE, "cannot list audio devices: %s", Pa_GetErrorText(n_dev));
        pa_release();
        return rc;
    }
    PaDeviceIndex def = Pa_GetDefaultInputDevice();
    int n_in = 0;
    for (int i = 0; i < n_dev; i++) {
        const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
        if (!di || di->maxInputChannels <= 0)
            continue;
        if (n_in < max_devices) {
            svx_device_info *d = &out[n_in];
            d->index = i;
            copy_name(d->name, sizeof d->name, di->name);
            d->max_input_channels = di->maxInputChannels;
            d->default_rate_hz = di->defaultSampleRate;
            d->is_default = (i == def);
        }
        n_in++;
    }
    pa_release();
    return n_in;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* Resolves cfg->device to an input device index (PortAudio initialised). */
static int find_device(const char *spec, PaDeviceIndex *out)
{
    int n_dev = Pa_GetDeviceCount();
    if (n_dev < 0)
        return svx_fail(SVX_ERR_DEVICE, "cannot list audio devices: %s", Pa_GetErrorText(n_dev));
    if (!spec) {
        PaDeviceIndex def = Pa_GetDefaultInputDevice();
        if (def == paNoDevice)
            return svx_fail(SVX_ERR_DEVICE, "no default audio input device (%d devices in all)", n_dev);
        *out = def;
        return SVX_OK;
    }
    int all_digits = spec[0] != '\0';
    for (const char *p = spec; *p; p++)
        if (!isdigit((unsigned char)*p))
            all_digits = 0;
    if (all_digits) {
        long idx = strtol(spec, NULL, 10);
        if (idx >= n_dev)
            return svx_fail(SVX_ERR_DEVICE, "audio device %s does not exist (indices 0 .. %d)", spec,
                            n_dev - 1);
        const PaDeviceInfo *di = Pa_GetDeviceInfo((PaDeviceIndex)idx);
        if (!di || di->maxInputChannels <= 0)
            return svx_fail(SVX_ERR_DEVICE, "audio device %s (%s) has no input channels", spec,
                            di && di->name ? di->name : "?");
        *out = (PaDeviceIndex)idx;
        return SVX_OK;
    }
    for (int i = 0; i < n_dev; i++) {
        const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
        if (di && di->maxInputChannels > 0 && di->name && contains_nocase(di->name, spec)) {
            *out = i;
            return SVX_OK;
        }
    }
    return svx_fail(SVX_ERR_DEVICE, "no audio input device name contains '%s' (see shiftvox devices)",
                    spec);
}

/* --- the real-time callback ---------------------------------------------------- */
/* Runs on PortAudio's thread: no allocation, lock, print or I/O. */
static int capture_callback(const void *input, void *output, unsigned long n_frames,
                            const PaStreamCallbackTimeInfo *time_info,
                            PaStreamCallbackFlags status, void *user)
{
    (void)output;
    (void)time_info;
    (void)status;
    svx_capture *cap = user;
    if (!input)
        return paContinue;
    size_t ch = (size_t)cap->channels;
    size_t fit = svx_ring_space(&cap->ring) / ch;
    size_t n = n_frames < fit ? (size_t)n_frames : fit;
    if (cap->is_int16)
        svx_ring_write_s16(&cap->ring, input, n * ch);
    else
        svx_ring_write(&cap->ring, input, n * ch);
    svx_ring_add_dropped(&cap->ring, (uint64_t)(n_frames - n));
    return paContinue;
}

static void capture_finished(void *user)
{
    svx_capture *cap = user;
    atomic_store(&cap->finished, 1);
}

/* --- open / read / close -------------------------------------------------------- */
void svx_capture_config_default(svx_capture_config *cfg)
{
    if (!cfg)
        return;
    cfg->device = NULL;
    cfg->target_rate_hz = 16000;
    cfg->ring_seconds = 2.0;
    cfg->frames_per_buffer = 0;
}

void svx_capture_close(svx_capture *cap)
{
    if (!cap)
        return;
    if (cap->stream) {
        Pa_AbortStream(cap->stream);
        Pa_CloseStream(cap->stream);
    }
    if (cap->src)
        src_delete(cap->src);
    svx_ring_free(&cap->ring);
    free(cap->scratch);
    free(cap->mono);
    free(cap->out);
    if (cap->pa_held)
        pa_release();
    free(cap);
}

/* Sizes the ring and the consumer's buffers, and the resampler when the
 * device rate differs from the target (device_rate, channels set). */
static int capture_alloc(svx_capture *cap, double ring_seconds)
{
    double ring_frames = ring_seconds * cap->device_rate;
    int rc = svx_ring_init(&cap->ring, (size_t)ring_frames * (size_t)cap->channels);
    if (rc < 0)
        return rc;
    cap->scratch = malloc((size_t)SVX_AUDIO_CHUNK_FRAMES * (size_t)cap->channels * sizeof(float));
    cap->mono = malloc(SVX_AUDIO_CHUNK_FRAMES * sizeof(float));
    if (!cap->scratch || !cap->mono)
        return svx_fail(SVX_ERR_NO_MEMORY, "capture: out of memory");
    if (cap->device_rate != (double)cap->target_rate) {
        cap->ratio = (double)cap->target_rate / cap->device_rate;
        int e = 0;
        cap->out = malloc(SVX_AUDIO_CHUNK_FRAMES * sizeof(float));
        cap->src = src_is_valid_ratio(cap->ratio) ? src_new(SVX_AUDIO_SRC_CONVERTER, 1, &e) : NULL;
        if (!cap->out || !cap->src)
            return svx_fail(SVX_ERR_DEVICE, "capture: cannot resample %g Hz to %d Hz%s%s", cap->device_rate,
                            cap->target_rate, e ? ": " : "", e ? src_strerror(e) : "");
    }
    return SVX_OK;
}

int svx_capture_open_detached(double device_rate_hz, int channels, int is_int16, int target_rate_hz,
                              double ring_seconds, svx_capture **out)
{
    if (!out || channels < 1 || channels > 2 || !(device_rate_hz >= SVX_AUDIO_MIN_RATE_HZ) ||
        device_rate_hz > SVX_AUDIO_MAX_RATE_HZ || target_rate_hz < SVX_AUDIO_MIN_RATE_HZ ||
        target_rate_hz > SVX_AUDIO_MAX_RATE_HZ || !(ring_seconds > 0 && ring_seconds <= 60))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_capture_open_detached: bad argument");
    *out = NULL;
    svx_capture *cap = calloc(1, sizeof *cap);
    if (!cap)
        return svx_fail(SVX_ERR_NO_MEMORY, "capture: out of memory");
    atomic_init(&cap->finished, 0);
    cap->device_rate = device_rate_hz;
    cap->channels = channels;
    cap->is_int16 = is_int16 != 0;
    cap->target_rate = target_rate_hz;
    copy_name(cap->name, sizeof cap->name, "detached");
    int rc = capture_alloc(cap, ring_seconds);
    if (rc < 0) {
        svx_capture_close(cap);
        return rc;
    }
    *out = cap;
    return SVX_OK;
}

void svx_capture_detached_push(svx_capture *cap, const void *frames, unsigned long n_frames)
{
    capture_callback(frames, NULL, n_frames, NULL, 0, cap);
}

void svx_capture_detached_finish(svx_capture *cap) { capture_finished(cap); }

void svx_capture_fault_abort(svx_capture *cap)
{
    if (cap && cap->stream)
        Pa_AbortStream(cap->stream);
}

int svx_capture_open(const svx_capture_config *cfg_in, svx_capture **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_capture_open: NULL out");
    svx_capture_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        svx_capture_config_default(&cfg);
    if (cfg.target_rate_hz < SVX_AUDIO_MIN_RATE_HZ || cfg.target_rate_hz > SVX_AUDIO_MAX_RATE_HZ)
        return svx_fail(SVX_ERR_INVALID_ARG, "capture: target rate %d Hz outside %d .. %d",
                        cfg.target_rate_hz, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);
    if (!(cfg.ring_seconds > 0.01 && cfg.ring_seconds <= 60.0))
        return svx_fail(SVX_ERR_INVALID_ARG, "capture: ring buffer of %g s, expected 0.01 .. 60",
                        cfg.ring_seconds);
    if (cfg.frames_per_buffer < 0 || cfg.frames_per_buffer > 65536)
        return svx_fail(SVX_ERR_INVALID_ARG, "capture: frames_per_buffer %d, expected 0 .. 65536",
                        cfg.frames_per_buffer);

    svx_capture *cap = calloc(1, sizeof *cap);
    if (!cap)
        return svx_fail(SVX_ERR_NO_MEMORY, "capture: out of memory");
    atomic_init(&cap->finished, 0);
    cap->target_rate = cfg.target_rate_hz;
    int rc = pa_acquire();
    if (rc < 0) {
        free(cap);
        return rc;
    }
    cap->pa_held = 1;

    PaDeviceIndex dev = paNoDevice;
    rc = find_device(cfg.device, &dev);
    if (rc < 0)
        goto fail;
    const PaDeviceInfo *di = Pa_GetDeviceInfo(dev);
    if (!di) {
        rc = svx_fail(SVX_ERR_DEVICE, "audio device %d: no information from PortAudio", dev);
        goto fail;
    }
    copy_name(cap->name, sizeof cap->name, di->name);

    /* The target rate in mono first; then the device's own rate; stereo only
     * for devices that refuse mono. 16-bit integers first: what microphones
     * deliver, and what ALSA's file plugin reads from a raw s16le file. */
    PaStreamParameters in;
    memset(&in, 0, sizeof in);
    in.device = dev;
    in.suggestedLatency = di->defaultLowInputLatency;
    const double rates[2] = {(double)cfg.target_rate_hz, di->defaultSampleRate};
    const PaSampleFormat formats[2] = {paInt16, paFloat32};
    int found = 0;
    for (int r = 0; r < 2 && !found; r++)
        for (int ch = 1; ch <= 2 && ch <= di->maxInputChannels && !found; ch++)
            for (int f = 0; f < 2 && !found; f++) {
                in.channelCount = ch;
                in.sampleFormat = formats[f];
                if (rates[r] > 0 && Pa_IsFormatSupported(&in, NULL, rates[r]) == paFormatIsSupported) {
                    cap->device_rate = rates[r];
                    cap->channels = ch;
                    cap->is_int16 = formats[f] == paInt16;
                    found = 1;
                }
            }
    if (!found) {
        rc = svx_fail(SVX_ERR_DEVICE,
                      "audio device %d (%s) supports neither %d Hz nor its default %g Hz in mono or stereo, 16-bit or float",
                      dev, cap->name, cfg.target_rate_hz, di->defaultSampleRate);
        goto fail;
    }

    rc = capture_alloc(cap, cfg.ring_seconds);
    if (rc < 0)
        goto fail;

    unsigned long fpb = cfg.frames_per_buffer > 0 ? (unsigned long)cfg.frames_per_buffer
                                                  : paFramesPerBufferUnspecified;
    PaError pe = Pa_OpenStream(&cap->stream, &in, NULL, cap->device_rate, fpb, paNoFlag,
                               capture_callback, cap);
    if (pe != paNoError) {
        cap->stream = NULL;
        rc = svx_fail(SVX_ERR_DEVICE, "cannot open audio device %d (%s) at %g Hz: %s", dev, cap->name,
                      cap->device_rate, Pa_GetErrorText(pe));
        goto fail;
    }
    Pa_SetStreamFinishedCallback(cap->stream, capture_finished);
    pe = Pa_StartStream(cap->stream);
    if (pe != paNoError) {
        rc = svx_fail(SVX_ERR_DEVICE, "cannot start audio device %d (%s): %s", dev, cap->name,
                      Pa_GetErrorText(pe));
        goto fail;
    }
    *out = cap;
    return SVX_OK;
fail:
    svx_capture_close(cap);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Moves up to one chunk of frames from the ring into cap->mono. */
static void take_from_ring(svx_capture *cap, size_t n_frames)
{
    size_t ch = (size_t)cap->channels;
    if (n_frames > SVX_AUDIO_CHUNK_FRAMES)
        n_frames = SVX_AUDIO_CHUNK_FRAMES;
    if (ch == 1) {
        svx_ring_read(&cap->ring, cap->mono, n_frames);
    } else {
        svx_ring_read(&cap->ring, cap->scratch, n_frames * ch);
        for (size_t f = 0; f < n_frames; f++) {
            float sum = 0;
            for (size_t c = 0; c < ch; c++)
                sum += cap->scratch[f * ch + c];
            cap->mono[f] = sum / (float)ch;
        }
    }
    cap->mono_pos = 0;
    cap->mono_len = n_frames;
}

long svx_capture_read(svx_capture *cap, float *pcm, size_t max_samples, int timeout_ms)
{
    if (!cap || (!pcm && max_samples))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_capture_read: NULL %s", cap ? "pcm" : "capture");
    if (max_samples > (size_t)LONG_MAX)
        max_samples = (size_t)LONG_MAX;
    double deadline = now_s() + (timeout_ms > 0 ? timeout_ms : 0) * 1e-3;
    size_t n_out = 0;
    while (n_out < max_samples) {
        if (cap->out_pos < cap->out_len) {
            n_out += svx_audio_drain(cap->out, &cap->out_pos, cap->out_len, pcm + n_out,
                                     max_samples - n_out);
        } else if (cap->mono_pos < cap->mono_len && !cap->src) {
            n_out += svx_audio_drain(cap->mono, &cap->mono_pos, cap->mono_len, pcm + n_out,
                                     max_samples - n_out);
        } else if (cap->mono_pos < cap->mono_len) {
            SRC_DATA d;
            memset(&d, 0, sizeof d);
            d.data_in = cap->mono + cap->mono_pos;
            d.input_frames = (long)(cap->mono_len - cap->mono_pos);
            d.data_out = cap->out;
            d.output_frames = SVX_AUDIO_CHUNK_FRAMES;
            d.src_ratio = cap->ratio;
            int e = src_process(cap->src, &d);
            if (e)
                return svx_fail(SVX_ERR_DEVICE, "%s: resampler failed: %s", cap->name, src_strerror(e));
            cap->mono_pos += (size_t)d.input_frames_used;
            cap->out_pos = 0;
            cap->out_len = (size_t)d.output_frames_gen;
        } else if (n_out > 0) {
            break;
        } else {
            size_t avail = svx_ring_available(&cap->ring) / (size_t)cap->channels;
            if (avail > 0) {
                take_from_ring(cap, avail);
                continue;
            }
            if (atomic_load(&cap->finished) || (cap->stream && Pa_IsStreamActive(cap->stream) != 1))
                return svx_fail(SVX_ERR_DEVICE, "%s: the audio stream stopped", cap->name);
            double left = deadline - now_s();
            if (left <= 0)
                break;
            double nap = left < 0.002 ? left : 0.002;
            struct timespec ts = {0, (long)(nap * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    return (long)n_out;
}

uint64_t svx_capture_overruns(const svx_capture *cap)
{
    if (!cap)
        return 0;
    /* The ring counts dropped device frames; report them at the target rate. */
    uint64_t dropped = svx_ring_dropped(&cap->ring);
    if (cap->src)
        dropped = (uint64_t)((double)dropped * cap->ratio + 0.5);
    return dropped;
}

double svx_capture_device_rate(const svx_capture *cap) { return cap ? cap->device_rate : 0; }
const char *svx_capture_device_name(const svx_capture *cap) { return cap ? cap->name : ""; }
