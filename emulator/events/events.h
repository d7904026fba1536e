/*
 * events.h — what EventBridge shares with the emulator's other services:
 * its schedule expressions (rate() and six-field cron(), AWS's syntax, UTC),
 * which EventBridge Scheduler (emulator/scheduler/) fires as well.
 * Pure functions; thread-safe.
 */
#ifndef AIRGAP_EMULATOR_EVENTS_H
#define AIRGAP_EMULATOR_EVENTS_H

#include <stdint.h>

/* Checks rate()/cron(); 0, or -1 when expr is neither or malformed. */
int events_schedule_check(const char *expr);
/* The next fire time (ms since the epoch) strictly after after_ms, or 0 when
 * none (a cron whose years are over, or a malformed expression). */
uint64_t events_schedule_next(const char *expr, uint64_t after_ms);

#endif
