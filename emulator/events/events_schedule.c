/*
 * events_schedule.c — scheduled rules: rate(N unit) and six-field cron(),
 * with AWS's syntax (minutes, hours, day-of-month, month, day-of-week,
 * year; one of the two day fields is '?'; names JAN-DEC and SUN-SAT; L for
 * the last day of the month, nL and n#k in day-of-week), in UTC.
 *
 * One emulator timer serves every schedule: each tick fires the rules whose
 * NextFire has passed on the scheduler's clock and re-arms itself for the
 * earliest next one (at most a second away, so that a clock speed-up set
 * later takes effect). The clock is the wall clock, or runs `speed` times
 * faster from the moment the speed was set — the test hook that lets a test
 * see rate(1 minute) fire within a second.
 */
#include "emulator/events/events_int.h"

#include "common/clock.h"
#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define YEAR_MIN 1970
#define YEAR_MAX 2199
#define SCHEDULE_SEARCH_DAYS (366 * 5)

/* ---- rate() ---- */

static int parse_rate(const char *expr, uint64_t *period_ms) {
  unsigned long long v = 0;
  char unit[16];
  int used = 0;
  if (sscanf(expr, "rate(%llu %15[a-z])%n", &v, unit, &used) != 2 || expr[used] != '\0' || v == 0)
    return -1;
  uint64_t ms;
  if (!strcmp(unit, v == 1 ? "minute" : "minutes"))
    ms = 60000;
  else if (!strcmp(unit, v == 1 ? "hour" : "hours"))
    ms = 3600000;
  else if (!strcmp(unit, v == 1 ? "day" : "days"))
    ms = 86400000;
  else
    return -1;
  if (v > 1000000)
    return -1;
  *period_ms = v * ms;
  return 0;
}

/* ---- cron() ---- */

typedef struct cron {
  unsigned char minute[60], hour[24], dom[32], month[13], dow[8], year[YEAR_MAX - YEAR_MIN + 1];
  int dom_any, dow_any;     /* '?' */
  int dom_last;             /* L */
  int dow_nth, dow_nth_day; /* n#k: k-th day n */
  int dow_last_day;         /* nL: the last day n of the month (0: none) */
} cron;

static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const days[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

static int value_of(const char *s, size_t n, const char *const *names, int count, int base,
                    int *out) {
  if (names && n == 3)
    for (int i = 0; i < count; i++)
      if (!strncasecmp(s, names[i], 3)) {
        *out = i + base;
        return 0;
      }
  if (n == 0 || n > 4)
    return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* One field: lists of *, N, N-M, with /S. set[lo..hi]. */
static int parse_field(const char *s, unsigned char *set, int lo, int hi, const char *const *names,
                       int count, int base) {
  const char *p = s;
  while (*p) {
    size_t n = strcspn(p, ",");
    char item[32];
    if (n == 0 || n >= sizeof(item))
      return -1;
    memcpy(item, p, n);
    item[n] = '\0';
    p += n;
    if (*p == ',')
      p++;
    int a = lo, b = hi, step = 1;
    char *slash = strchr(item, '/');
    if (slash) {
      *slash = '\0';
      int sv;
      if (value_of(slash + 1, strlen(slash + 1), NULL, 0, 0, &sv) < 0 || sv < 1)
        return -1;
      step = sv;
    }
    if (strcmp(item, "*")) {
      char *dash = strchr(item, '-');
      if (value_of(item, dash ? (size_t)(dash - item) : strlen(item), names, count, base, &a) < 0)
        return -1;
      b = a;
      if (dash && value_of(dash + 1, strlen(dash + 1), names, count, base, &b) < 0)
        return -1;
      if (slash && !dash)
        b = hi;
    }
    if (a < lo || b > hi || a > b)
      return -1;
    for (int v = a; v <= b; v += step)
      set[v] = 1;
  }
  return 0;
}

static int parse_cron(const char *expr, cron *c) {
  memset(c, 0, sizeof(*c));
  size_t len = strlen(expr);
  if (len < 7 || strncmp(expr, "cron(", 5) || expr[len - 1] != ')' || len > 256)
    return -1;
  char buf[256];
  memcpy(buf, expr + 5, len - 6);
  buf[len - 6] = '\0';
  char *fields[6];
  int nf = 0;
  for (char *p = buf; *p && nf < 7;) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    if (nf == 6)
      return -1;
    fields[nf++] = p;
    p += strcspn(p, " ");
    if (*p)
      *p++ = '\0';
  }
  if (nf != 6)
    return -1;
  if (parse_field(fields[0], c->minute, 0, 59, NULL, 0, 0) < 0 ||
      parse_field(fields[1], c->hour, 0, 23, NULL, 0, 0) < 0 ||
      parse_field(fields[3], c->month, 1, 12, months, 12, 1) < 0)
    return -1;
  unsigned char years[YEAR_MAX + 1];
  memset(years, 0, sizeof(years));
  if (parse_field(fields[5], years, YEAR_MIN, YEAR_MAX, NULL, 0, 0) < 0)
    return -1;
  memcpy(c->year, years + YEAR_MIN, sizeof(c->year));
  c->dom_any = !strcmp(fields[2], "?");
  c->dow_any = !strcmp(fields[4], "?");
  if (c->dom_any == c->dow_any)
    return -1; /* exactly one of them is '?' */
  if (!c->dom_any) {
    if (!strcmp(fields[2], "L"))
      c->dom_last = 1;
    else if (parse_field(fields[2], c->dom, 1, 31, NULL, 0, 0) < 0)
      return -1;
  }
  if (!c->dow_any) {
    const char *f = fields[4];
    char *hash = strchr(f, '#');
    size_t fl = strlen(f);
    if (hash) {
      int d, k;
      if (value_of(f, (size_t)(hash - f), days, 7, 1, &d) < 0 ||
          value_of(hash + 1, strlen(hash + 1), NULL, 0, 0, &k) < 0 || d < 1 || d > 7 || k < 1 ||
          k > 5)
        return -1;
      c->dow_nth_day = d;
      c->dow_nth = k;
    } else if (fl >= 2 && f[fl - 1] == 'L') {
      int d;
      if (value_of(f, fl - 1, days, 7, 1, &d) < 0 || d < 1 || d > 7)
        return -1;
      c->dow_last_day = d;
    } else if (!strcmp(f, "L")) {
      c->dow[7] = 1;
    } else if (parse_field(f, c->dow, 1, 7, days, 7, 1) < 0) {
      return -1;
    }
  }
  return 0;
}

static int days_in_month(int year, int month) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : d[month - 1];
}

static int day_matches(const cron *c, const struct tm *tm) {
  int year = tm->tm_year + 1900, month = tm->tm_mon + 1, dom = tm->tm_mday;
  int dow = tm->tm_wday + 1; /* 1 = SUN */
  if (year < YEAR_MIN || year > YEAR_MAX || !c->year[year - YEAR_MIN] || !c->month[month])
    return 0;
  if (!c->dom_any)
    return c->dom_last ? dom == days_in_month(year, month) : c->dom[dom];
  if (c->dow_nth)
    return dow == c->dow_nth_day && (dom - 1) / 7 + 1 == c->dow_nth;
  if (c->dow_last_day)
    return dow == c->dow_last_day && dom + 7 > days_in_month(year, month);
  return c->dow[dow];
}

static uint64_t cron_next(const cron *c, uint64_t after_ms) {
  time_t t = (time_t)(after_ms / 1000 / 60 * 60 + 60); /* the next whole minute */
  for (int day = 0; day < SCHEDULE_SEARCH_DAYS; day++) {
    struct tm tm;
    gmtime_r(&t, &tm);
    if (day_matches(c, &tm)) {
      for (int h = tm.tm_hour; h < 24; h++) {
        if (!c->hour[h])
          continue;
        for (int m = h == tm.tm_hour ? tm.tm_min : 0; m < 60; m++)
          if (c->minute[m]) {
            tm.tm_hour = h;
            tm.tm_min = m;
            tm.tm_sec = 0;
            return (uint64_t)timegm(&tm) * 1000;
          }
      }
    }
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    t = timegm(&tm) + 86400;
  }
  return 0;
}

int events_schedule_check(const char *expr) {
  uint64_t period;
  cron c;
  if (!strncmp(expr, "rate(", 5))
    return parse_rate(expr, &period);
  if (!strncmp(expr, "cron(", 5))
    return parse_cron(expr, &c);
  return -1;
}

uint64_t events_schedule_next(const char *expr, uint64_t after_ms) {
  uint64_t period;
  cron c;
  if (!strncmp(expr, "rate(", 5) && parse_rate(expr, &period) == 0)
    return after_ms + period;
  if (!strncmp(expr, "cron(", 5) && parse_cron(expr, &c) == 0)
    return cron_next(&c, after_ms);
  return 0;
}

/* ---- the clock and the tick ---- */

uint64_t events_clock_now(events_state *st) { return emulator_clock_now(&st->clock); }

void events_clock_set_speed(events_state *st, double speed) {
  emulator_clock_set_speed(&st->clock, speed);
  /* Rules scheduled under the old speed keep their virtual due times. */
  events_scheduler_arm(st);
}

static void fire(events_state *st, json_t *bus, json_t *rule, uint64_t due) {
  char id[37], ts[32];
  codec_uuid4(id);
  events_time(ts, due);
  json_t *event = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s,s:O,s:[O],s:{}}", "version", "0", "id", id,
                            "detail-type", "Scheduled Event", "source", "aws.events", "account",
                            json_object_get(bus, "Account"), "time", ts, "region",
                            json_object_get(bus, "Region"), "resources",
                            json_object_get(rule, "Arn"), "detail");
  if (event)
    events_rule_fire(st, rule, event);
  json_decref(event);
}

static void tick(void *payload);

/* Walks every schedule: fires what is due, returns the earliest next due
 * (virtual ms; 0 when there is no schedule). */
static uint64_t run_due(events_state *st, uint64_t now) {
  uint64_t earliest = 0;
  const char *arn;
  json_t *bus;
  json_object_foreach(st->buses, arn, bus) {
    const char *name;
    json_t *rule;
    json_object_foreach(json_object_get(bus, "Rules"), name, rule) {
      const char *expr = jsonutil_string(rule, "ScheduleExpression");
      if (!expr || strcmp(jsonutil_string(rule, "State"), "ENABLED"))
        continue;
      uint64_t due = (uint64_t)json_integer_value(json_object_get(rule, "NextFire"));
      if (due && due <= now) {
        fire(st, bus, rule, due);
        /* Missed periods are not replayed: the next one after now. */
        due = events_schedule_next(expr, due);
        while (due && due <= now)
          due = events_schedule_next(expr, due);
        json_object_set_new(rule, "NextFire", json_integer((json_int_t)due));
      }
      if (due && (!earliest || due < earliest))
        earliest = due;
    }
  }
  return earliest;
}

void events_scheduler_arm(events_state *st) {
  if (st->stopping || st->timer)
    return;
  uint64_t now = events_clock_now(st);
  uint64_t earliest = run_due(st, now);
  if (!earliest)
    return;
  uint64_t wait = (uint64_t)((double)(earliest - now) / st->clock.speed);
  if (wait > 1000)
    wait = 1000;
  st->timer = emulator_timer_add(st->emu, wait, tick, st);
}

static void tick(void *payload) {
  events_state *st = payload;
  pthread_mutex_lock(&st->lock);
  st->timer = NULL;
  events_scheduler_arm(st);
  pthread_mutex_unlock(&st->lock);
}
