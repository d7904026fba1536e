/*
 * cli_int.h — what the runner's commands share, private to cli/: the agent's
 * flags (agent, serve, run; cli_agent_flags.c), the connection to a queue
 * (submit, jobs, show, logs, cancel, wait; cli_client.c) and the one builder
 * of a job's spec from flags (run and submit; spec_flags.c).
 *
 * Option ids of every group live in one enum, so a command can take flags of
 * several groups in one getopt_long table without two flags colliding.
 */
#ifndef AIRGAP_CLI_INT_H
#define AIRGAP_CLI_INT_H

#include "agent/agent.h"
#include "cli/commands_int.h"
#include "queue/queue.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

/* getopt_long ids (above any character) of the shared flag groups. */
enum {
  /* agent flags */
  CLI_OPT_SLOTS = 1000,
  CLI_OPT_LABELS,
  CLI_OPT_CACHE,
  CLI_OPT_WORK,
  CLI_OPT_NETWORK,
  CLI_OPT_ID,
  CLI_OPT_PULL,
  CLI_OPT_USER,
  CLI_OPT_PAUSE,
  CLI_OPT_SHUTDOWN,
  CLI_OPT_LOG_LEVEL,
  CLI_OPT_WARM,
  CLI_OPT_CACHE_MAX,
  CLI_OPT_CACHE_MAX_AGE,
  CLI_OPT_ALLOW_LOCAL,
  /* agent ceilings (issue #12 item 7) */
  CLI_OPT_DEFAULT_MEMORY,
  CLI_OPT_MAX_MEMORY,
  CLI_OPT_MAX_CPUS,
  CLI_OPT_MAX_PIDS,
  CLI_OPT_MAX_DISK,
  /* connection flags */
  CLI_OPT_QUEUE,
  CLI_OPT_TOKEN,
  /* spec flags */
  CLI_OPT_REPO,
  CLI_OPT_REF,
  CLI_OPT_COMMIT,
  CLI_OPT_IMAGE,
  CLI_OPT_SCRIPT,
  CLI_OPT_ENV,
  CLI_OPT_SECRET,
  CLI_OPT_TIMEOUT,
  CLI_OPT_SERVICES,
  CLI_OPT_LABEL,
  CLI_OPT_MEMORY,
  CLI_OPT_CPUS,
  CLI_OPT_PIDS,
  CLI_OPT_MOUNTPOINT,
  /* the first id a command may use for its own flags */
  CLI_OPT_OWN,
};

/* Parses a whole number in [0, max] for flag `what` ("--slots"); prints
 * "airgap <cmd>: ..." and returns -1 when text is not one. */
int cli_parse_uint(unsigned *out, const char *cmd, const char *what, const char *text,
                   unsigned max);

/* ---- the agent's flags (cli_agent_flags.c) ---- */

#define CLI_MAX_LABELS 32

typedef struct cli_agent_flags {
  agent_options o;
  char *label_buf;
  const char *labels[CLI_MAX_LABELS];
  char self[PATH_MAX];
  char pause[PATH_MAX];
  char id[256];
  const char *log_level;
  char max_memory[32]; /* the default ceiling: the host's memory */
} cli_agent_flags;

/* The flags every agent-running command takes (run: one job on its own
 * agent), and those that only make sense for an agent serving a queue. */
#define CLI_AGENT_OPTIONS                                                                          \
  {"cache", required_argument, NULL, CLI_OPT_CACHE},                                               \
      {"work", required_argument, NULL, CLI_OPT_WORK},                                             \
      {"network", required_argument, NULL, CLI_OPT_NETWORK},                                       \
      {"id", required_argument, NULL, CLI_OPT_ID},                                                 \
      {"pull", required_argument, NULL, CLI_OPT_PULL},                                             \
      {"user", required_argument, NULL, CLI_OPT_USER},                                             \
      {"pause", required_argument, NULL, CLI_OPT_PAUSE},                                           \
      {"shutdown-timeout", required_argument, NULL, CLI_OPT_SHUTDOWN},                             \
      {"log-level", required_argument, NULL, CLI_OPT_LOG_LEVEL},                                   \
      {"warm-sandbox", required_argument, NULL, CLI_OPT_WARM},                                     \
      {"cache-max", required_argument, NULL, CLI_OPT_CACHE_MAX},                                   \
      {"cache-max-age", required_argument, NULL, CLI_OPT_CACHE_MAX_AGE},                           \
      {"default-memory", required_argument, NULL, CLI_OPT_DEFAULT_MEMORY},                         \
      {"max-memory", required_argument, NULL, CLI_OPT_MAX_MEMORY},                                 \
      {"max-cpus", required_argument, NULL, CLI_OPT_MAX_CPUS},                                     \
      {"max-pids", required_argument, NULL, CLI_OPT_MAX_PIDS},                                     \
      {"max-disk", required_argument, NULL, CLI_OPT_MAX_DISK}, {                                   \
    "help", no_argument, NULL, 'h'                                                                 \
  }
#define CLI_AGENT_POOL_OPTIONS                                                                     \
  {"slots", required_argument, NULL, CLI_OPT_SLOTS},                                               \
      {"allow-local-repos", no_argument, NULL, CLI_OPT_ALLOW_LOCAL}, {                             \
    "labels", required_argument, NULL, CLI_OPT_LABELS                                              \
  }

/* Prints the help lines of the agent flags (with pool, also --slots and
 * --labels); cache_default and work_default name the defaults. */
void cli_agent_flags_help(FILE *out, int pool, const char *cache_default, const char *work_default);

/* Defaults and environment (AIRGAP_CACHE, AIRGAP_WORK, AIRGAP_NETWORK, ...);
 * cache/work may be NULL for commands that fill them in later. The signal
 * flags of agent_options point at this file's drain and abort flags. */
void cli_agent_flags_init(cli_agent_flags *f, const char *cache, const char *work);

/* One option of the groups: 1 handled, 0 not an agent flag, -1 a bad value
 * (printed). */
int cli_agent_flags_option(cli_agent_flags *f, const char *cmd, int opt, const char *arg);

/* Sets the labels the agent offers from "a,b" (a copy is kept). */
int cli_agent_flags_labels(cli_agent_flags *f, const char *cmd, const char *text);

/* Fills what flags did not (binary paths, agent id, environment values) and
 * checks the result; prints what is wrong and returns -1. */
int cli_agent_flags_finish(cli_agent_flags *f, const char *cmd);

void cli_agent_flags_free(cli_agent_flags *f);

/* First SIGTERM drains, SIGINT or a second SIGTERM aborts (the agent's
 * flags); SIGPIPE ignored. */
void cli_agent_signals_install(void);

/* Asks the agent to drain, as a first SIGTERM would. */
void cli_agent_drain(void);

/* Blocks SIGTERM and SIGINT in the calling thread, the old mask in *old:
 * threads started before pthread_sigmask(SIG_SETMASK, old) restores it (the
 * queue's, the agent's) inherit the block, so only the main thread takes
 * the signals. */
void cli_signals_block(sigset_t *old);

/* Checks that the Docker engine (options' docker_host, else DOCKER_HOST,
 * else the default socket) answers; on failure the message says why in the
 * user's terms: no socket there, permission denied (and what to do),
 * nothing listening, an unsupported DOCKER_HOST. */
int cli_docker_check(const char *docker_host);

/* Creates path (0700) and its missing parents (0755). */
int cli_make_dirs(const char *path);

/* ---- the connection to a queue (cli_client.c) ---- */

#define CLI_DEFAULT_QUEUE "http://127.0.0.1:8470"

#define CLI_CLIENT_OPTIONS                                                                         \
  {"queue", required_argument, NULL, CLI_OPT_QUEUE},                                               \
      {"token", required_argument, NULL, CLI_OPT_TOKEN}, {                                         \
    "help", no_argument, NULL, 'h'                                                                 \
  }

extern const char cli_client_help[];

typedef struct cli_conn {
  const char *queue;
  const char *token;
} cli_conn;

/* From AIRGAP_QUEUE / AIRGAP_TOKEN, then the default queue. */
void cli_conn_init(cli_conn *c);

/* --queue or --token: 1; anything else 0. */
int cli_conn_option(cli_conn *c, int opt, const char *arg);

/* Connects; prints the error and returns -1 on failure. */
int cli_conn_client(queue_client **out, const char *cmd, const cli_conn *c);

/* Prints "airgap <cmd>: <last error>" and returns 1. */
int cli_fail(const char *cmd);

/* The flags of a command taking one job id and only the connection flags
 * (show, cancel): returns -1 with *out_id set to go on, else the exit code. */
int cli_one_id_command(const char **out_id, const char *cmd, void (*usage)(FILE *), int argc,
                       char **argv, cli_conn *c);

/* "2026-12-02T10:00:00Z", or "-" for 0. */
void cli_format_time(char *out, size_t size, int64_t ms);

/* ---- a job's spec from flags (spec_flags.c): one builder for run and submit ---- */

#define CLI_SPEC_OPTIONS                                                                           \
  {"repo", required_argument, NULL, CLI_OPT_REPO}, {"ref", required_argument, NULL, CLI_OPT_REF},  \
      {"commit", required_argument, NULL, CLI_OPT_COMMIT},                                         \
      {"image", required_argument, NULL, CLI_OPT_IMAGE},                                           \
      {"script", required_argument, NULL, CLI_OPT_SCRIPT},                                         \
      {"env", required_argument, NULL, CLI_OPT_ENV},                                               \
      {"secret", required_argument, NULL, CLI_OPT_SECRET},                                         \
      {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                                       \
      {"services", required_argument, NULL, CLI_OPT_SERVICES},                                     \
      {"label", required_argument, NULL, CLI_OPT_LABEL},                                           \
      {"memory", required_argument, NULL, CLI_OPT_MEMORY},                                         \
      {"cpus", required_argument, NULL, CLI_OPT_CPUS},                                             \
      {"pids", required_argument, NULL, CLI_OPT_PIDS}, {                                           \
    "mountpoint", required_argument, NULL, CLI_OPT_MOUNTPOINT                                      \
  }

extern const char spec_flags_help[];

typedef struct spec_flags spec_flags;

/* An empty builder. Owned: spec_flags_free. NULL when out of memory. */
spec_flags *spec_flags_new(void);
void spec_flags_free(spec_flags *s);

/* One option: 1 handled, 0 not a spec flag, -1 a bad value (printed as
 * "airgap <cmd>: ..."). */
int spec_flags_option(spec_flags *s, const char *cmd, int opt, const char *arg);

/* How many spec flags were given. */
unsigned spec_flags_count(const spec_flags *s);

/* The job's labels as given with --label, joined with commas ("" for none);
 * owned (free()), NULL when out of memory. */
char *spec_flags_labels(const spec_flags *s);

/* The spec as compact JSON (owned, free()): the flags, and the command words
 * (argv of count words, may be 0) as the script, each word shell-quoted so
 * that /bin/sh -c runs exactly those words. A repository that is not a URL
 * is a local directory: it must exist and becomes an absolute path. Prints
 * what is wrong ("airgap <cmd>: ...") and returns -1. */
int spec_flags_build(char **out, spec_flags *s, const char *cmd, int count, char **words);

#endif
