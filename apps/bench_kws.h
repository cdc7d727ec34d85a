/* Keyword detection latency for `shiftvox bench` (issue #5: "keyword event
 * within 200 ms of the end of the word"): the bundled recordings of samples/
 * streamed through svx_stream in keyword mode as `shiftvox listen` runs it. */
#ifndef SVX_APPS_BENCH_KWS_H
#define SVX_APPS_BENCH_KWS_H

#include <stdio.h>

#include "shiftvox.h"

/* The ten keywords of the 12-class Speech Commands task. */
#define BENCH_KWS_KEYWORDS "yes,no,up,down,left,right,on,off,stop,go"
/* A pause of at least this long separates two words of a recording. */
#define BENCH_KWS_MIN_GAP_S 0.1
/* Silence pushed after each recording so its last event can come out. */
#define BENCH_KWS_TAIL_S 1.0

typedef struct {
    const char *dir;          /* the samples folder */
    int measured;             /* 0: skipped, see why */
    char why[160];            /* when skipped: one line saying why */
    int n_files;              /* listed in DIR/samples.tsv */
    int n_files_failed;       /* unreadable */
    int n_files_mismatch;     /* energy segments != listed words: skipped */
    int n_occurrences;        /* keyword words in the files measured */
    int n_detected;           /* of those, matched by an event of their keyword */
    int n_other_events;       /* events matching no occurrence */
    double audio_s;           /* pushed, silence tails included */
    /* (audio time when svx_stream_next_event gave the event) - (end of the
     * word's energy segment), over the detections, in ms; NAN when none */
    double emit_median_ms, emit_p90_ms, emit_max_ms;
    double share_within_200ms;
    double end_median_ms;     /* (event's end_s) - (end of the word), median */
} bench_kws_stats;

/* Measures with model m and the recordings listed in DIR/samples.tsv (columns
 * file, words; a first line starting with "file" is a header). A missing
 * list is not an error: out->measured = 0 and out->why says so. Returns 0, or
 * -1 after printing an error (keyword stream could not be created, memory). */
int bench_kws_measure(const svx_model *m, const char *dir, bench_kws_stats *out);

/* Prints the result as a text section or (json) as a JSON value. */
void bench_kws_print(FILE *f, const bench_kws_stats *s, int json);

#endif
