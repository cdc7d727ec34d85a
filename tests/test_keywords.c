/* Keyword lists: CSV form, keyword files, and hostile keyword files. */
#include <stdio.h>
#include <string.h>

#include "shiftvox.h"
#include "testutil.h"

static void test_csv(void)
{
    svx_keyword_list *kl;
    CU_ASSERT_EQUAL_FATAL(svx_keywords_from_csv("yes, No:0.7,turn  on", 0.5f, &kl), SVX_OK);
    CU_ASSERT_EQUAL(svx_keyword_list_count(kl), 3);
    const svx_keyword *k = svx_keyword_list_items(kl);
    CU_ASSERT_STRING_EQUAL(k[0].word, "yes");
    CU_ASSERT_EQUAL(k[0].sensitivity, 0.5f);
    CU_ASSERT_STRING_EQUAL(k[1].word, "no");
    CU_ASSERT_EQUAL(k[1].sensitivity, 0.7f);
    CU_ASSERT_STRING_EQUAL(k[2].word, "turn on");
    svx_keyword_list_destroy(kl);
    CU_ASSERT_EQUAL(svx_keywords_from_csv("yes,,no", 0.5f, &kl), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NULL(kl);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "item 2"));
    CU_ASSERT_EQUAL(svx_keywords_from_csv("yes:1.5", 0.5f, &kl), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "1.5"));
    CU_ASSERT_EQUAL(svx_keywords_from_csv("yes,yes", 0.5f, &kl), SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "twice"));
    CU_ASSERT_EQUAL(svx_keywords_from_csv("yes", 2.0f, &kl), SVX_ERR_INVALID_ARG);
    svx_keyword_list_destroy(NULL);
}

static void test_file(void)
{
    const char *text = "# wake words\n\nhey shift vox 0.8\nstop\t0.25  # comment\n  LEFT  \nseven 1\n";
    svx_keyword_list *kl;
    CU_ASSERT_EQUAL_FATAL(svx_keywords_parse(text, strlen(text), "kw.txt", 0.5f, &kl), SVX_OK);
    CU_ASSERT_EQUAL(svx_keyword_list_count(kl), 4);
    const svx_keyword *k = svx_keyword_list_items(kl);
    CU_ASSERT_STRING_EQUAL(k[0].word, "hey shift vox");
    CU_ASSERT_EQUAL(k[0].sensitivity, 0.8f);
    CU_ASSERT_STRING_EQUAL(k[1].word, "stop");
    CU_ASSERT_EQUAL(k[1].sensitivity, 0.25f);
    CU_ASSERT_STRING_EQUAL(k[2].word, "left");
    CU_ASSERT_EQUAL(k[2].sensitivity, 0.5f);
    CU_ASSERT_EQUAL(k[3].sensitivity, 1.0f);
    svx_keyword_list_destroy(kl);

    char path[512];
    tu_tmp_path(path, sizeof path, "kw-ok.txt");
    CU_ASSERT_EQUAL_FATAL(tu_write_file(path, text, strlen(text)), 0);
    CU_ASSERT_EQUAL(svx_keywords_load(path, 0.5f, &kl), SVX_OK);
    CU_ASSERT_EQUAL(svx_keyword_list_count(kl), 4);
    svx_keyword_list_destroy(kl);
}

static void expect_bad(const char *text, size_t n, const char *needle)
{
    svx_keyword_list *kl = (svx_keyword_list *)&kl;
    int rc = svx_keywords_parse(text, n, "bad.kw", 0.5f, &kl);
    CU_ASSERT_EQUAL(rc, SVX_ERR_KEYWORD);
    CU_ASSERT_PTR_NULL(kl);
    const char *msg = svx_last_error_message();
    if (!strstr(msg, needle))
        printf("\n  message '%s' lacks '%s'\n", msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "bad.kw"));
}

static void test_hostile(void)
{
    expect_bad("", 0, "no keywords");
    expect_bad("# only a comment\n\n", 18, "no keywords");
    expect_bad("yes\nno 1.01\n", 11, "bad.kw:2: sensitivity");
    expect_bad("yes\nno -0.1\n", 11, "bad.kw:2");
    expect_bad("yes\0no\n", 7, "NUL");
    expect_bad("a\x01b\n", 4, "control character");
    char longkw[200];
    memset(longkw, 'a', sizeof longkw);
    expect_bad(longkw, sizeof longkw, "longer than");
    expect_bad("0.5\n", 4, "bad.kw:1: keyword '0.5' has no letters");
    expect_bad("yes\n  \t 0.5\n", 11, "bad.kw:2");
    char many[64 * 8 + 64];
    size_t o = 0;
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(many + o, sizeof many - o, "k%d\n", i);
    expect_bad(many, o, "more than 64");
    expect_bad("go\ngo\n", 6, "twice");
}

static void test_files_hostile(void)
{
    svx_keyword_list *kl;
    CU_ASSERT_EQUAL(svx_keywords_load("/nonexistent/kw.txt", 0.5f, &kl), SVX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "/nonexistent/kw.txt"));
    CU_ASSERT_EQUAL(svx_keywords_load(tu_tmpdir(), 0.5f, &kl), SVX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(svx_last_error_message(), "directory"));
    CU_ASSERT_EQUAL(svx_keywords_load(NULL, 0.5f, &kl), SVX_ERR_INVALID_ARG);
}

void test_register_keywords(void);
void test_register_keywords(void)
{
    static const tu_test tests[] = {
        {"comma-separated keywords with sensitivities", test_csv},
        {"keyword file with comments and phrases", test_file},
        {"hostile keyword text gives named errors", test_hostile},
        {"missing file and directory", test_files_hostile},
    };
    tu_add_suite("keywords", tests, sizeof tests / sizeof tests[0]);
}
