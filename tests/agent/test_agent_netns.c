/* A socket opened inside another process's network namespace is reachable
 * from inside that namespace and not from ours. Needs root (unshare -n). */
#include "agent/agent_int.h"
#include "common/error.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TEST_PORT 45661

/* A process in a fresh network namespace with loopback up, like a sandbox. */
static pid_t start_namespace_holder(void) {
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    if (unshare(CLONE_NEWNET) < 0 || system("ip link set lo up") != 0)
      _exit(1);
    if (write(ready[1], "x", 1) != 1)
      _exit(1);
    close(ready[1]);
    for (;;)
      pause();
  }
  close(ready[1]);
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  return pid;
}

static int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
  close(fd);
  return rc;
}

typedef struct inside_probe {
  pid_t pid;
  int rc;
} inside_probe;

static void *probe_inside(void *arg) {
  inside_probe *probe = arg;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)probe->pid);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  probe->rc = -2;
  if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0)
    probe->rc = connect_loopback(TEST_PORT);
  if (ns >= 0)
    close(ns);
  return NULL;
}

static void test_agent_netns_listen_is_private_to_the_namespace(void **state) {
  (void)state;
  pid_t holder = start_namespace_holder();
  int fd = -1;
  assert_int_equal(agent_netns_listen(&fd, holder, "127.0.0.1", TEST_PORT), 0);
  assert_true(fd >= 0);

  inside_probe probe = {.pid = holder};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, probe_inside, &probe), 0);
  pthread_join(thread, NULL);
  assert_int_equal(probe.rc, 0);                     /* reachable inside */
  assert_int_equal(connect_loopback(TEST_PORT), -1); /* not on our loopback */

  close(fd);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
}

static void test_agent_netns_listen_unknown_process(void **state) {
  (void)state;
  int fd = -1;
  assert_int_equal(agent_netns_listen(&fd, 0x3ffffff0, "127.0.0.1", TEST_PORT), AIRGAP_ENOTFOUND);
  assert_int_equal(fd, -1);
  assert_non_null(strstr(airgap_error_last(), "network namespace"));
}

static void test_agent_netns_listen_bad_address(void **state) {
  (void)state;
  int fd = -1;
  assert_int_equal(agent_netns_listen(&fd, getpid(), "localhost", TEST_PORT), AIRGAP_EINVALID);
  assert_int_equal(fd, -1);
}

/* A container joining the holder's network namespace with a pid namespace
 * of its own: a child enters the namespace and forks the "init" (1 in a new
 * pid namespace), whose host pid it reports. */
static pid_t start_joined_init(pid_t holder, pid_t *joiner) {
  int report[2];
  assert_int_equal(pipe(report), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(report[0]);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)holder);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0 || unshare(CLONE_NEWPID) < 0)
      _exit(1);
    pid_t init = fork();
    if (init == 0) {
      for (;;)
        pause();
    }
    if (init < 0 || write(report[1], &init, sizeof(init)) != (ssize_t)sizeof(init))
      _exit(1);
    waitpid(init, NULL, 0);
    _exit(0);
  }
  close(report[1]);
  pid_t init = 0;
  assert_int_equal(read(report[0], &init, sizeof(init)), (ssize_t)sizeof(init));
  close(report[0]);
  *joiner = child;
  return init;
}

static void test_agent_netns_joined_init_found_until_it_ends(void **state) {
  (void)state;
  pid_t holder = start_namespace_holder();
  pid_t found = 0;
  /* The holder is in that namespace, but in our pid namespace: not a joiner. */
  assert_int_equal(agent_netns_joined_init(&found, holder), AIRGAP_ENOTFOUND);
  pid_t joiner = 0;
  pid_t init = start_joined_init(holder, &joiner);
  assert_int_equal(agent_netns_joined_init(&found, holder), 0);
  assert_int_equal(found, init);
  /* Its end is what the supervisor waits for. */
  kill(init, SIGKILL);
  assert_int_equal(waitpid(joiner, NULL, 0), joiner);
  assert_int_equal(agent_netns_joined_init(&found, holder), AIRGAP_ENOTFOUND);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  /* A holder that is gone: /proc cannot tell. */
  assert_int_equal(agent_netns_joined_init(&found, holder), AIRGAP_ERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agent_netns_listen_is_private_to_the_namespace),
      cmocka_unit_test(test_agent_netns_listen_unknown_process),
      cmocka_unit_test(test_agent_netns_listen_bad_address),
      cmocka_unit_test(test_agent_netns_joined_init_found_until_it_ends),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
