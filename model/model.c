/* Streaming execution of the acoustic model (layer semantics: model/ARCH.md).
 *
 * Threads: a loaded svx_model is never written after svx_model_load returns
 * (kernel layouts are built during loading), so any number of
 * svx_model_state objects may run on it concurrently in different threads.
 * Each state belongs to one thread at a time. svx_model_state_create makes
 * the only allocation; push and reset never allocate. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "svx_internal.h"

struct svx_model_state {
    const svx_model *m;
    float *act[2];          /* ping-pong activation frames, max_frame floats */
    float *scratch;         /* matvec scratch */
    float *patch;           /* conv input patch (cols) */
    float *col;             /* conv output column (c_out) */
    float *ring[SVX_MAX_LAYERS]; /* conv: k_t input frames */
    float *h[SVX_MAX_LAYERS];    /* gru: hidden state */
    float *gi[SVX_MAX_LAYERS], *gh[SVX_MAX_LAYERS];
    int64_t count[SVX_MAX_LAYERS]; /* conv: input frames seen since reset */
    void *mem;
    size_t mem_floats;
    /* integer graph (m->use_int): int8 input frame, int16 scores, runner state */
    svx_int_state *ist;     /* at the start of mem (not in the handle: float states skip it) */
    int8_t *qin;
    int16_t *scores;
};

const svx_frontend_params *svx_model_frontend(const svx_model *m) { return m ? &m->fe : NULL; }
int svx_model_n_inputs(const svx_model *m) { return m ? m->fe.n_mels : SVX_ERR_INVALID_ARG; }
int svx_model_n_symbols(const svx_model *m) { return m ? m->n_symbols : SVX_ERR_INVALID_ARG; }
int svx_model_time_stride(const svx_model *m) { return m ? m->time_stride : SVX_ERR_INVALID_ARG; }
size_t svx_model_weight_bytes(const svx_model *m) { return m ? m->weight_bytes : 0; }

const char *svx_model_symbol(const svx_model *m, int i)
{
    if (!m || i < 0 || i >= m->n_symbols)
        return NULL;
    return m->symbols[i];
}

static size_t up8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* Floats of state memory, laid out in the order state_create carves it. */
static size_t state_floats(const svx_model *m)
{
    size_t n = 2u * up8((size_t)m->max_frame) + up8(m->scratch_floats);
    size_t patch = 0, col = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const svx_layer *L = &m->layers[i];
        if (L->type == SVX_LAYER_CONV2D) {
            n += up8((size_t)L->k_t * (size_t)L->n_in);
            if ((size_t)L->w[0].cols > patch)
                patch = (size_t)L->w[0].cols;
            if ((size_t)L->c_out > col)
                col = (size_t)L->c_out;
        } else if (L->type == SVX_LAYER_GRU) {
            n += up8((size_t)L->hidden) + 2u * up8(3u * (size_t)L->hidden);
        }
    }
    return n + up8(patch) + up8(col);
}

/* Bytes of the integer path's state memory: runner state, int8 input frame,
 * int16 scores (each rounded up to 8 bytes). */
static size_t int_state_bytes(const svx_model *m)
{
    return up8(sizeof(svx_int_state)) + svx_int_state_bytes(m->int_layers, m->n_int_layers) +
           up8((size_t)m->fe.n_mels) + up8((size_t)m->n_symbols * sizeof(int16_t));
}

size_t svx_model_state_bytes(const svx_model *m)
{
    if (!m)
        return 0;
    if (m->use_int)
        return int_state_bytes(m) + sizeof(svx_model_state);
    return state_floats(m) * sizeof(float) + sizeof(svx_model_state);
}

int svx_model_forms(const svx_model *m)
{
    if (!m)
        return 0;
    return (m->n_layers > 0 ? SVX_MODEL_FORM_FLOAT : 0) |
           (m->n_int_layers > 0 ? SVX_MODEL_FORM_INTEGER : 0);
}

int svx_model_is_integer(const svx_model *m) { return m ? m->use_int : 0; }

/* Output frames at the start of a stream whose convolution windows reach
 * before its first input frame (zero padding): ceil(H / S), with H the input
 * frames of history the convolutions look back and S their total time stride. */
int svx_model_warmup_outputs(const svx_model *m)
{
    int64_t hist = 0, stride = 1;
    if (m->use_int) {
        for (int i = 0; i < m->n_int_layers; i++)
            if (m->int_layers[i].type == SVX_LAYER_INT_CONV2D) {
                hist += ((int64_t)m->int_layers[i].conv.k_t - 1) * stride;
                stride *= m->int_layers[i].s_t > 0 ? m->int_layers[i].s_t : 1;
            }
    } else {
        for (int i = 0; i < m->n_layers; i++)
            if (m->layers[i].type == SVX_LAYER_CONV2D) {
                hist += ((int64_t)m->layers[i].k_t - 1) * stride;
                stride *= m->layers[i].s_t > 0 ? m->layers[i].s_t : 1;
            }
    }
    int64_t w = (hist + stride - 1) / stride;
    return w > 1000 ? 1000 : (int)w;
}

/* The integer path's state: one allocation, nothing on the float side. */
static int int_state_create(const svx_model *m, svx_model_state *s)
{
    size_t n = int_state_bytes(m);
    s->mem = svx_alloc32(n);
    if (!s->mem)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_model_state_create: out of memory");
    uint8_t *p = s->mem;
    s->ist = (svx_int_state *)(void *)p;
    p += up8(sizeof(svx_int_state));
    size_t run = svx_int_state_bytes(m->int_layers, m->n_int_layers);
    svx_int_state_init(s->ist, m->int_layers, m->n_int_layers, p);
    s->scores = (int16_t *)(void *)(p + run);
    s->qin = (int8_t *)(p + run + up8((size_t)m->n_symbols * sizeof(int16_t)));
    s->mem_floats = 0;
    return SVX_OK;
}

int svx_model_state_create(const svx_model *m, svx_model_state **out)
{
    if (!m || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_state_create: NULL argument");
    *out = NULL;
    svx_model_state *s = calloc(1, sizeof *s);
    if (!s)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_model_state_create: out of memory");
    s->m = m;
    if (m->use_int) {
        int rc = int_state_create(m, s);
        if (rc < 0) {
            free(s);
            return rc;
        }
        *out = s;
        return SVX_OK;
    }
    s->mem_floats = state_floats(m);
    s->mem = svx_alloc32(s->mem_floats * sizeof(float));
    if (!s->mem) {
        free(s);
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_model_state_create: out of memory");
    }
    float *p = s->mem;
    s->act[0] = p; p += up8((size_t)m->max_frame);
    s->act[1] = p; p += up8((size_t)m->max_frame);
    s->scratch = p; p += up8(m->scratch_floats);
    size_t patch = 0, col = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const svx_layer *L = &m->layers[i];
        if (L->type == SVX_LAYER_CONV2D) {
            s->ring[i] = p;
            p += up8((size_t)L->k_t * (size_t)L->n_in);
            if ((size_t)L->w[0].cols > patch)
                patch = (size_t)L->w[0].cols;
            if ((size_t)L->c_out > col)
                col = (size_t)L->c_out;
        } else if (L->type == SVX_LAYER_GRU) {
            s->h[i] = p; p += up8((size_t)L->hidden);
            s->gi[i] = p; p += up8(3u * (size_t)L->hidden);
            s->gh[i] = p; p += up8(3u * (size_t)L->hidden);
        }
    }
    s->patch = p; p += up8(patch);
    s->col = p;
    svx_model_state_reset(s);
    *out = s;
    return SVX_OK;
}

void svx_model_state_destroy(svx_model_state *s)
{
    if (!s)
        return;
    svx_free32(s->mem);
    free(s);
}

void svx_model_state_reset(svx_model_state *s)
{
    if (!s)
        return;
    if (s->m->use_int) {
        svx_int_state_reset(s->ist);
        return;
    }
    memset(s->mem, 0, s->mem_floats * sizeof(float));
    memset(s->count, 0, sizeof s->count);
}

void svx_model_state_reset_recurrent(svx_model_state *s)
{
    if (!s)
        return;
    if (s->m->use_int) {
        svx_int_state_reset_recurrent(s->ist, s->m->int_layers, s->m->n_int_layers);
        return;
    }
    for (int i = 0; i < s->m->n_layers; i++)
        if (s->m->layers[i].type == SVX_LAYER_GRU && s->h[i])
            memset(s->h[i], 0, (size_t)s->m->layers[i].hidden * sizeof(float));
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One emitted output of a conv2d layer (ARCH.md), from its ring of inputs. */
static void conv_emit(svx_model_state *s, const svx_layer *L, int li, int64_t n, float *y)
{
    const int kt_n = L->k_t, kf_n = L->k_f, f_in = L->f_in;
    const svx_wmat *w = &L->w[0];
    const float *bias = L->vec[0];
    const float *frames[SVX_MAX_KT];
    /* input frame n - (K_t - 1) + kt, or NULL before frame 0 (zeros) */
    for (int kt = 0; kt < kt_n; kt++) {
        int64_t t = n - (kt_n - 1) + kt;
        frames[kt] = t >= 0 ? s->ring[li] + (size_t)(t % kt_n) * (size_t)L->n_in : NULL;
    }
    for (int g = 0; g < L->f_out; g++) {
        float *pp = s->patch;
        const int f0 = g * L->s_f - L->p_f;
        /* the part of [f0, f0 + K_f) inside [0, F_in) */
        const int lo = f0 < 0 ? -f0 : 0;
        const int hi = f0 + kf_n > f_in ? f_in - f0 : kf_n;
        for (int c = 0; c < L->c_in; c++)
            for (int kt = 0; kt < kt_n; kt++, pp += kf_n) {
                const float *fr = frames[kt];
                if (!fr) {
                    memset(pp, 0, (size_t)kf_n * sizeof(float));
                    continue;
                }
                fr += (size_t)c * (size_t)f_in;
                for (int kf = 0; kf < lo; kf++)
                    pp[kf] = 0.0f;
                for (int kf = lo; kf < hi; kf++)
                    pp[kf] = fr[f0 + kf];
                for (int kf = hi < lo ? lo : hi; kf < kf_n; kf++)
                    pp[kf] = 0.0f;
            }
        svx_matvec(w, L->kernel[0], s->patch, s->col, s->scratch);
        for (int o = 0; o < L->c_out; o++) {
            float v = s->col[o] + bias[o];
            if (L->relu && v < 0.0f)
                v = 0.0f;
            y[(size_t)o * (size_t)L->f_out + (size_t)g] = v;
        }
    }
}

static int check_frame(const svx_model *m, const float *frame)
{
    for (int i = 0; i < m->fe.n_mels; i++)
        if (!isfinite(frame[i]))
            return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_state_push: feature %d is %g; expected "
                            "a finite value", i, (double)frame[i]);
    return SVX_OK;
}

/* The integer path's input boundary (INTEGER.md "Model input"): the
 * normalised log-mel value v = (x - mean) * inv_std in float32, then
 * q = sat8(floor(v * 2^f + 1/2)) -- the only float -> int conversion. */
static void quantise_input(const svx_int_layer *L, const float *frame, int8_t *q)
{
    double scale = ldexp(1.0, L->frac_bits);
    for (int i = 0; i < L->n_in; i++) {
        float v = (frame[i] - L->mean[i]) * L->inv_std[i];
        double t = floor((double)v * scale + 0.5);
        q[i] = (int8_t)(t > 127.0 ? 127 : t < -127.0 ? -127 : (int)t);
    }
}

int svx_model_state_push_scores(svx_model_state *s, const float *frame, int16_t *scores_out)
{
    if (!s || !frame || !scores_out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_state_push_scores: NULL argument");
    const svx_model *m = s->m;
    if (!m->use_int)
        return svx_fail(SVX_ERR_STATE, "svx_model_state_push_scores: the model runs its float graph");
    int rc = check_frame(m, frame);
    if (rc < 0)
        return rc;
    quantise_input(&m->int_layers[0], frame, s->qin);
    return svx_int_state_push(s->ist, m->int_layers, m->n_int_layers, s->qin, scores_out);
}

/* The integer path's output boundary (INTEGER.md "Model output"): int16
 * scores with f fractional bits -> log-softmax of s * 2^-f, for the float
 * decoders (the integer greedy CTC of int_ctc.c needs only the scores). */
static void scores_to_logprobs(const int16_t *sc, int n, int frac_bits, float *lp)
{
    float k = ldexpf(1.0f, -frac_bits);
    int16_t mx = sc[0];
    for (int i = 1; i < n; i++)
        if (sc[i] > mx)
            mx = sc[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++)
        sum += expf((float)(sc[i] - mx) * k);
    float lse = (float)mx * k + logf(sum);
    for (int i = 0; i < n; i++)
        lp[i] = (float)sc[i] * k - lse;
}

int svx_model_state_push(svx_model_state *s, const float *frame, float *logprobs_out)
{
    if (!s || !frame || !logprobs_out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_state_push: NULL argument");
    const svx_model *m = s->m;
    if (m->use_int) {
        int rc = svx_model_state_push_scores(s, frame, s->scores);
        if (rc == 1)
            scores_to_logprobs(s->scores, m->n_symbols, m->int_layers[m->n_int_layers - 1].frac_bits,
                               logprobs_out);
        return rc;
    }
    int crc = check_frame(m, frame);
    if (crc < 0)
        return crc;
    const float *x = frame;
    int ping = 0;
    for (int li = 0; li < m->n_layers; li++) {
        const svx_layer *L = &m->layers[li];
        float *y = s->act[ping];
        switch (L->type) {
        case SVX_LAYER_NORM:
            for (int i = 0; i < L->n_in; i++)
                y[i] = (x[i] - L->vec[0][i]) * L->vec[1][i];
            break;
        case SVX_LAYER_CONV2D: {
            int64_t n = s->count[li]++;
            memcpy(s->ring[li] + (size_t)(n % L->k_t) * (size_t)L->n_in, x,
                   (size_t)L->n_in * sizeof(float));
            if (n % L->s_t != 0)
                return 0;
            conv_emit(s, L, li, n, y);
            break;
        }
        case SVX_LAYER_GRU: {
            const int H = L->hidden;
            float *h = s->h[li], *gi = s->gi[li], *gh = s->gh[li];
            const float *bi = L->vec[0], *bh = L->vec[1];
            svx_matvec(&L->w[0], L->kernel[0], x, gi, s->scratch);
            svx_matvec(&L->w[1], L->kernel[1], h, gh, s->scratch);
            for (int i = 0; i < H; i++) {
                float r = sigmoidf((gi[i] + bi[i]) + (gh[i] + bh[i]));
                float z = sigmoidf((gi[H + i] + bi[H + i]) + (gh[H + i] + bh[H + i]));
                float nn = tanhf((gi[2 * H + i] + bi[2 * H + i]) + r * (gh[2 * H + i] + bh[2 * H + i]));
                h[i] = (1.0f - z) * nn + z * h[i];
            }
            memcpy(y, h, (size_t)H * sizeof(float));
            break;
        }
        case SVX_LAYER_LINEAR:
            svx_matvec(&L->w[0], L->kernel[0], x, y, s->scratch);
            for (int i = 0; i < L->n_out; i++) {
                float v = y[i] + L->vec[0][i];
                y[i] = (L->relu && v < 0.0f) ? 0.0f : v;
            }
            break;
        case SVX_LAYER_LOGSOFTMAX: {
            float mx = x[0];
            for (int i = 1; i < L->n_in; i++)
                if (x[i] > mx)
                    mx = x[i];
            float sum = 0.0f;
            for (int i = 0; i < L->n_in; i++)
                sum += expf(x[i] - mx);
            float lse = mx + logf(sum);
            for (int i = 0; i < L->n_in; i++)
                y[i] = x[i] - lse;
            break;
        }
        default: return svx_fail(SVX_ERR_STATE, "unknown layer type %d", L->type);
        }
        x = y;
        ping ^= 1;
    }
    memcpy(logprobs_out, x, (size_t)m->n_symbols * sizeof(float));
    return 1;
}

const svx_wmat *svx_model_matrix(const svx_model *m, int i, const char **layer_name,
                                 double *calls_per_second)
{
    double rate = (double)m->fe.sample_rate_hz / (double)m->fe.hop_length;
    int k = 0;
    for (int li = 0; li < m->n_layers; li++) {
        const svx_layer *L = &m->layers[li];
        double calls = rate;
        if (L->type == SVX_LAYER_CONV2D) {
            rate /= L->s_t;
            calls = rate * L->f_out;
        }
        for (int w = 0; w < L->n_w; w++, k++)
            if (k == i) {
                if (layer_name)
                    *layer_name = L->name;
                if (calls_per_second)
                    *calls_per_second = calls;
                return &L->w[w];
            }
    }
    return NULL;
}

/* snprintf into buf at *pos, tracking the length needed even when truncated. */
static void app(char *buf, size_t n, size_t *pos, const char *fmt, ...) SVX_PRINTF(4, 5);
static void app(char *buf, size_t n, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*pos < n ? buf + *pos : NULL, *pos < n ? n - *pos : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        *pos += (size_t)k;
}

static const char *enc_name(const svx_wmat *w, char *tmp, size_t n)
{
    switch (w->enc) {
    case SVX_ENC_F32: return "f32";
    case SVX_ENC_I8: return "i8";
    case SVX_ENC_DENSESHIFT: snprintf(tmp, n, "denseshift-%d", w->bits); return tmp;
    default: snprintf(tmp, n, "deepshift-%d", w->bits); return tmp;
    }
}

int svx_model_summary(const svx_model *m, char *buf, size_t n_bytes)
{
    size_t pos = 0;
    if (!m)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_model_summary: NULL model");
    if (buf && n_bytes)
        buf[0] = '\0';
    if (!buf)
        n_bytes = 0;
    const svx_frontend_params *fe = &m->fe;
    size_t n_weights = 0;
    app(buf, n_bytes, &pos, "format        SVXM %d.%d, %zu bytes\n", SVX_MODEL_VERSION_MAJOR,
        m->version_minor, m->file_bytes);
    app(buf, n_bytes, &pos, "front end     %d Hz, window %d, hop %d, FFT %d, %d mels %.0f-%.0f Hz, "
        "log floor %g\n", fe->sample_rate_hz, fe->win_length, fe->hop_length, fe->n_fft, fe->n_mels,
        (double)fe->fmin_hz, (double)fe->fmax_hz, (double)fe->log_floor);
    app(buf, n_bytes, &pos, "symbols       %d (blank", m->n_symbols);
    for (int i = 1; i < m->n_symbols; i++)
        app(buf, n_bytes, &pos, "%s%s", i == 1 ? " " : "",
            !strcmp(m->symbols[i], " ") ? "_" : m->symbols[i]);
    app(buf, n_bytes, &pos, ")\n");
    app(buf, n_bytes, &pos, "time stride   %d input frames per output (%.0f outputs/s)\n",
        m->time_stride, (double)fe->sample_rate_hz / fe->hop_length / m->time_stride);
    app(buf, n_bytes, &pos, "forms         %s%s%s (running: %s)\n",
        m->n_layers ? "float-activation" : "", m->n_layers && m->n_int_layers ? " + " : "",
        m->n_int_layers ? "integer" : "", m->use_int ? "integer" : "float-activation");
    app(buf, n_bytes, &pos, "%-3s %-12s %-10s %-32s %-14s %9s %9s  %s\n", "#", "layer", "type",
        "shape", "encoding", "weights", "bytes", "kernel");
    for (int i = 0; i < m->n_layers; i++) {
        const svx_layer *L = &m->layers[i];
        char shape[64], tmp[32];
        static const char *const tn[6] = {"?", "norm", "conv2d", "gru", "linear", "logsoftmax"};
        switch (L->type) {
        case SVX_LAYER_CONV2D:
            snprintf(shape, sizeof shape, "%dx%d->%dx%d k%dx%d s%dx%d p%d%s", L->c_in, L->f_in,
                     L->c_out, L->f_out, L->k_t, L->k_f, L->s_t, L->s_f, L->p_f,
                     L->relu ? " relu" : "");
            break;
        case SVX_LAYER_GRU: snprintf(shape, sizeof shape, "%d->%d", L->n_in, L->hidden); break;
        case SVX_LAYER_LINEAR:
            snprintf(shape, sizeof shape, "%d->%d%s", L->n_in, L->n_out, L->relu ? " relu" : "");
            break;
        default: snprintf(shape, sizeof shape, "%d", L->n_in); break;
        }
        if (L->n_w == 0) {
            app(buf, n_bytes, &pos, "%-3d %-12s %-10s %-32s %-14s %9s %9zu\n", i, L->name,
                tn[L->type], shape, L->n_vec ? "f32" : "-", "-", L->stored_bytes);
            continue;
        }
        for (int k = 0; k < L->n_w; k++) {
            const svx_wmat *w = &L->w[k];
            size_t nw = (size_t)w->rows * (size_t)w->cols;
            n_weights += nw;
            size_t bytes = w->enc == SVX_ENC_F32 ? nw * 4u
                           : w->enc == SVX_ENC_I8 ? nw + 4u * (size_t)w->rows
                           : (nw * (size_t)w->bits + 7u) / 8u + 4u * (size_t)w->rows;
            char nm[80];
            snprintf(nm, sizeof nm, "%s%s", L->name,
                     L->type == SVX_LAYER_GRU ? (k ? ".hh" : ".ih") : "");
            app(buf, n_bytes, &pos, "%-3d %-12s %-10s %-32s %-14s %9zu %9zu  %s\n", i, nm,
                tn[L->type], k ? "" : shape, enc_name(w, tmp, sizeof tmp), nw, bytes,
                svx_kernel_name(L->kernel[k]));
        }
    }
    if (m->n_layers)
        app(buf, n_bytes, &pos, "float graph   %zu weights, %zu bytes of tensors\n", n_weights,
            m->float_weight_bytes);
    if (m->n_int_layers) {
        static const char *const itn[4] = {"int_input", "int_conv2d", "int_gru", "int_linear"};
        size_t n_iw = 0;
        app(buf, n_bytes, &pos, "integer graph (model/INTEGER.md)\n");
        for (int i = 0; i < m->n_int_layers; i++) {
            const svx_int_layer *L = &m->int_layers[i];
            char shape[80];
            size_t nw = 0;
            const char *wk = "-";
            switch (L->type) {
            case SVX_LAYER_INT_INPUT:
                snprintf(shape, sizeof shape, "%d -> int8 f=%d", L->n_in, L->frac_bits);
                break;
            case SVX_LAYER_INT_CONV2D:
                snprintf(shape, sizeof shape, "%zux%zu->%zux%zu k%zux%zu s%dx%zu%s", L->conv.c_in,
                         L->conv.f_in, L->conv.c_out, L->conv.f_out, L->conv.k_t, L->conv.k_f,
                         L->s_t, L->conv.s_f, L->conv.relu ? " relu" : "");
                nw = L->conv.c_out * L->conv.c_in * L->conv.k_t * L->conv.k_f;
                wk = L->conv.w_pow2 ? "pow2-codes" : "int8";
                break;
            case SVX_LAYER_INT_GRU:
                snprintf(shape, sizeof shape, "%d->%d, %d PWL knots, out f=%d", L->n_in, L->n_out,
                         L->pwl.n_knots, L->frac_bits);
                nw = 3u * L->gru.n_hidden * (L->gru.n_in + L->gru.n_hidden);
                wk = "pow2-codes";
                break;
            default:
                snprintf(shape, sizeof shape, "%d->%d int16 f=%d%s", L->n_in, L->n_out, L->frac_bits,
                         L->lin.relu ? " relu" : "");
                nw = L->lin.n_in * L->lin.n_out;
                wk = L->lin.w_pow2 ? "pow2-codes" : "int8";
                break;
            }
            n_iw += nw;
            app(buf, n_bytes, &pos, "%-3d %-12s %-10s %-32s %-14s %9zu %9zu\n", i, L->name,
                itn[L->type - SVX_LAYER_INT_INPUT], shape, wk, nw, L->stored_bytes);
        }
        app(buf, n_bytes, &pos, "integer graph %zu weights, %zu bytes of tensors\n", n_iw,
            m->int_weight_bytes);
    }
    app(buf, n_bytes, &pos, "total         %zu bytes of tensors in the running form, %zu bytes per "
        "stream state\n", m->weight_bytes, svx_model_state_bytes(m));
    if (m->meta && strcmp(m->meta, "{}") != 0)
        app(buf, n_bytes, &pos, "metadata      %s\n", m->meta);
    return (int)pos;
}
