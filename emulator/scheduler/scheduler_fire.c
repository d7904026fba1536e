/*
 * scheduler_fire.c — when schedules fire and what they send.
 *
 * Expressions: at(yyyy-mm-ddThh:mm:ss) once; rate() and cron() as
 * EventBridge's rules have them (events.h, one parser for both services).
 * at() and cron() name wall-clock times in ScheduleExpressionTimezone (UTC
 * when absent), the zone read from the tz database (scheduler_tz.c); rate()
 * counts elapsed time and ignores the zone. Daylight saving time as AWS's
 * user guide has it: a cron time the clocks skip in spring is skipped, and a
 * time they pass twice in autumn fires once, at its first instant. An at()
 * time inside a skipped hour is moved on by the gap's length. Recurring
 * schedules fire within [StartDate, EndDate]; a one-time schedule ignores
 * both, as AWS's does.
 *
 * One emulator timer serves every schedule (at most a second between ticks,
 * so that a clock speed-up set later takes effect); each tick hands the due
 * schedules' targets to the delivery engine, which retries per RetryPolicy
 * and dead-letters to the DeadLetterConfig queue. Missed periods are not
 * replayed.
 */
#include "emulator/scheduler/scheduler_int.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/events/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* at(2030-01-02T03:04:05): ms since the epoch, or 0 when malformed. */
static uint64_t parse_at(const char *expr) {
  int y, mo, d, h, mi, s, used = 0;
  if (sscanf(expr, "at(%4d-%2d-%2dT%2d:%2d:%2d)%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 ||
      expr[used] != '\0' || used != 23)
    return 0;
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 2199 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
      mi > 59 || s > 59)
    return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap)
    return 0;
  struct tm tm = {
      .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
  return (uint64_t)timegm(&tm) * 1000;
}

int scheduler_expression_check(const char *expr) {
  if (!strncmp(expr, "at(", 3))
    return parse_at(expr) ? 0 : -1;
  return events_schedule_check(expr);
}

/* The schedule's zone; NULL for UTC (or a zone that has since gone from the
 * tz database, which then runs in UTC). */
static const scheduler_tz *zone_of(const json_t *schedule) {
  const char *name = jsonutil_string(schedule, "ScheduleExpressionTimezone");
  return name ? scheduler_tz_get(name) : NULL;
}

/* at()'s instant (ms): its time read in tz. 0 when malformed. */
static uint64_t at_ms(const char *expr, const scheduler_tz *tz) {
  uint64_t local = parse_at(expr);
  if (!local || !tz)
    return local;
  int64_t first = 0, moved = 0;
  int64_t t = scheduler_tz_resolve(tz, (int64_t)(local / 1000), &first, &moved) ? first : moved;
  return t > 0 ? (uint64_t)t * 1000 : 1; /* before 1970: due at once */
}

/* The next fire of a rate() or cron() strictly after after_ms. A cron's
 * fields are matched against the wall clock of tz: the search walks local
 * times from the one after_ms reads and takes the first whose first instant
 * lies after after_ms, so a skipped local time never fires and a repeated
 * one fires once. */
static uint64_t expr_next(const char *expr, const scheduler_tz *tz, uint64_t after_ms) {
  if (!tz || strncmp(expr, "cron(", 5))
    return events_schedule_next(expr, after_ms);
  int64_t off = scheduler_tz_offset(tz, (int64_t)(after_ms / 1000));
  if (off < 0 && (uint64_t)(-off) * 1000 > after_ms)
    return 0;
  uint64_t local = (uint64_t)((int64_t)after_ms + off * 1000);
  /* A repeated hour of minutes at most, or a year of skipped days. */
  for (int i = 0; i < 1000; i++) {
    if (!(local = events_schedule_next(expr, local)))
      return 0;
    int64_t first = 0, moved = 0;
    if (!scheduler_tz_resolve(tz, (int64_t)(local / 1000), &first, &moved))
      continue;
    if (first > 0 && (uint64_t)first * 1000 + local % 1000 > after_ms)
      return (uint64_t)first * 1000 + local % 1000;
  }
  return 0;
}

static uint64_t date_ms(const json_t *schedule, const char *key) {
  json_t *v = json_object_get(schedule, key);
  return v ? (uint64_t)(json_number_value(v) * 1000.0) : 0;
}

uint64_t scheduler_next_fire(const json_t *schedule, uint64_t now_ms, uint64_t after_ms) {
  const char *expr = jsonutil_string(schedule, "ScheduleExpression");
  if (!expr || strcmp(jsonutil_string(schedule, "State"), "ENABLED"))
    return 0;
  const scheduler_tz *tz = zone_of(schedule);
  if (!strncmp(expr, "at(", 3))
    return after_ms ? 0 : at_ms(expr, tz); /* in the past: fires at the next tick */
  uint64_t start = date_ms(schedule, "StartDate"), end = date_ms(schedule, "EndDate");
  uint64_t next;
  if (after_ms)
    next = expr_next(expr, tz, after_ms);
  else if (start > now_ms)
    next = strncmp(expr, "rate(", 5) ? expr_next(expr, tz, start - 1) : start;
  else
    next = expr_next(expr, tz, now_ms);
  while (next && next < start)
    next = expr_next(expr, tz, next);
  if (end && next > end)
    return 0;
  return next;
}

void scheduler_clock_set_speed(scheduler_state *st, double speed) {
  emulator_clock_set_speed(&st->clock, speed);
  scheduler_timer_arm(st);
}

void scheduler_schedule_arm(scheduler_state *st, json_t *schedule) {
  uint64_t next = scheduler_next_fire(schedule, emulator_clock_now(&st->clock), 0);
  if (next)
    json_object_set_new(schedule, "NextFire", json_integer((json_int_t)next));
  else
    json_object_del(schedule, "NextFire");
  scheduler_timer_arm(st);
}

/* ---- firing ---- */

static void fire(scheduler_state *st, json_t *s, uint64_t due) {
  json_t *target = json_object_get(s, "Target");
  const char *arn = jsonutil_string(target, "Arn");
  const char *input = jsonutil_string(target, "Input");
  delivery_job job = {.target = arn};
  json_t *meta = json_object();
  char *body = NULL;
  char id[37];
  codec_uuid4(id);
  if (!strncmp(arn, "arn:aws:sqs:", 12)) {
    job.kind = DELIVERY_SQS;
    const char *group = jsonutil_string(json_object_get(target, "SqsParameters"), "MessageGroupId");
    if (group) {
      json_object_set_new(meta, "MessageGroupId", json_string(group));
      json_object_set_new(meta, "MessageDeduplicationId", json_string(id));
    }
  } else if (!strncmp(arn, "arn:aws:sns:", 12)) {
    job.kind = DELIVERY_SNS;
  } else if (!strncmp(arn, "arn:aws:lambda:", 15)) {
    job.kind = DELIVERY_LAMBDA;
  } else if (!strncmp(arn, "arn:aws:events:", 15) && strstr(arn, ":event-bus/")) {
    /* The PutEvents templated target: one event with the schedule as its
     * resource and Input as its detail. */
    json_t *eb = json_object_get(target, "EventBridgeParameters");
    json_t *detail = input ? json_loads(input, 0, NULL) : NULL;
    if (!json_is_object(detail)) {
      json_decref(detail);
      detail = json_object();
    }
    char ts[32];
    time_t secs = (time_t)(due / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *source = jsonutil_string(eb, "Source");
    const char *type = jsonutil_string(eb, "DetailType");
    json_t *event = json_pack(
        "{s:s,s:s,s:s,s:s,s:O,s:s,s:O,s:[O],s:o}", "version", "0", "id", id, "detail-type",
        type ? type : "Scheduled Event", "source", source ? source : "aws.scheduler", "account",
        json_object_get(s, "Account"), "time", ts, "region", json_object_get(s, "Region"),
        "resources", json_object_get(s, "Arn"), "detail", detail);
    body = event ? json_dumps(event, JSON_COMPACT) : NULL;
    json_decref(event);
    job.kind = DELIVERY_EVENTS;
  } else {
    json_decref(meta);
    log_warn("scheduler", "schedule %s: target %s is not a kind this emulator delivers to",
             jsonutil_string(s, "Arn"), arn);
    return;
  }
  if (!body)
    body = strdup(input ? input : "{}");
  json_t *retry = json_object_get(target, "RetryPolicy");
  json_t *attempts = json_object_get(retry, "MaximumRetryAttempts");
  /* AWS's default is 185 retries over a day; the emulator keeps its own
   * default unless the schedule sets one. */
  if (json_is_integer(attempts))
    job.max_attempts = (int)json_integer_value(attempts) + 1;
  job.dlq_arn = jsonutil_string(json_object_get(target, "DeadLetterConfig"), "Arn");
  job.meta = meta;
  if (body) {
    job.body = body;
    job.body_len = strlen(body);
    if (delivery_submit(st->delivery, &job) < 0)
      log_warn("scheduler", "delivery to %s not queued", arn);
    else
      st->fired++;
  }
  free(body);
  json_decref(meta);
}

static void tick(void *payload);

/* Fires what is due; returns the earliest next due (virtual ms; 0: none). */
static uint64_t run_due(scheduler_state *st, uint64_t now) {
  uint64_t earliest = 0;
  const char *arn;
  json_t *s;
  json_object_foreach(st->schedules, arn, s) {
    json_t *nf = json_object_get(s, "NextFire");
    if (!nf)
      continue;
    uint64_t due = (uint64_t)json_integer_value(nf);
    if (due <= now) {
      fire(st, s, due);
      uint64_t next = scheduler_next_fire(s, now, due);
      while (next && next <= now)
        next = scheduler_next_fire(s, now, next);
      due = next;
      if (due)
        json_object_set_new(s, "NextFire", json_integer((json_int_t)due));
      else
        json_object_del(s, "NextFire");
    }
    if (due && (!earliest || due < earliest))
      earliest = due;
  }
  return earliest;
}

void scheduler_timer_arm(scheduler_state *st) {
  if (st->stopping || st->timer)
    return;
  uint64_t now = emulator_clock_now(&st->clock);
  uint64_t earliest = run_due(st, now);
  if (!earliest)
    return;
  uint64_t wait = earliest > now ? (uint64_t)((double)(earliest - now) / st->clock.speed) : 0;
  if (wait > 1000)
    wait = 1000;
  st->timer = emulator_timer_add(st->emu, wait, tick, st);
}

static void tick(void *payload) {
  scheduler_state *st = payload;
  pthread_mutex_lock(&st->lock);
  st->timer = NULL;
  scheduler_timer_arm(st);
  pthread_mutex_unlock(&st->lock);
}
