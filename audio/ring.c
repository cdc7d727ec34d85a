/* Lock-free SPSC ring buffer (see ring.h for the protocol). */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

#include "svx_internal.h"

int svx_ring_init(svx_ring *r, size_t min_samples)
{
    if (!r)
        return svx_fail(SVX_ERR_INVALID_ARG, "svx_ring_init: NULL ring");
    r->data = NULL;
    r->capacity = 0;
    r->mask = 0;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->n_dropped, 0);
    /* 2^28 floats (1 GiB) is far beyond any sensible capture buffer. */
    if (min_samples == 0 || min_samples > ((size_t)1 << 28))
        return svx_fail(SVX_ERR_INVALID_ARG, "ring buffer of %zu samples: expected 1 .. 2^28",
                        min_samples);
    size_t cap = 2;
    while (cap < min_samples)
        cap <<= 1;
    r->data = calloc(cap, sizeof *r->data);
    if (!r->data)
        return svx_fail(SVX_ERR_NO_MEMORY, "ring buffer of %zu samples: out of memory", cap);
    r->capacity = cap;
    r->mask = cap - 1;
    return SVX_OK;
}

void svx_ring_free(svx_ring *r)
{
    if (!r)
        return;
    free(r->data);
    r->data = NULL;
    r->capacity = 0;
    r->mask = 0;
}

size_t svx_ring_space(const svx_ring *r)
{
    /* The producer's own index needs no ordering; the consumer's tail is
     * acquired so that the slots it freed are really free. */
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->capacity - (head - tail);
}

size_t svx_ring_available(const svx_ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return head - tail;
}

void svx_ring_add_dropped(svx_ring *r, uint64_t n)
{
    if (n)
        atomic_fetch_add_explicit(&r->n_dropped, n, memory_order_relaxed);
}

uint64_t svx_ring_dropped(const svx_ring *r)
{
    return atomic_load_explicit(&r->n_dropped, memory_order_relaxed);
}

size_t svx_ring_write(svx_ring *r, const float *samples, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->capacity - (head - tail);
    size_t n_write = n < space ? n : space;
    size_t pos = head & r->mask;
    size_t first = r->capacity - pos;         /* room before the wrap */
    if (first > n_write)
        first = n_write;
    if (first)
        memcpy(r->data + pos, samples, first * sizeof *samples);
    if (n_write > first)
        memcpy(r->data, samples + first, (n_write - first) * sizeof *samples);
    atomic_store_explicit(&r->head, head + n_write, memory_order_release);
    svx_ring_add_dropped(r, (uint64_t)(n - n_write));
    return n_write;
}

size_t svx_ring_write_s16(svx_ring *r, const int16_t *samples, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->capacity - (head - tail);
    size_t n_write = n < space ? n : space;
    for (size_t i = 0; i < n_write; i++)
        r->data[(head + i) & r->mask] = (float)samples[i] * (1.0f / 32768.0f);
    atomic_store_explicit(&r->head, head + n_write, memory_order_release);
    svx_ring_add_dropped(r, (uint64_t)(n - n_write));
    return n_write;
}

size_t svx_ring_read(svx_ring *r, float *out, size_t max)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = head - tail;
    size_t n_read = max < avail ? max : avail;
    size_t pos = tail & r->mask;
    size_t first = r->capacity - pos;
    if (first > n_read)
        first = n_read;
    if (first)
        memcpy(out, r->data + pos, first * sizeof *out);
    if (n_read > first)
        memcpy(out + first, r->data, (n_read - first) * sizeof *out);
    atomic_store_explicit(&r->tail, tail + n_read, memory_order_release);
    return n_read;
}
