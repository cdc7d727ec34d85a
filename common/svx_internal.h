/* Private helpers shared by every stage of libshiftvox. Not installed. */
#ifndef SVX_INTERNAL_H
#define SVX_INTERNAL_H

#include "shiftvox.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SVX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SVX_PRINTF(a, b)
#endif

/* Records a failure: stores the formatted message as this thread's last
 * error message, sends it to the log callback at SVX_LOG_ERROR, and returns
 * err so that callers can write `return svx_fail(SVX_ERR_IO, "...")`. */
int svx_fail(int err, const char *fmt, ...) SVX_PRINTF(2, 3);

/* Sends a message to the log callback (no-op when none is set). */
void svx_log(svx_log_level level, const char *fmt, ...) SVX_PRINTF(2, 3);

/* Clears this thread's last error message. */
void svx_clear_error(void);

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320, init and final xor
 * 0xFFFFFFFF: the zlib/PNG CRC). Pass crc = 0 to start; chain calls. */
uint32_t svx_crc32(uint32_t crc, const void *data, size_t n_bytes);

/* Overflow-checked size arithmetic: return 0 on success, -1 on overflow. */
int svx_mul_size(size_t a, size_t b, size_t *out);
int svx_add_size(size_t a, size_t b, size_t *out);

/* Output frames at the start of a stream whose convolution windows reach
 * before its first input frame (model/model.c). */
int svx_model_warmup_outputs(const svx_model *m);

#endif
