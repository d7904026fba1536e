/* The operator's ceilings (agent_limits.c): defaults fill a spec that asks
 * nothing, a spec above a ceiling is refused with the limit's reason and a
 * message naming the flag, and bad flag values are refused at start. */
#include "agent/agent_int.h"
#include "common/error.h"
#include "queue/queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static queue_spec *spec_of(const char *json) {
  queue_spec *spec = NULL;
  queue_spec_error err;
  assert_int_equal(queue_spec_parse(&spec, json, strlen(json), &err), 0);
  return spec;
}

static void test_agent_limits_defaults_fill_an_empty_spec(void **state) {
  (void)state;
  agent_options o = {.default_memory = "300m", .max_memory = "1g", .max_pids = 1000};
  agent_limits l;
  assert_int_equal(agent_limits_from_options(&l, &o), 0);
  queue_spec *spec = spec_of("{\"repo\":\"/r\",\"image\":\"i\",\"script\":\"true\"}");
  const char *reason = NULL;
  assert_int_equal(agent_limits_apply(spec, &l, &reason), 0);
  assert_string_equal(spec->memory, "300m");
  assert_int_equal(spec->pids, 1000); /* a ceiling below the usual default lowers it */
  queue_spec_free(spec);
}

static void test_agent_limits_refuse_what_is_above_a_ceiling(void **state) {
  (void)state;
  agent_options o = {.max_memory = "1g", .max_cpus = 2, .max_pids = 4096};
  agent_limits l;
  assert_int_equal(agent_limits_from_options(&l, &o), 0);
  static const struct {
    const char *json, *reason, *flag;
  } cases[] = {
      {"{\"repo\":\"/r\",\"image\":\"i\",\"script\":\"t\",\"resources\":{\"memory\":\"1000g\"}}",
       "memory_limit", "--max-memory"},
      {"{\"repo\":\"/r\",\"image\":\"i\",\"script\":\"t\",\"resources\":{\"pids\":4194304}}",
       "pids_limit", "--max-pids"},
      {"{\"repo\":\"/r\",\"image\":\"i\",\"script\":\"t\",\"resources\":{\"cpus\":3}}",
       "cpus_limit", "--max-cpus"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    queue_spec *spec = spec_of(cases[i].json);
    const char *reason = NULL;
    assert_int_equal(agent_limits_apply(spec, &l, &reason), AIRGAP_EINVALID);
    assert_string_equal(reason, cases[i].reason);
    assert_non_null(strstr(airgap_error_last(), cases[i].flag));
    queue_spec_free(spec);
  }
  /* At the ceiling is allowed. */
  queue_spec *spec =
      spec_of("{\"repo\":\"/r\",\"image\":\"i\",\"script\":\"t\",\"resources\":{\"memory\":\"1g\","
              "\"cpus\":2,\"pids\":4096}}");
  const char *reason = NULL;
  assert_int_equal(agent_limits_apply(spec, &l, &reason), 0);
  queue_spec_free(spec);
}

static void test_agent_limits_bad_flags(void **state) {
  (void)state;
  agent_limits l;
  agent_options bad_memory = {.max_memory = "lots"};
  assert_int_equal(agent_limits_from_options(&l, &bad_memory), AIRGAP_EINVALID);
  assert_non_null(strstr(airgap_error_last(), "--max-memory"));
  agent_options bad_disk = {.max_disk = "1x"};
  assert_int_equal(agent_limits_from_options(&l, &bad_disk), AIRGAP_EINVALID);
  agent_options disk = {.max_disk = "16m"};
  assert_int_equal(agent_limits_from_options(&l, &disk), 0);
  assert_int_equal(l.max_disk, 16u << 20);
  agent_options off = {.max_disk = "0"};
  assert_int_equal(agent_limits_from_options(&l, &off), 0);
  assert_int_equal(l.max_disk, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_limits_defaults_fill_an_empty_spec),
      cmocka_unit_test(test_agent_limits_refuse_what_is_above_a_ceiling),
      cmocka_unit_test(test_agent_limits_bad_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
