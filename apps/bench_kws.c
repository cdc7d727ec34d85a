/* Keyword detection latency (bench_kws.h). Each recording of DIR/samples.tsv
 * is split into words by energy (speech.h); every word that is one of the ten
 * keywords is an occurrence whose end is the end of its energy segment. The
 * recording is then pushed through a fresh keyword stream in 10 ms pieces, as
 * a microphone delivers it, followed by BENCH_KWS_TAIL_S of silence; after
 * each piece the events are pulled, so the audio time at which an event
 * became available is known to 10 ms. An event matches an occurrence of its
 * keyword when the event's end falls within 0.25 s of the word's segment (the
 * rule of `shiftvox eval --stream`); the first event matching an occurrence
 * gives its latency. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kws.h"
#include "common.h"
#include "eval_data.h"
#include "speech.h"

#define MAX_WORDS 64
#define MATCH_SLACK_S 0.25

typedef struct {
    int keyword;              /* index in the keyword list */
    double start_s, end_s;    /* the word's energy segment */
    int matched;
} occurrence;

typedef struct {
    double *emit, *end;       /* latencies in seconds, one per detection */
    int n, cap;
} latencies;

static int lat_add(latencies *l, double emit, double end)
{
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 64;
        double *ne = realloc(l->emit, (size_t)nc * sizeof *ne);
        if (!ne)
            return -1;
        l->emit = ne;
        double *nd = realloc(l->end, (size_t)nc * sizeof *nd);
        if (!nd)
            return -1;
        l->end = nd;
        l->cap = nc;
    }
    l->emit[l->n] = emit;
    l->end[l->n] = end;
    l->n++;
    return 0;
}

static int kw_index(const svx_keyword *kw, int n_kw, const char *word)
{
    for (int k = 0; k < n_kw; k++)
        if (!strcmp(kw[k].word, word))
            return k;
    return -1;
}

/* Matches the events waiting in the stream against the file's occurrences. */
static int pull_events(svx_stream *st, const svx_keyword *kw, int n_kw, occurrence *occ, int n_occ,
                       latencies *lat, bench_kws_stats *out)
{
    svx_kws_event ev;
    while (svx_stream_next_event(st, &ev) == 1) {
        double emit_s = svx_stream_audio_seconds(st);
        int k = kw_index(kw, n_kw, ev.keyword), best = -1;
        for (int i = 0; k >= 0 && i < n_occ; i++) {
            if (occ[i].keyword != k || occ[i].matched || ev.end_s < occ[i].start_s - MATCH_SLACK_S ||
                ev.end_s > occ[i].end_s + MATCH_SLACK_S)
                continue;
            if (best < 0 || fabs(ev.end_s - occ[i].end_s) < fabs(ev.end_s - occ[best].end_s))
                best = i;
        }
        if (best < 0) {
            out->n_other_events++;
            continue;
        }
        occ[best].matched = 1;
        out->n_detected++;
        if (lat_add(lat, emit_s - occ[best].end_s, ev.end_s - occ[best].end_s) < 0)
            return -1;
    }
    return 0;
}

/* Pushes n samples in 10 ms pieces, pulling events after each piece. */
static int push_pieces(svx_stream *st, const float *x, size_t n, int rate, const svx_keyword *kw,
                       int n_kw, occurrence *occ, int n_occ, latencies *lat, bench_kws_stats *out)
{
    size_t hop = (size_t)rate / 100;
    for (size_t i = 0; i < n; i += hop) {
        size_t take = n - i < hop ? n - i : hop;
        int rc = svx_stream_push(st, x + i, take);
        if (rc < 0) {
            app_print_error("keyword stream", rc);
            return -1;
        }
        if (pull_events(st, kw, n_kw, occ, n_occ, lat, out) < 0)
            return -1;
    }
    return 0;
}

/* One recording: segments, occurrences, the stream run. Returns -1 on a
 * stream or memory failure (the measurement stops), else 0. */
static int measure_file(svx_stream *st, int rate, const char *dir, const char *file, char *words,
                        const svx_keyword *kw, int n_kw, const float *tail, size_t n_tail,
                        latencies *lat, bench_kws_stats *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    float *pcm = NULL;
    size_t ns = 0;
    int rc = eval_read_audio(path, rate, &pcm, &ns);
    if (rc < 0) {
        app_print_error(path, rc);
        out->n_files_failed++;
        return 0;
    }
    const char *word[MAX_WORDS];
    int n_words = 0;
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (n_words < MAX_WORDS)
            word[n_words] = w;
        n_words++;
    }
    speech_segment seg[MAX_WORDS];
    int n_seg = speech_segments(pcm, ns, rate, BENCH_KWS_MIN_GAP_S, seg, MAX_WORDS);
    if (n_seg < 0) {
        free(pcm);
        fprintf(stderr, "shiftvox bench: out of memory\n");
        return -1;
    }
    if (n_seg != n_words || n_words > MAX_WORDS) {
        fprintf(stderr, "shiftvox bench: %s: %d energy segments for %d words, not used for latency\n",
                path, n_seg, n_words);
        out->n_files_mismatch++;
        free(pcm);
        return 0;
    }
    occurrence occ[MAX_WORDS];
    int n_occ = 0;
    for (int i = 0; i < n_words; i++) {
        int k = kw_index(kw, n_kw, word[i]);
        if (k < 0)
            continue;
        occ[n_occ].keyword = k;
        occ[n_occ].start_s = (double)seg[i].start / rate;
        occ[n_occ].end_s = (double)seg[i].end / rate;
        occ[n_occ].matched = 0;
        n_occ++;
    }
    out->n_occurrences += n_occ;
    svx_stream_reset(st);
    rc = push_pieces(st, pcm, ns, rate, kw, n_kw, occ, n_occ, lat, out);
    if (rc == 0)
        rc = push_pieces(st, tail, n_tail, rate, kw, n_kw, occ, n_occ, lat, out);
    if (rc == 0) {
        int fr = svx_stream_flush(st);
        if (fr < 0) {
            app_print_error("keyword stream flush", fr);
            rc = -1;
        } else {
            rc = pull_events(st, kw, n_kw, occ, n_occ, lat, out);
        }
    }
    out->audio_s += svx_stream_audio_seconds(st);
    free(pcm);
    return rc;
}

int bench_kws_measure(const svx_model *m, const char *dir, bench_kws_stats *out)
{
    memset(out, 0, sizeof *out);
    out->dir = dir;
    out->emit_median_ms = out->emit_p90_ms = out->emit_max_ms = NAN;
    out->share_within_200ms = out->end_median_ms = NAN;
    char list[4200];
    snprintf(list, sizeof list, "%s/samples.tsv", dir);
    FILE *f = fopen(list, "r");
    if (!f) {
        snprintf(out->why, sizeof out->why, "keyword latency: skipped, cannot open %.100s (%s; --samples DIR)",
                 list, strerror(errno));
        return 0;
    }
    svx_keyword_list *kl = NULL;
    int rc = svx_keywords_from_csv(BENCH_KWS_KEYWORDS, 0.5f, &kl);
    svx_stream *st = NULL;
    if (rc >= 0) {
        svx_stream_config cfg;
        svx_stream_config_default(&cfg);
        cfg.mode = SVX_DECODE_KWS;
        cfg.keywords = svx_keyword_list_items(kl);
        cfg.n_keywords = svx_keyword_list_count(kl);
        rc = svx_stream_create(m, &cfg, &st);
    }
    if (rc < 0) {
        app_print_error("keyword latency stream", rc);
        svx_keyword_list_destroy(kl);
        fclose(f);
        return -1;
    }
    const svx_keyword *kw = svx_keyword_list_items(kl);
    const int n_kw = svx_keyword_list_count(kl);
    const int rate = svx_model_frontend(m)->sample_rate_hz;
    size_t n_tail = (size_t)(BENCH_KWS_TAIL_S * rate);
    float *tail = calloc(n_tail, sizeof *tail);
    latencies lat = {NULL, NULL, 0, 0};
    char line[4096];
    int line_no = 0;
    rc = tail ? 0 : -1;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#' || (line_no == 1 && !strncmp(line, "file\t", 5)))
            continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            fprintf(stderr, "shiftvox bench: %s:%d: expected FILE<TAB>WORDS, line skipped\n", list, line_no);
            continue;
        }
        *tab = '\0';
        char *words = tab + 1;
        words[strcspn(words, "\t")] = '\0';
        out->n_files++;
        rc = measure_file(st, rate, dir, line, words, kw, n_kw, tail, n_tail, &lat, out);
    }
    fclose(f);
    if (rc == 0 && lat.n) {
        int within = 0;
        for (int i = 0; i < lat.n; i++)
            within += lat.emit[i] <= 0.200 + 1e-9;
        qsort(lat.emit, (size_t)lat.n, sizeof(double), app_cmp_double);
        qsort(lat.end, (size_t)lat.n, sizeof(double), app_cmp_double);
        out->emit_median_ms = 1e3 * app_percentile(lat.emit, lat.n, 0.5);
        out->emit_p90_ms = 1e3 * app_percentile(lat.emit, lat.n, 0.9);
        out->emit_max_ms = 1e3 * lat.emit[lat.n - 1];
        out->share_within_200ms = (double)within / lat.n;
        out->end_median_ms = 1e3 * app_percentile(lat.end, lat.n, 0.5);
    }
    if (rc < 0 && !tail)
        fprintf(stderr, "shiftvox bench: out of memory\n");
    out->measured = rc == 0;
    if (rc < 0)
        snprintf(out->why, sizeof out->why, "keyword latency: not measured (error above)");
    free(lat.emit);
    free(lat.end);
    free(tail);
    svx_stream_destroy(st);
    svx_keyword_list_destroy(kl);
    return rc;
}

void bench_kws_print(FILE *f, const bench_kws_stats *s, int json)
{
    if (json) {
        if (!s->measured) {
            fprintf(stderr, "shiftvox bench: %s\n", s->why);
            fprintf(f, "null");
            return;
        }
        fprintf(f, "{\"dir\": ");
        eval_json_str(f, s->dir);
        fprintf(f, ", \"keywords\": \"%s\", \"piece_ms\": 10, \"files\": %d, \"files_unreadable\": %d, "
                   "\"files_segments_mismatch\": %d, \"occurrences\": %d, \"detected\": %d, "
                   "\"other_events\": %d, \"audio_s\": %.2f, \"emit_median_ms\": ",
                BENCH_KWS_KEYWORDS, s->n_files, s->n_files_failed, s->n_files_mismatch, s->n_occurrences,
                s->n_detected, s->n_other_events, s->audio_s);
        eval_json_num(f, s->emit_median_ms);
        fprintf(f, ", \"emit_p90_ms\": ");
        eval_json_num(f, s->emit_p90_ms);
        fprintf(f, ", \"emit_max_ms\": ");
        eval_json_num(f, s->emit_max_ms);
        fprintf(f, ", \"within_200ms\": ");
        eval_json_num(f, s->share_within_200ms);
        fprintf(f, ", \"end_median_ms\": ");
        eval_json_num(f, s->end_median_ms);
        fprintf(f, "}");
        return;
    }
    if (!s->measured) {
        fprintf(f, "\n%s\n", s->why);
        return;
    }
    fprintf(f, "\nkeyword latency (%s/samples.tsv, keywords %s at sensitivity 0.5, 10 ms pieces):\n",
            s->dir, BENCH_KWS_KEYWORDS);
    fprintf(f, "  %d keyword occurrences in %d files (%d skipped: energy segments != words; %d unreadable),\n"
               "  %d detected, %d other event%s\n",
            s->n_occurrences, s->n_files - s->n_files_mismatch - s->n_files_failed, s->n_files_mismatch,
            s->n_files_failed, s->n_detected, s->n_other_events, s->n_other_events == 1 ? "" : "s");
    if (s->n_detected == 0) {
        fprintf(f, "  no detection: no latency\n");
        return;
    }
    fprintf(f, "  event available - end of the word: median %.0f ms, p90 %.0f ms, max %.0f ms; "
               "%.0f%% within 200 ms\n",
            s->emit_median_ms, s->emit_p90_ms, s->emit_max_ms, 100.0 * s->share_within_200ms);
    fprintf(f, "  event end - end of the word: median %.0f ms\n", s->end_median_ms);
}
