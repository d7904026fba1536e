/* Secret masking in log streams, including secrets split across chunks. */
#include "agent/agent_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct sink {
  char data[4096];
  size_t len;
} sink;

static int collect(const char *data, size_t len, void *payload) {
  sink *out = payload;
  assert_true(out->len + len < sizeof(out->data));
  memcpy(out->data + out->len, data, len);
  out->len += len;
  out->data[out->len] = '\0';
  return 0;
}

/* Feeds text in chunks of `step` bytes and returns the masked output. */
static void feed(agent_mask *mask, const char *text, size_t step, sink *out) {
  size_t len = strlen(text);
  for (size_t pos = 0; pos < len; pos += step) {
    size_t n = len - pos < step ? len - pos : step;
    assert_int_equal(agent_mask_write(mask, text + pos, n, collect, out), 0);
  }
  assert_int_equal(agent_mask_flush(mask, collect, out), 0);
}

static void test_agent_mask_replaces_every_occurrence(void **state) {
  (void)state;
  const char *secrets[] = {"hunter2", "s3cr3t-token"};
  const char *text = "login hunter2 then s3cr3t-token and hunter2hunter2 end";
  for (size_t step = 1; step <= strlen(text); step++) {
    agent_mask *mask = agent_mask_new(secrets, 2);
    assert_non_null(mask);
    sink out = {0};
    feed(mask, text, step, &out);
    assert_string_equal(out.data, "login **** then **** and ******** end");
    agent_mask_free(mask);
  }
}

static void test_agent_mask_keeps_near_misses(void **state) {
  (void)state;
  const char *secrets[] = {"password1"};
  const char *text = "passwor password password2 password1";
  for (size_t step = 1; step <= 7; step++) {
    agent_mask *mask = agent_mask_new(secrets, 1);
    sink out = {0};
    feed(mask, text, step, &out);
    assert_string_equal(out.data, "passwor password password2 ****");
    agent_mask_free(mask);
  }
}

static void test_agent_mask_ignores_short_and_empty_secrets(void **state) {
  (void)state;
  const char *secrets[] = {"", "ab", NULL};
  agent_mask *mask = agent_mask_new(secrets, 3);
  sink out = {0};
  feed(mask, "ab abc", 2, &out);
  assert_string_equal(out.data, "ab abc");
  agent_mask_free(mask);
}

static void test_agent_mask_trailing_prefix_is_emitted_on_flush(void **state) {
  (void)state;
  const char *secrets[] = {"topsecret"};
  agent_mask *mask = agent_mask_new(secrets, 1);
  sink out = {0};
  assert_int_equal(agent_mask_write(mask, "x tops", 6, collect, &out), 0);
  assert_string_equal(out.data, "x ");
  assert_int_equal(agent_mask_flush(mask, collect, &out), 0);
  assert_string_equal(out.data, "x tops");
  agent_mask_free(mask);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_mask_replaces_every_occurrence),
      cmocka_unit_test(test_agent_mask_keeps_near_misses),
      cmocka_unit_test(test_agent_mask_ignores_short_and_empty_secrets),
      cmocka_unit_test(test_agent_mask_trailing_prefix_is_emitted_on_flush),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
