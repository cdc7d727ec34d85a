/* Private declarations of the CTC decoders (decoder/).
 *
 * Every decoder is streaming: it is fed one output frame of the acoustic
 * model at a time (n_symbols natural-log probabilities, symbol 0 = blank) and
 * gives exactly the result it would give if the whole utterance were decoded
 * at once. All memory is sized at create time; push() never allocates.
 *
 * Time: output frame t covers [t * frame_s, (t + 1) * frame_s) seconds, where
 * frame_s = hop_length * time_stride / sample_rate (svx_decoder_frame_seconds).
 * A word's start is the frame of its first symbol, its end the frame after
 * its last symbol.
 *
 * Word confidence (greedy and beam): the mean, over the frames from the
 * word's first to its last symbol, of the largest posterior exp(max_c lp[t][c])
 * of each frame. It is in [0, 1], near 1 when the model is sure frame by frame
 * and lower when symbols compete (flat or ambiguous posteriors). */
#ifndef SVX_DECODER_H
#define SVX_DECODER_H

#include "shiftvox.h"

#include <stdint.h>

#define SVX_DEC_MAX_SYMBOLS 256
#define SVX_DEC_MAX_SYMBOL_BYTES 15
#define SVX_DEC_MAX_WORD_BYTES 63

/* ---- Symbol table ------------------------------------------------------ */

typedef struct {
    int n_symbols;
    int space;                    /* index of " ", or -1 when the model has none */
    char sym[SVX_DEC_MAX_SYMBOLS][SVX_DEC_MAX_SYMBOL_BYTES + 1];
} svx_symtab;

/* Copies a symbol table (symbol 0 is the blank and is never spelled). */
int svx_symtab_init(svx_symtab *t, const char *const *symbols, int n_symbols);
/* The model's symbol table. */
int svx_symtab_from_model(svx_symtab *t, const svx_model *m);
/* Spells text (ASCII letters are lower-cased first) with the longest matching
 * symbol at each byte into ids (room for max_ids). Returns the number of
 * symbols, or SVX_ERR_KEYWORD naming the first byte that no symbol matches
 * ("what" names the text's role in the message, e.g. "keyword"). */
int svx_symtab_spell(const svx_symtab *t, const char *text, int *ids, int max_ids,
                     const char *what);

/* A number from the model's metadata (the trainer's json.dumps text): the
 * value of key inside the flat object named object ("eval_bias": {...}).
 * Returns 1 and sets *out, or 0 when the metadata has no such finite number
 * (out untouched). */
int svx_meta_number(const svx_model *m, const char *object, const char *key, double *out);

/* Seconds per output frame of a model. */
double svx_decoder_frame_seconds(const svx_model *m);

/* The 35 words of Speech Commands v0.02, the default lexicon. */
#define SVX_VOCAB_DEFAULT_SIZE 35
extern const char *const svx_vocab_default[SVX_VOCAB_DEFAULT_SIZE];

/* ---- Word queue: final words waiting to be read -------------------------- */

typedef struct {
    svx_word *w;
    int cap;                      /* capacity, words */
    int head, n;                  /* ring buffer: oldest at head */
    uint64_t n_dropped;           /* oldest words overwritten because nobody took them */
} svx_wordq;

int svx_wordq_init(svx_wordq *q, int cap);
void svx_wordq_free(svx_wordq *q);
void svx_wordq_clear(svx_wordq *q);
/* Appends; when full, the oldest word is overwritten and counted as dropped. */
void svx_wordq_push(svx_wordq *q, const svx_word *w);
/* Copies up to max words, oldest first; returns how many are queued. */
int svx_wordq_copy(const svx_wordq *q, svx_word *out, int max);
/* Removes and returns up to max words, oldest first; returns how many. */
int svx_wordq_take(svx_wordq *q, svx_word *out, int max);

/* ---- Shared decoder parameters -------------------------------------------- */

typedef struct {
    double frame_s;               /* seconds per frame, > 0 */
    int beam_size;                /* beam: hypotheses kept, 8 */
    int max_pending_words;        /* beam: uncommitted words per hypothesis, 16 */
    int max_words;                /* final words held until taken, 4096 */
    double word_gap_s;            /* greedy: a blank run this long ends a word, 0.25 */
    double commit_margin;         /* beam: nats, 20 (INFINITY: commit only on full agreement) */
    double commit_lag_s;          /* beam: commit a word this long after its end, 1.0 (INFINITY: never) */
} svx_dec_params;

void svx_dec_params_default(svx_dec_params *p, double frame_s);

/* ---- CTC greedy (best path) ------------------------------------------------ */
/* Per frame the most likely symbol (the first on ties); repeats collapse and
 * blanks drop (Graves et al. 2006, sec. 3.2). A word ends at a space symbol,
 * or when a run of blank frames reaches word_gap_s (models trained without
 * spaces), or when it reaches SVX_DEC_MAX_WORD_BYTES. */

typedef struct svx_greedy svx_greedy;

int svx_greedy_create(const svx_symtab *t, const svx_dec_params *p, svx_greedy **out);
void svx_greedy_destroy(svx_greedy *g);
void svx_greedy_reset(svx_greedy *g);
void svx_greedy_push(svx_greedy *g, const float *logprobs);
/* Ends the utterance: the open word becomes final. */
void svx_greedy_flush(svx_greedy *g);
/* Final words then the open word; returns how many exist. */
int svx_greedy_words(const svx_greedy *g, svx_word *out, int max);
int svx_greedy_take_words(svx_greedy *g, svx_word *out, int max);
/* The open word (0 or 1 words). */
int svx_greedy_pending(const svx_greedy *g, svx_word *out, int max);
/* The collapsed label sequence so far (symbols, no blanks; the last
 * max_labels kept internally are 1024): returns its length. */
int svx_greedy_labels(const svx_greedy *g, int *ids, int max);
const svx_wordq *svx_greedy_queue(const svx_greedy *g);

/* ---- CTC prefix beam search over a lexicon ---------------------------------- */
/* Prefix beam search (Hannun et al. 2014, "First-pass large vocabulary
 * continuous speech recognition using bi-directional recurrent DNNs", alg. 1,
 * without a language model) whose prefixes must spell a sequence of lexicon
 * words. The label sequences allowed for words w1..wn are
 *   [space] w1 [space] w2 ... [space] wn [space]
 * (every space optional, never two in a row), and a word sequence's score is
 * the CTC probability summed over all of them. A hypothesis is identified by
 * its uncommitted words, its trie node and its last label, so label sequences
 * that differ only in spacing merge once they agree again.
 *
 * Bounded memory: when the hypotheses that do not start with the best one's
 * first uncommitted word hold less than e^-commit_margin of the probability
 * mass, they are dropped and the word is committed (moved to the final-word
 * queue). With commit_margin = INFINITY only full agreement commits, which
 * never changes the result; the default 20 nats drops hypotheses 5e8 times
 * less likely than the rest. A near-miss spelling of an old word keeps a
 * constant distance to the best hypothesis once both are past it, so the
 * margin alone may never commit: the best hypothesis' first word is also
 * committed once it ended commit_lag_s (1 s) ago — without a language model
 * later frames almost never change the ranking of an earlier word. If a hypothesis would hold more than max_pending_words, the best
 * hypothesis' oldest word is committed and hypotheses that disagree with it are
 * dropped (an approximation that only very long ambiguous runs trigger;
 * counted by svx_beam_forced_commits). */

typedef struct svx_beam svx_beam;

/* words: the lexicon (NULL: svx_vocab_default); each spelled with the symbol
 * table (SVX_ERR_KEYWORD for a word it cannot spell or that contains a space). */
int svx_beam_create(const svx_symtab *t, const svx_dec_params *p, const char *const *words,
                    int n_words, svx_beam **out);
void svx_beam_destroy(svx_beam *b);
void svx_beam_reset(svx_beam *b);
void svx_beam_push(svx_beam *b, const float *logprobs);
/* Ends the utterance: the best complete word sequence becomes final. */
void svx_beam_flush(svx_beam *b);
/* Final words, then (before flush) the best hypothesis' uncommitted words. */
int svx_beam_words(const svx_beam *b, svx_word *out, int max);
int svx_beam_take_words(svx_beam *b, svx_word *out, int max);
/* The best hypothesis' uncommitted words (none after flush). */
int svx_beam_pending(const svx_beam *b, svx_word *out, int max);
/* After flush: ln of the summed CTC probability of the chosen word sequence
 * given the frames since the last reset (-INFINITY if none was complete). */
double svx_beam_final_score(const svx_beam *b);
uint64_t svx_beam_forced_commits(const svx_beam *b);
const svx_wordq *svx_beam_queue(const svx_beam *b);

/* ---- Keyword spotter ------------------------------------------------------ */
/* For each keyword a Viterbi recursion over the state chain
 *   B{l,} k+ (_* e+)(_* y+) B{c}
 * where B is a boundary frame (blank or space), l and c = leading and
 * trailing context frames (lead_context_s and context_s rounded, at least 1),
 * k e y the keyword's symbols (a blank is
 * required between equal neighbours; a space inside a phrase is optional),
 * and the chain may start at any frame (frames before the stream count as
 * boundary). Each frame's emission is scored against the best symbol of that
 * frame (the filler: the best path over the same span), so the path score
 * D = sum_t (lp[t][path_t] - max_c lp[t][c]) <= 0, and the raw keyword score
 * at frame t is the best D of a chain ending at t. The 0..1 score is
 * exp(D / n_symbols_of_keyword), the geometric mean per keyword symbol of the
 * keyword path's probability relative to the best path; 1 when the keyword is
 * the best path with silence around it. With a score power g (score_power,
 * the stream's per-keyword calibration) it is exp(g * D / n): the same
 * detections as threshold^(1/g) on the uncalibrated score.
 *
 * The trailing context makes "on" not fire inside "one"; the leading context
 * (lead_context_s, longer: CTC letters inside a word are often several blank
 * frames apart, as the "d" and "o" of "down") makes "no" not fire inside
 * "know". An event fires at the frame after the score peaks above the
 * keyword's threshold (about c + 1 frames after the word's last symbol),
 * unless it overlaps or is within refractory_s of the previous event of that
 * keyword.
 *
 * Competition (compete = 1): rival words and the other keywords run the same
 * recursion without firing; a keyword's peak is dropped, silently and with no
 * refractory period, when another word's lexical score D + b * n_symbols
 * (b = length_bonus, the log-domain length prior the classifier also uses)
 * was higher at one of the last 16 frames on a path covering at least half
 * of the shorter of the two spans: "on" does not fire where "down" or "off"
 * explain the audio better. It looks only at frames already seen, so it adds
 * no latency.
 * Sensitivity s in [0, 1] maps to threshold 1 - s clamped to [0.02, 0.98]. */

typedef struct svx_kws svx_kws;

typedef struct {
    double frame_s;
    double refractory_s;          /* 1.0 */
    double context_s;             /* trailing context c, 0.1 */
    double lead_context_s;        /* leading context, 0.2 */
    int max_events;               /* queue capacity, 64 */
    int compete;                  /* 1: competition (below); 0 (default): none */
    const char *const *rivals;    /* with compete: words keywords compete with besides */
    int n_rivals;                 /*   each other (duplicates of keywords are skipped) */
    double length_bonus;          /* b of the lexical score, 1.0 */
    const float *score_power;     /* per keyword (keywords' order): the score is
                                     exp(power * D / n); NULL: 1 for every keyword */
} svx_kws_params;

#define KWS_MIN_POWER 0.05
#define KWS_MAX_POWER 20.0

void svx_kws_params_default(svx_kws_params *p, double frame_s);
float svx_kws_threshold(float sensitivity);
/* A keyword as the spotter keeps it: ASCII lower case, runs of white space to
 * one space, no leading or trailing space. Returns its length, -1 when it
 * does not fit in cap bytes. */
int svx_kws_normalise(const char *in, char *out, size_t cap);

/* Each keyword: a word or phrase (lower-cased, spaces collapsed) spelled with
 * the symbol table; SVX_ERR_KEYWORD names a keyword that cannot be spelled,
 * SVX_ERR_INVALID_ARG a sensitivity outside 0..1. */
int svx_kws_create(const svx_symtab *t, const svx_kws_params *p, const svx_keyword *keywords,
                   int n_keywords, svx_kws **out);
void svx_kws_destroy(svx_kws *k);
void svx_kws_reset(svx_kws *k);
void svx_kws_push(svx_kws *k, const float *logprobs);
/* A pause: pending peaks fire, then the search starts again as at the start
 * of the stream (no partial keyword survives the pause, no refractory period
 * reaches across it). Time, queued events and the drop count are kept. */
void svx_kws_restart(svx_kws *k);
/* End of input: frames after it count as boundary; pending peaks fire. */
void svx_kws_flush(svx_kws *k);
int svx_kws_next_event(svx_kws *k, svx_kws_event *ev);
uint64_t svx_kws_dropped_events(const svx_kws *k);
int svx_kws_n_keywords(const svx_kws *k);
/* Raw score D of keyword i at the last pushed frame (-INFINITY if none). */
double svx_kws_raw_score(const svx_kws *k, int i);
/* Context frames c actually used. */
int svx_kws_context_frames(const svx_kws *k);

#endif
