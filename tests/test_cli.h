/* Helpers for the command-line tests (tests/test_cli_*.c), which run the
 * shiftvox binary (tu_bin(): $SVX_BIN, default build/shiftvox) as a user would.
 *
 * $SVX_CLI_WRAP, when set, is put in front of every shiftvox command line:
 * scripts/valgrind-cli.sh sets it to a valgrind memcheck command so the same
 * tests run the binary under valgrind ($SVX_CLI_WRAP_DEVICE for commands that
 * open a capture device, see cli_bin_device). Timeouts are multiplied by
 * $SVX_CLI_SLOW (default 1; the valgrind script uses 30). */
#ifndef SVX_TEST_CLI_H
#define SVX_TEST_CLI_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <math.h>

#include "testutil.h"

static inline const char *cli_wrap(void)
{
    const char *w = getenv("SVX_CLI_WRAP");
    return w ? w : "";
}

static inline double cli_slow(void)
{
    const char *s = getenv("SVX_CLI_SLOW");
    double v = s ? atof(s) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

/* "WRAP BIN" for a command that opens a capture device: $SVX_CLI_WRAP_DEVICE
 * if set (valgrind without undefined-value tracking: alsa-lib hands the
 * capture callback frame counts derived from uninitialised stack bytes, which
 * then taint the ring indices), else $SVX_CLI_WRAP. */
static inline const char *cli_bin_device(char *buf, size_t n)
{
    const char *w = getenv("SVX_CLI_WRAP_DEVICE");
    snprintf(buf, n, "%s %s", w ? w : cli_wrap(), tu_bin());
    return buf;
}

/* "WRAP BIN" into buf: the start of every command line. */
static inline const char *cli_bin(char *buf, size_t n)
{
    snprintf(buf, n, "%s %s", cli_wrap(), tu_bin());
    return buf;
}

/* Exit status of a wait() status: the code, or 128 + signal. */
static inline int cli_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* Reads a whole (small) file into buf, NUL-terminated; returns its length or -1. */
static inline long cli_read(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        buf[0] = '\0';
        return -1;
    }
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
    return (long)got;
}

/* Starts `sh -c "exec CMD"` with stdin from /dev/null, stdout to out_fd (or
 * out_path if out_fd < 0) and stderr to err_path. Returns the pid or -1. */
static inline pid_t cli_spawn(const char *cmd, int out_fd, const char *out_path, const char *err_path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int in = open("/dev/null", O_RDONLY);
    int out = out_fd >= 0 ? out_fd
              : out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    static char full[20000];
    snprintf(full, sizeof full, "exec %.19990s", cmd);
    execl("/bin/sh", "sh", "-c", full, (char *)NULL);
    _exit(127);
}

/* Waits up to timeout_s (times cli_slow()) for pid; kills it (SIGKILL) on
 * timeout. Returns cli_status(), or -2 on timeout. */
static inline int cli_wait(pid_t pid, double timeout_s)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    timeout_s *= cli_slow();
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return cli_status(st);
        if (r < 0)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) > timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -2;
        }
        struct timespec nap = {0, 10000000L};
        nanosleep(&nap, NULL);
    }
}

/* Runs CMD with stdout and stderr captured into files; returns its status
 * (-2 if it ran past timeout_s and was killed). */
static inline int cli_run(const char *cmd, const char *out_path, const char *err_path, double timeout_s)
{
    pid_t pid = cli_spawn(cmd, -1, out_path, err_path);
    if (pid < 0)
        return -1;
    return cli_wait(pid, timeout_s);
}

/* Runs CMD with its stdout the write end of a pipe whose read end is already
 * closed (a reader that went away: `| head -c0` without the race). */
static inline int cli_run_closed_stdout(const char *cmd, const char *err_path, double timeout_s)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    close(fds[0]);
    pid_t pid = cli_spawn(cmd, fds[1], NULL, err_path);
    close(fds[1]);
    if (pid < 0)
        return -1;
    return cli_wait(pid, timeout_s);
}

/* 1 if `shiftvox NAME --help` works (the subcommand is built in). */
static inline int cli_has_command(const char *name)
{
    char cmd[1024], bin[512];
    snprintf(cmd, sizeof cmd, "%s %s --help >/dev/null 2>&1", cli_bin(bin, sizeof bin), name);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Number of lines of text that contain needle. */
static inline int cli_count_lines(const char *text, const char *needle)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[4096];
        size_t l = len < sizeof line - 1 ? len : sizeof line - 1;
        memcpy(line, p, l);
        line[l] = '\0';
        if (strstr(line, needle))
            n++;
        p += len + (e ? 1 : 0);
    }
    return n;
}

/* Writes a 16 kHz mono 16-bit WAV of n_samples: a quiet noise floor with
 * a 440 Hz tone burst every second (deterministic). */
static inline int cli_write_wav(const char *path, long n_samples)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char h[44];
    unsigned long data = (unsigned long)n_samples * 2u;
    memcpy(h, "RIFF", 4);
    unsigned long riff = 36u + data;
    for (int i = 0; i < 4; i++) h[4 + i] = (unsigned char)(riff >> (8 * i));
    memcpy(h + 8, "WAVEfmt ", 8);
    const unsigned char fmt[20] = {16, 0, 0, 0, 1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0};
    memcpy(h + 16, fmt, 20);
    memcpy(h + 36, "data", 4);
    for (int i = 0; i < 4; i++) h[40 + i] = (unsigned char)(data >> (8 * i));
    int ok = fwrite(h, 1, 44, f) == 44;
    unsigned x = 12345u;
    for (long i = 0; i < n_samples && ok; i++) {
        x = x * 1103515245u + 12345u;
        double v = ((double)((x >> 16) & 0x7fff) / 32768.0 - 0.5) * 200.0;
        if (i % 16000 < 3200)
            v += 6000.0 * sin(2.0 * 3.14159265358979 * 440.0 * (double)i / 16000.0);
        short s = (short)v;
        unsigned char b[2] = {(unsigned char)(s & 0xff), (unsigned char)((unsigned short)s >> 8)};
        ok = fwrite(b, 1, 2, f) == 2;
    }
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

#endif
