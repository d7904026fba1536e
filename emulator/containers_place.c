/*
 * containers_place.c — where a standalone emulator's function containers run
 * (containers.h, "where a standalone emulator's functions run"): a network
 * mode the user named, the emulator's own container, or a sandbox of its own.
 *
 * The sandbox is what the agent's jobs have: a container holding nothing but
 * a network namespace (the static airgap-pause program, PID 1), which the
 * emulator then also listens in. Its image is imported from the pause binary
 * itself (one file in a tar, POST /images/create?fromSrc=-), tagged by the
 * binary's digest, so no registry is ever asked and a rebuilt pause gets a
 * new image. Listening inside needs setns(CLONE_NEWNET) on a helper thread
 * (the thread, not the process, changes namespace); that needs
 * CAP_SYS_ADMIN, so an unprivileged emulator removes the sandbox again and
 * uses the host's network, as before this existed.
 *
 * The own container is found in /proc/self/mountinfo (the engine mounts
 * /etc/hostname and friends from /var/lib/docker/containers/<id>/), and only
 * used when the engine knows that id as a running container.
 *
 * Nothing here runs before the first function needs a container.
 */
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/containers_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SANDBOX_REPO "airgap/lambda-sandbox"
#define SANDBOX_MEMORY (16LL * 1024 * 1024)
#define SANDBOX_PIDS 8
#define PAUSE_MAX (16u * 1024 * 1024)
#define MOUNTINFO_MAX (1024 * 1024)

struct emulator_placement {
  char *network_mode;
  char *sandbox_id; /* NULL: none */
  int ns_fd;        /* the sandbox's network namespace; -1: this process's own */
};

/* ---- listening in a namespace ---- */

typedef struct listen_job {
  int ns_fd;
  uint16_t port;
  int fd;
  int error;
  char message[256];
} listen_job;

static int listen_here(listen_job *job) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    job->error = errno;
    snprintf(job->message, sizeof(job->message), "cannot make a socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons(job->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0) {
    job->error = errno;
    snprintf(job->message, sizeof(job->message), "cannot listen on 127.0.0.1:%u: %s",
             (unsigned)job->port, strerror(errno));
    close(fd);
    return -1;
  }
  job->fd = fd;
  return 0;
}

static void *listen_thread(void *arg) {
  listen_job *job = arg;
  if (setns(job->ns_fd, CLONE_NEWNET) < 0) {
    job->error = errno;
    snprintf(job->message, sizeof(job->message),
             "cannot join the Lambda sandbox's network namespace: %s", strerror(errno));
    return NULL;
  }
  listen_here(job);
  return NULL;
}

static int listen_in(int *out, int ns_fd, uint16_t port, int *err) {
  listen_job job = {.ns_fd = ns_fd, .port = port, .fd = -1};
  if (ns_fd < 0) {
    listen_here(&job);
  } else {
    pthread_t t;
    if (pthread_create(&t, NULL, listen_thread, &job) != 0)
      return airgap_error_set(AIRGAP_ERROR, "cannot start the namespace helper thread");
    pthread_join(t, NULL);
  }
  if (err)
    *err = job.error;
  if (job.fd < 0)
    return airgap_error_set(AIRGAP_ERROR, "%s", job.message);
  *out = job.fd;
  return 0;
}

int emulator_placement_listen(int *out, const emulator_placement *p, uint16_t port) {
  return listen_in(out, p ? p->ns_fd : -1, port, NULL);
}

int emulator_placement_separate(const emulator_placement *p) { return p && p->ns_fd >= 0; }

const char *emulator_placement_network(const emulator_placement *p) { return p->network_mode; }

const char *emulator_placement_sandbox(const emulator_placement *p) { return p->sandbox_id; }

/* ---- the emulator's own container ---- */

/* The id of the container this process runs in, from the engine's mounts of
 * /var/lib/docker/containers/<64 hex>/...; "" when there is none. */
static void own_container_id(char *out, size_t size) {
  out[0] = '\0';
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return;
  char line[4096];
  size_t read_total = 0;
  while (fgets(line, sizeof(line), f) && read_total < MOUNTINFO_MAX) {
    read_total += strlen(line);
    const char *at = strstr(line, "/containers/");
    while (at) {
      const char *id = at + strlen("/containers/");
      size_t n = 0;
      while (n < 64 && ((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
        n++;
      if (n == 64 && id[64] == '/' && size > 64) {
        memcpy(out, id, 64);
        out[64] = '\0';
        fclose(f);
        return;
      }
      at = strstr(at + 1, "/containers/");
    }
  }
  fclose(f);
}

/* 1 when the engine runs container id. */
static int container_running(docker_impl *d, const char *id) {
  char path[128];
  snprintf(path, sizeof(path), "/containers/%s/json", id);
  int status = 0;
  char *body = NULL;
  if (containers_docker_exchange(&status, &body, NULL, d, "GET", path, NULL, NULL, 0) < 0)
    return 0;
  json_t *info = status == 200 ? json_loads(body, 0, NULL) : NULL;
  free(body);
  int running = json_is_true(json_object_get(json_object_get(info, "State"), "Running"));
  json_decref(info);
  return running;
}

/* ---- the sandbox's image ---- */

/* The static pause program: AIRGAP_PAUSE, next to this executable, or where
 * the packages put it. */
static int pause_path(char *out, size_t size) {
  const char *env = getenv("AIRGAP_PAUSE");
  if (env && *env) {
    if (access(env, X_OK) != 0)
      return airgap_error_set(AIRGAP_ENOTFOUND, "AIRGAP_PAUSE=%s is not an executable", env);
    snprintf(out, size, "%s", env);
    return 0;
  }
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len > 0) {
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      snprintf(out, size, "%.*s/airgap-pause", (int)(slash - self), self);
      if (access(out, X_OK) == 0)
        return 0;
    }
  }
  snprintf(out, size, "/usr/lib/airgap/airgap-pause");
  if (access(out, X_OK) == 0)
    return 0;
  return airgap_error_set(AIRGAP_ENOTFOUND,
                          "cannot find the airgap-pause program for the Lambda sandbox (next to "
                          "this executable or /usr/lib/airgap; set AIRGAP_PAUSE)");
}

static int read_file(char **out, size_t *out_len, const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || (size_t)st.st_size > PAUSE_MAX) {
    if (fd >= 0)
      close(fd);
    return airgap_error_set(AIRGAP_EINVALID, "cannot read %s (or it is empty or too large)", path);
  }
  size_t len = (size_t)st.st_size, got = 0;
  char *buf = malloc(len);
  while (buf && got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (!buf || got != len) {
    free(buf);
    return airgap_error_set(AIRGAP_ERROR, "cannot read %s", path);
  }
  *out = buf;
  *out_len = len;
  return 0;
}

/* A tar archive holding one executable file at the root. */
static char *tar_one(size_t *out_len, const char *name, const char *data, size_t len) {
  dynbuf b;
  dynbuf_init(&b, len + 4096);
  emulator_containers_tar_entry(&b, name, '0', 0755, data, len, NULL);
  emulator_containers_tar_end(&b);
  return dynbuf_take(&b, out_len);
}

/* Makes sure the sandbox image exists (imported from the pause program when
 * not); its name into out. */
static int sandbox_image(char *out, size_t size, docker_impl *d) {
  char path[PATH_MAX], *binary = NULL, *tar = NULL, *body = NULL;
  size_t len = 0, tar_len = 0;
  int status = 0;
  int error = pause_path(path, sizeof(path));
  if (error < 0 || (error = read_file(&binary, &len, path)) < 0)
    return error;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)binary, len, digest);
  char tag[64];
  snprintf(tag, sizeof(tag), "%s-%02x%02x%02x%02x%02x%02x", AIRGAP_VERSION, digest[0], digest[1],
           digest[2], digest[3], digest[4], digest[5]);
  snprintf(out, size, SANDBOX_REPO ":%s", tag);
  char request[256];
  snprintf(request, sizeof(request), "/images/%s/json", out);
  error = containers_docker_exchange(&status, &body, NULL, d, "GET", request, NULL, NULL, 0);
  free(body);
  body = NULL;
  if (error == 0 && status == 200)
    goto cleanup;
  if (!(tar = tar_one(&tar_len, "airgap-pause", binary, len))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  snprintf(request, sizeof(request), "/images/create?fromSrc=-&repo=%s&tag=%s", SANDBOX_REPO, tag);
  error = containers_docker_exchange(&status, &body, NULL, d, "POST", request, "application/x-tar",
                                     tar, tar_len);
  if (error == 0 && status != 200)
    error = containers_docker_failed(status, body, "importing the Lambda sandbox's image");
  /* The answer is a stream of progress objects; a failure is one of them. */
  if (error == 0 && body && strstr(body, "\"error"))
    error = airgap_error_set(AIRGAP_ERROR, "importing the Lambda sandbox's image: %.300s", body);
  if (error == 0)
    log_info("lambda", "imported the sandbox image %s from %s", out, path);
cleanup:
  free(binary);
  free(tar);
  free(body);
  return error;
}

/* ---- the sandbox ---- */

/* Creates and starts the sandbox; its id (owned) and the host pid of its
 * process. */
static int sandbox_start(char **out, long *pid, docker_impl *d, const char *const *labels,
                         size_t label_count) {
  char image[128], *text = NULL, *body = NULL, *id = NULL;
  json_t *config = NULL, *answer = NULL;
  int status = 0;
  int error = sandbox_image(image, sizeof(image), d);
  if (error < 0)
    return error;
  const char *network = getenv("AIRGAP_LAMBDA_SANDBOX_NETWORK");
  if (!network || !*network)
    network = "bridge";
  json_t *label_object = json_pack("{s:s}", "airgap.role", "lambda-sandbox");
  for (size_t i = 0; label_object && i < label_count; i++) {
    const char *eq = strchr(labels[i], '=');
    if (eq && eq != labels[i] && eq - labels[i] < 128) {
      char key[128];
      snprintf(key, sizeof(key), "%.*s", (int)(eq - labels[i]), labels[i]);
      json_object_set_new(label_object, key, json_string(eq + 1));
    }
  }
  config = json_pack("{s:s, s:[s], s:s, s:o, s:{s:s, s:[s], s:[s], s:b, s:b, s:I, s:I, s:I}}",
                     "Image", image, "Entrypoint", "/airgap-pause", "User", "65534:65534", "Labels",
                     label_object, "HostConfig", "NetworkMode", network, "CapDrop", "ALL",
                     "SecurityOpt", "no-new-privileges:true", "ReadonlyRootfs", 1, "Privileged", 0,
                     "Memory", (json_int_t)SANDBOX_MEMORY, "MemorySwap", (json_int_t)SANDBOX_MEMORY,
                     "PidsLimit", (json_int_t)SANDBOX_PIDS);
  if (!config || !(text = json_dumps(config, JSON_COMPACT))) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot build the Lambda sandbox's configuration");
    goto cleanup;
  }
  error = containers_docker_exchange(&status, &body, NULL, d, "POST", "/containers/create", NULL,
                                     text, strlen(text));
  if (error == 0 && status != 201)
    error = containers_docker_failed(status, body, "creating the Lambda sandbox");
  if (error < 0)
    goto cleanup;
  answer = json_loads(body, 0, NULL);
  const char *created = jsonutil_string(answer, "Id");
  if (!containers_id_valid(created) || !(id = strdup(created))) {
    error = airgap_error_set(AIRGAP_ERROR, "the engine's answer to create has no container id");
    goto cleanup;
  }
  char path[128];
  snprintf(path, sizeof(path), "/containers/%s/start", id);
  free(body);
  body = NULL;
  error = containers_docker_exchange(&status, &body, NULL, d, "POST", path, NULL, NULL, 0);
  if (error == 0 && status / 100 != 2 && status != 304)
    error = containers_docker_failed(status, body, "starting the Lambda sandbox");
  if (error < 0)
    goto cleanup;
  snprintf(path, sizeof(path), "/containers/%s/json", id);
  free(body);
  body = NULL;
  json_decref(answer);
  answer = NULL;
  error = containers_docker_exchange(&status, &body, NULL, d, "GET", path, NULL, NULL, 0);
  if (error == 0 && status != 200)
    error = containers_docker_failed(status, body, "inspecting the Lambda sandbox");
  if (error < 0)
    goto cleanup;
  answer = json_loads(body, 0, NULL);
  json_int_t p = json_integer_value(json_object_get(json_object_get(answer, "State"), "Pid"));
  if (p <= 0) {
    error = airgap_error_set(AIRGAP_ERROR, "the Lambda sandbox is not running");
    goto cleanup;
  }
  *pid = (long)p;
  *out = id;
  id = NULL;
cleanup:
  if (id) {
    char path[128];
    snprintf(path, sizeof(path), "/containers/%s?force=1", id);
    free(body);
    body = NULL;
    containers_docker_exchange(&status, &body, NULL, d, "DELETE", path, NULL, NULL, 0);
  }
  free(id);
  free(text);
  free(body);
  json_decref(config);
  json_decref(answer);
  return error;
}

static void sandbox_remove(docker_impl *d, const char *id) {
  char path[128];
  snprintf(path, sizeof(path), "/containers/%s?force=1", id);
  int status = 0;
  char *body = NULL;
  if (containers_docker_exchange(&status, &body, NULL, d, "DELETE", path, NULL, NULL, 0) == 0 &&
      status / 100 != 2 && status != 404)
    log_warn("lambda", "cannot remove the Lambda sandbox %.12s: Docker answered %d", id, status);
  free(body);
}

/* ---- deciding ---- */

static int set_network(docker_impl *d, emulator_placement *p, const char *mode) {
  char *copy = strdup(mode), *copy2 = strdup(mode);
  if (!copy || !copy2) {
    free(copy);
    free(copy2);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  free(d->network_mode);
  d->network_mode = copy;
  p->network_mode = copy2;
  return 0;
}

int emulator_containers_place(emulator_placement **out, emulator_containers *c,
                              const char *const *labels, size_t label_count) {
  if (!emulator_containers_direct(c))
    return airgap_error_set(AIRGAP_EINVALID, "placement is for direct Docker only");
  docker_impl *d = (docker_impl *)c;
  emulator_placement *p = calloc(1, sizeof(*p));
  if (!p)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  p->ns_fd = -1;
  int error = 0;
  const char *named = getenv("LAMBDA_DOCKER_NETWORK");
  char own[72];
  if (named && *named) {
    error = set_network(d, p, named);
    goto done;
  }
  own_container_id(own, sizeof(own));
  if (*own && container_running(d, own)) {
    char mode[96];
    snprintf(mode, sizeof(mode), "container:%s", own);
    error = set_network(d, p, mode);
    if (error == 0)
      log_info("lambda", "functions join this emulator's own container %.12s", own);
    goto done;
  }
  char *id = NULL;
  long pid = 0;
  char why[512] = "";
  if (sandbox_start(&id, &pid, d, labels, label_count) < 0) {
    snprintf(why, sizeof(why), "%s", airgap_error_last());
  } else {
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%ld/ns/net", pid);
    int ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
    int probe = -1, err = 0;
    /* Can this process listen in there? A free port, closed at once. */
    if (ns_fd < 0)
      snprintf(why, sizeof(why), "cannot open %s: %s", ns, strerror(errno));
    else if (listen_in(&probe, ns_fd, 0, &err) < 0)
      snprintf(why, sizeof(why), "%s%s", airgap_error_last(),
               err == EPERM ? " (needs root or CAP_SYS_ADMIN)" : "");
    if (probe >= 0)
      close(probe);
    if (*why) {
      if (ns_fd >= 0)
        close(ns_fd);
      sandbox_remove(d, id);
      free(id);
    } else {
      char mode[96];
      snprintf(mode, sizeof(mode), "container:%s", id);
      p->sandbox_id = id;
      p->ns_fd = ns_fd;
      error = set_network(d, p, mode);
      if (error == 0)
        log_info("lambda", "functions run in the sandbox %.12s (%s)", id, mode);
      goto done;
    }
  }
  log_warn("lambda",
           "functions use the host's network: no sandbox of their own (%s); set "
           "LAMBDA_DOCKER_NETWORK to choose",
           why);
  error = set_network(d, p, "host");
done:
  if (error < 0) {
    emulator_placement_free(p, c);
    return error;
  }
  *out = p;
  return 0;
}

void emulator_placement_free(emulator_placement *p, emulator_containers *c) {
  if (!p)
    return;
  if (p->sandbox_id && c && emulator_containers_direct(c))
    sandbox_remove((docker_impl *)c, p->sandbox_id);
  if (p->ns_fd >= 0)
    close(p->ns_fd);
  free(p->sandbox_id);
  free(p->network_mode);
  free(p);
}
