/* Pieces shared by the decoders: the symbol table, the default lexicon, the
 * final-word queue and default parameters. */
#include "decoder.h"
#include "svx_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const svx_vocab_default[SVX_VOCAB_DEFAULT_SIZE] = {
    "yes",   "no",    "up",   "down",  "left",     "right",   "on",     "off",   "stop",
    "go",    "zero",  "one",  "two",   "three",    "four",    "five",   "six",   "seven",
    "eight", "nine",  "bed",  "bird",  "cat",      "dog",     "happy",  "house", "marvin",
    "sheila", "tree", "wow",  "backward", "forward", "follow", "learn", "visual"};

int svx_symtab_init(svx_symtab *t, const char *const *symbols, int n_symbols)
{
    if (!t || !symbols || n_symbols < 2 || n_symbols > SVX_DEC_MAX_SYMBOLS)
        return svx_fail(SVX_ERR_INVALID_ARG, "symbol table: %d symbols, expected 2..%d",
                        n_symbols, SVX_DEC_MAX_SYMBOLS);
    memset(t, 0, sizeof *t);
    t->n_symbols = n_symbols;
    t->space = -1;
    for (int i = 0; i < n_symbols; i++) {
        const char *s = symbols[i] ? symbols[i] : "";
        size_t n = strlen(s);
        if (n > SVX_DEC_MAX_SYMBOL_BYTES)
            return svx_fail(SVX_ERR_INVALID_ARG, "symbol table: symbol %d has %zu bytes, at most %d",
                            i, n, SVX_DEC_MAX_SYMBOL_BYTES);
        if (i > 0 && n == 0)
            return svx_fail(SVX_ERR_INVALID_ARG, "symbol table: symbol %d is empty (only the "
                            "blank, symbol 0, may be)", i);
        memcpy(t->sym[i], s, n + 1);
        if (i > 0 && !strcmp(s, " ") && t->space < 0)
            t->space = i;
    }
    return SVX_OK;
}

int svx_symtab_from_model(svx_symtab *t, const svx_model *m)
{
    if (!t || !m)
        return svx_fail(SVX_ERR_INVALID_ARG, "symbol table: NULL model");
    int n = svx_model_n_symbols(m);
    if (n < 2 || n > SVX_DEC_MAX_SYMBOLS)
        return svx_fail(SVX_ERR_SHAPE, "symbol table: model has %d symbols, expected 2..%d", n,
                        SVX_DEC_MAX_SYMBOLS);
    const char *syms[SVX_DEC_MAX_SYMBOLS];
    for (int i = 0; i < n; i++)
        syms[i] = svx_model_symbol(m, i);
    return svx_symtab_init(t, syms, n);
}

int svx_symtab_spell(const svx_symtab *t, const char *text, int *ids, int max_ids,
                     const char *what)
{
    if (!t || !text || (max_ids > 0 && !ids))
        return svx_fail(SVX_ERR_INVALID_ARG, "spell: NULL argument");
    char low[SVX_DEC_MAX_WORD_BYTES + 1];
    size_t len = strlen(text);
    if (len > SVX_DEC_MAX_WORD_BYTES)
        return svx_fail(SVX_ERR_KEYWORD, "%s \"%.63s...\" has %zu bytes, at most %d", what, text,
                        len, SVX_DEC_MAX_WORD_BYTES);
    for (size_t i = 0; i <= len; i++)
        low[i] = (char)((unsigned char)text[i] < 0x80 ? tolower((unsigned char)text[i]) : text[i]);
    int n = 0;
    size_t pos = 0;
    while (pos < len) {
        int best = -1;
        size_t best_len = 0;
        for (int i = 1; i < t->n_symbols; i++) {
            size_t sl = strlen(t->sym[i]);
            if (sl > best_len && sl <= len - pos && !memcmp(low + pos, t->sym[i], sl)) {
                best = i;
                best_len = sl;
            }
        }
        if (best < 0) {
            unsigned char c = (unsigned char)low[pos];
            if (c >= 0x20 && c < 0x7f)
                return svx_fail(SVX_ERR_KEYWORD, "%s \"%s\": character '%c' (byte %zu) is not "
                                "one of the model's %d symbols", what, text, c, pos,
                                t->n_symbols - 1);
            return svx_fail(SVX_ERR_KEYWORD, "%s \"%s\": byte 0x%02x at %zu is not one of the "
                            "model's %d symbols", what, text, c, pos, t->n_symbols - 1);
        }
        if (n >= max_ids)
            return svx_fail(SVX_ERR_KEYWORD, "%s \"%s\" spells more than %d symbols", what, text,
                            max_ids);
        ids[n++] = best;
        pos += best_len;
    }
    return n;
}

double svx_decoder_frame_seconds(const svx_model *m)
{
    const svx_frontend_params *p = svx_model_frontend(m);
    int stride = svx_model_time_stride(m);
    if (!p || stride < 1 || p->sample_rate_hz <= 0)
        return 0.0;
    return (double)p->hop_length * stride / p->sample_rate_hz;
}

/* ---- word queue ---- */

int svx_wordq_init(svx_wordq *q, int cap)
{
    memset(q, 0, sizeof *q);
    if (cap < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "word queue: capacity %d", cap);
    q->w = calloc((size_t)cap, sizeof *q->w);
    if (!q->w)
        return svx_fail(SVX_ERR_NO_MEMORY, "word queue of %d words", cap);
    q->cap = cap;
    return SVX_OK;
}

void svx_wordq_free(svx_wordq *q)
{
    if (q) {
        free(q->w);
        q->w = NULL;
        q->cap = 0;
    }
}

void svx_wordq_clear(svx_wordq *q)
{
    q->head = q->n = 0;
    q->n_dropped = 0;
}

void svx_wordq_push(svx_wordq *q, const svx_word *w)
{
    if (q->n == q->cap) {
        q->head = (q->head + 1) % q->cap;
        q->n--;
        q->n_dropped++;
    }
    q->w[(q->head + q->n) % q->cap] = *w;
    q->n++;
}

int svx_wordq_copy(const svx_wordq *q, svx_word *out, int max)
{
    for (int i = 0; i < q->n && i < max; i++)
        out[i] = q->w[(q->head + i) % q->cap];
    return q->n;
}

int svx_wordq_take(svx_wordq *q, svx_word *out, int max)
{
    int k = 0;
    while (k < max && q->n > 0) {
        out[k++] = q->w[q->head];
        q->head = (q->head + 1) % q->cap;
        q->n--;
    }
    return k;
}

void svx_dec_params_default(svx_dec_params *p, double frame_s)
{
    p->frame_s = frame_s;
    p->beam_size = 8;
    p->max_pending_words = 16;
    p->max_words = 4096;
    p->word_gap_s = 0.25;
    p->commit_margin = 20.0;
    p->commit_lag_s = 1.0;
}
