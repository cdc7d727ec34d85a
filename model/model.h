/* Private declarations of the acoustic model (model/): the loaded layer
 * graph, and a writer for model files in memory (tests, bench). */
#ifndef SVX_MODEL_H
#define SVX_MODEL_H

#include "int_runner.h"
#include "kernels.h"
#include "shiftvox.h"

#define SVX_MODEL_MAGIC "SVXM"
#define SVX_MODEL_VERSION_MAJOR 1
#define SVX_MODEL_VERSION_MINOR 1   /* 1.1: integer layer types and int8/int32 tensors */
#define SVX_MODEL_ALIGN 32
#define SVX_MODEL_HEADER_BYTES 16

/* Layer types stored in the file (model/FORMAT.md). */
enum {
    SVX_LAYER_NORM = 1,
    SVX_LAYER_CONV2D = 2,
    SVX_LAYER_GRU = 3,
    SVX_LAYER_LINEAR = 4,
    SVX_LAYER_LOGSOFTMAX = 5
};

/* Tensor encodings of the integer graph (FORMAT.md): raw little-endian
 * integers, 1-D or 2-D, no alpha. */
enum { SVX_ENC_INT8 = 4, SVX_ENC_INT32 = 5 };
#define SVX_MAX_LAYER_PARAMS 11
#define SVX_MAX_LAYER_TENSORS 9

/* Limits the loader enforces (anything larger is SVX_ERR_SHAPE). */
#define SVX_MAX_LAYERS 64
#define SVX_MAX_TENSORS 256
#define SVX_MAX_SYMBOLS 256
#define SVX_MAX_SYMBOL_BYTES 15
#define SVX_MAX_NAME_BYTES 63
#define SVX_MAX_META_BYTES (1u << 20)
#define SVX_MAX_DIM 65536
#define SVX_MAX_KT 64      /* convolution kernel length in time */
#define SVX_MAX_TIME_STRIDE 64 /* product of the convolutions' time strides (frames) */
#define SVX_MAX_MATRIX (1u << 26) /* weights per matrix */
#define SVX_MAX_MODEL_BYTES (256u << 20) /* file size svx_model_load reads */

typedef struct {
    int type;
    char name[SVX_MAX_NAME_BYTES + 1];
    int n_in, n_out;              /* floats per input / output frame */
    /* conv2d */
    int c_in, f_in, c_out, f_out, k_t, k_f, s_t, s_f, p_f;
    int relu;
    int hidden;                   /* gru */
    svx_wmat w[2];                /* weight (conv, linear) or w_ih, w_hh (gru) */
    int n_w;
    svx_kernel_id kernel[2];
    float *vec[4];                /* norm: mean, inv_std; conv/linear: bias; gru: b_ih, b_hh */
    int n_vec;
    size_t stored_bytes;          /* bytes of this layer's tensors in the file */
} svx_layer;

struct svx_model {
    svx_frontend_params fe;
    int n_symbols;
    char symbols[SVX_MAX_SYMBOLS][SVX_MAX_SYMBOL_BYTES + 1];
    char *meta;                   /* NUL-terminated JSON text */
    int version_minor;
    int n_layers;
    svx_layer *layers;
    svx_model_options opt;
    size_t weight_bytes;          /* tensor bytes as stored */
    size_t file_bytes;
    int time_stride;
    int max_frame;                /* largest activation frame, floats */
    size_t scratch_floats;        /* per state: matvec scratch */
    /* integer graph (layer types 16..19), when the file carries one */
    int n_int_layers;
    svx_int_layer *int_layers;
    int use_int;                  /* 1: states run the integer graph */
    size_t float_weight_bytes, int_weight_bytes;
    int float_time_stride, int_time_stride;
};

/* ---- Writing model files (the C twin of train/svxmodel.py) ---- */

/* One tensor: a vector (is_matrix 0: f32 [rows], or int8/int32 [rows] when
 * enc is SVX_ENC_INT8/INT32) or a weight matrix (any encoding). */
typedef struct {
    int is_matrix;
    int enc, bits;                /* SVX_ENC_*, bits (32, 8, 2..4) */
    int rows, cols;
    const float *alpha;           /* [rows] for i8 / shift encodings */
    const void *data;             /* f32: float[rows*cols]; i8/INT8: int8; INT32: int32;
                                     shift: one code per byte */
} svx_tensor_desc;

typedef struct {
    int type;
    const char *name;
    int n_params;
    int32_t params[SVX_MAX_LAYER_PARAMS]; /* in file order, see FORMAT.md */
    int n_tensors;
    svx_tensor_desc t[SVX_MAX_LAYER_TENSORS];
} svx_layer_desc;

typedef struct {
    svx_frontend_params fe;
    int n_symbols;
    const char *const *symbols;
    const char *meta;             /* JSON text or NULL */
    int n_layers;
    const svx_layer_desc *layers;
} svx_model_desc;

/* Byte offsets of the sections of a written file (for tests that cut or
 * corrupt a file at a known place). */
typedef struct {
    size_t frontend, symbols, meta, layers, tensors, data, crc, file_bytes;
} svx_model_layout;

/* Serialises d; *out is malloc'ed (caller frees). layout may be NULL. */
int svx_model_serialize(const svx_model_desc *d, uint8_t **out, size_t *n_bytes,
                        svx_model_layout *layout);

/* The standard symbol table: "", " ", "'", "a".."z" (29 entries). */
extern const char *const svx_default_symbols[29];

/* Weight matrices of a loaded model, for the bench: i indexes all matrices
 * in layer order; returns NULL past the end. calls_per_second: matrix-vector
 * products per second of audio (conv: one per output frequency position). */
const svx_wmat *svx_model_matrix(const svx_model *m, int i, const char **layer_name,
                                 double *calls_per_second);

/* The integer path's push (model.c): quantises the frame, runs the integer
 * graph and writes its int16 scores (no log-softmax). Returns 1 / 0 like
 * svx_model_state_push, SVX_ERR_STATE when the state runs the float graph.
 * For the bit-exact parity test (train/tests/test_integer_model.py). */
int svx_model_state_push_scores(svx_model_state *s, const float *frame, int16_t *scores_out);

#endif
