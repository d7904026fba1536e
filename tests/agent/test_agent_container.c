/* Container configurations, memory sizes, .git alternates and the mapping of
 * what happened to a job onto its final status. */
#include "agent/agent_int.h"
#include "common/error.h"
#include "queue/queue.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int has_string(json_t *array, const char *value) {
  size_t i;
  json_t *item;
  json_array_foreach(array, i, item) {
    if (json_is_string(item) && strcmp(json_string_value(item), value) == 0)
      return 1;
  }
  return 0;
}

static void test_agent_container_job_config_has_env_limits_and_binds(void **state) {
  (void)state;
  queue_kv env[] = {{"FOO", "bar"}, {"AWS_DEFAULT_REGION", "eu-west-1"}};
  queue_kv secrets[] = {{"TOKEN", "s3cr3t"}};
  queue_spec spec = {.image = "airgap-test/busybox",
                     .script = "make test",
                     .env = env,
                     .env_count = 2,
                     .secrets = secrets,
                     .secret_count = 1,
                     .memory = "256m",
                     .cpus = 1.5,
                     .mountpoint = "/src"};
  const char *binds[] = {"/cache/mirrors/abc.git/objects"};
  agent_container_params params = {.agent_id = "agent-1",
                                   .job_id = "job-7",
                                   .commit = "0123456789abcdef0123456789abcdef01234567",
                                   .sandbox_id = "sandbox123",
                                   .workspace = "/work/job-7/workspace",
                                   .ro_binds = binds,
                                   .ro_bind_count = 1,
                                   .hosts_file = "/work/job-7/hosts"};
  json_t *config = NULL;
  assert_int_equal(agent_container_job_config(&config, &spec, &params), 0);

  assert_string_equal(json_string_value(json_object_get(config, "Image")), "airgap-test/busybox");
  json_t *entry = json_object_get(config, "Entrypoint");
  assert_string_equal(json_string_value(json_array_get(entry, 0)), "/bin/sh");
  assert_string_equal(json_string_value(json_array_get(entry, 1)), "-c");
  assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 0)),
                      "make test");
  assert_string_equal(json_string_value(json_object_get(config, "WorkingDir")), "/src");

  json_t *envs = json_object_get(config, "Env");
  assert_true(has_string(envs, "CI=true"));
  assert_true(has_string(envs, "AIRGAP_JOB_ID=job-7"));
  assert_true(has_string(envs, "AIRGAP_COMMIT=0123456789abcdef0123456789abcdef01234567"));
  assert_true(has_string(envs, "AWS_ENDPOINT_URL=http://localhost:4566"));
  assert_true(has_string(envs, "AWS_ACCESS_KEY_ID=test"));
  assert_true(has_string(envs, "AWS_SECRET_ACCESS_KEY=test"));
  assert_true(has_string(envs, "FOO=bar"));
  assert_true(has_string(envs, "TOKEN=s3cr3t"));
  /* The spec overrides a default, and the default does not linger. */
  assert_true(has_string(envs, "AWS_DEFAULT_REGION=eu-west-1"));
  assert_false(has_string(envs, "AWS_DEFAULT_REGION=us-east-1"));

  json_t *labels = json_object_get(config, "Labels");
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.agent")), "agent-1");
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.job")), "job-7");

  json_t *host = json_object_get(config, "HostConfig");
  assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")),
                      "container:sandbox123");
  assert_true(has_string(json_object_get(host, "Binds"), "/work/job-7/workspace:/src"));
  assert_true(has_string(json_object_get(host, "Binds"),
                         "/cache/mirrors/abc.git/objects:/cache/mirrors/abc.git/objects:ro"));
  assert_true(has_string(json_object_get(host, "Binds"), "/work/job-7/hosts:/etc/hosts:ro"));
  assert_true(has_string(json_object_get(host, "SecurityOpt"), "no-new-privileges:true"));
  assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 256 * 1024 * 1024);
  assert_int_equal(json_integer_value(json_object_get(host, "NanoCpus")), 1500000000);
  assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), AGENT_DEFAULT_PIDS);
  assert_null(json_object_get(host, "Privileged"));
  /* No Docker socket reaches the job. */
  char *text = json_dumps(config, 0);
  assert_null(strstr(text, "docker.sock"));
  free(text);
  assert_null(json_object_get(config, "User"));
  json_decref(config);
}

static void test_agent_container_job_config_refuses_bad_input(void **state) {
  (void)state;
  queue_spec spec = {.image = "img", .script = "true", .mountpoint = "/a:b"};
  agent_container_params params = {.agent_id = "a",
                                   .job_id = "j",
                                   .commit = "c",
                                   .sandbox_id = "s",
                                   .workspace = "/work/j/workspace"};
  json_t *config = NULL;
  assert_int_equal(agent_container_job_config(&config, &spec, &params), AIRGAP_EINVALID);
  spec.mountpoint = "relative";
  assert_int_equal(agent_container_job_config(&config, &spec, &params), AIRGAP_EINVALID);
  spec.mountpoint = NULL; /* default /workspace */
  spec.memory = "lots";
  assert_int_equal(agent_container_job_config(&config, &spec, &params), AIRGAP_EINVALID);
  assert_null(config);
  spec.memory = NULL;
  spec.pids = 64;
  params.user = "1000:1000";
  assert_int_equal(agent_container_job_config(&config, &spec, &params), 0);
  assert_string_equal(json_string_value(json_object_get(config, "WorkingDir")), "/workspace");
  assert_string_equal(json_string_value(json_object_get(config, "User")), "1000:1000");
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(config, "HostConfig"), "PidsLimit")), 64);
  json_decref(config);
}

static int has_prefix(json_t *array, const char *prefix) {
  size_t i;
  json_t *v;
  json_array_foreach(array, i, v) {
    if (strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
      return 1;
  }
  return 0;
}

/* The sandbox runs the job's emulator, confined at least as tightly as the
 * job (issue #12 item 1). */
static void test_agent_container_sandbox_config(void **state) {
  (void)state;
  json_t *config = NULL;
  agent_sandbox_params params = {.image = "airgap/sandbox:x",
                                 .network = "none",
                                 .agent_id = "a1",
                                 .job_id = "j1",
                                 .services = "s3,sqs"};
  assert_int_equal(agent_emulator_sandbox_config(&config, &params), 0);
  assert_string_equal(json_string_value(json_object_get(config, "Image")), "airgap/sandbox:x");
  assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Entrypoint"), 0)),
                      AGENT_EMULATOR_EXE_IN_CONTAINER);
  json_t *cmd = json_object_get(config, "Cmd");
  assert_string_equal(json_string_value(json_array_get(cmd, 0)), "emulator");
  assert_string_equal(json_string_value(json_array_get(cmd, 2)), "127.0.0.1:4566");
  assert_string_equal(json_string_value(json_object_get(config, "User")), "65534:65534");
  assert_true(has_string(json_object_get(config, "Env"), "SERVICES=s3,sqs"));
  assert_true(has_string(json_object_get(config, "Env"), "DATA_DIR=/data"));
  json_t *host = json_object_get(config, "HostConfig");
  assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")), "none");
  /* none without the engine's network setup (and its dockerd prestart hook) */
  assert_true(json_is_true(json_object_get(config, "NetworkDisabled")));
  assert_true(agent_network_disabled("none"));
  assert_true(has_string(json_object_get(config, "Env"), "LOCALSTACK_HOST=localhost:4566"));
  assert_true(has_string(json_object_get(host, "CapDrop"), "ALL"));
  assert_true(has_string(json_object_get(host, "SecurityOpt"), "no-new-privileges:true"));
  assert_null(json_object_get(host, "Privileged"));
  assert_true(json_is_true(json_object_get(host, "ReadonlyRootfs")));
  assert_int_equal(json_integer_value(json_object_get(host, "Memory")), AGENT_EMULATOR_MEMORY);
  assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), AGENT_EMULATOR_PIDS);
  assert_non_null(json_object_get(json_object_get(host, "Tmpfs"), "/data"));
  /* Nothing of the host is bound in: the image holds the emulator. */
  assert_int_equal(json_array_size(json_object_get(host, "Binds")), 0);
  json_t *labels = json_object_get(config, "Labels");
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.job")), "j1");
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.role")), "sandbox");
  json_decref(config);
  config = NULL;

  /* A warm sandbox: no job label, every service. */
  params.job_id = NULL;
  params.services = NULL;
  assert_int_equal(agent_emulator_sandbox_config(&config, &params), 0);
  assert_null(json_object_get(json_object_get(config, "Labels"), "airgap.job"));
  assert_false(has_prefix(json_object_get(config, "Env"), "SERVICES="));
  json_decref(config);
  config = NULL;

  /* A real network: the engine sets it up (and writes /etc/hosts) as usual. */
  params.network = "bridge";
  assert_int_equal(agent_emulator_sandbox_config(&config, &params), 0);
  assert_null(json_object_get(config, "NetworkDisabled"));
  assert_false(agent_network_disabled("bridge"));
  json_decref(config);
  config = NULL;

  params.network = "container:x";
  assert_int_equal(agent_emulator_sandbox_config(&config, &params), AIRGAP_EINVALID);
  params.network = "a b";
  assert_int_equal(agent_emulator_sandbox_config(&config, &params), AIRGAP_EINVALID);
  assert_null(config);
}

static void test_agent_hosts_file_resolves_localhost(void **state) {
  (void)state;
  char dir[] = "/tmp/airgap-hosts-XXXXXX", path[PATH_MAX], text[256] = {0};
  assert_non_null(mkdtemp(dir));
  assert_int_equal(agent_hosts_file(path, sizeof(path), dir), 0);
  assert_true(strcmp(path + strlen(dir), "/hosts") == 0);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_true(fread(text, 1, sizeof(text) - 1, f) > 0);
  fclose(f);
  assert_string_equal(text, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  /* again over the same file (a rerun's), and into a directory that is not there */
  assert_int_equal(agent_hosts_file(path, sizeof(path), dir), 0);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
  assert_int_equal(agent_hosts_file(path, sizeof(path), dir), AIRGAP_ERROR);
  assert_int_equal(agent_hosts_file(path, 8, dir), AIRGAP_EINVALID);
}

static void test_agent_container_memory_sizes(void **state) {
  (void)state;
  int64_t v = 0;
  assert_int_equal(agent_memory_parse(&v, "2g"), 0);
  assert_int_equal(v, 2LL << 30);
  assert_int_equal(agent_memory_parse(&v, "512M"), 0);
  assert_int_equal(v, 512LL << 20);
  assert_int_equal(agent_memory_parse(&v, "64mb"), 0);
  assert_int_equal(v, 64LL << 20);
  assert_int_equal(agent_memory_parse(&v, "8388608"), 0);
  assert_int_equal(v, 8388608);
  v = 7;
  assert_int_equal(agent_memory_parse(&v, "5m"), AIRGAP_EINVALID); /* below 6m */
  assert_int_equal(agent_memory_parse(&v, "-5g"), AIRGAP_EINVALID);
  assert_int_equal(agent_memory_parse(&v, "5x"), AIRGAP_EINVALID);
  assert_int_equal(agent_memory_parse(&v, "5gg"), AIRGAP_EINVALID);
  assert_int_equal(agent_memory_parse(&v, ""), AIRGAP_EINVALID);
  assert_int_equal(agent_memory_parse(&v, "99999999999999999999t"), AIRGAP_EINVALID);
  assert_int_equal(v, 7);
}

static void test_agent_status_mapping(void **state) {
  (void)state;
  agent_status s;
  agent_outcome o = {.has_exit_code = 1, .exit_code = 0};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "passed");
  assert_null(s.reason);
  assert_int_equal(s.exit_code, 0);

  o = (agent_outcome){.has_exit_code = 1, .exit_code = 3};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "failed");
  assert_null(s.reason);
  assert_int_equal(s.exit_code, 3);

  o = (agent_outcome){.has_exit_code = 1, .exit_code = 137, .timed_out = 1};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "failed");
  assert_string_equal(s.reason, "timeout");
  assert_int_equal(s.exit_code, -1);

  o = (agent_outcome){.has_exit_code = 1, .exit_code = 137, .oom_killed = 1};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "failed");
  assert_string_equal(s.reason, "oom");
  assert_int_equal(s.exit_code, 137);

  o = (agent_outcome){.has_exit_code = 1, .exit_code = 137, .canceled = 1, .timed_out = 1};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "canceled");

  o = (agent_outcome){.error_reason = "git", .canceled = 1};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "errored");
  assert_string_equal(s.reason, "git");

  o = (agent_outcome){0};
  agent_status_from_outcome(&s, &o);
  assert_string_equal(s.status, "errored");
  assert_string_equal(s.reason, "infrastructure");
}

static void test_agent_job_id_valid(void **state) {
  (void)state;
  assert_true(agent_job_id_valid("0123abcd"));
  assert_true(agent_job_id_valid("job_7-x"));
  assert_false(agent_job_id_valid(""));
  assert_false(agent_job_id_valid(NULL));
  assert_false(agent_job_id_valid("../etc"));
  assert_false(agent_job_id_valid("a/b"));
  assert_false(agent_job_id_valid("a b"));
  assert_false(agent_job_id_valid("a,b"));
  char long_id[66];
  memset(long_id, 'a', 65);
  long_id[65] = '\0';
  assert_false(agent_job_id_valid(long_id));
}

static void test_agent_pull_policy_parse(void **state) {
  (void)state;
  agent_pull_policy p = AGENT_PULL_ALWAYS;
  assert_int_equal(agent_pull_policy_parse(&p, "never"), 0);
  assert_int_equal(p, AGENT_PULL_NEVER);
  assert_int_equal(agent_pull_policy_parse(&p, "if-not-present"), 0);
  assert_int_equal(p, AGENT_PULL_IF_NOT_PRESENT);
  assert_int_equal(agent_pull_policy_parse(&p, "sometimes"), AIRGAP_EINVALID);
  assert_int_equal(p, AGENT_PULL_IF_NOT_PRESENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_container_job_config_has_env_limits_and_binds),
      cmocka_unit_test(test_agent_container_job_config_refuses_bad_input),
      cmocka_unit_test(test_agent_container_sandbox_config),
      cmocka_unit_test(test_agent_hosts_file_resolves_localhost),
      cmocka_unit_test(test_agent_container_memory_sizes),
      cmocka_unit_test(test_agent_status_mapping),
      cmocka_unit_test(test_agent_job_id_valid),
      cmocka_unit_test(test_agent_pull_policy_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
