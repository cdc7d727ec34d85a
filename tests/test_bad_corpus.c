/* The hostile-input corpus (tests/data/bad/): every broken audio, model and
 * keyword file gives exactly the error code and message expected.tsv lists
 * for it, the message names the file, nothing crashes or leaks (the asan run
 * and valgrind prove the last two).
 *
 * expected.tsv: FILE<TAB>KIND<TAB>CODE<TAB>FRAGMENT, '#' comments.
 *   KIND      audio (svx_audio_open_file at 16 kHz, then read to the end),
 *             model (svx_model_load), keywords (svx_keywords_load)
 *   CODE      SVX_ERR_* name, or SVX_OK for a file that must be read cleanly
 *             (FRAGMENT is then "N samples" for audio, "N keywords: a|b" for
 *             keywords)
 *   FILE      a file of tests/data/bad/, or one made here at run time:
 *             @missing    a path that does not exist
 *             @dir        a directory
 *             @sparse2g   a 2 GB sparse file of zeros (truncate), never committed
 *             @unreadable a file with mode 000. Tests run as root, for whom
 *                         mode 000 does not stop reading, so as root the
 *                         open is done in a child process that first drops
 *                         to uid/gid 65534 (nobody); as a normal user directly.
 *   FRAGMENT  must occur in svx_last_error_message() (which must also name
 *             the path).
 * SVX_BAD_PRINT=1 prints what each row actually gives (to write new rows). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shiftvox.h"
#include "testutil.h"

#define BAD_DIR "tests/data/bad"

typedef struct {
    char file[96], kind[16], code[32], fragment[200];
} bad_row;

static const struct { const char *name; int code; } k_codes[] = {
    {"SVX_OK", SVX_OK}, {"SVX_ERR_INVALID_ARG", SVX_ERR_INVALID_ARG},
    {"SVX_ERR_NO_MEMORY", SVX_ERR_NO_MEMORY}, {"SVX_ERR_IO", SVX_ERR_IO},
    {"SVX_ERR_FORMAT", SVX_ERR_FORMAT}, {"SVX_ERR_TRUNCATED", SVX_ERR_TRUNCATED},
    {"SVX_ERR_BAD_MAGIC", SVX_ERR_BAD_MAGIC}, {"SVX_ERR_VERSION", SVX_ERR_VERSION},
    {"SVX_ERR_CHECKSUM", SVX_ERR_CHECKSUM}, {"SVX_ERR_SHAPE", SVX_ERR_SHAPE},
    {"SVX_ERR_ENCODING", SVX_ERR_ENCODING}, {"SVX_ERR_BAD_AUDIO", SVX_ERR_BAD_AUDIO},
    {"SVX_ERR_DEVICE", SVX_ERR_DEVICE}, {"SVX_ERR_STATE", SVX_ERR_STATE},
    {"SVX_ERR_KEYWORD", SVX_ERR_KEYWORD}, {"SVX_ERR_FULL", SVX_ERR_FULL},
};

static const char *code_name(int code)
{
    for (size_t i = 0; i < sizeof k_codes / sizeof k_codes[0]; i++)
        if (k_codes[i].code == code)
            return k_codes[i].name;
    return "?";
}

static int code_value(const char *name, int *out)
{
    for (size_t i = 0; i < sizeof k_codes / sizeof k_codes[0]; i++)
        if (!strcmp(k_codes[i].name, name)) {
            *out = k_codes[i].code;
            return 0;
        }
    return -1;
}

/* Reads expected.tsv; returns the number of rows (at most max) or -1. */
static int read_table(bad_row *rows, int max)
{
    FILE *f = fopen(BAD_DIR "/expected.tsv", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *f1 = strtok(line, "\t"), *f2 = strtok(NULL, "\t"), *f3 = strtok(NULL, "\t"),
             *f4 = strtok(NULL, "\t");
        if (!f1 || !f2 || !f3 || !f4) {
            fclose(f);
            return -1;
        }
        snprintf(rows[n].file, sizeof rows[n].file, "%s", f1);
        snprintf(rows[n].kind, sizeof rows[n].kind, "%s", f2);
        snprintf(rows[n].code, sizeof rows[n].code, "%s", f3);
        snprintf(rows[n].fragment, sizeof rows[n].fragment, "%s", f4);
        n++;
    }
    fclose(f);
    return n;
}

/* Runs one file through the loader of its kind: the code, and the message
 * (for SVX_OK audio: "N samples"). */
static int probe(const char *kind, const char *path, char *msg, size_t n_msg)
{
    int rc;
    msg[0] = '\0';
    if (!strcmp(kind, "audio")) {
        svx_audio_reader *rd = NULL;
        rc = svx_audio_open_file(path, 16000, &rd);
        if (rc == SVX_OK) {
            float pcm[4096];
            long n, total = 0;
            while ((n = svx_audio_read(rd, pcm, 4096)) > 0)
                total += n;
            svx_audio_close(rd);
            if (n < 0)
                rc = (int)n;
            else
                snprintf(msg, n_msg, "%ld samples", total);
        } else if (rd) {
            return 1000;   /* a failed open must leave *out NULL */
        }
    } else if (!strcmp(kind, "model")) {
        svx_model *m = NULL;
        rc = svx_model_load(path, &m);
        if (rc == SVX_OK)
            svx_model_destroy(m);
        else if (m)
            return 1000;
    } else if (!strcmp(kind, "keywords")) {
        svx_keyword_list *kl = NULL;
        rc = svx_keywords_load(path, 0.5f, &kl);
        if (rc == SVX_OK) {
            /* "N keywords: a|b" */
            int n = svx_keyword_list_count(kl);
            const svx_keyword *k = svx_keyword_list_items(kl);
            size_t o = (size_t)snprintf(msg, n_msg, "%d keywords:", n);
            for (int i = 0; i < n && o < n_msg; i++)
                o += (size_t)snprintf(msg + o, n_msg - o, "%s%s", i ? "|" : " ", k[i].word);
            svx_keyword_list_destroy(kl);
        }
        else if (kl)
            return 1000;
    } else {
        return 1001;
    }
    if (rc < 0)
        snprintf(msg, n_msg, "%s", svx_last_error_message());
    return rc;
}

/* probe() in a child running as nobody (for @unreadable when we are root). */
static int probe_as_nobody(const char *kind, const char *path, char *msg, size_t n_msg)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 1002;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 1002;
    if (pid == 0) {
        close(fds[0]);
        char m[512];
        int rc = 1003;
        if (setgid(65534) == 0 && setuid(65534) == 0)
            rc = probe(kind, path, m, sizeof m);
        else
            snprintf(m, sizeof m, "setuid failed: %s", strerror(errno));
        char out[600];
        int len = snprintf(out, sizeof out, "%d\n%s", rc, m);
        if (write(fds[1], out, (size_t)len) < 0)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    char buf[600];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    char *nl = strchr(buf, '\n');
    if (!nl)
        return 1004;
    snprintf(msg, n_msg, "%s", nl + 1);
    return atoi(buf);
}

static char g_special_dir[64];

/* Path of a row's file, making the run-time ones. */
static const char *row_path(const bad_row *row, char *buf, size_t n)
{
    const char *ext = !strcmp(row->kind, "audio") ? "wav" : !strcmp(row->kind, "model") ? "svxm" : "kw";
    if (row->file[0] != '@') {
        snprintf(buf, n, "%s/%.95s", BAD_DIR, row->file);
        return buf;
    }
    if (!g_special_dir[0]) {
        snprintf(g_special_dir, sizeof g_special_dir, "/tmp/svx-bad-XXXXXX");
        if (!mkdtemp(g_special_dir))
            return NULL;
        chmod(g_special_dir, 0755);   /* so that nobody can reach @unreadable */
    }
    snprintf(buf, n, "%.63s/%.40s_%.15s.%s", g_special_dir, row->file + 1, row->kind, ext);
    if (!strcmp(row->file, "@missing")) {
        unlink(buf);
    } else if (!strcmp(row->file, "@dir")) {
        mkdir(buf, 0755);
    } else if (!strcmp(row->file, "@sparse2g")) {
        int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, (off_t)2000 * 1000 * 1000) != 0) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        close(fd);
    } else if (!strcmp(row->file, "@unreadable")) {
        static const char k_text[] = "yes\nno\n";
        if (tu_write_file(buf, k_text, sizeof k_text - 1) != 0 || chmod(buf, 0) != 0)
            return NULL;
    } else {
        return NULL;
    }
    return buf;
}

static void remove_special(const bad_row *row, const char *path)
{
    if (row->file[0] != '@')
        return;
    if (!strcmp(row->file, "@dir"))
        rmdir(path);
    else
        unlink(path);
}

static void test_corpus_table(void)
{
    static bad_row rows[256];
    int n = read_table(rows, 256);
    CU_ASSERT_FATAL(n > 0);
    int printing = getenv("SVX_BAD_PRINT") && *getenv("SVX_BAD_PRINT") == '1';
    int n_files[3] = {0, 0, 0}, n_fail = 0;
    for (int i = 0; i < n; i++) {
        const bad_row *row = &rows[i];
        char path[256], msg[600];
        int want;
        if (code_value(row->code, &want) != 0) {
            printf("\n  expected.tsv: %s: unknown code %s\n", row->file, row->code);
            CU_FAIL("unknown code name in expected.tsv");
            continue;
        }
        if (!row_path(row, path, sizeof path)) {
            printf("\n  %s: cannot make the run-time file: %s\n", row->file, strerror(errno));
            CU_FAIL("cannot make a run-time corpus file");
            continue;
        }
        int rc;
        if (!strcmp(row->file, "@unreadable") && geteuid() == 0)
            rc = probe_as_nobody(row->kind, path, msg, sizeof msg);
        else
            rc = probe(row->kind, path, msg, sizeof msg);
        remove_special(row, path);
        n_files[!strcmp(row->kind, "audio") ? 0 : !strcmp(row->kind, "model") ? 1 : 2]++;
        if (printing)
            printf("\n  %-34s %-8s %-20s %s", row->file, row->kind, code_name(rc), msg);
        int ok = rc == want && strstr(msg, row->fragment) != NULL;
        /* An error message says which file it is about. */
        if (rc < 0 && !strstr(msg, path))
            ok = 0;
        if (!ok) {
            n_fail++;
            printf("\n  MISMATCH %s (%s): got %s '%s'\n           expected %s containing '%s' and the path",
                   row->file, row->kind, code_name(rc), msg, row->code, row->fragment);
        }
        CU_ASSERT(ok);
    }
    if (g_special_dir[0])
        rmdir(g_special_dir);
    g_special_dir[0] = '\0';
    printf("\n  corpus: %d audio, %d model, %d keyword rows, %d mismatches\n", n_files[0],
           n_files[1], n_files[2], n_fail);
    CU_ASSERT(n_files[0] + n_files[1] + n_files[2] >= 25);
}

/* Every file in tests/data/bad/ (except the generator and the table) has a
 * row: a new hostile file cannot be added without its expected error. */
static void test_every_file_listed(void)
{
    static bad_row rows[256];
    int n = read_table(rows, 256);
    CU_ASSERT_FATAL(n > 0);
    char cmd[256], out[16384];
    snprintf(cmd, sizeof cmd, "ls -1 %s", BAD_DIR);
    CU_ASSERT_FATAL(tu_run(cmd, out, sizeof out) == 0);
    int unlisted = 0;
    for (char *name = strtok(out, "\n"); name; name = strtok(NULL, "\n")) {
        if (!strcmp(name, "make_bad.py") || !strcmp(name, "expected.tsv"))
            continue;
        int found = 0;
        for (int i = 0; i < n; i++)
            if (!strcmp(rows[i].file, name))
                found = 1;
        if (!found) {
            printf("\n  %s has no row in expected.tsv", name);
            unlisted++;
        }
    }
    CU_ASSERT(unlisted == 0);
}

/* Peak resident memory of this process in kB (VmHWM), or -1. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* Refusing a 2 GB file must not cost 2 GB: each loader, in a child process
 * whose peak-RSS counter is reset first (/proc/self/clear_refs, "5"), may grow
 * its peak resident memory by at most SPARSE_MAX_GROWTH_KB. */
#define SPARSE_MAX_GROWTH_KB (64L * 1024)

static void test_sparse_memory(void)
{
    static const char *const kinds[] = {"audio", "model", "keywords"};
    for (size_t i = 0; i < 3; i++) {
        bad_row row;
        memset(&row, 0, sizeof row);
        snprintf(row.file, sizeof row.file, "@sparse2g");
        snprintf(row.kind, sizeof row.kind, "%s", kinds[i]);
        char path[256];
        CU_ASSERT_FATAL(row_path(&row, path, sizeof path) != NULL);
        int fds[2];
        CU_ASSERT_FATAL(pipe(fds) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            FILE *cr = fopen("/proc/self/clear_refs", "w");
            if (cr) {
                fputs("5", cr);
                fclose(cr);
            }
            long before = peak_rss_kb();
            char msg[600];
            int rc = probe(kinds[i], path, msg, sizeof msg);
            long after = peak_rss_kb();
            char out[64];
            int len = snprintf(out, sizeof out, "%d %ld %ld", rc, before, after);
            if (write(fds[1], out, (size_t)len) < 0)
                _exit(2);
            _exit(0);
        }
        close(fds[1]);
        char buf[64] = {0};
        ssize_t got = read(fds[0], buf, sizeof buf - 1);
        close(fds[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        unlink(path);
        int rc = 0;
        long before = -1, after = -1;
        CU_ASSERT_FATAL(got > 0 && sscanf(buf, "%d %ld %ld", &rc, &before, &after) == 3);
        printf("\n  2 GB sparse %-8s -> %s, peak RSS %ld kB -> %ld kB (+%ld kB, limit +%ld kB)",
               kinds[i], rc < 0 ? svx_strerror(rc) : "ok", before, after, after - before,
               SPARSE_MAX_GROWTH_KB);
        CU_ASSERT(rc < 0);
        CU_ASSERT(before > 0 && after - before <= SPARSE_MAX_GROWTH_KB);
    }
    if (g_special_dir[0])
        rmdir(g_special_dir);
    g_special_dir[0] = '\0';
}

/* A named pipe nobody writes to (a FIFO left in a folder of recordings):
 * each loader must refuse it or give up within FIFO_MAX_S seconds, not
 * block in open() forever. Run in a child with an alarm, so a hang fails
 * the test instead of the suite. */
#define FIFO_MAX_S 5

static void test_fifo_no_writer(void)
{
    static const char *const kinds[] = {"audio", "model", "keywords"};
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/svx-fifo-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/fifo_%s", dir, kinds[i]);
        CU_ASSERT_FATAL(mkfifo(path, 0644) == 0);
        int fds[2];
        CU_ASSERT_FATAL(pipe(fds) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            alarm(FIFO_MAX_S);
            char msg[600];
            int rc = probe(kinds[i], path, msg, sizeof msg);
            char out[700];
            int len = snprintf(out, sizeof out, "%d\n%.600s", rc, msg);
            if (write(fds[1], out, (size_t)len) < 0)
                _exit(2);
            _exit(0);
        }
        close(fds[1]);
        char buf[700] = {0};
        size_t got = 0;
        ssize_t r;
        while (got < sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        close(fds[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        unlink(path);
        int hung = WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM;
        int rc = got ? atoi(buf) : 0;
        const char *msg = strchr(buf, '\n');
        printf("\n  FIFO without a writer as %-8s -> %s", kinds[i],
               hung ? "still blocked after " "5" " s (killed)" : msg ? msg + 1 : "?");
        CU_ASSERT(!hung);
        CU_ASSERT(!hung && rc < 0 && msg && strstr(msg, path));
    }
    rmdir(dir);
}

void test_register_bad_corpus(void);
void test_register_bad_corpus(void)
{
    static const tu_test tests[] = {
        {"every corpus file gives its exact code and message", test_corpus_table},
        {"every corpus file has a row in expected.tsv", test_every_file_listed},
        {"refusing a 2 GB sparse file costs no 2 GB of memory", test_sparse_memory},
        {"a FIFO without a writer is refused, not waited on forever", test_fifo_no_writer},
    };
    tu_add_suite("bad_corpus", tests, sizeof tests / sizeof tests[0]);
}
