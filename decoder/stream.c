/* svx_stream: front end -> acoustic model state -> one decoder, push audio,
 * pull words and keyword events. Everything is allocated by create; push,
 * flush and reset never allocate. */
#include "decoder.h"
#include "svx_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK_FRAMES 32    /* feature frames computed per front-end call */
#define STREAM_MAX_WORDS 4096
#define STREAM_MAX_EVENTS 64
#define STREAM_MAX_KEYWORDS 65536 /* entries, a word at several sensitivities counting once each */
#define STREAM_MAX_BEAM 4096
#define PAUSE_ENTER_BLANK 0.99     /* defaults for models whose metadata has no "pause" */
#define PAUSE_EXIT_BLANK 0.9

struct svx_stream {
    const svx_model *m;
    svx_decode_mode mode;
    svx_frontend *fe;
    svx_model_state *ms;
    int n_mels, n_symbols;
    float *frames;                /* STREAM_CHUNK_FRAMES * n_mels */
    float *lp;                    /* n_symbols */
    svx_greedy *greedy;
    svx_beam *beam;
    svx_kws *kws;
    svx_word *pend;               /* words not final yet, for get_text */
    int max_pend;
    double frame_s;
    uint64_t n_samples;
    int flushed;
    int silence_reset_frames;     /* 0: never reset the model state on pauses */
    int silent_run;               /* silent output frames in a row, capped at silence_reset_frames */
    uint64_t n_out;               /* output frames since the start */
    float *hist;                  /* ring of the last n_hist input feature frames */
    int n_hist;                   /* frames replayed when a pause ends: k * time_stride + 1 */
    uint64_t n_in;                /* input feature frames since the start */
    float enter_logp, exit_logp;  /* ln of the pause's blank thresholds (see in_pause) */
    uint64_t n_pauses;            /* pauses entered since the start (the start not counted) */
    float *rp;                    /* q_cap rows: the outputs of a replay */
    float *pq;                    /* q_cap rows: a pause's outputs not decoded yet (a ring) */
    int q_cap, q_head, q_n;       /* q_cap: the outputs of one replay, ceil(n_hist / stride) */
    int settle_frames;            /* first output frames of a stream that cannot end its pause */
};

#define PAUSE_REPLAY_S 0.4        /* input replayed into a fresh state when a pause ends */
#define PAUSE_SETTLE_S 0.2        /* a fresh state's first outputs cannot end the start's pause */

void svx_stream_config_default(svx_stream_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = SVX_DECODE_BEAM;
    cfg->beam_size = 32;
    cfg->lexicon = NULL;
    cfg->n_lexicon = 0;
    cfg->keywords = NULL;
    cfg->n_keywords = 0;
    cfg->refractory_s = 1.0;
    cfg->kws_compete = 1;
    cfg->kws_calibrate = 1;
    cfg->silence_reset_s = 0.5;
}

/* The model's keyword-score calibration (see svx_stream_config.kws_calibrate):
 * metadata "kws_calibration" gives a score power per word (keyed by the text
 * the spotter keeps), and "len<n>" one for words of n letters it has no entry
 * for; 1 when neither is there. A value outside KWS_MIN_POWER..KWS_MAX_POWER
 * is a format error. A NULL or over-long keyword keeps 1: svx_kws_create
 * reports it. */
static int calibrated_power(const svx_model *m, const char *word, float *power)
{
    char key[SVX_DEC_MAX_WORD_BYTES + 1];
    *power = 1.0f;
    const int n = word ? svx_kws_normalise(word, key, sizeof key) : -1;
    if (n < 0)
        return SVX_OK;
    double v;
    if (!svx_meta_number(m, "kws_calibration", key, &v)) {
        int letters = 0;
        for (int i = 0; i < n; i++)
            letters += key[i] != ' ';
        snprintf(key, sizeof key, "len%d", letters);
        if (!svx_meta_number(m, "kws_calibration", key, &v))
            return SVX_OK;
    }
    if (!(v >= KWS_MIN_POWER && v <= KWS_MAX_POWER))
        return svx_fail(SVX_ERR_FORMAT, "svx_stream_create: the model's metadata "
                        "\"kws_calibration\" gives \"%s\" %g, expected %g..%g",
                        key, v, KWS_MIN_POWER, KWS_MAX_POWER);
    *power = (float)v;
    return SVX_OK;
}

const char *const *svx_vocabulary_default(int *n_words)
{
    if (n_words)
        *n_words = SVX_VOCAB_DEFAULT_SIZE;
    return svx_vocab_default;
}

int svx_stream_create(const svx_model *m, const svx_stream_config *cfg, svx_stream **out)
{
    if (!out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: out is NULL");
    *out = NULL;
    if (!m || !cfg)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: NULL model or config");
    if (cfg->mode != SVX_DECODE_GREEDY && cfg->mode != SVX_DECODE_BEAM &&
        cfg->mode != SVX_DECODE_KWS)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: mode %d, expected 0 (greedy), "
                        "1 (beam) or 2 (keywords)", (int)cfg->mode);
    if (cfg->mode == SVX_DECODE_BEAM && (cfg->beam_size < 1 || cfg->beam_size > STREAM_MAX_BEAM))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: beam_size %d, expected 1..%d",
                        cfg->beam_size, STREAM_MAX_BEAM);
    if (cfg->mode == SVX_DECODE_BEAM && cfg->lexicon && cfg->n_lexicon < 1)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: lexicon given with %d words",
                        cfg->n_lexicon);
    if (cfg->mode == SVX_DECODE_KWS && (!cfg->keywords || cfg->n_keywords < 1))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: keyword mode needs keywords");
    if (cfg->mode == SVX_DECODE_KWS && cfg->n_keywords > STREAM_MAX_KEYWORDS)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: %d keywords, expected at most %d",
                        cfg->n_keywords, STREAM_MAX_KEYWORDS);
    if (cfg->mode == SVX_DECODE_KWS && !(cfg->refractory_s >= 0.0 && cfg->refractory_s < 1e6))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: refractory_s %g, expected >= 0",
                        cfg->refractory_s);
    if (!(cfg->silence_reset_s >= 0.0 && cfg->silence_reset_s < 1e6))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_create: silence_reset_s %g, expected >= 0",
                        cfg->silence_reset_s);
    /* The pause thresholds are the model's: how sure of blank it is in
     * silence depends on its training, so the trainer measures it and writes
     * "pause": {"enter_blank": e, "exit_blank": x} into the metadata. */
    double enter = PAUSE_ENTER_BLANK, exit_ = PAUSE_EXIT_BLANK;
    const int has_enter = svx_meta_number(m, "pause", "enter_blank", &enter);
    const int has_exit = svx_meta_number(m, "pause", "exit_blank", &exit_);
    if (has_enter != has_exit || !(exit_ > 0.0 && exit_ < enter && enter < 1.0))
        return svx_fail(SVX_ERR_FORMAT, "svx_stream_create: the model's metadata \"pause\" "
                        "gives enter_blank %g and exit_blank %g; both are needed, with "
                        "0 < exit_blank < enter_blank < 1", enter, exit_);
    const svx_frontend_params *fp = svx_model_frontend(m);
    if (!fp || svx_model_n_inputs(m) != fp->n_mels)
        return svx_fail(SVX_ERR_SHAPE, "svx_stream_create: model takes %d inputs per frame but "
                        "its front end makes %d", svx_model_n_inputs(m), fp ? fp->n_mels : -1);
    svx_symtab tab;
    int rc = svx_symtab_from_model(&tab, m);
    if (rc < 0)
        return rc;
    svx_stream *s = calloc(1, sizeof *s);
    if (!s)
        return svx_fail(SVX_ERR_NO_MEMORY, "svx_stream_create: out of memory");
    s->m = m;
    s->mode = cfg->mode;
    s->n_mels = fp->n_mels;
    s->n_symbols = tab.n_symbols;
    s->frame_s = svx_decoder_frame_seconds(m);
    s->silence_reset_frames = (int)lround(cfg->silence_reset_s / s->frame_s);
    if (cfg->silence_reset_s > 0 && s->silence_reset_frames < 1)
        s->silence_reset_frames = 1;
    s->silent_run = s->silence_reset_frames;       /* the start counts as a pause */
    s->enter_logp = (float)log(enter);
    s->exit_logp = (float)log(exit_);
    {
        const int S = svx_model_time_stride(m) > 0 ? svx_model_time_stride(m) : 1;
        const double in_s = s->frame_s / S;          /* seconds per input frame */
        int k = (int)lround(PAUSE_REPLAY_S / in_s) / S;
        s->n_hist = (k < 1 ? 1 : k) * S + 1;
        s->q_cap = (s->n_hist + S - 1) / S;
        s->settle_frames = (int)lround(PAUSE_SETTLE_S / s->frame_s);
        if (s->settle_frames < svx_model_warmup_outputs(m))
            s->settle_frames = svx_model_warmup_outputs(m);
    }
    s->frames = malloc((size_t)STREAM_CHUNK_FRAMES * (size_t)s->n_mels * sizeof *s->frames);
    s->lp = malloc((size_t)s->n_symbols * sizeof *s->lp);
    s->hist = malloc((size_t)s->n_hist * (size_t)s->n_mels * sizeof *s->hist);
    s->rp = malloc((size_t)s->q_cap * (size_t)s->n_symbols * sizeof *s->rp);
    s->pq = malloc((size_t)s->q_cap * (size_t)s->n_symbols * sizeof *s->pq);
    if (!s->frames || !s->lp || !s->hist || !s->rp || !s->pq) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "svx_stream_create: out of memory");
        goto fail;
    }
    s->max_pend = 16 + 1;
    s->pend = malloc((size_t)s->max_pend * sizeof *s->pend);
    if (!s->pend) {
        rc = svx_fail(SVX_ERR_NO_MEMORY, "svx_stream_create: out of memory");
        goto fail;
    }
    if ((rc = svx_frontend_create(fp, &s->fe)) < 0 || (rc = svx_model_state_create(m, &s->ms)) < 0)
        goto fail;
    svx_dec_params dp;
    svx_dec_params_default(&dp, s->frame_s);
    dp.max_words = STREAM_MAX_WORDS;
    dp.max_pending_words = s->max_pend - 1;
    if (cfg->mode == SVX_DECODE_GREEDY) {
        rc = svx_greedy_create(&tab, &dp, &s->greedy);
    } else if (cfg->mode == SVX_DECODE_BEAM) {
        dp.beam_size = cfg->beam_size;
        rc = svx_beam_create(&tab, &dp, cfg->lexicon, cfg->lexicon ? cfg->n_lexicon : 0, &s->beam);
    } else {
        svx_kws_params kp;
        svx_kws_params_default(&kp, s->frame_s);
        kp.refractory_s = cfg->refractory_s;
        kp.compete = cfg->kws_compete != 0;
        if (cfg->lexicon) {
            kp.rivals = cfg->lexicon;
            kp.n_rivals = cfg->n_lexicon;
        } else {
            kp.rivals = svx_vocab_default;
            kp.n_rivals = SVX_VOCAB_DEFAULT_SIZE;
        }
        kp.max_events = cfg->n_keywords > STREAM_MAX_EVENTS / 4 ? 4 * cfg->n_keywords : STREAM_MAX_EVENTS;
        float *power = NULL;
        if (cfg->kws_calibrate && cfg->n_keywords > 0) {
            power = malloc((size_t)cfg->n_keywords * sizeof *power);
            if (!power) {
                rc = svx_fail(SVX_ERR_NO_MEMORY, "svx_stream_create: out of memory");
                goto fail;
            }
            for (int i = 0; i < cfg->n_keywords && rc >= 0; i++)
                rc = calibrated_power(m, cfg->keywords[i].word, &power[i]);
            kp.score_power = power;
        }
        if (rc >= 0)
            rc = svx_kws_create(&tab, &kp, cfg->keywords, cfg->n_keywords, &s->kws);
        free(power);
    }
    if (rc < 0)
        goto fail;
    *out = s;
    return SVX_OK;
fail:
    svx_stream_destroy(s);
    return rc;
}

void svx_stream_destroy(svx_stream *s)
{
    if (!s)
        return;
    svx_greedy_destroy(s->greedy);
    svx_beam_destroy(s->beam);
    svx_kws_destroy(s->kws);
    svx_model_state_destroy(s->ms);
    svx_frontend_destroy(s->fe);
    free(s->frames);
    free(s->lp);
    free(s->hist);
    free(s->rp);
    free(s->pq);
    free(s->pend);
    free(s);
}

void svx_stream_reset(svx_stream *s)
{
    if (!s)
        return;
    svx_frontend_reset(s->fe);
    svx_model_state_reset(s->ms);
    if (s->greedy)
        svx_greedy_reset(s->greedy);
    if (s->beam)
        svx_beam_reset(s->beam);
    if (s->kws)
        svx_kws_reset(s->kws);
    s->n_samples = 0;
    s->flushed = 0;
    s->silent_run = s->silence_reset_frames;   /* the start counts as a pause */
    s->n_out = 0;
    s->n_in = 0;
    s->n_pauses = 0;
    s->q_head = s->q_n = 0;
}

static void decode_frame(svx_stream *s, const float *lp)
{
    if (s->greedy)
        svx_greedy_push(s->greedy, lp);
    else if (s->beam)
        svx_beam_push(s->beam, lp);
    else
        svx_kws_push(s->kws, lp);
}

/* Pauses. An output frame is silent when its blank probability is >= the
 * model's enter_blank (metadata "pause"; 0.99 when absent); after
 * silence_reset_frames silent frames in a row the stream is in a pause. In a
 * pause the model runs on as usual, but each frame's output waits in a queue
 * (the frames one replay covers, PAUSE_REPLAY_S) instead of going to the
 * decoder; a frame leaving the full queue is decoded and the keyword search
 * restarts after it (svx_kws_restart), so no partial keyword or refractory
 * period reaches across a pause. The pause ends at a frame whose blank
 * probability is < exit_blank (0.9 when absent); there the model state is
 * rebuilt from a fresh state over the last PAUSE_REPLAY_S of input (replay),
 * and the replay's outputs replace the queued outputs of the same frames and
 * that frame's own: the decoder hears the onset of the word that ended the
 * pause from a state that has heard it. Everything after a pause is thus a
 * function of the audio since shortly before it ended, and the state the
 * model carries out of a pause never depends on what came before it. The
 * start of a stream counts as a pause; its first settle_frames outputs (a
 * fresh state's, on zero padding, PAUSE_SETTLE_S) cannot end it. A long run
 * and the same audio cut into pieces inside pauses (at least PAUSE_REPLAY_S
 * before the speech, at multiples of the model's output step) give the same
 * words and events, bit for bit, whenever their pauses end at the same frame
 * (the model's running state over the silence before it differs between the
 * two, so a blank probability right at exit_blank could end them a frame
 * apart; the tests check it on real samples).
 *
 * (Until 2026-11-29 the recurrent state was zeroed at every frame of a pause,
 * so the pause's outputs depended on the last frame only. A state one step
 * from zero is unsure of blank in silence, 0.4-0.8 of non-blank on the
 * fourth model's training noise, so in any noise pauses ended at once.) */
static int in_pause(const svx_stream *s)
{
    return s->silence_reset_frames > 0 && s->silent_run >= s->silence_reset_frames;
}

/* A frame of a pause leaves the queue: decoded as it was computed, then the
 * keyword search restarts (no partial keyword reaches across a pause). */
static void pop_paused(svx_stream *s)
{
    decode_frame(s, s->pq + (size_t)s->q_head * (size_t)s->n_symbols);
    if (s->kws)
        svx_kws_restart(s->kws);
    s->q_head = (s->q_head + 1) % s->q_cap;
    s->q_n--;
}

static void push_paused(svx_stream *s)
{
    if (s->q_n == s->q_cap)
        pop_paused(s);
    const int at = (s->q_head + s->q_n) % s->q_cap;
    memcpy(s->pq + (size_t)at * (size_t)s->n_symbols, s->lp, (size_t)s->n_symbols * sizeof *s->lp);
    s->q_n++;
}

/* The pause ends at this output frame: the model state becomes what a fresh
 * stream has after the last n_hist input frames (the current one included),
 * so the words after a pause are heard with their onset, as training heard
 * utterances start. n_hist = k * stride + 1 keeps the convolution's output
 * phase. The replay's outputs replace the queued outputs of the same frames
 * and are decoded, oldest first; queued frames older than the replay are
 * decoded as they were. (The keyword search needs no restart here: it
 * restarted when the pause began and after every frame left the queue.)
 * s->lp becomes this frame's new output, not yet decoded. Returns 0, or a
 * negative error. */
static int end_pause(svx_stream *s)
{
    const uint64_t avail = s->n_in < (uint64_t)s->n_hist ? s->n_in : (uint64_t)s->n_hist;
    const size_t V = (size_t)s->n_symbols;
    int m = 0;                        /* outputs so far, in rp rows 0 .. m-1 */
    svx_model_state_reset(s->ms);
    for (uint64_t f = s->n_in - avail; f < s->n_in; f++) {
        float *row = s->rp + (size_t)(m < s->q_cap ? m : s->q_cap - 1) * V;
        int r = svx_model_state_push(s->ms, s->hist + (size_t)(f % (uint64_t)s->n_hist) *
                                     (size_t)s->n_mels, row);
        if (r < 0)
            return r;
        if (r == 1 && ++m > s->q_cap)   /* cannot happen: one output per stride */
            return svx_fail(SVX_ERR_STATE, "svx_stream: a replay of %d frames made more than "
                            "%d outputs", s->n_hist, s->q_cap);
    }
    if (m == 0)      /* cannot happen: the current input made an output */
        return svx_fail(SVX_ERR_STATE, "svx_stream: a replay made no output");
    const int window = m - 1 < s->q_n ? m - 1 : s->q_n;
    while (s->q_n > window)
        pop_paused(s);
    for (int i = m - 1 - window; i < m - 1; i++)
        decode_frame(s, s->rp + (size_t)i * V);
    s->q_head = s->q_n = 0;
    memcpy(s->lp, s->rp + (size_t)(m - 1) * V, V * sizeof *s->lp);
    return SVX_OK;
}

/* After an output frame is decoded: counts silent frames; on entering a
 * pause, the keyword search restarts after the frame that completed it. */
static void pause_step(svx_stream *s)
{
    if (s->silence_reset_frames <= 0 || in_pause(s))
        return;
    s->silent_run = s->lp[0] >= s->enter_logp ? s->silent_run + 1 : 0;
    if (in_pause(s)) {
        s->n_pauses++;
        if (s->kws)
            svx_kws_restart(s->kws);
    }
}

int svx_stream_push(svx_stream *s, const float *pcm, size_t n_samples)
{
    if (!s || (n_samples > 0 && !pcm))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_push: NULL argument");
    if (s->flushed)
        return svx_fail(SVX_ERR_STATE, "svx_stream_push: the stream was flushed; call "
                        "svx_stream_reset to start a new utterance");
    size_t done = 0;
    while (done < n_samples) {
        size_t used = 0;
        int got = svx_frontend_process(s->fe, pcm + done, n_samples - done, &used, s->frames,
                                       STREAM_CHUNK_FRAMES);
        done += used;
        s->n_samples += used;
        if (got < 0)
            return got;
        for (int i = 0; i < got; i++) {
            const float *fr = s->frames + (size_t)i * (size_t)s->n_mels;
            memcpy(s->hist + (size_t)(s->n_in % (uint64_t)s->n_hist) * (size_t)s->n_mels, fr,
                   (size_t)s->n_mels * sizeof *fr);
            s->n_in++;
            int r = svx_model_state_push(s->ms, fr, s->lp);
            if (r < 0)
                return r;
            if (r == 1) {
                const uint64_t n = s->n_out++;
                /* A pause ends at a frame whose blank probability is below
                 * exit_blank (hysteresis: lower than enter_blank, so frames
                 * that merely fall short of silence do not end it); a fresh
                 * stream's first settle_frames outputs cannot end it. */
                if (in_pause(s)) {
                    if (s->lp[0] >= s->exit_logp || n < (uint64_t)s->settle_frames) {
                        push_paused(s);
                        continue;
                    }
                    s->silent_run = 0;
                    if ((r = end_pause(s)) < 0)
                        return r;
                }
                decode_frame(s, s->lp);
                pause_step(s);
            }
        }
        if (used == 0 && got == 0)
            break;   /* cannot happen with a conforming front end; never spin */
    }
    return SVX_OK;
}

int svx_stream_flush(svx_stream *s)
{
    if (!s)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_flush: NULL stream");
    if (s->flushed)
        return SVX_OK;
    /* The front end does not pad: a tail shorter than one window makes no
     * frame, and the causal model holds no output back; a pause's queued
     * frames are decoded as they are. */
    while (s->q_n > 0)
        pop_paused(s);
    if (s->greedy)
        svx_greedy_flush(s->greedy);
    else if (s->beam)
        svx_beam_flush(s->beam);
    else
        svx_kws_flush(s->kws);
    s->flushed = 1;
    return SVX_OK;
}

int svx_stream_next_event(svx_stream *s, svx_kws_event *ev)
{
    if (!s || !ev)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_next_event: NULL argument");
    return s->kws ? svx_kws_next_event(s->kws, ev) : 0;
}

int svx_stream_get_words(const svx_stream *s, svx_word *out, int max_words)
{
    if (!s || (max_words > 0 && !out) || max_words < 0)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_get_words: bad argument");
    if (s->greedy)
        return svx_greedy_words(s->greedy, out, max_words);
    if (s->beam)
        return svx_beam_words(s->beam, out, max_words);
    return 0;
}

int svx_stream_take_words(svx_stream *s, svx_word *out, int max_words)
{
    if (!s || (max_words > 0 && !out) || max_words < 0)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_take_words: bad argument");
    if (s->greedy)
        return svx_greedy_take_words(s->greedy, out, max_words);
    if (s->beam)
        return svx_beam_take_words(s->beam, out, max_words);
    return 0;
}

/* Appends text to buf (capacity n_bytes) at *pos, counting what is needed. */
static void append(char *buf, size_t n_bytes, size_t *pos, const char *text)
{
    size_t len = strlen(text);
    if (buf && *pos < n_bytes) {
        size_t room = n_bytes - 1 - *pos;
        memcpy(buf + *pos, text, len < room ? len : room);
        buf[*pos + (len < room ? len : room)] = '\0';
    }
    *pos += len;
}

int svx_stream_get_text(const svx_stream *s, char *buf, size_t n_bytes)
{
    if (!s || (n_bytes > 0 && !buf))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_stream_get_text: bad argument");
    if (buf && n_bytes > 0)
        buf[0] = '\0';
    const svx_wordq *q = s->greedy ? svx_greedy_queue(s->greedy)
                         : s->beam ? svx_beam_queue(s->beam) : NULL;
    size_t pos = 0;
    if (!q)
        return 0;
    int n_final = q->n;
    for (int i = 0; i < n_final; i++) {
        if (i > 0)
            append(buf, n_bytes, &pos, " ");
        append(buf, n_bytes, &pos, q->w[(q->head + i) % q->cap].text);
    }
    /* then the words not final yet */
    int n_pend = s->greedy ? svx_greedy_pending(s->greedy, s->pend, s->max_pend)
                           : svx_beam_pending(s->beam, s->pend, s->max_pend);
    for (int i = 0; i < n_pend && i < s->max_pend; i++) {
        if (n_final + i > 0)
            append(buf, n_bytes, &pos, " ");
        append(buf, n_bytes, &pos, s->pend[i].text);
    }
    return (int)pos;
}

double svx_stream_audio_seconds(const svx_stream *s)
{
    if (!s)
        return 0.0;
    const svx_frontend_params *fp = svx_model_frontend(s->m);
    return (double)s->n_samples / fp->sample_rate_hz;
}

uint64_t svx_stream_pauses(const svx_stream *s)
{
    return s ? s->n_pauses : 0;
}

uint64_t svx_stream_dropped_events(const svx_stream *s)
{
    return s && s->kws ? svx_kws_dropped_events(s->kws) : 0;
}

uint64_t svx_stream_dropped_words(const svx_stream *s)
{
    if (!s)
        return 0;
    const svx_wordq *q = s->greedy ? svx_greedy_queue(s->greedy)
                         : s->beam ? svx_beam_queue(s->beam) : NULL;
    return q ? q->n_dropped : 0;
}

double svx_stream_frame_seconds(const svx_stream *s) { return s ? s->frame_s : 0.0; }
