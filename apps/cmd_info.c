/* shiftvox info MODEL: what a model file holds (front end, symbols, layers
 * with shapes, encodings, bytes and the kernels this machine will use). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "shiftvox.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: shiftvox info MODEL [--kernel auto|scalar|float-ref] [--integer]\n"
               "  Prints the model's front-end parameters, symbols, the forms it carries\n"
               "  (float-activation, integer or both) and the one that runs, layers (shape,\n"
               "  weight encoding, bytes, kernel) and sizes. --integer: as loaded for the\n"
               "  integer path. Exit status 1 if the file is refused.\n");
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    svx_model_options opt;
    svx_model_options_default(&opt);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--integer")) {
            opt.force_integer = 1;
        } else if (!strcmp(argv[i], "--kernel") && i + 1 < argc) {
            const char *k = argv[++i];
            if (!strcmp(k, "auto"))
                opt.kernel = SVX_KERNEL_AUTO;
            else if (!strcmp(k, "scalar"))
                opt.kernel = SVX_KERNEL_SCALAR;
            else if (!strcmp(k, "float-ref"))
                opt.kernel = SVX_KERNEL_FLOAT_REF;
            else {
                fprintf(stderr, "shiftvox info: unknown kernel '%s' (auto, scalar, float-ref)\n", k);
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "shiftvox info: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            fprintf(stderr, "shiftvox info: one model at a time\n");
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    svx_model *m;
    int rc = svx_model_load_ex(path, &opt, &m);
    if (rc < 0) {
        fprintf(stderr, "shiftvox info: %s (%s)\n", svx_last_error_message(), svx_strerror(rc));
        return 1;
    }
    int need = svx_model_summary(m, NULL, 0);
    char *buf = malloc((size_t)need + 1u);
    if (!buf) {
        svx_model_destroy(m);
        fprintf(stderr, "shiftvox info: out of memory\n");
        return 1;
    }
    svx_model_summary(m, buf, (size_t)need + 1u);
    printf("model         %s\n%s", path, buf);
    free(buf);
    svx_model_destroy(m);
    return 0;
}
