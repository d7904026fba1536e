/*
 * commands.h — the airgap CLI's subcommands, one file each (cmd_*.c).
 *
 * Every command receives argv with argv[0] set to the command name, parses its
 * own flags (getopt_long; unknown flag → usage on stderr, exit 2; --help →
 * usage on stdout, exit 0) and returns the process exit code.
 *
 * The commands live in two executables behind the one `airgap` command (git
 * does the same with git-remote-http, to keep libcurl out of git's start):
 * `airgap` itself carries the emulator, which must start in milliseconds and
 * stay small, and links only libmicrohttpd, jansson, expat and libcrypto;
 * every other command needs libcurl, libgit2, SQLite or libarchive (54 shared
 * libraries with their dependencies, ~12 ms and ~10 MiB just to load) and
 * lives in `airgap-runner`, which `airgap` execs in its own place.
 */
#ifndef AIRGAP_AGENT_COMMANDS_H
#define AIRGAP_AGENT_COMMANDS_H

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

#endif
