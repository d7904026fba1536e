/*
 * emulator.c — the life cycle of an emulator instance: pick the services to
 * serve, create their state, start the timer thread and the HTTP listeners,
 * wait for a stop request, and tear down in the order that lets every
 * suspended call be answered (services' shutdown before the server stops).
 *
 * A stop request is one byte written to a pipe, so that it can come from a
 * signal handler, another thread, or the kill action of /_localstack/health.
 *
 * Everything an emulator writes (spilled bodies, S3 data, the init hooks'
 * awslocal) goes into a private folder, airgap-emulator-XXXXXX in the data
 * directory, which the emulator holds flock()ed for its life. An
 * emulator that was killed leaves its folder unlocked; the next one to start
 * in the same data directory removes it. A flock, unlike a pid, cannot be
 * mistaken for a live owner after the pid is reused.
 */
#include "emulator/emulator.h"
#include "common/error.h"
#include "common/json_arena.h"
#include "common/log.h"
#include "emulator/emulator_int.h"
#include "common/clock.h"
#include "common/codec.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define WORK_PREFIX "airgap-emulator-"

static char service_names[256];
static pthread_once_t service_names_once = PTHREAD_ONCE_INIT;

static void build_service_names(void) {
  size_t used = 0;
  for (size_t i = 0; i < emulator_service_count; i++) {
    int n = snprintf(service_names + used, sizeof(service_names) - used, "%s%s", i ? "," : "",
                     emulator_service_table[i]->name);
    if (n < 0 || (size_t)n >= sizeof(service_names) - used)
      break;
    used += (size_t)n;
  }
}

const char *emulator_service_names(void) {
  pthread_once(&service_names_once, build_service_names);
  return service_names;
}

service_slot *emulator_slot(emulator *emu, const char *name) {
  for (size_t i = 0; i < emu->slot_count; i++)
    if (strcmp(emu->slots[i].svc->name, name) == 0)
      return &emu->slots[i];
  return NULL;
}

void *emulator_service_state(emulator *emu, const char *name) {
  service_slot *slot = emu ? emulator_slot(emu, name) : NULL;
  return slot && slot->enabled ? slot->state : NULL;
}

/* Marks the services named in a SERVICES list as enabled. */
static void enable_services(emulator *emu, const char *list) {
  int all = !list || !*list;
  for (size_t i = 0; i < emu->slot_count; i++)
    emu->slots[i].enabled = all;
  if (all)
    return;
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ", ");
    if (n > 0) {
      int found = 0;
      for (size_t i = 0; i < emu->slot_count; i++) {
        const char *name = emu->slots[i].svc->name;
        if (strlen(name) == n && strncasecmp(name, p, n) == 0) {
          emu->slots[i].enabled = 1;
          found = 1;
        }
      }
      if (!found)
        log_warn("emulator", "SERVICES names '%.*s', which this build does not serve; ignored",
                 (int)n, p);
    }
    p += n;
    while (*p == ',' || *p == ' ')
      p++;
  }
  /* A service that is part of another comes with it, as in LocalStack
   * (SERVICES=dynamodb serves DynamoDB Streams too). */
  static const char *const companions[][2] = {{"dynamodb", "dynamodbstreams"}};
  for (size_t c = 0; c < sizeof(companions) / sizeof(companions[0]); c++) {
    int on = 0;
    for (size_t i = 0; i < emu->slot_count; i++)
      on |= emu->slots[i].enabled && strcmp(emu->slots[i].svc->name, companions[c][0]) == 0;
    for (size_t i = 0; on && i < emu->slot_count; i++)
      if (strcmp(emu->slots[i].svc->name, companions[c][1]) == 0)
        emu->slots[i].enabled = 1;
  }
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  remove(path);
  return 0; /* go on: remove what can be removed */
}

/* Removes a folder tree without following symbolic links. */
static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* 1 for the names make_work_dir() gives: the prefix and mkdtemp's six
 * characters, nothing else. A data directory such as /tmp is shared with
 * other programs (deploy/emulator-image once built its image in
 * /tmp/airgap-emulator-image.XXXXXX, and a concurrent emulator removed it). */
static int is_work_name(const char *name) {
  size_t prefix = strlen(WORK_PREFIX);
  if (strncmp(name, WORK_PREFIX, prefix) != 0 || strlen(name) != prefix + 6)
    return 0;
  for (const char *p = name + prefix; *p; p++)
    if (!isalnum((unsigned char)*p))
      return 0;
  return 1;
}

/* Removes the work folders of emulators that died without cleaning up: ours
 * (same user, our naming), and not flock()ed by a live emulator. */
static void reap_stale_work(const char *data_dir) {
  DIR *dir = opendir(data_dir);
  if (!dir)
    return;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (!is_work_name(entry->d_name))
      continue;
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", data_dir, entry->d_name) >= (int)sizeof(path))
      continue;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0) {
      log_info("emulator", "removing %s, left by an emulator that stopped without cleaning up",
               path);
      remove_tree(path);
    }
    close(fd);
  }
  closedir(dir);
}

/* Creates the emulator's private folder in data_dir, locked. It is made and
 * locked under a name the reaper passes by, then renamed: a folder with the
 * reaped name is locked from the moment it exists. (The reaper runs once the
 * listeners accept: other emulators' leftovers are not needed to answer.) */
static int make_work_dir(emulator *emu, const char *data_dir) {
  char fresh[PATH_MAX], path[PATH_MAX];
  if (snprintf(fresh, sizeof(fresh), "%s/.airgap-new-XXXXXX", data_dir) >= (int)sizeof(fresh))
    return airgap_error_set(AIRGAP_EINVALID, "the data directory path %s is too long", data_dir);
  if (!mkdtemp(fresh))
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot create the emulator's folder in %s",
                                  data_dir);
  const char *suffix = fresh + strlen(fresh) - 6;
  if (snprintf(path, sizeof(path), "%s/" WORK_PREFIX "%s", data_dir, suffix) >= (int)sizeof(path)) {
    rmdir(fresh);
    return airgap_error_set(AIRGAP_EINVALID, "the data directory path %s is too long", data_dir);
  }
  emu->work_lock = open(fresh, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (emu->work_lock < 0 || flock(emu->work_lock, LOCK_EX | LOCK_NB) < 0 ||
      renameat2(AT_FDCWD, fresh, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
    int error =
        airgap_error_set_errno(AIRGAP_ERROR, "cannot set up the emulator's folder %s", fresh);
    rmdir(fresh);
    return error;
  }
  if (!(emu->data_dir = strdup(path))) {
    rmdir(path);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  return 0;
}

/* jansson seeds its hash function on the first object it makes, from
 * /dev/urandom (an open, a read and a close); getrandom(2) is one call. A
 * seed set before (by another emulator in this process) stays. */
static void seed_json(void) {
  uint32_t seed = 0;
  if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed) && seed != 0)
    json_object_seed(seed);
}

static void close_fds(const emulator_options *options) {
  for (size_t i = 0; i < options->listen_fd_count; i++)
    close(options->listen_fds[i]);
}

/* The gateway's server options, shared by the first listeners and those
 * added later (emulator_listen_fd). */
static http_server_options gateway_options(emulator *emu, unsigned threads) {
  http_server_options so = {
      .max_body = (uint64_t)5 << 30,
      /* S3 objects beyond this go to files; other protocols refuse a spilled body, so it
       * must hold a 1 MiB SQS message percent-encoded (up to 3x) with its attributes. */
      .spill_threshold = (uint64_t)8 << 20,
      .spill_dir = emu->data_dir,
      .threads = threads,
      .connection_timeout = 0,
      .handler = emulator_gateway_handle,
      .early = emulator_gateway_early,
      .payload = emu,
  };
  return so;
}

int emulator_start(emulator **out, const emulator_options *options) {
  emulator_options defaults = {0};
  if (!options)
    options = &defaults;
  int error = 0;
  int own_fds = 1; /* the handed-over sockets are ours to close until the server takes them */
  emulator *emu = calloc(1, sizeof(*emu));
  if (!emu) {
    close_fds(options);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  emu->stop_pipe[0] = emu->stop_pipe[1] = -1;
  emu->work_lock = -1;
  pthread_mutex_init(&emu->lock, NULL);
  seed_json();
  /* jansson's hooks for per-request arenas (gateway.c): plain malloc/free
   * for everything outside an arena scope. Installed before any server
   * thread runs. */
  json_arena_init();
  emu->health_state = json_object();
  emu->credentials = json_object();
  emu->started = time(NULL);
  codec_uuid4(emu->session_id);
  if (options->hostname)
    emu->hostname = strdup(options->hostname);
  /* LocalStack's variable, read here like TMPDIR below, so that every way of
   * starting an emulator honours it. */
  const char *skip_sig = getenv("S3_SKIP_SIGNATURE_VALIDATION");
  const char *enforce = getenv("AIRGAP_S3_ENFORCE_ACCESS");
  emu->s3_verify_signatures =
      options->s3_verify_signatures || (skip_sig && strcmp(skip_sig, "0") == 0);
  emu->s3_enforce_access = options->s3_enforce_access || (enforce && strcmp(enforce, "1") == 0);
  if (pipe2(emu->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot create the emulator's stop pipe");
    goto cleanup;
  }
  emu->slot_count = emulator_service_count;
  emu->slots = calloc(emu->slot_count ? emu->slot_count : 1, sizeof(*emu->slots));
  if (!emu->slots) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  for (size_t i = 0; i < emu->slot_count; i++)
    emu->slots[i].svc = emulator_service_table[i];
  enable_services(emu, options->services);
  const char *spill = options->data_dir;
  if (!spill)
    spill = getenv("TMPDIR");
  if (!spill || !*spill)
    spill = "/tmp";
  if (access(spill, W_OK | X_OK) < 0) {
    error = airgap_error_set_errno(
        AIRGAP_EINVALID, "the emulator's data directory %s is not a writable directory", spill);
    goto cleanup;
  }
  error = make_work_dir(emu, spill);
  if (error < 0)
    goto cleanup;
  if (options->init_dir) {
    error = init_hooks_load(&emu->hooks, options->init_dir, emu->data_dir);
    if (error < 0)
      goto cleanup;
    init_hooks_run(emu->hooks, INIT_STAGE_BOOT);
  }
  error = emulator_timers_start(&emu->timers);
  if (error < 0)
    goto cleanup;
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    if (!s->enabled || !s->svc->create)
      continue;
    error = s->svc->create(&s->state, emu);
    if (error < 0)
      goto cleanup;
  }
  http_server_options so = gateway_options(emu, options->threads);
  so.listen =
      options->listen_fd_count ? NULL : (options->listen ? options->listen : "127.0.0.1:4566");
  so.listen_fds = options->listen_fds;
  so.listen_fd_count = options->listen_fd_count;
  emu->threads = options->threads;
  own_fds = 0; /* http_server_start owns them now, also when it fails */
  error = http_server_start(&emu->server, &so);
  if (error < 0)
    goto cleanup;
  emu->port = http_server_port(emu->server);
  log_debug("emulator", "serving on port %u", (unsigned)emu->port);
  /* Housekeeping that answering does not wait for: the server's threads
   * serve the first requests meanwhile. */
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    if (s->state && s->svc->started)
      s->svc->started(s->state);
  }
  reap_stale_work(spill);
  /* START scripts run once the port is known (it may have been 0), before
   * the caller says Ready. */
  init_hooks_set_port(emu->hooks, emu->port);
  init_hooks_run(emu->hooks, INIT_STAGE_START);
  error = init_hooks_run_ready(emu->hooks);
  if (error < 0)
    goto cleanup;
  *out = emu;
  return 0;
cleanup:
  if (own_fds)
    close_fds(options);
  emulator_free(emu);
  return error;
}

uint16_t emulator_port(const emulator *emu) { return emu->port; }

int emulator_listen_fd(emulator *emu, int fd) {
  http_server_options so = gateway_options(emu, emu->threads);
  so.listen_fds = &fd;
  so.listen_fd_count = 1;
  pthread_mutex_lock(&emu->lock);
  int error = 0;
  if (emu->extra_count >= EMULATOR_MAX_EXTRA_LISTENERS) {
    close(fd);
    error = airgap_error_set(AIRGAP_ETOOBIG, "the emulator has %d extra listeners already",
                             EMULATOR_MAX_EXTRA_LISTENERS);
  } else if ((error = http_server_start(&emu->extra[emu->extra_count], &so)) == 0) {
    emu->extra_count++;
  }
  pthread_mutex_unlock(&emu->lock);
  return error;
}

const char *emulator_data_dir(const emulator *emu) { return emu->data_dir; }

void emulator_credentials_add(emulator *emu, const emulator_credential *cred) {
  json_t *identity = json_pack("{s:s, s:s, s:s, s:s}", "Account", cred->account, "Arn", cred->arn,
                               "UserId", cred->user_id, "SecretAccessKey", cred->secret);
  if (!identity)
    return;
  if (cred->session_token)
    json_object_set_new(identity, "SessionToken", json_string(cred->session_token));
  if (cred->expiration > 0)
    json_object_set_new(identity, "Expiration", json_real(cred->expiration));
  if (cred->session)
    json_object_set_new(identity, "Session", json_deep_copy(cred->session));
  pthread_mutex_lock(&emu->lock);
  if (json_object_size(emu->credentials) >= EMULATOR_MAX_CREDENTIALS) {
    /* Forget the oldest half of the temporary ones (jansson objects keep
     * insertion order); IAM's long-term keys stay, as IAM still lists them
     * (it bounds them itself, two per user). */
    json_t *kept = json_object();
    size_t i = 0, half = json_object_size(emu->credentials) / 2;
    const char *key;
    json_t *value;
    json_object_foreach(emu->credentials, key, value) {
      if (!json_object_get(value, "SessionToken") || i++ >= half)
        json_object_set(kept, key, value);
    }
    json_decref(emu->credentials);
    emu->credentials = kept;
  }
  json_object_set_new(emu->credentials, cred->access_key, identity);
  pthread_mutex_unlock(&emu->lock);
}

void emulator_credentials_used(emulator *emu, const char *access_key, const char *service,
                               const char *region) {
  json_t *used = json_pack("{s:f, s:s, s:s}", "LastUsedDate", (double)(clock_wall_ms() / 1000),
                           "ServiceName", service, "Region", region);
  pthread_mutex_lock(&emu->lock);
  json_t *identity = json_object_get(emu->credentials, access_key);
  if (identity && used)
    json_object_set(identity, "LastUsed", used);
  pthread_mutex_unlock(&emu->lock);
  json_decref(used);
}

void emulator_credentials_remove(emulator *emu, const char *access_key) {
  pthread_mutex_lock(&emu->lock);
  json_object_del(emu->credentials, access_key);
  pthread_mutex_unlock(&emu->lock);
}

json_t *emulator_credentials_get(emulator *emu, const char *access_key) {
  if (!access_key || !*access_key)
    return NULL;
  pthread_mutex_lock(&emu->lock);
  json_t *identity = json_incref(json_object_get(emu->credentials, access_key));
  pthread_mutex_unlock(&emu->lock);
  return identity;
}

void emulator_request_stop(emulator *emu) {
  if (!emu || emu->stop_pipe[1] < 0)
    return;
  char c = 1;
  ssize_t rc = write(emu->stop_pipe[1], &c, 1);
  (void)rc; /* a full pipe already holds a stop request */
}

int emulator_wait_fd(emulator *emu, int fd, int timeout_ms) {
  struct pollfd pfd[2] = {{.fd = emu->stop_pipe[0], .events = POLLIN},
                          {.fd = fd, .events = POLLIN}};
  for (;;) {
    int rc = poll(pfd, fd >= 0 ? 2 : 1, timeout_ms);
    if (rc > 0)
      return pfd[0].revents ? 1 : 2;
    if (rc == 0)
      return 0;
    /* EINTR: a signal arrived; its handler may have requested the stop. */
  }
}

int emulator_wait(emulator *emu, int timeout_ms) { return emulator_wait_fd(emu, -1, timeout_ms); }

void emulator_reset(emulator *emu) {
  pthread_mutex_lock(&emu->lock);
  json_object_clear(emu->credentials);
  pthread_mutex_unlock(&emu->lock);
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    if (s->enabled && s->state && s->svc->reset)
      s->svc->reset(s->state);
  }
}

void emulator_free(emulator *emu) {
  if (!emu)
    return;
  /* The SHUTDOWN scripts still reach the services, as LocalStack's do. */
  if (emu->server) {
    init_hooks_cancel(emu->hooks);
    init_hooks_run(emu->hooks, INIT_STAGE_SHUTDOWN);
  }
  atomic_store(&emu->stopping, 1);
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    if (s->state && s->svc->shutdown)
      s->svc->shutdown(s->state);
  }
  http_server_free(emu->server);
  for (size_t i = 0; i < emu->extra_count; i++)
    http_server_free(emu->extra[i]);
  emulator_timers_stop(emu->timers);
  for (size_t i = 0; i < emu->slot_count; i++) {
    service_slot *s = &emu->slots[i];
    if (s->state && s->svc->destroy)
      s->svc->destroy(s->state);
  }
  free(emu->slots);
  if (emu->stop_pipe[0] >= 0)
    close(emu->stop_pipe[0]);
  if (emu->stop_pipe[1] >= 0)
    close(emu->stop_pipe[1]);
  json_decref(emu->health_state);
  json_decref(emu->credentials);
  init_hooks_free(emu->hooks);
  pthread_mutex_destroy(&emu->lock);
  free(emu->hostname);
  if (emu->data_dir)
    remove_tree(emu->data_dir); /* after the services removed their files */
  if (emu->work_lock >= 0)
    close(emu->work_lock);
  free(emu->data_dir);
  free(emu);
}
