/*
 * agent_netns.c — open a listening socket inside another process's network
 * namespace.
 *
 * setns(CLONE_NEWNET) changes only the calling thread, and a socket belongs
 * to the namespace it was created in for its whole life. So a helper thread
 * joins the sandbox's namespace, creates, binds and listens, and exits; the
 * fd it made is then served by the emulator's ordinary threads, while the
 * job's containers reach it as their own localhost.
 */
#include "agent/agent_int.h"
#include "common/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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
