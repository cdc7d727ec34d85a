#include "common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void app_print_error(const char *what, int err)
{
    const char *msg = svx_last_error_message();
    if (msg && *msg && strstr(msg, what)) /* the message already names it */
        fprintf(stderr, "shiftvox: %s (%s)\n", msg, svx_strerror(err));
    else if (msg && *msg)
        fprintf(stderr, "shiftvox: %s: %s (%s)\n", what, msg, svx_strerror(err));
    else
        fprintf(stderr, "shiftvox: %s: %s\n", what, svx_strerror(err));
}

int app_open_input(const char *path, int raw_rate_hz, int target_rate_hz, svx_audio_reader **out)
{
    int rc;
    if (!strcmp(path, "-"))
        rc = svx_audio_open_raw_fd(0, raw_rate_hz, target_rate_hz, out);
    else
        rc = svx_audio_open_file(path, target_rate_hz, out);
    if (rc < 0)
        app_print_error(!strcmp(path, "-") ? "standard input" : path, rc);
    return rc;
}

static int readable(const char *p) { return access(p, R_OK) == 0; }

const char *app_default_model(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("SVX_MODEL");
    if (env && *env)
        return env;
    if (readable("models/default.svxm"))
        return "models/default.svxm";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, sizeof buf, "%.3800s/../models/default.svxm", exe);
            if (readable(buf))
                return buf;
            snprintf(buf, sizeof buf, "%.3800s/../share/shiftvox/default.svxm", exe);
            if (readable(buf))
                return buf;
        }
    }
    return "models/default.svxm";
}

int app_load_model(const char *path, const svx_model_options *opt, svx_model **out)
{
    if (!path)
        path = app_default_model();
    svx_model_options def;
    if (!opt) {
        svx_model_options_default(&def);
        opt = &def;
    }
    int rc = svx_model_load_ex(path, opt, out);
    if (rc < 0)
        app_print_error(path, rc);
    return rc;
}

int app_load_model_int(const char *path, int force_integer, svx_model **out)
{
    svx_model_options opt;
    svx_model_options_default(&opt);
    opt.force_integer = force_integer ? 1 : 0;
    return app_load_model(path, &opt, out);
}

int app_parse_int(const char *opt, const char *val, long lo, long hi, long *out)
{
    char *end;
    if (!val) {
        fprintf(stderr, "shiftvox: %s needs a value\n", opt);
        return -1;
    }
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi) {
        fprintf(stderr, "shiftvox: %s: '%s' is not an integer in %ld..%ld\n", opt, val, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int app_parse_double(const char *opt, const char *val, double lo, double hi, double *out)
{
    char *end;
    if (!val) {
        fprintf(stderr, "shiftvox: %s needs a value\n", opt);
        return -1;
    }
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "shiftvox: %s: '%s' is not a number in %g..%g\n", opt, val, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int app_check_output(FILE *f, const char *what)
{
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "shiftvox: writing %s failed: %s\n", what, strerror(errno));
        return -1;
    }
    return 0;
}

int app_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double app_percentile(const double *sorted, int n, double p)
{
    if (n == 0)
        return NAN;
    double pos = p * (n - 1);
    int i = (int)pos;
    if (i >= n - 1)
        return sorted[n - 1];
    return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
}
