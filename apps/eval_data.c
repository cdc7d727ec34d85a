/* Speech Commands layouts for `shiftvox eval` (see eval_data.h).
 *
 *   full      the released dataset v0.01 / v0.02: DIR/<word>/<speaker>_nohash_<n>.wav,
 *             DIR/testing_list.txt and DIR/validation_list.txt ("word/file.wav" per
 *             line), DIR/_background_noise_/. _silence_ clips are cut from the noise
 *             as in the dataset's recipe (TensorFlow speech_commands input_data.py:
 *             silence is 10 % of the word clips, so 1/11 of the set).
 *   testset   the official test-set archive: DIR/<label>/... with _unknown_/ holding
 *             <word>_<speaker>_nohash_<n>.wav and _silence_/ holding noise clips.
 *   manifest  a TSV with a header naming at least the columns path, label12, word
 *             (also speaker, split, source); paths relative to the manifest's folder;
 *             word '-' = not known.
 */
#include "eval_data.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "shiftvox.h"

const char *const eval_words[EVAL_N_WORDS] = {
    "yes",  "no",    "up",    "down",  "left",  "right",  "on",      "off",    "stop",
    "go",   "zero",  "one",   "two",   "three", "four",   "five",    "six",    "seven",
    "eight", "nine", "bed",   "bird",  "cat",   "dog",    "happy",   "house",  "marvin",
    "sheila", "tree", "wow",  "backward", "forward", "follow", "learn", "visual",
};

int eval_word_index(const char *word)
{
    if (!word)
        return -1;
    for (int i = 0; i < EVAL_N_WORDS; i++)
        if (!strcmp(word, eval_words[i]))
            return i;
    return -1;
}

const char *eval_layout_name(eval_layout l)
{
    switch (l) {
    case EVAL_LAYOUT_FULL: return "full";
    case EVAL_LAYOUT_TESTSET: return "testset";
    case EVAL_LAYOUT_MANIFEST: return "manifest";
    default: return "auto";
    }
}

uint64_t eval_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double eval_rand_uniform(uint64_t *state)
{
    return (double)(eval_rand_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Files libsndfile may read, by extension (a bad file with one of these is
 * still listed: it is reported when read). */
static int audio_name(const char *name)
{
    static const char *const ext[] = {"wav", "flac", "ogg", "oga", "opus", "aiff", "aif", "aifc",
                                      "au", "snd", "caf", "w64", "rf64", "mp3"};
    if (name[0] == '.')
        return 0;
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        const char *a = dot + 1, *b = ext[i];
        while (*a && *b && (*a | 0x20) == *b) {
            a++;
            b++;
        }
        if (!*a && !*b)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir that pass keep(); NULL on error. */
static char **list_dir(const char *dir, int want_dirs, int *n_out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "shiftvox eval: %s: cannot open folder: %s\n", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (want_dirs ? !is_dir(path) : (is_dir(path) || !audio_name(e->d_name)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = xstrdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    *n_out = n;
    if (!names)
        names = calloc(1, sizeof *names);
    return names;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static const char *label12_of(const char *word)
{
    if (word && !strcmp(word, EVAL_SILENCE))
        return EVAL_SILENCE;
    int w = eval_word_index(word);
    return (w >= 0 && w < EVAL_N_KEYWORDS) ? eval_words[w] : EVAL_UNKNOWN;
}

void eval_clip_speaker(const char *path, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = '\0';
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *nh = strstr(base, "_nohash_");
    if (!nh)
        return;
    const char *b = nh;
    while (b > base && b[-1] != '_')
        b--;
    size_t n = (size_t)(nh - b);
    if (n == 0 || n >= cap)
        return;
    memcpy(out, b, n);
    out[n] = '\0';
}

void eval_speakers_free(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int eval_trained_speakers(const char *meta, char ***out)
{
    *out = NULL;
    const char *p = meta ? strstr(meta, "\"dev_trained_speakers\"") : NULL;
    if (!p)
        return 0;
    p += strlen("\"dev_trained_speakers\"");
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != '[')
        return -1;
    p++;
    char **list = NULL;
    int n = 0, cap = 0;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == ']')
            break;
        if (*p != '"')
            goto bad;
        const char *e = strchr(p + 1, '"');
        if (!e || e - p - 1 > 255 || memchr(p + 1, '\\', (size_t)(e - p - 1)))
            goto bad;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nl = realloc(list, (size_t)cap * sizeof *nl);
            if (!nl)
                goto bad;
            list = nl;
        }
        if (!(list[n] = malloc((size_t)(e - p))))
            goto bad;
        memcpy(list[n], p + 1, (size_t)(e - p - 1));
        list[n][e - p - 1] = '\0';
        n++;
        p = e + 1;
    }
    *out = list;
    return n;
bad:
    eval_speakers_free(list, n);
    return -1;
}

static int excluded(const eval_set *set, const char *path)
{
    if (!set->n_exclude)
        return 0;
    char spk[256];
    eval_clip_speaker(path, spk, sizeof spk);
    if (!spk[0])
        return 0;
    for (int i = 0; i < set->n_exclude; i++)
        if (!strcmp(set->exclude[i], spk))
            return 1;
    return 0;
}

static int add_clip(eval_set *set, int *cap, const char *path, const char *word, const char *label12,
                    const float *pcm, size_t n_samples)
{
    if (!pcm && excluded(set, path)) {
        set->n_excluded++;
        return 0;
    }
    if (set->n_clips == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        eval_clip *nc = realloc(set->clips, (size_t)*cap * sizeof *nc);
        if (!nc)
            return -1;
        set->clips = nc;
    }
    eval_clip *c = &set->clips[set->n_clips];
    memset(c, 0, sizeof *c);
    c->path = xstrdup(path);
    c->word = word ? xstrdup(word) : NULL;
    c->label12 = xstrdup(label12 ? label12 : label12_of(word));
    c->pcm = pcm;
    c->n_samples = n_samples;
    if (!c->path || (word && !c->word) || !c->label12) {
        free(c->path);
        free(c->word);
        free(c->label12);
        return -1;
    }
    set->n_clips++;
    return 0;
}

int eval_read_audio(const char *path, int rate_hz, float **pcm, size_t *n_samples)
{
    svx_audio_reader *rd;
    *pcm = NULL;
    *n_samples = 0;
    int rc = svx_audio_open_file(path, rate_hz, &rd);
    if (rc < 0)
        return rc;
    size_t cap = (size_t)rate_hz, n = 0;
    float *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        svx_audio_close(rd);
        return SVX_ERR_NO_MEMORY;
    }
    for (;;) {
        if (n == cap) {
            float *nb = cap < ((size_t)1 << 40) ? realloc(buf, 2 * cap * sizeof *buf) : NULL;
            if (!nb) {
                free(buf);
                svx_audio_close(rd);
                return SVX_ERR_NO_MEMORY;
            }
            buf = nb;
            cap *= 2;
        }
        long got = svx_audio_read(rd, buf + n, cap - n);
        if (got < 0) {
            free(buf);
            svx_audio_close(rd);
            return (int)got;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    svx_audio_close(rd);
    *pcm = buf;
    *n_samples = n;
    return 0;
}

int eval_noise_load_dir(const char *dir, int rate_hz, eval_noise **out, int *n_out)
{
    int n_names;
    char **names = list_dir(dir, 0, &n_names);
    *out = NULL;
    *n_out = 0;
    if (!names)
        return -1;
    eval_noise *noise = calloc((size_t)(n_names ? n_names : 1), sizeof *noise);
    int n = 0;
    for (int i = 0; noise && i < n_names; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        float *pcm;
        size_t ns;
        int rc = eval_read_audio(path, rate_hz, &pcm, &ns);
        if (rc < 0) {
            app_print_error(path, rc);
            continue;
        }
        if (ns < (size_t)rate_hz) {
            fprintf(stderr, "shiftvox eval: %s: noise shorter than 1 s, skipped\n", path);
            free(pcm);
            continue;
        }
        double p = 0;
        for (size_t k = 0; k < ns; k++)
            p += (double)pcm[k] * pcm[k];
        noise[n].path = xstrdup(path);
        noise[n].pcm = pcm;
        noise[n].n_samples = ns;
        noise[n].power = p / (double)ns;
        n++;
    }
    free_names(names, n_names);
    if (!noise)
        return -1;
    *out = noise;
    *n_out = n;
    return n;
}

/* Cuts n 1-second windows from the noise, round-robin over the files at
 * offsets drawn from seed: the same folder and seed give the same windows. */
static int cut_silence(eval_set *set, int *cap, int n, int rate_hz, uint64_t seed)
{
    uint64_t rs = seed ^ 0x53494C45ull;
    for (int k = 0; k < n && set->n_noise > 0; k++) {
        const eval_noise *nz = &set->noise[k % set->n_noise];
        size_t len = (size_t)rate_hz;
        size_t span = nz->n_samples - len;
        size_t off = (size_t)(eval_rand_uniform(&rs) * (double)(span + 1));
        if (off > span)
            off = span;
        char path[8192];
        snprintf(path, sizeof path, "%s@%.3f", nz->path, (double)off / rate_hz);
        if (add_clip(set, cap, path, EVAL_SILENCE, EVAL_SILENCE, nz->pcm + off, len) < 0)
            return -1;
    }
    return 0;
}

/* Reads a whole small text file; NULL (with a message) on error. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "shiftvox eval: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        if (got == 0)
            break;
        n += got;
    }
    if (buf && ferror(f)) {
        fprintf(stderr, "shiftvox eval: %s: read error\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* Next line of *p (newline removed, trailing CR stripped); NULL at the end. */
static char *next_line(char **p)
{
    if (!*p || !**p)
        return NULL;
    char *line = *p, *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
        line[--l] = '\0';
    return line;
}

static int load_full(const eval_load_opts *o, eval_set *set, int *cap)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s_list.txt", set->root, o->list);
    char *text = read_text(path);
    if (!text)
        return -1;
    char *p = text, *line;
    int n_lines = 0;
    while ((line = next_line(&p))) {
        if (!*line)
            continue;
        n_lines++;
        char *slash = strchr(line, '/');
        if (!slash) {
            fprintf(stderr, "shiftvox eval: %s:%d: expected WORD/FILE, got '%s'\n", path, n_lines, line);
            continue;
        }
        char word[256];
        snprintf(word, sizeof word, "%.*s", (int)(slash - line), line);
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", set->root, line);
        if (add_clip(set, cap, full, word, NULL, NULL, 0) < 0) {
            free(text);
            return -1;
        }
    }
    free(text);
    if (set->n_clips == 0) {
        fprintf(stderr, "shiftvox eval: %s lists no clips\n", path);
        return -1;
    }
    return 0;
}

static int load_testset(eval_set *set, int *cap)
{
    int n_dirs;
    char **dirs = list_dir(set->root, 1, &n_dirs);
    if (!dirs)
        return -1;
    for (int d = 0; d < n_dirs; d++) {
        const char *label = dirs[d];
        if (!strcmp(label, "_background_noise_"))
            continue;
        char dpath[8192];
        snprintf(dpath, sizeof dpath, "%s/%s", set->root, label);
        int n_files;
        char **files = list_dir(dpath, 0, &n_files);
        if (!files)
            continue;
        for (int f = 0; f < n_files; f++) {
            char full[12288];
            snprintf(full, sizeof full, "%s/%s", dpath, files[f]);
            const char *word = label;
            char buf[256];
            if (!strcmp(label, EVAL_UNKNOWN)) {
                /* <word>_<speaker>_nohash_<n>.wav: the word is before the speaker. */
                const char *nh = strstr(files[f], "_nohash_");
                word = NULL;
                if (nh) {
                    const char *us = nh;
                    while (us > files[f] && us[-1] != '_')
                        us--;
                    if (us > files[f] + 1) {
                        snprintf(buf, sizeof buf, "%.*s", (int)(us - 1 - files[f]), files[f]);
                        word = buf;
                    }
                }
            }
            const char *l12 = !strcmp(label, EVAL_UNKNOWN) ? EVAL_UNKNOWN
                              : !strcmp(label, EVAL_SILENCE) ? EVAL_SILENCE : label12_of(word);
            if (add_clip(set, cap, full, word, l12, NULL, 0) < 0) {
                free_names(files, n_files);
                free_names(dirs, n_dirs);
                return -1;
            }
        }
        free_names(files, n_files);
    }
    free_names(dirs, n_dirs);
    if (set->n_clips == 0) {
        fprintf(stderr, "shiftvox eval: %s: no audio files in its label folders\n", set->root);
        return -1;
    }
    return 0;
}

static int load_manifest(const eval_load_opts *o, eval_set *set, int *cap)
{
    char *text = read_text(o->path);
    if (!text)
        return -1;
    char *p = text, *line = next_line(&p);
    int col_path = -1, col_label = -1, col_word = -1, col_split = -1, n_cols = 0;
    for (char *tok = line; tok;) {
        char *tab = strchr(tok, '\t');
        if (tab)
            *tab = '\0';
        if (!strcmp(tok, "path")) col_path = n_cols;
        else if (!strcmp(tok, "label12")) col_label = n_cols;
        else if (!strcmp(tok, "word")) col_word = n_cols;
        else if (!strcmp(tok, "split")) col_split = n_cols;
        n_cols++;
        tok = tab ? tab + 1 : NULL;
    }
    if (col_path < 0 || (col_label < 0 && col_word < 0)) {
        fprintf(stderr, "shiftvox eval: %s: the header must name the columns path and label12 "
                        "or word (tab-separated)\n", o->path);
        free(text);
        return -1;
    }
    /* Default split: test if any row has it, else dev, else every row. */
    const char *split = o->split;
    char *rows_start = p;
    if (!split && col_split >= 0) {
        int has_test = 0, has_dev = 0;
        for (char *q = rows_start; *q;) {
            char *nl = strchr(q, '\n');
            size_t len = nl ? (size_t)(nl - q) : strlen(q);
            const char *f = q;
            for (int c = 0; c < col_split && f < q + len; c++) {
                const char *t = memchr(f, '\t', (size_t)(q + len - f));
                f = t ? t + 1 : q + len;
            }
            if (!strncmp(f, "test\t", 5) || (q + len - f == 4 && !strncmp(f, "test", 4)))
                has_test = 1;
            if (!strncmp(f, "dev\t", 4) || (q + len - f == 3 && !strncmp(f, "dev", 3)))
                has_dev = 1;
            q = nl ? nl + 1 : q + len;
        }
        split = has_test ? "test" : has_dev ? "dev" : NULL;
        if (split)
            fprintf(stderr, "shiftvox eval: %s: using the '%s' split (--split to choose)\n", o->path,
                    split);
    }
    int line_no = 1;
    while ((line = next_line(&p))) {
        line_no++;
        if (!*line)
            continue;
        char *field[32];
        int nf = 0;
        for (char *tok = line; tok && nf < 32;) {
            char *tab = strchr(tok, '\t');
            if (tab)
                *tab = '\0';
            field[nf++] = tok;
            tok = tab ? tab + 1 : NULL;
        }
        if (nf != n_cols) {
            fprintf(stderr, "shiftvox eval: %s:%d: %d columns, the header has %d; line skipped\n",
                    o->path, line_no, nf, n_cols);
            continue;
        }
        if (split && col_split >= 0 && strcmp(field[col_split], split))
            continue;
        const char *word = col_word >= 0 ? field[col_word] : NULL;
        if (word && (!*word || !strcmp(word, "-")))
            word = NULL;
        const char *l12 = col_label >= 0 ? field[col_label] : label12_of(word);
        char full[8192];
        if (field[col_path][0] == '/')
            snprintf(full, sizeof full, "%s", field[col_path]);
        else
            snprintf(full, sizeof full, "%s/%s", set->root, field[col_path]);
        if (!strcmp(l12, EVAL_SILENCE))
            word = EVAL_SILENCE;
        if (add_clip(set, cap, full, word, l12, NULL, 0) < 0) {
            free(text);
            return -1;
        }
    }
    free(text);
    if (set->n_clips == 0) {
        fprintf(stderr, "shiftvox eval: %s: no rows%s%s\n", o->path, split ? " in split " : "",
                split ? split : "");
        return -1;
    }
    return 0;
}

static int cmp_clip(const void *a, const void *b)
{
    return strcmp(((const eval_clip *)a)->path, ((const eval_clip *)b)->path);
}

int eval_set_load(const eval_load_opts *o, eval_set *set)
{
    memset(set, 0, sizeof *set);
    set->exclude = o->exclude_speakers;
    set->n_exclude = o->exclude_speakers ? o->n_exclude_speakers : 0;
    int cap = 0;
    eval_layout layout = o->layout;
    int path_is_file = is_file(o->path);
    if (!path_is_file && !is_dir(o->path)) {
        fprintf(stderr, "shiftvox eval: %s: no such file or folder\n", o->path);
        return -1;
    }
    /* The folder clip paths are relative to. */
    if (path_is_file) {
        const char *slash = strrchr(o->path, '/');
        if (slash)
            snprintf(set->root, sizeof set->root, "%.*s", (int)(slash - o->path), o->path);
        else
            snprintf(set->root, sizeof set->root, ".");
        if (!set->root[0])
            snprintf(set->root, sizeof set->root, "/");
    } else {
        snprintf(set->root, sizeof set->root, "%s", o->path);
        size_t l = strlen(set->root);
        while (l > 1 && set->root[l - 1] == '/')
            set->root[--l] = '\0';
    }
    char probe[8192];
    eval_load_opts local = *o;
    if (layout == EVAL_LAYOUT_AUTO) {
        if (path_is_file) {
            layout = EVAL_LAYOUT_MANIFEST;
        } else if (snprintf(probe, sizeof probe, "%s/manifest.tsv", set->root), is_file(probe)) {
            layout = EVAL_LAYOUT_MANIFEST;
        } else if ((snprintf(probe, sizeof probe, "%s/testing_list.txt", set->root), is_file(probe)) ||
                   (snprintf(probe, sizeof probe, "%s/validation_list.txt", set->root), is_file(probe))) {
            layout = EVAL_LAYOUT_FULL;
        } else if ((snprintf(probe, sizeof probe, "%s/_unknown_", set->root), is_dir(probe)) ||
                   (snprintf(probe, sizeof probe, "%s/_silence_", set->root), is_dir(probe))) {
            layout = EVAL_LAYOUT_TESTSET;
        } else {
            fprintf(stderr,
                    "shiftvox eval: %s: not a Speech Commands folder (expected manifest.tsv, "
                    "testing_list.txt / validation_list.txt, or _unknown_ / _silence_ folders; "
                    "--layout to force one)\n", o->path);
            return -1;
        }
    }
    if (layout == EVAL_LAYOUT_MANIFEST && !path_is_file) {
        snprintf(probe, sizeof probe, "%s/manifest.tsv", set->root);
        local.path = probe;
    } else if (layout != EVAL_LAYOUT_MANIFEST && path_is_file) {
        fprintf(stderr, "shiftvox eval: %s: layout %s needs a folder\n", o->path,
                eval_layout_name(layout));
        return -1;
    }
    set->layout = layout;
    int rc = layout == EVAL_LAYOUT_FULL       ? load_full(&local, set, &cap)
             : layout == EVAL_LAYOUT_TESTSET  ? load_testset(set, &cap)
                                              : load_manifest(&local, set, &cap);
    if (rc < 0) {
        eval_set_free(set);
        return -1;
    }
    /* A fixed order whatever readdir or the list gave: results and silence
     * windows do not depend on the file system. */
    qsort(set->clips, (size_t)set->n_clips, sizeof *set->clips, cmp_clip);
    if (o->max_clips > 0 && o->max_clips < set->n_clips) {
        /* A seeded random subset (the first N by path would be a few words). */
        uint64_t rs = o->seed ^ 0x4C494D4954ull;
        for (int i = set->n_clips - 1; i > 0; i--) {
            int k = (int)(eval_rand_next(&rs) % (uint64_t)(i + 1));
            eval_clip t = set->clips[i];
            set->clips[i] = set->clips[k];
            set->clips[k] = t;
        }
        for (int i = (int)o->max_clips; i < set->n_clips; i++) {
            free(set->clips[i].path);
            free(set->clips[i].word);
            free(set->clips[i].label12);
        }
        set->n_clips = (int)o->max_clips;
        qsort(set->clips, (size_t)set->n_clips, sizeof *set->clips, cmp_clip);
    }

    int n_word_clips = set->n_clips;
    int cut = layout == EVAL_LAYOUT_FULL && o->want_silence;
    if (cut || o->want_noise) {
        char ndir[8192];
        if (o->noise_dir)
            snprintf(ndir, sizeof ndir, "%s", o->noise_dir);
        else if (snprintf(ndir, sizeof ndir, "%s/_background_noise_", set->root), !is_dir(ndir))
            snprintf(ndir, sizeof ndir, "%s/_silence_", set->root);
        if (is_dir(ndir)) {
            if (eval_noise_load_dir(ndir, o->rate_hz, &set->noise, &set->n_noise) < 0) {
                eval_set_free(set);
                return -1;
            }
        }
        if (set->n_noise == 0)
            fprintf(stderr, "shiftvox eval: no background noise found (%s)%s\n", ndir,
                    cut ? ": no _silence_ clips" : "");
    }
    if (cut && set->n_noise > 0) {
        int n_sil = (n_word_clips + 9) / 10;
        if (cut_silence(set, &cap, n_sil, o->rate_hz, o->seed) < 0) {
            eval_set_free(set);
            return -1;
        }
    }
    return 0;
}

void eval_set_free(eval_set *set)
{
    for (int i = 0; i < set->n_clips; i++) {
        free(set->clips[i].path);
        free(set->clips[i].word);
        free(set->clips[i].label12);
    }
    free(set->clips);
    for (int i = 0; i < set->n_noise; i++) {
        free(set->noise[i].path);
        free(set->noise[i].pcm);
    }
    free(set->noise);
    memset(set, 0, sizeof *set);
}

/* ------------------------------------------------------------------------- */
/* Output helpers shared by the classification and stream reports            */
/* ------------------------------------------------------------------------- */

void eval_json_str(FILE *f, const char *s)
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
void eval_json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

double eval_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int eval_mkdir_p(const char *dir)
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
int eval_run_gnuplot(const char *script)
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

int eval_write_json_head(FILE *f, const eval_opts *o, const eval_set *set)
{
    fprintf(f, "{\n  \"input\": ");
    eval_json_str(f, o->input);
    fprintf(f, ",\n  \"model\": ");
    eval_json_str(f, o->model_path ? o->model_path : app_default_model());
    fprintf(f, ",\n  \"layout\": \"%s\",\n  \"list\": ", eval_layout_name(set->layout));
    eval_json_str(f, set->layout == EVAL_LAYOUT_FULL ? o->list : "");
    fprintf(f, ",\n  \"split\": ");
    eval_json_str(f, o->split ? o->split : "");
    fprintf(f, ",\n  \"task\": %d,\n  \"seed\": %llu,\n  \"mode\": \"%s\",\n", o->task,
            (unsigned long long)o->seed, o->stream ? "stream" : "classify");
    fprintf(f, "  \"trained_speaker_clips_left_out\": %d,\n", set->n_excluded);
    return 0;
}

