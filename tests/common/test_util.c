/*
 * test_util.c — common's small pieces: fs (mkdir -p, write-all), codec (base64,
 * hex, UUIDs), dynbuf (limits), clock and jsonutil.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/json_arena.h"
#include "common/jsonutil.h"

#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void test_common_fs_mkdir_p_creates_parents_and_accepts_existing(void **state) {
  char root[] = "/tmp/airgap-test-fs-XXXXXX";
  assert_non_null(mkdtemp(root));
  char path[256];
  snprintf(path, sizeof(path), "%s/a/b//c/", root);
  assert_int_equal(fs_mkdir_p(path, 0700), 0);
  struct stat st;
  snprintf(path, sizeof(path), "%s/a/b/c", root);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0700);
  assert_int_equal(fs_mkdir_p(path, 0700), 0); /* exists: fine */

  /* A file in the way is an error that names it. */
  snprintf(path, sizeof(path), "%s/file", root);
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(fs_write_all(fd, "hello", 5), 0);
  close(fd);
  snprintf(path, sizeof(path), "%s/file/below", root);
  assert_int_equal(fs_mkdir_p(path, 0700), AIRGAP_ERROR);
  assert_non_null(strstr(airgap_error_last(), "/file"));

  char long_path[PATH_MAX + 10];
  memset(long_path, 'a', sizeof(long_path) - 1);
  long_path[0] = '/';
  long_path[sizeof(long_path) - 1] = '\0';
  assert_int_equal(fs_mkdir_p(long_path, 0700), AIRGAP_ETOOBIG);
  assert_int_equal(fs_mkdir_p("", 0700), AIRGAP_EINVALID);

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
}

static void test_common_fs_write_all_reports_a_closed_pipe(void **state) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  assert_int_equal(fs_write_all(p[1], "x", 1), -1);
  close(p[1]);
}

static void test_common_codec_base64_round_trip_and_strictness(void **state) {
  const char *text = "any carnal pleas";
  for (size_t n = 0; n <= strlen(text); n++) {
    char *enc = codec_base64_encode(text, n);
    assert_non_null(enc);
    assert_true(codec_base64_valid(enc, strlen(enc)));
    unsigned char *dec = NULL;
    size_t len = 0;
    assert_int_equal(codec_base64_decode(&dec, &len, enc, strlen(enc)), 0);
    assert_int_equal(len, n);
    assert_memory_equal(dec, text, n);
    assert_int_equal(dec[len], '\0');
    free(dec);
    free(enc);
  }
  unsigned char *dec = (unsigned char *)"untouched";
  size_t len = 99;
  const char *bad[] = {"abc", "ab=c", "a===", "YW Jj", "YWJj\n", "=YWJ", "YW=j", "YWJ*"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_false(codec_base64_valid(bad[i], strlen(bad[i])));
    assert_int_equal(codec_base64_decode(&dec, &len, bad[i], strlen(bad[i])), AIRGAP_EINVALID);
  }
  assert_string_equal((char *)dec, "untouched");
  assert_int_equal(len, 99);
  const char *more_bad[] = {"====", "YQ=a", "Y===", "YW==YWJj", "YWJj===="};
  for (size_t i = 0; i < sizeof(more_bad) / sizeof(more_bad[0]); i++)
    assert_false(codec_base64_valid(more_bad[i], strlen(more_bad[i])));
  /* Every byte, in the middle and at the end of a quad: only the alphabet
   * (and "=" at the end) passes. */
  for (int c = 0; c < 256; c++) {
    int alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/';
    char mid[5] = {'Y', (char)c, 'J', 'j', 0}, end[5] = {'Y', 'W', 'J', (char)c, 0};
    assert_int_equal(codec_base64_valid(mid, 4), alphabet);
    assert_int_equal(codec_base64_valid(end, 4), alphabet || c == '=');
  }
}

/* Allocations in a scope come from the thread's arena, frees of them do
 * nothing wherever they happen, and everything else is malloc's. */
static void *arena_free_tree(void *tree) {
  /* No cmocka asserts off the test's thread: the checks' result is returned. */
  int ok = json_arena_enter() == 0; /* this thread's own arena */
  json_t *mine = json_string("elsewhere");
  json_arena_leave();
  ok = ok && json_arena_owns(mine) && json_arena_owns(tree) && json_arena_used() > 0;
  json_decref(tree); /* another thread's arena value: nothing to free */
  json_decref(mine);
  json_arena_reset();
  return ok ? tree : NULL;
}

static void test_common_json_arena_scopes_and_resets(void **state) {
  (void)state;
  json_t *before = json_object();
  json_arena_init();
  json_arena_init(); /* idempotent */
  assert_false(json_arena_owns(before));
  assert_int_equal(json_arena_enter(), 0);
  json_t *tree =
      json_pack("{s:s, s:[i, i], s:{s:b}}", "name", "q1", "list", 1, 2, "nested", "ok", 1);
  assert_non_null(tree);
  assert_true(json_arena_owns(tree));
  assert_true(json_arena_owns(json_object_get(tree, "list")));
  /* Too big for the arena: the string's copy is malloc's, released by
   * json_decref as usual (LeakSanitizer would report it otherwise). */
  size_t big_len = (size_t)9 << 20;
  char *big = malloc(big_len);
  assert_non_null(big);
  memset(big, 'x', big_len);
  json_t *huge = json_stringn(big, big_len);
  free(big);
  assert_non_null(huge);
  assert_true(json_arena_owns(huge));                     /* the small json_t */
  assert_false(json_arena_owns(json_string_value(huge))); /* its 9 MiB copy */
  json_object_set_new(tree, "huge", huge);
  json_arena_leave();
  size_t used = json_arena_used();
  assert_true(used > 0);
  /* Outside the scope: malloc, even when put into an arena tree. */
  json_t *outside = json_string("malloc'd");
  assert_false(json_arena_owns(outside));
  json_object_set_new(tree, "outside", outside);
  json_object_set_new(before, "kept", json_string("after reset"));
  assert_int_equal(json_arena_used(), used);
  /* Freed in another thread, which has an arena of its own. */
  json_incref(tree);
  pthread_t t;
  void *ok = NULL;
  assert_int_equal(pthread_create(&t, NULL, arena_free_tree, tree), 0);
  assert_int_equal(pthread_join(t, &ok), 0);
  assert_ptr_equal(ok, tree);
  json_decref(tree);
  json_arena_reset();
  assert_int_equal(json_arena_used(), 0);
  /* The arena is used again from its start. */
  assert_int_equal(json_arena_enter(), 0);
  json_t *again = json_string("again");
  assert_true(json_arena_owns(again));
  assert_true(json_arena_used() > 0 && json_arena_used() < used);
  json_arena_reset();
  assert_false(json_arena_owns(NULL));
  assert_string_equal(json_string_value(json_object_get(before, "kept")), "after reset");
  json_decref(before);
}

static void test_common_codec_hex_and_uuid(void **state) {
  char hex[9];
  codec_hex_encode(hex, "\x00\x7f\xab\xff", 4);
  assert_string_equal(hex, "007fabff");
  char a[37], b[37];
  codec_uuid4(a);
  codec_uuid4(b);
  assert_int_equal(strlen(a), 36);
  assert_string_not_equal(a, b);
  assert_int_equal(a[8], '-');
  assert_int_equal(a[14], '4');           /* version 4 */
  assert_non_null(strchr("89ab", a[19])); /* RFC 4122 variant */
  for (size_t i = 0; i < 36; i++)
    assert_non_null(strchr("0123456789abcdef-", a[i]));
}

static void test_common_dynbuf_refuses_to_grow_past_its_limit(void **state) {
  dynbuf b;
  dynbuf_init(&b, 16);
  dynbuf_puts(&b, "0123456789");
  assert_false(dynbuf_failed(&b));
  dynbuf_printf(&b, "%s", "abcdefgh"); /* 18 + NUL > 16 */
  assert_true(dynbuf_failed(&b));
  dynbuf_puts(&b, "x");
  assert_null(dynbuf_take(&b, NULL));
  dynbuf_init(&b, 0);
  dynbuf_xml(&b, "<a&'\">\x01", 7);
  size_t len = 0;
  char *s = dynbuf_take(&b, &len);
  assert_string_equal(s, "&lt;a&amp;&apos;&quot;&gt;\xEF\xBF\xBD");
  assert_int_equal(len, strlen(s));
  free(s);
}

static void test_common_clock_wall_is_the_epoch_and_monotonic_moves(void **state) {
  uint64_t wall = clock_wall_ms();
  assert_true(wall > 1700000000000ull); /* after November 2023 */
  uint64_t a = clock_monotonic_ms();
  usleep(2000);
  assert_true(clock_monotonic_ms() >= a + 2);
}

static void test_common_jsonutil_string_only_for_strings(void **state) {
  json_t *o = json_pack("{s:s, s:i}", "name", "q1", "count", 3);
  assert_string_equal(jsonutil_string(o, "name"), "q1");
  assert_null(jsonutil_string(o, "count"));
  assert_null(jsonutil_string(o, "missing"));
  assert_null(jsonutil_string(json_object_get(o, "count"), "name"));
  assert_null(jsonutil_string(NULL, "name"));
  json_decref(o);
}

static void test_common_jsonutil_keys_sorted_in_byte_order(void **state) {
  (void)state;
  json_t *o = json_pack("{s:i, s:i, s:i, s:i}", "prod", 1, "", 2, "Prod", 3, "alias-2", 4);
  size_t n = 99;
  const char **keys = jsonutil_keys_sorted(o, &n);
  assert_int_equal(n, 4);
  assert_string_equal(keys[0], "");
  assert_string_equal(keys[1], "Prod");
  assert_string_equal(keys[2], "alias-2");
  assert_string_equal(keys[3], "prod");
  free(keys);
  json_t *empty = json_object();
  n = 99;
  assert_null(jsonutil_keys_sorted(empty, &n));
  assert_int_equal(n, 0);
  n = 99;
  assert_null(jsonutil_keys_sorted(json_object_get(o, "prod"), &n));
  assert_int_equal(n, 0);
  json_decref(empty);
  json_decref(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_common_fs_mkdir_p_creates_parents_and_accepts_existing),
      cmocka_unit_test(test_common_fs_write_all_reports_a_closed_pipe),
      cmocka_unit_test(test_common_codec_base64_round_trip_and_strictness),
      cmocka_unit_test(test_common_codec_hex_and_uuid),
      cmocka_unit_test(test_common_dynbuf_refuses_to_grow_past_its_limit),
      cmocka_unit_test(test_common_clock_wall_is_the_epoch_and_monotonic_moves),
      cmocka_unit_test(test_common_jsonutil_string_only_for_strings),
      cmocka_unit_test(test_common_jsonutil_keys_sorted_in_byte_order),
      cmocka_unit_test(test_common_json_arena_scopes_and_resets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
