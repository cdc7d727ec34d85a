/* shiftvox: one command, many subcommands (git style). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "shiftvox.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

/* Weak defaults let the command build while a subcommand is being written. */
#define WEAK __attribute__((weak))
WEAK int cmd_features(int argc, char **argv);
WEAK int cmd_devices(int argc, char **argv);
WEAK int cmd_info(int argc, char **argv);
WEAK int cmd_bench(int argc, char **argv);
WEAK int cmd_transcribe(int argc, char **argv);
WEAK int cmd_listen(int argc, char **argv);
WEAK int cmd_eval(int argc, char **argv);

static const command k_commands[] = {
    {"transcribe", cmd_transcribe, "transcribe audio files (any libsndfile format)"},
    {"listen", cmd_listen, "keyword spotting from the microphone, a file or stdin"},
    {"eval", cmd_eval, "evaluate a model on Speech Commands"},
    {"features", cmd_features, "write log-mel features of a file (text or .npy)"},
    {"devices", cmd_devices, "list audio input devices"},
    {"info", cmd_info, "describe a model file"},
    {"bench", cmd_bench, "benchmark kernels and the whole pipeline"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shiftvox COMMAND [options]   (shiftvox COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (k_commands[i].fn)
            fprintf(f, "  %-11s %s\n", k_commands[i].name, k_commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("shiftvox %d.%d.%d\n", SVX_VERSION_MAJOR, SVX_VERSION_MINOR, SVX_VERSION_PATCH);
        return 0;
    }
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++)
        if (!strcmp(argv[1], k_commands[i].name) && k_commands[i].fn)
            return k_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "shiftvox: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
