/*
 * cmd_agent.c — `airgap agent` (lease and run jobs from a queue), `airgap
 * serve` (a queue and an agent in one process tree, zero set-up) and `airgap
 * run` (one job from the command line through an embedded queue, its log on
 * stdout, the job's status as exit code).
 *
 * All three share the agent's flags and its signal rules: a first SIGTERM
 * drains (no new leases; running jobs finish, up to --shutdown-timeout, then
 * are canceled); SIGINT or a second SIGTERM cancels running jobs, tears them
 * down and exits. `airgap agent --supervise` is the hidden entry of the job
 * supervisor processes the agent starts (the same binary, so nothing else
 * needs installing); main.c needs no entry for it.
 */
#include "agent/agent.h"
#include "agent/commands.h"
#include "common/error.h"
#include "common/log.h"
#include "overlay/overlay.h"
#include "queue/queue.h"
#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:8470"
#define DEFAULT_DATA "/var/lib/airgap"
#define DEFAULT_CACHE "/var/lib/airgap/cache"
#define DEFAULT_WORK "/var/lib/airgap/work"
#define DEFAULT_SHUTDOWN_TIMEOUT 600u
#define MAX_LABELS 32

/* ---- signals: first SIGTERM drains, SIGINT or a second SIGTERM aborts ---- */

static volatile int drain_flag;
static volatile int abort_flag;

static void on_signal(int sig) {
  if (sig == SIGTERM && !drain_flag)
    drain_flag = 1;
  else
    abort_flag = 1;
}

static void install_signals(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* ---- shared agent flags ---- */

typedef struct agent_flags {
  agent_options o;
  char *label_buf;
  const char *labels[MAX_LABELS];
  char self[PATH_MAX];
  char pause[PATH_MAX];
  char id[256];
  const char *log_level;
} agent_flags;

enum {
  OPT_SLOTS = 1000,
  OPT_LABELS,
  OPT_CACHE,
  OPT_WORK,
  OPT_NETWORK,
  OPT_ID,
  OPT_PULL,
  OPT_USER,
  OPT_PAUSE,
  OPT_SHUTDOWN,
  OPT_LOG_LEVEL,
  OPT_WARM,
  OPT_QUEUE,
  OPT_TOKEN,
  OPT_LISTEN,
  OPT_DATA,
  OPT_SUPERVISE,
  OPT_REPO,
  OPT_REF,
  OPT_COMMIT,
  OPT_IMAGE,
  OPT_ENV,
  OPT_SECRET,
  OPT_TIMEOUT,
  OPT_SERVICES,
  OPT_MEMORY,
  OPT_CPUS,
  OPT_PIDS,
  OPT_MOUNTPOINT,
};

#define AGENT_LONG_OPTIONS                                                                         \
  {"slots", required_argument, NULL, OPT_SLOTS}, {"labels", required_argument, NULL, OPT_LABELS},  \
      {"cache", required_argument, NULL, OPT_CACHE}, {"work", required_argument, NULL, OPT_WORK},  \
      {"network", required_argument, NULL, OPT_NETWORK}, {"id", required_argument, NULL, OPT_ID},  \
      {"pull", required_argument, NULL, OPT_PULL}, {"user", required_argument, NULL, OPT_USER},    \
      {"pause", required_argument, NULL, OPT_PAUSE},                                               \
      {"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN},                                 \
      {"log-level", required_argument, NULL, OPT_LOG_LEVEL},                                       \
      {"warm-sandbox", required_argument, NULL, OPT_WARM}, {                                       \
    "help", no_argument, NULL, 'h'                                                                 \
  }

static const char agent_flags_help[] =
    "  --slots N              jobs run at once (env AIRGAP_SLOTS; default 1)\n"
    "  --labels a,b           labels this agent offers; a job runs here when all of its\n"
    "                         labels are among them (env AIRGAP_LABELS)\n"
    "  --cache DIR            git mirrors and commit snapshots (env AIRGAP_CACHE)\n"
    "  --work DIR             run directories; reaped at start (env AIRGAP_WORK)\n"
    "  --network MODE         sandbox network: bridge (default), none or a Docker network\n"
    "                         name (env AIRGAP_NETWORK)\n"
    "  --id ID                agent id, stable across restarts: containers it left are\n"
    "                         removed at start (env AIRGAP_AGENT_ID; default the hostname)\n"
    "  --pull POLICY          if-not-present (default), always or never (env AIRGAP_PULL)\n"
    "  --user UID[:GID]       user of job containers (default the image's)\n"
    "  --pause PATH           the static airgap-pause program (env AIRGAP_PAUSE; default\n"
    "                         next to the airgap binary)\n"
    "  --shutdown-timeout S   on SIGTERM, seconds running jobs may finish before they are\n"
    "                         canceled (default 600; 0 waits forever)\n"
    "  --warm-sandbox yes|no  keep one sandbox started ahead of the next job, so a job\n"
    "                         does not wait for its network namespace (env\n"
    "                         AIRGAP_WARM_SANDBOX; default yes)\n"
    "  --log-level LEVEL      debug, info, warn or error (default info)\n"
    "  --help                 show this help\n";

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}

static int parse_uint(unsigned *out, const char *text, unsigned max, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long v = text ? strtoul(text, &end, 10) : 0;
  if (!text || !*text || *end || errno || text[0] == '-' || v > max) {
    fprintf(stderr, "airgap: %s must be a whole number from 0 to %u (got '%s')\n", what, max,
            text ? text : "");
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

static void flags_init(agent_flags *f, const char *cache, const char *work) {
  memset(f, 0, sizeof(*f));
  f->o.slots = 1;
  f->o.cache_dir = env_or("AIRGAP_CACHE", cache);
  f->o.work_dir = env_or("AIRGAP_WORK", work);
  f->o.network = env_or("AIRGAP_NETWORK", "bridge");
  f->o.queue_url = env_or("AIRGAP_QUEUE", NULL);
  f->o.token = env_or("AIRGAP_TOKEN", NULL);
  f->o.pause_path = env_or("AIRGAP_PAUSE", NULL);
  f->o.shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
  f->o.agent_id = env_or("AIRGAP_AGENT_ID", NULL);
  f->o.no_warm_sandbox = strcmp(env_or("AIRGAP_WARM_SANDBOX", "yes"), "no") == 0;
  f->o.drain = &drain_flag;
  f->o.abort = &abort_flag;
  f->log_level = env_or("AIRGAP_LOG_LEVEL", NULL);
}

static int set_labels(agent_flags *f, const char *text) {
  free(f->label_buf);
  f->label_buf = strdup(text);
  f->o.label_count = 0;
  if (!f->label_buf)
    return -1;
  for (char *t = f->label_buf; t && *t;) {
    char *comma = strchr(t, ',');
    if (comma)
      *comma = '\0';
    if (*t && f->o.label_count == MAX_LABELS) {
      fprintf(stderr, "airgap: at most %d labels\n", MAX_LABELS);
      return -1;
    }
    if (*t)
      f->labels[f->o.label_count++] = t;
    t = comma ? comma + 1 : NULL;
  }
  f->o.labels = f->labels;
  return 0;
}

/* Handles one of the shared flags; 1 if handled, -1 on a bad value, 0 if not ours. */
static int flags_option(agent_flags *f, int opt, const char *arg) {
  switch (opt) {
  case OPT_SLOTS:
    return parse_uint(&f->o.slots, arg, 256, "--slots") < 0 || f->o.slots == 0 ? -1 : 1;
  case OPT_LABELS: return set_labels(f, arg) < 0 ? -1 : 1;
  case OPT_CACHE: f->o.cache_dir = arg; return 1;
  case OPT_WORK: f->o.work_dir = arg; return 1;
  case OPT_NETWORK: f->o.network = arg; return 1;
  case OPT_ID: f->o.agent_id = arg; return 1;
  case OPT_PULL:
    if (agent_pull_policy_parse(&f->o.pull, arg) < 0) {
      fprintf(stderr, "airgap: %s\n", airgap_error_last());
      return -1;
    }
    return 1;
  case OPT_USER: f->o.user = arg; return 1;
  case OPT_PAUSE: f->o.pause_path = arg; return 1;
  case OPT_SHUTDOWN:
    return parse_uint(&f->o.shutdown_timeout, arg, 7 * 86400, "--shutdown-timeout") < 0 ? -1 : 1;
  case OPT_LOG_LEVEL: f->log_level = arg; return 1;
  case OPT_WARM:
    if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
      fprintf(stderr, "airgap: --warm-sandbox takes yes or no\n");
      return -1;
    }
    f->o.no_warm_sandbox = strcmp(arg, "no") == 0;
    return 1;
  default: return 0;
  }
}

/* Fills what flags did not: binary paths, agent id, environment values. */
static int flags_finish(agent_flags *f) {
  if (f->log_level) {
    log_level level;
    if (log_level_parse(&level, f->log_level) < 0) {
      fprintf(stderr, "airgap: unknown log level '%s'\n", f->log_level);
      return -1;
    }
    log_level_set(level);
  }
  const char *env_slots = getenv("AIRGAP_SLOTS");
  if (env_slots && *env_slots && f->o.slots == 1 &&
      parse_uint(&f->o.slots, env_slots, 256, "AIRGAP_SLOTS") < 0)
    return -1;
  const char *env_labels = getenv("AIRGAP_LABELS");
  if (!f->label_buf && env_labels && *env_labels && set_labels(f, env_labels) < 0)
    return -1;
  const char *env_pull = getenv("AIRGAP_PULL");
  if (env_pull && *env_pull && f->o.pull == AGENT_PULL_IF_NOT_PRESENT &&
      agent_pull_policy_parse(&f->o.pull, env_pull) < 0) {
    fprintf(stderr, "airgap: AIRGAP_PULL: %s\n", airgap_error_last());
    return -1;
  }
  ssize_t n = readlink("/proc/self/exe", f->self, sizeof(f->self) - 1);
  if (n <= 0) {
    fprintf(stderr, "airgap: cannot find the airgap binary (/proc/self/exe): %s\n",
            strerror(errno));
    return -1;
  }
  f->self[n] = '\0';
  f->o.self_exe = f->self;
  if (!f->o.pause_path) {
    const char *slash = strrchr(f->self, '/');
    snprintf(f->pause, sizeof(f->pause), "%.*s/airgap-pause", (int)(slash - f->self), f->self);
    if (access(f->pause, X_OK) != 0)
      snprintf(f->pause, sizeof(f->pause), "/usr/lib/airgap/airgap-pause");
    f->o.pause_path = f->pause;
  }
  if (access(f->o.pause_path, X_OK) != 0) {
    fprintf(stderr,
            "airgap: the sandbox program %s is missing; build the airgap-pause target or "
            "pass --pause PATH\n",
            f->o.pause_path);
    return -1;
  }
  if (!f->o.agent_id) {
    if (gethostname(f->id, sizeof(f->id) - 1) < 0 || !f->id[0])
      snprintf(f->id, sizeof(f->id), "agent");
    f->o.agent_id = f->id;
  }
  for (const char *c = f->o.agent_id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
          *c == '-' || *c == '_' || *c == '.')) {
      fprintf(stderr, "airgap: agent id '%s' may hold only letters, digits, '.', '-', '_'\n",
              f->o.agent_id);
      return -1;
    }
  if (strpbrk(f->o.work_dir, ",: \t\n") || f->o.work_dir[0] != '/') {
    fprintf(stderr, "airgap: --work must be an absolute path without ',', ':' or spaces\n");
    return -1;
  }
  return 0;
}

static void flags_free(agent_flags *f) { free(f->label_buf); }

static int finish_run(int error) {
  if (error < 0) {
    fprintf(stderr, "airgap: %s\n", airgap_error_last());
    return 1;
  }
  return 0;
}

/* Creates a directory (mode 0700) and its missing parents (0755). */
static int make_dirs(const char *path) {
  char parent[PATH_MAX];
  if (snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
    return airgap_error_set(AIRGAP_EINVALID, "path too long: %s", path);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = '\0';
    if (fs_mkdir_p(parent, 0755) < 0)
      return -1;
  }
  return fs_mkdir_p(path, 0700);
}

/* ---- airgap agent ---- */

static void agent_usage(FILE *out) {
  fprintf(out,
          "usage: airgap agent --queue URL --token TOKEN [flags]\n"
          "\n"
          "Leases jobs from a queue and runs each in its own air gap: an overlay workspace of\n"
          "the commit, a sandbox network namespace with a private AWS emulator on\n"
          "localhost:4566, and the job's container. Needs root and a Docker engine.\n"
          "\n"
          "flags:\n"
          "  --queue URL            the queue, http://HOST:PORT (env AIRGAP_QUEUE)\n"
          "  --token TOKEN          an agent token (env AIRGAP_TOKEN)\n"
          "%s"
          "\n"
          "Signals: SIGTERM drains (no new jobs; running ones finish, up to\n"
          "--shutdown-timeout); SIGINT or a second SIGTERM cancels running jobs and exits.\n",
          agent_flags_help);
}

int cmd_agent(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--supervise") == 0)
    return agent_supervise(0);
  agent_flags f;
  flags_init(&f, DEFAULT_CACHE, DEFAULT_WORK);
  static const struct option opts[] = {AGENT_LONG_OPTIONS,
                                       {"queue", required_argument, NULL, OPT_QUEUE},
                                       {"token", required_argument, NULL, OPT_TOKEN},
                                       {NULL, 0, NULL, 0}};
  int code = 2, opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int handled = flags_option(&f, opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    if (opt == OPT_QUEUE)
      f.o.queue_url = optarg;
    else if (opt == OPT_TOKEN)
      f.o.token = optarg;
    else if (opt == 'h') {
      agent_usage(stdout);
      code = 0;
      goto out;
    } else {
      agent_usage(stderr);
      goto out;
    }
  }
  if (optind < argc || !f.o.queue_url || !f.o.token) {
    fprintf(stderr, "airgap agent: %s\n\n",
            optind < argc ? "unexpected argument" : "--queue and --token are required");
    agent_usage(stderr);
    goto out;
  }
  if (flags_finish(&f) < 0)
    goto out;
  install_signals();
  code = finish_run(agent_run(&f.o));
out:
  flags_free(&f);
  return code;
}

/* ---- airgap serve ---- */

static void serve_usage(FILE *out) {
  fprintf(out,
          "usage: airgap serve [--data DIR] [--listen HOST:PORT] [flags]\n"
          "\n"
          "Runs a queue and an agent together with embedded defaults (SQLite under DIR/queue,\n"
          "cache under DIR/cache, run directories under DIR/work) and prints a client token\n"
          "for `airgap submit`. Needs root and a Docker engine.\n"
          "\n"
          "flags:\n"
          "  --data DIR             everything serve keeps (env AIRGAP_DATA; default " DEFAULT_DATA
          ")\n"
          "  --listen HOST:PORT     the queue's address (env AIRGAP_QUEUE_LISTEN; "
          "default " DEFAULT_LISTEN ")\n"
          "%s",
          agent_flags_help);
}

/* A token of role kept in DIR/<role>-token (0600), made on first start, so
 * restarts neither change the printed token nor pile up new ones. */
static int kept_token(char **out, const char *data_dir, const char *queue_dir, const char *role) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s-token", data_dir, role);
  FILE *f = fopen(path, "re");
  if (f) {
    char line[600] = "";
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (ok && line[0]) {
      *out = strdup(line);
      return *out ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
    }
  }
  char *token = NULL;
  int error = queue_token_create(&token, queue_dir, role);
  if (error < 0)
    return error;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, token, strlen(token)) < 0 || write(fd, "\n", 1) < 0) {
    if (fd >= 0)
      close(fd);
    free(token);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", path);
  }
  close(fd);
  *out = token;
  return 0;
}

int cmd_serve(int argc, char **argv) {
  agent_flags f;
  const char *data = env_or("AIRGAP_DATA", DEFAULT_DATA);
  const char *listen = env_or("AIRGAP_QUEUE_LISTEN", DEFAULT_LISTEN);
  flags_init(&f, NULL, NULL);
  static const struct option opts[] = {AGENT_LONG_OPTIONS,
                                       {"data", required_argument, NULL, OPT_DATA},
                                       {"listen", required_argument, NULL, OPT_LISTEN},
                                       {NULL, 0, NULL, 0}};
  int code = 2, opt;
  char queue_dir[PATH_MAX], cache[PATH_MAX], work[PATH_MAX], url[128];
  char *agent_token = NULL, *token = NULL;
  queue_server *server = NULL;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    int handled = flags_option(&f, opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    if (opt == OPT_DATA)
      data = optarg;
    else if (opt == OPT_LISTEN)
      listen = optarg;
    else if (opt == 'h') {
      serve_usage(stdout);
      code = 0;
      goto out;
    } else {
      serve_usage(stderr);
      goto out;
    }
  }
  if (optind < argc) {
    serve_usage(stderr);
    goto out;
  }
  code = 1;
  snprintf(queue_dir, sizeof(queue_dir), "%s/queue", data);
  snprintf(cache, sizeof(cache), "%s/cache", data);
  snprintf(work, sizeof(work), "%s/work", data);
  if (!f.o.cache_dir)
    f.o.cache_dir = cache;
  if (!f.o.work_dir)
    f.o.work_dir = work;
  if (flags_finish(&f) < 0)
    goto out;
  if (make_dirs(data) < 0 || make_dirs(queue_dir) < 0) {
    fprintf(stderr, "airgap serve: %s\n", airgap_error_last());
    goto out;
  }
  /* The queue's threads must not take our signals. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  queue_server_options qo = {.listen = listen, .data_dir = queue_dir};
  int error = queue_server_start(&server, &qo);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (error < 0 || kept_token(&agent_token, data, queue_dir, "agent") < 0 ||
      kept_token(&token, data, queue_dir, "client") < 0) {
    fprintf(stderr, "airgap serve: %s\n", airgap_error_last());
    goto out;
  }
  /* Before anything is printed: whoever reads the token may signal us at once. */
  install_signals();
  const char *colon = strrchr(listen, ':');
  snprintf(url, sizeof(url), "http://%.*s:%u", colon ? (int)(colon - listen) : 9, listen,
           queue_server_port(server));
  printf("airgap serve: queue on %s, agent %s\n"
         "client token: %s\n"
         "  export AIRGAP_QUEUE=%s AIRGAP_TOKEN=%s\n",
         url, f.o.agent_id, token, url, token);
  fflush(stdout);
  f.o.queue_url = url;
  f.o.token = agent_token;
  code = finish_run(agent_run(&f.o));
out:
  queue_server_free(server);
  free(agent_token);
  free(token);
  flags_free(&f);
  return code;
}

/* ---- airgap run ---- */

static void run_usage(FILE *out) {
  fprintf(out,
          "usage: airgap run --repo PATH|URL --image IMAGE [flags] -- COMMAND [ARG...]\n"
          "\n"
          "Runs one job locally through an embedded queue in a temporary directory: the\n"
          "repository's commit in an air gap, COMMAND in IMAGE next to a private AWS emulator\n"
          "on localhost:4566. The job's log goes to stdout. Exit status: the job's exit code\n"
          "(0 passed; 1 for a timeout or OOM kill), 125 errored, 130 canceled.\n"
          "\n"
          "job flags:\n"
          "  --repo PATH|URL        git repository (a local path or a URL)\n"
          "  --ref REF              branch, tag or ref (default the remote's HEAD)\n"
          "  --commit SHA           an exact commit\n"
          "  --image IMAGE          container image\n"
          "  --env K=V              environment variable (repeatable)\n"
          "  --secret K=V           secret variable, masked in the log (repeatable)\n"
          "  --timeout S            job timeout in seconds (default 3600)\n"
          "  --services a,b         emulator services (default all)\n"
          "  --memory SIZE          memory limit, e.g. 512m\n"
          "  --cpus N               CPU limit, e.g. 1.5\n"
          "  --pids N               process limit (default 4096)\n"
          "  --mountpoint PATH      workspace path in the container (default /workspace)\n"
          "\n"
          "agent flags (the cache defaults to the temporary directory):\n"
          "%s",
          agent_flags_help);
}

/* The embedded agent. If it fails (no Docker engine, say) the job would wait
 * forever, so the job is then canceled, which ends the log follow. */
typedef struct run_agent {
  agent_options *o;
  pthread_mutex_t lock;
  int error;
  char message[512];
  queue_client *client;
  const char *job_id;
} run_agent;

static void *run_agent_main(void *arg) {
  run_agent *ra = arg;
  int error = agent_run(ra->o);
  pthread_mutex_lock(&ra->lock);
  ra->error = error;
  if (error < 0) {
    snprintf(ra->message, sizeof(ra->message), "%s", airgap_error_last());
    if (ra->job_id)
      queue_client_cancel(NULL, ra->client, ra->job_id);
  }
  pthread_mutex_unlock(&ra->lock);
  return NULL;
}

static int print_log(const char *data, size_t len, void *payload) {
  (void)payload;
  fwrite(data, 1, len, stdout);
  fflush(stdout);
  return 0;
}

static int add_kv(json_t *obj, const char *arg, const char *flag) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) {
    fprintf(stderr, "airgap run: %s takes KEY=VALUE (got '%s')\n", flag, arg);
    return -1;
  }
  char *key = strndup(arg, (size_t)(eq - arg));
  if (!key)
    return -1;
  json_object_set_new(obj, key, json_string(eq + 1));
  free(key);
  return 0;
}

static int add_list(json_t *spec, const char *key, const char *text) {
  json_t *list = json_array();
  char *copy = strdup(text);
  if (!copy || !list) {
    free(copy);
    json_decref(list);
    return -1;
  }
  for (char *t = copy; t && *t;) {
    char *comma = strchr(t, ',');
    if (comma)
      *comma = '\0';
    if (*t)
      json_array_append_new(list, json_string(t));
    t = comma ? comma + 1 : NULL;
  }
  free(copy);
  json_object_set_new(spec, key, list);
  return 0;
}

int cmd_run(int argc, char **argv) {
  agent_flags f;
  flags_init(&f, NULL, NULL);
  static const struct option opts[] = {AGENT_LONG_OPTIONS,
                                       {"repo", required_argument, NULL, OPT_REPO},
                                       {"ref", required_argument, NULL, OPT_REF},
                                       {"commit", required_argument, NULL, OPT_COMMIT},
                                       {"image", required_argument, NULL, OPT_IMAGE},
                                       {"env", required_argument, NULL, OPT_ENV},
                                       {"secret", required_argument, NULL, OPT_SECRET},
                                       {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                       {"services", required_argument, NULL, OPT_SERVICES},
                                       {"memory", required_argument, NULL, OPT_MEMORY},
                                       {"cpus", required_argument, NULL, OPT_CPUS},
                                       {"pids", required_argument, NULL, OPT_PIDS},
                                       {"mountpoint", required_argument, NULL, OPT_MOUNTPOINT},
                                       {NULL, 0, NULL, 0}};
  int code = 2, opt;
  json_t *spec = json_object(), *env = json_object(), *secrets = json_object();
  json_t *resources = json_object();
  char tmp[1024] = "", queue_dir[PATH_MAX], cache[PATH_MAX], work[PATH_MAX], url[64];
  char *agent_token = NULL, *client_tok = NULL, *spec_text = NULL, *job_id = NULL;
  queue_server *server = NULL;
  queue_client *client = NULL;
  queue_job *job = NULL;
  pthread_t agent_thread;
  int agent_started = 0;
  run_agent ra = {.o = &f.o, .lock = PTHREAD_MUTEX_INITIALIZER};
  const char *repo = NULL, *image = NULL;
  unsigned number = 0;
  optind = 1;
  while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    int handled = flags_option(&f, opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    switch (opt) {
    case OPT_REPO: repo = optarg; break;
    case OPT_REF: json_object_set_new(spec, "ref", json_string(optarg)); break;
    case OPT_COMMIT: json_object_set_new(spec, "commit", json_string(optarg)); break;
    case OPT_IMAGE: image = optarg; break;
    case OPT_ENV:
      if (add_kv(env, optarg, "--env") < 0)
        goto out;
      break;
    case OPT_SECRET:
      if (add_kv(secrets, optarg, "--secret") < 0)
        goto out;
      break;
    case OPT_TIMEOUT:
      if (parse_uint(&number, optarg, QUEUE_MAX_TIMEOUT, "--timeout") < 0)
        goto out;
      json_object_set_new(spec, "timeout", json_integer(number));
      break;
    case OPT_SERVICES:
      if (add_list(spec, "services", optarg) < 0)
        goto out;
      break;
    case OPT_MEMORY: json_object_set_new(resources, "memory", json_string(optarg)); break;
    case OPT_CPUS: {
      char *end = NULL;
      double cpus = strtod(optarg, &end);
      if (!*optarg || *end || !(cpus > 0)) {
        fprintf(stderr, "airgap run: --cpus must be a positive number\n");
        goto out;
      }
      json_object_set_new(resources, "cpus", json_real(cpus));
      break;
    }
    case OPT_PIDS:
      if (parse_uint(&number, optarg, 1u << 22, "--pids") < 0)
        goto out;
      json_object_set_new(resources, "pids", json_integer(number));
      break;
    case OPT_MOUNTPOINT: json_object_set_new(spec, "mountpoint", json_string(optarg)); break;
    case 'h':
      run_usage(stdout);
      code = 0;
      goto out;
    default: run_usage(stderr); goto out;
    }
  }
  if (!repo || !image || optind >= argc) {
    fprintf(stderr, "airgap run: --repo, --image and a command after -- are required\n\n");
    run_usage(stderr);
    goto out;
  }
  /* The command: its words joined by spaces, run by /bin/sh -c. */
  size_t script_len = 1;
  for (int i = optind; i < argc; i++)
    script_len += strlen(argv[i]) + 1;
  char *script = calloc(1, script_len);
  if (!script)
    goto out;
  size_t used = 0;
  for (int i = optind; i < argc; i++)
    used +=
        (size_t)snprintf(script + used, script_len - used, "%s%s", i > optind ? " " : "", argv[i]);
  json_object_set_new(spec, "script", json_string(script));
  free(script);
  char repo_path[PATH_MAX];
  struct stat st;
  if (stat(repo, &st) == 0 && S_ISDIR(st.st_mode) && realpath(repo, repo_path))
    repo = repo_path;
  json_object_set_new(spec, "repo", json_string(repo));
  json_object_set_new(spec, "image", json_string(image));
  if (json_object_size(env))
    json_object_set(spec, "env", env);
  if (json_object_size(secrets))
    json_object_set(spec, "secrets", secrets);
  if (json_object_size(resources))
    json_object_set(spec, "resources", resources);

  code = 125;
  snprintf(tmp, sizeof(tmp), "%s/airgap-run-XXXXXX", env_or("TMPDIR", "/tmp"));
  if (!mkdtemp(tmp)) {
    fprintf(stderr, "airgap run: cannot create a temporary directory %s: %s\n", tmp,
            strerror(errno));
    tmp[0] = '\0';
    goto out;
  }
  snprintf(queue_dir, sizeof(queue_dir), "%s/queue", tmp);
  snprintf(cache, sizeof(cache), "%s/cache", tmp);
  snprintf(work, sizeof(work), "%s/work", tmp);
  if (!f.o.cache_dir)
    f.o.cache_dir = cache;
  f.o.work_dir = work;
  if (!f.log_level)
    f.log_level = "warn"; /* stdout and stderr carry the job's log */
  if (!f.o.agent_id) {
    /* Its own id: reaping at start must not touch another agent's containers. */
    snprintf(f.id, sizeof(f.id), "run-%ld", (long)getpid());
    f.o.agent_id = f.id;
  }
  f.o.max_jobs = 1;
  if (flags_finish(&f) < 0 || mkdir(queue_dir, 0700) < 0)
    goto out;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  queue_server_options qo = {.listen = "127.0.0.1:0", .data_dir = queue_dir, .sync_normal = 1};
  int error = queue_server_start(&server, &qo);
  if (error == 0) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", queue_server_port(server));
    f.o.queue_url = url;
    if ((error = queue_token_create(&agent_token, queue_dir, "agent")) == 0)
      error = queue_token_create(&client_tok, queue_dir, "client");
  }
  if (error == 0) {
    f.o.token = agent_token;
    if (pthread_create(&agent_thread, NULL, run_agent_main, &ra) == 0)
      agent_started = 1;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (error < 0 || !agent_started) {
    fprintf(stderr, "airgap run: %s\n", airgap_error_last());
    goto out;
  }
  install_signals();
  spec_text = json_dumps(spec, JSON_COMPACT);
  if (!spec_text || queue_client_new(&client, url, client_tok) < 0 ||
      queue_client_submit(&job_id, client, spec_text, strlen(spec_text)) < 0) {
    fprintf(stderr, "airgap run: %s\n", airgap_error_last());
    goto out;
  }
  pthread_mutex_lock(&ra.lock);
  ra.client = client;
  ra.job_id = job_id;
  if (ra.error < 0)
    queue_client_cancel(NULL, client, job_id);
  pthread_mutex_unlock(&ra.lock);
  if (queue_client_log_read(client, job_id, 0, 1, print_log, NULL) < 0 ||
      queue_client_get(&job, client, job_id) < 0) {
    fprintf(stderr, "airgap run: %s\n", airgap_error_last());
    goto out;
  }
  if (strcmp(job->state, "passed") == 0)
    code = 0;
  else if (strcmp(job->state, "failed") == 0)
    code = job->has_exit_code && job->exit_code > 0 && job->exit_code < 256 ? job->exit_code : 1;
  else if (strcmp(job->state, "canceled") == 0)
    code = 130;
  fprintf(stderr, "airgap run: job %s %s%s%s", job_id, job->state, job->reason ? " (" : "",
          job->reason ? job->reason : "");
  if (job->has_exit_code)
    fprintf(stderr, "%sexit code %d)\n", job->reason ? ", " : " (", job->exit_code);
  else
    fprintf(stderr, "%s\n", job->reason ? ")" : "");
out:
  if (agent_started) {
    drain_flag = 1;
    pthread_join(agent_thread, NULL);
    if (ra.error < 0)
      fprintf(stderr, "airgap run: agent: %s\n", ra.message);
  }
  queue_job_free(job);
  free(job_id);
  free(spec_text);
  queue_client_free(client);
  queue_server_free(server);
  if (tmp[0] && overlay_reap(tmp) == 0)
    rmdir(tmp);
  free(agent_token);
  free(client_tok);
  json_decref(spec);
  json_decref(env);
  json_decref(secrets);
  json_decref(resources);
  flags_free(&f);
  return code;
}
