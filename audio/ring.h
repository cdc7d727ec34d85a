/* Lock-free single-producer / single-consumer ring buffer of floats.
 *
 * Used between the PortAudio callback (the only producer) and the thread that
 * calls svx_capture_read (the only consumer). Private to libshiftvox.
 *
 * The two indices grow without bound (modulo SIZE_MAX + 1) and are reduced
 * with a mask when used, so "full" and "empty" never look alike:
 * count = head - tail, 0 <= count <= capacity. The producer owns head, the
 * consumer owns tail; each publishes its index with a release store and reads
 * the other's with an acquire load, so the samples written before a head
 * store are visible to the consumer that sees it. No call allocates, locks,
 * blocks or does I/O, except svx_ring_init and svx_ring_free.
 */
#ifndef SVX_RING_H
#define SVX_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float *data;
    size_t capacity;             /* power of two, in samples */
    size_t mask;                 /* capacity - 1 */
    _Atomic size_t head;         /* total samples written (producer) */
    _Atomic size_t tail;         /* total samples read (consumer) */
    _Atomic uint64_t n_dropped;  /* samples refused because the ring was full */
} svx_ring;

/* Allocates room for at least min_samples (rounded up to a power of two,
 * at least 2). SVX_OK, SVX_ERR_INVALID_ARG (0 or too large) or SVX_ERR_NO_MEMORY. */
int svx_ring_init(svx_ring *r, size_t min_samples);
/* Frees the storage; the ring may be initialised again. NULL-safe. */
void svx_ring_free(svx_ring *r);

/* Producer: writes as many of the n samples as fit, in order, and counts the
 * rest (the newest ones) as dropped. Returns the number written. Never blocks. */
size_t svx_ring_write(svx_ring *r, const float *samples, size_t n);
/* Producer: as svx_ring_write, converting signed 16-bit samples to float
 * (x / 32768, the library's scale) on the way in. */
size_t svx_ring_write_s16(svx_ring *r, const int16_t *samples, size_t n);
/* Producer: free room in samples (it can only grow until the next write). */
size_t svx_ring_space(const svx_ring *r);
/* Producer: adds n to the dropped count (for callers that drop whole frames). */
void svx_ring_add_dropped(svx_ring *r, uint64_t n);

/* Consumer: copies up to max samples out, oldest first. Returns how many. */
size_t svx_ring_read(svx_ring *r, float *out, size_t max);
/* Consumer: samples waiting to be read (it can only grow until the next read). */
size_t svx_ring_available(const svx_ring *r);

/* Either side: total samples dropped since init. */
uint64_t svx_ring_dropped(const svx_ring *r);

#endif
