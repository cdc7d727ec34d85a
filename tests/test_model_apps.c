/* The engine's commands: shiftvox info (summary, refusal of a bad file) and
 * shiftvox bench (a short run: every kernel measured, ratios and RTF printed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shiftvox.h"
#include "testutil.h"

static char g_out[65536];

static void test_info(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s info tests/data/models/tiny_ds3.svxm", tu_bin());
    int rc = tu_run(cmd, g_out, sizeof g_out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "SVXM 1.0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "denseshift-3"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "4x20->4x10 k3x3 s2x2 p1 relu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "time stride   2"));
    snprintf(cmd, sizeof cmd, "%s info tests/data/models/make_golden.py", tu_bin());
    rc = tu_run(cmd, g_out, sizeof g_out);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "expected 'SVXM'"));
    snprintf(cmd, sizeof cmd, "%s info", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 2);
}

static void test_bench_json(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s bench --seconds 0.3 --reps 1 --json", tu_bin());
    int rc = tu_run(cmd, g_out, sizeof g_out);
    CU_ASSERT_EQUAL(rc, 0);
    static const char *const keys[] = {"\"denseshift_over_deepshift_exp\"", "\"denseshift_over_f32_simd\"",
                                       "\"denseshift_over_openblas\"", "\"openblas-sgemv\"",
                                       "\"denseshift-scalar\"", "\"deepshift-scalar\"",
                                       "\"model_auto\"", "\"frontend\"", "\"peak_rss_mib\"", "\"stream_beam\"",
                                       "\"gru\"", "\"rows\": 480"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!strstr(g_out, keys[i]))
            printf("\n  bench --json lacks %s\n", keys[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(g_out, keys[i]));
    }
    CU_ASSERT_PTR_NULL(strstr(g_out, "nan"));
    /* a measured real-time factor: positive and finite */
    const char *p = strstr(g_out, "\"model_auto\": ");
    if (p) {
        double rtf = atof(p + strlen("\"model_auto\": "));
        CU_ASSERT(rtf > 0.0 && rtf < 1.0);
    }
    snprintf(cmd, sizeof cmd, "%s bench --model tests/data/models/tiny_mixed.svxm --seconds 0.2 --reps 1",
             tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "DenseShift / OpenBLAS"));
    snprintf(cmd, sizeof cmd, "%s bench --model /nonexistent.svxm", tu_bin());
    CU_ASSERT_EQUAL(tu_run(cmd, g_out, sizeof g_out), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g_out, "/nonexistent.svxm"));
}

void test_register_model_apps(void);
void test_register_model_apps(void)
{
    static const tu_test tests[] = {
        {"shiftvox info", test_info},
        {"shiftvox bench --json", test_bench_json},
    };
    tu_add_suite("model_apps", tests, sizeof tests / sizeof tests[0]);
}
