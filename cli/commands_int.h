/*
 * commands_int.h — the airgap CLI's subcommands, one file each (cmd_*.c).
 *
 * Every command receives argv with argv[0] set to the command name, parses its
 * own flags (getopt_long; --help → usage on stdout, exit 0; an unknown flag or
 * a missing value → one line on stderr naming it and `airgap <cmd> --help`,
 * exit 2, see cli_flag_error) and returns the process exit code.
 *
 * The commands live in two executables behind the one `airgap` command (git
 * does the same with git-remote-http, to keep libcurl out of git's start):
 * `airgap` itself carries the emulator, which must start in milliseconds and
 * stay small, and links only libmicrohttpd, jansson, expat and libcrypto;
 * every other command needs libcurl, libgit2, SQLite or libarchive (54 shared
 * libraries with their dependencies, ~12 ms and ~10 MiB just to load) and
 * lives in `airgap-runner`, which `airgap` execs in its own place.
 */
#ifndef AIRGAP_CLI_COMMANDS_INT_H
#define AIRGAP_CLI_COMMANDS_INT_H

/* In the `airgap` executable. */
int cmd_emulator(int argc, char **argv);

/* The commands of `airgap-runner`, as X(name, summary): main.c lists them in
 * the usage and hands them over; runner_main.c runs cmd_<name>. */
#define AIRGAP_RUNNER_COMMANDS(X)                                                                  \
  X(queue, "run the job queue service; manage its tokens")                                         \
  X(agent, "lease jobs from a queue and run them")                                                 \
  X(serve, "queue and agent in one process tree (zero set-up)")                                    \
  X(run, "run one job locally and exit with its status")                                           \
  X(submit, "submit a job to a queue")                                                             \
  X(jobs, "list jobs")                                                                             \
  X(show, "show one job")                                                                          \
  X(logs, "print (or follow with -f) a job's log")                                                 \
  X(cancel, "cancel a job")                                                                        \
  X(wait, "wait for a job; exit 0 passed, 1 failed, 2 errored, 3 canceled")

#define AIRGAP_DECLARE_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
AIRGAP_RUNNER_COMMANDS(AIRGAP_DECLARE_COMMAND)
#undef AIRGAP_DECLARE_COMMAND

/* The runner's file name; airgap looks for it next to itself, then in
 * ../lib/airgap (the installed layout), unless AIRGAP_RUNNER names it. */
#define AIRGAP_RUNNER_NAME "airgap-runner"

/* Call before getopt_long: getopt's own messages are turned off, so that
 * cli_flag_error says it once, in one line (cli_flags.c). An optstring that
 * starts with ':' (after an optional '+') lets getopt tell a missing value
 * (':') from an unknown flag ('?'). */
void cli_getopt_reset(void);

/* For getopt_long's ':' or '?': prints "airgap <cmd>: unknown flag '--x'" (or
 * "flag '--x' needs a value") and "see `airgap <cmd> --help`" on stderr, and
 * returns 2, the exit code of a usage error. */
int cli_flag_error(const char *cmd, int opt, char **argv);

/* For a usage error other than a flag (a missing argument, one too many):
 * prints "airgap <cmd>: <message>" and the --help hint; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getenv, but NULL for an unset or empty variable: an empty AIRGAP_* or
 * LocalStack variable means the default, as in LocalStack. */
const char *cli_env(const char *name);

#endif
