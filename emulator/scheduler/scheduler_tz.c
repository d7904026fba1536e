/*
 * scheduler_tz.c — IANA time zones for ScheduleExpressionTimezone, read from
 * the system's tz database (/usr/share/zoneinfo, Debian's tzdata).
 *
 * glibc's TZ/localtime_r work on one process-wide zone and are not safe to
 * switch between threads, so this file reads TZif files itself (RFC 9636):
 * version 2 and later only, the 64-bit data block, and the footer's POSIX TZ
 * string for instants past the table. A zone file is untrusted input: every
 * count has a limit, every index and every offset is checked, and a file that
 * breaks any rule is refused whole. Leap-second records are skipped (the
 * scheduler's clock is POSIX time, as AWS's is).
 *
 * Parsed zones are cached for the life of the process under one lock; a
 * zone is never freed once cached, so callers may keep the pointer.
 */
#include "emulator/scheduler/scheduler_int.h"

#include "common/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_FILE (256 * 1024) /* real zone files are under 4 KiB */
#define TZ_MAX_TIMES 4000        /* transitions (the largest zones have ~2000) */
#define TZ_MAX_TYPES 256         /* RFC 9636's own limit */
#define TZ_MAX_CHARS 1024
#define TZ_MAX_LEAPS 1000
#define TZ_MAX_FOOTER 128
#define TZ_MAX_CACHED 1024 /* zones kept; more than the database holds */
#define TZ_MAX_OFFSET (26 * 3600)

typedef struct tz_rule {
  int kind; /* 'J' Julian day 1-365 (no Feb 29), 'D' day 0-365, 'M' month.week.day */
  int day, week, month;
  int32_t secs; /* local time of day of the change, -167h to 167h */
} tz_rule;

struct scheduler_tz {
  size_t ntimes, ntypes;
  int64_t *times;       /* ascending transition instants */
  unsigned char *idx;   /* type in force from times[i] on */
  int32_t *utoff;       /* per type */
  unsigned char *isdst; /* per type */
  int has_footer, has_dst;
  int32_t std_off, dst_off; /* east of UTC, seconds */
  tz_rule start, end;
};

void scheduler_tz_free(scheduler_tz *tz) {
  if (!tz)
    return;
  free(tz->times);
  free(tz->idx);
  free(tz->utoff);
  free(tz->isdst);
  free(tz);
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct counts {
  uint32_t isut, isstd, leap, time, type, chars;
} counts;

/* Reads a 44-byte header at p; 0, or -1 when it is not a v2+ header with
 * counts within the limits. */
static int header(counts *c, const unsigned char *p, size_t avail) {
  if (avail < 44 || memcmp(p, "TZif", 4) || p[4] < '2')
    return -1;
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chars = be32(p + 40);
  if (c->type < 1 || c->type > TZ_MAX_TYPES || c->time > TZ_MAX_TIMES || c->chars > TZ_MAX_CHARS ||
      c->leap > TZ_MAX_LEAPS || (c->isut && c->isut != c->type) ||
      (c->isstd && c->isstd != c->type))
    return -1;
  return 0;
}

static size_t block_size(const counts *c, size_t timesize) {
  return (size_t)c->time * timesize + c->time + (size_t)c->type * 6 + c->chars +
         (size_t)c->leap * (timesize + 4) + c->isstd + c->isut;
}

/* ---- POSIX TZ strings (the footer) ---- */

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static const char *tz_name(const char *s) {
  const char *p = s;
  if (*p == '<') {
    p++;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-')
      p++;
    if (*p != '>' || p - s < 4)
      return NULL;
    return p + 1;
  }
  while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
    p++;
  return p - s >= 3 ? p : NULL;
}

static const char *tz_number(const char *s, int lo, int hi, int *out) {
  int v = 0, n = 0;
  while (*s >= '0' && *s <= '9' && n < 4) {
    v = v * 10 + (*s++ - '0');
    n++;
  }
  if (!n || v < lo || v > hi)
    return NULL;
  *out = v;
  return s;
}

/* [+-]hh[:mm[:ss]], hours up to max_hours. */
static const char *tz_hms(const char *s, int max_hours, int32_t *out) {
  int sign = 1, h = 0, m = 0, sec = 0;
  if (*s == '+' || *s == '-')
    sign = *s++ == '-' ? -1 : 1;
  if (!(s = tz_number(s, 0, max_hours, &h)))
    return NULL;
  if (*s == ':' && !(s = tz_number(s + 1, 0, 59, &m)))
    return NULL;
  if (*s == ':' && !(s = tz_number(s + 1, 0, 59, &sec)))
    return NULL;
  *out = sign * (h * 3600 + m * 60 + sec);
  return s;
}

static const char *tz_rule_parse(const char *s, tz_rule *r) {
  if (*s == 'J') {
    r->kind = 'J';
    s = tz_number(s + 1, 1, 365, &r->day);
  } else if (*s == 'M') {
    r->kind = 'M';
    if ((s = tz_number(s + 1, 1, 12, &r->month)) && *s == '.' &&
        (s = tz_number(s + 1, 1, 5, &r->week)) && *s == '.')
      s = tz_number(s + 1, 0, 6, &r->day);
    else
      s = NULL;
  } else {
    r->kind = 'D';
    s = tz_number(s, 0, 365, &r->day);
  }
  if (!s)
    return NULL;
  r->secs = 7200;
  if (*s == '/')
    s = tz_hms(s + 1, 167, &r->secs);
  return s;
}

/* "EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "JST-9";
 * an empty footer leaves has_footer 0. */
static int footer_parse(scheduler_tz *tz, const char *s) {
  if (!*s)
    return 0;
  int32_t off;
  if (!(s = tz_name(s)) || !(s = tz_hms(s, 24, &off)))
    return -1;
  tz->std_off = -off; /* POSIX counts west of Greenwich */
  tz->has_footer = 1;
  if (!*s)
    return 0;
  if (!(s = tz_name(s)))
    return -1;
  tz->dst_off = tz->std_off + 3600;
  if (*s && *s != ',') {
    if (!(s = tz_hms(s, 24, &off)))
      return -1;
    tz->dst_off = -off;
  }
  /* No rule: POSIX leaves it to the implementation; tzcode uses the US
   * rules, and zic never writes such a footer. */
  if (*s != ',' || !(s = tz_rule_parse(s + 1, &tz->start)) || *s != ',' ||
      !(s = tz_rule_parse(s + 1, &tz->end)) || *s)
    return -1;
  tz->has_dst = 1;
  return 0;
}

/* ---- civil calendar ---- */

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int64_t year_of(int64_t t) {
  int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  return yoe + era * 400 + (m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Seconds from the epoch to the local midnight starting the rule's day in
 * year y (as if local time were UTC), plus the rule's time of day. */
static int64_t rule_local(const tz_rule *r, int64_t y) {
  int64_t day;
  if (r->kind == 'J')
    day = days_from_civil(y, 1, 1) + r->day - 1 + (is_leap(y) && r->day >= 60);
  else if (r->kind == 'D')
    day = days_from_civil(y, 1, 1) + r->day;
  else {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t first = days_from_civil(y, r->month, 1);
    int wday = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t d = first + (r->day - wday + 7) % 7 + (int64_t)(r->week - 1) * 7;
    int len = mdays[r->month - 1] + (r->month == 2 && is_leap(y));
    while (d >= first + len)
      d -= 7;
    day = d;
  }
  return day * 86400 + r->secs;
}

static int32_t footer_offset(const scheduler_tz *tz, int64_t t) {
  if (!tz->has_dst)
    return tz->std_off;
  int64_t y = year_of(t + tz->std_off);
  /* The rules of the year before and after as well, for instants near New
   * Year's whose change falls in the neighbouring local year. */
  int32_t off = tz->std_off;
  int64_t best = INT64_MIN;
  for (int64_t yy = y - 1; yy <= y + 1; yy++) {
    int64_t start = rule_local(&tz->start, yy) - tz->std_off;
    int64_t end = rule_local(&tz->end, yy) - tz->dst_off;
    if (start <= t && start > best) {
      best = start;
      off = tz->dst_off;
    }
    if (end <= t && end > best) {
      best = end;
      off = tz->std_off;
    }
  }
  return off;
}

/* ---- parsing ---- */

int scheduler_tz_parse(scheduler_tz **out, const unsigned char *data, size_t len) {
  counts c1, c;
  scheduler_tz *tz = NULL;
  if (len > TZ_MAX_FILE || header(&c1, data, len) < 0)
    goto invalid;
  size_t v1 = 44 + block_size(&c1, 4);
  if (v1 > len || header(&c, data + v1, len - v1) < 0)
    goto invalid;
  const unsigned char *p = data + v1 + 44, *end = data + len;
  size_t need = block_size(&c, 8);
  if (need > (size_t)(end - p))
    goto invalid;
  tz = calloc(1, sizeof(*tz));
  if (!tz)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  tz->ntimes = c.time;
  tz->ntypes = c.type;
  tz->times = malloc((c.time ? c.time : 1) * sizeof(*tz->times));
  tz->idx = malloc(c.time ? c.time : 1);
  tz->utoff = malloc(c.type * sizeof(*tz->utoff));
  tz->isdst = malloc(c.type);
  if (!tz->times || !tz->idx || !tz->utoff || !tz->isdst) {
    scheduler_tz_free(tz);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  for (size_t i = 0; i < c.time; i++, p += 8) {
    tz->times[i] = be64(p);
    if (i && tz->times[i] <= tz->times[i - 1])
      goto invalid;
  }
  for (size_t i = 0; i < c.time; i++) {
    if (*p >= c.type)
      goto invalid;
    tz->idx[i] = *p++;
  }
  for (size_t i = 0; i < c.type; i++, p += 6) {
    int32_t off = (int32_t)be32(p);
    if (off < -TZ_MAX_OFFSET || off > TZ_MAX_OFFSET || p[4] > 1 || p[5] >= c.chars)
      goto invalid;
    tz->utoff[i] = off;
    tz->isdst[i] = p[4];
  }
  p += c.chars + (size_t)c.leap * 12 + c.isstd + c.isut;
  /* Footer: "\n" TZ string "\n". */
  if (p >= end || *p != '\n')
    goto invalid;
  const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
  if (!nl || nl - p - 1 > TZ_MAX_FOOTER)
    goto invalid;
  char footer[TZ_MAX_FOOTER + 1];
  memcpy(footer, p + 1, (size_t)(nl - p - 1));
  footer[nl - p - 1] = '\0';
  if (memchr(footer, '\0', (size_t)(nl - p - 1)) || footer_parse(tz, footer) < 0)
    goto invalid;
  *out = tz;
  return 0;
invalid:
  scheduler_tz_free(tz);
  return airgap_error_set(AIRGAP_EINVALID, "not a valid TZif (version 2 or later) zone file");
}

int32_t scheduler_tz_offset(const scheduler_tz *tz, int64_t t) {
  if (tz->ntimes == 0 || t < tz->times[0]) {
    if (tz->ntimes == 0 && tz->has_footer)
      return footer_offset(tz, t);
    /* Before the first transition: the first type (RFC 9636 3.2). */
    return tz->utoff[0];
  }
  if (t >= tz->times[tz->ntimes - 1] && tz->has_footer)
    return footer_offset(tz, t);
  size_t lo = 0, hi = tz->ntimes; /* the last transition at or before t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->times[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return tz->utoff[tz->idx[lo]];
}

int scheduler_tz_resolve(const scheduler_tz *tz, int64_t local, int64_t *first, int64_t *gap_end) {
  /* The offsets in force in the window where the instant must lie: sampled
   * hourly (zones change at most a few times a year, never twice an hour). */
  int32_t offs[8];
  size_t n = 0;
  for (int64_t t = local - TZ_MAX_OFFSET - 3600; t <= local + TZ_MAX_OFFSET + 3600; t += 1800) {
    int32_t o = scheduler_tz_offset(tz, t);
    size_t i = 0;
    while (i < n && offs[i] != o)
      i++;
    if (i == n && n < sizeof(offs) / sizeof(offs[0]))
      offs[n++] = o;
  }
  int found = 0;
  int64_t best = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t t = local - offs[i];
    if (scheduler_tz_offset(tz, t) == offs[i]) {
      if (!found || t < best)
        best = t;
      found++;
    }
  }
  if (found) {
    *first = best;
    return found;
  }
  /* A gap: the local time the clocks skipped, moved on by the gap's length
   * (the offset before the change applied), as java.time resolves it. */
  int32_t before = scheduler_tz_offset(tz, local - TZ_MAX_OFFSET - 3600);
  *gap_end = local - before;
  return 0;
}

/* ---- the cache ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached {
  char name[64];
  scheduler_tz *tz;
} cache[TZ_MAX_CACHED];
static size_t ncached;

static const char *zoneinfo_dir(void) {
  const char *dir = getenv("AIRGAP_ZONEINFO");
  return dir && *dir ? dir : "/usr/share/zoneinfo";
}

/* Reads and parses dir/name; NULL when absent or invalid. */
static scheduler_tz *load(const char *name) {
  char path[512];
  if ((size_t)snprintf(path, sizeof(path), "%s/%s", zoneinfo_dir(), name) >= sizeof(path))
    return NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char *buf = malloc(TZ_MAX_FILE + 1);
  size_t len = buf ? fread(buf, 1, TZ_MAX_FILE + 1, f) : 0;
  fclose(f);
  scheduler_tz *tz = NULL;
  if (buf && len <= TZ_MAX_FILE)
    scheduler_tz_parse(&tz, buf, len);
  free(buf);
  return tz;
}

const scheduler_tz *scheduler_tz_get(const char *name) {
  /* IANA names: letters, digits, '/', '_', '+', '-', no "..", no leading
   * '/' or '.', at most 63 bytes. */
  size_t len = strlen(name);
  if (!len || len >= sizeof(cache[0].name) || name[0] == '/' || name[0] == '.' ||
      strstr(name, "..") ||
      strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != len)
    return NULL;
  pthread_mutex_lock(&cache_lock);
  scheduler_tz *tz = NULL;
  for (size_t i = 0; i < ncached && !tz; i++)
    if (!strcmp(cache[i].name, name))
      tz = cache[i].tz;
  /* A full cache (more names than the database holds) answers unknown
   * rather than hand out a zone that nobody would free. */
  if (!tz && ncached < TZ_MAX_CACHED && (tz = load(name))) {
    memcpy(cache[ncached].name, name, len + 1);
    cache[ncached++].tz = tz;
  }
  pthread_mutex_unlock(&cache_lock);
  return tz;
}
