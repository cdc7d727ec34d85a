/* shiftvox eval: Speech Commands evaluation.
 *
 * Classification (default): every clip runs through the front end and the
 * acoustic model as a whole; svx_classify_clip scores the 35 Speech Commands
 * words and "" (silence) by their exact CTC log-likelihood and the best one
 * is mapped to the task's classes (the rule train/evaluate.py uses, so the
 * numbers agree with training's). -j threads share the read-only model, each
 * with its own front end and model state.
 *
 * --stream: keyword spotting over one long signal made of the clips placed
 * with random gaps on background noise at random SNR, through svx_stream in
 * SVX_DECODE_KWS mode at the highest sensitivity so every candidate event is
 * seen; thresholds are then swept over the event scores (eval_stream.c). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "eval_data.h"

#define MAX_LABELS EVAL_N_WORDS
#define N_CAND (EVAL_N_WORDS + 1) /* the 35 words, then "" for silence */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shiftvox eval [options] DIR|MANIFEST\n"
            "Evaluates a model on Speech Commands: the full dataset (v0.01/v0.02, with\n"
            "testing_list.txt / validation_list.txt), the official test-set layout (_unknown_ and\n"
            "_silence_ folders), or a manifest TSV (columns path, label12, word[, split]).\n"
            "Prints accuracy, per-class precision and recall and the confusion matrix.\n\n"
            "  -m, --model FILE     model (default: %s)\n"
            APP_INTEGER_HELP("            ")
            "  --task 12|35         12 classes (ten keywords, _unknown_, _silence_) or the 35\n"
            "                       words (clips of other words and silence are skipped); 12\n"
            "  --layout L           full, testset or manifest (default: detected)\n"
            "  --list L             full layout: testing or validation (default testing)\n"
            "  --split S            manifest: rows of this split (default: test, else dev)\n"
            "  --no-silence         full layout: do not cut _silence_ clips from the noise\n"
            "  --noise DIR          background noise folder (default DIR/_background_noise_)\n"
            "  -j, --jobs N         threads (default 1)\n"
            "  --report FILE.json   everything, with per-file predictions and scores\n"
            "  --plots DIR          PNG pictures through gnuplot (confusion matrix; DET curve)\n"
            "  --seed N             silence windows, --limit subset and the --stream signal (default 1)\n"
            "  --limit N            a random subset of N clips (chosen by --seed; silence cut for those)\n"
            "  --include-trained    keep clips of speakers the model was trained on (by default\n"
            "                       they are left out: metadata dev_trained_speakers)\n"
            "  --no-bias            ignore the score bias the model's trainer calibrated\n"
            "                       (metadata eval_bias; the raw accuracy is printed too)\n"
            "  -q, --quiet          no per-file error lines (failures are still counted)\n\n"
            "Streaming keyword spotting (--stream):\n"
            "  --keywords LIST      keywords (default: yes,no,up,down,left,right,on,off,stop,go)\n"
            "  --target-fa F        false alarms per hour to meet (default 0.5)\n"
            "  --gap MIN,MAX        seconds of noise between clips (default 1,3)\n"
            "  --snr MIN,MAX        clip-to-noise ratio in dB (default 5,20)\n"
            "  --refractory S       seconds between events of one keyword (default: library's)\n"
            "  --no-compete         keywords fire on their own (default: a keyword is dropped\n"
            "                       where another keyword or vocabulary word explains it better)\n"
            "  --no-calibration     raw keyword scores (default: the model's per-keyword\n"
            "                       score calibration, metadata kws_calibration)\n"
            "  --save-audio FILE    also write the generated signal (32-bit float WAV)\n",
            app_default_model());
}

/* ------------------------------------------------------------------------- */
/* Per-clip classification                                                   */
/* ------------------------------------------------------------------------- */

typedef struct {
    int done, failed, skipped;
    int truth, pred;      /* label indices in the task, -1 if none */
    int cand;             /* winning candidate (scores + bias) */
    int pred_raw;         /* label of the best raw score (no bias) */
    double scores[N_CAND];
    char error[512];
} clip_result;

typedef struct {
    const svx_model *model;
    const eval_set *set;
    clip_result *res;
    int n_clips;
    int next;
    int n_done, n_failed;
    int task;
    int quiet;
    int progress;
    const char *cand[N_CAND];
    int n_cand;
    double bias[N_CAND];  /* the model's calibrated score offsets (zeros: none) */
    pthread_mutex_t mu;
    double t0;
} classify_job;

/* Per-thread buffers: front end, model state, growing log-probabilities. */
typedef struct {
    svx_frontend *fe;
    svx_model_state *ms;
    float *frames;        /* FRAME_BLOCK * n_mels */
    float *lp;            /* lp_cap * n_symbols */
    size_t lp_cap;
} worker_ctx;

#define FRAME_BLOCK 64

/* Runs pcm through front end and model; the output frames go to ctx->lp.
 * Returns their count or a negative error. */
static int clip_logprobs(const svx_model *m, worker_ctx *ctx, const float *pcm, size_t n_samples)
{
    const int n_mels = svx_model_n_inputs(m), V = svx_model_n_symbols(m);
    svx_frontend_reset(ctx->fe);
    svx_model_state_reset(ctx->ms);
    size_t done = 0;
    int n_out = 0;
    while (done < n_samples) {
        size_t used;
        int got = svx_frontend_process(ctx->fe, pcm + done, n_samples - done, &used, ctx->frames,
                                       FRAME_BLOCK);
        if (got < 0)
            return got;
        done += used;
        for (int f = 0; f < got; f++) {
            if ((size_t)n_out == ctx->lp_cap) {
                size_t nc = ctx->lp_cap ? 2 * ctx->lp_cap : 256;
                float *nl = realloc(ctx->lp, nc * (size_t)V * sizeof *nl);
                if (!nl)
                    return SVX_ERR_NO_MEMORY;
                ctx->lp = nl;
                ctx->lp_cap = nc;
            }
            int r = svx_model_state_push(ctx->ms, ctx->frames + (size_t)f * (size_t)n_mels,
                                         ctx->lp + (size_t)n_out * (size_t)V);
            if (r < 0)
                return r;
            n_out += r;
        }
        if (got == 0 && used == 0)
            break;
    }
    return n_out;
}

/* The task's label index of a clip's truth, or -1 when the task skips it. */
static int truth_index(const eval_clip *c, int task)
{
    if (task == 35)
        return eval_word_index(c->word);
    for (int i = 0; i < EVAL_N_KEYWORDS; i++)
        if (!strcmp(c->label12, eval_words[i]))
            return i;
    if (!strcmp(c->label12, EVAL_UNKNOWN))
        return EVAL_N_KEYWORDS;
    if (!strcmp(c->label12, EVAL_SILENCE))
        return EVAL_N_KEYWORDS + 1;
    return -1;
}

/* Label index of a winning candidate. */
static int cand_label(int cand, int task)
{
    if (task == 35)
        return cand;
    if (cand == EVAL_N_WORDS)
        return EVAL_N_KEYWORDS + 1;
    return cand < EVAL_N_KEYWORDS ? cand : EVAL_N_KEYWORDS;
}

static void draw_progress(classify_job *j)
{
    double el = eval_now_s() - j->t0;
    fprintf(stderr, "\r%d/%d clips, %d failed, %.0f clips/s", j->n_done, j->n_clips, j->n_failed,
            el > 0 ? j->n_done / el : 0.0);
    fflush(stderr);
}

static void *classify_worker(void *arg)
{
    classify_job *j = arg;
    worker_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    int rc = svx_frontend_create(svx_model_frontend(j->model), &ctx.fe);
    if (rc >= 0)
        rc = svx_model_state_create(j->model, &ctx.ms);
    ctx.frames = malloc((size_t)FRAME_BLOCK * (size_t)svx_model_n_inputs(j->model) * sizeof(float));
    char setup_err[256] = "";
    if (rc < 0 || !ctx.frames)
        snprintf(setup_err, sizeof setup_err, "%s", rc < 0 ? svx_last_error_message() : "out of memory");
    const int rate = svx_model_frontend(j->model)->sample_rate_hz;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int idx = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (idx >= j->n_clips)
            break;
        const eval_clip *c = &j->set->clips[idx];
        clip_result *r = &j->res[idx];
        r->truth = truth_index(c, j->task);
        r->pred = r->cand = -1;
        if (r->truth < 0) {
            r->skipped = 1;
        } else if (setup_err[0]) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s", setup_err);
        } else {
            float *pcm = NULL;
            size_t ns = c->n_samples;
            int err = 0;
            if (!c->pcm)
                err = eval_read_audio(c->path, rate, &pcm, &ns);
            int n_frames = err < 0 ? err : clip_logprobs(j->model, &ctx, c->pcm ? c->pcm : pcm, ns);
            if (n_frames >= 0) {
                int best = svx_classify_clip(j->model, ctx.lp, n_frames, j->cand, j->n_cand, r->scores);
                if (best < 0) {
                    n_frames = best;
                } else {
                    /* The raw argmax, and the model's rule: argmax of score + bias. */
                    r->pred_raw = cand_label(best, j->task);
                    int biased = 0;
                    for (int k = 1; k < j->n_cand; k++)
                        if (r->scores[k] + j->bias[k] > r->scores[biased] + j->bias[biased])
                            biased = k;
                    r->cand = biased;
                    r->pred = cand_label(biased, j->task);
                }
            }
            if (n_frames < 0) {
                r->failed = 1;
                /* Library failures leave their message; this file's own
                 * allocations do not, so an old message must not be shown. */
                const char *msg = n_frames == SVX_ERR_NO_MEMORY ? "" : svx_last_error_message();
                snprintf(r->error, sizeof r->error, "%s", msg && *msg ? msg : svx_strerror(n_frames));
            }
            free(pcm);
        }
        pthread_mutex_lock(&j->mu);
        r->done = 1;
        j->n_done++;
        if (r->failed) {
            j->n_failed++;
        }
        if (r->failed && !j->quiet) {
            if (j->progress)
                fputs("\r\033[K", stderr);
            if (strstr(r->error, c->path)) /* the library's message names the file */
                fprintf(stderr, "shiftvox eval: %s\n", r->error);
            else
                fprintf(stderr, "shiftvox eval: %s: %s\n", c->path, r->error);
        }
        if (j->progress && (j->n_done % 25 == 0 || j->n_done == j->n_clips))
            draw_progress(j);
        pthread_mutex_unlock(&j->mu);
    }
    svx_frontend_destroy(ctx.fe);
    svx_model_state_destroy(ctx.ms);
    free(ctx.frames);
    free(ctx.lp);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* Metrics and reports                                                       */
/* ------------------------------------------------------------------------- */

typedef struct {
    int n_labels;
    const char *labels[MAX_LABELS];
    long conf[MAX_LABELS][MAX_LABELS]; /* [truth][prediction] */
    long n_eval, n_correct, n_correct_raw, n_skipped, n_failed;
    int bias_applied;
} metrics;

static void task_labels(int task, metrics *mt)
{
    memset(mt, 0, sizeof *mt);
    if (task == 35) {
        mt->n_labels = EVAL_N_WORDS;
        for (int i = 0; i < EVAL_N_WORDS; i++)
            mt->labels[i] = eval_words[i];
    } else {
        mt->n_labels = EVAL_N_KEYWORDS + 2;
        for (int i = 0; i < EVAL_N_KEYWORDS; i++)
            mt->labels[i] = eval_words[i];
        mt->labels[EVAL_N_KEYWORDS] = EVAL_UNKNOWN;
        mt->labels[EVAL_N_KEYWORDS + 1] = EVAL_SILENCE;
    }
}

static void compute_metrics(const clip_result *res, int n, metrics *mt)
{
    for (int i = 0; i < n; i++) {
        if (res[i].skipped) {
            mt->n_skipped++;
        } else if (res[i].failed) {
            mt->n_failed++;
        } else if (res[i].done) {
            mt->conf[res[i].truth][res[i].pred]++;
            mt->n_eval++;
            mt->n_correct += res[i].truth == res[i].pred;
            mt->n_correct_raw += res[i].truth == res[i].pred_raw;
        }
    }
}

static long row_sum(const metrics *mt, int r)
{
    long s = 0;
    for (int c = 0; c < mt->n_labels; c++)
        s += mt->conf[r][c];
    return s;
}

static long col_sum(const metrics *mt, int c)
{
    long s = 0;
    for (int r = 0; r < mt->n_labels; r++)
        s += mt->conf[r][c];
    return s;
}

/* precision/recall are NaN when undefined (nothing predicted / no support). */
static double precision_of(const metrics *mt, int k)
{
    long cs = col_sum(mt, k);
    return cs ? (double)mt->conf[k][k] / (double)cs : NAN;
}

static double recall_of(const metrics *mt, int k)
{
    long rs = row_sum(mt, k);
    return rs ? (double)mt->conf[k][k] / (double)rs : NAN;
}

static void print_pct(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, " %8.1f%%", 100.0 * v);
    else
        fprintf(f, " %9s", "-");
}

static void print_text_report(FILE *f, const metrics *mt, const char *what, int task)
{
    fprintf(f, "%s, task %d: %ld clips evaluated, %ld skipped, %ld failed\n", what, task, mt->n_eval,
            mt->n_skipped, mt->n_failed);
    fprintf(f, "accuracy %.2f%% (%ld/%ld)", mt->n_eval ? 100.0 * (double)mt->n_correct / (double)mt->n_eval : 0.0,
            mt->n_correct, mt->n_eval);
    if (mt->bias_applied)
        fprintf(f, " with the model's score bias; %.2f%% raw",
                mt->n_eval ? 100.0 * (double)mt->n_correct_raw / (double)mt->n_eval : 0.0);
    fprintf(f, "\n\n");
    fprintf(f, "%-10s %9s %9s %8s %8s\n", "class", "precision", "recall", "support", "predicted");
    for (int k = 0; k < mt->n_labels; k++) {
        fprintf(f, "%-10s", mt->labels[k]);
        print_pct(f, precision_of(mt, k));
        print_pct(f, recall_of(mt, k));
        fprintf(f, " %8ld %8ld\n", row_sum(mt, k), col_sum(mt, k));
    }
    /* Columns as wide as the longest count or the 6-character label prefix. */
    long mx = 0;
    for (int r = 0; r < mt->n_labels; r++)
        for (int c = 0; c < mt->n_labels; c++)
            if (mt->conf[r][c] > mx)
                mx = mt->conf[r][c];
    int w = 1, wl = 0;
    for (long v = mx; v >= 10; v /= 10)
        w++;
    for (int k = 0; k < mt->n_labels; k++)
        if ((int)strlen(mt->labels[k]) > wl)
            wl = (int)strlen(mt->labels[k]);
    /* Whole labels when the table stays narrow (12 classes), else 6 letters. */
    if (wl > (mt->n_labels > 12 ? 6 : 9))
        wl = mt->n_labels > 12 ? 6 : 9;
    if (w < wl)
        w = wl;
    fprintf(f, "\nconfusion matrix (rows: truth, columns: prediction)\n%-10s", "");
    for (int c = 0; c < mt->n_labels; c++)
        fprintf(f, " %*.*s", w, w, mt->labels[c]);
    fputc('\n', f);
    for (int r = 0; r < mt->n_labels; r++) {
        fprintf(f, "%-10s", mt->labels[r]);
        for (int c = 0; c < mt->n_labels; c++)
            fprintf(f, " %*ld", w, mt->conf[r][c]);
        fputc('\n', f);
    }
}

static int write_confusion_plot(const char *dir, const metrics *mt, int task)
{
    char dat[4200], gp[4200], png[4200];
    snprintf(dat, sizeof dat, "%s/confusion.dat", dir);
    snprintf(gp, sizeof gp, "%s/confusion.gp", dir);
    snprintf(png, sizeof png, "%s/confusion.png", dir);
    FILE *f = fopen(dat, "w");
    if (!f) {
        fprintf(stderr, "shiftvox eval: %s: %s\n", dat, strerror(errno));
        return -1;
    }
    /* Row-normalised (recall) fractions for the colours; counts as labels. */
    for (int r = 0; r < mt->n_labels; r++) {
        long rs = row_sum(mt, r);
        for (int c = 0; c < mt->n_labels; c++)
            fprintf(f, "%d %d %.6f %ld\n", c, r, rs ? (double)mt->conf[r][c] / (double)rs : 0.0,
                    mt->conf[r][c]);
        fputc('\n', f);
    }
    if (fclose(f) != 0)
        return -1;
    f = fopen(gp, "w");
    if (!f) {
        fprintf(stderr, "shiftvox eval: %s: %s\n", gp, strerror(errno));
        return -1;
    }
    int px = task == 35 ? 1400 : 800;
    fprintf(f, "# Confusion matrix written by shiftvox eval; run: gnuplot confusion.gp\n");
    fprintf(f, "set terminal pngcairo noenhanced size %d,%d font 'sans,9'\nset output '%s'\n", px, px - 60, png);
    fprintf(f, "set title 'Speech Commands %d-class confusion (row-normalised; numbers are counts)'\n", task);
    fprintf(f, "set xlabel 'prediction'\nset ylabel 'truth'\nset size ratio -1\n");
    fprintf(f, "set xrange [-0.5:%d.5]\nset yrange [%d.5:-0.5]\n", mt->n_labels - 1, mt->n_labels - 1);
    fprintf(f, "set cbrange [0:1]\nset palette defined (0 'white', 0.5 '#6baed6', 1 '#08306b')\n");
    fprintf(f, "set xtics rotate by 60 right (");
    for (int k = 0; k < mt->n_labels; k++)
        fprintf(f, "%s'%s' %d", k ? ", " : "", mt->labels[k], k);
    fprintf(f, ")\nset ytics (");
    for (int k = 0; k < mt->n_labels; k++)
        fprintf(f, "%s'%s' %d", k ? ", " : "", mt->labels[k], k);
    fprintf(f, ")\nunset key\n");
    /* Counts in black on light cells, white on dark ones. */
    fprintf(f, "plot '%s' using 1:2:3 with image, "
               "'' using 1:2:($4 > 0 && $3 <= 0.5 ? sprintf('%%d', $4) : '') with labels font 'sans,%d' tc rgb 'black', "
               "'' using 1:2:($4 > 0 && $3 > 0.5 ? sprintf('%%d', $4) : '') with labels font 'sans,%d' tc rgb 'white'\n",
            dat, task == 35 ? 6 : 8, task == 35 ? 6 : 8);
    if (fclose(f) != 0)
        return -1;
    if (eval_run_gnuplot(gp) < 0)
        return -1;
    fprintf(stderr, "shiftvox eval: wrote %s\n", png);
    return 0;
}

static void write_classes_json(FILE *f, const metrics *mt)
{
    fprintf(f, "  \"labels\": [");
    for (int k = 0; k < mt->n_labels; k++) {
        fputs(k ? ", " : "", f);
        eval_json_str(f, mt->labels[k]);
    }
    fprintf(f, "],\n  \"classes\": [\n");
    for (int k = 0; k < mt->n_labels; k++) {
        fprintf(f, "    {\"label\": ");
        eval_json_str(f, mt->labels[k]);
        fprintf(f, ", \"precision\": ");
        eval_json_num(f, precision_of(mt, k));
        fprintf(f, ", \"recall\": ");
        eval_json_num(f, recall_of(mt, k));
        fprintf(f, ", \"support\": %ld, \"predicted\": %ld}%s\n", row_sum(mt, k), col_sum(mt, k),
                k + 1 < mt->n_labels ? "," : "");
    }
    fprintf(f, "  ],\n  \"confusion\": [\n");
    for (int r = 0; r < mt->n_labels; r++) {
        fprintf(f, "    [");
        for (int c = 0; c < mt->n_labels; c++)
            fprintf(f, "%s%ld", c ? ", " : "", mt->conf[r][c]);
        fprintf(f, "]%s\n", r + 1 < mt->n_labels ? "," : "");
    }
    fprintf(f, "  ],\n");
}

static int write_classify_report(const eval_opts *o, const eval_set *set, const clip_result *res,
                                 const metrics *mt, const char *const *cand, const double *bias,
                                 double seconds)
{
    FILE *f = fopen(o->report, "w");
    if (!f) {
        fprintf(stderr, "shiftvox eval: %s: %s\n", o->report, strerror(errno));
        return -1;
    }
    eval_write_json_head(f, o, set);
    fprintf(f, "  \"n_clips\": %d,\n  \"n_evaluated\": %ld,\n  \"n_skipped\": %ld,\n"
               "  \"n_failed\": %ld,\n  \"n_correct\": %ld,\n  \"accuracy\": ",
            set->n_clips, mt->n_eval, mt->n_skipped, mt->n_failed, mt->n_correct);
    eval_json_num(f, mt->n_eval ? (double)mt->n_correct / (double)mt->n_eval : NAN);
    fprintf(f, ",\n  \"accuracy_raw\": ");
    eval_json_num(f, mt->n_eval ? (double)mt->n_correct_raw / (double)mt->n_eval : NAN);
    fprintf(f, ",\n  \"bias_applied\": %s", mt->bias_applied ? "true" : "false");
    fprintf(f, ",\n  \"seconds\": %.3f,\n", seconds);
    write_classes_json(f, mt);
    fprintf(f, "  \"candidates\": [");
    for (int k = 0; k < N_CAND; k++) {
        if (o->task == 35 && k == EVAL_N_WORDS)
            break;
        fputs(k ? ", " : "", f);
        eval_json_str(f, cand[k]);
    }
    int n_cand = o->task == 35 ? EVAL_N_WORDS : N_CAND;
    fprintf(f, "],\n  \"bias\": [");
    for (int k = 0; k < n_cand; k++)
        fprintf(f, "%s%.4g", k ? ", " : "", bias[k]);
    fprintf(f, "],\n  \"files\": [\n");
    int first = 1;
    for (int i = 0; i < set->n_clips; i++) {
        const clip_result *r = &res[i];
        const eval_clip *c = &set->clips[i];
        if (!r->done)
            continue;
        fprintf(f, "%s    {\"path\": ", first ? "" : ",\n");
        first = 0;
        eval_json_str(f, c->path);
        fprintf(f, ", \"word\": ");
        if (c->word)
            eval_json_str(f, c->word);
        else
            fputs("null", f);
        fprintf(f, ", \"label12\": ");
        eval_json_str(f, c->label12);
        if (r->skipped) {
            fprintf(f, ", \"status\": \"skipped\"}");
            continue;
        }
        if (r->failed) {
            fprintf(f, ", \"status\": \"failed\", \"error\": ");
            eval_json_str(f, r->error);
            fputc('}', f);
            continue;
        }
        fprintf(f, ", \"status\": \"ok\", \"truth\": ");
        eval_json_str(f, mt->labels[r->truth]);
        fprintf(f, ", \"prediction\": ");
        eval_json_str(f, mt->labels[r->pred]);
        fprintf(f, ", \"candidate\": ");
        eval_json_str(f, cand[r->cand]);
        fprintf(f, ", \"correct\": %s, \"scores\": [", r->truth == r->pred ? "true" : "false");
        for (int k = 0; k < n_cand; k++) {
            fputs(k ? ", " : "", f);
            if (isfinite(r->scores[k]))
                fprintf(f, "%.4f", r->scores[k]);
            else
                fputs("null", f);
        }
        fputs("]}", f);
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "shiftvox eval: writing %s failed: %s\n", o->report, strerror(errno));
        return -1;
    }
    fprintf(stderr, "shiftvox eval: wrote %s\n", o->report);
    return 0;
}

static int run_classify(const eval_opts *o, const svx_model *model, const eval_set *set)
{
    classify_job j;
    memset(&j, 0, sizeof j);
    j.model = model;
    j.set = set;
    j.n_clips = set->n_clips;
    j.task = o->task;
    j.quiet = o->quiet;
    j.progress = o->progress;
    for (int k = 0; k < EVAL_N_WORDS; k++)
        j.cand[k] = eval_words[k];
    j.cand[EVAL_N_WORDS] = "";
    j.n_cand = o->task == 35 ? EVAL_N_WORDS : N_CAND;
    int have_bias = 0;
    if (!o->no_bias) {
        have_bias = svx_classify_bias(model, j.cand, j.n_cand, j.bias);
        if (have_bias < 0) {
            app_print_error("the model's score bias", have_bias);
            have_bias = 0;
        }
    }
    if (!have_bias)
        memset(j.bias, 0, sizeof j.bias);
    j.res = calloc((size_t)(set->n_clips ? set->n_clips : 1), sizeof *j.res);
    if (!j.res) {
        fprintf(stderr, "shiftvox eval: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&j.mu, NULL);
    j.t0 = eval_now_s();
    long n_threads = o->jobs < set->n_clips ? o->jobs : set->n_clips;
    pthread_t th[64];
    int started = 0;
    for (long t = 0; t < n_threads; t++)
        if (pthread_create(&th[started], NULL, classify_worker, &j) == 0)
            started++;
    if (started == 0)
        classify_worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    double seconds = eval_now_s() - j.t0;
    if (o->progress)
        fputs("\r\033[K", stderr);
    pthread_mutex_destroy(&j.mu);

    metrics mt;
    task_labels(o->task, &mt);
    mt.bias_applied = have_bias;
    compute_metrics(j.res, set->n_clips, &mt);
    char what[4400];
    snprintf(what, sizeof what, "%s (layout %s%s%s)", o->input, eval_layout_name(set->layout),
             set->layout == EVAL_LAYOUT_FULL ? ", list " : "",
             set->layout == EVAL_LAYOUT_FULL ? o->list : "");
    print_text_report(stdout, &mt, what, o->task);
    fprintf(stdout, "\n%.2f s, %.0f clips/s with %d thread%s\n", seconds,
            seconds > 0 ? (double)set->n_clips / seconds : 0.0, started ? started : 1,
            started > 1 ? "s" : "");
    int rc = app_check_output(stdout, "standard output") < 0 ? 1 : 0;
    if (o->report && write_classify_report(o, set, j.res, &mt, j.cand, j.bias, seconds) < 0)
        rc = 1;
    if (o->plots) {
        if (eval_mkdir_p(o->plots) < 0)
            fprintf(stderr, "shiftvox eval: cannot create %s: %s\n", o->plots, strerror(errno));
        else
            write_confusion_plot(o->plots, &mt, o->task);
    }
    if (mt.n_failed)
        fprintf(stderr, "shiftvox eval: %ld of %d clips could not be read or scored\n", mt.n_failed,
                set->n_clips);
    if (mt.n_skipped && o->task == 35)
        fprintf(stderr, "shiftvox eval: %ld clips skipped (silence, or a word outside the 35)\n",
                mt.n_skipped);
    free(j.res);
    if (mt.n_eval == 0) {
        fprintf(stderr, "shiftvox eval: no clip could be evaluated\n");
        return 1;
    }
    return rc ? rc : (mt.n_failed ? 1 : 0);
}

/* ------------------------------------------------------------------------- */
/* Command line                                                              */
/* ------------------------------------------------------------------------- */

static int parse_range(const char *opt, const char *v, double lo, double hi, double *a, double *b)
{
    char buf[128];
    if (!v) {
        fprintf(stderr, "shiftvox: %s needs a value\n", opt);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", v);
    char *comma = strchr(buf, ',');
    if (!comma) {
        if (app_parse_double(opt, buf, lo, hi, a) < 0)
            return -1;
        *b = *a;
        return 0;
    }
    *comma = '\0';
    if (app_parse_double(opt, buf, lo, hi, a) < 0 || app_parse_double(opt, comma + 1, lo, hi, b) < 0)
        return -1;
    if (*b < *a) {
        fprintf(stderr, "shiftvox: %s: MIN,MAX with MIN <= MAX\n", opt);
        return -1;
    }
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o;
    memset(&o, 0, sizeof o);
    o.layout = EVAL_LAYOUT_AUTO;
    o.list = "testing";
    o.task = 12;
    o.jobs = 1;
    o.want_silence = 1;
    int force_integer = 0;
    o.seed = 1;
    o.target_fa = 0.5;
    o.gap_min = 1.0;
    o.gap_max = 3.0;
    o.snr_min = 5;
    o.snr_max = 20;
    o.refractory = -1;
    o.progress = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long lv;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!v) goto bad;
            o.model_path = v; i++;
        } else if (!strcmp(a, "--integer")) {
            force_integer = 1;
        } else if (!strcmp(a, "--task")) {
            if (app_parse_int(a, v, 12, 35, &lv) < 0 || (lv != 12 && lv != 35)) {
                fprintf(stderr, "shiftvox eval: --task is 12 or 35\n");
                return 2;
            }
            o.task = (int)lv; i++;
        } else if (!strcmp(a, "--layout")) {
            if (!v) goto bad;
            if (!strcmp(v, "full")) o.layout = EVAL_LAYOUT_FULL;
            else if (!strcmp(v, "testset")) o.layout = EVAL_LAYOUT_TESTSET;
            else if (!strcmp(v, "manifest")) o.layout = EVAL_LAYOUT_MANIFEST;
            else {
                fprintf(stderr, "shiftvox eval: --layout is full, testset or manifest, not '%s'\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--list")) {
            if (!v || (strcmp(v, "testing") && strcmp(v, "validation"))) {
                fprintf(stderr, "shiftvox eval: --list is testing or validation\n");
                return 2;
            }
            o.list = v; i++;
        } else if (!strcmp(a, "--split")) {
            if (!v) goto bad;
            o.split = v; i++;
        } else if (!strcmp(a, "--no-bias")) {
            o.no_bias = 1;
        } else if (!strcmp(a, "--no-silence")) {
            o.want_silence = 0;
        } else if (!strcmp(a, "--noise")) {
            if (!v) goto bad;
            o.noise_dir = v; i++;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            if (app_parse_int(a, v, 1, 64, &lv) < 0) return 2;
            o.jobs = (int)lv; i++;
        } else if (!strcmp(a, "--report")) {
            if (!v) goto bad;
            o.report = v; i++;
        } else if (!strcmp(a, "--plots")) {
            if (!v) goto bad;
            o.plots = v; i++;
        } else if (!strcmp(a, "--seed")) {
            if (app_parse_int(a, v, 0, 2147483647L, &lv) < 0) return 2;
            o.seed = (uint64_t)lv; i++;
        } else if (!strcmp(a, "--include-trained")) {
            o.include_trained = 1;
        } else if (!strcmp(a, "--limit")) {
            if (app_parse_int(a, v, 1, 2147483647L, &lv) < 0) return 2;
            o.limit = lv; i++;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (!strcmp(a, "--progress")) {
            o.progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            o.progress = 0;
        } else if (!strcmp(a, "--stream")) {
            o.stream = 1;
        } else if (!strcmp(a, "--keywords") || !strcmp(a, "-k")) {
            if (!v) goto bad;
            o.keywords = v; i++;
        } else if (!strcmp(a, "--target-fa")) {
            if (app_parse_double(a, v, 0, 1e6, &o.target_fa) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--gap")) {
            if (parse_range(a, v, 0, 60, &o.gap_min, &o.gap_max) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--snr")) {
            if (parse_range(a, v, -20, 80, &o.snr_min, &o.snr_max) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--no-compete")) {
            o.no_compete = 1;
        } else if (!strcmp(a, "--no-calibration")) {
            o.no_calibration = 1;
        } else if (!strcmp(a, "--refractory")) {
            if (app_parse_double(a, v, 0, 60, &o.refractory) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--save-audio")) {
            if (!v) goto bad;
            o.save_audio = v; i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "shiftvox eval: unknown option %s\n", a);
            goto bad;
        } else if (!o.input) {
            o.input = a;
        } else {
            fprintf(stderr, "shiftvox eval: one DIR or MANIFEST, got '%s' too\n", a);
            goto bad;
        }
    }
    if (!o.input) {
        fprintf(stderr, "shiftvox eval: no DIR or MANIFEST given\n");
        goto bad;
    }
    if (o.progress < 0)
        o.progress = isatty(2);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout becomes a write error we report */

    svx_model *model;
    if (app_load_model_int(o.model_path, force_integer, &model) < 0)
        return 1;
    eval_load_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.path = o.input;
    lo.layout = o.layout;
    lo.list = o.list;
    lo.split = o.split;
    lo.rate_hz = svx_model_frontend(model)->sample_rate_hz;
    lo.seed = o.seed;
    lo.want_silence = o.want_silence && !o.stream;
    lo.want_noise = o.stream;
    lo.noise_dir = o.noise_dir;
    lo.max_clips = o.limit;
    /* Never score a model on the speakers it learnt from. */
    char **trained = NULL;
    int n_trained = o.include_trained ? 0 : eval_trained_speakers(svx_model_metadata(model), &trained);
    if (n_trained < 0) {
        fprintf(stderr, "shiftvox eval: %s: metadata dev_trained_speakers is not an array of "
                        "strings\n", o.model_path ? o.model_path : app_default_model());
        svx_model_destroy(model);
        return 2;
    }
    lo.exclude_speakers = (const char *const *)trained;
    lo.n_exclude_speakers = n_trained;
    eval_set set;
    if (eval_set_load(&lo, &set) < 0) {
        eval_speakers_free(trained, n_trained);
        svx_model_destroy(model);
        return 2;
    }
    if (set.n_excluded)
        fprintf(stderr, "shiftvox eval: left out %d clips of the %d speakers the model was trained "
                        "on (--include-trained keeps them)\n", set.n_excluded, n_trained);
    int rc = o.stream ? eval_run_stream(&o, model, &set) : run_classify(&o, model, &set);
    eval_set_free(&set);
    eval_speakers_free(trained, n_trained);
    svx_model_destroy(model);
    return rc;
bad:
    usage(stderr);
    return 2;
}

