/*
 * shiftvox.h — the one public header of libshiftvox.
 *
 * shiftvox turns audio into text and keyword detections:
 *   audio (any libsndfile format, raw PCM, PortAudio capture)
 *     -> streaming log-mel front end (KissFFT)
 *     -> DenseShift CRNN acoustic model (weights are zero-free ±2^p)
 *     -> CTC decoders (greedy, lexicon beam search, keyword spotter).
 *
 * Usage (batch transcription of one file, error checks shortened):
 *
 *     svx_model *model;
 *     if (svx_model_load("models/default.svxm", &model) < 0) {
 *         fprintf(stderr, "%s\n", svx_last_error_message());
 *         return 1;
 *     }
 *     svx_stream_config cfg;
 *     svx_stream_config_default(&cfg);             // lexicon beam search
 *     svx_stream *st;
 *     svx_stream_create(model, &cfg, &st);
 *     svx_audio_reader *rd;
 *     svx_audio_open_file("speech.wav", 16000, &rd);
 *     float pcm[4096];
 *     long n;
 *     while ((n = svx_audio_read(rd, pcm, 4096)) > 0)
 *         svx_stream_push(st, pcm, (size_t)n);
 *     svx_stream_flush(st);
 *     svx_word words[64];
 *     int n_words = svx_stream_get_words(st, words, 64);
 *     ...
 *     svx_audio_close(rd);
 *     svx_stream_destroy(st);                       // every stream first,
 *     svx_model_destroy(model);                     // then the model it borrows
 *
 * Conventions
 *  - Every function that can fail returns an int: >= 0 on success, a negative
 *    svx_error on failure. svx_strerror() names the code; svx_last_error_message()
 *    gives the detailed message of the last failure in the calling thread
 *    (it names the file and says what was found and what was expected).
 *  - The library never exits, aborts or prints. Diagnostics go to the log
 *    callback set with svx_set_log() (none by default).
 *  - Handles are opaque; *_destroy(NULL) is a no-op.
 *  - A loaded svx_model is read-only and may be shared by any number of
 *    streams in any number of threads. Each svx_stream / svx_frontend /
 *    svx_model_state belongs to one thread at a time.
 *  - Audio samples are float in [-1, 1] (int16 is divided by 32768), mono,
 *    at the model's sample rate (16 kHz by default).
 *  - Nothing allocates, locks or does I/O on the per-frame path: all buffers
 *    are sized at create time.
 */
#ifndef SHIFTVOX_H
#define SHIFTVOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVX_VERSION_MAJOR 0
#define SVX_VERSION_MINOR 1
#define SVX_VERSION_PATCH 0

/* ------------------------------------------------------------------------- */
/* Errors and logging                                                        */
/* ------------------------------------------------------------------------- */

typedef enum {
    SVX_OK = 0,
    SVX_ERR_INVALID_ARG = -1,   /* caller mistake: NULL, out-of-range value */
    SVX_ERR_NO_MEMORY = -2,     /* allocation failed */
    SVX_ERR_IO = -3,            /* open/read/write failed (see errno text in message) */
    SVX_ERR_FORMAT = -4,        /* not a file we can read, or malformed */
    SVX_ERR_TRUNCATED = -5,     /* file ends before a declared section */
    SVX_ERR_BAD_MAGIC = -6,     /* model file does not start with the magic */
    SVX_ERR_VERSION = -7,       /* model file major version newer than supported */
    SVX_ERR_CHECKSUM = -8,      /* CRC32 mismatch */
    SVX_ERR_SHAPE = -9,         /* impossible or inconsistent shape/size/offset */
    SVX_ERR_ENCODING = -10,     /* unknown weight encoding or layer type */
    SVX_ERR_BAD_AUDIO = -11,    /* zero rate/channels, NaN/Inf samples */
    SVX_ERR_DEVICE = -12,       /* audio device missing, failed to open or failed */
    SVX_ERR_STATE = -13,        /* call not valid in the object's current state */
    SVX_ERR_KEYWORD = -14,      /* keyword not spellable with the model's symbols */
    SVX_ERR_FULL = -15          /* a fixed-capacity queue is full */
} svx_error;

/* Short constant text for an error code ("truncated file"). Never NULL. */
const char *svx_strerror(int err);

/* Detailed message of the last failure in the calling thread, e.g.
 * "model.svxm: tensor 'gru.w_ih' declares 4096 bytes at offset 9000 but the
 * file has 8192 bytes". Empty string if none. Valid until the next failing
 * call in this thread. */
const char *svx_last_error_message(void);

typedef enum { SVX_LOG_ERROR = 0, SVX_LOG_WARN = 1, SVX_LOG_INFO = 2, SVX_LOG_DEBUG = 3 } svx_log_level;
typedef void (*svx_log_fn)(void *user_data, svx_log_level level, const char *msg);

/* Sets the process-wide log callback (NULL: silent, the default). The
 * callback may be called from any thread that calls into the library, never
 * from the PortAudio callback thread. Not thread-safe itself: call at start-up. */
void svx_set_log(svx_log_fn fn, void *user_data);

/* ------------------------------------------------------------------------- */
/* Front end: streaming log-mel features                                     */
/* ------------------------------------------------------------------------- */

typedef enum { SVX_WINDOW_HANN = 0 } svx_window_type;       /* periodic Hann */
typedef enum { SVX_MEL_HTK = 0 } svx_mel_scale;              /* 2595 log10(1 + f/700) */

/* All front-end parameters. Stored inside the model file so training and
 * inference never disagree. */
typedef struct {
    int32_t sample_rate_hz;   /* 16000 */
    int32_t win_length;       /* samples per analysis window, 400 (25 ms) */
    int32_t hop_length;       /* samples between frame starts, 160 (10 ms) */
    int32_t n_fft;            /* real FFT size, power of two >= win_length, 512 */
    int32_t n_mels;           /* triangular mel filters, 40 */
    float fmin_hz;            /* lowest filter edge, 20 */
    float fmax_hz;            /* highest filter edge, 7600 (<= sample_rate/2) */
    float log_floor;          /* features are ln(max(mel_energy, log_floor)), 1e-6 */
    int32_t window;           /* svx_window_type */
    int32_t mel_scale;        /* svx_mel_scale */
} svx_frontend_params;

/* Fills p with the defaults above. */
void svx_frontend_params_default(svx_frontend_params *p);
/* SVX_OK if p is usable, SVX_ERR_INVALID_ARG with a message otherwise. */
int svx_frontend_params_check(const svx_frontend_params *p);

typedef struct svx_frontend svx_frontend;

int svx_frontend_create(const svx_frontend_params *p, svx_frontend **out);
void svx_frontend_destroy(svx_frontend *fe);
/* Forgets buffered audio; the next frame starts at the next pushed sample. */
void svx_frontend_reset(svx_frontend *fe);

/* Consumes samples and writes whole frames (n_mels floats each) to
 * frames_out, at most max_frames of them. Frame i covers samples
 * [i*hop, i*hop + win) of everything pushed since create/reset; no padding.
 * *n_consumed receives how many samples were taken (fewer than n_samples
 * only when max_frames frames were produced); call again with the rest.
 * Returns the number of frames written, or a negative error
 * (SVX_ERR_BAD_AUDIO for a NaN/Inf sample: nothing after it is consumed). */
int svx_frontend_process(svx_frontend *fe, const float *pcm, size_t n_samples,
                         size_t *n_consumed, float *frames_out, int max_frames);

/* Number of frames a signal of n_samples yields (0 if shorter than a window). */
size_t svx_frontend_n_frames(const svx_frontend_params *p, size_t n_samples);

/* Whole-signal convenience: computes all frames of pcm into frames_out
 * (capacity max_frames * n_mels floats). Returns frames written or error. */
int svx_features_compute(const svx_frontend_params *p, const float *pcm, size_t n_samples,
                         float *frames_out, size_t max_frames);

/* ------------------------------------------------------------------------- */
/* Audio input                                                               */
/* ------------------------------------------------------------------------- */

typedef struct svx_audio_reader svx_audio_reader;

/* Opens any file libsndfile reads (WAV PCM 8/16/24/32 and float, FLAC, Ogg
 * Vorbis, AIFF, ...), mixes to mono and resamples to target_rate_hz with
 * libsamplerate. Memory is constant whatever the file length. path "-" is
 * not accepted here: use svx_audio_open_raw_fd. */
int svx_audio_open_file(const char *path, int target_rate_hz, svx_audio_reader **out);
/* Raw signed 16-bit little-endian mono PCM read from a file descriptor
 * (e.g. 0 for standard input) at input_rate_hz, resampled to target_rate_hz. */
int svx_audio_open_raw_fd(int fd, int input_rate_hz, int target_rate_hz, svx_audio_reader **out);
/* Reads up to max_samples mono float samples at the target rate. Returns the
 * number read, 0 at end of input, or a negative error (SVX_ERR_BAD_AUDIO for
 * NaN/Inf in a float file, SVX_ERR_IO for a read failure). */
long svx_audio_read(svx_audio_reader *rd, float *pcm, size_t max_samples);
/* Facts about the source: its own rate and channel count, frames if known (-1 otherwise). */
int svx_audio_source_rate(const svx_audio_reader *rd);
int svx_audio_source_channels(const svx_audio_reader *rd);
int64_t svx_audio_source_frames(const svx_audio_reader *rd);
void svx_audio_close(svx_audio_reader *rd);

/* Live capture with PortAudio. */
typedef struct svx_capture svx_capture;

typedef struct {
    int index;               /* PortAudio device index */
    char name[128];
    int max_input_channels;
    double default_rate_hz;
    int is_default;
} svx_device_info;

/* Lists input devices (max_input_channels > 0) into out; returns how many
 * exist (may exceed max_devices) or a negative error. Initialises PortAudio
 * for the duration of the call. */
int svx_capture_list_devices(svx_device_info *out, int max_devices);

typedef struct {
    const char *device;      /* NULL: default input; "3": index; otherwise a
                                case-insensitive substring of the name */
    int target_rate_hz;      /* rate delivered to svx_capture_read, 16000 */
    double ring_seconds;     /* ring buffer length, 2.0 */
    int frames_per_buffer;   /* PortAudio buffer size at the device rate, 0 = let PortAudio choose */
} svx_capture_config;

void svx_capture_config_default(svx_capture_config *cfg);
/* Opens and starts capture: 16 kHz mono if the device offers it, else the
 * device's default rate resampled. The PortAudio callback only copies into a
 * preallocated lock-free single-producer/single-consumer ring buffer. */
int svx_capture_open(const svx_capture_config *cfg, svx_capture **out);
/* Blocks up to timeout_ms for audio and returns up to max_samples samples at
 * target_rate_hz (0 on timeout), or SVX_ERR_DEVICE if the stream failed or
 * stopped. Call from one consumer thread. */
long svx_capture_read(svx_capture *cap, float *pcm, size_t max_samples, int timeout_ms);
/* Samples dropped because the ring buffer was full (the consumer fell behind). */
uint64_t svx_capture_overruns(const svx_capture *cap);
/* Rate of the opened device stream, and the device name. */
double svx_capture_device_rate(const svx_capture *cap);
const char *svx_capture_device_name(const svx_capture *cap);
void svx_capture_close(svx_capture *cap);

/* ------------------------------------------------------------------------- */
/* Acoustic model                                                            */
/* ------------------------------------------------------------------------- */

typedef struct svx_model svx_model;

/* Which matrix-vector kernels a model uses (bench and tests compare them). */
typedef enum {
    SVX_KERNEL_AUTO = 0,     /* best available for each encoding (SIMD if the CPU has it) */
    SVX_KERNEL_SCALAR = 1,   /* portable C twins of the SIMD kernels */
    SVX_KERNEL_FLOAT_REF = 2 /* dequantise every weight to float32 at load, plain loops */
} svx_kernel_choice;

typedef struct {
    svx_kernel_choice kernel;
    int force_integer;       /* 1: run the integer-only graph (model/INTEGER.md); loading fails
                                with SVX_ERR_ENCODING if the file carries none. 0: the float-
                                activation graph if the file has one, else the integer one. */
} svx_model_options;

void svx_model_options_default(svx_model_options *opt);

int svx_model_load(const char *path, svx_model **out);
int svx_model_load_ex(const char *path, const svx_model_options *opt, svx_model **out);
/* Same checks on a buffer in memory (the buffer may be freed after return). */
int svx_model_load_memory(const void *data, size_t n_bytes, const svx_model_options *opt,
                          svx_model **out);
/* Frees the model. Every stream/state created from it must be destroyed first. */
void svx_model_destroy(svx_model *m);

const svx_frontend_params *svx_model_frontend(const svx_model *m);
int svx_model_n_inputs(const svx_model *m);       /* features per input frame (n_mels) */
int svx_model_n_symbols(const svx_model *m);      /* output symbols, blank first */
/* Symbol i as a NUL-terminated UTF-8 string: 0 is blank "", then " ", "'", "a".."z". */
const char *svx_model_symbol(const svx_model *m, int i);
/* Input frames per output frame (the total time stride of the network). */
int svx_model_time_stride(const svx_model *m);
/* Bytes of weight data as stored for the form the model runs, and of one
 * stream's state (everything svx_model_state_create allocates). */
size_t svx_model_weight_bytes(const svx_model *m);
size_t svx_model_state_bytes(const svx_model *m);
/* Forms a model file carries (a bit mask of SVX_MODEL_FORM_*), and whether the
 * loaded model runs its integer-only graph (1) or the float-activation one (0). */
#define SVX_MODEL_FORM_FLOAT 1
#define SVX_MODEL_FORM_INTEGER 2
int svx_model_forms(const svx_model *m);
int svx_model_is_integer(const svx_model *m);
/* Human-readable summary (one line per layer with shapes, encoding and bytes)
 * written into buf; returns the length it needed (like snprintf). */
int svx_model_summary(const svx_model *m, char *buf, size_t n_bytes);
/* The file's metadata text (the trainer writes JSON: checkpoint, eval_bias,
 * dev_trained_speakers, ...); "" when it has none. Valid until destroy. */
const char *svx_model_metadata(const svx_model *m);

/* Per-stream state of the acoustic model. */
typedef struct svx_model_state svx_model_state;

int svx_model_state_create(const svx_model *m, svx_model_state **out);
void svx_model_state_destroy(svx_model_state *s);
void svx_model_state_reset(svx_model_state *s);
/* Zeroes only the recurrent (GRU) hidden state, keeping the convolutions'
 * context of recent frames: the stream uses it to start afresh after a pause. */
void svx_model_state_reset_recurrent(svx_model_state *s);
/* Pushes one feature frame (n_inputs floats). Returns 1 and writes
 * n_symbols log-probabilities to logprobs_out when the network emits an
 * output frame, 0 when it needs more input (time stride), negative on error. */
int svx_model_state_push(svx_model_state *s, const float *frame, float *logprobs_out);

/* ------------------------------------------------------------------------- */
/* Decoders                                                                  */
/* ------------------------------------------------------------------------- */

typedef struct {
    char text[64];           /* the word (or keyword phrase) */
    double start_s;          /* seconds from the start of the stream */
    double end_s;
    float confidence;        /* 0..1 */
} svx_word;

/* A keyword detection. */
typedef struct {
    char keyword[64];
    double start_s;
    double end_s;
    float score;             /* calibrated 0..1; fired when >= the keyword's threshold */
    int index;               /* position of the keyword in the stream's keyword list
                                (the same word may be listed at several sensitivities) */
} svx_kws_event;

typedef enum {
    SVX_DECODE_GREEDY = 0,   /* CTC best path, no lexicon */
    SVX_DECODE_BEAM = 1,     /* CTC prefix beam search constrained by a lexicon */
    SVX_DECODE_KWS = 2       /* keyword spotting */
} svx_decode_mode;

typedef struct {
    const char *word;        /* any word or short phrase in the model's symbols */
    float sensitivity;       /* 0..1, higher fires more easily; 0.5 default */
} svx_keyword;

typedef struct {
    svx_decode_mode mode;
    int beam_size;                 /* prefixes kept, 32 (1..4096) */
    const char *const *lexicon;    /* allowed words; NULL: the model's vocabulary. KWS:
                                      the rival words of kws_compete */
    int n_lexicon;
    const svx_keyword *keywords;   /* for SVX_DECODE_KWS */
    int n_keywords;
    double refractory_s;           /* KWS: minimum gap between events of one keyword, 1.0 */
    int kws_compete;               /* KWS: 1 (default): a keyword's peak is dropped when
                                      another keyword or a rival word (lexicon) explains
                                      the same audio better (a higher CTC path score plus
                                      one nat per symbol); "on" stays quiet in "down".
                                      No added latency. 0: every keyword on its own */
    int kws_calibrate;             /* KWS: 1 (default): each keyword's score is calibrated
                                      by the model (metadata "kws_calibration": a power g
                                      per word, or per number of letters for other words;
                                      score = raw^g), so that one sensitivity gives each
                                      keyword about the same false-alarm rate. 0: raw
                                      scores (g = 1), as for a model without calibration */
    double silence_reset_s;        /* a pause: this long a run of output frames whose blank
                                      probability is >= the model's enter_blank (see
                                      svx_stream_pauses; 0.99 by default). In a pause the
                                      outputs wait in a 0.4 s queue instead of reaching the
                                      decoder, and the keyword search restarts after each
                                      one that leaves it (no partial keyword or refractory
                                      period reaches across a pause); it ends at an output
                                      frame whose blank probability is < the model's
                                      exit_blank (0.9 by default), where the model state is
                                      rebuilt from zero over the last 0.4 s of input and its
                                      outputs replace the queued ones. What follows a pause
                                      thus depends on the audio since shortly before its end;
                                      the start of a stream counts as a pause (its first 0.2 s
                                      cannot end it). 0 disables. Default 0.5 */
} svx_stream_config;

void svx_stream_config_default(svx_stream_config *cfg);

/* Keyword lists, from text ("yes,no,stop") or a keyword file: one keyword
 * (a word or short phrase) per line, optionally followed by its sensitivity
 * in 0..1 as the last token; '#' starts a comment; blank lines are skipped.
 * Keywords are lower-cased; spelling against the model's symbols is checked
 * by svx_stream_create (SVX_ERR_KEYWORD). At most 64 keywords of at most 63
 * bytes; files over 1 MiB are refused. Errors name the source and line. */
typedef struct svx_keyword_list svx_keyword_list;

/* Parses n_bytes of text; source names it in messages (e.g. the file name). */
int svx_keywords_parse(const char *text, size_t n_bytes, const char *source,
                       float default_sensitivity, svx_keyword_list **out);
/* Reads and parses a keyword file. */
int svx_keywords_load(const char *path, float default_sensitivity, svx_keyword_list **out);
/* Parses a comma-separated list "yes,no:0.7,stop" (':' gives a sensitivity). */
int svx_keywords_from_csv(const char *csv, float default_sensitivity, svx_keyword_list **out);
int svx_keyword_list_count(const svx_keyword_list *kl);
/* The keywords as an array of count entries, valid until destroy. */
const svx_keyword *svx_keyword_list_items(const svx_keyword_list *kl);
void svx_keyword_list_destroy(svx_keyword_list *kl);

/* Whole-clip CTC scoring (decoder/classify.c), used by `shiftvox eval`.
 * logprobs is n_frames rows of n_symbols natural-log probabilities (what
 * svx_model_state_push writes), row-major, blank = symbol 0. Pure functions:
 * thread-safe, no allocation unless a text is longer than 255 symbols. */

/* Exact CTC forward algorithm (Graves et al. 2006, eq. 5-8) in the log
 * domain: *out = ln P(labels | frames), summed over every alignment. labels
 * are symbol indices in 1..n_symbols-1 (no blanks); n_labels = 0 is the
 * all-blank path. *out is -INFINITY when no alignment fits in n_frames
 * (n_frames < n_labels + number of repeated neighbours). */
int svx_ctc_log_likelihood_ids(const float *logprobs, int n_frames, int n_symbols,
                               const int *labels, int n_labels, double *out);

/* The same with text spelled in the model's symbols (svx_model_symbol; the
 * longest matching symbol is taken at each byte). "" scores the all-blank
 * path (silence). SVX_ERR_KEYWORD, naming the byte, for text the model cannot
 * spell. */
int svx_ctc_log_likelihood(const svx_model *m, const float *logprobs, int n_frames,
                           const char *text, double *out);

/* Scores each candidate text by svx_ctc_log_likelihood (into scores_out,
 * n_candidates values, may be NULL) and returns the index of the best one
 * (the first on ties; 0 if every score is -INFINITY), or a negative error.
 * A candidate "" stands for silence. */
int svx_classify_clip(const svx_model *m, const float *logprobs, int n_frames,
                      const char *const *candidates, int n_candidates, double *scores_out);

/* Per-candidate score offsets the trainer calibrated on training data and
 * stored in the model's metadata ("eval_bias": {"char_bonus": c,
 * "silence": s}, see train/evaluate.py): bias_out[k] = s for candidate "",
 * c times the number of non-space bytes otherwise (a CTC length prior).
 * Add them to svx_classify_clip's scores before taking the argmax. Returns 1
 * when the model carries a bias, 0 when it does not (bias_out all zero), or
 * a negative error. */
int svx_classify_bias(const svx_model *m, const char *const *candidates, int n_candidates,
                      double *bias_out);

/* A recognition stream: front end + model state + decoder. */
typedef struct svx_stream svx_stream;

int svx_stream_create(const svx_model *m, const svx_stream_config *cfg, svx_stream **out);
void svx_stream_destroy(svx_stream *s);
/* Starts a new utterance without reallocating. */
void svx_stream_reset(svx_stream *s);
/* Pushes any number of samples (float, mono, model rate). */
int svx_stream_push(svx_stream *s, const float *pcm, size_t n_samples);
/* End of input: decodes what is buffered; events and words become final. */
int svx_stream_flush(svx_stream *s);
/* Pops the next keyword event: 1 if one was written, 0 if none. */
int svx_stream_next_event(svx_stream *s, svx_kws_event *ev);
/* Words recognised so far (final after flush); returns how many exist. */
int svx_stream_get_words(const svx_stream *s, svx_word *out, int max_words);
/* Transcript so far as text (words joined by spaces); returns needed length. */
int svx_stream_get_text(const svx_stream *s, char *buf, size_t n_bytes);
/* Seconds of audio pushed since create/reset. */
double svx_stream_audio_seconds(const svx_stream *s);
/* Removes and returns up to max_words final words, oldest first (words a
 * decoder will not change any more). Long inputs call this as they go so
 * that the stream's word store (4096 words) never overflows; words not taken
 * before it is full are dropped oldest first. Returns how many were written. */
int svx_stream_take_words(svx_stream *s, svx_word *out, int max_words);
/* Keyword events lost because the event queue (64 events, or 4 per keyword
 * when there are more than 16 keywords) was full, and final
 * words lost because nobody took them, since create/reset. */
uint64_t svx_stream_dropped_events(const svx_stream *s);
uint64_t svx_stream_dropped_words(const svx_stream *s);
/* Pauses the stream has entered since create/reset, the start not counted:
 * runs of silence_reset_s in which every decoder frame's blank probability
 * was at least the model's pause threshold (metadata "pause": {"enter_blank":
 * e, "exit_blank": x}, measured by the trainer; 0.99 and 0.9 when the model
 * has none). A pause ends at a frame whose blank probability is below x;
 * see svx_stream_config.silence_reset_s. */
uint64_t svx_stream_pauses(const svx_stream *s);
/* Seconds per decoder frame (hop * time stride / sample rate). */
double svx_stream_frame_seconds(const svx_stream *s);
/* The default lexicon: the 35 Speech Commands words. *n_words receives 35. */
const char *const *svx_vocabulary_default(int *n_words);

#ifdef __cplusplus
}
#endif

#endif /* SHIFTVOX_H */
