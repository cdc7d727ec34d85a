/* Energy end-pointing on 10 ms blocks: where speech starts and ends in a
 * recording, used by `shiftvox eval --stream` (one word per clip) and by
 * `shiftvox bench` (words of a recording separated by pauses) to place the
 * end of a word when measuring keyword latency. */
#ifndef SVX_APPS_SPEECH_H
#define SVX_APPS_SPEECH_H

#include <stddef.h>

/* Speech extent of x (n samples at rate Hz): *b0, *b1 receive the first
 * sample of the first and one past the last sample of the last 10 ms block
 * whose energy is within 25 dB of the loudest block and at least 6 dB above
 * the recording's own noise floor (its 10th-percentile block); *power the mean
 * power over the blocks in between. No such block (silence): *b0 = 0, *b1 = n,
 * *power = 0. */
void speech_extent(const float *x, size_t n, int rate, size_t *b0, size_t *b1, double *power);

/* A run of speech, in samples: [start, end). */
typedef struct {
    size_t start, end;
} speech_segment;

/* Splits x into runs of speech by the same block rule: blocks above the
 * threshold separated by fewer than min_gap_s seconds of blocks below it are
 * one segment (a stop consonant's closure stays inside its word; espeak and
 * people pause longer between words). Writes at most max_segments segments in
 * time order and returns how many there are (may exceed max_segments), or -1
 * when out of memory. Ends are block boundaries: within 10 ms of where the
 * energy stops. */
int speech_segments(const float *x, size_t n, int rate, double min_gap_s, speech_segment *out,
                    int max_segments);

#endif
