/* CRC-32 of the model file (zlib's polynomial), computed bytewise from a
 * table built once; the table build is idempotent so concurrent first calls
 * are harmless (they write identical values). */
#include "svx_internal.h"

static uint32_t g_table[256];
static volatile int g_table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        g_table[i] = c;
    }
    g_table_ready = 1;
}

uint32_t svx_crc32(uint32_t crc, const void *data, size_t n_bytes)
{
    const unsigned char *p = data;
    if (!g_table_ready)
        build_table();
    crc = ~crc;
    for (size_t i = 0; i < n_bytes; i++)
        crc = g_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
