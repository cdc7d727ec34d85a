/* `shiftvox info` and `shiftvox features` on the hostile corpus: every bad
 * model / audio file of tests/data/bad/expected.tsv gives exit status 1 and
 * its expected message naming the file on stderr (no crash: a signal would
 * give 128+); `features` goes on with the rest of its files. */
#include "test_cli.h"

static int read_rows(const char *want_kind, char files[][128], char frags[][200], int *ok, int max)
{
    FILE *f = fopen("tests/data/bad/expected.tsv", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *file = strtok(line, "\t"), *kind = strtok(NULL, "\t"), *code = strtok(NULL, "\t"),
             *frag = strtok(NULL, "\t");
        if (!file || !kind || !code || !frag || strcmp(kind, want_kind) || file[0] == '@')
            continue;
        snprintf(files[n], 128, "tests/data/bad/%.100s", file);
        snprintf(frags[n], 200, "%s", frag);
        ok[n] = !strcmp(code, "SVX_OK");
        n++;
    }
    fclose(f);
    return n;
}

static void test_info_corpus(void)
{
    static char files[128][128], frags[128][200];
    static int ok[128];
    int n = read_rows("model", files, frags, ok, 128);
    CU_ASSERT_FATAL(n > 20);
    char cmd[1024], bin[512], out_path[256], err_path[256], err[8192];
    tu_tmp_path(out_path, sizeof out_path, "info.out");
    tu_tmp_path(err_path, sizeof err_path, "info.err");
    int bad = 0;
    for (int i = 0; i < n; i++) {
        snprintf(cmd, sizeof cmd, "%.500s info %.127s", cli_bin(bin, sizeof bin), files[i]);
        int rc = cli_run(cmd, out_path, err_path, 30);
        cli_read(err_path, err, sizeof err);
        int good = rc == (ok[i] ? 0 : 1) && (ok[i] || (strstr(err, frags[i]) && strstr(err, files[i])));
        if (!good) {
            bad++;
            printf("\n  info %s: exit %d, stderr '%.200s'", files[i], rc, err);
        }
        CU_ASSERT(good);
    }
    printf("\n  info: %d model files, %d mismatches", n, bad);
}

static void test_features_corpus(void)
{
    static char files[128][128], frags[128][200];
    static int ok[128];
    int n = read_rows("audio", files, frags, ok, 128);
    CU_ASSERT_FATAL(n > 10);
    static char cmd[16384], out[65536], err[65536];
    char bin[512], out_path[256], err_path[256];
    size_t o = (size_t)snprintf(cmd, sizeof cmd, "%s features", cli_bin(bin, sizeof bin));
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, " %s", files[i]);
    snprintf(cmd + o, sizeof cmd - o, " samples/yes.wav");
    tu_tmp_path(out_path, sizeof out_path, "features.out");
    tu_tmp_path(err_path, sizeof err_path, "features.err");
    int rc = cli_run(cmd, out_path, err_path, 60);
    cli_read(out_path, out, sizeof out);
    cli_read(err_path, err, sizeof err);
    CU_ASSERT(rc == 1);
    int n_bad = 0;
    for (int i = 0; i < n; i++) {
        char needle[160];
        snprintf(needle, sizeof needle, "%.140s:", files[i]);
        if (ok[i]) {
            CU_ASSERT(cli_count_lines(out, needle) == 1);
        } else {
            n_bad++;
            int lines = cli_count_lines(err, needle);
            if (lines != 1 || !strstr(err, frags[i]))
                printf("\n  features %s: %d error lines, '%s' %s", files[i], lines, frags[i],
                       strstr(err, frags[i]) ? "found" : "MISSING");
            CU_ASSERT(lines == 1 && strstr(err, frags[i]) != NULL);
        }
    }
    /* The good file after all the bad ones is still processed. */
    CU_ASSERT(cli_count_lines(out, "samples/yes.wav:") == 1);
    char summary[64];
    snprintf(summary, sizeof summary, "%d of %d files failed", n_bad, n + 1);
    CU_ASSERT(strstr(err, summary) != NULL);
    printf("\n  features: %d files, exit %d", n + 1, rc);
}

/* features writing frames (-o -) to /dev/full, to a closed pipe, and -o
 * FILE on /dev/full: a clear error and exit 1, never death by SIGPIPE. */
static void test_features_bad_output(void)
{
    char cmd[1024], bin[512], err_path[256], err[8192];
    tu_tmp_path(err_path, sizeof err_path, "features-out.err");
    static const struct { const char *args; int closed_pipe; const char *want; } cases[] = {
        {"-o - samples/yes.wav", 0, "No space left on device"},
        {"-o /dev/full samples/yes.wav", 0, "No space left on device"},
        {"-o - samples/yes.wav", 1, "Broken pipe"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s features %s", cli_bin(bin, sizeof bin), cases[i].args);
        int rc = cases[i].closed_pipe ? cli_run_closed_stdout(cmd, err_path, 30)
                                      : cli_run(cmd, "/dev/full", err_path, 30);
        cli_read(err_path, err, sizeof err);
        printf("\n  features %s, stdout %s: exit %d%s, '%.100s'", cases[i].args,
               cases[i].closed_pipe ? "a closed pipe" : "/dev/full", rc,
               rc == 128 + SIGPIPE ? " (killed by SIGPIPE)" : "", err);
        CU_ASSERT(rc == 1);
        CU_ASSERT(strstr(err, cases[i].want) != NULL);
    }
}

void test_register_cli_tools(void);
void test_register_cli_tools(void)
{
    static const tu_test tests[] = {
        {"info: every bad model file gives its message, exit 1", test_info_corpus},
        {"features: every bad audio file reported, the rest processed", test_features_corpus},
        {"features: full disk and closed pipe give an error, exit 1", test_features_bad_output},
    };
    tu_add_suite("cli_tools", tests, sizeof tests / sizeof tests[0]);
}
