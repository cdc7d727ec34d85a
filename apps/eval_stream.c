/* shiftvox eval --stream: keyword spotting over one long signal made of the
 * clips placed with random gaps on background noise at random SNR, run
 * through svx_stream in SVX_DECODE_KWS mode with every keyword listed once
 * per swept threshold (0.02 .. 0.98 in steps of 0.01): each entry detects
 * exactly as a stream running at that one threshold would, refractory
 * period included, so the sweep's false rejection rate (keyword clips with
 * no matching event) and false alarms per hour (events matching no placed
 * clip of their keyword) are those of real operating points. (Filtering the
 * events of one run at the lowest threshold by score is not: there a weak
 * early peak fires and its refractory period hides the real keyword that
 * follows.) The model, the pause logic and each keyword's recursion run
 * once; only the peak detection is repeated per threshold. */
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eval_data.h"
#include "speech.h"

/* ------------------------------------------------------------------------- */
/* Streaming keyword spotting                                                */
/* ------------------------------------------------------------------------- */

/* Swept thresholds: level l is threshold (THR_LO + l) / 100, over the range
 * svx_kws_threshold maps sensitivities to (0.02 .. 0.98). */
#define THR_LO 2
#define N_THR 97
#define THR_REPORT 48 /* level of threshold 0.50 */

static double thr_of(int l) { return (THR_LO + l) / 100.0; }

typedef struct {
    float score;          /* best matching event's score, -1 if none */
    float emit_s, end_s;  /* when that event was emitted, where it ends */
} detection;

typedef struct {
    int clip;             /* index in the set */
    int keyword;          /* index in the keyword list, -1 for a distractor */
    double start_s, end_s;        /* where the clip was placed */
    double word_start_s, word_end_s; /* its speech (energy within 35 dB of its peak) */
    double snr_db;
    detection *det;       /* [N_THR] per swept threshold */
} placed;

typedef struct {
    int keyword;          /* index in the keyword list */
    int level;            /* swept threshold the event was detected at */
    double start_s, end_s, emit_s;
    float score;
    int match;            /* index in placed[], -1: a false alarm */
    int in_kw_clip;       /* inside a keyword clip (of any keyword) */
} event_rec;

/* The generated signal as a 32-bit float WAV: the header is written with
 * zero sizes and patched when the file is closed. */
static void wav_header(FILE *f, int rate, uint32_t n_samples)
{
    /* RIFF, an 18-byte fmt chunk (format 3 = IEEE float, cbSize 0), data. */
    uint8_t h[46];
    const uint32_t data = n_samples * 4u;
    memset(h, 0, sizeof h);
    memcpy(h, "RIFF", 4);
    memcpy(h + 8, "WAVEfmt ", 8);
    memcpy(h + 38, "data", 4);
    const struct { int at, n_bytes; uint32_t v; } f32[] = {
        {4, 4, 38u + data}, {16, 4, 18u}, {20, 2, 3u}, {22, 2, 1u}, {24, 4, (uint32_t)rate},
        {28, 4, (uint32_t)rate * 4u}, {32, 2, 4u}, {34, 2, 32u}, {36, 2, 0u}, {42, 4, data}};
    for (size_t k = 0; k < sizeof f32 / sizeof f32[0]; k++)
        for (int i = 0; i < f32[k].n_bytes; i++)
            h[f32[k].at + i] = (uint8_t)(f32[k].v >> (8 * i));
    fwrite(h, 1, sizeof h, f);
}

typedef struct {
    svx_stream *st;
    event_rec *ev;
    int n_ev, cap_ev;
    const svx_keyword *kw;
    int n_kw;
    int rate;
    size_t pushed;        /* samples pushed */
    FILE *save;
    int err;
} stream_run;

static int kw_index(const stream_run *sr, const char *text)
{
    for (int k = 0; k < sr->n_kw; k++)
        if (!strcmp(sr->kw[k].word, text))
            return k;
    return -1;
}

static int collect_events(stream_run *sr)
{
    svx_kws_event e;
    while (svx_stream_next_event(sr->st, &e) == 1) {
        if (sr->n_ev == sr->cap_ev) {
            int nc = sr->cap_ev ? 2 * sr->cap_ev : 1024;
            event_rec *ne = realloc(sr->ev, (size_t)nc * sizeof *ne);
            if (!ne)
                return -1;
            sr->ev = ne;
            sr->cap_ev = nc;
        }
        event_rec *r = &sr->ev[sr->n_ev++];
        r->keyword = e.index / N_THR;
        r->level = e.index % N_THR;
        r->start_s = e.start_s;
        r->end_s = e.end_s;
        r->emit_s = svx_stream_audio_seconds(sr->st);
        r->score = e.score;
        r->match = -1;
        r->in_kw_clip = 0;
    }
    return 0;
}

/* Pushes samples in 10 ms pieces, collecting events after each so that an
 * event's emission time is known to 10 ms. */
static int push_audio(stream_run *sr, const float *x, size_t n)
{
    size_t hop = (size_t)sr->rate / 100;
    if (sr->save && fwrite(x, sizeof *x, n, sr->save) != n && !sr->err) {
        fprintf(stderr, "shiftvox eval: writing the signal failed: %s\n", strerror(errno));
        sr->err = 1;
    }
    for (size_t i = 0; i < n; i += hop) {
        size_t take = n - i < hop ? n - i : hop;
        int rc = svx_stream_push(sr->st, x + i, take);
        if (rc < 0) {
            app_print_error("stream", rc);
            return -1;
        }
        sr->pushed += take;
        if (collect_events(sr) < 0)
            return -1;
    }
    return 0;
}

/* Noise bed: a running position in the concatenated noise files. */
typedef struct {
    const eval_set *set;
    int file;
    size_t pos;
    uint64_t rs;
} noise_bed;

/* Adds n samples of noise to out at power gain^2: every noise file is scaled
 * to unit power first, so the SNR holds across file boundaries (the
 * test-set layout's bed is its _silence_ folder: 1 s clips whose levels span
 * -80 to -10 dBFS, and one gain for all of them put 70 dB of SNR spread
 * into a single gap). Digital zero stays zero. */
static void bed_add(noise_bed *b, float *out, size_t n, double gain)
{
    if (b->set->n_noise == 0) {
        /* No noise recordings: white noise of unit power. */
        for (size_t i = 0; i < n; i++)
            out[i] += (float)(gain * (2.0 * eval_rand_uniform(&b->rs) - 1.0) * 1.7320508);
        return;
    }
    for (size_t i = 0; i < n;) {
        const eval_noise *nz = &b->set->noise[b->file];
        if (b->pos >= nz->n_samples) {
            b->file = (b->file + 1) % b->set->n_noise;
            b->pos = 0;
            continue;
        }
        size_t take = nz->n_samples - b->pos;
        if (take > n - i)
            take = n - i;
        const double g = nz->power > 1e-12 ? gain / sqrt(nz->power) : 0.0;
        for (size_t k = 0; k < take; k++)
            out[i + k] += (float)(g * nz->pcm[b->pos + k]);
        b->pos += take;
        i += take;
    }
}

int eval_run_stream(const eval_opts *o, const svx_model *model, const eval_set *set)
{
    const int rate = svx_model_frontend(model)->sample_rate_hz;
    svx_keyword_list *kl = NULL;
    int rc = svx_keywords_from_csv(o->keywords ? o->keywords : "yes,no,up,down,left,right,on,off,stop,go",
                                   1.0f, &kl);
    if (rc < 0) {
        app_print_error("--keywords", rc);
        return 2;
    }
    stream_run sr;
    memset(&sr, 0, sizeof sr);
    sr.kw = svx_keyword_list_items(kl);
    sr.n_kw = svx_keyword_list_count(kl);
    sr.rate = rate;
    /* Every keyword once per swept threshold: entry k * N_THR + l. */
    svx_keyword *kws = calloc((size_t)sr.n_kw * N_THR, sizeof *kws);
    if (!kws) {
        svx_keyword_list_destroy(kl);
        return 1;
    }
    for (int k = 0; k < sr.n_kw; k++)
        for (int l = 0; l < N_THR; l++) {
            kws[k * N_THR + l].word = sr.kw[k].word;
            kws[k * N_THR + l].sensitivity = (float)(1.0 - thr_of(l));
        }
    svx_stream_config cfg;
    svx_stream_config_default(&cfg);
    cfg.mode = SVX_DECODE_KWS;
    cfg.keywords = kws;
    cfg.n_keywords = sr.n_kw * N_THR;
    if (o->refractory >= 0)
        cfg.refractory_s = o->refractory;
    cfg.kws_compete = !o->no_compete;
    cfg.kws_calibrate = !o->no_calibration;
    rc = svx_stream_create(model, &cfg, &sr.st);
    if (rc < 0) {
        app_print_error("creating the keyword stream", rc);
        free(kws);
        svx_keyword_list_destroy(kl);
        return 2;
    }
    if (o->save_audio) {
        if (!(sr.save = fopen(o->save_audio, "wb")))
            fprintf(stderr, "shiftvox eval: %s: %s\n", o->save_audio, strerror(errno));
        else
            wav_header(sr.save, rate, 0);
    }

    /* The clips in a seeded random order (silence clips are left out: the
     * bed between clips is already noise). */
    int *order = malloc((size_t)(set->n_clips ? set->n_clips : 1) * sizeof *order);
    placed *pl = calloc((size_t)(set->n_clips ? set->n_clips : 1), sizeof *pl);
    detection *det_pool =
        malloc((size_t)(set->n_clips ? set->n_clips : 1) * N_THR * sizeof *det_pool);
    const size_t n_cell = (size_t)N_THR * (size_t)sr.n_kw;
    long *hit_kw = calloc(n_cell, sizeof *hit_kw), *fa_kw = calloc(n_cell, sizeof *fa_kw);
    int *clips_kw = calloc((size_t)sr.n_kw, sizeof *clips_kw);
    float *buf = NULL;
    double *lat_emit = NULL, *lat_end = NULL;
    int ok = 1, n_targets = 0;
    if (!order || !pl || !det_pool || !hit_kw || !fa_kw || !clips_kw) {
        fprintf(stderr, "shiftvox eval: out of memory\n");
        if (sr.save)
            fclose(sr.save);
        ok = 0;
        goto out;
    }
    int n_order = 0, n_failed = 0;
    for (int i = 0; i < set->n_clips; i++)
        if (strcmp(set->clips[i].label12, EVAL_SILENCE))
            order[n_order++] = i;
    uint64_t rs = o->seed * 0x9E3779B97F4A7C15ull + 77;
    for (int i = n_order - 1; i > 0; i--) {
        int k = (int)(eval_rand_next(&rs) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[k];
        order[k] = t;
    }
    noise_bed bed = {set, 0, 0, o->seed + 5};
    if (set->n_noise > 0) {
        bed.file = (int)(eval_rand_next(&rs) % (uint64_t)set->n_noise);
        bed.pos = (size_t)(eval_rand_uniform(&rs) * (double)set->noise[bed.file].n_samples);
    } else {
        fprintf(stderr, "shiftvox eval: no noise recordings: using white noise for the bed\n");
    }
    size_t buf_cap = 0;
    int n_placed = 0;
    double last_gain = 0.01;
    double t0 = eval_now_s();
    for (int oi = 0; ok && oi < n_order; oi++) {
        const eval_clip *c = &set->clips[order[oi]];
        float *pcm = NULL;
        size_t ns = c->n_samples;
        int err = c->pcm ? 0 : eval_read_audio(c->path, rate, &pcm, &ns);
        if (err < 0) {
            app_print_error(c->path, err);
            n_failed++;
            continue;
        }
        const float *x = c->pcm ? c->pcm : pcm;
        size_t w0, w1;
        double p_speech;
        speech_extent(x, ns, rate, &w0, &w1, &p_speech);
        double snr = o->snr_min + (o->snr_max - o->snr_min) * eval_rand_uniform(&rs);
        double gap = o->gap_min + (o->gap_max - o->gap_min) * eval_rand_uniform(&rs);
        size_t n_gap = (size_t)(gap * rate);
        /* Noise gain giving this SNR against the clip's speech power. */
        double gain = p_speech > 0 ? sqrt(p_speech / pow(10.0, snr / 10.0)) : last_gain;
        last_gain = gain;
        size_t total = n_gap + ns;
        if (total > buf_cap) {
            float *nb = realloc(buf, total * sizeof *nb);
            if (!nb) {
                free(pcm);
                ok = 0;
                break;
            }
            buf = nb;
            buf_cap = total;
        }
        memset(buf, 0, n_gap * sizeof *buf);
        memcpy(buf + n_gap, x, ns * sizeof *buf);
        bed_add(&bed, buf, total, gain);
        placed *p = &pl[n_placed++];
        p->clip = order[oi];
        p->keyword = c->word ? kw_index(&sr, c->word) : -1;
        p->start_s = (double)(sr.pushed + n_gap) / rate;
        p->end_s = p->start_s + (double)ns / rate;
        p->word_start_s = p->start_s + (double)w0 / rate;
        p->word_end_s = p->start_s + (double)w1 / rate;
        p->snr_db = snr;
        p->det = det_pool + (size_t)(n_placed - 1) * N_THR;
        for (int l = 0; l < N_THR; l++)
            p->det[l].score = -1.0f;
        n_targets += p->keyword >= 0;
        free(pcm);
        if (push_audio(&sr, buf, total) < 0) {
            ok = 0;
            break;
        }
        if (o->progress && n_placed % 50 == 0) {
            fprintf(stderr, "\r%d/%d clips, %.2f h of audio, %d events", n_placed, n_order,
                    (double)sr.pushed / rate / 3600.0, sr.n_ev);
            fflush(stderr);
        }
    }
    /* A last gap so the final clip's event can come out, then flush. */
    if (ok) {
        size_t tail = (size_t)(o->gap_max * rate);
        float *nb = tail > buf_cap ? realloc(buf, tail * sizeof *nb) : buf;
        if (nb) {
            buf = nb;
            memset(buf, 0, tail * sizeof *buf);
            bed_add(&bed, buf, tail, last_gain);
            ok = push_audio(&sr, buf, tail) == 0;
        }
        int fr = svx_stream_flush(sr.st);
        if (fr < 0)
            app_print_error("stream flush", fr);
        collect_events(&sr);
    }
    if (o->progress)
        fputs("\r\033[K", stderr);
    double seconds = eval_now_s() - t0;
    double audio_s = (double)sr.pushed / rate, hours = audio_s / 3600.0;
    if (sr.save) {
        /* Little-endian float samples as written by fwrite: true on the x86-64
         * and ARM targets shiftvox builds for. */
        if (sr.pushed > 0xFFFFFFFFu / 4u - 64u) {
            fprintf(stderr, "shiftvox eval: %s: signal too long for a WAV header\n", o->save_audio);
        } else if (fseek(sr.save, 0, SEEK_SET) == 0) {
            wav_header(sr.save, rate, (uint32_t)sr.pushed);
        }
        if (fclose(sr.save) != 0 || sr.err)
            fprintf(stderr, "shiftvox eval: writing %s failed\n", o->save_audio);
        else
            fprintf(stderr, "shiftvox eval: wrote %s (%.1f s)\n", o->save_audio, audio_s);
    }

    /* Match: an event matches a placed clip of its keyword when the event's
     * end (where the spotter says the keyword ended) falls inside the clip,
     * give or take 0.25 s. Clips are at least --gap apart, so at most a
     * couple can qualify; placed[] is in time order: binary search the last
     * clip starting before the event ends and look back from there. */
    const double slack = 0.25;
    for (int e = 0; e < sr.n_ev; e++) {
        event_rec *ev = &sr.ev[e];
        int lo = 0, hi = n_placed - 1, last = -1;
        while (lo <= hi) {
            int mid = (lo + hi) / 2;
            if (pl[mid].start_s - slack <= ev->end_s) {
                last = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        for (int k = last; k >= 0 && pl[k].end_s + slack >= ev->end_s; k--) {
            ev->in_kw_clip |= pl[k].keyword >= 0;
            if (pl[k].keyword == ev->keyword) {
                ev->match = k;
                detection *d = &pl[k].det[ev->level];
                if (ev->score > d->score) {
                    d->score = ev->score;
                    d->emit_s = (float)ev->emit_s;
                    d->end_s = (float)ev->end_s;
                }
                break;
            }
        }
    }
    /* Sweep. False alarms are counted twice: all of them per hour of the
     * signal, and those outside keyword clips (matching windows) per hour of
     * the audio outside them: noise and other words, the false-alarm rate of
     * "non-keyword speech and noise". A keyword clip that fires another
     * keyword counts only in the first. */
    double kw_s = 0;
    for (int k = 0; k < n_placed; k++)
        if (pl[k].keyword >= 0)
            kw_s += pl[k].end_s - pl[k].start_s + 2 * slack;
    const double rest_hours = audio_s > kw_s ? (audio_s - kw_s) / 3600.0 : 0.0;
    /* Per threshold level and keyword (hit_kw, fa_kw at t * n_kw + k): clips
     * detected and false alarms. Keywords fire independently, so the totals,
     * and any per-keyword choice of thresholds, add up from these. */
    double frr[N_THR], fa_h[N_THR], fa_rest_h[N_THR];
    long n_fa[N_THR] = {0}, n_hit[N_THR] = {0}, n_fa_rest[N_THR] = {0};
    for (int k = 0; k < n_placed; k++) {
        if (pl[k].keyword < 0)
            continue;
        clips_kw[pl[k].keyword]++;
        for (int t = 0; t < N_THR; t++)
            if (pl[k].det[t].score >= 0) {
                hit_kw[(size_t)t * sr.n_kw + pl[k].keyword]++;
                n_hit[t]++;
            }
    }
    for (int e = 0; e < sr.n_ev; e++) {
        const event_rec *ev = &sr.ev[e];
        if (ev->match >= 0)
            continue;
        fa_kw[(size_t)ev->level * sr.n_kw + ev->keyword]++;
        n_fa[ev->level]++;
        n_fa_rest[ev->level] += !ev->in_kw_clip;
    }
    for (int t = 0; t < N_THR; t++) {
        frr[t] = n_targets ? 1.0 - (double)n_hit[t] / n_targets : NAN;
        fa_h[t] = hours > 0 ? (double)n_fa[t] / hours : NAN;
        fa_rest_h[t] = rest_hours > 0 ? (double)n_fa_rest[t] / rest_hours : NAN;
    }
    int t_star = -1;
    for (int t = 0; t < N_THR; t++)
        if (fa_h[t] <= o->target_fa) {
            t_star = t;
            break;
        }
    double thr_star = t_star >= 0 ? thr_of(t_star) : NAN;

    /* Per-keyword rates and latencies are given at the threshold that meets
     * the target, or, when none does, at 0.50 (the middle of the score range). */
    const int t_rep = t_star >= 0 ? t_star : THR_REPORT;
    const double thr_rep = thr_of(t_rep);
    int n_ev_rep = 0;
    for (int e = 0; e < sr.n_ev; e++)
        n_ev_rep += sr.ev[e].level == t_rep;
    const uint64_t n_dropped = svx_stream_dropped_events(sr.st);
    if (n_dropped)
        fprintf(stderr, "shiftvox eval: %llu keyword events were lost (event queue full)\n",
                (unsigned long long)n_dropped);

    /* Latencies of the detections kept at that threshold (each keyword clip's
     * best-scoring matching event). */
    lat_emit = malloc((size_t)(n_placed ? n_placed : 1) * sizeof(double));
    lat_end = malloc((size_t)(n_placed ? n_placed : 1) * sizeof(double));
    int n_lat = 0;
    for (int k = 0; lat_emit && lat_end && k < n_placed; k++)
        if (pl[k].keyword >= 0 && pl[k].det[t_rep].score >= 0) {
            lat_emit[n_lat] = pl[k].det[t_rep].emit_s - pl[k].word_end_s;
            lat_end[n_lat] = pl[k].det[t_rep].end_s - pl[k].word_end_s;
            n_lat++;
        }
    if (n_lat) {
        qsort(lat_emit, (size_t)n_lat, sizeof(double), app_cmp_double);
        qsort(lat_end, (size_t)n_lat, sizeof(double), app_cmp_double);
    }

    /* Text report. */
    printf("%s (layout %s): streaming keyword spotting, %d keywords\n", o->input,
           eval_layout_name(set->layout), sr.n_kw);
    printf("signal: %.1f s (%.3f h), %d clips placed (%d keyword clips, %d other words), %d failed,\n"
           "        gaps %.1f-%.1f s, SNR %.0f-%.0f dB, seed %llu; keyword competition %s,\n"
           "        calibration %s; %d events at %.2f, %llu pauses; %.1f s "
           "(%.0fx real time)\n\n",
           audio_s, hours, n_placed, n_targets, n_placed - n_targets, n_failed, o->gap_min, o->gap_max,
           o->snr_min, o->snr_max, (unsigned long long)o->seed, o->no_compete ? "off" : "on",
           o->no_calibration ? "off" : "the model's",
           n_ev_rep, thr_rep,
           (unsigned long long)svx_stream_pauses(sr.st), seconds, seconds > 0 ? audio_s / seconds : 0.0);
    printf("%9s %8s %10s %8s %12s %8s\n", "threshold", "FRR", "FA/hour", "FAs", "FA/h(rest)",
           "FAs");
    for (int t = 0; t < N_THR; t++)
        if ((THR_LO + t) % 5 == 0 || t == 0 || t == N_THR - 1)
            printf("%9.2f %7.2f%% %10.2f %8ld %12.2f %8ld\n", thr_of(t), 100.0 * frr[t], fa_h[t],
                   n_fa[t], fa_rest_h[t], n_fa_rest[t]);
    printf("(FA/h(rest): false alarms outside the keyword clips per hour of the %.3f h outside them,\n"
           " noise and other words; FA/hour counts every false alarm over the whole signal)\n",
           rest_hours);
    if (t_star >= 0)
        printf("\nat <= %.2f false alarms/hour: threshold %.2f, false rejection %.2f%% (%ld of %d "
               "keyword clips detected), %.2f FA/h\n",
               o->target_fa, thr_star, 100.0 * frr[t_star], n_hit[t_star], n_targets, fa_h[t_star]);
    else
        printf("\nno threshold gives <= %.2f false alarms/hour (fewest: %.2f FA/h at %.2f, FRR %.2f%%)\n",
               o->target_fa, fa_h[N_THR - 1], thr_of(N_THR - 1), 100.0 * frr[N_THR - 1]);
    printf("per keyword FRR at %.2f:", thr_rep);
    for (int k = 0; k < sr.n_kw; k++)
        if (clips_kw[k])
            printf(" %s %.1f%%", sr.kw[k].word,
                   100.0 * (1.0 - (double)hit_kw[(size_t)t_rep * sr.n_kw + k] / clips_kw[k]));
        else
            printf(" %s -", sr.kw[k].word);
    printf("\n");
    if (n_lat)
        printf("latency at %.2f, event emitted - end of the word: median %.0f ms, p90 %.0f ms, max %.0f ms;\n"
               "         event end - end of the word: median %.0f ms, p90 %.0f ms (%d detections)\n",
               thr_rep, 1e3 * app_percentile(lat_emit, n_lat, 0.5), 1e3 * app_percentile(lat_emit, n_lat, 0.9),
               1e3 * lat_emit[n_lat - 1], 1e3 * app_percentile(lat_end, n_lat, 0.5),
               1e3 * app_percentile(lat_end, n_lat, 0.9), n_lat);
    rc = app_check_output(stdout, "standard output") < 0 ? 1 : 0;

    if (o->report) {
        FILE *f = fopen(o->report, "w");
        if (!f) {
            fprintf(stderr, "shiftvox eval: %s: %s\n", o->report, strerror(errno));
            rc = 1;
        } else {
            eval_write_json_head(f, o, set);
            fprintf(f, "  \"keywords\": [");
            for (int k = 0; k < sr.n_kw; k++) {
                fputs(k ? ", " : "", f);
                eval_json_str(f, sr.kw[k].word);
            }
            fprintf(f, "],\n  \"keyword_clips\": [");
            for (int k = 0; k < sr.n_kw; k++)
                fprintf(f, "%s%d", k ? ", " : "", clips_kw[k]);
            fprintf(f, "],\n  \"audio_seconds\": %.3f,\n  \"hours\": %.6f,\n  \"n_placed\": %d,\n"
                       "  \"n_keyword_clips\": %d,\n  \"n_failed\": %d,\n  \"n_events\": %d,\n"
                       "  \"n_dropped_events\": %llu,\n  \"n_pauses\": %llu,\n  \"keyword_competition\": %s,\n"
                       "  \"keyword_calibration\": %s,\n"
                       "  \"gap_s\": [%g, %g],\n  \"snr_db\": [%g, %g],\n  \"target_fa_per_hour\": %g,\n"
                       "  \"threshold\": ",
                    audio_s, hours, n_placed, n_targets, n_failed, n_ev_rep,
                    (unsigned long long)n_dropped,
                    (unsigned long long)svx_stream_pauses(sr.st), o->no_compete ? "false" : "true",
                    o->no_calibration ? "false" : "true",
                    o->gap_min, o->gap_max,
                    o->snr_min, o->snr_max, o->target_fa);
            eval_json_num(f, thr_star);
            fprintf(f, ",\n  \"non_keyword_hours\": %.6f", rest_hours);
            fprintf(f, ",\n  \"frr_at_threshold\": ");
            eval_json_num(f, t_star >= 0 ? frr[t_star] : NAN);
            fprintf(f, ",\n  \"fa_per_hour_at_threshold\": ");
            eval_json_num(f, t_star >= 0 ? fa_h[t_star] : NAN);
            fprintf(f, ",\n  \"report_threshold\": %.2f", thr_rep);
            fprintf(f, ",\n  \"latency_ms\": {\"n\": %d, \"emit_median\": ", n_lat);
            eval_json_num(f, 1e3 * app_percentile(lat_emit, n_lat, 0.5));
            fprintf(f, ", \"emit_p90\": ");
            eval_json_num(f, 1e3 * app_percentile(lat_emit, n_lat, 0.9));
            fprintf(f, ", \"emit_max\": ");
            eval_json_num(f, n_lat ? 1e3 * lat_emit[n_lat - 1] : NAN);
            fprintf(f, ", \"end_median\": ");
            eval_json_num(f, 1e3 * app_percentile(lat_end, n_lat, 0.5));
            fprintf(f, ", \"end_p90\": ");
            eval_json_num(f, 1e3 * app_percentile(lat_end, n_lat, 0.9));
            fprintf(f, "},\n  \"sweep\": [\n");
            for (int t = 0; t < N_THR; t++) {
                fprintf(f, "    {\"threshold\": %.2f, \"frr\": ", thr_of(t));
                eval_json_num(f, frr[t]);
                fprintf(f, ", \"fa_per_hour\": ");
                eval_json_num(f, fa_h[t]);
                fprintf(f, ", \"fa_per_hour_non_keyword\": ");
                eval_json_num(f, fa_rest_h[t]);
                fprintf(f, ", \"false_alarms_non_keyword\": %ld", n_fa_rest[t]);
                fprintf(f, ", \"false_alarms\": %ld, \"detected\": %ld", n_fa[t], n_hit[t]);
                /* per keyword, in "keywords" order */
                fprintf(f, ", \"detected_by_keyword\": [");
                for (int k = 0; k < sr.n_kw; k++)
                    fprintf(f, "%s%ld", k ? ", " : "", hit_kw[(size_t)t * sr.n_kw + k]);
                fprintf(f, "], \"false_alarms_by_keyword\": [");
                for (int k = 0; k < sr.n_kw; k++)
                    fprintf(f, "%s%ld", k ? ", " : "", fa_kw[(size_t)t * sr.n_kw + k]);
                fprintf(f, "]}%s\n", t + 1 < N_THR ? "," : "");
            }
            fprintf(f, "  ],\n  \"placed\": [\n");
            for (int k = 0; k < n_placed; k++) {
                const placed *p = &pl[k];
                fprintf(f, "    {\"path\": ");
                eval_json_str(f, set->clips[p->clip].path);
                fprintf(f, ", \"word\": ");
                eval_json_str(f, set->clips[p->clip].word ? set->clips[p->clip].word : "");
                fprintf(f, ", \"keyword\": %s, \"start\": %.3f, \"end\": %.3f, \"word_end\": %.3f, "
                           "\"snr_db\": %.1f, \"best_score\": ",
                        p->keyword >= 0 ? "true" : "false", p->start_s, p->end_s, p->word_end_s, p->snr_db);
                eval_json_num(f, p->det[0].score >= 0 ? p->det[0].score : NAN);
                fprintf(f, ", \"detected\": %s}%s\n", p->det[t_rep].score >= 0 ? "true" : "false",
                        k + 1 < n_placed ? "," : "");
            }
            /* The events of the report threshold (every threshold's would
             * repeat most of them N_THR times). */
            fprintf(f, "  ],\n  \"events\": [\n");
            for (int e = 0, written = 0; e < sr.n_ev; e++) {
                const event_rec *ev = &sr.ev[e];
                if (ev->level != t_rep)
                    continue;
                fprintf(f, "    {\"keyword\": ");
                eval_json_str(f, sr.kw[ev->keyword].word);
                fprintf(f, ", \"start\": %.3f, \"end\": %.3f, \"emitted\": %.3f, \"score\": %.4f, "
                           "\"matched\": %s}%s\n",
                        ev->start_s, ev->end_s, ev->emit_s, (double)ev->score,
                        ev->match >= 0 ? "true" : "false", ++written < n_ev_rep ? "," : "");
            }
            fprintf(f, "  ]\n}\n");
            if (fclose(f) != 0) {
                fprintf(stderr, "shiftvox eval: writing %s failed\n", o->report);
                rc = 1;
            } else {
                fprintf(stderr, "shiftvox eval: wrote %s\n", o->report);
            }
        }
    }
    if (o->plots) {
        char dat[4200], gp[4200], png[4200];
        snprintf(dat, sizeof dat, "%s/det.dat", o->plots);
        snprintf(gp, sizeof gp, "%s/det.gp", o->plots);
        snprintf(png, sizeof png, "%s/det.png", o->plots);
        FILE *f = eval_mkdir_p(o->plots) == 0 ? fopen(dat, "w") : NULL;
        FILE *g = f ? fopen(gp, "w") : NULL;
        if (!f || !g) {
            fprintf(stderr, "shiftvox eval: cannot write %s: %s\n", o->plots, strerror(errno));
            if (f)
                fclose(f);
        } else {
            fprintf(f, "# threshold fa_per_hour frr_percent\n");
            for (int t = 0; t < N_THR; t++)
                fprintf(f, "%.2f %.6g %.6g\n", thr_of(t), fa_h[t], 100.0 * frr[t]);
            fclose(f);
            /* Log false-alarm axis, as DET plots are usually drawn; a
             * threshold with no false alarm at all is drawn at the floor. */
            const double floor_fa = 0.01;
            fprintf(g, "# DET curve written by shiftvox eval; run: gnuplot det.gp\n"
                       "set terminal pngcairo noenhanced size 800,600 font 'sans,10'\nset output '%s'\n"
                       "set title 'Keyword spotting DET (%.2f h of audio, %d keyword clips)'\n"
                       "set xlabel 'false alarms per hour (log; none = %g)'\n"
                       "set ylabel 'false rejection rate (%%)'\nset logscale x\n"
                       "set grid xtics mxtics ytics\nset key top right\nset xrange [%g:*]\nset yrange [0:*]\n",
                    png, hours, n_targets, floor_fa, floor_fa);
            if (o->target_fa > floor_fa)
                fprintf(g, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb 'red'\n",
                        o->target_fa, o->target_fa);
            if (t_star >= 0)
                fprintf(g, "set label 'target %.2g FA/h: threshold %.2f, FRR %.1f%%' at graph 0.3, graph 0.93\n",
                        o->target_fa, thr_star, 100.0 * frr[t_star]);
            else
                fprintf(g, "set label 'target %.2g FA/h: not reached' at graph 0.3, graph 0.93\n",
                        o->target_fa);
            fprintf(g, "plot '%s' using ($2 > %g ? $2 : %g):3 with linespoints pt 7 ps 0.5 "
                       "title 'thresholds %.2f-%.2f'\n", dat, floor_fa, floor_fa, thr_of(0), thr_of(N_THR - 1));
            fclose(g);
            if (eval_run_gnuplot(gp) == 0)
                fprintf(stderr, "shiftvox eval: wrote %s\n", png);
        }
    }
out:
    free(lat_emit);
    free(lat_end);
    free(buf);
    free(order);
    free(pl);
    free(det_pool);
    free(hit_kw);
    free(fa_kw);
    free(clips_kw);
    free(sr.ev);
    svx_stream_destroy(sr.st);
    free(kws);
    svx_keyword_list_destroy(kl);
    if (!ok)
        return 1;
    if (n_targets == 0) {
        fprintf(stderr, "shiftvox eval: no clip of any keyword was placed\n");
        return 1;
    }
    return rc;
}

