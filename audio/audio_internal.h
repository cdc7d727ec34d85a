/* Private constants of the audio stage (readers and capture). */
#ifndef SVX_AUDIO_INTERNAL_H
#define SVX_AUDIO_INTERNAL_H

#include "svx_internal.h"

#include <string.h>

/* Frames decoded per libsndfile call and samples per resampler call: fixes
 * the reader's memory (about 12 bytes per frame plus 4 per extra channel). */
#define SVX_AUDIO_CHUNK_FRAMES 4096

/* Sanity limits on what a source may declare. libsamplerate further limits
 * the ratio target/source to 1/256 .. 256. */
#define SVX_AUDIO_MAX_CHANNELS 256
#define SVX_AUDIO_MIN_RATE_HZ 1000
#define SVX_AUDIO_MAX_RATE_HZ 768000

/* How long svx_audio_open_file waits for the first data from a named pipe
 * (FIFO) before refusing it: opening one without a writer would otherwise
 * block forever. */
#define SVX_AUDIO_FIFO_WAIT_MS 2000

/* libsamplerate converter used by every reader and by capture: a windowed
 * sinc with 97 dB SNR and a 90% pass band (libsamplerate documentation). */
#define SVX_AUDIO_SRC_CONVERTER SRC_SINC_MEDIUM_QUALITY

/* Copies up to `room` samples from buf[*pos .. len) to out and advances *pos;
 * returns how many were copied. The readers and capture hand out their
 * converted blocks through it. */
static inline size_t svx_audio_drain(const float *buf, size_t *pos, size_t len, float *out,
                                     size_t room)
{
    size_t k = len - *pos;
    if (k > room)
        k = room;
    memcpy(out, buf + *pos, k * sizeof *out);
    *pos += k;
    return k;
}

#endif
