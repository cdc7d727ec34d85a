/* shiftvox listen: keyword spotting from the microphone, a file, or stdin.
 *
 * Detections are printed as they happen (text or one JSON object per line).
 * On Ctrl-C / SIGTERM / end of input the stream is flushed and a summary is
 * printed on stderr: audio seconds, detections, capture overruns. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../audio/capture_internal.h"
#include "cli.h"
#include "common.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { g_stop = sig; }

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shiftvox listen [options]\n"
            "Spots keywords in live audio and prints each detection as it happens.\n\n"
            "  -k, --keywords LIST    comma-separated keywords, 'word:0.7' sets a sensitivity\n"
            "  --keyword-file FILE    one keyword (or phrase) per line, optional sensitivity\n"
            "  -s, --sensitivity S    default sensitivity 0..1 (default 0.5; higher fires more)\n"
            "  --no-compete           let every keyword fire on its own (default: a keyword is\n"
            "                         dropped where another keyword or a word of the model's\n"
            "                         vocabulary explains the audio better)\n"
            "  --no-calibration       raw keyword scores (default: the model's per-keyword\n"
            "                         calibration, so one sensitivity gives every keyword\n"
            "                         about the same false-alarm rate)\n"
            "  -d, --device D         capture device: index or part of its name (see 'devices')\n"
            "  -i, --input FILE|-     stream a file (or raw s16le stdin) instead of the microphone\n"
            "  --realtime             pace --input at real time (default: as fast as possible)\n"
            "  --rate HZ              sample rate of raw standard input (default 16000)\n"
            "  --seconds S            stop after S seconds of audio\n"
            "  --json                 one JSON object per detection and for the summary\n"
            "  -m, --model FILE       model (default: %s)\n"
            APP_INTEGER_HELP("              "),
            app_default_model());
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prints all pending events; returns the number printed, -1 on output error. */
static int print_events(svx_stream *st, int json)
{
    svx_kws_event ev;
    int n = 0;
    while (svx_stream_next_event(st, &ev) == 1) {
        if (json)
            printf("{\"keyword\": \"%s\", \"start\": %.3f, \"end\": %.3f, \"score\": %.3f}\n",
                   ev.keyword, ev.start_s, ev.end_s, (double)ev.score);
        else
            printf("%8.2f s  %8.2f s  %-16s score %.2f\n", ev.start_s, ev.end_s, ev.keyword,
                   (double)ev.score);
        if (fflush(stdout) != 0 || ferror(stdout))
            return -1;
        n++;
    }
    return n;
}

int cmd_listen(int argc, char **argv)
{
    const char *model_path = NULL, *kw_csv = NULL, *kw_file = NULL, *device = NULL, *input = NULL;
    double sens = 0.5, max_seconds = 0;
    long raw_rate = 16000;
    int json = 0, realtime = 0, force_integer = 0, compete = 1, calibrate = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-k") || !strcmp(a, "--keywords")) && v) {
            kw_csv = v; i++;
        } else if (!strcmp(a, "--keyword-file") && v) {
            kw_file = v; i++;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--sensitivity")) {
            if (app_parse_double(a, v, 0, 1, &sens) < 0) return 2;
            i++;
        } else if ((!strcmp(a, "-d") || !strcmp(a, "--device")) && v) {
            device = v; i++;
        } else if ((!strcmp(a, "-i") || !strcmp(a, "--input")) && v) {
            input = v; i++;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) {
            model_path = v; i++;
        } else if (!strcmp(a, "--integer")) {
            force_integer = 1;
        } else if (!strcmp(a, "--rate")) {
            if (app_parse_int(a, v, 1000, 384000, &raw_rate) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--seconds")) {
            if (app_parse_double(a, v, 0.01, 1e9, &max_seconds) < 0) return 2;
            i++;
        } else if (!strcmp(a, "--no-compete")) {
            compete = 0;
        } else if (!strcmp(a, "--no-calibration")) {
            calibrate = 0;
        } else if (!strcmp(a, "--realtime")) {
            realtime = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "shiftvox listen: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!kw_csv && !kw_file) {
        fprintf(stderr, "shiftvox listen: give --keywords or --keyword-file\n");
        return 2;
    }
    if (device && input) {
        fprintf(stderr, "shiftvox listen: --device and --input exclude each other\n");
        return 2;
    }
    svx_keyword_list *kl;
    int rc = kw_file ? svx_keywords_load(kw_file, (float)sens, &kl)
                     : svx_keywords_from_csv(kw_csv, (float)sens, &kl);
    if (rc < 0) {
        app_print_error(kw_file ? kw_file : "--keywords", rc);
        return 2;
    }
    svx_model *model;
    if (app_load_model_int(model_path, force_integer, &model) < 0) {
        svx_keyword_list_destroy(kl);
        return 1;
    }
    svx_stream_config cfg;
    svx_stream_config_default(&cfg);
    cfg.mode = SVX_DECODE_KWS;
    cfg.keywords = svx_keyword_list_items(kl);
    cfg.n_keywords = svx_keyword_list_count(kl);
    cfg.kws_compete = compete;
    cfg.kws_calibrate = calibrate;
    svx_stream *st;
    rc = svx_stream_create(model, &cfg, &st);
    if (rc < 0) {
        app_print_error("keywords", rc);
        svx_model_destroy(model);
        svx_keyword_list_destroy(kl);
        return 2;
    }
    const int rate = svx_model_frontend(model)->sample_rate_hz;
    svx_audio_reader *rd = NULL;
    svx_capture *cap = NULL;
    if (input) {
        rc = app_open_input(input, (int)raw_rate, rate, &rd);
    } else {
        svx_capture_config cc;
        svx_capture_config_default(&cc);
        cc.device = device;
        cc.target_rate_hz = rate;
        rc = svx_capture_open(&cc, &cap);
        if (rc < 0)
            app_print_error(device ? device : "default input device", rc);
        else if (!json)
            fprintf(stderr, "listening on '%s' (%.0f Hz); Ctrl-C to stop\n",
                    svx_capture_device_name(cap), svx_capture_device_rate(cap));
    }
    if (rc < 0) {
        svx_stream_destroy(st);
        svx_model_destroy(model);
        svx_keyword_list_destroy(kl);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    enum { CHUNK = 1600 };
    float pcm[CHUNK];
    long detections = 0;
    int status = 0;
    double t0 = now_s(), audio_s = 0;
    /* Fault injection for the tests (tests/test_cli_listen.c): after this
     * many seconds of captured audio the device's stream is aborted, as a
     * failing or unplugged device does. Not for users; ignored with --input. */
    const char *fault = getenv("SHIFTVOX_TEST_DEVICE_FAIL_S");
    double fail_at = fault && cap ? atof(fault) : -1;
    while (!g_stop) {
        if (fail_at >= 0 && audio_s >= fail_at) {
            svx_capture_fault_abort(cap);
            fail_at = -1;
        }
        long n;
        size_t want = CHUNK;
        if (max_seconds > 0) {
            double left = max_seconds - audio_s;
            if (left <= 0)
                break;
            if (left * rate < (double)want)
                want = (size_t)(left * rate) + 1;
        }
        if (rd)
            n = svx_audio_read(rd, pcm, want);
        else
            n = svx_capture_read(cap, pcm, want, 200);
        if (n < 0) {
            app_print_error(input ? input : svx_capture_device_name(cap), (int)n);
            status = 1;
            break;
        }
        if (n == 0) {
            if (rd)
                break;      /* end of input */
            continue;       /* capture timeout: try again */
        }
        rc = svx_stream_push(st, pcm, (size_t)n);
        if (rc < 0) {
            app_print_error("recognition", rc);
            status = 1;
            break;
        }
        audio_s += (double)n / rate;
        int got = print_events(st, json);
        if (got < 0) {
            fprintf(stderr, "shiftvox listen: writing detections failed: %s\n", strerror(errno));
            status = 1;
            break;
        }
        detections += got;
        if (rd && realtime) {
            double ahead = audio_s - (now_s() - t0);
            if (ahead > 0.001) {
                struct timespec ts = {(time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
    }
    svx_stream_flush(st);
    int got = print_events(st, json);
    if (got > 0)
        detections += got;
    else if (got < 0 && status == 0) {
        fprintf(stderr, "shiftvox listen: writing detections failed: %s\n", strerror(errno));
        status = 1;
    }
    unsigned long long overruns = cap ? (unsigned long long)svx_capture_overruns(cap) : 0ull;
    double elapsed = now_s() - t0;
    if (json)
        fprintf(stderr, "{\"summary\": {\"audio_seconds\": %.3f, \"detections\": %ld, \"overruns\": %llu, \"elapsed_seconds\": %.3f%s}}\n",
                audio_s, detections, overruns, elapsed, g_stop ? ", \"interrupted\": true" : "");
    else
        fprintf(stderr, "listen: %.2f s of audio, %ld detection%s, %llu overrun samples, %.2f s elapsed%s\n",
                audio_s, detections, detections == 1 ? "" : "s", overruns, elapsed,
                g_stop ? " (interrupted)" : "");
    svx_audio_close(rd);
    svx_capture_close(cap);
    svx_stream_destroy(st);
    svx_model_destroy(model);
    svx_keyword_list_destroy(kl);
    return status;
}
