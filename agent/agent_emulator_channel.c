/*
 * agent_emulator_channel.c — the supervisor's side of the emulator's
 * container channel (emulator/containers.h): the confined emulator of a job
 * asks here for the containers it may not start itself (Lambda functions).
 *
 * The channel is an abstract unix socket bound inside the job's network
 * namespace (a helper thread setns()es, as agent_netns.c does for TCP), so it
 * needs no file bound into the sandbox and exists for warm sandboxes too; it
 * is bound before the job container starts, so the job cannot take the name
 * first. The job shares that namespace, so every connection's peer is checked
 * with SO_PEERCRED: only the emulator's own process is served (the sandbox's
 * first process, or the child that one forks to run the emulator in while it
 * reaps orphans as PID 1). One JSON request per connection; every request is checked against
 * an allow-list of members, and a create is carried out by the direct-Docker
 * implementation of emulator/containers.h constructed with this job's network
 * mode (container:<sandbox>), labels and limits — the request has no way to
 * say otherwise, and one that tries (privileged, binds, another network or
 * namespace) is refused with the reason; the one host file a function gets
 * is the run's read-only /etc/hosts, which the supervisor adds itself. Only containers created
 * through the channel may be started, stopped, removed or have their output read through it. A
 * function's own memory and /tmp size (Lambda's MemorySize and ephemeral storage) are taken, as
 * they only lower the job's limits.
 */
#include "agent/agent_int.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/containers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CHANNEL_MAX_CONTAINERS 64
#define CHANNEL_READ_TIMEOUT_S 30
#define CHANNEL_MAX_ENV 256
#define CHANNEL_MAX_CMD 1500         /* Lambda's ImageConfig allows as many */
#define CHANNEL_MAX_TMPFS_MB 10240LL /* Lambda's largest ephemeral storage */
#define CHANNEL_MAX_LOGS ((int)EMULATOR_CONTAINERS_MAX_CHANNEL_LOGS)

struct agent_channel {
  int listen_fd;
  int wake[2]; /* a byte here stops the server thread */
  pid_t peer_pid;
  unsigned long long peer_start; /* its start time: a reused pid is not it */
  char *network_mode;
  char *job_id;
  emulator_containers *docker;
  char *ids[CHANNEL_MAX_CONTAINERS];
  size_t id_count;
  pthread_t thread;
  int thread_started;
};

/* ---- answering one request ---- */

/* Members a request may carry; anything else is refused by name. */
static const char *const ALLOWED[] = {"op",          "image",    "env",      "cmd",    "entrypoint",
                                      "working_dir", "code",     "code_dir", "memory", "tmpfs_mb",
                                      "id",          "since_ms", "limit"};

static int refuse(json_t **answer, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(json_t **answer, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  *answer = json_pack("{s:s, s:i}", "error", msg, "code", code);
  return code;
}

/* Why a member outside the allow-list is refused, in the words of the rule it breaks. */
static const char *why_refused(const char *key) {
  static const struct {
    const char *key, *why;
  } rules[] = {
      {"privileged", "function containers are never privileged"},
      {"Privileged", "function containers are never privileged"},
      {"cap_add", "function containers get no added capabilities"},
      {"binds", "function containers never get a host mount of their own"},
      {"mounts", "function containers never get a host mount of their own"},
      {"volumes", "function containers never get a host mount of their own"},
      {"Binds", "function containers never get a host mount of their own"},
      {"network", "function containers join the job's network namespace, no other network"},
      {"network_mode", "function containers join the job's network namespace, no other network"},
      {"NetworkMode", "function containers join the job's network namespace, no other network"},
      {"pid_mode", "function containers share no namespace but the job's network"},
      {"ipc_mode", "function containers share no namespace but the job's network"},
      {"userns_mode", "function containers share no namespace but the job's network"},
      {"labels", "function containers carry the job's labels only"},
      {"pids", "function containers get the job's limits"},
  };
  for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
    if (strcmp(rules[i].key, key) == 0)
      return rules[i].why;
  return "it is not a member of the channel's requests";
}

static int strings_of(const char ***out, size_t *count, json_t *array, size_t max, const char *what,
                      json_t **answer) {
  *out = NULL;
  *count = 0;
  if (!array)
    return 0;
  if (!json_is_array(array) || json_array_size(array) > max)
    return refuse(answer, AIRGAP_EINVALID, "%s must be an array of at most %zu strings", what, max);
  size_t n = json_array_size(array);
  const char **items = calloc(n ? n : 1, sizeof(*items));
  if (!items)
    return refuse(answer, AIRGAP_ERROR, "out of memory");
  for (size_t i = 0; i < n; i++) {
    items[i] = json_string_value(json_array_get(array, i));
    if (!items[i]) {
      free(items);
      return refuse(answer, AIRGAP_EINVALID, "%s must be an array of strings", what);
    }
  }
  *out = items;
  *count = n;
  return 0;
}

static int known_id(agent_channel *ch, const char *id) {
  for (size_t i = 0; i < ch->id_count; i++)
    if (strcmp(ch->ids[i], id) == 0)
      return (int)i;
  return -1;
}

/* An image reference as the engine spells it ([registry/]name[:tag][@digest],
 * lowercase name), and not one of airgap's own: the sandbox images hold the
 * emulator, never a function. */
static const char *image_refused(const char *image) {
  size_t len = strlen(image);
  if (len == 0 || len > 255 || image[0] == '-' || image[0] == '/' || image[0] == ':')
    return "is not an image reference";
  for (const char *p = image; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("._-/:@", *p)))
      return "is not an image reference";
  if (strncmp(image, "airgap/", 7) == 0)
    return "is one of airgap's own images, not a function's";
  return NULL;
}

static int handle_create(agent_channel *ch, json_t *req, json_t **answer) {
  const char **env = NULL, **cmd = NULL, **entry = NULL;
  size_t env_count = 0, cmd_count = 0, entry_count = 0, code_len = 0;
  unsigned char *code = NULL;
  char *id = NULL;
  int error = 0;
  const char *image = jsonutil_string(req, "image");
  if (!image || !*image)
    return refuse(answer, AIRGAP_EINVALID, "a create request needs an image");
  const char *why = image_refused(image);
  if (why)
    return refuse(answer, AIRGAP_EINVALID, "image '%.80s' %s", image, why);
  if (ch->id_count >= CHANNEL_MAX_CONTAINERS)
    return refuse(answer, AIRGAP_ETOOBIG, "the job has %d function containers already (the most)",
                  CHANNEL_MAX_CONTAINERS);
  if ((error = strings_of(&env, &env_count, json_object_get(req, "env"), CHANNEL_MAX_ENV, "env",
                          answer)) < 0 ||
      (error = strings_of(&cmd, &cmd_count, json_object_get(req, "cmd"), CHANNEL_MAX_CMD, "cmd",
                          answer)) < 0)
    goto cleanup;
  if ((error = strings_of(&entry, &entry_count, json_object_get(req, "entrypoint"), CHANNEL_MAX_CMD,
                          "entrypoint", answer)) < 0)
    goto cleanup;
  /* A function's own limits (MemorySize, ephemeral storage) only lower the
   * job's: the direct implementation keeps the smaller memory, and the
   * tmpfs is charged to the container's memory. */
  json_t *memory = json_object_get(req, "memory"), *tmpfs = json_object_get(req, "tmpfs_mb");
  if ((memory && (!json_is_integer(memory) || json_integer_value(memory) < 0)) ||
      (tmpfs && (!json_is_integer(tmpfs) || json_integer_value(tmpfs) < 0 ||
                 json_integer_value(tmpfs) > CHANNEL_MAX_TMPFS_MB))) {
    error = refuse(answer, AIRGAP_EINVALID,
                   "memory must be a number of bytes, tmpfs_mb of MiB up to %lld",
                   CHANNEL_MAX_TMPFS_MB);
    goto cleanup;
  }
  const char *working_dir = jsonutil_string(req, "working_dir");
  if (json_object_get(req, "working_dir") &&
      (!working_dir || working_dir[0] != '/' || strlen(working_dir) > 1000)) {
    error = refuse(answer, AIRGAP_EINVALID, "working_dir must be an absolute path");
    goto cleanup;
  }
  const char *code_text = jsonutil_string(req, "code");
  if (code_text && codec_base64_decode(&code, &code_len, code_text, strlen(code_text)) < 0) {
    error = refuse(answer, AIRGAP_EINVALID, "code is not base64");
    goto cleanup;
  }
  emulator_container_spec spec = {.image = image,
                                  .env = env,
                                  .env_count = env_count,
                                  .cmd = cmd,
                                  .cmd_count = cmd_count,
                                  .entrypoint = entry,
                                  .entrypoint_count = entry_count,
                                  .working_dir = working_dir,
                                  .memory = json_integer_value(memory),
                                  .tmpfs_mb = json_integer_value(tmpfs),
                                  .code_tar = code,
                                  .code_tar_len = code_len,
                                  .code_dir = jsonutil_string(req, "code_dir")};
  if ((error = emulator_containers_create(&id, ch->docker, &spec)) < 0) {
    refuse(answer, error, "%s", airgap_error_last());
    goto cleanup;
  }
  ch->ids[ch->id_count++] = id;
  *answer = json_pack("{s:s}", "id", id);
  log_info("agent", "job %s: started function container %.12s (%s) for the emulator", ch->job_id,
           id, image);
cleanup:
  free(env);
  free(cmd);
  free(entry);
  free(code);
  return error;
}

/* What a function container of this job printed (Lambda's LogType=Tail):
 * the end of it, at most CHANNEL_MAX_LOGS bytes, base64. */
static int handle_logs(agent_channel *ch, json_t *req, json_t **answer) {
  const char *id = jsonutil_string(req, "id");
  if (!id || known_id(ch, id) < 0)
    return refuse(answer, AIRGAP_ENOTFOUND,
                  "container '%.80s' is not a function container of this job (only those "
                  "created through this channel)",
                  id ? id : "");
  json_int_t since = json_integer_value(json_object_get(req, "since_ms"));
  json_int_t limit = json_integer_value(json_object_get(req, "limit"));
  if (since < 0 || limit <= 0 || limit > CHANNEL_MAX_LOGS)
    return refuse(answer, AIRGAP_EINVALID, "logs needs since_ms >= 0 and limit 1 to %d",
                  CHANNEL_MAX_LOGS);
  char *text = NULL;
  size_t len = 0;
  int error = emulator_containers_logs(&text, &len, ch->docker, id, (unsigned long long)since,
                                       (size_t)limit);
  if (error < 0)
    return refuse(answer, error, "%s", airgap_error_last());
  char *b64 = codec_base64_encode(text, len);
  free(text);
  if (!b64)
    return refuse(answer, AIRGAP_ERROR, "out of memory");
  *answer = json_pack("{s:s}", "output", b64);
  free(b64);
  return 0;
}

static void handle(agent_channel *ch, const char *text, size_t len, json_t **answer) {
  json_t *req = json_loadb(text, len, 0, NULL);
  if (!json_is_object(req)) {
    refuse(answer, AIRGAP_EINVALID, "the request is not a JSON object");
    goto done;
  }
  const char *key;
  json_t *value;
  json_object_foreach(req, key, value) {
    int allowed = 0;
    for (size_t i = 0; i < sizeof(ALLOWED) / sizeof(ALLOWED[0]); i++)
      allowed |= strcmp(ALLOWED[i], key) == 0;
    if (!allowed) {
      refuse(answer, AIRGAP_EINVALID, "refused '%.64s': %s", key, why_refused(key));
      goto done;
    }
  }
  const char *op = jsonutil_string(req, "op");
  if (op && strcmp(op, "create") == 0) {
    handle_create(ch, req, answer);
  } else if (op && !strcmp(op, "logs")) {
    handle_logs(ch, req, answer);
  } else if (op && (!strcmp(op, "start") || !strcmp(op, "stop") || !strcmp(op, "remove"))) {
    const char *id = jsonutil_string(req, "id");
    int at = id ? known_id(ch, id) : -1;
    if (at < 0) {
      refuse(answer, AIRGAP_ENOTFOUND,
             "container '%.80s' is not a function container of this job (only those created "
             "through this channel)",
             id ? id : "");
      goto done;
    }
    int rc = !strcmp(op, "start")  ? emulator_containers_start(ch->docker, id)
             : !strcmp(op, "stop") ? emulator_containers_stop(ch->docker, id)
                                   : emulator_containers_remove(ch->docker, id);
    if (rc < 0)
      refuse(answer, rc, "%s", airgap_error_last());
    else
      *answer = json_object();
    if (rc == 0 && !strcmp(op, "remove")) {
      free(ch->ids[at]);
      ch->ids[at] = ch->ids[--ch->id_count];
    }
  } else {
    refuse(answer, AIRGAP_EINVALID, "op must be create, start, stop, remove or logs");
  }
done:
  json_decref(req);
}

/* ---- the server thread ---- */

/* The start time of process pid (field 22 of /proc/<pid>/stat, clock ticks
 * since boot), or 0 when it is gone. With the pid it names one process for
 * the machine's uptime: should the emulator die, a job process that later
 * gets its pid is still not served. */
static unsigned long long process_start(pid_t pid) {
  char path[64], text[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  const char *p = strrchr(text, ')'); /* the command name may hold spaces and ')' */
  for (int field = 2; p && field < 22; field++)
    p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* The parent of process pid (field 4 of /proc/<pid>/stat), 0 when gone. */
static pid_t process_parent(pid_t pid) {
  char path[64], text[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  text[n] = '\0';
  const char *p = strrchr(text, ')');
  int ppid = 0;
  if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
    return 0;
  return (pid_t)ppid;
}

/* The emulator is the sandbox's process, or, as PID 1 there, the child it
 * forks to run in while the first one reaps orphans (cli/cmd_emulator.c).
 * The job's processes live in a pid namespace of their own: none of them is
 * a child of the sandbox's first process. */
static int peer_is_emulator(const agent_channel *ch, pid_t pid) {
  if (pid <= 0 || process_start(ch->peer_pid) != ch->peer_start)
    return 0;
  return pid == ch->peer_pid || process_parent(pid) == ch->peer_pid;
}

/* Reads and drops what a refused peer sent (at most 1 MiB within about a
 * second), so that closing the connection does not reset it before it reads
 * the answer. */
static void drain(int fd) {
  struct timeval tv = {.tv_usec = 200 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  uint64_t deadline = clock_monotonic_ms() + 1000;
  while (total < (1u << 20) && clock_monotonic_ms() < deadline &&
         (n = recv(fd, buf, sizeof(buf), 0)) > 0)
    total += (size_t)n;
}

static void serve_one(agent_channel *ch, int fd) {
  json_t *answer = NULL;
  char *text = NULL;
  struct ucred cred = {0};
  socklen_t cred_len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
      !peer_is_emulator(ch, cred.pid)) {
    refuse(&answer, AIRGAP_EAUTH, "only the job's emulator may use this channel");
    log_warn("agent", "job %s: refused a container request from process %d (not the emulator)",
             ch->job_id, (int)cred.pid);
    drain(fd);
  } else {
    struct timeval tv = {.tv_sec = CHANNEL_READ_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t cap = 0, len = 0;
    for (;;) {
      if (len == cap) {
        if (cap >= EMULATOR_CONTAINERS_MAX_REQUEST) {
          refuse(&answer, AIRGAP_ETOOBIG, "the request is larger than %u bytes",
                 (unsigned)EMULATOR_CONTAINERS_MAX_REQUEST);
          break;
        }
        cap = cap ? cap * 2 : 4096;
        if (cap > EMULATOR_CONTAINERS_MAX_REQUEST)
          cap = EMULATOR_CONTAINERS_MAX_REQUEST;
        char *bigger = realloc(text, cap);
        if (!bigger) {
          refuse(&answer, AIRGAP_ERROR, "out of memory");
          break;
        }
        text = bigger;
      }
      ssize_t n = recv(fd, text + len, cap - len, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        refuse(&answer, AIRGAP_ETIMEOUT, "the request did not end (half-close the connection)");
        break;
      }
      if (n == 0) {
        handle(ch, text, len, &answer);
        break;
      }
      len += (size_t)n;
    }
  }
  char *out = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
  if (out) {
    size_t left = strlen(out);
    const char *p = out;
    while (left > 0) {
      ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      p += n;
      left -= (size_t)n;
    }
  }
  free(out);
  free(text);
  json_decref(answer);
}

static void *serve_main(void *arg) {
  agent_channel *ch = arg;
  struct pollfd fds[2] = {{.fd = ch->listen_fd, .events = POLLIN},
                          {.fd = ch->wake[0], .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[1].revents)
      break;
    int fd = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    serve_one(ch, fd);
    close(fd);
  }
  return NULL;
}

/* ---- binding inside the namespace ---- */

typedef struct bind_job {
  int ns_fd;
  const char *name;
  int fd;
  char message[256];
} bind_job;

static void *bind_thread(void *arg) {
  bind_job *job = arg;
  if (setns(job->ns_fd, CLONE_NEWNET) < 0) {
    snprintf(job->message, sizeof(job->message), "cannot join the sandbox's network namespace: %s",
             strerror(errno));
    return NULL;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(job->name); /* "@name": the '@' becomes the abstract NUL */
  memcpy(addr.sun_path, job->name, len);
  addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      bind(fd, (struct sockaddr *)&addr,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0 ||
      listen(fd, 16) < 0) {
    snprintf(job->message, sizeof(job->message), "cannot listen on %s in the sandbox: %s",
             job->name, strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  job->fd = fd;
  return NULL;
}

int agent_channel_start(agent_channel **out, const agent_channel_params *p) {
  agent_channel *ch = NULL;
  char label_agent[128], label_job[128], network[96];
  int error = 0;
  if (strlen(p->name) < 2 || strlen(p->name) > 100 || p->name[0] != '@')
    return airgap_error_set(AIRGAP_EINVALID, "channel name '%s' is not @name", p->name);
  if (!(ch = calloc(1, sizeof(*ch))))
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  ch->listen_fd = ch->wake[0] = ch->wake[1] = -1;
  ch->peer_pid = p->peer_pid;
  if (!(ch->peer_start = process_start(p->peer_pid))) {
    error =
        airgap_error_set(AIRGAP_ENOTFOUND, "process %d (the emulator) is gone", (int)p->peer_pid);
    goto fail;
  }
  snprintf(network, sizeof(network), "container:%s", p->sandbox_id);
  snprintf(label_agent, sizeof(label_agent), "airgap.agent=%s", p->agent_id);
  snprintf(label_job, sizeof(label_job), "airgap.job=%s", p->job_id);
  const char *labels[] = {label_agent, label_job};
  emulator_containers_docker_options o = {.socket = p->docker_socket,
                                          .network_mode = network,
                                          .labels = labels,
                                          .label_count = 2,
                                          .memory = p->memory,
                                          .pids = p->pids,
                                          .hosts_file = p->hosts_file};
  if (!(ch->network_mode = strdup(network)) || !(ch->job_id = strdup(p->job_id))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto fail;
  }
  if ((error = emulator_containers_docker_new(&ch->docker, &o)) < 0)
    goto fail;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)p->sandbox_pid);
  int ns_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) {
    error = airgap_error_set_errno(AIRGAP_ENOTFOUND, "cannot open the sandbox's network namespace");
    goto fail;
  }
  bind_job job = {.ns_fd = ns_fd, .name = p->name, .fd = -1};
  pthread_t thread;
  if (pthread_create(&thread, NULL, bind_thread, &job) != 0) {
    close(ns_fd);
    error = airgap_error_set(AIRGAP_ERROR, "cannot start the namespace helper thread");
    goto fail;
  }
  pthread_join(thread, NULL);
  close(ns_fd);
  if (job.fd < 0) {
    error = airgap_error_set(AIRGAP_ERROR, "%s", job.message);
    goto fail;
  }
  ch->listen_fd = job.fd;
  if (pipe2(ch->wake, O_CLOEXEC) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot make a pipe");
    goto fail;
  }
  if (pthread_create(&ch->thread, NULL, serve_main, ch) != 0) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot start the channel's thread");
    goto fail;
  }
  ch->thread_started = 1;
  *out = ch;
  return 0;
fail:
  agent_channel_stop(ch);
  return error;
}

void agent_channel_stop(agent_channel *ch) {
  if (!ch)
    return;
  if (ch->thread_started) {
    char byte = 1;
    if (write(ch->wake[1], &byte, 1) != 1)
      log_warn("agent", "cannot wake the channel's thread");
    pthread_join(ch->thread, NULL);
  }
  if (ch->listen_fd >= 0)
    close(ch->listen_fd);
  if (ch->wake[0] >= 0)
    close(ch->wake[0]);
  if (ch->wake[1] >= 0)
    close(ch->wake[1]);
  for (size_t i = 0; i < ch->id_count; i++)
    free(ch->ids[i]);
  emulator_containers_free(ch->docker);
  free(ch->network_mode);
  free(ch->job_id);
  free(ch);
}
