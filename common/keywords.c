/* Keyword lists: the keyword-file parser and the --keywords CSV form.
 * Input is hostile: sizes are bounded, every line is checked, and each error
 * names the source and the line. */
#include "svx_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KEYWORDS 64
#define MAX_KEYWORD_BYTES 63
#define MAX_FILE_BYTES (1u << 20)

struct svx_keyword_list {
    int n;
    svx_keyword items[MAX_KEYWORDS];
    char text[MAX_KEYWORDS][MAX_KEYWORD_BYTES + 1];
};

/* Parses the whole of s (length n) as a number in 0..1. */
static int parse_sensitivity(const char *s, size_t n, float *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || *end || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = (float)v;
    return 0;
}

static int looks_numeric(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
              s[i] == 'e' || s[i] == 'E'))
            return 0;
    return n > 0 && (isdigit((unsigned char)s[0]) || s[0] == '.' || s[0] == '-' || s[0] == '+');
}

/* Adds keyword phrase p[0..n) (whitespace collapsed, lower-cased). */
static int add_keyword(svx_keyword_list *kl, const char *p, size_t n, float sens, const char *src,
                       int line)
{
    /* "FILE:LINE" for files, "--keywords item N" for the CSV form. */
    char where[300];
    if (src)
        snprintf(where, sizeof where, "%.256s:%d", src, line);
    else
        snprintf(where, sizeof where, "--keywords item %d", line);
    if (kl->n >= MAX_KEYWORDS)
        return svx_fail(SVX_ERR_KEYWORD, "%s: more than %d keywords", where, MAX_KEYWORDS);
    char *dst = kl->text[kl->n];
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ' ' || c == '\t') {
            space = o > 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f)
            return svx_fail(SVX_ERR_KEYWORD, "%s: control character 0x%02x in keyword", where, c);
        if (o + (space ? 2 : 1) > MAX_KEYWORD_BYTES)
            return svx_fail(SVX_ERR_KEYWORD, "%s: keyword longer than %d bytes", where,
                            MAX_KEYWORD_BYTES);
        if (space)
            dst[o++] = ' ';
        space = 0;
        dst[o++] = (char)tolower(c);
    }
    dst[o] = '\0';
    int letters = 0;
    for (size_t i = 0; i < o; i++)
        letters += isalpha((unsigned char)dst[i]) != 0;
    if (o > 0 && !letters)
        return svx_fail(SVX_ERR_KEYWORD, "%s: keyword '%s' has no letters", where, dst);
    if (o == 0)
        return svx_fail(SVX_ERR_KEYWORD, "%s: empty keyword", where);
    for (int k = 0; k < kl->n; k++)
        if (!strcmp(kl->text[k], dst))
            return svx_fail(SVX_ERR_KEYWORD, "%s: keyword '%s' given twice", where, dst);
    kl->items[kl->n].word = dst;
    kl->items[kl->n].sensitivity = sens;
    kl->n++;
    return SVX_OK;
}

static int check_default(float s)
{
    if (!(s >= 0.0f && s <= 1.0f))
        return svx_fail(SVX_ERR_INVALID_ARG, "default sensitivity %g outside 0..1", (double)s);
    return SVX_OK;
}

int svx_keywords_parse(const char *text, size_t n_bytes, const char *source,
                       float default_sensitivity, svx_keyword_list **out)
{
    if (!out || (!text && n_bytes))
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_keywords_parse: NULL argument");
    *out = NULL;
    if (!source)
        source = "keywords";
    int rc = check_default(default_sensitivity);
    if (rc < 0)
        return rc;
    if (n_bytes > MAX_FILE_BYTES)
        return svx_fail(SVX_ERR_KEYWORD, "%s: %zu bytes is too large for a keyword list (max %u)",
                        source, n_bytes, MAX_FILE_BYTES);
    svx_keyword_list *kl = calloc(1, sizeof *kl);
    if (!kl)
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", source);
    size_t pos = 0;
    int line = 0;
    while (pos < n_bytes) {
        line++;
        size_t end = pos;
        while (end < n_bytes && text[end] != '\n')
            end++;
        size_t a = pos, b = end;
        pos = end + 1;
        for (size_t i = a; i < b; i++) {
            if (text[i] == '\0') {
                svx_keyword_list_destroy(kl);
                return svx_fail(SVX_ERR_KEYWORD, "%s:%d: NUL byte (not a text file?)", source, line);
            }
            if (text[i] == '#') {
                b = i;
                break;
            }
        }
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (a == b)
            continue;
        /* Last token a number -> the sensitivity. */
        size_t t = b;
        while (t > a && !isspace((unsigned char)text[t - 1]))
            t--;
        float sens = default_sensitivity;
        size_t phrase_end = b;
        if (t > a && looks_numeric(text + t, b - t)) {
            if (parse_sensitivity(text + t, b - t, &sens) < 0) {
                svx_keyword_list_destroy(kl);
                return svx_fail(SVX_ERR_KEYWORD, "%s:%d: sensitivity '%.*s' is not a number in 0..1",
                                source, line, (int)(b - t > 20 ? 20 : b - t), text + t);
            }
            phrase_end = t;
        }
        rc = add_keyword(kl, text + a, phrase_end - a, sens, source, line);
        if (rc < 0) {
            svx_keyword_list_destroy(kl);
            return rc;
        }
    }
    if (kl->n == 0) {
        svx_keyword_list_destroy(kl);
        return svx_fail(SVX_ERR_KEYWORD, "%s: no keywords", source);
    }
    *out = kl;
    return SVX_OK;
}

int svx_keywords_load(const char *path, float default_sensitivity, svx_keyword_list **out)
{
    if (!path || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_keywords_load: NULL argument");
    *out = NULL;
    /* Non-blocking open so a FIFO without a writer cannot hang us; only
     * regular files are keyword files. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return svx_fail(SVX_ERR_IO, "%s: cannot open keyword file: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int is_dir = fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
        close(fd);
        return svx_fail(SVX_ERR_IO, "%s: %s, expected a keyword file (text)", path,
                        is_dir ? "is a directory" : "is not a regular file (pipe or device)");
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return svx_fail(SVX_ERR_IO, "%s: cannot open keyword file: %s", path, strerror(errno));
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return svx_fail(SVX_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    int rc;
    if (err)
        rc = svx_fail(SVX_ERR_IO, "%s: cannot read keyword file (is it a directory?)", path);
    else if (n > MAX_FILE_BYTES)
        rc = svx_fail(SVX_ERR_KEYWORD, "%s: larger than %u bytes, not a keyword list", path,
                      MAX_FILE_BYTES);
    else
        rc = svx_keywords_parse(buf, n, path, default_sensitivity, out);
    free(buf);
    return rc;
}

int svx_keywords_from_csv(const char *csv, float default_sensitivity, svx_keyword_list **out)
{
    if (!csv || !out)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_keywords_from_csv: NULL argument");
    *out = NULL;
    int rc = check_default(default_sensitivity);
    if (rc < 0)
        return rc;
    size_t n = strlen(csv);
    if (n > MAX_FILE_BYTES)
        return svx_fail(SVX_ERR_KEYWORD, "--keywords: list too long");
    svx_keyword_list *kl = calloc(1, sizeof *kl);
    if (!kl)
        return svx_fail(SVX_ERR_NO_MEMORY, "--keywords: out of memory");
    size_t pos = 0;
    int item = 0;
    while (pos <= n) {
        size_t end = pos;
        while (end < n && csv[end] != ',')
            end++;
        item++;
        size_t colon = end;
        for (size_t i = pos; i < end; i++)
            if (csv[i] == ':')
                colon = i;
        float sens = default_sensitivity;
        if (colon < end) {
            size_t a = colon + 1, b = end;
            while (a < b && isspace((unsigned char)csv[a])) a++;
            while (b > a && isspace((unsigned char)csv[b - 1])) b--;
            if (parse_sensitivity(csv + a, b - a, &sens) < 0) {
                svx_keyword_list_destroy(kl);
                return svx_fail(SVX_ERR_KEYWORD, "--keywords: item %d: sensitivity '%.*s' is not a number in 0..1",
                                item, (int)(b - a > 20 ? 20 : b - a), csv + a);
            }
        }
        rc = add_keyword(kl, csv + pos, colon - pos, sens, NULL, item);
        if (rc < 0) {
            svx_keyword_list_destroy(kl);
            return rc;
        }
        pos = end + 1;
    }
    *out = kl;
    return SVX_OK;
}

int svx_keyword_list_count(const svx_keyword_list *kl) { return kl ? kl->n : 0; }
const svx_keyword *svx_keyword_list_items(const svx_keyword_list *kl) { return kl ? kl->items : NULL; }
void svx_keyword_list_destroy(svx_keyword_list *kl) { free(kl); }
