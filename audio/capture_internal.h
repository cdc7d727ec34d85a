/* Capture without a device, for tests: the same ring, callback and consumer
 * as svx_capture_open, fed by the caller instead of PortAudio. Private. */
#ifndef SVX_CAPTURE_INTERNAL_H
#define SVX_CAPTURE_INTERNAL_H

#include "shiftvox.h"

/* A capture whose "device" runs at device_rate_hz with 1 or 2 interleaved
 * channels of int16 (is_int16) or float samples. svx_capture_read,
 * svx_capture_overruns and svx_capture_close work on it as usual. */
int svx_capture_open_detached(double device_rate_hz, int channels, int is_int16, int target_rate_hz,
                              double ring_seconds, svx_capture **out);
/* Runs the real-time callback on n_frames interleaved frames. */
void svx_capture_detached_push(svx_capture *cap, const void *frames, unsigned long n_frames);
/* Marks the stream as finished, as PortAudio's finished callback does. */
void svx_capture_detached_finish(svx_capture *cap);

/* Fault injection on a real device: aborts its PortAudio stream underneath
 * the reader, which is what PortAudio does when a device fails or is
 * unplugged (the stream stops, its finished callback runs). Later reads
 * return what the ring still holds, then SVX_ERR_DEVICE. */
void svx_capture_fault_abort(svx_capture *cap);

#endif
