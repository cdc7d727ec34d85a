/* Whole-clip CTC scoring: the exact CTC forward algorithm and a classifier
 * that picks the most likely of a few candidate texts (Speech Commands).
 *
 * Reference: A. Graves, S. Fernández, F. Gomez, J. Schmidhuber, "Connectionist
 * Temporal Classification", ICML 2006, section 4.1 (eq. 5-8). The recursion
 * runs over the label sequence extended with blanks, l' = (_, l1, _, l2, ..., _),
 * of length S = 2L + 1:
 *   alpha_0(0) = y_0(_), alpha_0(1) = y_0(l1)
 *   alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) [+ alpha_{t-1}(s-2)]) y_t(l'_s)
 * where the third term is allowed when l'_s is not blank and l'_s != l'_{s-2}.
 *   P(l | x) = alpha_{T-1}(S-1) + alpha_{T-1}(S-2).
 * Everything is done in double precision in the log domain, so very long clips
 * or very confident posteriors cannot underflow. */
#include "decoder.h"
#include "svx_internal.h"
#include "../model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ln(e^a + e^b) without overflow; exact for -inf operands. */
static double log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    return a + log1p(exp(b - a));
}

/* Texts up to this many symbols are scored without allocating. */
#define SVX_CTC_STACK_LABELS 255

int svx_ctc_log_likelihood_ids(const float *logprobs, int n_frames, int n_symbols,
                               const int *labels, int n_labels, double *out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_ctc_log_likelihood_ids: out is NULL");
    if (n_frames < 0 || n_symbols < 2 || n_labels < 0 || (n_frames > 0 && !logprobs) ||
        (n_labels > 0 && !labels))
        return svx_fail(SVX_ERR_INVALID_ARG,
                        "svx_ctc_log_likelihood_ids: bad arguments (n_frames %d, n_symbols %d, "
                        "n_labels %d)", n_frames, n_symbols, n_labels);
    for (int i = 0; i < n_labels; i++)
        if (labels[i] < 1 || labels[i] >= n_symbols)
            return svx_fail(SVX_ERR_INVALID_ARG,
                            "svx_ctc_log_likelihood_ids: label %d is %d, expected 1..%d "
                            "(0 is the blank)", i, labels[i], n_symbols - 1);
    const size_t V = (size_t)n_symbols;

    if (n_labels == 0) {
        double sum = 0.0;
        for (int t = 0; t < n_frames; t++)
            sum += logprobs[(size_t)t * V];
        *out = sum;
        return SVX_OK;
    }
    /* The shortest alignment has one frame per label plus one blank between
     * each pair of equal neighbours. */
    int need = n_labels;
    for (int i = 1; i < n_labels; i++)
        need += labels[i] == labels[i - 1];
    if (n_frames < need) {
        *out = -INFINITY;
        return SVX_OK;
    }

    const int S = 2 * n_labels + 1;
    double stack_buf[2 * (2 * SVX_CTC_STACK_LABELS + 1)];
    double *heap = NULL, *a = stack_buf;
    if (n_labels > SVX_CTC_STACK_LABELS) {
        size_t n_bytes;
        if (svx_mul_size((size_t)S * 2, sizeof(double), &n_bytes) < 0 || !(heap = malloc(n_bytes)))
            return svx_fail(SVX_ERR_NO_MEMORY, "svx_ctc_log_likelihood_ids: %d labels", n_labels);
        a = heap;
    }
    double *prev = a, *cur = a + S;
    /* Extended label of position s: blank at even s, labels[(s-1)/2] at odd s. */
    for (int s = 0; s < S; s++)
        prev[s] = -INFINITY;
    prev[0] = logprobs[0];
    prev[1] = logprobs[labels[0]];
    for (int t = 1; t < n_frames; t++) {
        const float *y = logprobs + (size_t)t * V;
        for (int s = 0; s < S; s++) {
            double acc = prev[s];
            if (s >= 1)
                acc = log_add(acc, prev[s - 1]);
            int sym = (s & 1) ? labels[s >> 1] : 0;
            if ((s & 1) && s >= 3 && labels[(s >> 1) - 1] != sym)
                acc = log_add(acc, prev[s - 2]);
            cur[s] = acc == -INFINITY ? -INFINITY : acc + (double)y[sym];
        }
        double *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    *out = log_add(prev[S - 1], prev[S - 2]);
    free(heap);
    return SVX_OK;
}

/* Spells text as symbol indices, longest symbol first at each byte. Returns
 * the number of labels, or a negative error. labels has room for max_labels. */
static int spell(const svx_model *m, const char *text, int *labels, int max_labels)
{
    int n_symbols = svx_model_n_symbols(m);
    int n = 0;
    size_t pos = 0, len = strlen(text);
    while (pos < len) {
        int best = -1;
        size_t best_len = 0;
        for (int i = 1; i < n_symbols; i++) {
            const char *sym = svx_model_symbol(m, i);
            size_t sl = sym ? strlen(sym) : 0;
            if (sl > best_len && sl <= len - pos && !memcmp(text + pos, sym, sl)) {
                best = i;
                best_len = sl;
            }
        }
        if (best < 0)
            return svx_fail(SVX_ERR_KEYWORD,
                            "\"%s\": byte %zu ('%c') is not one of the model's %d symbols", text,
                            pos, (unsigned char)text[pos] >= 0x20 && (unsigned char)text[pos] < 0x7f
                                     ? text[pos] : '?', n_symbols - 1);
        if (n < max_labels)
            labels[n] = best;
        n++;
        pos += best_len;
    }
    return n;
}

int svx_ctc_log_likelihood(const svx_model *m, const float *logprobs, int n_frames,
                           const char *text, double *out)
{
    if (!m || !text || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_ctc_log_likelihood: NULL argument");
    int stack_labels[SVX_CTC_STACK_LABELS];
    int n = spell(m, text, stack_labels, SVX_CTC_STACK_LABELS);
    if (n < 0)
        return n;
    if (n <= SVX_CTC_STACK_LABELS)
        return svx_ctc_log_likelihood_ids(logprobs, n_frames, svx_model_n_symbols(m), stack_labels,
                                          n, out);
    int *labels = malloc((size_t)n * sizeof *labels);
    if (!labels)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_ctc_log_likelihood: text of %d symbols", n);
    spell(m, text, labels, n);
    int rc = svx_ctc_log_likelihood_ids(logprobs, n_frames, svx_model_n_symbols(m), labels, n, out);
    free(labels);
    return rc;
}

int svx_classify_clip(const svx_model *m, const float *logprobs, int n_frames,
                      const char *const *candidates, int n_candidates, double *scores_out)
{
    if (!m || !candidates || n_candidates < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_classify_clip: no model or no candidates");
    int best = 0;
    double best_score = -INFINITY;
    for (int k = 0; k < n_candidates; k++) {
        if (!candidates[k])
            return svx_fail(SVX_ERR_INVALID_ARG, "svx_classify_clip: candidate %d is NULL", k);
        double sc;
        int rc = svx_ctc_log_likelihood(m, logprobs, n_frames, candidates[k], &sc);
        if (rc < 0)
            return rc;
        if (scores_out)
            scores_out[k] = sc;
        if (sc > best_score) {
            best_score = sc;
            best = k;
        }
    }
    return best;
}

/* The number after "key": inside the object text [obj, end). */
static int json_number(const char *obj, const char *end, const char *key, double *out)
{
    size_t kl = strlen(key);
    for (const char *p = obj; p && p + kl + 2 <= end; p++) {
        p = strchr(p, '"');
        if (!p || p + kl + 2 > end)
            return 0;
        if (!strncmp(p + 1, key, kl) && p[kl + 1] == '"') {
            const char *q = p + kl + 2;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
                q++;
            if (q >= end || *q != ':')
                return 0;
            char *num_end;
            double v = strtod(q + 1, &num_end);
            if (num_end == q + 1 || num_end > end || !isfinite(v))
                return 0;
            *out = v;
            return 1;
        }
    }
    return 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

int svx_meta_number(const svx_model *m, const char *object, const char *key, double *out)
{
    const char *meta = m ? m->meta : NULL;
    if (!meta || !object || !key || !out)
        return 0;
    char quoted[64];
    if (snprintf(quoted, sizeof quoted, "\"%s\"", object) >= (int)sizeof quoted)
        return 0;
    const char *at = strstr(meta, quoted);
    if (!at)
        return 0;
    at = skip_ws(at + strlen(quoted));
    if (*at != ':')
        return 0;
    at = skip_ws(at + 1);
    const char *close = *at == '{' ? strchr(at, '}') : NULL;
    return close ? json_number(at, close, key, out) : 0;
}

int svx_classify_bias(const svx_model *m, const char *const *candidates, int n_candidates,
                      double *bias_out)
{
    if (!m || !candidates || n_candidates < 0 || (n_candidates > 0 && !bias_out))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_classify_bias: bad arguments");
    for (int k = 0; k < n_candidates; k++)
        bias_out[k] = 0.0;
    /* The metadata is the trainer's json.dumps text: read the "eval_bias"
     * object's two numbers; anything else means no bias. */
    double char_bonus = 0.0, silence = 0.0;
    int have = svx_meta_number(m, "eval_bias", "char_bonus", &char_bonus) == 1;
    have += svx_meta_number(m, "eval_bias", "silence", &silence) == 1;
    if (!have)
        return 0;
    for (int k = 0; k < n_candidates; k++) {
        if (!candidates[k])
            return svx_fail(SVX_ERR_INVALID_ARG, "svx_classify_bias: candidate %d is NULL", k);
        size_t n_chars = 0;
        for (const char *c = candidates[k]; *c; c++)
            n_chars += *c != ' ';
        bias_out[k] = candidates[k][0] ? char_bonus * (double)n_chars : silence;
    }
    return 1;
}
