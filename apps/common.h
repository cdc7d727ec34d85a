/* Helpers shared by the shiftvox subcommands. */
#ifndef SVX_APPS_COMMON_H
#define SVX_APPS_COMMON_H

#include <stdio.h>

#include "shiftvox.h"

/* Opens an input: "-" is raw s16le mono on standard input at raw_rate_hz,
 * anything else a file libsndfile reads. Prints "shiftvox: PATH: message"
 * to stderr on failure and returns the error. */
int app_open_input(const char *path, int raw_rate_hz, int target_rate_hz, svx_audio_reader **out);

/* Prints the library's last error for `what` (a file name or action). */
void app_print_error(const char *what, int err);

/* The default model path: $SVX_MODEL, else models/default.svxm next to the
 * working directory, else beside the executable (../models, ../share/shiftvox). */
const char *app_default_model(void);

/* Loads a model (path NULL: the default), printing an error on failure. */
int app_load_model(const char *path, const svx_model_options *opt, svx_model **out);
/* The same with default options and --integer (force_integer) applied: the
 * path comes from the file unless force_integer is 1 (model/INTEGER.md). */
int app_load_model_int(const char *path, int force_integer, svx_model **out);
/* Help line of the --integer option, shared by the commands that load a
 * model; PAD is the spaces that align the text with the command's column. */
#define APP_INTEGER_HELP(PAD) "  --integer" PAD "run the model's integer-only graph (default: the\n" \
                              "           " PAD "file's float-activation graph if it has one)\n"

/* Parses a positive integer/double option value; prints and returns -1 on error. */
int app_parse_int(const char *opt, const char *val, long lo, long hi, long *out);
int app_parse_double(const char *opt, const char *val, double lo, double hi, double *out);

/* Writes to a stream and reports failure (closed pipe, full disk) once. */
int app_check_output(FILE *f, const char *what);

/* qsort comparator for doubles, ascending. */
int app_cmp_double(const void *a, const void *b);
/* Percentile p in [0, 1] of sorted[0..n) by linear interpolation between the
 * closest ranks; NAN when n == 0. */
double app_percentile(const double *sorted, int n, double p);

#endif
