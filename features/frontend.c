/* Streaming log-mel front end.
 *
 * Frame i covers samples [i*hop, i*hop + win) of everything pushed since
 * create/reset (no padding, no centring). Each frame is windowed with a
 * periodic Hann window, zero-padded to n_fft, transformed with KissFFT's real
 * FFT (out of place, one plan per stream, allocated at create), turned into
 * a power spectrum |X[k]|^2, weighted by n_mels triangular filters on the HTK
 * mel scale, and logged: feat[m] = ln(max(sum_k w[m][k] |X[k]|^2, floor)).
 *
 * The filters' corner frequencies are n_mels + 2 points equally spaced in mel
 * between fmin and fmax; filter m rises linearly (in Hz) from corner m to
 * corner m+1 and falls to corner m+2, with peak 1 (no area normalisation).
 * Bin k sits at k * sample_rate / n_fft Hz.
 */
#include "svx_internal.h"
#include "features.h"

#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct svx_frontend {
    svx_frontend_params p;
    kiss_fftr_cfg fft;
    float *window;       /* [win] */
    float *buf;          /* [win] samples of the frame being assembled */
    size_t fill;         /* samples in buf */
    size_t skip;         /* samples still to drop before buf fills (hop > win never; kept 0) */
    float *fft_in;       /* [n_fft] */
    kiss_fft_cpx *fft_out; /* [n_fft/2 + 1] */
    float *power;        /* [n_fft/2 + 1] */
    /* Sparse filterbank: filter m covers bins first[m] .. first[m]+len[m]-1 with
     * weights wts[off[m] ...]. */
    int *first, *len, *off;
    float *wts;
};

void svx_frontend_params_default(svx_frontend_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->sample_rate_hz = 16000;
    p->win_length = 400;
    p->hop_length = 160;
    p->n_fft = 512;
    p->n_mels = 40;
    p->fmin_hz = 20.0f;
    p->fmax_hz = 7600.0f;
    p->log_floor = 1e-6f;
    p->window = SVX_WINDOW_HANN;
    p->mel_scale = SVX_MEL_HTK;
}

int svx_frontend_params_check(const svx_frontend_params *p)
{
    if (!p)
        return svx_fail(SVX_ERR_INVALID_ARG, "front-end parameters: NULL");
    if (p->sample_rate_hz < 1000 || p->sample_rate_hz > 384000)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: sample rate %d Hz outside 1000..384000",
                        (int)p->sample_rate_hz);
    if (p->n_fft < 16 || p->n_fft > 65536 || (p->n_fft & (p->n_fft - 1)))
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: n_fft %d is not a power of two in 16..65536",
                        (int)p->n_fft);
    if (p->win_length < 2 || p->win_length > p->n_fft)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: window %d samples not in 2..n_fft (%d)",
                        (int)p->win_length, (int)p->n_fft);
    if (p->hop_length < 1 || p->hop_length > p->win_length)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: hop %d samples not in 1..window (%d)",
                        (int)p->hop_length, (int)p->win_length);
    if (p->n_mels < 1 || p->n_mels > 512)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: n_mels %d not in 1..512", (int)p->n_mels);
    if (!(p->fmin_hz >= 0.0f) || !(p->fmax_hz > p->fmin_hz) ||
        !(p->fmax_hz <= 0.5f * (float)p->sample_rate_hz))
        return svx_fail(SVX_ERR_INVALID_ARG,
                        "front end: mel range %g..%g Hz must satisfy 0 <= fmin < fmax <= rate/2 (%g)",
                        (double)p->fmin_hz, (double)p->fmax_hz, 0.5 * p->sample_rate_hz);
    if (!(p->log_floor > 0.0f) || !isfinite(p->log_floor))
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: log floor %g must be positive",
                        (double)p->log_floor);
    if (p->window != SVX_WINDOW_HANN)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: unknown window type %d", (int)p->window);
    if (p->mel_scale != SVX_MEL_HTK)
        return svx_fail(SVX_ERR_INVALID_ARG, "front end: unknown mel scale %d", (int)p->mel_scale);
    return SVX_OK;
}

static double hz_to_mel(double hz) { return 2595.0 * log10(1.0 + hz / 700.0); }
static double mel_to_hz(double mel) { return 700.0 * (pow(10.0, mel / 2595.0) - 1.0); }

/* Builds the sparse triangular filterbank. Two passes: count, then fill. */
static int build_filters(svx_frontend *fe)
{
    const svx_frontend_params *p = &fe->p;
    int n_bins = p->n_fft / 2 + 1, n_mels = p->n_mels;
    double mlo = hz_to_mel(p->fmin_hz), mhi = hz_to_mel(p->fmax_hz);
    double *corner = malloc(sizeof(double) * (size_t)(n_mels + 2));
    fe->first = calloc((size_t)n_mels, sizeof(int));
    fe->len = calloc((size_t)n_mels, sizeof(int));
    fe->off = calloc((size_t)n_mels, sizeof(int));
    if (!corner || !fe->first || !fe->len || !fe->off) {
        free(corner);
        return SVX_ERR_NO_MEMORY;
    }
    for (int i = 0; i < n_mels + 2; i++)
        corner[i] = mel_to_hz(mlo + (mhi - mlo) * i / (n_mels + 1));
    int total = 0;
    for (int m = 0; m < n_mels; m++) {
        int first = -1, last = -2;
        for (int k = 0; k < n_bins; k++) {
            double f = (double)k * p->sample_rate_hz / p->n_fft;
            if (f > corner[m] && f < corner[m + 2]) {
                if (first < 0)
                    first = k;
                last = k;
            }
        }
        fe->first[m] = first < 0 ? 0 : first;
        fe->len[m] = first < 0 ? 0 : last - first + 1;
        fe->off[m] = total;
        total += fe->len[m];
    }
    fe->wts = malloc(sizeof(float) * (size_t)(total > 0 ? total : 1));
    if (!fe->wts) {
        free(corner);
        return SVX_ERR_NO_MEMORY;
    }
    for (int m = 0; m < n_mels; m++) {
        for (int j = 0; j < fe->len[m]; j++) {
            int k = fe->first[m] + j;
            double f = (double)k * p->sample_rate_hz / p->n_fft;
            double w = f <= corner[m + 1] ? (f - corner[m]) / (corner[m + 1] - corner[m])
                                          : (corner[m + 2] - f) / (corner[m + 2] - corner[m + 1]);
            fe->wts[fe->off[m] + j] = (float)w;
        }
    }
    free(corner);
    return SVX_OK;
}

int svx_frontend_create(const svx_frontend_params *p, svx_frontend **out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_frontend_create: out is NULL");
    *out = NULL;
    int rc = svx_frontend_params_check(p);
    if (rc < 0)
        return rc;
    svx_frontend *fe = calloc(1, sizeof *fe);
    if (!fe)
        return svx_fail(SVX_ERR_NO_MEMORY, "front end: out of memory");
    fe->p = *p;
    size_t nb = (size_t)p->n_fft / 2 + 1;
    fe->fft = kiss_fftr_alloc(p->n_fft, 0, NULL, NULL);
    fe->window = malloc(sizeof(float) * (size_t)p->win_length);
    fe->buf = malloc(sizeof(float) * (size_t)p->win_length);
    fe->fft_in = calloc((size_t)p->n_fft, sizeof(float));
    fe->fft_out = malloc(sizeof(kiss_fft_cpx) * nb);
    fe->power = malloc(sizeof(float) * nb);
    if (!fe->fft || !fe->window || !fe->buf || !fe->fft_in || !fe->fft_out || !fe->power ||
        build_filters(fe) < 0) {
        svx_frontend_destroy(fe);
        return svx_fail(SVX_ERR_NO_MEMORY, "front end: out of memory");
    }
    /* Periodic Hann: w[n] = 0.5 - 0.5 cos(2 pi n / N), computed in double. */
    for (int n = 0; n < p->win_length; n++)
        fe->window[n] = (float)(0.5 - 0.5 * cos(6.283185307179586 * n / p->win_length));
    *out = fe;
    return SVX_OK;
}

void svx_frontend_destroy(svx_frontend *fe)
{
    if (!fe)
        return;
    kiss_fftr_free(fe->fft);
    free(fe->window);
    free(fe->buf);
    free(fe->fft_in);
    free(fe->fft_out);
    free(fe->power);
    free(fe->first);
    free(fe->len);
    free(fe->off);
    free(fe->wts);
    free(fe);
}

void svx_frontend_reset(svx_frontend *fe)
{
    if (fe)
        fe->fill = 0;
}

const svx_frontend_params *svx_frontend_get_params(const svx_frontend *fe) { return &fe->p; }

/* One frame from the full buffer into out[n_mels]. */
static void compute_frame(svx_frontend *fe, float *out)
{
    const svx_frontend_params *p = &fe->p;
    int win = p->win_length, nb = p->n_fft / 2 + 1;
    for (int n = 0; n < win; n++)
        fe->fft_in[n] = fe->buf[n] * fe->window[n];
    /* fft_in[win..n_fft) stays zero from create. */
    kiss_fftr(fe->fft, fe->fft_in, fe->fft_out);
    for (int k = 0; k < nb; k++)
        fe->power[k] = fe->fft_out[k].r * fe->fft_out[k].r + fe->fft_out[k].i * fe->fft_out[k].i;
    for (int m = 0; m < p->n_mels; m++) {
        const float *w = fe->wts + fe->off[m];
        const float *pw = fe->power + fe->first[m];
        float e = 0.0f;
        for (int j = 0; j < fe->len[m]; j++)
            e += w[j] * pw[j];
        out[m] = logf(e > p->log_floor ? e : p->log_floor);
    }
}

int svx_frontend_process(svx_frontend *fe, const float *pcm, size_t n_samples, size_t *n_consumed,
                         float *frames_out, int max_frames)
{
    if (n_consumed)
        *n_consumed = 0;
    if (!fe || (!pcm && n_samples) || !n_consumed || (max_frames > 0 && !frames_out) ||
        max_frames < 0)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_frontend_process: invalid argument");
    const size_t win = (size_t)fe->p.win_length, hop = (size_t)fe->p.hop_length;
    const int n_mels = fe->p.n_mels;
    size_t i = 0;
    int n_frames = 0;
    while (i < n_samples && n_frames < max_frames) {
        size_t take = win - fe->fill;
        if (take > n_samples - i)
            take = n_samples - i;
        for (size_t k = 0; k < take; k++) {
            float x = pcm[i + k];
            if (!isfinite(x)) {
                /* Keep the good samples before it; the caller may skip the bad one. */
                memcpy(fe->buf + fe->fill, pcm + i, k * sizeof(float));
                fe->fill += k;
                *n_consumed = i + k;
                return svx_fail(SVX_ERR_BAD_AUDIO, "front end: sample %zu of the pushed block is %s",
                                i + k, isnan(x) ? "NaN" : "infinite");
            }
        }
        memcpy(fe->buf + fe->fill, pcm + i, take * sizeof(float));
        fe->fill += take;
        i += take;
        if (fe->fill == win) {
            compute_frame(fe, frames_out + (size_t)n_frames * (size_t)n_mels);
            n_frames++;
            memmove(fe->buf, fe->buf + hop, (win - hop) * sizeof(float));
            fe->fill = win - hop;
        }
    }
    *n_consumed = i;
    return n_frames;
}

size_t svx_frontend_n_frames(const svx_frontend_params *p, size_t n_samples)
{
    if (!p || p->win_length < 1 || p->hop_length < 1 || n_samples < (size_t)p->win_length)
        return 0;
    return 1 + (n_samples - (size_t)p->win_length) / (size_t)p->hop_length;
}

int svx_features_compute(const svx_frontend_params *p, const float *pcm, size_t n_samples,
                         float *frames_out, size_t max_frames)
{
    svx_frontend *fe;
    int rc = svx_frontend_create(p, &fe);
    if (rc < 0)
        return rc;
    size_t done = 0, n_frames = 0;
    while (done < n_samples && n_frames < max_frames) {
        size_t used;
        size_t room = max_frames - n_frames;
        int got = svx_frontend_process(fe, pcm + done, n_samples - done, &used,
                                       frames_out + n_frames * (size_t)p->n_mels,
                                       room > 1 << 20 ? 1 << 20 : (int)room);
        if (got < 0) {
            svx_frontend_destroy(fe);
            return got;
        }
        done += used;
        n_frames += (size_t)got;
    }
    svx_frontend_destroy(fe);
    if (n_frames > INT32_MAX)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_features_compute: too many frames");
    return (int)n_frames;
}
