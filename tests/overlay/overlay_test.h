/*
 * overlay_test.h — what the overlay test files share: the origin repository
 * made by the group setup, shell helpers, a cache fixture and the tests
 * defined outside test_overlay.c (all run by its main()).
 */
#ifndef AIRGAP_TESTS_OVERLAY_TEST_H
#define AIRGAP_TESTS_OVERLAY_TEST_H

#include "overlay/overlay.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

extern char base[256];    /* the group's temporary root */
extern char src_url[300]; /* file:// URL of the origin repository */
extern char sha_c1[41], sha_c2[41], sha_c3[41];
extern int daemon_port; /* `git daemon` over base, after start_daemon() */

int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int capture(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void path_join(char *out, size_t cap, const char *a, const char *b);
int exists(const char *path);
int count_entries(const char *dir, const char *prefix, const char *suffix);
void start_daemon(void);
void stop_daemon(void);

typedef struct fixture {
  char cache_dir[PATH_MAX];
  char run_root[PATH_MAX];
  overlay_cache *cache;
} fixture;

void fixture_open(fixture *fx, const char *name);
void fixture_close(fixture *fx);
/* A snapshot that must succeed (local URLs allowed). */
overlay_snapshot *get(fixture *fx, const char *url, const char *ref, const char *commit);
void check_snapshot(overlay_snapshot *snap, const char *sha, const char *file, const char *content);

/* test_overlay_policy.c */
void test_overlay_url_is_local(void **state);
void test_overlay_local_repos_need_permission(void **state);
void test_overlay_local_submodules_refused(void **state);
void test_overlay_cache_evicts_by_age_and_total_size(void **state);
void test_overlay_killed_checkout_leftovers_swept(void **state);

#endif
