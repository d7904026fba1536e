/*
 * init_hooks.c — LocalStack's initialization hooks (see init_hooks_int.h).
 *
 * The scripts are found once, at start, and listed with their states
 * (UNKNOWN, RUNNING, SUCCESSFUL, ERROR) for GET /_localstack/init. Each runs
 * with posix_spawn in a process group of its own, so that stopping it (the
 * emulator stops during a READY script, a SHUTDOWN script overruns) reaches
 * whatever it started, and so that whatever it left running in the
 * background is stopped when it ends: nothing a script starts outlives it.
 * Waiting uses a pidfd, so the wait wakes the moment the script ends and
 * still notices a cancel within 100 ms.
 */
#include "emulator/init_hooks_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* A folder with more entries than this is not a hooks folder. */
#define MAX_FOLDER_ENTRIES 4096
/* After SIGTERM, a script's process group gets this long before SIGKILL. */
#define STOP_GRACE_MS 2000

typedef enum script_state {
  SCRIPT_UNKNOWN,
  SCRIPT_RUNNING,
  SCRIPT_SUCCESSFUL,
  SCRIPT_ERROR
} script_state;

static const char *const state_names[] = {"UNKNOWN", "RUNNING", "SUCCESSFUL", "ERROR"};
static const char *const stage_names[] = {"BOOT", "START", "READY", "SHUTDOWN"};
static const char *const stage_folders[] = {"boot.d", "start.d", "ready.d", "shutdown.d"};

typedef struct script {
  char *path;
  const char *name; /* the file name, inside path */
  init_stage stage;
  script_state state; /* under lock */
} script;

struct init_hooks {
  script *scripts;
  size_t count;
  char *helper_dir; /* holds awslocal */
  uint16_t port;
  pthread_mutex_t lock; /* guards the scripts' states and completed */
  int completed[INIT_STAGE_COUNT];
  pthread_t ready_thread;
  int ready_started;
  atomic_int canceled;
};

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_script(init_hooks *h, init_stage stage, const char *path) {
  if (h->count >= INIT_HOOKS_MAX_SCRIPTS)
    return airgap_error_set(AIRGAP_EINVALID, "more than %d init scripts (at %s)",
                            INIT_HOOKS_MAX_SCRIPTS, path);
  if (h->count % 16 == 0) {
    script *grown = realloc(h->scripts, (h->count + 16) * sizeof(*grown));
    if (!grown)
      return airgap_error_set(AIRGAP_ERROR, "out of memory");
    h->scripts = grown;
  }
  char *copy = strdup(path);
  if (!copy)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  h->scripts[h->count++] = (script){.path = copy, .name = strrchr(copy, '/') + 1, .stage = stage};
  return 0;
}

/* Adds the scripts of one folder in LocalStack's order: its own files sorted
 * by name, then each subfolder (sorted) depth first. */
static int collect(init_hooks *h, init_stage stage, const char *folder, int depth) {
  DIR *dir = opendir(folder);
  if (!dir) {
    if (errno == ENOENT && depth == 0)
      return 0; /* a stage without a folder has no scripts */
    return airgap_error_set_errno(AIRGAP_EINVALID, "cannot read the init hooks folder %s", folder);
  }
  int error = 0;
  char **names = NULL;
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (entry->d_name[0] == '.')
      continue; /* ., .., and hidden files such as editors' swap files */
    if (count >= MAX_FOLDER_ENTRIES) {
      error = airgap_error_set(AIRGAP_EINVALID, "the init hooks folder %s has more than %d entries",
                               folder, MAX_FOLDER_ENTRIES);
      goto cleanup;
    }
    if (count % 64 == 0) {
      char **grown = realloc(names, (count + 64) * sizeof(*grown));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "out of memory");
        goto cleanup;
      }
      names = grown;
    }
    if (!(names[count] = strdup(entry->d_name))) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    count++;
  }
  if (count)
    qsort(names, count, sizeof(*names), compare_names);
  for (int pass = 0; pass < 2 && error == 0; pass++) {
    for (size_t i = 0; i < count && error == 0; i++) {
      char path[PATH_MAX];
      struct stat st;
      if (snprintf(path, sizeof(path), "%s/%s", folder, names[i]) >= (int)sizeof(path)) {
        error =
            airgap_error_set(AIRGAP_EINVALID, "an init hooks path under %s is too long", folder);
        break;
      }
      if (stat(path, &st) < 0)
        continue; /* a dangling link: nothing to run */
      if (pass == 0 && S_ISREG(st.st_mode)) {
        if (ends_with(names[i], ".sh") || ends_with(names[i], ".py"))
          error = add_script(h, stage, path);
        else
          log_debug("init", "ignoring %s: init scripts end in .sh or .py", path);
      } else if (pass == 1 && S_ISDIR(st.st_mode)) {
        if (depth + 1 > INIT_HOOKS_MAX_DEPTH)
          error = airgap_error_set(AIRGAP_EINVALID,
                                   "init hooks folders nest deeper than %d levels (at %s)",
                                   INIT_HOOKS_MAX_DEPTH, path);
        else
          error = collect(h, stage, path, depth + 1);
      }
    }
  }
cleanup:
  closedir(dir);
  for (size_t i = 0; i < count; i++)
    free(names[i]);
  free(names);
  return error;
}

/* awslocal, as LocalStack's image has it: the aws CLI against this emulator.
 * (aws CLI 2.9 ignores AWS_ENDPOINT_URL, hence the flag.) */
static int write_helper(init_hooks *h, const char *work_dir) {
  static const char awslocal[] = "#!/bin/sh\n"
                                 "# airgap's awslocal: the aws CLI against this emulator.\n"
                                 "exec aws --endpoint-url=\"$AWS_ENDPOINT_URL\" \"$@\"\n";
  char dir[PATH_MAX], path[PATH_MAX];
  if (snprintf(dir, sizeof(dir), "%s/airgap-init-XXXXXX", work_dir) >= (int)sizeof(dir))
    return airgap_error_set(AIRGAP_EINVALID, "the data directory path %s is too long", work_dir);
  if (!mkdtemp(dir))
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot create a folder for awslocal in %s",
                                  work_dir);
  if (!(h->helper_dir = strdup(dir))) {
    rmdir(dir);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  if (snprintf(path, sizeof(path), "%s/awslocal", dir) >= (int)sizeof(path))
    return airgap_error_set(AIRGAP_EINVALID, "the data directory path %s is too long", work_dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", path);
  ssize_t n = write(fd, awslocal, sizeof(awslocal) - 1);
  int close_rc = close(fd);
  if (n != (ssize_t)sizeof(awslocal) - 1 || close_rc < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", path);
  return 0;
}

int init_hooks_load(init_hooks **out, const char *dir, const char *work_dir) {
  int error = 0;
  init_hooks *h = calloc(1, sizeof(*h));
  if (!h)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  pthread_mutex_init(&h->lock, NULL);
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
    error = airgap_error_set(AIRGAP_EINVALID, "the init hooks folder %s is not a folder", dir);
    goto cleanup;
  }
  for (int stage = 0; stage < INIT_STAGE_COUNT && error == 0; stage++) {
    char folder[PATH_MAX];
    if (snprintf(folder, sizeof(folder), "%s/%s", dir, stage_folders[stage]) >= (int)sizeof(folder))
      error = airgap_error_set(AIRGAP_EINVALID, "the init hooks path %s is too long", dir);
    else
      error = collect(h, (init_stage)stage, folder, 0);
  }
  if (error == 0 && h->count > 0)
    error = write_helper(h, work_dir);
  if (error < 0)
    goto cleanup;
  log_debug("init", "%zu init scripts under %s", h->count, dir);
  *out = h;
  return 0;
cleanup:
  init_hooks_free(h);
  return error;
}

void init_hooks_set_port(init_hooks *hooks, uint16_t port) {
  if (hooks)
    hooks->port = port;
}

static int env_append(char **env, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int env_append(char **env, size_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vasprintf(&env[*n], fmt, ap);
  va_end(ap);
  if (rc < 0)
    return -1;
  (*n)++;
  return 0;
}

/* The environment of a script: ours, with the endpoint, PATH with awslocal
 * first, and test credentials and region unless we have some. Owned: free
 * each entry past `inherited`, then the array. */
static char **script_env(const init_hooks *h, size_t *inherited) {
  size_t total = 0;
  while (environ[total])
    total++;
  char **env = calloc(total + 8, sizeof(*env));
  if (!env)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < total; i++)
    if (strncmp(environ[i], "AWS_ENDPOINT_URL=", 17) != 0 && strncmp(environ[i], "PATH=", 5) != 0)
      env[n++] = environ[i];
  *inherited = n;
  const char *path = getenv("PATH");
  int rc = env_append(env, &n, "AWS_ENDPOINT_URL=http://127.0.0.1:%u",
                      h->port ? (unsigned)h->port : 4566u);
  rc |= env_append(env, &n, "PATH=%s:%s", h->helper_dir,
                   path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  if (!getenv("AWS_ACCESS_KEY_ID") && !getenv("AWS_PROFILE")) {
    rc |= env_append(env, &n, "AWS_ACCESS_KEY_ID=test");
    rc |= env_append(env, &n, "AWS_SECRET_ACCESS_KEY=test");
  }
  if (!getenv("AWS_DEFAULT_REGION") && !getenv("AWS_REGION"))
    rc |= env_append(env, &n, "AWS_DEFAULT_REGION=us-east-1");
  if (rc != 0) {
    for (size_t i = *inherited; i < n; i++)
      free(env[i]);
    free(env);
    return NULL;
  }
  return env;
}

/* Waits for the script `pid` (leader of its own process group) to end,
 * stopping its group when *cancel is set or timeout_ms (-1: none) passes.
 * Returns its wait status, -1 when it could not be waited for. */
static int wait_script(pid_t pid, const atomic_int *cancel, int timeout_ms, const char *name) {
  int pidfd = pidfd_open(pid, 0);
  uint64_t start = clock_monotonic_ms(), stop_sent = 0;
  int killed = 0, status = -1;
  for (;;) {
    if (pidfd >= 0) {
      struct pollfd p = {.fd = pidfd, .events = POLLIN};
      poll(&p, 1, 100);
    } else {
      struct timespec pause = {.tv_nsec = 20 * 1000000};
      nanosleep(&pause, NULL);
    }
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR) {
      status = -1;
      break;
    }
    uint64_t t = clock_monotonic_ms();
    int asked =
        (cancel && atomic_load(cancel)) || (timeout_ms >= 0 && t - start >= (uint64_t)timeout_ms);
    if (asked && !stop_sent) {
      log_warn("init", "stopping init script %s (%s)", name,
               cancel && atomic_load(cancel) ? "the emulator is stopping" : "it ran too long");
      kill(-pid, SIGTERM);
      stop_sent = t;
    } else if (stop_sent && !killed && t - stop_sent >= STOP_GRACE_MS) {
      kill(-pid, SIGKILL);
      killed = 1;
    }
  }
  if (pidfd >= 0)
    close(pidfd);
  /* What the script left running in its group ends with it. (Its orphans go
   * to PID 1; in a container, that is cmd_emulator's reaper.) */
  kill(-pid, SIGKILL);
  return status;
}

static void set_state(init_hooks *h, script *s, script_state state) {
  pthread_mutex_lock(&h->lock);
  s->state = state;
  pthread_mutex_unlock(&h->lock);
}

static void run_script(init_hooks *h, script *s, char **env, const atomic_int *cancel,
                       int timeout_ms) {
  const char *stage = stage_names[s->stage];
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  /* No stdin; stdout joins stderr, so the emulator's stdout stays "Ready." alone. */
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &none); /* the emulator blocks SIGINT/SIGTERM */
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = 0;
  int rc;
  if (ends_with(s->path, ".py")) {
    char *argv[] = {"python3", s->path, NULL};
    rc = posix_spawnp(&pid, "python3", &actions, &attr, argv, env);
  } else {
    char *argv[] = {s->path, NULL};
    rc = posix_spawn(&pid, s->path, &actions, &attr, argv, env);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    log_warn("init", "%s script %s cannot run: %s%s", stage, s->path, strerror(rc),
             rc == EACCES    ? " (shell scripts must be executable: chmod +x)"
             : rc == ENOEXEC ? " (a shell script needs a #! line)"
                             : "");
    set_state(h, s, SCRIPT_ERROR);
    return;
  }
  set_state(h, s, SCRIPT_RUNNING);
  log_info("init", "%s script %s: running", stage, s->path);
  int status = wait_script(pid, cancel, timeout_ms, s->path);
  int ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  set_state(h, s, ok ? SCRIPT_SUCCESSFUL : SCRIPT_ERROR);
  if (ok)
    log_info("init", "%s script %s: successful", stage, s->path);
  else if (status >= 0 && WIFEXITED(status))
    log_warn("init", "%s script %s failed with exit status %d", stage, s->path,
             WEXITSTATUS(status));
  else if (status >= 0 && WIFSIGNALED(status))
    log_warn("init", "%s script %s was killed by signal %d", stage, s->path, WTERMSIG(status));
  else
    log_warn("init", "%s script %s: lost track of it", stage, s->path);
}

static void run_stage(init_hooks *h, init_stage stage, const atomic_int *cancel) {
  size_t inherited = 0;
  char **env = NULL;
  for (size_t i = 0; i < h->count; i++) {
    script *s = &h->scripts[i];
    if (s->stage != stage)
      continue;
    if (cancel && atomic_load(cancel))
      break; /* the rest stay UNKNOWN */
    if (!env && !(env = script_env(h, &inherited))) {
      log_error("init", "out of memory: the %s scripts do not run", stage_names[stage]);
      break;
    }
    run_script(h, s, env, cancel,
               stage == INIT_STAGE_SHUTDOWN ? INIT_HOOKS_SHUTDOWN_TIMEOUT_MS : -1);
  }
  if (env) {
    for (size_t i = inherited; env[i]; i++)
      free(env[i]);
    free(env);
  }
  pthread_mutex_lock(&h->lock);
  h->completed[stage] = !(cancel && atomic_load(cancel));
  pthread_mutex_unlock(&h->lock);
}

void init_hooks_run(init_hooks *hooks, init_stage stage) {
  if (hooks)
    run_stage(hooks, stage, NULL);
}

static void *ready_main(void *arg) {
  init_hooks *h = arg;
  run_stage(h, INIT_STAGE_READY, &h->canceled);
  return NULL;
}

int init_hooks_run_ready(init_hooks *hooks) {
  if (!hooks)
    return 0;
  if (pthread_create(&hooks->ready_thread, NULL, ready_main, hooks) != 0)
    return airgap_error_set(AIRGAP_ERROR, "cannot start the thread for the READY init scripts");
  hooks->ready_started = 1;
  return 0;
}

void init_hooks_cancel(init_hooks *hooks) {
  if (!hooks || !hooks->ready_started)
    return;
  atomic_store(&hooks->canceled, 1);
  pthread_join(hooks->ready_thread, NULL);
  hooks->ready_started = 0;
}

json_t *init_hooks_report(init_hooks *hooks, const char *stage) {
  int only = -1;
  if (stage) {
    for (int i = 0; i < INIT_STAGE_COUNT; i++)
      if (strcasecmp(stage, stage_names[i]) == 0)
        only = i;
    if (only < 0)
      return NULL;
  }
  json_t *scripts = json_array();
  json_t *completed = json_object();
  if (hooks)
    pthread_mutex_lock(&hooks->lock);
  for (size_t i = 0; hooks && i < hooks->count; i++) {
    const script *s = &hooks->scripts[i];
    if (only < 0 || (int)s->stage == only)
      json_array_append_new(scripts, json_pack("{s:s, s:s, s:s}", "stage", stage_names[s->stage],
                                               "name", s->name, "state", state_names[s->state]));
  }
  for (int i = 0; i < INIT_STAGE_COUNT; i++)
    json_object_set_new(completed, stage_names[i],
                        json_boolean(hooks ? hooks->completed[i] : i != INIT_STAGE_SHUTDOWN));
  if (hooks)
    pthread_mutex_unlock(&hooks->lock);
  if (only >= 0) {
    json_t *done = json_incref(json_object_get(completed, stage_names[only]));
    json_decref(completed);
    return json_pack("{s:o, s:o}", "completed", done, "scripts", scripts);
  }
  return json_pack("{s:o, s:o}", "completed", completed, "scripts", scripts);
}

void init_hooks_free(init_hooks *hooks) {
  if (!hooks)
    return;
  init_hooks_cancel(hooks);
  if (hooks->helper_dir) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/awslocal", hooks->helper_dir) < (int)sizeof(path))
      unlink(path);
    rmdir(hooks->helper_dir);
    free(hooks->helper_dir);
  }
  for (size_t i = 0; i < hooks->count; i++)
    free(hooks->scripts[i].path);
  free(hooks->scripts);
  pthread_mutex_destroy(&hooks->lock);
  free(hooks);
}
