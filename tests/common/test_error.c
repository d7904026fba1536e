/*
 * test_error.c — common/error: thread-local messages, errno suffix, code names.
 */
#include "common/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_error_set_returns_code_and_records(void **state) {
  airgap_error_clear();
  assert_string_equal(airgap_error_last(), "");
  assert_int_equal(airgap_error_set(AIRGAP_EINVALID, "bad %s %d", "thing", 7), AIRGAP_EINVALID);
  assert_string_equal(airgap_error_last(), "bad thing 7");
  airgap_error_clear();
  assert_string_equal(airgap_error_last(), "");
}

static void test_error_set_errno_appends_strerror_and_keeps_errno(void **state) {
  errno = ENOENT;
  assert_int_equal(airgap_error_set_errno(AIRGAP_ENOTFOUND, "open %s", "/x"), AIRGAP_ENOTFOUND);
  assert_int_equal(errno, ENOENT);
  char want[256];
  snprintf(want, sizeof(want), "open /x: %s", strerror(ENOENT));
  assert_string_equal(airgap_error_last(), want);
}

/* Adding context to the message below, with the message itself as an
 * argument, must read the old text, not the half-written new one. */
static void test_error_set_may_quote_the_last_message(void **state) {
  airgap_error_set(AIRGAP_ERROR, "permission denied on %s", "/run/docker.sock");
  assert_int_equal(
      airgap_error_set(AIRGAP_EAUTH, "cannot reach the Docker engine: %s", airgap_error_last()),
      AIRGAP_EAUTH);
  assert_string_equal(airgap_error_last(),
                      "cannot reach the Docker engine: permission denied on /run/docker.sock");
  errno = EACCES;
  airgap_error_set_errno(AIRGAP_ERROR, "%s (again)", airgap_error_last());
  char want[256];
  snprintf(want, sizeof(want),
           "cannot reach the Docker engine: permission denied on /run/docker.sock (again): %s",
           strerror(EACCES));
  assert_string_equal(airgap_error_last(), want);
}

static void test_error_long_message_is_cut_not_overflowed(void **state) {
  char big[5000];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  airgap_error_set(AIRGAP_ERROR, "%s", big);
  size_t len = strlen(airgap_error_last());
  assert_true(len > 100 && len < sizeof(big) - 1);
  errno = EACCES;
  airgap_error_set_errno(AIRGAP_ERROR, "%s", big); /* no room for the suffix: still bounded */
  assert_true(strlen(airgap_error_last()) == len);
}

static void *other_thread(void *arg) {
  /* A fresh thread starts with no message and its own buffer. */
  int *ok = arg;
  *ok = strcmp(airgap_error_last(), "") == 0;
  airgap_error_set(AIRGAP_EBUSY, "from the other thread");
  return NULL;
}

static void test_error_is_thread_local(void **state) {
  airgap_error_set(AIRGAP_ETIMEOUT, "main thread");
  pthread_t t;
  int ok = 0;
  assert_int_equal(pthread_create(&t, NULL, other_thread, &ok), 0);
  pthread_join(t, NULL);
  assert_true(ok);
  assert_string_equal(airgap_error_last(), "main thread");
}

static void test_error_names(void **state) {
  assert_string_equal(airgap_error_name(AIRGAP_OK), "ok");
  assert_string_equal(airgap_error_name(AIRGAP_ENOTFOUND), "not found");
  assert_string_equal(airgap_error_name(AIRGAP_EEXISTS), "exists");
  assert_string_equal(airgap_error_name(AIRGAP_EINVALID), "invalid");
  assert_string_equal(airgap_error_name(AIRGAP_ETOOBIG), "too big");
  assert_string_equal(airgap_error_name(AIRGAP_EAUTH), "unauthorized");
  assert_string_equal(airgap_error_name(AIRGAP_EBUSY), "busy");
  assert_string_equal(airgap_error_name(AIRGAP_ETIMEOUT), "timeout");
  assert_string_equal(airgap_error_name(AIRGAP_ECANCELED), "canceled");
  assert_string_equal(airgap_error_name(AIRGAP_ERROR), "error");
  assert_string_equal(airgap_error_name(-1234), "error");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_set_returns_code_and_records),
      cmocka_unit_test(test_error_set_errno_appends_strerror_and_keeps_errno),
      cmocka_unit_test(test_error_set_may_quote_the_last_message),
      cmocka_unit_test(test_error_long_message_is_cut_not_overflowed),
      cmocka_unit_test(test_error_is_thread_local),
      cmocka_unit_test(test_error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
