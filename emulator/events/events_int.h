/*
 * events_int.h — private to emulator/events/: EventBridge's state and the
 * helpers its files share.
 *
 * Files, by concept:
 *   events_service.c   the aws_service, state, errors, tags, event buses and
 *                      their permissions, the /_aws/events/ endpoints
 *   events_rules.c     rules, targets, TestEventPattern
 *   events_put.c       PutEvents, matching rules, target input (Input,
 *                      InputPath, InputTransformer), hand-off to the delivery
 *                      engine, archives filling up, replays
 *   events_schedule.c  rate() and cron() expressions and the scheduler tick
 *   events_store.c     archives, replays, connections and API destinations
 *
 * Resources are jansson objects under one lock (events_state.lock):
 *   bus:  buses[bus arn] = {Name, Arn, Account, Region, Policy?, Tags{},
 *                           Rules{name: rule}, CreationTime}
 *   rule: {Name, Arn, EventBusName, State, EventPattern?, Pattern (parsed)?,
 *          ScheduleExpression?, Description?, RoleArn?, Targets[], Tags{},
 *          NextFire (virtual ms; schedules)}
 */
#ifndef AIRGAP_EMULATOR_EVENTS_INT_H
#define AIRGAP_EMULATOR_EVENTS_INT_H

#include "emulator/delivery/delivery.h"
#include "emulator/events/events.h"
#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define EVENTS_MAX_ENTRIES 10
#define EVENTS_MAX_TARGETS 5
#define EVENTS_MAX_ENTRY_SIZE 262144
#define EVENTS_MAX_ARCHIVED 10000 /* events kept per archive */
#define EVENTS_MAX_TAGS 50

typedef struct events_state {
  pthread_mutex_t lock;
  emulator *emu;
  delivery *delivery;
  json_t *buses;        /* bus arn → bus */
  json_t *archives;     /* archive arn → archive (Events[] inside) */
  json_t *replays;      /* replay arn → replay */
  json_t *connections;  /* connection arn → connection */
  json_t *destinations; /* api destination arn → destination */
  /* The scheduler: one timer while schedules exist; the clock may run
   * faster than the wall clock (a test hook: AIRGAP_EVENTS_CLOCK_SPEED, or
   * POST /_aws/events/clock). */
  emulator_timer *timer;
  emulator_clock clock;
  int stopping;
} events_state;

/* ---- events_service.c ---- */
events_state *events_state_of(aws_call *call);
void events_fail_validation(aws_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void events_fail_not_found(aws_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The bus named or ARN'd by name (NULL/"" → default, created on first use),
 * for the call's account and Region; borrowed, under lock. NULL: answered
 * ResourceNotFoundException. */
json_t *events_bus_get(events_state *st, aws_call *call, const char *name);
/* The same without a call: bus by ARN, default buses made on demand. */
json_t *events_bus_by_arn(events_state *st, const char *arn);
/* ISO-8601 UTC seconds ("2024-01-02T03:04:05Z") of wall ms. */
void events_time(char out[32], uint64_t ms);
/* Checks a Tags list and merges it into tags. 0 or answered (-1). */
int events_tags_merge(aws_call *call, json_t *tags, json_t *list);
/* Resource names: 1-64 of [.\-_A-Za-z0-9]. */
int events_valid_name(const char *name, size_t max);

/* ---- events_rules.c ---- */
void events_put_rule(aws_call *call, json_t *in);
void events_delete_rule(aws_call *call, json_t *in);
void events_describe_rule(aws_call *call, json_t *in);
void events_enable_rule(aws_call *call, json_t *in);
void events_disable_rule(aws_call *call, json_t *in);
void events_list_rules(aws_call *call, json_t *in);
void events_list_rule_names_by_target(aws_call *call, json_t *in);
void events_put_targets(aws_call *call, json_t *in);
void events_remove_targets(aws_call *call, json_t *in);
void events_list_targets_by_rule(aws_call *call, json_t *in);
void events_test_event_pattern(aws_call *call, json_t *in);
/* Parses and checks an event pattern; *out the parsed object (new
 * reference). Answers InvalidEventPatternException and returns -1. */
int events_pattern_parse(aws_call *call, const char *text, json_t **out);
/* The rule of a tagged ARN (borrowed, under lock), or NULL. */
json_t *events_rule_by_arn(events_state *st, const char *arn);

/* ---- events_put.c ---- */
void events_put_events(aws_call *call, json_t *in);
/* Sends event (a full event object) through bus's enabled pattern rules
 * (under lock); replay names the replay, or NULL; only_rules (array of rule
 * ARNs) limits the rules, or NULL. Archives of the bus record it. */
void events_dispatch(events_state *st, json_t *bus, json_t *event, const char *replay,
                     json_t *only_rules);
/* Sends event to each target of rule (under lock). */
void events_rule_fire(events_state *st, json_t *rule, json_t *event);
/* The delivery engine's DELIVERY_EVENTS handler (another bus, S3). */
int events_deliver_internal(const delivery_item *item, void *payload);

/* ---- events_schedule.c ---- */
/* events_schedule_check, events_schedule_next: events.h. */
/* The scheduler's clock (virtual ms, under lock). */
uint64_t events_clock_now(events_state *st);
/* Arms the scheduler's timer when a schedule exists (under lock). */
void events_scheduler_arm(events_state *st);
/* Sets the clock speed (under lock). */
void events_clock_set_speed(events_state *st, double speed);

/* ---- events_store.c ---- */
void events_create_archive(aws_call *call, json_t *in);
void events_describe_archive(aws_call *call, json_t *in);
void events_update_archive(aws_call *call, json_t *in);
void events_delete_archive(aws_call *call, json_t *in);
void events_list_archives(aws_call *call, json_t *in);
void events_start_replay(aws_call *call, json_t *in);
void events_describe_replay(aws_call *call, json_t *in);
void events_cancel_replay(aws_call *call, json_t *in);
void events_list_replays(aws_call *call, json_t *in);
void events_create_connection(aws_call *call, json_t *in);
void events_describe_connection(aws_call *call, json_t *in);
void events_update_connection(aws_call *call, json_t *in);
void events_delete_connection(aws_call *call, json_t *in);
void events_list_connections(aws_call *call, json_t *in);
void events_deauthorize_connection(aws_call *call, json_t *in);
void events_create_api_destination(aws_call *call, json_t *in);
void events_describe_api_destination(aws_call *call, json_t *in);
void events_update_api_destination(aws_call *call, json_t *in);
void events_delete_api_destination(aws_call *call, json_t *in);
void events_list_api_destinations(aws_call *call, json_t *in);
/* Records event in each archive of bus_arn whose pattern matches (under lock). */
void events_archive_record(events_state *st, const char *bus_arn, json_t *event);

#endif
