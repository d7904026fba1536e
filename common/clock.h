/*
 * clock.h — the one clock for deadlines, timeouts and intervals.
 *
 * Milliseconds of CLOCK_MONOTONIC: never jumps with the wall clock (NTP, a
 * changed date), so a timeout measured with it lasts as long as it says. The
 * same clock backs pthread_cond_timedwait where a condition variable is set
 * up with CLOCK_MONOTONIC.
 *
 * Wall-clock time (CLOCK_REALTIME) only for what is shown or stored as a date:
 * timestamps in API answers, log lines, expiry dates.
 */
#ifndef AIRGAP_COMMON_CLOCK_H
#define AIRGAP_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since an arbitrary point before this process started. */
uint64_t clock_monotonic_ms(void);

/* *out = CLOCK_MONOTONIC now plus ms: the deadline for pthread_cond_timedwait
 * on a condition variable set up with CLOCK_MONOTONIC. */
void clock_monotonic_deadline(struct timespec *out, uint64_t ms);

/* Milliseconds since the Unix epoch, by the wall clock. */
uint64_t clock_wall_ms(void);

#endif
