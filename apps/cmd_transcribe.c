/* shiftvox transcribe: batch transcription of audio files.
 *
 * Each worker thread owns one svx_stream; all share one read-only model.
 * Results are printed in the order the files were given, as soon as every
 * earlier file is done. A file that fails prints an error naming it and the
 * batch goes on; the exit status is 1 if any file failed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

typedef struct {
    const char *path;
    svx_word *words;   /* final words taken from the stream as it goes */
    int n_words, cap_words;
    char *line;        /* formatted result (NULL until done) */
    int failed;
    double audio_s;
} job;

typedef struct {
    const svx_model *model;
    svx_stream_config cfg;
    job *jobs;
    int n_jobs;
    int next_job;      /* next file to take */
    int next_print;    /* next file to print */
    int n_done, n_failed;
    double audio_done_s;
    int json, progress, raw_rate;
    int out_error;     /* writing stdout failed */
    pthread_mutex_t mu;
    double t0;
} batch;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shiftvox transcribe [options] FILE...\n"
            "Transcribes each FILE (any format libsndfile reads; '-' = raw s16le mono on stdin).\n"
            "Prints one line per file: 'FILE<TAB>TEXT', or JSON with --json.\n\n"
            "  -m, --model FILE    model (default: %s)\n"
            APP_INTEGER_HELP("           ")
            "  -j, --jobs N        files processed in parallel (default 1)\n"
            "  --json              one JSON object per file: text, words with start/end/confidence\n"
            "  --greedy            CTC best path instead of lexicon beam search\n"
            "  --beam N            beam size (default 32)\n"
            "  --words LIST|@FILE  allowed words, comma-separated or one per line in FILE\n"
            "                      (default: the model's vocabulary)\n"
            "  --rate HZ           sample rate of raw standard input (default 16000)\n"
            "  --progress / --no-progress   progress bar on stderr (default: when a terminal)\n",
            app_default_model());
}

/* JSON string escape into out (always NUL-terminated). */
static void json_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 7 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

/* Appends formatted text to a growing heap string. */
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -1;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return 0;
        }
        size_t nc = (*cap ? *cap * 2 : 256) + (size_t)n;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return -1;
        *buf = nb;
        *cap = nc;
    }
}

static char *format_result(const batch *b, const job *j)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (b->json) {
        char esc[1024];
        json_escape(j->path, esc, sizeof esc);
        appendf(&buf, &len, &cap, "{\"file\": \"%s\", \"duration\": %.3f, \"text\": \"", esc, j->audio_s);
        for (int i = 0; i < j->n_words; i++) {
            json_escape(j->words[i].text, esc, sizeof esc);
            appendf(&buf, &len, &cap, "%s%s", i ? " " : "", esc);
        }
        appendf(&buf, &len, &cap, "\", \"words\": [");
        for (int i = 0; i < j->n_words; i++) {
            json_escape(j->words[i].text, esc, sizeof esc);
            appendf(&buf, &len, &cap,
                    "%s{\"word\": \"%s\", \"start\": %.3f, \"end\": %.3f, \"confidence\": %.3f}",
                    i ? ", " : "", esc, j->words[i].start_s, j->words[i].end_s,
                    (double)j->words[i].confidence);
        }
        appendf(&buf, &len, &cap, "]}\n");
    } else {
        appendf(&buf, &len, &cap, "%s\t", j->path);
        for (int i = 0; i < j->n_words; i++)
            appendf(&buf, &len, &cap, "%s%s", i ? " " : "", j->words[i].text);
        appendf(&buf, &len, &cap, "\n");
    }
    return buf;
}

/* Moves the stream's final words into the job (the stream's store is bounded). */
static int take_words(job *j, svx_stream *st)
{
    for (;;) {
        if (j->n_words + 64 > j->cap_words) {
            int nc = j->cap_words ? j->cap_words * 2 : 256;
            svx_word *nw = realloc(j->words, sizeof(svx_word) * (size_t)nc);
            if (!nw)
                return SVX_ERR_NO_MEMORY;
            j->words = nw;
            j->cap_words = nc;
        }
        int got = svx_stream_take_words(st, j->words + j->n_words, 64);
        if (got < 0)
            return got;
        j->n_words += got;
        if (got < 64)
            return 0;
    }
}

static void draw_progress(batch *b)
{
    double el = now_s() - b->t0;
    int width = 30, filled = b->n_jobs ? width * b->n_done / b->n_jobs : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d/%d files, %.1f s audio, %.0fx real time%s", bar, b->n_done, b->n_jobs,
            b->audio_done_s, el > 0 ? b->audio_done_s / el : 0.0, b->n_failed ? ", some failed" : "");
    fflush(stderr);
}

/* Prints every finished result that is next in order. Called with mu held. */
static void flush_in_order(batch *b)
{
    while (b->next_print < b->n_jobs && (b->jobs[b->next_print].line || b->jobs[b->next_print].failed)) {
        job *j = &b->jobs[b->next_print];
        if (j->line && !b->out_error) {
            if (b->progress)
                fputs("\r\033[K", stderr);
            if (fputs(j->line, stdout) < 0 || fflush(stdout) != 0) {
                b->out_error = errno ? errno : EIO;
            }
        }
        free(j->line);
        j->line = NULL;
        b->next_print++;
    }
    if (b->progress)
        draw_progress(b);
}

static int transcribe_one(batch *b, job *j, svx_stream *st)
{
    svx_audio_reader *rd;
    int rc = app_open_input(j->path, b->raw_rate, svx_model_frontend(b->model)->sample_rate_hz, &rd);
    if (rc < 0)
        return rc;
    svx_stream_reset(st);
    float pcm[4096];
    for (;;) {
        long n = svx_audio_read(rd, pcm, sizeof pcm / sizeof pcm[0]);
        if (n < 0) {
            rc = (int)n;
            app_print_error(j->path, rc);
            break;
        }
        if (n == 0)
            break;
        rc = svx_stream_push(st, pcm, (size_t)n);
        if (rc >= 0)
            rc = take_words(j, st);
        if (rc < 0) {
            app_print_error(j->path, rc);
            break;
        }
    }
    svx_audio_close(rd);
    if (rc >= 0 && (rc = svx_stream_flush(st)) < 0)
        app_print_error(j->path, rc);
    if (rc >= 0 && (rc = take_words(j, st)) < 0)
        app_print_error(j->path, rc);
    j->audio_s = svx_stream_audio_seconds(st);
    if (rc >= 0) {
        j->line = format_result(b, j);
        if (!j->line) {
            fprintf(stderr, "shiftvox: %s: out of memory formatting the result\n", j->path);
            rc = SVX_ERR_NO_MEMORY;
        }
    }
    return rc;
}

static void *worker(void *arg)
{
    batch *b = arg;
    svx_stream *st = NULL;
    int rc = svx_stream_create(b->model, &b->cfg, &st);
    if (rc < 0)
        app_print_error("creating a stream", rc);
    for (;;) {
        pthread_mutex_lock(&b->mu);
        int idx = b->out_error ? b->n_jobs : b->next_job++;
        pthread_mutex_unlock(&b->mu);
        if (idx >= b->n_jobs)
            break;
        job *j = &b->jobs[idx];
        int r = st ? transcribe_one(b, j, st) : rc;
        free(j->words);
        j->words = NULL;
        pthread_mutex_lock(&b->mu);
        if (r < 0) {
            j->failed = 1;
            b->n_failed++;
        }
        b->n_done++;
        b->audio_done_s += j->audio_s;
        flush_in_order(b);
        pthread_mutex_unlock(&b->mu);
    }
    svx_stream_destroy(st);
    return NULL;
}

/* Reads "a,b,c" or "@file" (one word per line) into a NULL-terminated list. */
static char **read_words(const char *spec, int *n_out, char **storage)
{
    char *text = NULL;
    if (spec[0] == '@') {
        FILE *f = fopen(spec + 1, "r");
        if (!f) {
            fprintf(stderr, "shiftvox: %s: cannot open word list: %s\n", spec + 1, strerror(errno));
            return NULL;
        }
        size_t cap = 0, len = 0;
        int c;
        while ((c = fgetc(f)) != EOF) {
            if (len + 2 > cap) {
                cap = cap ? cap * 2 : 1024;
                char *nt = realloc(text, cap);
                if (!nt) { free(text); fclose(f); return NULL; }
                text = nt;
            }
            text[len++] = (char)(c == '\n' || c == '\r' ? ',' : c);
        }
        fclose(f);
        if (!text) {
            fprintf(stderr, "shiftvox: %s: empty word list\n", spec + 1);
            return NULL;
        }
        text[len] = '\0';
    } else {
        text = strdup(spec);
    }
    if (!text)
        return NULL;
    int n = 0;
    for (char *p = text; *p; p++)
        n += *p == ',';
    char **words = calloc((size_t)n + 3, sizeof(char *));
    if (!words) { free(text); return NULL; }
    int k = 0;
    for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ' || *tok == '\t') tok++;
        size_t l = strlen(tok);
        while (l && (tok[l - 1] == ' ' || tok[l - 1] == '\t')) tok[--l] = '\0';
        if (l)
            words[k++] = tok;
    }
    words[k] = NULL;
    *storage = text;
    *n_out = k;
    if (k == 0) {
        fprintf(stderr, "shiftvox: word list '%s' has no words\n", spec);
        free(text);
        free(words);
        return NULL;
    }
    return words;
}

int cmd_transcribe(int argc, char **argv)
{
    const char *model_path = NULL, *words_spec = NULL;
    int force_integer = 0;
    long jobs_n = 1, beam = 0, raw_rate = 16000;
    int json = 0, greedy = 0, progress = -1, n_files = 0;
    char **files = calloc((size_t)argc + 1, sizeof(char *));
    if (!files)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!v) goto bad;
            model_path = v; i++;
        } else if (!strcmp(a, "--integer")) {
            force_integer = 1;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            if (app_parse_int(a, v, 1, 64, &jobs_n) < 0) goto bad;
            i++;
        } else if (!strcmp(a, "--beam")) {
            if (app_parse_int(a, v, 1, 256, &beam) < 0) goto bad;
            i++;
        } else if (!strcmp(a, "--rate")) {
            if (app_parse_int(a, v, 1000, 384000, &raw_rate) < 0) goto bad;
            i++;
        } else if (!strcmp(a, "--words")) {
            if (!v) goto bad;
            words_spec = v; i++;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--greedy")) {
            greedy = 1;
        } else if (!strcmp(a, "--progress")) {
            progress = 1;
        } else if (!strcmp(a, "--no-progress")) {
            progress = 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "shiftvox transcribe: unknown option %s\n", a);
            goto bad;
        } else {
            files[n_files++] = argv[i];
        }
    }
    if (n_files == 0) {
        fprintf(stderr, "shiftvox transcribe: no input files\n");
        goto bad;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed stdout becomes a write error we report */

    svx_model *model;
    if (app_load_model_int(model_path, force_integer, &model) < 0) {
        free(files);
        return 1;
    }
    batch b;
    memset(&b, 0, sizeof b);
    b.model = model;
    svx_stream_config_default(&b.cfg);
    b.cfg.mode = greedy ? SVX_DECODE_GREEDY : SVX_DECODE_BEAM;
    if (beam > 0)
        b.cfg.beam_size = (int)beam; /* otherwise the library default */
    char **words = NULL, *word_storage = NULL;
    int n_words = 0;
    if (words_spec) {
        words = read_words(words_spec, &n_words, &word_storage);
        if (!words) {
            svx_model_destroy(model);
            free(files);
            return 2;
        }
        b.cfg.lexicon = (const char *const *)words;
        b.cfg.n_lexicon = n_words;
    }
    b.jobs = calloc((size_t)n_files, sizeof(job));
    b.n_jobs = n_files;
    b.json = json;
    b.raw_rate = (int)raw_rate;
    b.progress = progress >= 0 ? progress : isatty(2);
    b.t0 = now_s();
    pthread_mutex_init(&b.mu, NULL);
    for (int i = 0; i < n_files; i++)
        b.jobs[i].path = files[i];
    if (jobs_n > n_files)
        jobs_n = n_files;
    pthread_t th[64];
    int started = 0;
    for (long t = 0; t < jobs_n; t++)
        if (pthread_create(&th[t], NULL, worker, &b) == 0)
            started++;
    if (started == 0)
        worker(&b);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    if (b.progress)
        fputs("\r\033[K", stderr);
    int rc = 0;
    if (b.out_error) {
        fprintf(stderr, "shiftvox transcribe: writing the results failed: %s\n", strerror(b.out_error));
        rc = 1;
    } else if (b.n_failed) {
        fprintf(stderr, "shiftvox transcribe: %d of %d files failed\n", b.n_failed, n_files);
        rc = 1;
    }
    pthread_mutex_destroy(&b.mu);
    free(b.jobs);
    free(words);
    free(word_storage);
    svx_model_destroy(model);
    free(files);
    return rc;
bad:
    usage(stderr);
    free(files);
    return 2;
}
