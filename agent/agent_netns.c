/*
 * agent_netns.c — open a listening socket inside another process's network
 * namespace.
 *
 * setns(CLONE_NEWNET) changes only the calling thread, and a socket belongs
 * to the namespace it was created in for its whole life. So a helper thread
 * joins the sandbox's namespace, creates, binds and listens, and exits; the
 * fd it made is then served by the emulator's ordinary threads, while the
 * job's containers reach it as their own localhost.
 *
 * The same trick probes the job's emulator (the sandbox container's own
 * process) from inside its namespace, to start the job only once
 * localhost:4566 answers.
 */
#include "agent/agent_int.h"
#include "common/error.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

typedef struct netns_job {
  int ns_fd;
  const char *host;
  uint16_t port;
  int result_fd;
  int error_code;
  char message[256];
} netns_job;

static void *netns_listen_thread(void *arg) {
  netns_job *job = arg;
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(job->port);
  if (inet_pton(AF_INET, job->host, &addr.sin_addr) != 1) {
    snprintf(job->message, sizeof(job->message), "'%s' is not an IPv4 address", job->host);
    job->error_code = AIRGAP_EINVALID;
    return NULL;
  }
  if (setns(job->ns_fd, CLONE_NEWNET) < 0) {
    snprintf(job->message, sizeof(job->message), "cannot join the sandbox's network namespace: %s",
             strerror(errno));
    job->error_code = AIRGAP_ERROR;
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 256) < 0) {
    snprintf(job->message, sizeof(job->message), "cannot listen on %s:%u in the sandbox: %s",
             job->host, job->port, strerror(errno));
    job->error_code = AIRGAP_ERROR;
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  job->result_fd = fd;
  return NULL;
}

int agent_netns_listen(int *out, pid_t pid, const char *host, uint16_t port) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  int ns_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0)
    return airgap_error_set_errno(errno == ENOENT ? AIRGAP_ENOTFOUND : AIRGAP_ERROR,
                                  "cannot open the network namespace of process %d", (int)pid);
  netns_job job = {.ns_fd = ns_fd, .host = host, .port = port, .result_fd = -1};
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, netns_listen_thread, &job);
  if (rc != 0) {
    close(ns_fd);
    errno = rc;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot start the namespace helper thread");
  }
  pthread_join(thread, NULL);
  close(ns_fd);
  if (job.result_fd < 0)
    return airgap_error_set(job.error_code ? job.error_code : AIRGAP_ERROR, "%s", job.message);
  *out = job.result_fd;
  return 0;
}

typedef struct netns_probe {
  int ns_fd;
  pid_t pid;
  uint16_t port;
  long timeout_ms;
  int error_code;
  char message[256];
} netns_probe;

static long monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *netns_probe_thread(void *arg) {
  netns_probe *probe = arg;
  if (setns(probe->ns_fd, CLONE_NEWNET) < 0) {
    snprintf(probe->message, sizeof(probe->message),
             "cannot join the sandbox's network namespace: %s", strerror(errno));
    probe->error_code = AIRGAP_ERROR;
    return NULL;
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(probe->port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long deadline = monotonic_ms() + probe->timeout_ms;
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      snprintf(probe->message, sizeof(probe->message), "cannot make a probe socket: %s",
               strerror(errno));
      probe->error_code = AIRGAP_ERROR;
      return NULL;
    }
    int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
    if (rc == 0)
      return NULL;
    if (kill(probe->pid, 0) < 0 && errno == ESRCH) {
      snprintf(probe->message, sizeof(probe->message),
               "the emulator (process %d) exited before it listened on localhost:%u",
               (int)probe->pid, probe->port);
      probe->error_code = AIRGAP_ENOTFOUND;
      return NULL;
    }
    if (monotonic_ms() >= deadline) {
      snprintf(probe->message, sizeof(probe->message),
               "the emulator did not listen on localhost:%u within %ld ms", probe->port,
               probe->timeout_ms);
      probe->error_code = AIRGAP_ETIMEOUT;
      return NULL;
    }
    struct timespec pause = {0, 5 * 1000000L};
    nanosleep(&pause, NULL);
  }
}

int agent_netns_wait_listening(pid_t pid, uint16_t port, long timeout_ms) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  int ns_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0)
    return airgap_error_set_errno(errno == ENOENT ? AIRGAP_ENOTFOUND : AIRGAP_ERROR,
                                  "cannot open the network namespace of process %d", (int)pid);
  netns_probe probe = {.ns_fd = ns_fd, .pid = pid, .port = port, .timeout_ms = timeout_ms};
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, netns_probe_thread, &probe);
  if (rc != 0) {
    close(ns_fd);
    errno = rc;
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot start the namespace helper thread");
  }
  pthread_join(thread, NULL);
  close(ns_fd);
  if (probe.error_code)
    return airgap_error_set(probe.error_code, "%s", probe.message);
  return 0;
}

/* The target of /proc/<pid>/<link> ("net:[4026532182]"), or "" when it
 * cannot be read (the process ended, or is a zombie without namespaces). */
static void ns_link(char *out, size_t size, const char *pid, const char *link) {
  char path[300];
  snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, link);
  ssize_t n = readlink(path, out, size - 1);
  out[n > 0 ? n : 0] = '\0';
}

/* Whether /proc/<pid>/status says the process is 1 in its innermost pid
 * namespace (NSpid: <host pid> ... 1). */
static int ns_init(const char *pid) {
  char path[300], line[256];
  snprintf(path, sizeof(path), "/proc/%s/status", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  int init = 0;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, "NSpid:", 6) != 0)
      continue;
    const char *last = strrchr(line, '\t');
    init = last && strtol(last + 1, NULL, 10) == 1 && strchr(line + 6, '\t') != last;
    break;
  }
  fclose(f);
  return init;
}

int agent_netns_joined_init(pid_t *out, pid_t owner) {
  char owner_id[32], owner_net[64], owner_pid_ns[64], net[64], pid_ns[64];
  snprintf(owner_id, sizeof(owner_id), "%d", (int)owner);
  ns_link(owner_net, sizeof(owner_net), owner_id, "net");
  ns_link(owner_pid_ns, sizeof(owner_pid_ns), owner_id, "pid");
  if (!owner_net[0] || !owner_pid_ns[0])
    return airgap_error_set(AIRGAP_ERROR, "cannot read the namespaces of process %d", (int)owner);
  DIR *d = opendir("/proc");
  if (!d)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot list /proc");
  int error = AIRGAP_ENOTFOUND;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9')
      continue;
    ns_link(net, sizeof(net), e->d_name, "net");
    if (strcmp(net, owner_net) != 0)
      continue;
    ns_link(pid_ns, sizeof(pid_ns), e->d_name, "pid");
    if (!pid_ns[0] || strcmp(pid_ns, owner_pid_ns) == 0 || !ns_init(e->d_name))
      continue;
    *out = (pid_t)strtol(e->d_name, NULL, 10);
    error = 0;
    break;
  }
  closedir(d);
  if (error == AIRGAP_ENOTFOUND)
    airgap_error_set(error, "no container's first process is left in the namespace of process %d",
                     (int)owner);
  return error;
}
