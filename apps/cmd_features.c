/* shiftvox features: log-mel features of audio files, as text, .npy or a summary. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shiftvox features [options] FILE...\n"
            "Computes log-mel frames (the model's front end) of each FILE (any libsndfile\n"
            "format; '-' reads raw s16le mono from standard input at --rate).\n\n"
            "  -o, --output PATH   write frames to PATH: .npy (float32 [frames, mels]) or text\n"
            "                      (one frame per line); '-' = text on stdout (one file only)\n"
            "  --summary           print one summary line per file (the default without -o)\n"
            "  --model FILE        use the front-end parameters stored in this model\n"
            "  --rate HZ           sample rate of raw standard input (default 16000)\n");
}

/* .npy version 1.0 with a header padded so the shape can be rewritten in place. */
static int npy_header(FILE *f, long n_frames, int n_mels)
{
    char dict[118];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%ld, %d), }", n_frames,
                       n_mels);
    if (len < 0 || len > 116)
        return -1;
    memset(dict + len, ' ', 117 - (size_t)len);
    dict[117] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
    if (fseek(f, 0, SEEK_SET) != 0)
        return -1;
    return (fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, 118, f) == 118) ? 0 : -1;
}

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && !strcmp(path + n - 4, ".npy");
}

static int one_file(const char *path, const char *out_path, const svx_frontend_params *fp,
                    int raw_rate)
{
    svx_audio_reader *rd;
    int rc = app_open_input(path, raw_rate, fp->sample_rate_hz, &rd);
    if (rc < 0)
        return rc;
    svx_frontend *fe;
    rc = svx_frontend_create(fp, &fe);
    if (rc < 0) {
        app_print_error(path, rc);
        svx_audio_close(rd);
        return rc;
    }
    FILE *out = NULL;
    int npy = 0;
    if (out_path) {
        npy = is_npy(out_path);
        out = strcmp(out_path, "-") ? fopen(out_path, npy ? "wb+" : "w") : stdout;
        if (!out) {
            fprintf(stderr, "shiftvox: %s: cannot create: %s\n", out_path, strerror(errno));
            svx_frontend_destroy(fe);
            svx_audio_close(rd);
            return SVX_ERR_IO;
        }
        if (npy && npy_header(out, 0, fp->n_mels) < 0)
            rc = SVX_ERR_IO;
    }
    enum { CHUNK = 4096, MAXF = 32 };
    float pcm[CHUNK], *frames = malloc(sizeof(float) * MAXF * (size_t)fp->n_mels);
    double sum = 0, sumsq = 0, lo = INFINITY, hi = -INFINITY;
    long n_frames = 0, n_samples = 0;
    int write_errno = 0;      /* first failed write to out (full disk, closed pipe) */
    while (rc >= 0 && frames) {
        long n = svx_audio_read(rd, pcm, CHUNK);
        if (n < 0) {
            app_print_error(path, (int)n);
            rc = (int)n;
            break;
        }
        if (n == 0)
            break;
        n_samples += n;
        size_t off = 0;
        while (off < (size_t)n && rc >= 0) {
            size_t used;
            int got = svx_frontend_process(fe, pcm + off, (size_t)n - off, &used, frames, MAXF);
            if (got < 0) {
                app_print_error(path, got);
                rc = got;
                break;
            }
            off += used;
            for (int i = 0; i < got; i++) {
                const float *fr = frames + (size_t)i * (size_t)fp->n_mels;
                for (int m = 0; m < fp->n_mels; m++) {
                    sum += fr[m];
                    sumsq += (double)fr[m] * fr[m];
                    if (fr[m] < lo) lo = fr[m];
                    if (fr[m] > hi) hi = fr[m];
                }
                if (out && npy) {
                    if (fwrite(fr, sizeof(float), (size_t)fp->n_mels, out) != (size_t)fp->n_mels)
                        write_errno = errno ? errno : EIO;
                } else if (out) {
                    for (int m = 0; m < fp->n_mels; m++)
                        fprintf(out, m ? " %.6g" : "%.6g", (double)fr[m]);
                    if (fputc('\n', out) == EOF || ferror(out))
                        write_errno = errno ? errno : EIO;
                }
                if (write_errno) {
                    rc = SVX_ERR_IO;
                    break;
                }
            }
            n_frames += got;
        }
    }
    if (!frames)
        rc = SVX_ERR_NO_MEMORY;
    if (out && npy && rc >= 0 && npy_header(out, n_frames, fp->n_mels) < 0)
        write_errno = errno ? errno : EIO;
    if (out && !write_errno && (fflush(out) != 0 || ferror(out)))
        write_errno = errno ? errno : EIO;
    if (out && out != stdout && fclose(out) != 0 && !write_errno)
        write_errno = errno ? errno : EIO;
    if (write_errno) {
        fprintf(stderr, "shiftvox: writing features of %s to %s failed: %s\n", path,
                strcmp(out_path, "-") ? out_path : "standard output", strerror(write_errno));
        rc = SVX_ERR_IO;
    }
    if (rc >= 0 && !out_path) {
        double cells = (double)n_frames * fp->n_mels;
        double mean = cells > 0 ? sum / cells : 0;
        double sd = cells > 0 ? sqrt(fmax(0, sumsq / cells - mean * mean)) : 0;
        printf("%s: %.3f s, %ld frames x %d mels, log-mel mean %.3f sd %.3f min %.3f max %.3f\n",
               path, (double)n_samples / fp->sample_rate_hz, n_frames, (int)fp->n_mels, mean, sd,
               cells > 0 ? lo : 0, cells > 0 ? hi : 0);
    }
    free(frames);
    svx_frontend_destroy(fe);
    svx_audio_close(rd);
    return rc;
}

int cmd_features(int argc, char **argv)
{
    const char *out_path = NULL, *model_path = NULL;
    long raw_rate = 16000;
    int n_files = 0;
    char **files = calloc((size_t)argc + 1, sizeof(char *));
    if (!files)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out_path = i + 1 < argc ? argv[++i] : NULL;
            if (!out_path) { usage(stderr); free(files); return 2; }
        } else if (!strcmp(a, "--summary")) {
            out_path = NULL;
        } else if (!strcmp(a, "--model")) {
            model_path = i + 1 < argc ? argv[++i] : NULL;
            if (!model_path) { usage(stderr); free(files); return 2; }
        } else if (!strcmp(a, "--rate")) {
            if (app_parse_int("--rate", i + 1 < argc ? argv[++i] : NULL, 1000, 384000, &raw_rate) < 0) {
                free(files);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "shiftvox features: unknown option %s\n", a);
            usage(stderr);
            free(files);
            return 2;
        } else {
            files[n_files++] = argv[i];
        }
    }
    if (n_files == 0 || (out_path && n_files > 1)) {
        usage(stderr);
        free(files);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a closed output becomes a write error we report */
    svx_frontend_params fp;
    svx_frontend_params_default(&fp);
    svx_model *model = NULL;
    if (model_path) {
        if (app_load_model(model_path, NULL, &model) < 0) {
            free(files);
            return 1;
        }
        fp = *svx_model_frontend(model);
    }
    int failed = 0;
    for (int i = 0; i < n_files; i++)
        if (one_file(files[i], out_path, &fp, (int)raw_rate) < 0)
            failed++;
    svx_model_destroy(model);
    free(files);
    if (failed)
        fprintf(stderr, "shiftvox features: %d of %d files failed\n", failed, n_files);
    return failed ? 1 : 0;
}
