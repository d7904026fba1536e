/*
 * scheduler_int.h — private to emulator/scheduler/: EventBridge Scheduler's
 * state and the helpers its files share.
 *
 * Files, by concept:
 *   scheduler_service.c    the aws_service, state, errors, schedule groups,
 *                          tags, the /_aws/scheduler/clock endpoint
 *   scheduler_schedules.c  schedules: create, get, update, delete, list and
 *                          their validation
 *   scheduler_fire.c       at()/rate()/cron() expressions, the clock, the
 *                          timer that fires due schedules through the
 *                          delivery engine
 *   scheduler_tz.c         IANA time zones: a TZif reader and its cache
 *
 * Resources are jansson objects under one lock (scheduler_state.lock):
 *   group:    groups[arn] = {Name, Arn, State, CreationDate, LastModificationDate,
 *                            Tags{}, Account, Region}
 *   schedule: schedules[arn] = the Create/UpdateSchedule input members plus
 *             {Arn, GroupName, CreationDate, LastModificationDate, Account,
 *              Region, NextFire (virtual ms; absent when nothing is due)}
 * The "default" group of an account and Region exists without being created.
 */
#ifndef AIRGAP_EMULATOR_SCHEDULER_INT_H
#define AIRGAP_EMULATOR_SCHEDULER_INT_H

#include "emulator/delivery/delivery.h"
#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define SCHEDULER_MAX_TAGS 200
#define SCHEDULER_MAX_RESULTS 100

typedef struct scheduler_state {
  pthread_mutex_t lock;
  emulator *emu;
  delivery *delivery;
  json_t *groups;    /* group arn → group */
  json_t *schedules; /* schedule arn → schedule */
  /* One timer while schedules are due; the clock runs `speed` times faster
   * than the wall clock (AIRGAP_SCHEDULER_CLOCK_SPEED, or
   * POST /_aws/scheduler/clock {"speed": N}: the tests' hook). */
  emulator_timer *timer;
  emulator_clock clock;
  uint64_t fired; /* invocations handed to the delivery engine */
  int stopping;
} scheduler_state;

/* ---- scheduler_service.c ---- */
scheduler_state *scheduler_state_of(aws_call *call);
/* ValidationException (400) with fmt's message. */
void scheduler_fail_validation(aws_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* AWS's "1 validation error detected" form for a member constraint. */
void scheduler_fail_constraint(aws_call *call, const char *value, const char *member,
                               const char *constraint);
/* Checks a name: 1-64 of [0-9a-zA-Z-_.]. 0, or answered (-1). */
int scheduler_check_name(aws_call *call, const char *name, const char *member);
/* The group named (NULL: "default") of the call's account and Region,
 * borrowed, under lock; the default group is made on first use. NULL when it
 * does not exist (nothing answered). */
json_t *scheduler_group_get(scheduler_state *st, aws_call *call, const char *name);
/* Seconds since the epoch, for CreationDate and friends. */
json_t *scheduler_now_json(void);

/* ---- scheduler_schedules.c ---- */
void scheduler_create_schedule(aws_call *call, json_t *in);
void scheduler_update_schedule(aws_call *call, json_t *in);
void scheduler_get_schedule(aws_call *call, json_t *in);
void scheduler_delete_schedule(aws_call *call, json_t *in);
void scheduler_list_schedules(aws_call *call, json_t *in);
/* Opaque pagination token for position pos, and back. */
void scheduler_token(char out[32], size_t pos);
int scheduler_token_parse(const char *token, size_t *pos);

/* ---- scheduler_fire.c ---- */
/* Checks at()/rate()/cron(); 0, or -1 when malformed. */
int scheduler_expression_check(const char *expr);
/* The first fire time (virtual ms) of schedule at or after now_ms, within
 * its StartDate/EndDate, or 0 when it will not fire again. after_ms: the
 * previous fire (0: none yet). */
uint64_t scheduler_next_fire(const json_t *schedule, uint64_t now_ms, uint64_t after_ms);
/* Sets the clock speed and re-arms the timer (under lock). */
void scheduler_clock_set_speed(scheduler_state *st, double speed);
/* (Re)computes schedule's NextFire and arms the timer (under lock). */
void scheduler_schedule_arm(scheduler_state *st, json_t *schedule);
/* Arms the timer when a schedule is due (under lock). */
void scheduler_timer_arm(scheduler_state *st);

/* ---- scheduler_tz.c ---- */
typedef struct scheduler_tz scheduler_tz;
/* Parses a TZif file of version 2 or later (untrusted bytes). *out is owned:
 * scheduler_tz_free(). 0, or AIRGAP_EINVALID when the data is malformed or
 * past the reader's limits (nothing allocated). */
int scheduler_tz_parse(scheduler_tz **out, const unsigned char *data, size_t len);
void scheduler_tz_free(scheduler_tz *tz);
/* The zone named ("Europe/Berlin", "UTC") from the tz database
 * (/usr/share/zoneinfo, or $AIRGAP_ZONEINFO), parsed once and cached for the
 * process's life (borrowed, never freed). NULL when the name is not a zone.
 * Thread-safe. */
const scheduler_tz *scheduler_tz_get(const char *name);
/* The offset from UTC (seconds east) in force at instant t (seconds since
 * the epoch). */
int32_t scheduler_tz_offset(const scheduler_tz *tz, int64_t t);
/* The instants at which the zone's clocks read local (seconds since the
 * epoch, as if local time were UTC): returns how many (1; 2 in a fall-back
 * overlap, *first the earlier), or 0 when the clocks skip local (a
 * spring-forward gap; *gap_end is then local read with the offset before the
 * change, i.e. moved on by the gap's length). */
int scheduler_tz_resolve(const scheduler_tz *tz, int64_t local, int64_t *first, int64_t *gap_end);

#endif
