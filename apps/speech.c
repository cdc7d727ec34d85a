/* Energy end-pointing (speech.h). Recorded clips carry room noise and breath
 * that a plain "within 35 dB of the peak" rule would count as speech, hence
 * the second condition against the recording's own noise floor. */
#include <math.h>
#include <stdlib.h>

#include "speech.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean power of each 10 ms block (the last one may be short) into a malloc'ed
 * array of *n_blocks, and the speech threshold: 25 dB under the loudest block,
 * raised to 6 dB over the 10th-percentile block when that is higher (and still
 * under the loudest). Returns NULL when n is 0 or out of memory. */
static double *block_energies(const float *x, size_t n, int rate, size_t *n_blocks, double *thr,
                              double *max_energy)
{
    size_t blk = (size_t)rate / 100, nb = n / blk + (n % blk != 0);
    *n_blocks = nb;
    double *e = nb ? malloc(nb * sizeof *e) : NULL, *sorted = nb ? malloc(nb * sizeof *sorted) : NULL;
    if (!e || !sorted) {
        free(e);
        free(sorted);
        return NULL;
    }
    double mx = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t e0 = b * blk, e1 = e0 + blk < n ? e0 + blk : n;
        double acc = 0;
        for (size_t i = e0; i < e1; i++)
            acc += (double)x[i] * x[i];
        e[b] = acc / (double)(e1 - e0);
        sorted[b] = e[b];
        if (e[b] > mx)
            mx = e[b];
    }
    qsort(sorted, nb, sizeof *sorted, cmp_double);
    double t = mx * pow(10.0, -2.5), floor_thr = 4.0 * sorted[nb / 10];
    if (floor_thr > t && floor_thr < mx)
        t = floor_thr;
    free(sorted);
    *thr = t;
    *max_energy = mx;
    return e;
}

void speech_extent(const float *x, size_t n, int rate, size_t *b0, size_t *b1, double *power)
{
    size_t blk = (size_t)rate / 100, nb;
    double thr, mx;
    *b0 = 0;
    *b1 = n;
    *power = 0;
    double *e = block_energies(x, n, rate, &nb, &thr, &mx);
    if (!e)
        return;
    size_t first = nb, last = 0;
    for (size_t b = 0; mx > 0 && b < nb; b++)
        if (e[b] >= thr) {
            if (first == nb)
                first = b;
            last = b;
        }
    if (first < nb) {
        double sum = 0;
        for (size_t b = first; b <= last; b++)
            sum += e[b];
        *power = sum / (double)(last - first + 1);
        *b0 = first * blk;
        *b1 = (last + 1) * blk < n ? (last + 1) * blk : n;
    }
    free(e);
}

int speech_segments(const float *x, size_t n, int rate, double min_gap_s, speech_segment *out,
                    int max_segments)
{
    size_t blk = (size_t)rate / 100, nb;
    double thr, mx;
    if (n == 0)
        return 0;
    double *e = block_energies(x, n, rate, &nb, &thr, &mx);
    if (!e)
        return -1;
    /* A gap of this many quiet blocks or more separates two segments. */
    size_t min_gap = (size_t)ceil(min_gap_s * 100.0 - 1e-9);
    if (min_gap < 1)
        min_gap = 1;
    int n_seg = 0;
    size_t first = 0, last = 0;
    int open = 0;
    for (size_t b = 0; mx > 0 && b <= nb; b++) {
        int loud = b < nb && e[b] >= thr;
        if (loud && open && b - last - 1 < min_gap) {
            last = b;
            continue;
        }
        /* close the open segment at a new loud block after a long gap, or at the end */
        if (open && (loud || b == nb)) {
            if (n_seg < max_segments) {
                out[n_seg].start = first * blk;
                out[n_seg].end = (last + 1) * blk < n ? (last + 1) * blk : n;
            }
            n_seg++;
            open = 0;
        }
        if (loud) {
            first = last = b;
            open = 1;
        }
    }
    free(e);
    return n_seg;
}
