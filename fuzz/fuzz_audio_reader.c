/* libFuzzer target: the audio file reader (audio/reader.c + libsndfile +
 * libsamplerate). The input bytes are written to a file in /dev/shm (the
 * reader has no memory entry point) and read to the end at 16 kHz, as
 * `shiftvox transcribe` would. Any error code is fine; a crash, a sanitizer
 * report, a leak or a hang is a bug. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "shiftvox.h"

static char g_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(g_path, sizeof g_path, "%s/svx-fuzz-audio-%ld.wav", dir, (long)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (!f)
        return 0;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);

    svx_audio_reader *rd = NULL;
    if (svx_audio_open_file(g_path, 16000, &rd) == SVX_OK) {
        float pcm[1024];
        long n;
        /* Bounded: a tiny header may declare hours of audio; libsndfile stops
         * at the real end of the bytes, this cap only guards against a loop. */
        long total = 0;
        while ((n = svx_audio_read(rd, pcm, 1024)) > 0 && total < 50L * 1000 * 1000)
            total += n;
        (void)svx_audio_source_rate(rd);
        (void)svx_audio_source_channels(rd);
        (void)svx_audio_source_frames(rd);
        svx_audio_close(rd);
    }
    unlink(g_path);
    return 0;
}
