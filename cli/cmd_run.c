/*
 * cmd_run.c — `airgap run`: one job from the command line, the local
 * one-shot. An embedded queue (SQLite in a temporary directory, on a loopback
 * port of its own) and an embedded agent (a thread, max one job) run it; its
 * log goes to stdout; the exit status is the job's.
 *
 * The job is built by the same spec builder as `airgap submit`
 * (spec_flags.c), so both commands quote `-- COMMAND ARGS` the same way. The
 * agent offers exactly the job's labels, so a job with --label still runs.
 *
 * The queue is an implementation detail: its URL never shows in a message.
 * When the agent cannot run at all (no Docker engine, say) the job would wait
 * forever, so it is canceled to end the log's follow, and the run reports
 * what the agent said and exits 125 (errored), not 130 (canceled, which only
 * a signal means). The Docker engine is checked before anything starts, so
 * the common case ("no socket", "permission denied") is said at once.
 */
#include "cli/cli_int.h"
#include "common/error.h"
#include "common/log.h"
#include "overlay/overlay.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_ERRORED 125
#define EXIT_CANCELED 130

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap run --repo PATH|URL --image IMAGE [flags] -- COMMAND [ARG...]\n"
          "       airgap run --repo PATH|URL --image IMAGE --script TEXT [flags]\n"
          "\n"
          "Runs one job locally through an embedded queue in a temporary directory: the\n"
          "repository's commit in an air gap, COMMAND in IMAGE next to a private AWS emulator\n"
          "on localhost:4566. COMMAND and its ARGs run as given (each word quoted for the\n"
          "container's /bin/sh -c); --script takes a shell script instead. The job's log goes\n"
          "to stdout. Exit status: the job's exit code (0 passed; 1 for a timeout or an OOM\n"
          "kill), 125 errored (the job could not run: image, git, Docker), 130 canceled.\n"
          "Needs root and a Docker engine.\n"
          "\n"
          "job flags:\n"
          "%s"
          "\n"
          "agent flags:\n",
          spec_flags_help);
  cli_agent_flags_help(out, 0, "a temporary directory", "a temporary directory");
}

/* ---- the embedded agent ---- */

/* The agent's thread. If agent_run fails while the job waits, the job is
 * canceled so that the log follow ends; the message is kept for the user. */
typedef struct run_agent {
  agent_options *o;
  pthread_mutex_t lock;
  int error;
  char message[1024];
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

/* Prints "airgap run: <what>: <message>" with the embedded queue's URL (an
 * address that means nothing to the user and is gone when run exits)
 * replaced by words. */
static void print_error(const char *what, const char *message, const char *url) {
  fprintf(stderr, "airgap run: %s%s", what ? what : "", what ? ": " : "");
  size_t url_len = url ? strlen(url) : 0;
  for (const char *p = message; *p;) {
    const char *hit = url_len ? strstr(p, url) : NULL;
    if (!hit) {
      fputs(p, stderr);
      break;
    }
    fwrite(p, 1, (size_t)(hit - p), stderr);
    fputs("the embedded queue", stderr);
    p = hit + url_len;
    /* the request path after the URL ("/v1/jobs/…") says no more */
    while (*p && *p != ' ' && *p != ':' && *p != ';' && *p != ',')
      p++;
  }
  fputc('\n', stderr);
}

/* The run directory: under the temporary directory, or a new folder of its
 * own in --work DIR (the agent reaps its work directory at start; another
 * agent's runs there must not be touched). */
static int make_work_dir(char *out, size_t size, const char *given, const char *tmp) {
  if (!given)
    return snprintf(out, size, "%s/work", tmp) < (int)size ? 0 : -1;
  if (given[0] != '/' || snprintf(out, size, "%s/run-XXXXXX", given) >= (int)size) {
    fprintf(stderr, "airgap run: --work must be an absolute path\n");
    return -1;
  }
  if (cli_make_dirs(given) < 0) {
    fprintf(stderr, "airgap run: --work %s: %s\n", given, airgap_error_last());
    return -1;
  }
  if (!mkdtemp(out)) {
    fprintf(stderr, "airgap run: cannot create a run folder in %s: %s\n", given, strerror(errno));
    return -1;
  }
  return 0;
}

int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {CLI_AGENT_OPTIONS, CLI_SPEC_OPTIONS, {NULL, 0, NULL, 0}};
  cli_agent_flags f;
  cli_agent_flags_init(&f, NULL, NULL);
  const char *work_given = f.o.work_dir;
  f.o.work_dir = NULL;
  spec_flags *flags = spec_flags_new();
  int code = 2, opt, agent_started = 0, own_work = 0;
  char tmp[1024] = "", queue_dir[PATH_MAX], cache[PATH_MAX], work[PATH_MAX] = "", url[64] = "";
  char *agent_token = NULL, *client_token = NULL, *spec = NULL, *job_id = NULL, *labels = NULL;
  queue_server *server = NULL;
  queue_client *client = NULL;
  queue_job *job = NULL;
  pthread_t agent_thread;
  agent_sandbox_ahead *ahead = NULL;
  run_agent ra = {.o = &f.o, .lock = PTHREAD_MUTEX_INITIALIZER};
  if (!flags) {
    fprintf(stderr, "airgap run: out of memory\n");
    code = 1;
    goto out;
  }
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    int handled = cli_agent_flags_option(&f, "run", opt, optarg);
    if (handled == 0)
      handled = spec_flags_option(flags, "run", opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto out;
    }
    code = cli_flag_error("run", opt, argv);
    goto out;
  }
  /* --work: the flags wrote it into the options; it names a parent here. */
  if (f.o.work_dir)
    work_given = f.o.work_dir;
  if (spec_flags_build(&spec, flags, "run", argc - optind, argv + optind) < 0)
    goto out;
  if (!(labels = spec_flags_labels(flags)) || cli_agent_flags_labels(&f, "run", labels) < 0) {
    code = 1;
    goto out;
  }

  code = EXIT_ERRORED;
  const char *tmpdir = cli_env("TMPDIR");
  snprintf(tmp, sizeof(tmp), "%s/airgap-run-XXXXXX", tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(tmp)) {
    fprintf(stderr, "airgap run: cannot create a temporary directory %s: %s\n", tmp,
            strerror(errno));
    tmp[0] = '\0';
    goto out;
  }
  snprintf(queue_dir, sizeof(queue_dir), "%s/queue", tmp);
  snprintf(cache, sizeof(cache), "%s/cache", tmp);
  if (make_work_dir(work, sizeof(work), work_given, tmp) < 0) {
    work[0] = '\0';
    goto out;
  }
  own_work = work_given != NULL;
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
  /* No next job to start a sandbox ahead for: the agent's start skips the
   * sandbox image's check, which the supervisor makes anyway. */
  f.o.no_warm_sandbox = 1;
  code = 2;                  /* what finish refuses is a flag's value */
  f.o.allow_local_repos = 1; /* run: its user is on this machine */
  if (cli_agent_flags_finish(&f, "run") < 0)
    goto out;
  code = EXIT_ERRORED;
  sigset_t old;
  cli_signals_block(&old); /* the queue's and agent's threads must not take our signals */
  /* The job's sandbox starts first, beside everything below: the job
   * container can start only once it runs, and a container start is the
   * largest step of a job. Without it the supervisor starts one. */
  if (agent_sandbox_ahead_start(&ahead, &f.o, spec, strlen(spec)) < 0)
    log_debug("run", "no sandbox ahead: %s", airgap_error_last());
  f.o.sandbox_ahead = ahead;
  if (cli_docker_check(f.o.docker_host) < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    print_error("errored", airgap_error_last(), NULL);
    goto out;
  }
  if (mkdir(queue_dir, 0700) < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fprintf(stderr, "airgap run: cannot create %s: %s\n", queue_dir, strerror(errno));
    goto out;
  }
  queue_server_options qo = {.listen = "127.0.0.1:0", .data_dir = queue_dir, .sync_normal = 1};
  int error = queue_server_start(&server, &qo);
  if (error == 0) {
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", queue_server_port(server));
    f.o.queue_url = url;
    if ((error = queue_server_token_create(&agent_token, server, "agent")) == 0)
      error = queue_server_token_create(&client_token, server, "client");
  }
  if (error < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    print_error("cannot start the embedded queue", airgap_error_last(), url);
    goto out;
  }
  /* The job is queued before the agent starts: its first lease request finds
   * it at once, and never waits behind a sandbox started ahead for a next
   * job that a one-shot does not have. */
  if ((error = queue_client_new(&client, url, client_token)) < 0 ||
      (error = queue_client_submit(&job_id, client, spec, strlen(spec))) < 0) {
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    print_error("cannot submit the job", airgap_error_last(), url);
    if (error == AIRGAP_EINVALID)
      code = 2; /* the queue refused a flag's value: a usage error */
    goto out;
  }
  ra.client = client;
  ra.job_id = job_id;
  f.o.token = agent_token;
  if (pthread_create(&agent_thread, NULL, run_agent_main, &ra) == 0)
    agent_started = 1;
  else
    error = airgap_error_set(AIRGAP_ERROR, "cannot start the agent's thread");
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (error < 0) {
    print_error("cannot start the embedded agent", airgap_error_last(), url);
    goto out;
  }
  cli_agent_signals_install();
  if (queue_client_log_read(client, job_id, 0, 1, print_log, NULL) < 0 ||
      queue_client_get(&job, client, job_id) < 0) {
    print_error("cannot follow the job", airgap_error_last(), url);
    goto out;
  }
  pthread_mutex_lock(&ra.lock);
  int agent_failed = ra.error < 0;
  pthread_mutex_unlock(&ra.lock);
  if (agent_failed && strcmp(job->state, "canceled") == 0) {
    /* Canceled by us because the agent could not run it: that is an error. */
    fprintf(stderr, "airgap run: job %s errored\n", job_id);
    goto out; /* the agent's message follows below */
  }
  if (strcmp(job->state, "passed") == 0)
    code = 0;
  else if (strcmp(job->state, "failed") == 0)
    code = job->has_exit_code && job->exit_code > 0 && job->exit_code < 256 ? job->exit_code : 1;
  else if (strcmp(job->state, "canceled") == 0)
    code = EXIT_CANCELED;
  fprintf(stderr, "airgap run: job %s %s%s%s", job_id, job->state, job->reason ? " (" : "",
          job->reason ? job->reason : "");
  if (job->has_exit_code)
    fprintf(stderr, "%sexit code %d)\n", job->reason ? ", " : " (", job->exit_code);
  else
    fprintf(stderr, "%s\n", job->reason ? ")" : "");
out:
  if (agent_started) {
    cli_agent_drain();
    pthread_join(agent_thread, NULL);
    if (ra.error < 0)
      print_error(code == EXIT_ERRORED ? "errored" : "agent", ra.message, url);
  }
  agent_sandbox_ahead_free(ahead); /* removed unless the job took it */
  queue_job_free(job);
  free(job_id);
  free(spec);
  free(labels);
  queue_client_free(client);
  queue_server_free(server);
  if (own_work && work[0] && overlay_reap(work) == 0)
    rmdir(work);
  if (tmp[0] && overlay_reap(tmp) == 0)
    rmdir(tmp);
  free(agent_token);
  free(client_token);
  spec_flags_free(flags);
  cli_agent_flags_free(&f);
  return code;
}
