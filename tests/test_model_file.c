/* Model file loader: a valid tiny file, then hostile files, each with the
 * exact error code it must give (model/FORMAT.md). */
#include <stdio.h>
#include <string.h>

#include "test_int_fixture.h"

static const fx_enc k_mix[5] = {{SVX_ENC_F32, 32},
                                {SVX_ENC_DENSESHIFT, 3},
                                {SVX_ENC_DENSESHIFT, 2},
                                {SVX_ENC_DEEPSHIFT, 4},
                                {SVX_ENC_I8, 8}};

static int load(const uint8_t *b, size_t n)
{
    svx_model *m = (svx_model *)(uintptr_t)1;
    int rc = svx_model_load_memory(b, n, NULL, &m);
    if (rc >= 0)
        svx_model_destroy(m);
    else
        CU_ASSERT_PTR_NULL(m); /* nothing is returned on failure */
    return rc;
}

static int msg_has(const char *s)
{
    int ok = strstr(svx_last_error_message(), s) != NULL;
    if (!ok)
        printf("\n  message \"%s\" lacks \"%s\"\n", svx_last_error_message(), s);
    return ok;
}

/* Position of the offset field (u64) of directory entry i; dims at *dims_pos. */
static size_t dir_entry(const uint8_t *b, const svx_model_layout *lay, int i, size_t *dims_pos)
{
    size_t p = lay->tensors + 4;
    for (int k = 0;; k++) {
        p += 1u + b[p];        /* name */
        size_t enc_pos = p;
        uint32_t ndim = b[p + 8];
        p += 12;
        if (k == i) {
            if (dims_pos)
                *dims_pos = p;
            (void)enc_pos;
            return p + 4u * ndim;
        }
        p += 4u * ndim + 16u;
    }
}

static void put_le(uint8_t *p, uint64_t v, int n_bytes)
{
    for (int k = 0; k < n_bytes; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static void test_valid(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    size_t n;
    svx_model_layout lay;
    uint8_t *b = fx_bytes(&fx, &n, &lay);
    svx_model *m;
    CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(b, n, NULL, &m), SVX_OK);
    CU_ASSERT_EQUAL(svx_model_n_inputs(m), FX_MELS);
    CU_ASSERT_EQUAL(svx_model_n_symbols(m), FX_V);
    CU_ASSERT_EQUAL(svx_model_time_stride(m), 2);
    CU_ASSERT_STRING_EQUAL(svx_model_symbol(m, 0), "");
    CU_ASSERT_STRING_EQUAL(svx_model_symbol(m, 1), " ");
    CU_ASSERT_STRING_EQUAL(svx_model_symbol(m, 3), "a");
    CU_ASSERT_PTR_NULL(svx_model_symbol(m, FX_V));
    CU_ASSERT_EQUAL(svx_model_frontend(m)->n_mels, FX_MELS);
    /* weight bytes: exact sum of the stored tensors */
    size_t want = (size_t)(FX_MELS * 4 * 2) + (2 * 6 * 4 + 2 * 4) + (3 * 4 + (3 * 18 * 3 + 7) / 8 + 3 * 4) +
                  (18 * 4 + (18 * 12 * 2 + 7) / 8) + (18 * 4 + (18 * 6 * 4 + 7) / 8) + 2 * 18 * 4 +
                  (29 * 4 + 29 * 6) + 29 * 4;
    CU_ASSERT_EQUAL(svx_model_weight_bytes(m), want);
    char sum[4096];
    int len = svx_model_summary(m, sum, sizeof sum);
    CU_ASSERT(len > 0 && (size_t)len < sizeof sum);
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "conv2d"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "denseshift-3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "deepshift-4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "i8"));
    char tiny[8];
    CU_ASSERT_EQUAL(svx_model_summary(m, tiny, sizeof tiny), len); /* snprintf-like */
    CU_ASSERT_EQUAL(strlen(tiny), sizeof tiny - 1);
    svx_model_destroy(m);
    svx_model_destroy(NULL);

    /* the same bytes through a file */
    char path[512];
    tu_tmp_path(path, sizeof path, "fixture.svxm");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, b, n), 0);
    CU_ASSERT_EQUAL(svx_model_load(path, &m), SVX_OK);
    svx_model_destroy(m);
    tu_tmp_path(path, sizeof path, "does-not-exist.svxm");
    CU_ASSERT_EQUAL(svx_model_load(path, &m), SVX_ERR_IO);
    CU_ASSERT(msg_has("does-not-exist.svxm"));
    CU_ASSERT_EQUAL(svx_model_load(NULL, &m), SVX_ERR_INVALID_ARG);
    svx_model_options opt;
    svx_model_options_default(&opt);
    opt.force_integer = 1;
    CU_ASSERT_EQUAL(svx_model_load_memory(b, n, &opt, &m), SVX_ERR_ENCODING);
    free(b);
    fx_free(&fx);
}

static void test_truncated(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    size_t n;
    svx_model_layout lay;
    uint8_t *b = fx_bytes(&fx, &n, &lay);
    /* cut anywhere: the header's size says the file is short */
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++)
        if (load(b, cut) != SVX_ERR_TRUNCATED) {
            if (!bad)
                printf("\n  cut at %zu of %zu: %s\n", cut, n, svx_last_error_message());
            bad++;
        }
    CU_ASSERT_EQUAL(bad, 0);
    load(b, 100);
    CU_ASSERT(msg_has("declares"));
    /* cut inside each section, with size and CRC re-stamped so that only the
     * section reader can notice */
    struct {
        size_t at;
        int want;
    } cuts[] = {{lay.frontend + 6, SVX_ERR_TRUNCATED}, {lay.symbols + 2, SVX_ERR_TRUNCATED},
                {lay.symbols + 6, SVX_ERR_TRUNCATED}, {lay.meta + 3, SVX_ERR_TRUNCATED},
                {lay.meta + 6, SVX_ERR_TRUNCATED},    {lay.layers + 2, SVX_ERR_TRUNCATED},
                {lay.layers + 9, SVX_ERR_TRUNCATED},  {lay.tensors + 2, SVX_ERR_TRUNCATED},
                {lay.tensors + 20, SVX_ERR_TRUNCATED}, {lay.data, SVX_ERR_SHAPE},
                {lay.crc - 1, SVX_ERR_SHAPE}};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t m = cuts[i].at + 4;
        uint8_t *c = malloc(m);
        memcpy(c, b, cuts[i].at);
        fx_restamp(c, m);
        int rc = load(c, m);
        if (rc != cuts[i].want)
            printf("\n  section cut %zu at byte %zu: got %d (%s)\n", i, cuts[i].at, rc,
                   svx_last_error_message());
        CU_ASSERT_EQUAL(rc, cuts[i].want);
        free(c);
    }
    free(b);
    fx_free(&fx);
}

static void test_magic_version_crc(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    size_t n;
    svx_model_layout lay;
    uint8_t *b = fx_bytes(&fx, &n, &lay);
    uint8_t *c = malloc(n);

    memcpy(c, b, n);
    c[0] = 'R';
    CU_ASSERT_EQUAL(load(c, n), SVX_ERR_BAD_MAGIC);
    CU_ASSERT(msg_has("expected 'SVXM'"));
    CU_ASSERT_EQUAL(load((const uint8_t *)"RIFF\0\0\0\0WAVEfmt ", 16), SVX_ERR_BAD_MAGIC);

    memcpy(c, b, n);
    put_le(c + 4, 2, 2); /* major 2 */
    fx_restamp(c, n);
    CU_ASSERT_EQUAL(load(c, n), SVX_ERR_VERSION);
    CU_ASSERT(msg_has("version 2.0"));
    memcpy(c, b, n);
    put_le(c + 6, 7, 2); /* newer minor: readable */
    fx_restamp(c, n);
    CU_ASSERT_EQUAL(load(c, n), SVX_OK);

    /* any flipped bit after the header is caught by the CRC */
    int bad = 0;
    for (size_t i = 16; i < n; i++) {
        memcpy(c, b, n);
        c[i] ^= (uint8_t)(1u << (i % 8u));
        if (load(c, n) != SVX_ERR_CHECKSUM)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    memcpy(c, b, n);
    c[lay.data + 5] ^= 0x40;
    load(c, n);
    CU_ASSERT(msg_has("CRC32"));

    /* trailing bytes after the declared end */
    uint8_t *d = malloc(n + 3);
    memcpy(d, b, n);
    memset(d + n, 0, 3);
    CU_ASSERT_EQUAL(load(d, n + 3), SVX_ERR_FORMAT);
    free(d);
    free(c);
    free(b);
    fx_free(&fx);
}

/* A description edit, serialised, must fail with want. */
static void expect_desc(fx_model *fx, int want, const char *text)
{
    size_t n;
    uint8_t *b = fx_bytes(fx, &n, NULL);
    int rc = load(b, n);
    if (rc != want)
        printf("\n  expected %d, got %d: %s\n", want, rc, svx_last_error_message());
    CU_ASSERT_EQUAL(rc, want);
    if (text)
        CU_ASSERT(msg_has(text));
    free(b);
}

static void test_impossible_shapes(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    svx_layer_desc keep;

    keep = fx.layers[2];
    fx.layers[2].params[3] = 5; /* f_out of conv2 should be 4 */
    expect_desc(&fx, SVX_ERR_SHAPE, "f_out");
    fx.layers[2] = keep;

    fx.layers[2].params[8] = 3; /* p_f >= k_f */
    expect_desc(&fx, SVX_ERR_SHAPE, "p_f");
    fx.layers[2] = keep;

    fx.layers[2].params[6] = 0; /* zero stride */
    expect_desc(&fx, SVX_ERR_SHAPE, "s_t");
    fx.layers[2] = keep;

    /* each stride in range alone, their product not (found by the fuzzer:
     * 65535 * 64769 overflowed an int) */
    svx_layer_desc keep1 = fx.layers[1];
    fx.layers[1].params[6] = 65535;
    fx.layers[2].params[6] = 64769;
    expect_desc(&fx, SVX_ERR_SHAPE, "time strides multiply to more than 64 frames");
    fx.layers[1].params[6] = 33; /* 33 * 2 = 66 > 64 */
    fx.layers[2].params[6] = 2;
    expect_desc(&fx, SVX_ERR_SHAPE, "time strides multiply to more than 64 frames");
    fx.layers[1].params[6] = 32; /* 32 * 2 = 64: allowed */
    {
        svx_model *m = NULL;
        size_t n = 0;
        uint8_t *buf = fx_bytes(&fx, &n, NULL);
        CU_ASSERT_EQUAL_FATAL(svx_model_load_memory(buf, n, NULL, &m), SVX_OK);
        CU_ASSERT_EQUAL(svx_model_time_stride(m), 64);
        svx_model_destroy(m);
        free(buf);
    }
    fx.layers[1] = keep1;
    fx.layers[2] = keep;

    fx.layers[2].params[9] = 2; /* relu flag not 0/1 */
    expect_desc(&fx, SVX_ERR_SHAPE, "relu");
    fx.layers[2] = keep;

    keep = fx.layers[3];
    fx.layers[3].t[0].cols = 11; /* w_ih must be 18 x 12 */
    fx.layers[3].t[0].rows = 18;
    expect_desc(&fx, SVX_ERR_SHAPE, "expected 18 x 12");
    fx.layers[3] = keep;

    fx.layers[3].t[2].rows = 17; /* bias length */
    expect_desc(&fx, SVX_ERR_SHAPE, "b_ih");
    fx.layers[3] = keep;

    fx.layers[3].params[0] = 13; /* chain: conv2 gives 12 floats */
    expect_desc(&fx, SVX_ERR_SHAPE, "receives 12");
    fx.layers[3] = keep;

    fx.desc.n_symbols = 28; /* last layer gives 29 */
    expect_desc(&fx, SVX_ERR_SHAPE, "per output symbol");
    fx.desc.n_symbols = FX_V;

    const char *syms[FX_V];
    memcpy(syms, svx_default_symbols, sizeof syms);
    fx.desc.symbols = syms;
    syms[4] = "a"; /* duplicate of symbol 3 */
    expect_desc(&fx, SVX_ERR_FORMAT, "symbol 4");
    syms[4] = "";  /* a second blank */
    expect_desc(&fx, SVX_ERR_FORMAT, "symbol 4");
    syms[4] = "b";
    syms[0] = "-"; /* no blank first */
    expect_desc(&fx, SVX_ERR_FORMAT, "symbol 0");
    syms[0] = "";
    syms[7] = "\t";
    expect_desc(&fx, SVX_ERR_FORMAT, "symbol 7");
    syms[7] = "e";
    expect_desc(&fx, SVX_OK, NULL);
    fx.desc.symbols = svx_default_symbols;

    fx.desc.n_layers = 5; /* no logsoftmax: still 29 wide, valid */
    expect_desc(&fx, SVX_OK, NULL);
    fx.desc.n_layers = 6;

    keep = fx.layers[0];
    fx.layers[0].t[1] = fx_tensor(&fx.w[4]); /* a matrix where a vector belongs */
    expect_desc(&fx, SVX_ERR_ENCODING, "must be f32");
    fx.layers[0] = keep;

    fx.layers[0].n_params = 2; /* wrong parameter count */
    expect_desc(&fx, SVX_ERR_FORMAT, "parameters");
    fx.layers[0] = keep;
    fx_free(&fx);
}

static void test_overflowing_fields(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    size_t n;
    svx_model_layout lay;
    uint8_t *b = fx_bytes(&fx, &n, &lay);
    uint8_t *c = malloc(n);
    size_t dims;
    /* entry 2 is conv1.weight (2-D) */
    size_t off = dir_entry(b, &lay, 2, &dims);
    uint64_t first = 0;
    for (int k = 7; k >= 0; k--)
        first = (first << 8) | b[off + (size_t)k];
    struct {
        size_t pos;
        uint64_t val;
        int n_bytes, want;
        const char *text;
    } edits[] = {
        {off, UINT64_MAX - 31u, 8, SVX_ERR_SHAPE, "offset"},    /* offset + length wraps */
        {off, ((uint64_t)n + 31u) & ~(uint64_t)31u, 8, SVX_ERR_SHAPE, "offset"}, /* past the end */
        {off, lay.tensors & ~(size_t)31u, 8, SVX_ERR_SHAPE, "offset"}, /* inside the directory */
        {off, 0, 8, SVX_ERR_SHAPE, "offset"},                   /* over the header */
        {off, first + 4u, 8, SVX_ERR_FORMAT, "multiple of 32"},
        {off + 8, UINT64_MAX, 8, SVX_ERR_SHAPE, "declares"},    /* length */
        {dims, 65536, 4, SVX_ERR_SHAPE, "need"},                /* 65536 x 6: bytes do not match */
        {dims, 0, 4, SVX_ERR_SHAPE, "dimension 0 is 0"},
        {dims, 0xFFFFFFFFu, 4, SVX_ERR_SHAPE, "dimension 0"},
        {dims - 4, 3, 4, SVX_ERR_SHAPE, "3 dimensions"},
        {dims - 12, 7, 4, SVX_ERR_ENCODING, "encoding 7"},     /* unknown encoding */
        {dims - 8, 5, 4, SVX_ERR_ENCODING, "5 bits"},          /* power-of-two bits 5 */
        {lay.symbols, 0xFFFFFFFFu, 4, SVX_ERR_SHAPE, "symbols"},
        {lay.meta, 0xFFFFFFF0u, 4, SVX_ERR_SHAPE, "metadata"},
        {lay.layers, 0xFFFFFFFFu, 4, SVX_ERR_SHAPE, "layers"},
        {lay.layers + 4, 9, 4, SVX_ERR_ENCODING, "type 9"},     /* unknown layer type */
        {lay.tensors, 0xFFFFFFFFu, 4, SVX_ERR_SHAPE, "tensors"},
        {lay.frontend + 16, 0, 4, SVX_ERR_FORMAT, "front-end"}, /* n_mels 0 */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        memcpy(c, b, n);
        put_le(c + edits[i].pos, edits[i].val, edits[i].n_bytes);
        fx_restamp(c, n);
        int rc = load(c, n);
        if (rc != edits[i].want)
            printf("\n  edit %zu: expected %d, got %d: %s\n", i, edits[i].want, rc,
                   svx_last_error_message());
        CU_ASSERT_EQUAL(rc, edits[i].want);
        CU_ASSERT(msg_has(edits[i].text));
    }
    free(c);
    free(b);
    fx_free(&fx);
}

static void test_bad_values(void)
{
    fx_model fx;
    fx_build(&fx, k_mix);
    fx.b2[1] = NAN;
    expect_desc(&fx, SVX_ERR_FORMAT, "finite");
    fx.b2[1] = 0.0f;
    fx.w[1].alpha[0] = INFINITY;
    expect_desc(&fx, SVX_ERR_FORMAT, "finite");
    fx.w[1].alpha[0] = 1.0f;
    ((int8_t *)fx.w[4].data)[3] = -128;
    expect_desc(&fx, SVX_ERR_FORMAT, "-128");
    ((int8_t *)fx.w[4].data)[3] = 0;
    expect_desc(&fx, SVX_OK, NULL);
    fx_free(&fx);
}

/* The deterministic model of tests/data/models/make_golden.py (det_layers),
 * rebuilt here: both writers must give identical bytes. */
static void det_codes(uint8_t *c, int rows, int cols, int b, int mul)
{
    for (int i = 0; i < rows * cols; i++)
        c[i] = (uint8_t)((i * mul + 1) % (1 << b));
}

static void det_alpha(float *a, int rows)
{
    for (int r = 0; r < rows; r++)
        a[r] = ldexpf(1.0f, -(r % 4));
}

static void det_vec(float *v, int n, int k)
{
    for (int i = 0; i < n; i++)
        v[i] = (float)((i % 7) - 3) * (0.25f * (float)k);
}

static void test_same_bytes_as_python(void)
{
    FILE *f = fopen("tests/data/models/det.svxm", "rb");
    if (!f) {
        printf("(tests/data/models/det.svxm absent: skipped) ");
        return;
    }
    static uint8_t py[65536];
    size_t n_py = fread(py, 1, sizeof py, f);
    fclose(f);
    static float mean[8], istd[8], cw[12], cb[2], b1[13], b2[11], bih[27], bhh[27], bo[29];
    static float a1[13], a2[11], aih[27], ahh[27], ao[29];
    static uint8_t c1[13 * 8], c2[11 * 13], cih[27 * 11], chh[27 * 9];
    static int8_t qo[29 * 9];
    det_vec(mean, 8, 1);
    for (int i = 0; i < 8; i++)
        istd[i] = 0.5f;
    for (int i = 0; i < 12; i++)
        cw[i] = (float)((i % 5) - 2) * 0.5f;
    det_vec(cb, 2, 2);
    det_codes(c1, 13, 8, 2, 3);
    det_alpha(a1, 13);
    det_vec(b1, 13, 1);
    det_codes(c2, 11, 13, 4, 5);
    det_alpha(a2, 11);
    det_vec(b2, 11, 3);
    det_codes(cih, 27, 11, 3, 7);
    det_alpha(aih, 27);
    det_codes(chh, 27, 9, 3, 3);
    det_alpha(ahh, 27);
    det_vec(bih, 27, 1);
    det_vec(bhh, 27, 2);
    for (int i = 0; i < 29 * 9; i++)
        qo[i] = (int8_t)(((i * 37) % 255) - 127);
    det_alpha(ao, 29);
    det_vec(bo, 29, 1);
    svx_layer_desc L[7] = {
        {SVX_LAYER_NORM, "norm", 1, {8}, 2, {fx_vector(mean, 8), fx_vector(istd, 8)}},
        {SVX_LAYER_CONV2D, "conv", 10, {1, 8, 2, 4, 2, 3, 1, 2, 1, 1}, 2,
         {{1, SVX_ENC_F32, 32, 2, 6, NULL, cw}, fx_vector(cb, 2)}},
        {SVX_LAYER_LINEAR, "l1", 3, {8, 13, 1}, 2,
         {{1, SVX_ENC_DENSESHIFT, 2, 13, 8, a1, c1}, fx_vector(b1, 13)}},
        {SVX_LAYER_LINEAR, "l2", 3, {13, 11, 1}, 2,
         {{1, SVX_ENC_DEEPSHIFT, 4, 11, 13, a2, c2}, fx_vector(b2, 11)}},
        {SVX_LAYER_GRU, "gru", 2, {11, 9}, 4,
         {{1, SVX_ENC_DENSESHIFT, 3, 27, 11, aih, cih}, {1, SVX_ENC_DEEPSHIFT, 3, 27, 9, ahh, chh},
          fx_vector(bih, 27), fx_vector(bhh, 27)}},
        {SVX_LAYER_LINEAR, "out", 3, {9, 29, 0}, 2,
         {{1, SVX_ENC_I8, 8, 29, 9, ao, qo}, fx_vector(bo, 29)}},
        {SVX_LAYER_LOGSOFTMAX, "logsoftmax", 1, {29}, 0, {{0}}},
    };
    svx_model_desc d;
    memset(&d, 0, sizeof d);
    svx_frontend_params_default(&d.fe);
    d.fe.n_mels = 8;
    d.n_symbols = FX_V;
    d.symbols = svx_default_symbols;
    d.meta = NULL;
    d.n_layers = 7;
    d.layers = L;
    uint8_t *c;
    size_t n_c;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&d, &c, &n_c, NULL), SVX_OK);
    CU_ASSERT_EQUAL(n_c, n_py);
    size_t first = 0;
    while (first < n_c && first < n_py && c[first] == py[first])
        first++;
    if (first < n_c || n_c != n_py)
        printf("\n  C and Python writers differ first at byte %zu of %zu/%zu\n", first, n_c, n_py);
    CU_ASSERT(n_c == n_py && memcmp(c, py, n_c) == 0);
    /* and it loads */
    svx_model *m;
    CU_ASSERT_EQUAL(svx_model_load_memory(py, n_py, NULL, &m), SVX_OK);
    svx_model_destroy(m);
    free(c);
}

/* ---- the integer graph (FORMAT.md 1.1, types 16..19) ---- */

/* Serialises d and loads it (force_integer as given): returns the code. */
static int load_desc(const svx_model_desc *d, int force_integer, svx_model **keep)
{
    uint8_t *b = NULL;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(d, &b, &n, NULL), SVX_OK);
    svx_model_options opt;
    svx_model_options_default(&opt);
    opt.force_integer = force_integer;
    svx_model *m = NULL;
    int rc = svx_model_load_memory(b, n, &opt, &m);
    if (rc < 0)
        CU_ASSERT_PTR_NULL(m);
    if (keep)
        *keep = m;
    else
        svx_model_destroy(m);
    free(b);
    return rc;
}

static void expect_ix(const ix_model *ix, int want, const char *text)
{
    int rc = load_desc(&ix->desc, 0, NULL);
    if (rc != want)
        printf("\n  expected %d, got %d: %s\n", want, rc, svx_last_error_message());
    CU_ASSERT_EQUAL(rc, want);
    if (text)
        CU_ASSERT(msg_has(text));
}

static void test_integer_valid(void)
{
    ix_model ix;
    fx_model fx;
    svx_model *m;
    ix_build(&ix);
    /* integer only: runs integer without being asked, version 1.1 */
    CU_ASSERT_EQUAL_FATAL(load_desc(&ix.desc, 0, &m), SVX_OK);
    CU_ASSERT_EQUAL(svx_model_forms(m), SVX_MODEL_FORM_INTEGER);
    CU_ASSERT_EQUAL(svx_model_is_integer(m), 1);
    CU_ASSERT_EQUAL(svx_model_time_stride(m), 2);
    CU_ASSERT_EQUAL(svx_model_n_symbols(m), FX_V);
    char sum[4096];
    CU_ASSERT(svx_model_summary(m, sum, sizeof sum) > 0);
    CU_ASSERT(strstr(sum, "SVXM 1.1") != NULL);
    CU_ASSERT(strstr(sum, "forms         integer (running: integer)") != NULL);
    CU_ASSERT(strstr(sum, "int_gru") != NULL && strstr(sum, "23 PWL knots") != NULL);
    /* tensor bytes: 8+8 f32; int8 weights 2x6, 3x18, 18x12, 18x6, 29x6; int32
     * m/k/b of 2 + 3 + 18 + 18 + 29 rows and 2x23 knots */
    size_t want = 64 + 12 + 54 + 216 + 108 + 174 + 4u * (3u * (2 + 3 + 36 + 29) + 46);
    CU_ASSERT_EQUAL(svx_model_weight_bytes(m), want);
    svx_model_destroy(m);
    CU_ASSERT_EQUAL(load_desc(&ix.desc, 1, NULL), SVX_OK);

    /* both forms: float unless force_integer */
    fx_build(&fx, k_mix);
    ix_build_both(&ix, &fx);
    CU_ASSERT_EQUAL_FATAL(load_desc(&ix.desc, 0, &m), SVX_OK);
    CU_ASSERT_EQUAL(svx_model_forms(m), SVX_MODEL_FORM_FLOAT | SVX_MODEL_FORM_INTEGER);
    CU_ASSERT_EQUAL(svx_model_is_integer(m), 0);
    svx_model_destroy(m);
    CU_ASSERT_EQUAL_FATAL(load_desc(&ix.desc, 1, &m), SVX_OK);
    CU_ASSERT_EQUAL(svx_model_is_integer(m), 1);
    svx_model_destroy(m);
    /* the float fixture alone: force_integer is refused, and it stays version 1.0 */
    CU_ASSERT_EQUAL(load_desc(&fx.desc, 1, NULL), SVX_ERR_ENCODING);
    CU_ASSERT(msg_has("carries only the float-activation graph"));
    CU_ASSERT_EQUAL_FATAL(load_desc(&fx.desc, 0, &m), SVX_OK);
    CU_ASSERT(svx_model_summary(m, sum, sizeof sum) > 0 && strstr(sum, "SVXM 1.0") != NULL);
    svx_model_destroy(m);
    fx_free(&fx);
}

static void test_integer_hostile(void)
{
    ix_model ix;
    svx_layer_desc *L = ix.layers;
    /* an unknown layer type (what a 1.0 reader says of a 1.1 file: types it
     * does not know are refused, never skipped) */
    ix_build(&ix); L[2].type = 20;
    expect_ix(&ix, SVX_ERR_ENCODING, "has type 20");
    /* order: the graph starts with int_input, ends with its only int_linear */
    ix_build(&ix); { svx_layer_desc t = L[0]; L[0] = L[1]; L[1] = t; }
    expect_ix(&ix, SVX_ERR_FORMAT, "must start with int_input");
    ix_build(&ix); ix.desc.n_layers = 4;
    expect_ix(&ix, SVX_ERR_FORMAT, "end with its only int_linear");
    /* time strides each in range, their product not */
    ix_build(&ix); L[1].params[6] = 65535; L[2].params[6] = 64769;
    expect_ix(&ix, SVX_ERR_SHAPE, "integer graph's convolution time strides multiply to more "
              "than 64 frames");
    /* a float layer after the integer graph */
    ix_build(&ix);
    L[5] = (svx_layer_desc){SVX_LAYER_LOGSOFTMAX, "lsm", 1, {FX_V}, 0, {{0}}};
    ix.desc.n_layers = 6;
    expect_ix(&ix, SVX_ERR_FORMAT, "follows the integer graph");
    /* parameters out of range */
    ix_build(&ix); L[0].params[1] = 13;
    expect_ix(&ix, SVX_ERR_SHAPE, "frac_bits = 13");
    ix_build(&ix); L[1].params[10] = 2;
    expect_ix(&ix, SVX_ERR_SHAPE, "w_kind = 2");
    ix_build(&ix); L[2].params[3] = 5;
    expect_ix(&ix, SVX_ERR_SHAPE, "f_out = 5");
    ix_build(&ix); L[3].params[2] = -1;
    expect_ix(&ix, SVX_ERR_SHAPE, "out_frac = -1");
    ix_build(&ix); L[4].params[4] = 16;
    expect_ix(&ix, SVX_ERR_SHAPE, "out_frac = 16");
    /* widths: the last layer must give one score per symbol */
    ix_build(&ix); L[4].params[1] = 28; L[4].t[0].rows = 28; L[4].t[1].rows = 28;
    L[4].t[2].rows = 28; L[4].t[3].rows = 28;
    expect_ix(&ix, SVX_ERR_SHAPE, "gives 28 scores per frame");
    ix_build(&ix); L[3].params[0] = 11; L[3].t[0].cols = 11;
    expect_ix(&ix, SVX_ERR_SHAPE, "takes 11 values per frame but receives 12");
    /* tensor shapes and encodings */
    ix_build(&ix); L[1].t[2].rows = 1;
    expect_ix(&ix, SVX_ERR_SHAPE, "iconv1.k' is [1], expected [2]");
    ix_build(&ix); L[1].t[1].enc = SVX_ENC_INT8;
    expect_ix(&ix, SVX_ERR_ENCODING, "(mantissa) has encoding 4, expected 5 (int32)");
    ix_build(&ix); L[4].t[0] = fx_vector(ix.mean, FX_V * IX_H);
    expect_ix(&ix, SVX_ERR_ENCODING, "(int8 weights) has encoding 0, expected 4 (int8)");
    /* values */
    ix_build(&ix); ix.m1[1] = 32768;
    expect_ix(&ix, SVX_ERR_FORMAT, "(mantissa) value 1 is 32768, expected -32767..32767");
    ix_build(&ix); ix.kih[4] = 63;
    expect_ix(&ix, SVX_ERR_FORMAT, "(shift) value 4 is 63, expected 0..62");
    ix_build(&ix); ix.w2[7] = 17;
    expect_ix(&ix, SVX_ERR_FORMAT, "(power-of-two codes) value 7 is 17, expected -16..16");
    ix_build(&ix); ix.wo[3] = -128;
    expect_ix(&ix, SVX_ERR_FORMAT, "(int8 weights) value 3 is -128, expected -127..127");
    /* a row whose sum of |w| times the largest input can overflow int32:
     * int_input(8) -> int_gru 8 -> 17 -> int_linear 17 -> 29, one w_hh row of
     * seventeen codes 16 (17 * 2^15 * 4096 > 2^31); with 15 of them it loads */
    {
        enum { H = 17 };
        static int8_t wih[3 * H * 8], whh[3 * H * H], wo[FX_V * H];
        static int32_t mk[6][3 * H], mo[3][FX_V];
        ix_build(&ix);
        ix_codes(wih, 3 * H * 8, 3);
        ix_codes(whh, 3 * H * H, 3);
        ix_codes(wo, FX_V * H, 3);
        for (int k = 0; k < 6; k += 3)
            ix_requant(mk[k], mk[k + 1], mk[k + 2], 3 * H, 16, 100);
        ix_requant(mo[0], mo[1], mo[2], FX_V, 16, 100);
        L[1] = (svx_layer_desc){SVX_LAYER_INT_GRU, "big", 3, {8, H, 7}, 9,
                                {ix_i8(wih, 3 * H, 8), ix_i8(whh, 3 * H, H), ix_i32(mk[0], 3 * H, 0),
                                 ix_i32(mk[1], 3 * H, 0), ix_i32(mk[2], 3 * H, 0),
                                 ix_i32(mk[3], 3 * H, 0), ix_i32(mk[4], 3 * H, 0),
                                 ix_i32(mk[5], 3 * H, 0), ix_i32(ix.knots, 2, 23)}};
        L[2] = (svx_layer_desc){SVX_LAYER_INT_LINEAR, "o", 5, {H, FX_V, 0, 0, 8}, 4,
                                {ix_i8(wo, FX_V, H), ix_i32(mo[0], FX_V, 0), ix_i32(mo[1], FX_V, 0),
                                 ix_i32(mo[2], FX_V, 0)}};
        ix.desc.n_layers = 3;
        for (int c = 0; c < 15; c++)
            whh[2 * H + c] = 16;
        expect_ix(&ix, SVX_OK, NULL);
        whh[2 * H + 15] = whh[2 * H + 16] = 16;
        expect_ix(&ix, SVX_ERR_SHAPE, "'big.w_hh' (w_hh) row 2: sum of |w| 557056 times the largest "
                  "input 4096 can overflow");
    }
    /* PWL knots */
    ix_build(&ix); ix.knots[5] = ix.knots[4];
    expect_ix(&ix, SVX_ERR_FORMAT, "knot x[4] = -14336 is not below x[5]");
    ix_build(&ix); ix.knots[23 + 3] = 5000;
    expect_ix(&ix, SVX_ERR_FORMAT, "y[3] = 5000, expected 0..4096");
    ix_build(&ix); ix.knots[0] = -(1 << 25);
    expect_ix(&ix, SVX_ERR_FORMAT, "(PWL knots) value 0 is -33554432");
    ix_build(&ix); L[3].t[8].rows = 1; L[3].t[8].cols = 46;
    expect_ix(&ix, SVX_ERR_SHAPE, "(PWL knots) has 2 dims [1, 46], expected [2, 2..32]");
    ix_build(&ix); L[3].t[8] = ix_i8(ix.w1, 2, 6);
    expect_ix(&ix, SVX_ERR_ENCODING, "(PWL knots) has encoding 4, expected 5 (int32)");
    /* both forms must agree on the time stride */
    fx_model fx;
    fx_build(&fx, k_mix);
    ix_build_both(&ix, &fx);
    L[8].params[6] = 1; /* iconv2 s_t 2 -> 1 */
    expect_ix(&ix, SVX_ERR_SHAPE, "time stride is 2 but the integer graph's is 1");
    fx_free(&fx);
    /* an int8 tensor in a float layer */
    fx_build(&fx, k_mix);
    ix_build(&ix);
    fx.layers[4].t[0] = ix_i8(ix.wo, FX_V, FX_H);
    expect_desc(&fx, SVX_ERR_ENCODING, "integer-graph encoding 4");
    fx_free(&fx);
}

/* tests/data/models/det_int.svxm (make_int_golden.py, the Python writer) ==
 * the same integer graph written by svx_model_serialize, byte for byte. */
static void test_int_same_bytes_as_python(void)
{
    FILE *f = fopen("tests/data/models/det_int.svxm", "rb");
    if (!f) {
        printf("(tests/data/models/det_int.svxm absent: skipped) ");
        return;
    }
    static uint8_t py[16384];
    size_t n_py = fread(py, 1, sizeof py, f);
    fclose(f);
    static float mean[8], istd[8];
    static int8_t cw[12], wih[192], whh[48], wo[116];
    static int32_t cm[2], ck[2] = {20, 20}, cb[2], mih[12], kih[12], bih[12], mhh[12], khh[12],
                   bhh[12], mo[29], ko[29], bo[29], knots[46];
    for (int i = 0; i < 8; i++) {
        mean[i] = 0.25f * (float)i - 1.0f;
        istd[i] = 0.5f;
    }
    for (int i = 0; i < 12; i++)
        cw[i] = (int8_t)((i * 37) % 255 - 127);
    for (int i = 0; i < 2; i++) {
        cm[i] = 16384 + 1000 * i;
        cb[i] = 5 * i - 3;
    }
    for (int i = 0; i < 192; i++)
        wih[i] = (int8_t)((i * 7) % 9 - 4);
    for (int i = 0; i < 48; i++)
        whh[i] = (int8_t)((i * 5) % 9 - 4);
    for (int i = 0; i < 12; i++) {
        mih[i] = 20000 + i;
        kih[i] = 14;
        bih[i] = 100 * i - 600;
        mhh[i] = 18000 + i;
        khh[i] = 19;
        bhh[i] = 50 - 10 * i;
    }
    for (int i = 0; i < 116; i++)
        wo[i] = (int8_t)((i * 3) % 7 - 3);
    for (int i = 0; i < 29; i++) {
        mo[i] = 17000 + 3 * i;
        ko[i] = 18;
        bo[i] = 7 * i - 100;
    }
    svx_int_pwl pwl;
    svx_int_pwl_default_sigmoid(&pwl);
    for (int i = 0; i < 23; i++) {
        knots[i] = pwl.x[i];
        knots[23 + i] = pwl.y[i];
    }
    svx_layer_desc L[4] = {
        {SVX_LAYER_INT_INPUT, "in", 2, {8, 5}, 2, {fx_vector(mean, 8), fx_vector(istd, 8)}},
        {SVX_LAYER_INT_CONV2D, "conv", 11, {1, 8, 2, 8, 2, 3, 1, 1, 1, 1, 1}, 4,
         {ix_i8(cw, 2, 6), ix_i32(cm, 2, 0), ix_i32(ck, 2, 0), ix_i32(cb, 2, 0)}},
        {SVX_LAYER_INT_GRU, "gru", 3, {16, 4, 7}, 9,
         {ix_i8(wih, 12, 16), ix_i8(whh, 12, 4), ix_i32(mih, 12, 0), ix_i32(kih, 12, 0),
          ix_i32(bih, 12, 0), ix_i32(mhh, 12, 0), ix_i32(khh, 12, 0), ix_i32(bhh, 12, 0),
          ix_i32(knots, 2, 23)}},
        {SVX_LAYER_INT_LINEAR, "out", 5, {4, 29, 0, 0, 8}, 4,
         {ix_i8(wo, 29, 4), ix_i32(mo, 29, 0), ix_i32(ko, 29, 0), ix_i32(bo, 29, 0)}},
    };
    svx_model_desc d;
    memset(&d, 0, sizeof d);
    svx_frontend_params_default(&d.fe);
    d.fe.n_mels = 8;
    d.n_symbols = FX_V;
    d.symbols = svx_default_symbols;
    d.meta = "{\"test\": \"det_int\"}";
    d.n_layers = 4;
    d.layers = L;
    uint8_t *c;
    size_t n_c;
    CU_ASSERT_EQUAL_FATAL(svx_model_serialize(&d, &c, &n_c, NULL), SVX_OK);
    size_t first = 0;
    while (first < n_c && first < n_py && c[first] == py[first])
        first++;
    if (first < n_c || n_c != n_py)
        printf("\n  C and Python writers differ first at byte %zu of %zu/%zu\n", first, n_c, n_py);
    CU_ASSERT(n_c == n_py && memcmp(c, py, n_c) == 0);
    svx_model *m;
    CU_ASSERT_EQUAL(svx_model_load_memory(py, n_py, NULL, &m), SVX_OK);
    CU_ASSERT_EQUAL(svx_model_forms(m), SVX_MODEL_FORM_INTEGER);
    svx_model_destroy(m);
    free(c);
}

void test_register_model_file(void);
void test_register_model_file(void)
{
    static const tu_test tests[] = {
        {"valid tiny model, accessors, summary, file I/O", test_valid},
        {"truncated anywhere and inside each section", test_truncated},
        {"bad magic, newer version, flipped bits (CRC), trailing data", test_magic_version_crc},
        {"impossible shapes and layer chains", test_impossible_shapes},
        {"overflowing sizes/offsets, unknown encoding and layer type", test_overflowing_fields},
        {"non-finite floats and i8 -128", test_bad_values},
        {"C writer == Python writer, byte for byte (every encoding)", test_same_bytes_as_python},
        {"integer graph: forms, path choice, sizes", test_integer_valid},
        {"integer graph: hostile parameters, tensors, values, knots", test_integer_hostile},
        {"integer graph: C writer == Python writer, byte for byte", test_int_same_bytes_as_python},
    };
    tu_add_suite("model_file", tests, sizeof tests / sizeof tests[0]);
}
