/* Audio file and raw-stream readers: any libsndfile format, mixed to mono,
 * resampled with libsamplerate, read in fixed-size chunks.
 *
 * Memory is allocated once in open (sized by the channel count and a fixed
 * chunk of SVX_AUDIO_CHUNK_FRAMES frames), so reading an hour-long file costs
 * what reading a second does. When the source rate equals the target rate the
 * resampler is not created and samples are copied unchanged (bit-exact).
 */
#include "audio_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct svx_audio_reader {
    char *name;              /* file path, or "fd N", for messages */
    SNDFILE *sf;             /* file source, or NULL */
    int fd;                  /* raw source, or -1 */
    int src_rate;
    int channels;
    int target_rate;
    int64_t src_frames;      /* -1 when unknown */

    float *interleaved;      /* file: SVX_AUDIO_CHUNK_FRAMES * channels */
    unsigned char *bytes;    /* raw: 2 * SVX_AUDIO_CHUNK_FRAMES + 1 */
    size_t n_carry;          /* raw: bytes of an incomplete sample (0 or 1) */

    float *mono;             /* one chunk of mono input at src_rate */
    size_t mono_pos, mono_len;
    int64_t n_frames_in;     /* source frames decoded so far (for messages) */
    int input_eof;

    SRC_STATE *src;          /* NULL when src_rate == target_rate */
    double ratio;            /* target / source */
    float *out;              /* resampled output, SVX_AUDIO_CHUNK_FRAMES */
    size_t out_pos, out_len;
    int done;

    int error;               /* sticky failure, reported again on every read */
    char error_msg[512];
};

static int rate_ok(int hz) { return hz >= SVX_AUDIO_MIN_RATE_HZ && hz <= SVX_AUDIO_MAX_RATE_HZ; }

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Records a failure that later reads must repeat, and returns it. */
static int reader_fail(svx_audio_reader *rd, int err, const char *fmt, ...) SVX_PRINTF(3, 4);
static int reader_fail(svx_audio_reader *rd, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->error_msg, sizeof rd->error_msg, fmt, ap);
    va_end(ap);
    rd->error = err;
    return svx_fail(err, "%s", rd->error_msg);
}

void svx_audio_close(svx_audio_reader *rd)
{
    if (!rd)
        return;
    if (rd->sf)
        sf_close(rd->sf);
    if (rd->src)
        src_delete(rd->src);
    free(rd->interleaved);
    free(rd->bytes);
    free(rd->mono);
    free(rd->out);
    free(rd->name);
    free(rd);
}

/* Allocates everything both kinds of reader need once the source is known. */
static int reader_setup(svx_audio_reader *rd)
{
    rd->mono = malloc(SVX_AUDIO_CHUNK_FRAMES * sizeof *rd->mono);
    if (!rd->mono)
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory for the read buffer", rd->name);
    if (rd->src_rate == rd->target_rate)
        return SVX_OK;
    rd->ratio = (double)rd->target_rate / (double)rd->src_rate;
    if (!src_is_valid_ratio(rd->ratio))
        return svx_fail(SVX_ERR_BAD_AUDIO,
                        "%s: cannot resample %d Hz to %d Hz (ratio %.6g outside libsamplerate's 1/256 .. 256)",
                        rd->name, rd->src_rate, rd->target_rate, rd->ratio);
    rd->out = malloc(SVX_AUDIO_CHUNK_FRAMES * sizeof *rd->out);
    if (!rd->out)
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory for the resampler buffer", rd->name);
    int src_err = 0;
    rd->src = src_new(SVX_AUDIO_SRC_CONVERTER, 1, &src_err);
    if (!rd->src)
        return svx_fail(SVX_ERR_NO_MEMORY,
                        "%s: cannot create the resampler: %s", rd->name, src_strerror(src_err));
    return SVX_OK;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* libsndfile refused the file: look at its first bytes to say why as
 * precisely as we can (its own messages do not name the file and often say
 * only "unknown format"). */
static int diagnose_open_failure(const char *path, long long n_bytes, const char *sf_msg)
{
    unsigned char h[4096];
    FILE *f = fopen(path, "rb");
    if (!f)
        return svx_fail(SVX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(h, 1, sizeof h, f);
    int read_err = ferror(f);
    fclose(f);
    if (read_err)
        return svx_fail(SVX_ERR_IO, "%s: read error while checking the header", path);

    int is_riff = n >= 4 && (!memcmp(h, "RIFF", 4) || !memcmp(h, "RF64", 4));
    if (is_riff) {
        /* RIFF header (12 bytes), then chunks of id(4) size(4) data; the
         * "fmt " chunk holds format(2) channels(2) rate(4) (Microsoft
         * RIFF/WAVE specification, 1991). */
        if (n < 12)
            return svx_fail(SVX_ERR_TRUNCATED,
                            "%s: WAV header truncated: the file has %zu bytes, the RIFF header needs 12",
                            path, n);
        if (memcmp(h + 8, "WAVE", 4))
            return svx_fail(SVX_ERR_FORMAT, "%s: RIFF file of type '%.4s', expected 'WAVE' (libsndfile: %s)",
                            path, (const char *)h + 8, sf_msg);
        size_t pos = 12;
        for (;;) {
            if (pos + 8 > n)
                return svx_fail(SVX_ERR_TRUNCATED,
                                "%s: WAV header truncated: the file has %lld bytes and ends before the 'fmt ' chunk",
                                path, n_bytes);
            uint32_t size = le32(h + pos + 4);
            if (!memcmp(h + pos, "fmt ", 4)) {
                if (pos + 8 + 16 > n)
                    return svx_fail(SVX_ERR_TRUNCATED,
                                    "%s: WAV header truncated: the 'fmt ' chunk needs 16 bytes at offset %zu but the file has %lld bytes",
                                    path, pos + 8, n_bytes);
                unsigned channels = le16(h + pos + 10);
                uint32_t rate = le32(h + pos + 12);
                if (channels == 0)
                    return svx_fail(SVX_ERR_BAD_AUDIO, "%s: WAV header declares 0 channels, expected 1 .. %d",
                                    path, SVX_AUDIO_MAX_CHANNELS);
                if (rate == 0)
                    return svx_fail(SVX_ERR_BAD_AUDIO,
                                    "%s: WAV header declares a sample rate of 0 Hz, expected %d .. %d",
                                    path, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);
                if (channels > SVX_AUDIO_MAX_CHANNELS)
                    return svx_fail(SVX_ERR_BAD_AUDIO, "%s: WAV header declares %u channels, expected 1 .. %d",
                                    path, channels, SVX_AUDIO_MAX_CHANNELS);
                return svx_fail(SVX_ERR_FORMAT,
                                "%s: malformed or unsupported WAV file (encoding tag 0x%04x, %u channels, %u Hz; libsndfile: %s)",
                                path, le16(h + pos + 8), channels, (unsigned)rate, sf_msg);
            }
            /* Chunks are padded to an even size. */
            size_t next = pos + 8 + (size_t)size + (size & 1u);
            if (next <= pos || next > sizeof h)
                break;
            pos = next;
        }
        return svx_fail(SVX_ERR_FORMAT, "%s: WAV file without a readable 'fmt ' chunk (libsndfile: %s)",
                        path, sf_msg);
    }
    static const struct { const char *magic; size_t len; const char *what; } k_magic[] = {
        {"FORM", 4, "AIFF"}, {"fLaC", 4, "FLAC"}, {"OggS", 4, "Ogg"}, {".snd", 4, "AU"},
        {"caff", 4, "CAF"},
    };
    for (size_t i = 0; i < sizeof k_magic / sizeof k_magic[0]; i++)
        if (n >= k_magic[i].len && !memcmp(h, k_magic[i].magic, k_magic[i].len))
            return svx_fail(n < 64 ? SVX_ERR_TRUNCATED : SVX_ERR_FORMAT,
                            "%s: starts like %s but is %s (%lld bytes; libsndfile: %s)", path,
                            k_magic[i].what, n < 64 ? "truncated" : "malformed or unsupported",
                            n_bytes, sf_msg);
    return svx_fail(SVX_ERR_FORMAT,
                    "%s: not a recognised audio format (%lld bytes; libsndfile: %s)",
                    path, n_bytes, sf_msg);
}

int svx_audio_open_file(const char *path, int target_rate_hz, svx_audio_reader **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_audio_open_file: NULL %s", path ? "out" : "path");
    if (!strcmp(path, "-"))
        return svx_fail(SVX_ERR_INVALID_ARG,
                        "svx_audio_open_file: \"-\" (standard input) is read with svx_audio_open_raw_fd");
    if (!rate_ok(target_rate_hz))
        return svx_fail(SVX_ERR_INVALID_ARG, "%s: target rate %d Hz outside %d .. %d", path,
                        target_rate_hz, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);

    struct stat st;
    if (stat(path, &st) != 0)
        return svx_fail(SVX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return svx_fail(SVX_ERR_IO, "%s: is a directory, expected an audio file", path);
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        return svx_fail(SVX_ERR_FORMAT, "%s: file is empty (0 bytes), expected an audio file", path);
    /* A named pipe blocks open() until some process opens it for writing,
     * possibly never (a FIFO left in a folder of recordings): open it
     * non-blocking and wait a bounded time for its writer to send data. */
    int is_fifo = S_ISFIFO(st.st_mode);
    int fd = open(path, is_fifo ? O_RDONLY | O_NONBLOCK : O_RDONLY);
    if (fd < 0)
        return svx_fail(SVX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (is_fifo) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr;
        do
            pr = poll(&pfd, 1, SVX_AUDIO_FIFO_WAIT_MS);
        while (pr < 0 && errno == EINTR);
        int flags = fcntl(fd, F_GETFL);
        if (pr <= 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
            close(fd);
            return svx_fail(SVX_ERR_IO, "%s: is a named pipe (FIFO) and no data came in %d ms, "
                            "expected an audio file", path, SVX_AUDIO_FIFO_WAIT_MS);
        }
    }

    SF_INFO info;
    memset(&info, 0, sizeof info);
    /* close_desc = 1: libsndfile owns fd from here, also on failure. */
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &info, 1);
    if (!sf && !S_ISREG(st.st_mode))   /* cannot be read again to diagnose */
        return svx_fail(SVX_ERR_FORMAT, "%s: not a recognised audio stream (libsndfile: %s)", path,
                        sf_strerror(NULL));
    if (!sf)
        return diagnose_open_failure(path, (long long)st.st_size, sf_strerror(NULL));

    if (info.channels < 1 || info.channels > SVX_AUDIO_MAX_CHANNELS) {
        sf_close(sf);
        return svx_fail(SVX_ERR_BAD_AUDIO, "%s: declares %d channels, expected 1 .. %d", path, info.channels,
                        SVX_AUDIO_MAX_CHANNELS);
    }
    if (!rate_ok(info.samplerate)) {
        sf_close(sf);
        return svx_fail(SVX_ERR_BAD_AUDIO, "%s: declares a sample rate of %d Hz, expected %d .. %d", path,
                        info.samplerate, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);
    }

    svx_audio_reader *rd = calloc(1, sizeof *rd);
    if (!rd) {
        sf_close(sf);
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    rd->sf = sf;
    rd->fd = -1;
    rd->src_rate = info.samplerate;
    rd->channels = info.channels;
    rd->target_rate = target_rate_hz;
    rd->src_frames = (info.frames >= 0 && info.frames < SF_COUNT_MAX) ? (int64_t)info.frames : -1;
    rd->name = dup_string(path);
    rd->interleaved = malloc((size_t)SVX_AUDIO_CHUNK_FRAMES * (size_t)info.channels * sizeof(float));
    int rc = (rd->name && rd->interleaved) ? SVX_OK
                                           : svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", path);
    if (rc == SVX_OK)
        rc = reader_setup(rd);
    if (rc < 0) {
        svx_audio_close(rd);
        return rc;
    }
    *out = rd;
    return SVX_OK;
}

int svx_audio_open_raw_fd(int fd, int input_rate_hz, int target_rate_hz, svx_audio_reader **out)
{
    if (out)
        *out = NULL;
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_audio_open_raw_fd: NULL out");
    if (fd < 0)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_audio_open_raw_fd: invalid file descriptor %d", fd);
    if (!rate_ok(input_rate_hz))
        return svx_fail(SVX_ERR_BAD_AUDIO, "fd %d: input rate %d Hz outside %d .. %d", fd,
                        input_rate_hz, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);
    if (!rate_ok(target_rate_hz))
        return svx_fail(SVX_ERR_INVALID_ARG, "fd %d: target rate %d Hz outside %d .. %d", fd,
                        target_rate_hz, SVX_AUDIO_MIN_RATE_HZ, SVX_AUDIO_MAX_RATE_HZ);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return svx_fail(SVX_ERR_IO, "fd %d: %s", fd, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return svx_fail(SVX_ERR_IO, "fd %d: is a directory, expected raw s16le audio", fd);

    svx_audio_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return svx_fail(SVX_ERR_NO_MEMORY, "fd %d: out of memory", fd);
    char name[64];
    snprintf(name, sizeof name, fd == 0 ? "standard input" : "fd %d", fd);
    rd->fd = fd;
    rd->src_rate = input_rate_hz;
    rd->channels = 1;
    rd->target_rate = target_rate_hz;
    rd->src_frames = -1;
    rd->name = dup_string(name);
    rd->bytes = malloc(2 * SVX_AUDIO_CHUNK_FRAMES + 1);
    int rc = (rd->name && rd->bytes) ? SVX_OK : svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", name);
    if (rc == SVX_OK)
        rc = reader_setup(rd);
    if (rc < 0) {
        svx_audio_close(rd);
        return rc;
    }
    *out = rd;
    return SVX_OK;
}

/* Decodes the next chunk of the file into rd->mono (mixed to mono). */
static int refill_file(svx_audio_reader *rd)
{
    sf_count_t n = sf_readf_float(rd->sf, rd->interleaved, SVX_AUDIO_CHUNK_FRAMES);
    if (n <= 0) {
        int e = sf_error(rd->sf);
        if (e != SF_ERR_NO_ERROR)
            return reader_fail(rd, SVX_ERR_IO, "%s: read failed after %lld frames: %s", rd->name,
                               (long long)rd->n_frames_in, sf_error_number(e));
        rd->input_eof = 1;
        return SVX_OK;
    }
    const int ch = rd->channels;
    const float *x = rd->interleaved;
    size_t n_frames = (size_t)n;
    for (size_t i = 0; i < n_frames * (size_t)ch; i++)
        if (!isfinite(x[i])) {
            long long frame = (long long)rd->n_frames_in + (long long)(i / (size_t)ch);
            return reader_fail(rd, SVX_ERR_BAD_AUDIO,
                               "%s: sample %lld (channel %d) is %s; expected finite samples", rd->name,
                               frame, (int)(i % (size_t)ch), isnan(x[i]) ? "NaN" : "infinite");
        }
    if (ch == 1) {
        memcpy(rd->mono, x, n_frames * sizeof *x);
    } else {
        for (size_t f = 0; f < n_frames; f++) {
            double sum = 0;
            for (int c = 0; c < ch; c++)
                sum += x[f * (size_t)ch + (size_t)c];
            rd->mono[f] = (float)(sum / ch);
        }
    }
    rd->mono_pos = 0;
    rd->mono_len = n_frames;
    rd->n_frames_in += (int64_t)n_frames;
    return SVX_OK;
}

/* Reads whatever the descriptor has (at least one byte, or end of input)
 * and converts the whole samples; an odd byte waits for the next read. */
static int refill_raw(svx_audio_reader *rd)
{
    ssize_t n;
    for (;;) {
        n = read(rd->fd, rd->bytes + rd->n_carry, 2 * SVX_AUDIO_CHUNK_FRAMES);
        if (n >= 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* A non-blocking descriptor: wait until it has data. */
            struct pollfd pfd = {rd->fd, POLLIN, 0};
            if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
                continue;
        }
        break;
    }
    if (n < 0)
        return reader_fail(rd, SVX_ERR_IO, "%s: read failed after %lld samples: %s", rd->name,
                           (long long)rd->n_frames_in, strerror(errno));
    if (n == 0) {
        if (rd->n_carry)
            svx_log(SVX_LOG_WARN, "%s: input ends with an odd byte; ignored", rd->name);
        rd->input_eof = 1;
        return SVX_OK;
    }
    size_t total = rd->n_carry + (size_t)n;
    size_t n_samples = total / 2;
    const unsigned char *b = rd->bytes;
    for (size_t i = 0; i < n_samples; i++) {
        int16_t v = (int16_t)(uint16_t)((unsigned)b[2 * i] | (unsigned)b[2 * i + 1] << 8);
        rd->mono[i] = (float)v / 32768.0f;
    }
    rd->n_carry = total & 1u;
    if (rd->n_carry)
        rd->bytes[0] = rd->bytes[total - 1];
    rd->mono_pos = 0;
    rd->mono_len = n_samples;
    rd->n_frames_in += (int64_t)n_samples;
    return SVX_OK;
}

long svx_audio_read(svx_audio_reader *rd, float *pcm, size_t max_samples)
{
    if (!rd || (!pcm && max_samples))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_audio_read: NULL %s", rd ? "pcm" : "reader");
    if (max_samples > (size_t)LONG_MAX)
        max_samples = (size_t)LONG_MAX;
    size_t n_out = 0;
    while (n_out < max_samples) {
        if (rd->out_pos < rd->out_len) {
            n_out += svx_audio_drain(rd->out, &rd->out_pos, rd->out_len, pcm + n_out,
                                     max_samples - n_out);
            continue;
        }
        if (!rd->src && rd->mono_pos < rd->mono_len) {
            n_out += svx_audio_drain(rd->mono, &rd->mono_pos, rd->mono_len, pcm + n_out,
                                     max_samples - n_out);
            continue;
        }
        if (rd->done)
            break;
        if (rd->error) {
            /* Hand over what was read before the failure; report it next call. */
            if (n_out)
                break;
            return svx_fail(rd->error, "%s", rd->error_msg);
        }
        /* A live raw stream returns what it has rather than wait for more. */
        if (rd->fd >= 0 && n_out > 0)
            break;
        if (rd->mono_pos == rd->mono_len && !rd->input_eof) {
            int rc = rd->sf ? refill_file(rd) : refill_raw(rd);
            if (rc < 0)
                continue;   /* sticky: handled above */
        }
        if (!rd->src) {
            if (rd->input_eof && rd->mono_pos == rd->mono_len)
                rd->done = 1;
            continue;
        }
        SRC_DATA d;
        memset(&d, 0, sizeof d);
        d.data_in = rd->mono + rd->mono_pos;
        d.input_frames = (long)(rd->mono_len - rd->mono_pos);
        d.data_out = rd->out;
        d.output_frames = SVX_AUDIO_CHUNK_FRAMES;
        d.end_of_input = rd->input_eof && rd->mono_pos == rd->mono_len;
        d.src_ratio = rd->ratio;
        int e = src_process(rd->src, &d);
        if (e) {
            reader_fail(rd, SVX_ERR_BAD_AUDIO, "%s: resampler failed: %s", rd->name, src_strerror(e));
            continue;
        }
        rd->mono_pos += (size_t)d.input_frames_used;
        rd->out_pos = 0;
        rd->out_len = (size_t)d.output_frames_gen;
        if (d.end_of_input && d.output_frames_gen == 0)
            rd->done = 1;
    }
    return (long)n_out;
}

int svx_audio_source_rate(const svx_audio_reader *rd) { return rd ? rd->src_rate : 0; }
int svx_audio_source_channels(const svx_audio_reader *rd) { return rd ? rd->channels : 0; }
int64_t svx_audio_source_frames(const svx_audio_reader *rd) { return rd ? rd->src_frames : -1; }
