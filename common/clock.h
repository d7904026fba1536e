/*
 * clock.h — the one clock for deadlines, timeouts and intervals.
 *
 * Milliseconds of CLOCK_MONOTONIC: never jumps with the wall clock (NTP, a
 * changed date), so a timeout measured with it lasts as long as it says. The
 * same clock backs pthread_cond_timedwait where a condition variable is set
 * up with CLOCK_MONOTONIC.
 */
#ifndef AIRGAP_COMMON_CLOCK_H
#define AIRGAP_COMMON_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary point before this process started. */
uint64_t clock_monotonic_ms(void);

#endif
