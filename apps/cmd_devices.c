/* shiftvox devices: lists audio input devices (PortAudio). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "shiftvox.h"

static void devices_usage(FILE *f)
{
    fprintf(f,
            "usage: shiftvox devices\n"
            "\n"
            "Lists the audio input devices PortAudio sees: index, input channels,\n"
            "default sample rate and name; '*' marks the default input device.\n"
            "Pass the index, or part of the name (case-insensitive), to\n"
            "'shiftvox listen --device'.\n");
}

int cmd_devices(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            devices_usage(stdout);
            return 0;
        }
        fprintf(stderr, "shiftvox devices: unknown argument '%s'\n", argv[i]);
        devices_usage(stderr);
        return 2;
    }
    enum { MAX_LISTED = 256 };
    static svx_device_info devs[MAX_LISTED];
    int n = svx_capture_list_devices(devs, MAX_LISTED);
    if (n < 0) {
        fprintf(stderr, "shiftvox devices: %s\n", svx_last_error_message());
        return 1;
    }
    if (n == 0) {
        printf("no audio input devices found\n");
        return 0;
    }
    printf("  %5s  %8s  %10s  %s\n", "index", "channels", "rate_hz", "name");
    for (int i = 0; i < n && i < MAX_LISTED; i++)
        printf("%c %5d  %8d  %10.0f  %s\n", devs[i].is_default ? '*' : ' ', devs[i].index,
               devs[i].max_input_channels, devs[i].default_rate_hz, devs[i].name);
    if (n > MAX_LISTED)
        printf("(%d more not shown)\n", n - MAX_LISTED);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "shiftvox devices: cannot write the list\n");
        return 1;
    }
    return 0;
}
