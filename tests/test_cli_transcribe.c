/* `shiftvox transcribe` against hostile input and broken outputs:
 *  - the whole audio corpus of tests/data/bad/ (expected.tsv) mixed with good
 *    files: exit status 1, exactly one error line per bad file naming it with
 *    its expected message, every good file still transcribed, in order, with
 *    1 and 2 worker threads alike;
 *  - standard output on /dev/full, or a pipe nobody reads: a clear error and
 *    a non-zero exit status, not a silent partial line or death by SIGPIPE.
 * Skipped (with a note) while the binary has no transcribe command. The
 * model is tests/data/models/tiny_ds3.svxm: these tests are about the
 * plumbing, not accuracy. */
#include "test_cli.h"

#define MODEL "tests/data/models/tiny_ds3.svxm"

static int have_transcribe(void)
{
    static int have = -1;
    if (have < 0) {
        have = cli_has_command("transcribe");
        if (!have)
            printf("\n  skipped: %s has no transcribe command yet", tu_bin());
    }
    return have;
}

typedef struct {
    char path[256];
    char fragment[200];
    int bad;
} cli_file;

/* The audio rows of expected.tsv (run-time '@' rows: @missing and @dir
 * only), plus two good samples at the start, middle and end. */
static int corpus_files(cli_file *files, int max, char *dir_path, size_t n_dir)
{
    FILE *f = fopen("tests/data/bad/expected.tsv", "r");
    if (!f)
        return -1;
    int n = 0;
    snprintf(files[n].path, sizeof files[n].path, "samples/yes.wav");
    files[n++].bad = 0;
    char line[512];
    tu_tmp_path(dir_path, n_dir, "cli_dir.wav");
    mkdir(dir_path, 0755);
    while (fgets(line, sizeof line, f) && n < max - 2) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *file = strtok(line, "\t"), *kind = strtok(NULL, "\t"), *code = strtok(NULL, "\t"),
             *frag = strtok(NULL, "\t");
        if (!file || !kind || !code || !frag || strcmp(kind, "audio") != 0)
            continue;
        cli_file *c = &files[n];
        if (!strcmp(file, "@missing"))
            tu_tmp_path(c->path, sizeof c->path, "cli_missing.wav");
        else if (!strcmp(file, "@dir"))
            snprintf(c->path, sizeof c->path, "%.250s", dir_path);
        else if (file[0] == '@')
            continue;
        else
            snprintf(c->path, sizeof c->path, "tests/data/bad/%.200s", file);
        c->bad = strcmp(code, "SVX_OK") != 0;
        snprintf(c->fragment, sizeof c->fragment, "%s", frag);
        n++;
        if (n == 8) {
            snprintf(files[n].path, sizeof files[n].path, "samples/stop.wav");
            files[n++].bad = 0;
        }
    }
    fclose(f);
    snprintf(files[n].path, sizeof files[n].path, "samples/no_yes_no.wav");
    files[n++].bad = 0;
    return n;
}

static void run_corpus(int jobs)
{
    if (!have_transcribe())
        return;
    static cli_file files[128];
    char dir_path[256];
    int n = corpus_files(files, 128, dir_path, sizeof dir_path);
    CU_ASSERT_FATAL(n > 10);
    static char cmd[16384], out[65536], err[65536];
    char bin[512], out_path[256], err_path[256];
    size_t o = (size_t)snprintf(cmd, sizeof cmd, "%s transcribe --no-progress -j %d -m %s",
                                cli_bin(bin, sizeof bin), jobs, MODEL);
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(cmd + o, sizeof cmd - o, " '%s'", files[i].path);
    tu_tmp_path(out_path, sizeof out_path, "cli_corpus.out");
    tu_tmp_path(err_path, sizeof err_path, "cli_corpus.err");
    int rc = cli_run(cmd, out_path, err_path, 120);
    cli_read(out_path, out, sizeof out);
    cli_read(err_path, err, sizeof err);
    rmdir(dir_path);
    printf("\n  -j %d: %d files, exit status %d", jobs, n, rc);
    CU_ASSERT(rc == 1);   /* some failed, none crashed (a signal gives 128+) */
    int n_bad = 0, n_good = 0;
    const char *prev_good = out;
    for (int i = 0; i < n; i++) {
        char needle[300];
        if (files[i].bad) {
            n_bad++;
            /* exactly one stderr line names the file, with its message */
            snprintf(needle, sizeof needle, "%.250s:", files[i].path);
            int lines = cli_count_lines(err, needle);
            int has_msg = strstr(err, files[i].fragment) != NULL;
            if (lines != 1 || !has_msg)
                printf("\n  %s: %d error lines, message '%s' %s", files[i].path, lines,
                       files[i].fragment, has_msg ? "found" : "MISSING");
            CU_ASSERT(lines == 1 && has_msg);
            snprintf(needle, sizeof needle, "%.250s\t", files[i].path);
            CU_ASSERT(strstr(out, needle) == NULL);
        } else {
            n_good++;
            /* one result line "PATH<TAB>text", in the order given */
            snprintf(needle, sizeof needle, "%.250s\t", files[i].path);
            const char *at = strstr(out, needle);
            if (!at || at < prev_good)
                printf("\n  %s: result line %s", files[i].path, at ? "out of order" : "MISSING");
            CU_ASSERT(at != NULL && at >= prev_good);
            CU_ASSERT(cli_count_lines(out, needle) == 1);
            if (at)
                prev_good = at;
        }
    }
    char summary[64];
    snprintf(summary, sizeof summary, "%d of %d files failed", n_bad, n);
    CU_ASSERT(strstr(err, summary) != NULL);
    /* Every stdout line is whole: ends in a newline. */
    size_t len = strlen(out);
    CU_ASSERT(len == 0 || out[len - 1] == '\n');
    printf(" (%d bad, %d good)", n_bad, n_good);
}

static void test_corpus_1(void) { run_corpus(1); }
static void test_corpus_2(void) { run_corpus(2); }

static void test_dev_full(void)
{
    if (!have_transcribe())
        return;
    char cmd[1024], bin[512], err_path[256], err[8192];
    tu_tmp_path(err_path, sizeof err_path, "cli_full.err");
    snprintf(cmd, sizeof cmd, "%s transcribe --no-progress -m %s samples/yes.wav samples/stop.wav",
             cli_bin(bin, sizeof bin), MODEL);
    int rc = cli_run(cmd, "/dev/full", err_path, 60);
    cli_read(err_path, err, sizeof err);
    printf("\n  stdout on /dev/full: exit %d, stderr '%.200s'", rc, err);
    CU_ASSERT(rc >= 1 && rc < 128);
    CU_ASSERT(strstr(err, "No space left on device") != NULL);
}

static void test_closed_stdout(void)
{
    if (!have_transcribe())
        return;
    char cmd[1024], bin[512], err_path[256], err[8192];
    tu_tmp_path(err_path, sizeof err_path, "cli_pipe.err");
    snprintf(cmd, sizeof cmd, "%s transcribe --no-progress -m %s samples/yes.wav samples/stop.wav",
             cli_bin(bin, sizeof bin), MODEL);
    int rc = cli_run_closed_stdout(cmd, err_path, 60);
    cli_read(err_path, err, sizeof err);
    printf("\n  stdout a closed pipe: exit %d, stderr '%.200s'", rc, err);
    CU_ASSERT(rc >= 1 && rc < 128);   /* an error exit, not killed by SIGPIPE */
    CU_ASSERT(strstr(err, "Broken pipe") != NULL);
}

/* A FIFO nobody writes to, among good files: reported, the batch goes on. */
static void test_fifo(void)
{
    if (!have_transcribe())
        return;
    char fifo[256], cmd[1024], bin[512], out_path[256], err_path[256], out[8192], err[8192];
    tu_tmp_path(fifo, sizeof fifo, "cli_fifo.wav");
    unlink(fifo);
    CU_ASSERT_FATAL(mkfifo(fifo, 0644) == 0);
    tu_tmp_path(out_path, sizeof out_path, "cli_fifo.out");
    tu_tmp_path(err_path, sizeof err_path, "cli_fifo.err");
    snprintf(cmd, sizeof cmd, "%s transcribe --no-progress -m %s %s samples/yes.wav",
             cli_bin(bin, sizeof bin), MODEL, fifo);
    int rc = cli_run(cmd, out_path, err_path, 20);
    cli_read(out_path, out, sizeof out);
    cli_read(err_path, err, sizeof err);
    unlink(fifo);
    printf("\n  FIFO without a writer + samples/yes.wav: exit %d%s, stderr '%.160s'", rc,
           rc == -2 ? " (killed after 20 s: blocked)" : "", err);
    CU_ASSERT(rc == 1);
    CU_ASSERT(strstr(err, fifo) != NULL);
    CU_ASSERT(strstr(out, "samples/yes.wav\t") != NULL);
}

void test_register_cli_transcribe(void);
void test_register_cli_transcribe(void)
{
    static const tu_test tests[] = {
        {"bad corpus + good files: one error line each, the rest transcribed (-j 1)", test_corpus_1},
        {"bad corpus + good files: the same with -j 2", test_corpus_2},
        {"stdout on /dev/full: clear error, non-zero exit", test_dev_full},
        {"stdout a closed pipe: clear error, non-zero exit", test_closed_stdout},
        {"a FIFO without a writer: reported, the batch goes on", test_fifo},
    };
    tu_add_suite("cli_transcribe", tests, sizeof tests / sizeof tests[0]);
}
