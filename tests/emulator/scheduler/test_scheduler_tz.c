/*
 * test_scheduler_tz.c — EventBridge Scheduler's time zones
 * (emulator/scheduler/scheduler_tz.c and the zone-aware next fire times of
 * scheduler_fire.c): the TZif reader against the system's tz database
 * (Debian's tzdata) at known transitions, the footer's POSIX TZ rules past
 * the table, local times in spring gaps and autumn overlaps, cron() and at()
 * evaluated in a zone as AWS's user guide describes, and malformed zone files
 * refused.
 */
#include "emulator/scheduler/scheduler_int.h"

#include "common/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const scheduler_tz *zone(const char *name) {
  const scheduler_tz *tz = scheduler_tz_get(name);
  if (!tz)
    fail_msg("zone %s not loaded: is tzdata installed (deploy/install-deps)?", name);
  return tz;
}

static void test_scheduler_tz_new_york(void **state) {
  (void)state;
  const scheduler_tz *ny = zone("America/New_York");
  /* 2026-03-08 07:00 UTC: 02:00 EST becomes 03:00 EDT. */
  assert_int_equal(scheduler_tz_offset(ny, 1772953200 - 1), -5 * 3600);
  assert_int_equal(scheduler_tz_offset(ny, 1772953200), -4 * 3600);
  /* 2026-11-01 06:00 UTC: back to EST. */
  assert_int_equal(scheduler_tz_offset(ny, 1793512800 - 1), -4 * 3600);
  assert_int_equal(scheduler_tz_offset(ny, 1793512800), -5 * 3600);
  /* 1883 and before: local mean time (-4:56:02). */
  assert_int_equal(scheduler_tz_offset(ny, -3000000000LL), -17762);
  /* Past the table: the footer's rule (2100-03-14 07:00 UTC). */
  assert_int_equal(scheduler_tz_offset(ny, 4108690800LL - 1), -5 * 3600);
  assert_int_equal(scheduler_tz_offset(ny, 4108690800LL), -4 * 3600);
  assert_int_equal(scheduler_tz_offset(ny, 4102444800LL), -5 * 3600); /* 2100-01-01 */
  /* The cache answers the same zone. */
  assert_ptr_equal(scheduler_tz_get("America/New_York"), ny);
}

static void test_scheduler_tz_berlin(void **state) {
  (void)state;
  const scheduler_tz *b = zone("Europe/Berlin");
  assert_int_equal(scheduler_tz_offset(b, 1774746000 - 1), 3600); /* 2026-03-29 01:00 UTC */
  assert_int_equal(scheduler_tz_offset(b, 1774746000), 7200);
  assert_int_equal(scheduler_tz_offset(b, 1792890000 - 1), 7200); /* 2026-10-25 01:00 UTC */
  assert_int_equal(scheduler_tz_offset(b, 1792890000), 3600);
}

static void test_scheduler_tz_lord_howe_half_hour_dst(void **state) {
  (void)state;
  const scheduler_tz *lh = zone("Australia/Lord_Howe");
  /* +10:30 standard, +11 in summer: DST ends 2026-04-04 15:00 UTC and starts
   * 2026-10-03 15:30 UTC. */
  assert_int_equal(scheduler_tz_offset(lh, 1775314800 - 1), 39600);
  assert_int_equal(scheduler_tz_offset(lh, 1775314800), 37800);
  assert_int_equal(scheduler_tz_offset(lh, 1791041400 - 1), 37800);
  assert_int_equal(scheduler_tz_offset(lh, 1791041400), 39600);
  /* Southern summer past the table: January 2100 is DST, July is not. */
  assert_int_equal(scheduler_tz_offset(lh, 4102444800LL), 39600);
  assert_int_equal(scheduler_tz_offset(lh, 4118083200LL), 37800);
}

static void test_scheduler_tz_without_dst(void **state) {
  (void)state;
  const scheduler_tz *k = zone("Asia/Kolkata");
  assert_int_equal(scheduler_tz_offset(k, 1772953200), 19800);
  assert_int_equal(scheduler_tz_offset(k, 4118083200LL), 19800);
  const scheduler_tz *utc = zone("UTC");
  assert_int_equal(scheduler_tz_offset(utc, 1772953200), 0);
}

static void test_scheduler_tz_resolve_gap_and_overlap(void **state) {
  (void)state;
  const scheduler_tz *ny = zone("America/New_York");
  int64_t first = 0, moved = 0;
  /* 2026-03-08 02:30 does not happen in New York. */
  assert_int_equal(scheduler_tz_resolve(ny, 1772937000, &first, &moved), 0);
  assert_int_equal(moved, 1772955000); /* 03:30 EDT = 07:30 UTC */
  /* 2026-11-01 01:30 happens twice: 05:30 and 06:30 UTC. */
  assert_int_equal(scheduler_tz_resolve(ny, 1793496600, &first, &moved), 2);
  assert_int_equal(first, 1793511000);
  /* An ordinary time: once. */
  assert_int_equal(scheduler_tz_resolve(ny, 1793448000, &first, &moved), 1);
  assert_int_equal(first, 1793448000 + 4 * 3600);
}

static json_t *schedule(const char *expr, const char *tz) {
  json_t *s = json_pack("{s:s,s:s}", "ScheduleExpression", expr, "State", "ENABLED");
  if (tz)
    json_object_set_new(s, "ScheduleExpressionTimezone", json_string(tz));
  return s;
}

static void test_scheduler_tz_cron_in_zone(void **state) {
  (void)state;
  /* 09:00 New York: 14:00 UTC before the change, 13:00 after. */
  json_t *s = schedule("cron(0 9 * * ? *)", "America/New_York");
  uint64_t mar7 = 1772841600000ull; /* 2026-03-07 00:00 UTC */
  assert_int_equal(scheduler_next_fire(s, mar7, 0), 1772841600000ull + 14 * 3600000ull);
  assert_int_equal(scheduler_next_fire(s, mar7, 1772841600000ull + 14 * 3600000ull),
                   1772974800000ull); /* 2026-03-08 13:00 UTC */
  json_decref(s);

  /* 02:30 daily: 2026-03-08 has no 02:30, so that day is skipped. */
  s = schedule("cron(30 2 * * ? *)", "America/New_York");
  assert_int_equal(scheduler_next_fire(s, mar7, 0), 1772868600000ull); /* 03-07 07:30 UTC */
  assert_int_equal(scheduler_next_fire(s, mar7, 1772868600000ull),
                   1773037800000ull); /* 03-09 06:30 UTC */
  json_decref(s);

  /* 01:30 daily: 2026-11-01 passes 01:30 twice; it fires at the first. */
  s = schedule("cron(30 1 * * ? *)", "America/New_York");
  uint64_t oct31 = 1793448000000ull; /* 2026-10-31 12:00 UTC */
  assert_int_equal(scheduler_next_fire(s, oct31, 0), 1793511000000ull);
  assert_int_equal(scheduler_next_fire(s, oct31, 1793511000000ull),
                   1793601000000ull); /* 11-02 06:30 UTC */
  json_decref(s);

  /* Every 15 minutes through the repeated hour: 01:00-01:45 fire once each
   * (EDT), then 02:00 EST; never 01:00-01:45 EST again. */
  s = schedule("cron(0/15 * * * ? *)", "America/New_York");
  uint64_t t = 1793511000000ull - 30 * 60000ull; /* 01:00 EDT = 05:00 UTC */
  uint64_t expect[] = {1793509200000ull, 1793510100000ull, 1793511000000ull, 1793511900000ull,
                       1793516400000ull /* 02:00 EST = 07:00 UTC */};
  uint64_t after = t - 1;
  for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
    after = scheduler_next_fire(s, after, after);
    assert_int_equal(after, expect[i]);
  }
  json_decref(s);

  /* The same expression without a zone is UTC. */
  s = schedule("cron(0 9 * * ? *)", NULL);
  assert_int_equal(scheduler_next_fire(s, mar7, 0), 1772841600000ull + 9 * 3600000ull);
  json_decref(s);
}

static void test_scheduler_tz_at_and_rate(void **state) {
  (void)state;
  json_t *s = schedule("at(2026-10-31T08:00:00)", "Europe/Berlin");
  assert_int_equal(scheduler_next_fire(s, 0, 0), 1793448000000ull - 5 * 3600000ull);
  json_decref(s);
  /* A time the clocks skip is moved on by the gap: 02:30 → 03:30 EDT. */
  s = schedule("at(2026-03-08T02:30:00)", "America/New_York");
  assert_int_equal(scheduler_next_fire(s, 0, 0), 1772955000000ull);
  json_decref(s);
  /* rate() counts elapsed time whatever the zone. */
  s = schedule("rate(2 hours)", "Australia/Lord_Howe");
  assert_int_equal(scheduler_next_fire(s, 1775314800000ull, 1775314800000ull),
                   1775314800000ull + 2 * 3600000ull);
  json_decref(s);
}

static void test_scheduler_tz_unknown_names(void **state) {
  (void)state;
  assert_null(scheduler_tz_get("Nowhere/Atlantis"));
  assert_null(scheduler_tz_get("../../etc/passwd"));
  assert_null(scheduler_tz_get("/etc/passwd"));
  assert_null(scheduler_tz_get(""));
  assert_null(scheduler_tz_get("America"));          /* a folder */
  assert_null(scheduler_tz_get("zone.tab"));         /* not TZif */
  assert_null(scheduler_tz_get("Europe/Berlin\\x")); /* not a name's character */
  assert_null(
      scheduler_tz_get("A/very/long/name/that/goes/on/and/on/past/sixty-four/bytes/of/text/too"));
}

/* A TZif v2 file: an empty v1 block, then n transitions between types. */
static size_t build(unsigned char *out, size_t n, const int64_t *times, const unsigned char *idx,
                    size_t ntypes, const int32_t *offs, const char *footer) {
  unsigned char *p = out;
  /* v1 header: one type, one character, nothing else. */
  memcpy(p, "TZif2", 5);
  memset(p + 5, 0, 39);
  p[39] = 1; /* typecnt */
  p[43] = 1; /* charcnt */
  p += 44;
  memset(p, 0, 7); /* one ttinfo, one char */
  p += 7;
  memcpy(p, "TZif2", 5);
  memset(p + 5, 0, 39);
  p[35] = (unsigned char)n;
  p[39] = (unsigned char)ntypes;
  p[43] = 4;
  p += 44;
  for (size_t i = 0; i < n; i++)
    for (int b = 7; b >= 0; b--)
      *p++ = (unsigned char)((uint64_t)times[i] >> (b * 8));
  if (n)
    memcpy(p, idx, n);
  p += n;
  for (size_t i = 0; i < ntypes; i++) {
    uint32_t o = (uint32_t)offs[i];
    *p++ = (unsigned char)(o >> 24);
    *p++ = (unsigned char)(o >> 16);
    *p++ = (unsigned char)(o >> 8);
    *p++ = (unsigned char)o;
    *p++ = i > 0;
    *p++ = 0;
  }
  memcpy(p, "ABC", 4);
  p += 4;
  *p++ = '\n';
  memcpy(p, footer, strlen(footer));
  p += strlen(footer);
  *p++ = '\n';
  return (size_t)(p - out);
}

static void test_scheduler_tz_footer_only(void **state) {
  (void)state;
  unsigned char buf[512];
  int32_t offs[] = {-5 * 3600};
  size_t len = build(buf, 0, NULL, NULL, 1, offs, "EST5EDT,M3.2.0,M11.1.0");
  scheduler_tz *tz = NULL;
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), 0);
  assert_int_equal(scheduler_tz_offset(tz, 1772953200 - 1), -5 * 3600);
  assert_int_equal(scheduler_tz_offset(tz, 1772953200), -4 * 3600);
  assert_int_equal(scheduler_tz_offset(tz, 1793512800), -5 * 3600);
  scheduler_tz_free(tz);
  /* Explicit times and a quoted name. */
  len = build(buf, 0, NULL, NULL, 1, offs, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), 0);
  assert_int_equal(scheduler_tz_offset(tz, 1791041400), 39600);
  assert_int_equal(scheduler_tz_offset(tz, 1775314800), 37800);
  scheduler_tz_free(tz);
}

static void test_scheduler_tz_malformed(void **state) {
  (void)state;
  unsigned char buf[512];
  int64_t times[] = {100, 50};
  unsigned char idx[] = {1, 0};
  int32_t offs[] = {0, 3600};
  scheduler_tz *tz = NULL;
  /* Transitions out of order. */
  size_t len = build(buf, 2, times, idx, 2, offs, "UTC0");
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  assert_null(tz);
  /* A type index past the types. */
  times[1] = 200;
  idx[1] = 2;
  len = build(buf, 2, times, idx, 2, offs, "UTC0");
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  idx[1] = 0;
  len = build(buf, 2, times, idx, 2, offs, "UTC0");
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), 0);
  scheduler_tz_free(tz);
  tz = NULL;
  /* Every truncation of a valid file is refused. */
  for (size_t cut = 0; cut < len; cut++)
    assert_int_equal(scheduler_tz_parse(&tz, buf, cut), AIRGAP_EINVALID);
  /* An offset beyond a day, bad footers, version 1. */
  int32_t far[] = {0, 30 * 3600};
  len = build(buf, 2, times, idx, 2, far, "UTC0");
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  const char *footers[] = {"X0",
                           "UTC",
                           "EST5EDT,M13.1.0,M11.1.0",
                           "EST5EDT,M3.2.0",
                           "EST5EDT,M3.2.0,M11.1.0junk",
                           "<+1030-10:30",
                           "EST5EDT"};
  for (size_t i = 0; i < sizeof(footers) / sizeof(footers[0]); i++) {
    len = build(buf, 2, times, idx, 2, offs, footers[i]);
    assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  }
  len = build(buf, 2, times, idx, 2, offs, "UTC0");
  buf[4] = 0; /* version 1 */
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  /* A count past the limits. */
  len = build(buf, 2, times, idx, 2, offs, "UTC0");
  buf[51 + 32] = 0x7f;
  assert_int_equal(scheduler_tz_parse(&tz, buf, len), AIRGAP_EINVALID);
  assert_null(tz);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scheduler_tz_new_york),
      cmocka_unit_test(test_scheduler_tz_berlin),
      cmocka_unit_test(test_scheduler_tz_lord_howe_half_hour_dst),
      cmocka_unit_test(test_scheduler_tz_without_dst),
      cmocka_unit_test(test_scheduler_tz_resolve_gap_and_overlap),
      cmocka_unit_test(test_scheduler_tz_cron_in_zone),
      cmocka_unit_test(test_scheduler_tz_at_and_rate),
      cmocka_unit_test(test_scheduler_tz_unknown_names),
      cmocka_unit_test(test_scheduler_tz_footer_only),
      cmocka_unit_test(test_scheduler_tz_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
