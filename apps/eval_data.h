/* Speech Commands as users have it, for `shiftvox eval`: the three folder
 * layouts, the label sets of the two tasks, and background noise. */
#ifndef SVX_EVAL_DATA_H
#define SVX_EVAL_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shiftvox.h"

/* The 35 words of Speech Commands v0.02 (v0.01 has the first 30); the first
 * ten are the keywords of the 12-class task. */
#define EVAL_N_WORDS 35
#define EVAL_N_KEYWORDS 10
extern const char *const eval_words[EVAL_N_WORDS];
#define EVAL_UNKNOWN "_unknown_"
#define EVAL_SILENCE "_silence_"

/* Index of word in eval_words, or -1. */
int eval_word_index(const char *word);

typedef enum { EVAL_LAYOUT_AUTO = 0, EVAL_LAYOUT_FULL, EVAL_LAYOUT_TESTSET, EVAL_LAYOUT_MANIFEST }
    eval_layout;
const char *eval_layout_name(eval_layout l);

/* One clip to classify. A clip is a file, or (silence cut from background
 * noise) a window of a noise recording held in memory. */
typedef struct {
    char *path;          /* file, or "NOISEFILE@START_S" for a cut window */
    char *word;          /* spoken word; "_silence_" for noise; NULL when unknown */
    char *label12;       /* 12-class label */
    const float *pcm;    /* cut window: samples at the model rate (borrowed), else NULL */
    size_t n_samples;
} eval_clip;

/* A background-noise recording, resampled to the model rate. */
typedef struct {
    char *path;
    float *pcm;
    size_t n_samples;
    double power;        /* mean square */
} eval_noise;

typedef struct {
    eval_clip *clips;
    int n_clips;
    eval_noise *noise;
    int n_noise;
    eval_layout layout;
    char root[4096];     /* the folder paths are relative to */
    const char *const *exclude; /* speakers left out (eval_load_opts), borrowed */
    int n_exclude;
    int n_excluded;      /* clips left out because of their speaker */
} eval_set;

typedef struct {
    const char *path;    /* DIR or manifest file */
    eval_layout layout;  /* EVAL_LAYOUT_AUTO: detect */
    const char *list;    /* full layout: "testing" or "validation" */
    const char *split;   /* manifest: split to keep; NULL: test, else dev, else all */
    int rate_hz;         /* model sample rate */
    uint64_t seed;       /* silence windows */
    int want_silence;    /* full layout: cut _silence_ windows (1 per 10 word clips) */
    const char *noise_dir; /* background noise folder; NULL: the layout's own */
    int want_noise;      /* load noise even when no silence is cut (stream mode) */
    long max_clips;      /* > 0: keep a seeded random subset of this many clips */
    const char *const *exclude_speakers; /* clips of these speakers are left out */
    int n_exclude_speakers;
} eval_load_opts;

/* The Speech Commands speaker id in a clip's file name: the word before
 * "_nohash_" in its last path component ("dev/yes/0a7c2a8d_nohash_0.wav",
 * "_unknown_/bed_0a7c2a8d_nohash_1.wav"). Writes "" when there is none. */
void eval_clip_speaker(const char *path, char *out, size_t cap);

/* The speakers a model was trained on whose clips sit in a dev split: the
 * string array "dev_trained_speakers" of its metadata (train/data.py). Returns
 * the count (0: none) with *out a malloc'ed array of malloc'ed strings (free
 * with eval_speakers_free), or -1 if the array is malformed. */
int eval_trained_speakers(const char *metadata, char ***out);
void eval_speakers_free(char **list, int n);

/* Lists the clips of a Speech Commands folder or manifest. Prints a message
 * naming the problem to stderr and returns -1 when it cannot. Noise is loaded
 * from noise_dir, else DIR/_background_noise_, else (test-set layout)
 * DIR/_silence_, when silence windows are cut or want_noise is set. */
int eval_set_load(const eval_load_opts *o, eval_set *set);
void eval_set_free(eval_set *set);

/* Loads every audio file of a folder (sorted by name) as noise. Returns the
 * number loaded (0 if none) or -1 on error; prints what it skipped. */
int eval_noise_load_dir(const char *dir, int rate_hz, eval_noise **out, int *n_out);

/* Reads a whole audio file at rate_hz into a malloc'ed buffer. Returns 0 or
 * the library's negative error (its message is the library's last error). */
int eval_read_audio(const char *path, int rate_hz, float **pcm, size_t *n_samples);

/* Deterministic random numbers (splitmix64). */
uint64_t eval_rand_next(uint64_t *state);
double eval_rand_uniform(uint64_t *state);   /* [0, 1) */

/* Options of `shiftvox eval` (cmd_eval.c parses them). */
typedef struct {
    const char *input, *model_path, *report, *plots, *noise_dir, *keywords, *save_audio;
    eval_layout layout;
    const char *list, *split;
    int task, jobs, quiet, want_silence, stream, progress, no_bias;
    int include_trained;  /* keep clips of speakers the model was trained on */
    long limit;
    uint64_t seed;
    double target_fa, gap_min, gap_max, snr_min, snr_max, refractory;
    int no_compete;
    int no_calibration;
} eval_opts;

/* JSON string (escaped, quoted) and number (null when not finite). */
void eval_json_str(FILE *f, const char *s);
void eval_json_num(FILE *f, double v);
/* The report's common head: input, model, layout, list, split, task, seed, mode. */
int eval_write_json_head(FILE *f, const eval_opts *o, const eval_set *set);
double eval_now_s(void);                      /* monotonic seconds */
int eval_mkdir_p(const char *dir);            /* 0 or -1 (errno set) */
/* Runs gnuplot on a script: 0 on success; -1 after saying that gnuplot is
 * missing or failed (the script and its data stay for the user). */
int eval_run_gnuplot(const char *script);

/* --stream mode (eval_stream.c): returns the command's exit status. */
int eval_run_stream(const eval_opts *o, const svx_model *model, const eval_set *set);

#endif
