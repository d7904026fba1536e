/*
 * environment.c — what a function's container is made of, and the runtime
 * that makes them, created at the first Invoke.
 *
 * Where containers come from (emulator/containers.h): inside a job the
 * supervisor's channel (AIRGAP_CONTAINERS_CHANNEL), which puts them in the
 * job's sandbox namespace; standalone, Docker directly, in the namespace
 * emulator_containers_place chooses (LAMBDA_DOCKER_NETWORK, the emulator's
 * own container, or a sandbox of its own that it also listens in), so
 * 127.0.0.1 inside the function reaches the Runtime API and
 * localhost:<port> the emulator. Every container is labelled
 * airgap.lambda=<owner> (this process: pid and start time), removed when the
 * emulator stops, and containers of an owner that is gone are removed when
 * the next emulator starts (kill -9 leaves them behind).
 *
 * Images: a function's runtime maps to AWS's base image
 * public.ecr.aws/lambda/<name>:<tag>; LAMBDA_RUNTIME_IMAGE_MAPPING overrides
 * it with a pattern containing "<runtime>" or a JSON object per runtime.
 * Images are never pulled: a missing one is named in the error.
 */
#include "common/clock.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "emulator/delivery/delivery.h"
#include "emulator/emulator.h"
#include "emulator/lambda/lambda_runtime_int.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OWNER_LABEL "airgap.lambda"

/* ---- settings ---- */

static uint64_t env_u64(const char *name, uint64_t fallback, uint64_t scale) {
  const char *v = getenv(name);
  if (!v || !*v)
    return fallback;
  char *end = NULL;
  double d = strtod(v, &end);
  if (end == v || *end || d < 0 || d > 1e12)
    return fallback;
  return (uint64_t)(d * (double)scale);
}

static int env_flag(const char *name, int fallback) {
  const char *v = getenv(name);
  if (!v || !*v)
    return fallback;
  return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0);
}

/* ---- images ---- */

/* AWS's base image for a runtime: python3.12 → python:3.12, nodejs20.x →
 * nodejs:20, provided.al2023 → provided:al2023, java21 → java:21. */
static void default_image(char *out, size_t n, const char *rt) {
  char name[64], tag[64];
  size_t i = 0;
  while (rt[i] && !(rt[i] >= '0' && rt[i] <= '9') && rt[i] != '.' && i + 1 < sizeof(name)) {
    name[i] = rt[i];
    i++;
  }
  name[i] = '\0';
  const char *rest = rt + i;
  if (*rest == '.')
    rest++;
  snprintf(tag, sizeof(tag), "%s", *rest ? rest : "alami");
  size_t tl = strlen(tag);
  if (tl > 2 && strcmp(tag + tl - 2, ".x") == 0)
    tag[tl - 2] = '\0';
  snprintf(out, n, "public.ecr.aws/lambda/%s:%s", name, tag);
}

static int image_for(char *out, size_t n, lambda_runtime *rt, const char *runtime) {
  const char *m = rt->mapping;
  if (m && *m == '{') {
    json_t *map = json_loads(m, 0, NULL);
    const char *img = jsonutil_string(map, runtime);
    if (img)
      snprintf(out, n, "%s", img);
    json_decref(map);
    if (img)
      return 0;
  } else if (m && strstr(m, "<runtime>")) {
    const char *at = strstr(m, "<runtime>");
    snprintf(out, n, "%.*s%s%s", (int)(at - m), m, runtime, at + 9);
    return 0;
  }
  default_image(out, n, runtime);
  return 0;
}

int lambda_runtime_image(char *out, size_t n, lambda_runtime *rt, const char *runtime) {
  return image_for(out, n, rt, runtime && *runtime ? runtime : "provided.al2023");
}

int lambda_image_probe(lambda_runtime *rt, const char *image) {
  char owner_label[160];
  snprintf(owner_label, sizeof(owner_label), OWNER_LABEL "=%s", rt->owner);
  const char *labels[] = {owner_label};
  emulator_container_spec spec = {
      .image = image,
      .labels = labels,
      .label_count = 1,
  };
  char *id = NULL;
  int error = emulator_containers_create(&id, rt->containers, &spec);
  if (error == 0) {
    emulator_containers_remove(rt->containers, id);
    free(id);
  }
  return error;
}

/* ---- the container ---- */

/* The strings of a JSON array (borrowed from it) into *out (owned; NULL when
 * there is no array, so the image's own setting stays). */
static int strings_of(const char ***out, size_t *count, const json_t *list) {
  *out = NULL;
  *count = 0;
  if (!json_is_array(list))
    return 0;
  const char **items = calloc(json_array_size(list) + 1, sizeof(*items));
  if (!items)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < json_array_size(list); i++)
    if (json_is_string(json_array_get(list, i)))
      items[n++] = json_string_value(json_array_get(list, i));
  *out = items;
  *count = n;
  return 0;
}

int lambda_container_create(char **out, lambda_runtime *rt, lambda_env *env) {
  const json_t *config = env->config;
  const char *runtime = json_string_value(json_object_get(config, "Runtime"));
  const char *handler = json_string_value(json_object_get(config, "Handler"));
  const char *name = json_string_value(json_object_get(config, "FunctionName"));
  const char *image_uri = json_string_value(json_object_get(env->code, "Image"));
  long long memory = json_integer_value(json_object_get(config, "MemorySize"));
  long long storage =
      json_integer_value(json_object_get(json_object_get(config, "EphemeralStorage"), "Size"));
  char image[512];
  if (image_uri)
    snprintf(image, sizeof(image), "%s", image_uri);
  else
    image_for(image, sizeof(image), rt, runtime ? runtime : "provided.al2023");

  char region[64] = "us-east-1";
  const char *arn = env->function_arn; /* arn:aws:lambda:<region>:... */
  const char *r = strchr(arn + 4, ':');
  r = r ? strchr(r + 1, ':') : NULL;
  if (r) {
    const char *e = strchr(r + 1, ':');
    if (e && e - r - 1 < (long)sizeof(region))
      snprintf(region, sizeof(region), "%.*s", (int)(e - r - 1), r + 1);
  }
  /* The standard environment, then the function's own variables. */
  json_t *vars = json_object_get(json_object_get(config, "Environment"), "Variables");
  size_t cap = 32 + json_object_size(vars);
  char **envv = calloc(cap, sizeof(*envv));
  size_t count = 0;
  char *text = NULL;
  int error = 0;
#define ADD(...)                                                                                   \
  do {                                                                                             \
    if (envv && count < cap && asprintf(&text, __VA_ARGS__) >= 0)                                  \
      envv[count++] = text;                                                                        \
  } while (0)
  ADD("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%u", (unsigned)env->port);
  ADD("_HANDLER=%s", handler ? handler : "");
  ADD("LAMBDA_TASK_ROOT=/var/task");
  ADD("LAMBDA_RUNTIME_DIR=/var/runtime");
  ADD("AWS_LAMBDA_FUNCTION_NAME=%s", name ? name : "");
  ADD("AWS_LAMBDA_FUNCTION_VERSION=%s", env->version);
  ADD("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%lld", memory ? memory : LAMBDA_DEFAULT_MEMORY);
  const char *group =
      json_string_value(json_object_get(json_object_get(config, "LoggingConfig"), "LogGroup"));
  if (group && *group)
    ADD("AWS_LAMBDA_LOG_GROUP_NAME=%s", group);
  else
    ADD("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", name ? name : "");
  ADD("AWS_LAMBDA_LOG_STREAM_NAME=%s", env->stream);
  const char *format =
      json_string_value(json_object_get(json_object_get(config, "LoggingConfig"), "LogFormat"));
  if (format && strcmp(format, "JSON") == 0)
    ADD("AWS_LAMBDA_LOG_FORMAT=JSON");
  ADD("AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
  ADD("AWS_EXECUTION_ENV=AWS_Lambda_%s", runtime ? runtime : "Image");
  ADD("AWS_REGION=%s", region);
  ADD("AWS_DEFAULT_REGION=%s", region);
  ADD("AWS_ACCESS_KEY_ID=test");
  ADD("AWS_SECRET_ACCESS_KEY=test");
  ADD("AWS_SESSION_TOKEN=test");
  ADD("AWS_ENDPOINT_URL=%s", rt->endpoint);
  ADD("LOCALSTACK_HOSTNAME=localhost");
  ADD("TZ=:UTC");
  const char *k;
  json_t *v;
  json_object_foreach(vars, k, v) {
    if (json_is_string(v))
      ADD("%s=%s", k, json_string_value(v));
  }
#undef ADD
  char owner_label[160];
  snprintf(owner_label, sizeof(owner_label), OWNER_LABEL "=%s", rt->owner);
  const char *labels[] = {owner_label};
  /* An image function's ImageConfig overrides the image's ENTRYPOINT, CMD
   * and WORKDIR, each on its own, as AWS does. */
  const json_t *image_config =
      json_object_get(json_object_get(config, "ImageConfigResponse"), "ImageConfig");
  const char *cmd_one[] = {handler};
  const char **cmd_many = NULL, **entry = NULL;
  size_t cmd_count = 0, entry_count = 0;
  const char *working_dir = json_string_value(json_object_get(image_config, "WorkingDirectory"));
  char *tar = NULL;
  size_t tar_len = 0;
  if (strings_of(&cmd_many, &cmd_count, json_object_get(image_config, "Command")) < 0 ||
      strings_of(&entry, &entry_count, json_object_get(image_config, "EntryPoint")) < 0) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if (!envv) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if (!image_uri && (error = lambda_code_read_tar(&tar, &tar_len, env->code)) < 0)
    goto cleanup;
  emulator_container_spec spec = {
      .image = image,
      .env = (const char *const *)envv,
      .env_count = count,
      .cmd = cmd_many ? cmd_many : (!image_uri && handler ? cmd_one : NULL),
      .cmd_count = cmd_many ? cmd_count : 1,
      .entrypoint = entry,
      .entrypoint_count = entry_count,
      .working_dir = working_dir && *working_dir ? working_dir : NULL,
      .code_tar = tar,
      .code_tar_len = tar_len,
      .code_dir = "/",
      .memory = (memory ? memory : LAMBDA_DEFAULT_MEMORY) * 1024 * 1024,
      .tmpfs_mb = storage ? storage : 512,
      .labels = labels,
      .label_count = 1,
  };
  char *id = NULL;
  error = emulator_containers_create(&id, rt->containers, &spec);
  if (error == AIRGAP_ENOTFOUND) {
    error = airgap_error_set(AIRGAP_ENOTFOUND,
                             "Lambda cannot run %s: the image %s is not available to the Docker "
                             "engine (airgap never pulls; build or load it, or map the runtime "
                             "to a local image with LAMBDA_RUNTIME_IMAGE_MAPPING)",
                             name ? name : "the function", image);
    goto cleanup;
  }
  if (error < 0)
    goto cleanup;
  error = emulator_containers_start(rt->containers, id);
  if (error < 0) {
    char why[512];
    snprintf(why, sizeof(why), "%s", airgap_error_last());
    emulator_containers_remove(rt->containers, id);
    free(id);
    error = airgap_error_set(error, "%s", why);
    goto cleanup;
  }
  *out = id;
cleanup:
  for (size_t i = 0; i < count; i++)
    free(envv[i]);
  free(envv);
  free(cmd_many);
  free(entry);
  free(tar);
  return error;
}

/* ---- owners and reaping ---- */

/* The inode of this process's PID namespace ("4026531836"), "0" when unknown. */
static void pid_namespace(char *out, size_t n) {
  char link[64];
  ssize_t len = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
  link[len > 0 ? len : 0] = '\0';
  const char *open = strchr(link, '[');
  snprintf(out, n, "%.*s", open ? (int)strcspn(open + 1, "]") : 1, open ? open + 1 : "0");
}

/* "<pid>.<start time in ticks>.<PID namespace>" of a process seen from this
 * one's PID namespace, "" when it is gone. The namespace matters: an emulator
 * in a container (the emulator image with the Docker socket) numbers its
 * processes apart from the host's, and neither can tell whether the other's
 * processes live. */
static void process_identity(char *out, size_t n, long pid) {
  char path[64], buf[1024], ns[32];
  out[0] = '\0';
  pid_namespace(ns, sizeof(ns));
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return;
  size_t len = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[len] = '\0';
  /* Field 22 (starttime) counts from after the ')' closing the command. */
  char *p = strrchr(buf, ')');
  for (int field = 2; p && field < 22; field++)
    p = strchr(p + 1, ' ');
  if (p)
    snprintf(out, n, "%ld.%llu.%s", pid, strtoull(p + 1, NULL, 10), ns);
}

/* Removes containers whose owner process is gone (not owner itself). Only
 * owners of this PID namespace are judged: another namespace's pids mean
 * nothing here. stop, when set, ends the walk early (shutdown). */
static void reap(emulator_containers *c, const char *self, const int *stop) {
  const char *my_ns = strrchr(self, '.');
  json_t *list = NULL;
  if (emulator_containers_list(&list, c, OWNER_LABEL) < 0)
    return;
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) {
    if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED))
      break;
    const char *owner =
        json_string_value(json_object_get(json_object_get(item, "Labels"), OWNER_LABEL));
    const char *id = json_string_value(json_object_get(item, "Id"));
    if (!owner || !id || strcmp(owner, self) == 0)
      continue;
    const char *dot = strchr(owner, '.');
    const char *ns = dot ? strchr(dot + 1, '.') : NULL;
    if (!ns || !my_ns || strcmp(ns, my_ns) != 0)
      continue;
    char now[64];
    process_identity(now, sizeof(now), strtol(owner, NULL, 10));
    if (strcmp(now, owner) != 0) {
      log_info("lambda", "removing container %.12s left by a stopped emulator (%s)", id, owner);
      emulator_containers_remove(c, id);
    }
  }
  json_decref(list);
}

/* ---- reaping at start ----
 *
 * A killed emulator (kill -9) leaves its functions' containers behind; the
 * next one removes them as it starts, whether or not it is ever asked for a
 * function. Off the start path: one short-lived thread, made once the gateway
 * listens and only when a Docker socket is there to answer (never in a job,
 * where the supervisor reaps). It lets the first answers go first: on a
 * small machine its Docker exchange (and the engine's side of it) would
 * otherwise share the CPUs with them. */
#define REAPER_DELAY_MS 100

static void *reaper_main(void *arg) {
  lambda_state *st = arg;
  struct timespec begin;
  clock_monotonic_deadline(&begin, REAPER_DELAY_MS);
  pthread_mutex_lock(&st->lock);
  while (!st->closing && pthread_cond_timedwait(&st->reaper_wake, &st->lock, &begin) == 0) {
  }
  int closing = st->closing;
  pthread_mutex_unlock(&st->lock);
  if (closing)
    return NULL;
  emulator_containers *c = NULL;
  emulator_containers_docker_options o = {.network_mode = "none"};
  char self[64];
  process_identity(self, sizeof(self), (long)getpid());
  if (emulator_containers_docker_new(&c, &o) == 0)
    reap(c, self, &st->closing);
  emulator_containers_free(c);
  /* This thread's malloc arena would otherwise keep the pages it touched:
   * hand them back so the idle emulator's memory stays as it was. */
  malloc_trim(0);
  return NULL;
}

void lambda_reaper_start(lambda_state *st) {
  const char *channel = getenv(EMULATOR_CONTAINERS_CHANNEL_ENV);
  const char *host = getenv("DOCKER_HOST");
  if ((channel && *channel) || (host && *host && strncmp(host, "unix://", 7) != 0) ||
      !env_flag("LAMBDA_REMOVE_CONTAINERS", 1))
    return;
  const char *socket_path = host && *host ? host + 7 : "/var/run/docker.sock";
  if (access(socket_path, W_OK) != 0)
    return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  /* Never ahead of the emulator's own start: an ordinary thread even when the
   * emulator runs under a real-time policy. */
  struct sched_param prio = {.sched_priority = 0};
  pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
  pthread_attr_setschedparam(&attr, &prio);
  if (pthread_create(&st->reaper, &attr, reaper_main, st) == 0)
    st->reaper_started = 1;
  else
    log_warn("lambda", "cannot start the thread that removes containers of stopped emulators");
  pthread_attr_destroy(&attr);
}

void lambda_reaper_join(lambda_state *st) {
  if (!st->reaper_started)
    return;
  pthread_join(st->reaper, NULL);
  st->reaper_started = 0;
}

/* Where functions run (containers.h): in a sandbox of this emulator's own,
 * the gateway also listens inside it, on the same port, so AWS_ENDPOINT_URL
 * (http://localhost:<port>) is the emulator from inside a function. */
static int place(lambda_runtime *rt) {
  char owner_label[160];
  snprintf(owner_label, sizeof(owner_label), OWNER_LABEL "=%s", rt->owner);
  const char *labels[] = {owner_label};
  int error = emulator_containers_place(&rt->placement, rt->containers, labels, 1);
  if (error < 0 || !emulator_placement_separate(rt->placement))
    return error;
  int fd = -1;
  error = emulator_placement_listen(&fd, rt->placement, emulator_port(rt->emu));
  if (error == 0)
    error = emulator_listen_fd(rt->emu, fd);
  return error;
}

/* ---- the runtime ---- */

static int runtime_new(lambda_runtime **out, lambda_state *st) {
  lambda_runtime *rt = calloc(1, sizeof(*rt));
  if (!rt)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  rt->st = st;
  rt->emu = st->emu;
  pthread_mutex_init(&rt->lock, NULL);
  pthread_cond_init(&rt->cond, NULL);
  pthread_cond_init(&rt->log_cond, NULL);
  process_identity(rt->owner, sizeof(rt->owner), (long)getpid());
  rt->keepalive_ms = env_u64("LAMBDA_KEEPALIVE_MS", 600000, 1);
  rt->init_timeout_ms = env_u64("LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", 20000, 1000);
  rt->retry_base_ms = env_u64("LAMBDA_RETRY_BASE_DELAY_SECONDS", 60000, 1000);
  rt->max_concurrency = (int)env_u64("LAMBDA_LIMITS_CONCURRENT_EXECUTIONS", 1000, 1);
  if (rt->max_concurrency < 1)
    rt->max_concurrency = 1;
  rt->remove_containers = env_flag("LAMBDA_REMOVE_CONTAINERS", 1);
  const char *mapping = getenv("LAMBDA_RUNTIME_IMAGE_MAPPING");
  rt->mapping = mapping ? strdup(mapping) : NULL;
  if (asprintf(&rt->endpoint, "http://localhost:%u", (unsigned)emulator_port(st->emu)) < 0)
    rt->endpoint = NULL;
  int error = 0;
  const char *channel = getenv(EMULATOR_CONTAINERS_CHANNEL_ENV);
  if (channel && *channel) {
    error = emulator_containers_channel_new(&rt->containers, channel);
  } else {
    /* The network mode is set by emulator_containers_place below. */
    emulator_containers_docker_options o = {.network_mode = "host"};
    error = emulator_containers_docker_new(&rt->containers, &o);
  }
  if (error == 0 && !rt->endpoint)
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (error == 0) {
    rt->direct = emulator_containers_direct(rt->containers);
    if (rt->direct) {
      /* Also the check that the engine answers at all. */
      json_t *list = NULL;
      error = emulator_containers_list(&list, rt->containers, OWNER_LABEL);
      json_decref(list);
      if (error < 0)
        error = airgap_error_set(error,
                                 "Invoke needs a Docker engine to run functions in, and none "
                                 "answers (%s). Give the emulator the engine's socket "
                                 "(DOCKER_HOST or /var/run/docker.sock); the rest of Lambda "
                                 "works without it.",
                                 airgap_error_last());
      else
        reap(rt->containers, rt->owner, NULL);
      if (error == 0)
        error = place(rt);
    }
  }
  if (error < 0) {
    lambda_runtime_free(rt);
    return error;
  }
  *out = rt;
  return 0;
}

lambda_runtime *lambda_runtime_get(lambda_state *st, aws_call *call) {
  pthread_mutex_lock(&st->lock);
  lambda_runtime *rt = st->runtime;
  int error = 0;
  if (!rt) {
    /* Made under st->lock: two first Invokes must not make two runtimes. */
    error = runtime_new(&rt, st);
    if (error == 0)
      st->runtime = rt;
  }
  pthread_mutex_unlock(&st->lock);
  if (error < 0) {
    if (call)
      aws_call_fail(call, 502, "ServiceException", "%s", airgap_error_last());
    else
      log_warn("lambda", "%s", airgap_error_last());
    return NULL;
  }
  return rt;
}

void lambda_runtime_free(lambda_runtime *rt) {
  if (!rt)
    return;
  emulator_placement_free(rt->placement, rt->containers);
  emulator_containers_free(rt->containers);
  if (rt->delivery)
    delivery_release(rt->delivery);
  free(rt->endpoint);
  free(rt->mapping);
  pthread_mutex_destroy(&rt->lock);
  pthread_cond_destroy(&rt->cond);
  pthread_cond_destroy(&rt->log_cond);
  free(rt);
}
