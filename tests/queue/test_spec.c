/*
 * test_spec.c — job spec validation: good specs parse with their defaults,
 * bad and hostile ones are refused with the field and the reason.
 */
#include "common/error.h"
#include "queue/queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static queue_spec *parse_ok(const char *json) {
  queue_spec *spec = NULL;
  queue_spec_error err;
  int rc = queue_spec_parse(&spec, json, strlen(json), &err);
  if (rc != 0)
    fail_msg("spec refused: %s: %s (%s)", err.field, err.reason, json);
  return spec;
}

/* Asserts that json is refused and that the error names field. */
static void refused(const char *json, size_t len, const char *field) {
  queue_spec *spec = NULL;
  queue_spec_error err;
  int rc = queue_spec_parse(&spec, json, len, &err);
  if (rc >= 0)
    fail_msg("accepted a bad spec (wanted a refusal on %s): %.200s", field, json);
  assert_null(spec);
  if (strcmp(err.field, field) != 0)
    fail_msg("refusal names '%s' (%s), wanted '%s'", err.field, err.reason, field);
  assert_true(strlen(err.reason) > 0);
  assert_non_null(strstr(airgap_error_last(), field));
}

#define REFUSED(json, field) refused(json, strlen(json), field)
#define BASE "\"repo\":\"https://git.example/app.git\",\"image\":\"debian\",\"script\":\"make\""

static void test_queue_spec_full_roundtrip(void **state) {
  (void)state;
  const char *json =
      "{\"repo\":\"https://git.example.com/team/app.git\",\"ref\":\"main\",\"commit\":\"abc123\","
      "\"image\":\"debian:bookworm\",\"script\":\"make test\\nmake lint\",\"env\":{\"K\":\"V\"},"
      "\"secrets\":{\"TOKEN\":\"s3cr3t\"},\"timeout\":600,\"services\":[\"s3\",\"sqs\"],"
      "\"labels\":[\"linux\",\"arch=amd64\"],\"resources\":{\"memory\":\"2g\",\"cpus\":2,"
      "\"pids\":4096},\"mountpoint\":\"/src\"}";
  queue_spec *s = parse_ok(json);
  assert_string_equal(s->repo, "https://git.example.com/team/app.git");
  assert_string_equal(s->ref, "main");
  assert_string_equal(s->commit, "abc123");
  assert_string_equal(s->script, "make test\nmake lint");
  assert_int_equal(s->env_count, 1);
  assert_string_equal(s->env[0].key, "K");
  assert_string_equal(s->secrets[0].value, "s3cr3t");
  assert_int_equal(s->timeout, 600);
  assert_int_equal(s->service_count, 2);
  assert_int_equal(s->label_count, 2);
  assert_string_equal(s->labels[1], "arch=amd64");
  assert_string_equal(s->memory, "2g");
  assert_true(s->cpus == 2.0);
  assert_int_equal(s->pids, 4096);
  assert_string_equal(s->mountpoint, "/src");

  char *text = NULL;
  assert_int_equal(queue_spec_to_json(&text, s, 0), 0);
  queue_spec *again = parse_ok(text);
  assert_string_equal(again->secrets[0].value, "s3cr3t");
  assert_string_equal(again->script, s->script);
  assert_int_equal(again->pids, 4096);
  free(text);
  assert_int_equal(queue_spec_to_json(&text, s, 1), 0);
  assert_null(strstr(text, "s3cr3t"));
  assert_non_null(strstr(text, "\"TOKEN\":\"***\""));
  free(text);
  queue_spec_free(again);
  queue_spec_free(s);
}

static void test_queue_spec_defaults(void **state) {
  (void)state;
  queue_spec *s = parse_ok("{" BASE "}");
  assert_string_equal(s->ref, "HEAD");
  assert_null(s->commit);
  assert_int_equal(s->timeout, QUEUE_DEFAULT_TIMEOUT);
  assert_string_equal(s->mountpoint, "/workspace");
  assert_int_equal(s->env_count, 0);
  assert_int_equal(s->label_count, 0);
  assert_null(s->memory);
  queue_spec_free(s);
}

static void test_queue_spec_refuses_bad_fields(void **state) {
  (void)state;
  REFUSED("{\"image\":\"x\",\"script\":\"y\"}", "repo");
  REFUSED("{\"repo\":\"r\",\"script\":\"y\"}", "image");
  REFUSED("{\"repo\":\"r\",\"image\":\"x\"}", "script");
  REFUSED("{" BASE ",\"timout\":5}", "timout");
  REFUSED("{" BASE ",\"timeout\":0}", "timeout");
  REFUSED("{" BASE ",\"timeout\":-5}", "timeout");
  REFUSED("{" BASE ",\"timeout\":99999999999}", "timeout");
  REFUSED("{" BASE ",\"timeout\":\"10\"}", "timeout");
  REFUSED("{" BASE ",\"timeout\":1.5}", "timeout");
  REFUSED("{" BASE ",\"env\":{\"1BAD\":\"v\"}}", "env.1BAD");
  REFUSED("{" BASE ",\"env\":{\"A-B\":\"v\"}}", "env.A-B");
  REFUSED("{" BASE ",\"env\":{\"A\":5}}", "env.A");
  REFUSED("{" BASE ",\"env\":[\"A=B\"]}", "env");
  REFUSED("{" BASE ",\"secrets\":{\"\":\"v\"}}", "secrets.");
  REFUSED("{" BASE ",\"labels\":\"linux\"}", "labels");
  REFUSED("{" BASE ",\"labels\":[\"a b\"]}", "labels[0]");
  REFUSED("{" BASE ",\"labels\":[\"x\",\"x\"]}", "labels[1]");
  REFUSED("{" BASE ",\"services\":[\"S3\"]}", "services[0]");
  REFUSED("{" BASE ",\"services\":[7]}", "services[0]");
  REFUSED("{" BASE ",\"ref\":\"--upload-pack=evil\"}", "ref");
  REFUSED("{" BASE ",\"ref\":\"a..b\"}", "ref");
  REFUSED("{" BASE ",\"ref\":\"a b\"}", "ref");
  REFUSED("{" BASE ",\"commit\":\"xyz\"}", "commit");
  REFUSED("{" BASE ",\"mountpoint\":\"relative\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/a/../etc\"}", "mountpoint");
  /* What the agent always refused, now refused at submit (issue 12, item 8). */
  REFUSED("{" BASE ",\"mountpoint\":\"/w:/host:rw\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/w,readonly\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/a/./b\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/a//b\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/a/..\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/work/\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/w\\nx\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/usr\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/etc\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/proc/sys\"}", "mountpoint");
  REFUSED("{" BASE ",\"mountpoint\":\"/dev/shm\"}", "mountpoint");
  REFUSED("{" BASE ",\"resources\":{\"memory\":\"lots\"}}", "resources.memory");
  REFUSED("{" BASE ",\"resources\":{\"cpus\":0}}", "resources.cpus");
  REFUSED("{" BASE ",\"resources\":{\"pids\":-1}}", "resources.pids");
  REFUSED("{" BASE ",\"resources\":{\"gpu\":1}}", "resources.gpu");
  REFUSED("{\"repo\":\"-oProxyCommand=x\",\"image\":\"x\",\"script\":\"y\"}", "repo");
  REFUSED("{\"repo\":\"r\",\"image\":\"a b\",\"script\":\"y\"}", "image");
  REFUSED("{\"repo\":\"r\\u0001\",\"image\":\"x\",\"script\":\"y\"}", "repo");
  REFUSED("{\"repo\":\"\",\"image\":\"x\",\"script\":\"y\"}", "repo");
  REFUSED("{\"repo\":[],\"image\":\"x\",\"script\":\"y\"}", "repo");
}

/* One rule for the queue and the agent: what one accepts the other does. */
static void test_queue_spec_mountpoint_rule(void **state) {
  (void)state;
  static const char *const good[] = {"/workspace", "/src",  "/home/ci/app", "/opt/x.y-z_1+2@3",
                                     "/tmp",       "/var2", "/usrx",        NULL};
  for (size_t i = 0; good[i]; i++) {
    char json[256];
    snprintf(json, sizeof(json), "{" BASE ",\"mountpoint\":\"%s\"}", good[i]);
    queue_spec *s = parse_ok(json);
    assert_string_equal(s->mountpoint, good[i]);
    queue_spec_free(s);
    assert_int_equal(queue_spec_mountpoint_check(good[i]), 0);
  }
  static const char *const bad[] = {"/w:/host:rw", "w",    "",        "/",    "/a/../b",
                                    "/a/",         "/usr", "/proc/1", "/a b", NULL};
  for (size_t i = 0; bad[i]; i++) {
    assert_int_equal(queue_spec_mountpoint_check(bad[i]), AIRGAP_EINVALID);
    assert_non_null(strstr(airgap_error_last(), "mountpoint"));
  }
  assert_int_equal(queue_spec_mountpoint_check(NULL), AIRGAP_EINVALID);
}

static void test_queue_spec_refuses_hostile_documents(void **state) {
  (void)state;
  REFUSED("", "spec");
  REFUSED("[]", "spec");
  REFUSED("\"just a string\"", "spec");
  REFUSED("{" BASE ",", "spec");
  REFUSED("{" BASE ",\"repo\":\"again\"}", "spec"); /* duplicate key */
  REFUSED("{\"repo\":\"a\\u0000b\",\"image\":\"x\",\"script\":\"y\"}", "spec");
  refused("{\"repo\":\"r\0\",\"image\":\"x\",\"script\":\"y\"}", 36, "spec");
  REFUSED("{\"repo\":\"r\",\"image\":\"x\",\"script\":\"\\xff\"}", "spec");

  /* deep nesting and oversize inputs */
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 1);
  memset(deep, '[', depth);
  memset(deep + depth, ']', depth);
  deep[2 * depth] = '\0';
  REFUSED(deep, "spec");
  free(deep);

  size_t big = QUEUE_MAX_SPEC_BYTES + 10;
  char *huge = malloc(big + 1);
  memset(huge, ' ', big);
  huge[big] = '\0';
  memcpy(huge, "{" BASE "}", strlen("{" BASE "}"));
  REFUSED(huge, "spec");
  free(huge);

  size_t slen = QUEUE_MAX_SCRIPT_BYTES + 1;
  char *longscript = malloc(slen + 64);
  int n = snprintf(longscript, 64, "{\"repo\":\"r\",\"image\":\"x\",\"script\":\"");
  memset(longscript + n, 'a', slen);
  memcpy(longscript + n + slen, "\"}", 3);
  REFUSED(longscript, "script");
  free(longscript);

  /* too many entries */
  char *many = malloc(64 * 1024);
  int pos = snprintf(many, 64 * 1024, "{" BASE ",\"labels\":[");
  for (int i = 0; i < QUEUE_MAX_LABELS + 1; i++)
    pos += snprintf(many + pos, 64 * 1024 - (size_t)pos, "%s\"l%d\"", i ? "," : "", i);
  snprintf(many + pos, 64 * 1024 - (size_t)pos, "]}");
  REFUSED(many, "labels");
  pos = snprintf(many, 64 * 1024, "{" BASE ",\"env\":{");
  for (int i = 0; i < QUEUE_MAX_ENV + 1; i++)
    pos += snprintf(many + pos, 64 * 1024 - (size_t)pos, "%s\"K%d\":\"v\"", i ? "," : "", i);
  snprintf(many + pos, 64 * 1024 - (size_t)pos, "}}");
  REFUSED(many, "env");
  free(many);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_spec_full_roundtrip),
      cmocka_unit_test(test_queue_spec_defaults),
      cmocka_unit_test(test_queue_spec_refuses_bad_fields),
      cmocka_unit_test(test_queue_spec_mountpoint_rule),
      cmocka_unit_test(test_queue_spec_refuses_hostile_documents),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
