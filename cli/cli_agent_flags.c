/*
 * cli_agent_flags.c — what `airgap agent`, `airgap serve` and `airgap run`
 * share: the agent's flags and their environment equivalents, the signal
 * rules, and the check that the Docker engine answers before any job is
 * taken.
 *
 * Signals: a first SIGTERM drains (no new leases; running jobs finish, up to
 * --shutdown-timeout, then are canceled); SIGINT or a second SIGTERM cancels
 * running jobs, tears them down and exits. The handlers only set the two
 * flags agent_options points at; the agent polls them.
 *
 * The Docker check exists because the engine's client can only say that a
 * request failed; a user needs to know whether the socket is missing, is not
 * theirs to use, or has nobody behind it, and each has a different fix.
 */
#include "cli/cli_int.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SHUTDOWN_TIMEOUT 600u
/* Operator ceilings (issue #12 item 7): a job that asks nothing gets
 * DEFAULT_MEMORY; a job asking more than the host has, or more pids than
 * DEFAULT_MAX_PIDS, is refused; its workspace writes at most DEFAULT_MAX_DISK
 * (on a tmpfs: counted against memory only as far as it is used). */
#define DEFAULT_MEMORY "4g"
#define DEFAULT_MAX_PIDS 32768u
#define DEFAULT_MAX_DISK "4g"

/* ---- helpers every runner command uses ---- */

int cli_parse_uint(unsigned *out, const char *cmd, const char *what, const char *text,
                   unsigned max) {
  char *end = NULL;
  errno = 0;
  unsigned long v = text ? strtoul(text, &end, 10) : 0;
  if (!text || !*text || *end || errno || text[0] == '-' || v > max) {
    fprintf(stderr, "airgap %s: %s must be a whole number from 0 to %u (got '%s')\n", cmd, what,
            max, text ? text : "");
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

int cli_make_dirs(const char *path) {
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

/* ---- signals ---- */

static volatile int drain_flag;
static volatile int abort_flag;

static void on_signal(int sig) {
  if (sig == SIGTERM && !drain_flag)
    drain_flag = 1;
  else
    abort_flag = 1;
}

void cli_agent_signals_install(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

void cli_agent_drain(void) { drain_flag = 1; }

void cli_signals_block(sigset_t *old) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, old);
}

/* ---- flags ---- */

void cli_agent_flags_help(FILE *out, int pool, const char *cache_default,
                          const char *work_default) {
  if (pool)
    fprintf(out, "  --slots N              jobs run at once (env AIRGAP_SLOTS; default 1)\n"
                 "  --labels a,b           labels this agent offers; a job runs here when all of "
                 "its\n"
                 "                         labels are among them (env AIRGAP_LABELS; default "
                 "none:\n"
                 "                         only jobs without labels)\n"
                 "  --allow-local-repos    run jobs whose repository is a path or file:// URL on\n"
                 "                         this machine (env AIRGAP_ALLOW_LOCAL_REPOS=1; default\n"
                 "                         off: a queue client must not make the agent read its\n"
                 "                         host's files)\n");
  fprintf(out,
          "  --cache DIR            git mirrors and commit snapshots (env AIRGAP_CACHE;\n"
          "                         default %s)\n",
          cache_default);
  if (pool)
    fprintf(out,
            "  --work DIR             run directories, reaped at start (env AIRGAP_WORK;\n"
            "                         default %s)\n",
            work_default);
  else /* run: the agent reaps its work directory, so it gets a folder of its own */
    fprintf(out,
            "  --work DIR             the job's run directory goes in a new folder in DIR\n"
            "                         (env AIRGAP_WORK; default %s)\n",
            work_default);
  fprintf(out,
          "  --network MODE         sandbox network: bridge, none or a Docker network name\n"
          "                         (env AIRGAP_NETWORK; default bridge)\n"
          "  --id ID                agent id, stable across restarts: containers it left are\n"
          "                         removed at start (env AIRGAP_AGENT_ID; default %s)\n"
          "  --pull POLICY          if-not-present, always or never (env AIRGAP_PULL;\n"
          "                         default if-not-present)\n"
          "  --user UID[:GID]       user of job containers (default the image's)\n"
          "  --pause PATH           the static airgap-pause program (env AIRGAP_PAUSE; default\n"
          "                         next to airgap-runner)\n"
          "  --shutdown-timeout S   on SIGTERM, seconds running jobs may finish before they are\n"
          "                         canceled (default %u; 0 waits forever)\n"
          "  --warm-sandbox yes|no  keep one sandbox started ahead of the next job, so a job\n"
          "                         does not wait for its network namespace (env\n"
          "                         AIRGAP_WARM_SANDBOX; default yes)\n"
          "  --cache-max SIZE       evict snapshots and mirrors past this size, e.g. 20g (env\n"
          "                         AIRGAP_CACHE_MAX; default a quarter of the cache's file\n"
          "                         system)\n"
          "  --cache-max-age DAYS   evict snapshots unused this long (env AIRGAP_CACHE_MAX_AGE;\n"
          "                         default 7)\n"
          "  --default-memory SIZE  memory limit of a job whose spec sets none (env\n"
          "                         AIRGAP_DEFAULT_MEMORY; default " DEFAULT_MEMORY "; 0: none)\n"
          "  --max-memory SIZE      a job asking more memory is refused, errored/memory_limit\n"
          "                         (env AIRGAP_MAX_MEMORY; default the host's memory; 0: none)\n"
          "  --max-cpus N           a job asking more CPUs is refused, errored/cpus_limit (env\n"
          "                         AIRGAP_MAX_CPUS; default the host's CPUs; 0: none)\n"
          "  --max-pids N           a job asking more pids is refused, errored/pids_limit (env\n"
          "                         AIRGAP_MAX_PIDS; default %u; 0: none)\n"
          "  --max-disk SIZE        what a job may write to its workspace, held on a tmpfs of\n"
          "                         this size (env AIRGAP_MAX_DISK; default " DEFAULT_MAX_DISK
          "; 0: the\n"
          "                         host's disk, unbounded)\n"
          "  --log-level LEVEL      debug, info, warn or error (env AIRGAP_LOG_LEVEL; default\n"
          "                         %s)\n"
          "  --help                 show this help\n",
          pool ? "the hostname" : "run-<pid>", DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_MAX_PIDS,
          pool ? "info" : "warn");
}

void cli_agent_flags_init(cli_agent_flags *f, const char *cache, const char *work) {
  memset(f, 0, sizeof(*f));
  const char *fallback;
  f->o.slots = 1;
  f->o.cache_dir = (fallback = cli_env("AIRGAP_CACHE")) ? fallback : cache;
  f->o.work_dir = (fallback = cli_env("AIRGAP_WORK")) ? fallback : work;
  f->o.network = (fallback = cli_env("AIRGAP_NETWORK")) ? fallback : "bridge";
  f->o.queue_url = cli_env("AIRGAP_QUEUE");
  f->o.token = cli_env("AIRGAP_TOKEN");
  f->o.pause_path = cli_env("AIRGAP_PAUSE");
  f->o.shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
  f->o.agent_id = cli_env("AIRGAP_AGENT_ID");
  fallback = cli_env("AIRGAP_WARM_SANDBOX");
  f->o.no_warm_sandbox = fallback && strcmp(fallback, "no") == 0;
  f->o.default_memory = (fallback = cli_env("AIRGAP_DEFAULT_MEMORY")) ? fallback : DEFAULT_MEMORY;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    snprintf(f->max_memory, sizeof(f->max_memory), "%lluk",
             (unsigned long long)pages * (unsigned long long)page / 1024u);
    f->o.max_memory = f->max_memory;
  }
  if ((fallback = cli_env("AIRGAP_MAX_MEMORY")))
    f->o.max_memory = fallback;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  f->o.max_cpus = cpus > 0 ? (double)cpus : 0;
  f->o.max_pids = DEFAULT_MAX_PIDS;
  f->o.max_disk = (fallback = cli_env("AIRGAP_MAX_DISK")) ? fallback : DEFAULT_MAX_DISK;
  f->o.drain = &drain_flag;
  f->o.abort = &abort_flag;
  f->log_level = cli_env("AIRGAP_LOG_LEVEL");
}

int cli_agent_flags_labels(cli_agent_flags *f, const char *cmd, const char *text) {
  free(f->label_buf);
  f->label_buf = strdup(text);
  f->o.label_count = 0;
  f->o.labels = f->labels;
  if (!f->label_buf) {
    fprintf(stderr, "airgap %s: out of memory\n", cmd);
    return -1;
  }
  for (char *t = f->label_buf; t && *t;) {
    char *comma = strchr(t, ',');
    if (comma)
      *comma = '\0';
    if (*t && f->o.label_count == CLI_MAX_LABELS) {
      fprintf(stderr, "airgap %s: at most %d labels\n", cmd, CLI_MAX_LABELS);
      return -1;
    }
    if (*t)
      f->labels[f->o.label_count++] = t;
    t = comma ? comma + 1 : NULL;
  }
  return 0;
}

static int cache_max(cli_agent_flags *f, const char *cmd, const char *what, const char *arg) {
  int64_t bytes = 0;
  if (agent_memory_parse(&bytes, arg) < 0 || bytes <= 0) {
    fprintf(stderr, "airgap %s: %s takes a size like 512m or 20g (got '%s')\n", cmd, what, arg);
    return -1;
  }
  f->o.cache_max_bytes = (uint64_t)bytes;
  return 0;
}

static int cache_max_age(cli_agent_flags *f, const char *cmd, const char *what, const char *arg) {
  unsigned days = 0;
  if (cli_parse_uint(&days, cmd, what, arg, 3650) < 0)
    return -1;
  if (days == 0) {
    fprintf(stderr, "airgap %s: %s must be at least 1 day\n", cmd, what);
    return -1;
  }
  f->o.cache_max_age_secs = days * 86400u;
  return 0;
}

static int parse_cpus(double *out, const char *cmd, const char *what, const char *text) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (!*text || *end || errno || !(v >= 0) || v > 4096) {
    fprintf(stderr, "airgap %s: %s must be a number of CPUs from 0 to 4096 (got '%s')\n", cmd, what,
            text);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_agent_flags_option(cli_agent_flags *f, const char *cmd, int opt, const char *arg) {
  switch (opt) {
  case CLI_OPT_SLOTS:
    if (cli_parse_uint(&f->o.slots, cmd, "--slots", arg, 256) < 0)
      return -1;
    if (f->o.slots == 0) {
      fprintf(stderr, "airgap %s: --slots must be at least 1\n", cmd);
      return -1;
    }
    return 1;
  case CLI_OPT_LABELS: return cli_agent_flags_labels(f, cmd, arg) < 0 ? -1 : 1;
  case CLI_OPT_CACHE: f->o.cache_dir = arg; return 1;
  case CLI_OPT_WORK: f->o.work_dir = arg; return 1;
  case CLI_OPT_NETWORK: f->o.network = arg; return 1;
  case CLI_OPT_ID: f->o.agent_id = arg; return 1;
  case CLI_OPT_PULL:
    if (agent_pull_policy_parse(&f->o.pull, arg) < 0) {
      fprintf(stderr, "airgap %s: %s\n", cmd, airgap_error_last());
      return -1;
    }
    return 1;
  case CLI_OPT_USER: f->o.user = arg; return 1;
  case CLI_OPT_PAUSE: f->o.pause_path = arg; return 1;
  case CLI_OPT_SHUTDOWN:
    return cli_parse_uint(&f->o.shutdown_timeout, cmd, "--shutdown-timeout", arg, 7 * 86400) < 0
               ? -1
               : 1;
  case CLI_OPT_LOG_LEVEL: f->log_level = arg; return 1;
  case CLI_OPT_ALLOW_LOCAL: f->o.allow_local_repos = 1; return 1;
  case CLI_OPT_CACHE_MAX: return cache_max(f, cmd, "--cache-max", arg) < 0 ? -1 : 1;
  case CLI_OPT_CACHE_MAX_AGE: return cache_max_age(f, cmd, "--cache-max-age", arg) < 0 ? -1 : 1;
  case CLI_OPT_DEFAULT_MEMORY: f->o.default_memory = arg; return 1;
  case CLI_OPT_MAX_MEMORY: f->o.max_memory = arg; return 1;
  case CLI_OPT_MAX_CPUS: return parse_cpus(&f->o.max_cpus, cmd, "--max-cpus", arg) < 0 ? -1 : 1;
  case CLI_OPT_MAX_PIDS:
    return cli_parse_uint(&f->o.max_pids, cmd, "--max-pids", arg, 1u << 22) < 0 ? -1 : 1;
  case CLI_OPT_MAX_DISK: f->o.max_disk = arg; return 1;
  case CLI_OPT_WARM:
    if (strcmp(arg, "yes") != 0 && strcmp(arg, "no") != 0) {
      fprintf(stderr, "airgap %s: --warm-sandbox takes yes or no\n", cmd);
      return -1;
    }
    f->o.no_warm_sandbox = strcmp(arg, "no") == 0;
    return 1;
  default: return 0;
  }
}

int cli_agent_flags_finish(cli_agent_flags *f, const char *cmd) {
  if (f->log_level) {
    log_level level;
    if (log_level_parse(&level, f->log_level) < 0) {
      fprintf(stderr, "airgap %s: unknown log level '%s' (debug, info, warn or error)\n", cmd,
              f->log_level);
      return -1;
    }
    log_level_set(level);
  }
  const char *env_slots = cli_env("AIRGAP_SLOTS");
  if (env_slots && f->o.slots == 1 &&
      cli_parse_uint(&f->o.slots, cmd, "AIRGAP_SLOTS", env_slots, 256) < 0)
    return -1;
  const char *env_labels = cli_env("AIRGAP_LABELS");
  if (!f->label_buf && env_labels && cli_agent_flags_labels(f, cmd, env_labels) < 0)
    return -1;
  const char *env_local = cli_env("AIRGAP_ALLOW_LOCAL_REPOS");
  if (env_local && strcmp(env_local, "1") == 0)
    f->o.allow_local_repos = 1;
  const char *env_cache_max = cli_env("AIRGAP_CACHE_MAX");
  if (env_cache_max && !f->o.cache_max_bytes &&
      cache_max(f, cmd, "AIRGAP_CACHE_MAX", env_cache_max) < 0)
    return -1;
  const char *env_cache_age = cli_env("AIRGAP_CACHE_MAX_AGE");
  if (env_cache_age && !f->o.cache_max_age_secs &&
      cache_max_age(f, cmd, "AIRGAP_CACHE_MAX_AGE", env_cache_age) < 0)
    return -1;
  const char *env_pull = cli_env("AIRGAP_PULL");
  if (env_pull && f->o.pull == AGENT_PULL_IF_NOT_PRESENT &&
      agent_pull_policy_parse(&f->o.pull, env_pull) < 0) {
    fprintf(stderr, "airgap %s: AIRGAP_PULL: %s\n", cmd, airgap_error_last());
    return -1;
  }
  /* Environment values count where no flag changed the default (as slots). */
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  const char *env_cpus = cli_env("AIRGAP_MAX_CPUS");
  if (env_cpus && f->o.max_cpus == (online > 0 ? (double)online : 0) &&
      parse_cpus(&f->o.max_cpus, cmd, "AIRGAP_MAX_CPUS", env_cpus) < 0)
    return -1;
  const char *env_pids = cli_env("AIRGAP_MAX_PIDS");
  if (env_pids && f->o.max_pids == DEFAULT_MAX_PIDS &&
      cli_parse_uint(&f->o.max_pids, cmd, "AIRGAP_MAX_PIDS", env_pids, 1u << 22) < 0)
    return -1;
  /* "0" switches a size off. */
  if (f->o.default_memory && strcmp(f->o.default_memory, "0") == 0)
    f->o.default_memory = NULL;
  if (f->o.max_memory && strcmp(f->o.max_memory, "0") == 0)
    f->o.max_memory = NULL;
  ssize_t n = readlink("/proc/self/exe", f->self, sizeof(f->self) - 1);
  if (n <= 0) {
    fprintf(stderr, "airgap %s: cannot find the airgap binary (/proc/self/exe): %s\n", cmd,
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
            "airgap %s: the sandbox program %s is missing; build the airgap-pause target or "
            "pass --pause PATH\n",
            cmd, f->o.pause_path);
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
      fprintf(stderr, "airgap %s: agent id '%s' may hold only letters, digits, '.', '-', '_'\n",
              cmd, f->o.agent_id);
      return -1;
    }
  if (strpbrk(f->o.work_dir, ",: \t\n") || f->o.work_dir[0] != '/') {
    fprintf(stderr, "airgap %s: --work must be an absolute path without ',', ':' or spaces\n", cmd);
    return -1;
  }
  return 0;
}

void cli_agent_flags_free(cli_agent_flags *f) {
  free(f->label_buf);
  f->label_buf = NULL;
}

/* ---- the Docker engine ---- */

int cli_docker_check(const char *docker_host) {
  docker_client *docker = NULL;
  int error = docker_client_new(&docker, docker_host);
  if (error < 0)
    return error;
  error = docker_ping(docker); /* its message names the real cause */
  docker_client_free(docker);
  return error;
}
