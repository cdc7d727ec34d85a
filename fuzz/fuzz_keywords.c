/* libFuzzer target: the keyword-file parser (svx_keywords_parse) and the
 * --keywords list parser (svx_keywords_from_csv) on the same bytes. Every
 * accepted list must satisfy the documented limits. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "shiftvox.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_list(const svx_keyword_list *kl)
{
    int n = svx_keyword_list_count(kl);
    const svx_keyword *k = svx_keyword_list_items(kl);
    if (n < 1 || n > 64)
        abort();
    for (int i = 0; i < n; i++) {
        size_t len = strlen(k[i].word);
        if (len == 0 || len > 63 || !(k[i].sensitivity >= 0.0f && k[i].sensitivity <= 1.0f))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    svx_keyword_list *kl = NULL;
    /* Exact-size heap copy so ASan sees any read past n_bytes. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    if (svx_keywords_parse(text, size, "fuzz.kw", 0.5f, &kl) == SVX_OK) {
        check_list(kl);
        svx_keyword_list_destroy(kl);
    }
    free(text);

    char *csv = malloc(size + 1);
    if (!csv)
        return 0;
    if (size)
        memcpy(csv, data, size);
    csv[size] = '\0';
    kl = NULL;
    if (svx_keywords_from_csv(csv, 0.5f, &kl) == SVX_OK) {
        check_list(kl);
        svx_keyword_list_destroy(kl);
    }
    free(csv);
    return 0;
}
