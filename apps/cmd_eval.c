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
 * seen; thresholds are then swept over the event scores (see stream_eval). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
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
            "  --seed N             silence windows and the --stream signal (default 1)\n"
            "  --limit N            only the first N clips by path (silence is cut for those)\n"
            "  -q, --quiet          no per-file error lines for skipped clips\n\n"
            "Streaming keyword spotting (--stream):\n"
            "  --keywords LIST      keywords (default: yes,no,up,down,left,right,on,off,stop,go)\n"
            "  --target-fa F        false alarms per hour to meet (default 0.5)\n"
            "  --gap MIN,MAX        seconds of noise between clips (default 1,3)\n"
            "  --snr MIN,MAX        clip-to-noise ratio in dB (default 5,20)\n"
            "  --refractory S       seconds between events of one keyword (default: library's)\n"
            "  --save-audio FILE    also write the generated signal (WAV via sox, raw f32 otherwise)\n",
            app_default_model());
}

/* ------------------------------------------------------------------------- */
/* Small output helpers                                                      */
/* ------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* A JSON number; non-finite values become null. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Runs gnuplot on script; 0 on success. Says so and returns -1 when gnuplot
 * is missing or fails (the data and script stay for the user). */
static int run_gnuplot(const char *script)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "shiftvox eval: cannot start gnuplot: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        fprintf(stderr, "shiftvox eval: gnuplot not found (Debian: apt-get install gnuplot-nox); "
                        "kept %s and its data for later\n", script);
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "shiftvox eval: gnuplot failed on %s\n", script);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Per-clip classification                                                   */
/* ------------------------------------------------------------------------- */

typedef struct {
    int done, failed, skipped;
    int truth, pred;      /* label indices in the task, -1 if none */
    int cand;             /* winning candidate */
    double scores[N_CAND];
    char error[256];
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
    double el = now_s() - j->t0;
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
                    r->cand = best;
                    r->pred = cand_label(best, j->task);
                }
            }
            if (n_frames < 0) {
                r->failed = 1;
                const char *msg = svx_last_error_message();
                snprintf(r->error, sizeof r->error, "%s", msg && *msg ? msg : svx_strerror(n_frames));
            }
            free(pcm);
        }
        pthread_mutex_lock(&j->mu);
        r->done = 1;
        j->n_done++;
        if (r->failed) {
            j->n_failed++;
            if (j->progress)
                fputs("\r\033[K", stderr);
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
    long n_eval, n_correct, n_skipped, n_failed;
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
    fprintf(f, "accuracy %.2f%% (%ld/%ld)\n\n", mt->n_eval ? 100.0 * (double)mt->n_correct / (double)mt->n_eval : 0.0,
            mt->n_correct, mt->n_eval);
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
    int w = 1;
    for (long v = mx; v >= 10; v /= 10)
        w++;
    if (w < 6)
        w = 6;
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
    fprintf(f, "set terminal pngcairo size %d,%d font 'sans,9'\nset output '%s'\n", px, px - 60, png);
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
    fprintf(f, "plot '%s' using 1:2:3 with image, '' using 1:2:($4 > 0 ? sprintf('%%d', $4) : '') "
               "with labels font 'sans,%d' tc rgb 'black'\n", dat, task == 35 ? 6 : 8);
    if (fclose(f) != 0)
        return -1;
    if (run_gnuplot(gp) < 0)
        return -1;
    fprintf(stderr, "shiftvox eval: wrote %s\n", png);
    return 0;
}

static void write_classes_json(FILE *f, const metrics *mt)
{
    fprintf(f, "  \"labels\": [");
    for (int k = 0; k < mt->n_labels; k++) {
        fputs(k ? ", " : "", f);
        json_str(f, mt->labels[k]);
    }
    fprintf(f, "],\n  \"classes\": [\n");
    for (int k = 0; k < mt->n_labels; k++) {
        fprintf(f, "    {\"label\": ");
        json_str(f, mt->labels[k]);
        fprintf(f, ", \"precision\": ");
        json_num(f, precision_of(mt, k));
        fprintf(f, ", \"recall\": ");
        json_num(f, recall_of(mt, k));
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

typedef struct {
    const char *input, *model_path, *report, *plots, *noise_dir, *keywords, *save_audio;
    eval_layout layout;
    const char *list, *split;
    int task, jobs, quiet, want_silence, stream, progress;
    long limit;
    uint64_t seed;
    double target_fa, gap_min, gap_max, snr_min, snr_max, refractory;
} eval_opts;

static int write_json_head(FILE *f, const eval_opts *o, const eval_set *set)
{
    fprintf(f, "{\n  \"input\": ");
    json_str(f, o->input);
    fprintf(f, ",\n  \"model\": ");
    json_str(f, o->model_path ? o->model_path : app_default_model());
    fprintf(f, ",\n  \"layout\": \"%s\",\n  \"list\": ", eval_layout_name(set->layout));
    json_str(f, set->layout == EVAL_LAYOUT_FULL ? o->list : "");
    fprintf(f, ",\n  \"split\": ");
    json_str(f, o->split ? o->split : "");
    fprintf(f, ",\n  \"task\": %d,\n  \"seed\": %llu,\n  \"mode\": \"%s\",\n", o->task,
            (unsigned long long)o->seed, o->stream ? "stream" : "classify");
    return 0;
}

static int write_classify_report(const eval_opts *o, const eval_set *set, const clip_result *res,
                                 const metrics *mt, const char *const *cand, double seconds)
{
    FILE *f = fopen(o->report, "w");
    if (!f) {
        fprintf(stderr, "shiftvox eval: %s: %s\n", o->report, strerror(errno));
        return -1;
    }
    write_json_head(f, o, set);
    fprintf(f, "  \"n_clips\": %d,\n  \"n_evaluated\": %ld,\n  \"n_skipped\": %ld,\n"
               "  \"n_failed\": %ld,\n  \"n_correct\": %ld,\n  \"accuracy\": ",
            set->n_clips, mt->n_eval, mt->n_skipped, mt->n_failed, mt->n_correct);
    json_num(f, mt->n_eval ? (double)mt->n_correct / (double)mt->n_eval : NAN);
    fprintf(f, ",\n  \"seconds\": %.3f,\n", seconds);
    write_classes_json(f, mt);
    fprintf(f, "  \"candidates\": [");
    for (int k = 0; k < N_CAND; k++) {
        if (o->task == 35 && k == EVAL_N_WORDS)
            break;
        fputs(k ? ", " : "", f);
        json_str(f, cand[k]);
    }
    fprintf(f, "],\n  \"files\": [\n");
    int n_cand = o->task == 35 ? EVAL_N_WORDS : N_CAND;
    int first = 1;
    for (int i = 0; i < set->n_clips; i++) {
        const clip_result *r = &res[i];
        const eval_clip *c = &set->clips[i];
        if (!r->done)
            continue;
        fprintf(f, "%s    {\"path\": ", first ? "" : ",\n");
        first = 0;
        json_str(f, c->path);
        fprintf(f, ", \"word\": ");
        if (c->word)
            json_str(f, c->word);
        else
            fputs("null", f);
        fprintf(f, ", \"label12\": ");
        json_str(f, c->label12);
        if (r->skipped) {
            fprintf(f, ", \"status\": \"skipped\"}");
            continue;
        }
        if (r->failed) {
            fprintf(f, ", \"status\": \"failed\", \"error\": ");
            json_str(f, r->error);
            fputc('}', f);
            continue;
        }
        fprintf(f, ", \"status\": \"ok\", \"truth\": ");
        json_str(f, mt->labels[r->truth]);
        fprintf(f, ", \"prediction\": ");
        json_str(f, mt->labels[r->pred]);
        fprintf(f, ", \"candidate\": ");
        json_str(f, cand[r->cand]);
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
    j.res = calloc((size_t)(set->n_clips ? set->n_clips : 1), sizeof *j.res);
    if (!j.res) {
        fprintf(stderr, "shiftvox eval: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&j.mu, NULL);
    j.t0 = now_s();
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
    double seconds = now_s() - j.t0;
    if (o->progress)
        fputs("\r\033[K", stderr);
    pthread_mutex_destroy(&j.mu);

    metrics mt;
    task_labels(o->task, &mt);
    compute_metrics(j.res, set->n_clips, &mt);
    char what[4400];
    snprintf(what, sizeof what, "%s (layout %s%s%s)", o->input, eval_layout_name(set->layout),
             set->layout == EVAL_LAYOUT_FULL ? ", list " : "",
             set->layout == EVAL_LAYOUT_FULL ? o->list : "");
    print_text_report(stdout, &mt, what, o->task);
    fprintf(stdout, "\n%.1f s, %.0f clips/s with %d thread%s\n", seconds,
            seconds > 0 ? (double)set->n_clips / seconds : 0.0, started ? started : 1,
            started > 1 ? "s" : "");
    int rc = app_check_output(stdout, "standard output") < 0 ? 1 : 0;
    if (o->report && write_classify_report(o, set, j.res, &mt, j.cand, seconds) < 0)
        rc = 1;
    if (o->plots) {
        if (mkdir_p(o->plots) < 0)
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
/* Streaming keyword spotting                                                */
/* ------------------------------------------------------------------------- */

typedef struct {
    int clip;             /* index in the set */
    int keyword;          /* index in the keyword list, -1 for a distractor */
    double start_s, end_s;        /* where the clip was placed */
    double word_start_s, word_end_s; /* its speech (energy within 35 dB of its peak) */
    double snr_db;
    float best_score;     /* best matching event's score, -1 if none */
    double best_emit_s, best_end_s;
} placed;

typedef struct {
    int keyword;
    double start_s, end_s, emit_s;
    float score;
    int match;            /* index in placed[], -1: a false alarm */
} event_rec;

/* Speech extent of a clip: first and last 10 ms block within 35 dB of the
 * loudest block, and the mean power over those blocks. */
static void speech_extent(const float *x, size_t n, int rate, size_t *b0, size_t *b1, double *power)
{
    size_t blk = (size_t)rate / 100, nb = n / blk + (n % blk != 0);
    double mx = 0;
    for (size_t b = 0; b < nb; b++) {
        double e = 0;
        size_t e0 = b * blk, e1 = e0 + blk < n ? e0 + blk : n;
        for (size_t i = e0; i < e1; i++)
            e += (double)x[i] * x[i];
        e /= (double)(e1 - e0);
        if (e > mx)
            mx = e;
    }
    *b0 = 0;
    *b1 = n;
    *power = 0;
    if (mx <= 0)
        return;
    double thr = mx * pow(10.0, -3.5);
    size_t first = nb, last = 0, cnt = 0;
    double sum = 0;
    for (size_t b = 0; b < nb; b++) {
        double e = 0;
        size_t e0 = b * blk, e1 = e0 + blk < n ? e0 + blk : n;
        for (size_t i = e0; i < e1; i++)
            e += (double)x[i] * x[i];
        e /= (double)(e1 - e0);
        if (e >= thr) {
            if (first == nb)
                first = b;
            last = b;
            sum += e;
            cnt++;
        }
    }
    *b0 = first * blk;
    *b1 = (last + 1) * blk < n ? (last + 1) * blk : n;
    *power = cnt ? sum / (double)cnt : 0;
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
        r->keyword = kw_index(sr, e.keyword);
        r->start_s = e.start_s;
        r->end_s = e.end_s;
        r->emit_s = svx_stream_audio_seconds(sr->st);
        r->score = e.score;
        r->match = -1;
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

/* Adds n samples of noise times gain to out. */
static void bed_add(noise_bed *b, float *out, size_t n, double gain)
{
    if (b->set->n_noise == 0) {
        /* No noise recordings: white noise at the same nominal level (1e-4 power). */
        for (size_t i = 0; i < n; i++)
            out[i] += (float)(gain * 0.01 * (2.0 * eval_rand_uniform(&b->rs) - 1.0) * 1.7320508);
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
        for (size_t k = 0; k < take; k++)
            out[i + k] += (float)(gain * nz->pcm[b->pos + k]);
        b->pos += take;
        i += take;
    }
}

static double bed_power(const noise_bed *b)
{
    if (b->set->n_noise == 0)
        return 1e-4;
    return b->set->noise[b->file].power > 0 ? b->set->noise[b->file].power : 1e-12;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, int n, double p)
{
    if (n == 0)
        return NAN;
    double pos = p * (n - 1);
    int i = (int)pos;
    if (i >= n - 1)
        return sorted[n - 1];
    return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}

#define N_THR 101 /* score thresholds 0.00, 0.01, ..., 1.00 */

static int run_stream(const eval_opts *o, const svx_model *model, const eval_set *set)
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
    /* Every keyword at the highest sensitivity: the sweep below decides. */
    svx_keyword *kws = calloc((size_t)sr.n_kw, sizeof *kws);
    if (!kws) {
        svx_keyword_list_destroy(kl);
        return 1;
    }
    for (int k = 0; k < sr.n_kw; k++) {
        kws[k].word = sr.kw[k].word;
        kws[k].sensitivity = 1.0f;
    }
    svx_stream_config cfg;
    svx_stream_config_default(&cfg);
    cfg.mode = SVX_DECODE_KWS;
    cfg.keywords = kws;
    cfg.n_keywords = sr.n_kw;
    if (o->refractory >= 0)
        cfg.refractory_s = o->refractory;
    rc = svx_stream_create(model, &cfg, &sr.st);
    if (rc < 0) {
        app_print_error("creating the keyword stream", rc);
        free(kws);
        svx_keyword_list_destroy(kl);
        return 2;
    }
    if (o->save_audio && !(sr.save = fopen(o->save_audio, "wb")))
        fprintf(stderr, "shiftvox eval: %s: %s\n", o->save_audio, strerror(errno));

    /* The clips in a seeded random order (silence clips are left out: the
     * bed between clips is already noise). */
    int *order = malloc((size_t)(set->n_clips ? set->n_clips : 1) * sizeof *order);
    placed *pl = calloc((size_t)(set->n_clips ? set->n_clips : 1), sizeof *pl);
    int n_order = 0, n_failed = 0;
    for (int i = 0; order && i < set->n_clips; i++)
        if (strcmp(set->clips[i].label12, EVAL_SILENCE))
            order[n_order++] = i;
    uint64_t rs = o->seed * 0x9E3779B97F4A7C15ull + 77;
    for (int i = n_order - 1; order && i > 0; i--) {
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
    float *buf = NULL;
    size_t buf_cap = 0;
    int n_placed = 0, n_targets = 0;
    double t0 = now_s();
    int ok = order && pl;
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
        double gain = p_speech > 0 ? sqrt(p_speech / (bed_power(&bed) * pow(10.0, snr / 10.0))) : 0;
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
        p->best_score = -1;
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
            bed_add(&bed, buf, tail, 1.0);
            ok = push_audio(&sr, buf, tail) == 0;
        }
        int fr = svx_stream_flush(sr.st);
        if (fr < 0)
            app_print_error("stream flush", fr);
        collect_events(&sr);
    }
    if (o->progress)
        fputs("\r\033[K", stderr);
    double seconds = now_s() - t0;
    double audio_s = (double)sr.pushed / rate, hours = audio_s / 3600.0;
    if (sr.save)
        fclose(sr.save);

    /* Match: an event matches a placed clip of its keyword when their
     * intervals overlap, with 0.25 s of slack either side. */
    const double slack = 0.25;
    for (int e = 0; e < sr.n_ev; e++) {
        event_rec *ev = &sr.ev[e];
        if (ev->keyword < 0)
            continue;
        /* placed[] is in time order: binary search the last clip starting
         * before the event ends, then look back over the few that overlap. */
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
        for (int k = last; k >= 0 && pl[k].end_s + slack + 30.0 >= ev->start_s; k--) {
            if (pl[k].keyword == ev->keyword && pl[k].end_s + slack >= ev->start_s &&
                pl[k].start_s - slack <= ev->end_s) {
                ev->match = k;
                if (ev->score > pl[k].best_score) {
                    pl[k].best_score = ev->score;
                    pl[k].best_emit_s = ev->emit_s;
                    pl[k].best_end_s = ev->end_s;
                }
                break;
            }
        }
    }
    /* Sweep. */
    double frr[N_THR], fa_h[N_THR];
    long n_fa[N_THR], n_hit[N_THR];
    for (int t = 0; t < N_THR; t++) {
        double thr = t / 100.0;
        long hits = 0, fas = 0;
        for (int k = 0; k < n_placed; k++)
            hits += pl[k].keyword >= 0 && pl[k].best_score >= 0 && pl[k].best_score >= (float)thr;
        for (int e = 0; e < sr.n_ev; e++)
            fas += sr.ev[e].match < 0 && sr.ev[e].score >= (float)thr;
        n_hit[t] = hits;
        n_fa[t] = fas;
        frr[t] = n_targets ? 1.0 - (double)hits / n_targets : NAN;
        fa_h[t] = hours > 0 ? (double)fas / hours : NAN;
    }
    int t_star = -1;
    for (int t = 0; t < N_THR; t++)
        if (fa_h[t] <= o->target_fa) {
            t_star = t;
            break;
        }
    double thr_star = t_star >= 0 ? t_star / 100.0 : NAN;

    /* Latencies of the detections kept at the chosen threshold. */
    double *lat_emit = malloc((size_t)(n_placed ? n_placed : 1) * sizeof(double));
    double *lat_end = malloc((size_t)(n_placed ? n_placed : 1) * sizeof(double));
    int n_lat = 0;
    for (int k = 0; lat_emit && lat_end && t_star >= 0 && k < n_placed; k++)
        if (pl[k].keyword >= 0 && pl[k].best_score >= (float)thr_star) {
            lat_emit[n_lat] = pl[k].best_emit_s - pl[k].word_end_s;
            lat_end[n_lat] = pl[k].best_end_s - pl[k].word_end_s;
            n_lat++;
        }
    if (n_lat) {
        qsort(lat_emit, (size_t)n_lat, sizeof(double), cmp_double);
        qsort(lat_end, (size_t)n_lat, sizeof(double), cmp_double);
    }

    /* Text report. */
    printf("%s (layout %s): streaming keyword spotting, %d keywords\n", o->input,
           eval_layout_name(set->layout), sr.n_kw);
    printf("signal: %.1f s (%.3f h), %d clips placed (%d keyword clips, %d other words), %d failed,\n"
           "        gaps %.1f-%.1f s, SNR %.0f-%.0f dB, seed %llu; %d events; %.1f s (%.0fx real time)\n\n",
           audio_s, hours, n_placed, n_targets, n_placed - n_targets, n_failed, o->gap_min, o->gap_max,
           o->snr_min, o->snr_max, (unsigned long long)o->seed, sr.n_ev, seconds,
           seconds > 0 ? audio_s / seconds : 0.0);
    printf("%9s %8s %10s %8s\n", "threshold", "FRR", "FA/hour", "FAs");
    for (int t = 0; t < N_THR; t += 5)
        printf("%9.2f %7.2f%% %10.2f %8ld\n", t / 100.0, 100.0 * frr[t], fa_h[t], n_fa[t]);
    if (t_star >= 0) {
        printf("\nat <= %.2f false alarms/hour: threshold %.2f, false rejection %.2f%% (%ld of %d "
               "keyword clips detected), %.2f FA/h\n",
               o->target_fa, thr_star, 100.0 * frr[t_star], n_hit[t_star], n_targets, fa_h[t_star]);
        printf("per keyword at %.2f:", thr_star);
        for (int k = 0; k < sr.n_kw; k++) {
            int tot = 0, hit = 0;
            for (int p = 0; p < n_placed; p++)
                if (pl[p].keyword == k) {
                    tot++;
                    hit += pl[p].best_score >= (float)thr_star;
                }
            printf(" %s %.1f%%", sr.kw[k].word, tot ? 100.0 * (1.0 - (double)hit / tot) : 0.0);
        }
        printf(" (FRR)\n");
        if (n_lat)
            printf("latency, event emitted - end of the word: median %.0f ms, p90 %.0f ms, max %.0f ms;\n"
                   "         event end - end of the word: median %.0f ms, p90 %.0f ms (%d detections)\n",
                   1e3 * percentile(lat_emit, n_lat, 0.5), 1e3 * percentile(lat_emit, n_lat, 0.9),
                   1e3 * lat_emit[n_lat - 1], 1e3 * percentile(lat_end, n_lat, 0.5),
                   1e3 * percentile(lat_end, n_lat, 0.9), n_lat);
    } else {
        printf("\nno threshold gives <= %.2f false alarms/hour\n", o->target_fa);
    }
    rc = app_check_output(stdout, "standard output") < 0 ? 1 : 0;

    if (o->report) {
        FILE *f = fopen(o->report, "w");
        if (!f) {
            fprintf(stderr, "shiftvox eval: %s: %s\n", o->report, strerror(errno));
            rc = 1;
        } else {
            write_json_head(f, o, set);
            fprintf(f, "  \"keywords\": [");
            for (int k = 0; k < sr.n_kw; k++) {
                fputs(k ? ", " : "", f);
                json_str(f, sr.kw[k].word);
            }
            fprintf(f, "],\n  \"audio_seconds\": %.3f,\n  \"hours\": %.6f,\n  \"n_placed\": %d,\n"
                       "  \"n_keyword_clips\": %d,\n  \"n_failed\": %d,\n  \"n_events\": %d,\n"
                       "  \"gap_s\": [%g, %g],\n  \"snr_db\": [%g, %g],\n  \"target_fa_per_hour\": %g,\n"
                       "  \"threshold\": ",
                    audio_s, hours, n_placed, n_targets, n_failed, sr.n_ev, o->gap_min, o->gap_max,
                    o->snr_min, o->snr_max, o->target_fa);
            json_num(f, thr_star);
            fprintf(f, ",\n  \"frr_at_threshold\": ");
            json_num(f, t_star >= 0 ? frr[t_star] : NAN);
            fprintf(f, ",\n  \"fa_per_hour_at_threshold\": ");
            json_num(f, t_star >= 0 ? fa_h[t_star] : NAN);
            fprintf(f, ",\n  \"latency_ms\": {\"n\": %d, \"emit_median\": ", n_lat);
            json_num(f, 1e3 * percentile(lat_emit, n_lat, 0.5));
            fprintf(f, ", \"emit_p90\": ");
            json_num(f, 1e3 * percentile(lat_emit, n_lat, 0.9));
            fprintf(f, ", \"emit_max\": ");
            json_num(f, n_lat ? 1e3 * lat_emit[n_lat - 1] : NAN);
            fprintf(f, ", \"end_median\": ");
            json_num(f, 1e3 * percentile(lat_end, n_lat, 0.5));
            fprintf(f, ", \"end_p90\": ");
            json_num(f, 1e3 * percentile(lat_end, n_lat, 0.9));
            fprintf(f, "},\n  \"sweep\": [\n");
            for (int t = 0; t < N_THR; t++) {
                fprintf(f, "    {\"threshold\": %.2f, \"frr\": ", t / 100.0);
                json_num(f, frr[t]);
                fprintf(f, ", \"fa_per_hour\": ");
                json_num(f, fa_h[t]);
                fprintf(f, ", \"false_alarms\": %ld, \"detected\": %ld}%s\n", n_fa[t], n_hit[t],
                        t + 1 < N_THR ? "," : "");
            }
            fprintf(f, "  ],\n  \"placed\": [\n");
            for (int k = 0; k < n_placed; k++) {
                const placed *p = &pl[k];
                fprintf(f, "    {\"path\": ");
                json_str(f, set->clips[p->clip].path);
                fprintf(f, ", \"word\": ");
                json_str(f, set->clips[p->clip].word ? set->clips[p->clip].word : "");
                fprintf(f, ", \"keyword\": %s, \"start\": %.3f, \"end\": %.3f, \"word_end\": %.3f, "
                           "\"snr_db\": %.1f, \"best_score\": ",
                        p->keyword >= 0 ? "true" : "false", p->start_s, p->end_s, p->word_end_s, p->snr_db);
                json_num(f, p->best_score >= 0 ? p->best_score : NAN);
                fprintf(f, "}%s\n", k + 1 < n_placed ? "," : "");
            }
            fprintf(f, "  ],\n  \"events\": [\n");
            for (int e = 0; e < sr.n_ev; e++) {
                const event_rec *ev = &sr.ev[e];
                fprintf(f, "    {\"keyword\": ");
                json_str(f, ev->keyword >= 0 ? sr.kw[ev->keyword].word : "?");
                fprintf(f, ", \"start\": %.3f, \"end\": %.3f, \"emitted\": %.3f, \"score\": %.4f, "
                           "\"matched\": %s}%s\n",
                        ev->start_s, ev->end_s, ev->emit_s, (double)ev->score,
                        ev->match >= 0 ? "true" : "false", e + 1 < sr.n_ev ? "," : "");
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
        FILE *f = mkdir_p(o->plots) == 0 ? fopen(dat, "w") : NULL;
        FILE *g = f ? fopen(gp, "w") : NULL;
        if (!f || !g) {
            fprintf(stderr, "shiftvox eval: cannot write %s: %s\n", o->plots, strerror(errno));
            if (f)
                fclose(f);
        } else {
            fprintf(f, "# threshold fa_per_hour frr_percent\n");
            for (int t = 0; t < N_THR; t++)
                fprintf(f, "%.2f %.6g %.6g\n", t / 100.0, fa_h[t], 100.0 * frr[t]);
            fclose(f);
            fprintf(g, "# DET curve written by shiftvox eval; run: gnuplot det.gp\n"
                       "set terminal pngcairo size 800,600 font 'sans,10'\nset output '%s'\n"
                       "set title 'Keyword spotting DET (%.2f h of audio, %d keyword clips)'\n"
                       "set xlabel 'false alarms per hour'\nset ylabel 'false rejection rate (%%)'\n"
                       "set grid\nset key top right\nset xrange [0:*]\nset yrange [0:*]\n",
                    png, hours, n_targets);
            if (t_star >= 0)
                fprintf(g, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 2 lc rgb 'red'\n"
                           "set label 'target %.2g FA/h: threshold %.2f, FRR %.1f%%' at graph 0.35, graph 0.9\n",
                        o->target_fa, o->target_fa, o->target_fa, thr_star, 100.0 * frr[t_star]);
            fprintf(g, "plot '%s' using 2:3 with linespoints pt 7 ps 0.5 title 'threshold sweep 0-1'\n", dat);
            fclose(g);
            if (run_gnuplot(gp) == 0)
                fprintf(stderr, "shiftvox eval: wrote %s\n", png);
        }
    }
    free(lat_emit);
    free(lat_end);
    free(buf);
    free(order);
    free(pl);
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
    if (app_load_model(o.model_path, NULL, &model) < 0)
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
    eval_set set;
    if (eval_set_load(&lo, &set) < 0) {
        svx_model_destroy(model);
        return 2;
    }
    int rc = o.stream ? run_stream(&o, model, &set) : run_classify(&o, model, &set);
    eval_set_free(&set);
    svx_model_destroy(model);
    return rc;
bad:
    usage(stderr);
    return 2;
}
