/* The emulator's container channel (agent_emulator_channel.c, issue #12
 * item 1) with real requests against a real Docker engine: a busybox function
 * container started in the job's network namespace with the job's labels and
 * limits and the code tar copied in; and the requests that must be refused —
 * privileged, host mounts, another network, another namespace, a container
 * not created through the channel, a peer that is not the emulator. Needs
 * root and Docker (the airgap-test/busybox image). This test process plays
 * the emulator: it is the channel's peer_pid, and a helper thread joins the
 * sandbox's network namespace to reach the abstract socket. */
#include "agent/agent_int.h"
#include "common/docker.h"
#include "common/error.h"
#include "emulator/containers.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#define IMAGE "airgap-test/busybox"
#define OTHER_CHANNEL "@airgap-containers-test-other"

typedef struct fixture {
  docker_client *docker;
  char agent_id[64];
  char job_id[64];
  char *sandbox_id;
  pid_t sandbox_pid;
  agent_channel *channel;
} fixture;

/* Runs fn(arg) on a thread inside the network namespace of pid. */
typedef void (*ns_fn)(void *arg);
typedef struct ns_call {
  pid_t pid;
  ns_fn fn;
  void *arg;
  int ok;
} ns_call;

static void *ns_thread(void *p) {
  ns_call *call = p;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)call->pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
    return NULL;
  close(fd);
  call->fn(call->arg);
  call->ok = 1;
  return NULL;
}

static void in_namespace(pid_t pid, ns_fn fn, void *arg) {
  ns_call call = {.pid = pid, .fn = fn, .arg = arg};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, ns_thread, &call), 0);
  pthread_join(t, NULL);
  assert_true(call.ok);
}

/* One raw request on an abstract socket; the answer text (owned). */
typedef struct raw_call {
  const char *name;
  const char *request;
  char answer[4096];
} raw_call;

static void raw_send(void *arg) {
  raw_call *c = arg;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(c->name);
  memcpy(addr.sun_path, c->name, len);
  addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&addr,
              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
    snprintf(c->answer, sizeof(c->answer), "connect failed");
    close(fd);
    return;
  }
  send(fd, c->request, strlen(c->request), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  size_t got = 0;
  ssize_t n;
  while (got < sizeof(c->answer) - 1 &&
         (n = recv(fd, c->answer + got, sizeof(c->answer) - 1 - got, 0)) > 0)
    got += (size_t)n;
  c->answer[got] = '\0';
  close(fd);
}

static const char *raw(fixture *f, const char *name, const char *request) {
  static raw_call call;
  memset(&call, 0, sizeof(call));
  call.name = name;
  call.request = request;
  in_namespace(f->sandbox_pid, raw_send, &call);
  return call.answer;
}

/* A one-file ustar archive. */
static size_t tar_one(char *out, size_t size, const char *name, const char *text) {
  size_t len = strlen(text), total = 512 + (len + 511) / 512 * 512 + 1024;
  assert_true(total <= size);
  memset(out, 0, total);
  snprintf(out, 100, "%s", name);
  snprintf(out + 100, 8, "%07o", 0644);
  snprintf(out + 108, 8, "%07o", 0);
  snprintf(out + 116, 8, "%07o", 0);
  snprintf(out + 124, 12, "%011o", (unsigned)len);
  snprintf(out + 136, 12, "%011o", 0);
  out[156] = '0';
  memcpy(out + 257, "ustar", 6);
  memcpy(out + 263, "00", 2);
  memset(out + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += (unsigned char)out[i];
  snprintf(out + 148, 8, "%06o", sum);
  memcpy(out + 512, text, len);
  return total;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  snprintf(f->agent_id, sizeof(f->agent_id), "chtest-%d", (int)getpid());
  snprintf(f->job_id, sizeof(f->job_id), "chjob-%d", (int)getpid());
  assert_int_equal(docker_client_new(&f->docker, NULL), 0);
  assert_int_equal(docker_ping(f->docker), 0);
  json_t *config =
      json_pack("{s:s, s:[s, s], s:{s:s, s:s, s:s}, s:{s:s}}", "Image", IMAGE, "Cmd", "sleep",
                "300", "Labels", "airgap.agent", f->agent_id, "airgap.job", f->job_id,
                "airgap.role", "sandbox", "HostConfig", "NetworkMode", "none");
  assert_int_equal(docker_container_create(&f->sandbox_id, f->docker, NULL, config), 0);
  json_decref(config);
  assert_int_equal(docker_container_start(f->docker, f->sandbox_id), 0);
  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, f->docker, f->sandbox_id), 0);
  f->sandbox_pid =
      (pid_t)json_integer_value(json_object_get(json_object_get(info, "State"), "Pid"));
  json_decref(info);
  assert_true(f->sandbox_pid > 0);
  agent_channel_params p = {.name = AGENT_CHANNEL_NAME,
                            .docker_socket = docker_client_socket(f->docker),
                            .sandbox_id = f->sandbox_id,
                            .sandbox_pid = f->sandbox_pid,
                            .peer_pid = getpid(),
                            .agent_id = f->agent_id,
                            .job_id = f->job_id,
                            .memory = 64LL << 20,
                            .pids = 32};
  assert_int_equal(agent_channel_start(&f->channel, &p), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  agent_channel_stop(f->channel);
  unsigned removed = 0;
  agent_containers_reap(&removed, f->docker, f->agent_id, NULL, NULL);
  json_t *left = NULL;
  char label[96];
  snprintf(label, sizeof(label), "airgap.agent=%s", f->agent_id);
  assert_int_equal(docker_container_list(&left, f->docker, label), 0);
  assert_int_equal(json_array_size(left), 0);
  json_decref(left);
  free(f->sandbox_id);
  docker_client_free(f->docker);
  free(f);
  return 0;
}

typedef struct create_call {
  const emulator_container_spec *spec;
  char *id;
  int rc;
  int start_rc;
  int remove_rc;
  int remove_again_rc;
  char message[512];
} create_call;

static void create_and_start(void *arg) {
  create_call *c = arg;
  emulator_containers *ec = NULL;
  assert_int_equal(emulator_containers_channel_new(&ec, AGENT_CHANNEL_NAME), 0);
  c->rc = emulator_containers_create(&c->id, ec, c->spec);
  if (c->rc < 0)
    snprintf(c->message, sizeof(c->message), "%s", airgap_error_last());
  else
    c->start_rc = emulator_containers_start(ec, c->id);
  emulator_containers_free(ec);
}

static void remove_twice(void *arg) {
  create_call *c = arg;
  emulator_containers *ec = NULL;
  assert_int_equal(emulator_containers_channel_new(&ec, AGENT_CHANNEL_NAME), 0);
  c->remove_rc = emulator_containers_remove(ec, c->id);
  c->remove_again_rc = emulator_containers_remove(ec, c->id);
  emulator_containers_free(ec);
}

static int collect(int stream, const char *data, size_t len, void *payload) {
  (void)stream;
  strncat(payload, data, len < 256 ? len : 256);
  return 0;
}

static void test_agent_channel_starts_a_function_container_in_the_jobs_namespace(void **state) {
  fixture *f = *state;
  char tar[4096];
  size_t tar_len = tar_one(tar, sizeof(tar), "hello.txt", "hello from the code tar\n");
  const char *env[] = {"GREETING=hi"};
  const char *cmd[] = {"sh", "-c", "cat /tmp/hello.txt; echo $GREETING; id -u"};
  emulator_container_spec spec = {.image = IMAGE,
                                  .env = env,
                                  .env_count = 1,
                                  .cmd = cmd,
                                  .cmd_count = 3,
                                  .code_tar = tar,
                                  .code_tar_len = tar_len,
                                  .code_dir = "/tmp"};
  create_call call = {.spec = &spec};
  in_namespace(f->sandbox_pid, create_and_start, &call);
  assert_int_equal(call.rc, 0);
  assert_int_equal(call.start_rc, 0);
  int code = -1;
  assert_int_equal(docker_container_wait(&code, f->docker, call.id, 30000), 0);
  assert_int_equal(code, 0);
  char out[1024] = "";
  docker_logs_options lo = {.timeout_ms = 10000};
  assert_int_equal(docker_container_logs(f->docker, call.id, &lo, collect, out), 0);
  assert_string_equal(out, "hello from the code tar\nhi\n0\n");

  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, f->docker, call.id), 0);
  json_t *labels = json_object_get(json_object_get(info, "Config"), "Labels");
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.agent")), f->agent_id);
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.job")), f->job_id);
  assert_string_equal(json_string_value(json_object_get(labels, "airgap.role")), "function");
  json_t *host = json_object_get(info, "HostConfig");
  char mode[128];
  snprintf(mode, sizeof(mode), "container:%s", f->sandbox_id);
  assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")), mode);
  assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 64LL << 20);
  assert_int_equal(json_integer_value(json_object_get(host, "PidsLimit")), 32);
  assert_false(json_is_true(json_object_get(host, "Privileged")));
  assert_int_equal(json_array_size(json_object_get(host, "Binds")), 0);
  assert_int_equal(json_array_size(json_object_get(info, "Mounts")), 0);
  json_decref(info);

  in_namespace(f->sandbox_pid, remove_twice, &call);
  assert_int_equal(call.remove_rc, 0);
  assert_int_equal(call.remove_again_rc, AIRGAP_ENOTFOUND); /* no longer one of ours */
  free(call.id);
}

static void test_agent_channel_refuses_what_a_job_must_not_get(void **state) {
  fixture *f = *state;
  static const struct {
    const char *request, *expect;
  } cases[] = {
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"privileged\":true}", "never privileged"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"binds\":[\"/:/host\"]}",
       "never get a host mount"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"mounts\":[{\"Source\":\"/etc\"}]}",
       "never get a host mount"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"network_mode\":\"host\"}", "no other network"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"network\":\"bridge\"}", "no other network"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"pid_mode\":\"host\"}",
       "share no namespace but the job's network"},
      {"{\"op\":\"create\",\"image\":\"" IMAGE "\",\"labels\":{\"airgap.job\":\"x\"}}",
       "the job's labels only"},
      {"{\"op\":\"create\"}", "needs an image"},
      {"{\"op\":\"create\",\"image\":\"airgap/sandbox:0.1.0-abc\"}", "airgap's own images"},
      {"{\"op\":\"create\",\"image\":\"--privileged\"}", "not an image reference"},
      {"{\"op\":\"create\",\"image\":\"busybox;rm -rf /\"}", "not an image reference"},
      {"{\"op\":\"exec\",\"id\":\"abc\"}", "op must be create"},
      {"not json", "not a JSON object"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *answer = raw(f, AGENT_CHANNEL_NAME, cases[i].request);
    if (!strstr(answer, cases[i].expect))
      fail_msg("request %s: answer %s lacks '%s'", cases[i].request, answer, cases[i].expect);
    assert_non_null(strstr(answer, "\"error\""));
  }
  /* A container of the job's, but not created through the channel (the
   * sandbox itself): neither started, stopped nor removed. */
  char request[256];
  snprintf(request, sizeof(request), "{\"op\":\"remove\",\"id\":\"%s\"}", f->sandbox_id);
  assert_non_null(strstr(raw(f, AGENT_CHANNEL_NAME, request), "not a function container"));
  json_t *info = NULL;
  assert_int_equal(docker_container_inspect(&info, f->docker, f->sandbox_id), 0);
  assert_true(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
  json_decref(info);
  /* Nothing was created by any of them. */
  json_t *list = NULL;
  char label[96];
  snprintf(label, sizeof(label), "airgap.job=%s", f->job_id);
  assert_int_equal(docker_container_list(&list, f->docker, label), 0);
  assert_int_equal(json_array_size(list), 1); /* the sandbox */
  json_decref(list);
}

static void test_agent_channel_serves_only_the_emulator(void **state) {
  fixture *f = *state;
  agent_channel *other = NULL;
  agent_channel_params p = {.name = OTHER_CHANNEL,
                            .docker_socket = docker_client_socket(f->docker),
                            .sandbox_id = f->sandbox_id,
                            .sandbox_pid = f->sandbox_pid,
                            .peer_pid = f->sandbox_pid, /* not us: we play the job here */
                            .agent_id = f->agent_id,
                            .job_id = f->job_id};
  assert_int_equal(agent_channel_start(&other, &p), 0);
  const char *answer =
      raw(f, OTHER_CHANNEL, "{\"op\":\"create\",\"image\":\"" IMAGE "\",\"cmd\":[\"true\"]}");
  assert_non_null(strstr(answer, "only the job's emulator may use this channel"));
  agent_channel_stop(other);
  /* The channel exists only inside the job's namespace, not on the host. */
  emulator_containers *ec = NULL;
  assert_int_equal(emulator_containers_channel_new(&ec, AGENT_CHANNEL_NAME), 0);
  char *id = NULL;
  emulator_container_spec spec = {.image = IMAGE};
  assert_int_equal(emulator_containers_create(&id, ec, &spec), AIRGAP_ENOTFOUND);
  assert_null(id);
  emulator_containers_free(ec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          test_agent_channel_starts_a_function_container_in_the_jobs_namespace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_agent_channel_refuses_what_a_job_must_not_get, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_agent_channel_serves_only_the_emulator, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
