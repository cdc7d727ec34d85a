/* The lock-free SPSC ring buffer behind capture (audio/ring.c): semantics in
 * one thread, wrap-around, overrun counting, and a two-thread stress test in
 * which every sample must arrive in order or be counted as dropped. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../audio/ring.h"
#include "shiftvox.h"
#include "testutil.h"

static void test_init(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL(svx_ring_init(&r, 0), SVX_ERR_INVALID_ARG);
    CU_ASSERT_EQUAL(svx_ring_init(&r, ((size_t)1 << 28) + 1), SVX_ERR_INVALID_ARG);
    const size_t asked[] = {1, 2, 3, 5, 8, 1000, 1024, 1025};
    const size_t want[] = {2, 2, 4, 8, 8, 1024, 1024, 2048};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, asked[i]), SVX_OK);
        CU_ASSERT_EQUAL(r.capacity, want[i]);
        CU_ASSERT_EQUAL(svx_ring_space(&r), want[i]);
        CU_ASSERT_EQUAL(svx_ring_available(&r), 0);
        CU_ASSERT_EQUAL(svx_ring_dropped(&r), 0);
        svx_ring_free(&r);
    }
    svx_ring_free(NULL);
}

static void test_single_thread(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, 8), SVX_OK);
    const float in[5] = {1, 2, 3, 4, 5};
    float out[16];
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 4), 0);       /* empty */
    CU_ASSERT_EQUAL(svx_ring_write(&r, in, 3), 3);
    CU_ASSERT_EQUAL(svx_ring_available(&r), 3);
    CU_ASSERT_EQUAL(svx_ring_space(&r), 5);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 2), 2);
    CU_ASSERT_EQUAL(out[0], 1.0f);
    CU_ASSERT_EQUAL(out[1], 2.0f);
    CU_ASSERT_EQUAL(svx_ring_write(&r, in, 0), 0);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 16), 1);      /* asks more than there is */
    CU_ASSERT_EQUAL(out[0], 3.0f);
    CU_ASSERT_EQUAL(svx_ring_available(&r), 0);
    CU_ASSERT_EQUAL(svx_ring_space(&r), 8);
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 0);
    svx_ring_free(&r);
}

/* Writes and reads of sizes that do not divide the capacity walk the indices
 * around the end many times; the stream must come out unchanged. */
static void test_wrap_around(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, 16), SVX_OK);
    float in[13], out[13];
    float next_in = 0, next_out = 0;
    int bad = 0;
    for (int round = 0; round < 500; round++) {
        size_t n_w = 1 + (size_t)(round * 7) % 13;
        if (n_w > svx_ring_space(&r))
            n_w = svx_ring_space(&r);
        for (size_t i = 0; i < n_w; i++)
            in[i] = next_in++;
        CU_ASSERT_EQUAL(svx_ring_write(&r, in, n_w), n_w);
        size_t n_r = 1 + (size_t)(round * 5) % 13;
        size_t got = svx_ring_read(&r, out, n_r);
        for (size_t i = 0; i < got; i++)
            if (out[i] != next_out++)
                bad++;
    }
    size_t got;
    while ((got = svx_ring_read(&r, out, 13)) > 0)
        for (size_t i = 0; i < got; i++)
            if (out[i] != next_out++)
                bad++;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(next_out, next_in);
    CU_ASSERT(next_in > 16 * 50);            /* wrapped many times */
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 0);
    svx_ring_free(&r);
}

/* A write larger than the free room keeps the oldest samples, drops the
 * newest and counts them; the ring keeps working afterwards. */
static void test_overrun(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, 8), SVX_OK);
    float in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = (float)i;
    CU_ASSERT_EQUAL(svx_ring_write(&r, in, 10), 8);
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 2);
    CU_ASSERT_EQUAL(svx_ring_space(&r), 0);
    CU_ASSERT_EQUAL(svx_ring_write(&r, in, 3), 0);       /* full: all 3 dropped */
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 5);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 10), 8);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(out[i], (float)i);
    CU_ASSERT_EQUAL(svx_ring_write(&r, in + 5, 5), 5);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 10), 5);
    CU_ASSERT_EQUAL(out[0], 5.0f);
    CU_ASSERT_EQUAL(out[4], 9.0f);
    svx_ring_add_dropped(&r, 7);
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 12);
    svx_ring_free(&r);
}

/* The 16-bit variant converts to the library's scale (x / 32768) and
 * follows the same wrap and overrun rules. */
static void test_write_s16(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, 4), SVX_OK);
    const int16_t a[3] = {-32768, 16384, 32767};
    float out[4];
    CU_ASSERT_EQUAL(svx_ring_write_s16(&r, a, 3), 3);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 2), 2);
    CU_ASSERT_EQUAL(svx_ring_write_s16(&r, a, 3), 3);      /* wraps */
    CU_ASSERT_EQUAL(svx_ring_write_s16(&r, a, 3), 0);      /* full */
    CU_ASSERT_EQUAL(svx_ring_dropped(&r), 3);
    CU_ASSERT_EQUAL(svx_ring_read(&r, out, 4), 4);
    CU_ASSERT_EQUAL(out[0], 32767.0f / 32768.0f);
    CU_ASSERT_EQUAL(out[1], -1.0f);
    CU_ASSERT_EQUAL(out[2], 0.5f);
    CU_ASSERT_EQUAL(out[3], 32767.0f / 32768.0f);
    svx_ring_free(&r);
}

/* --- two-thread stress ------------------------------------------------------- */
/* The producer writes the counter 0, 1, 2, ... (exact in float below 2^24) in
 * chunks of random size, pausing now and then; the consumer reads chunks of
 * random size, also pausing. The values received must increase strictly, and
 * the gaps between them must add up to exactly the dropped count. */
enum { STRESS_N = 3000000, STRESS_CAP = 1024 };

typedef struct {
    svx_ring *r;
    uint64_t seed;
    uint64_t n_written;
    atomic_int done;
} producer_arg;

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void *producer(void *p)
{
    producer_arg *a = p;
    float chunk[300];
    uint64_t s = a->seed | 1;
    size_t next = 0;
    while (next < STRESS_N) {
        size_t n = 1 + (size_t)(xs(&s) % 300);
        if (n > STRESS_N - next)
            n = STRESS_N - next;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (float)(next + i);
        a->n_written += svx_ring_write(a->r, chunk, n);
        next += n;
        if (xs(&s) % 16 == 0)
            nap_us(20);
    }
    atomic_store(&a->done, 1);
    return NULL;
}

static void test_two_thread_stress(void)
{
    svx_ring r;
    CU_ASSERT_EQUAL_FATAL(svx_ring_init(&r, STRESS_CAP), SVX_OK);
    producer_arg pa;
    pa.r = &r;
    pa.seed = tu_rand_u64();
    pa.n_written = 0;
    atomic_init(&pa.done, 0);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, producer, &pa), 0);
    uint64_t s = tu_rand_u64() | 1;
    float out[400];
    double last = -1;
    uint64_t n_received = 0, gaps = 0, n_disorder = 0;
    nap_us(5000);   /* let the producer overrun the ring at least once */
    for (;;) {
        /* Read done before emptiness: a sample written before done was set
         * is then certain to be seen by the read below. */
        int finished = atomic_load(&pa.done);
        size_t want = 1 + (size_t)(xs(&s) % 400);
        size_t got = svx_ring_read(&r, out, want);
        for (size_t i = 0; i < got; i++) {
            double v = out[i];
            if (!(v > last))
                n_disorder++;
            else
                gaps += (uint64_t)(v - last - 1);
            last = v;
        }
        n_received += got;
        if (got == 0 && finished)
            break;
        if (xs(&s) % 1024 == 0)
            nap_us(100);
    }
    pthread_join(th, NULL);
    gaps += (uint64_t)(STRESS_N - 1 - last);    /* newest samples dropped at the very end */
    uint64_t dropped = svx_ring_dropped(&r);
    printf("\n  ring stress: %llu received, %llu dropped, %llu in gaps, capacity %zu\n",
           (unsigned long long)n_received, (unsigned long long)dropped, (unsigned long long)gaps,
           r.capacity);
    CU_ASSERT_EQUAL(n_disorder, 0);
    CU_ASSERT_EQUAL(n_received, pa.n_written);
    CU_ASSERT_EQUAL(n_received + dropped, STRESS_N);
    CU_ASSERT_EQUAL(gaps, dropped);
    CU_ASSERT(dropped > 0);                 /* the 5 ms head start forced an overrun */
    CU_ASSERT(n_received > 100 * STRESS_CAP);
    svx_ring_free(&r);
}

void test_register_ring(void);
void test_register_ring(void)
{
    static const tu_test tests[] = {
        {"init rounds capacity up to a power of two", test_init},
        {"single-thread write/read semantics", test_single_thread},
        {"wrap-around keeps the stream intact", test_wrap_around},
        {"overrun drops the newest samples and counts them", test_overrun},
        {"16-bit writes convert to x / 32768", test_write_s16},
        {"two threads: every sample in order or counted as dropped", test_two_thread_stress},
    };
    tu_add_suite("ring", tests, sizeof tests / sizeof tests[0]);
}
