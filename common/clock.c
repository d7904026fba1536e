/*
 * clock.c — CLOCK_MONOTONIC and CLOCK_REALTIME in milliseconds (see clock.h).
 */
#include "common/clock.h"

#include <time.h>

uint64_t clock_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void clock_monotonic_deadline(struct timespec *out, uint64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, out);
  out->tv_sec += (time_t)(ms / 1000);
  out->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (out->tv_nsec >= 1000000000L) {
    out->tv_sec++;
    out->tv_nsec -= 1000000000L;
  }
}

uint64_t clock_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
