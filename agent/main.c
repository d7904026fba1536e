/*
 * main.c — the `airgap` binary: dispatches `airgap <command> [flags]` to the
 * command files (cmd_*.c), which use only the components' public headers.
 */
#include "agent/commands.h"
#include "common/http_client.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
  int needs_http_client; /* libcurl's global init costs ~2 ms and ~2 MiB of RSS */
} command;

static const command commands[] = {
    {"emulator", cmd_emulator, "run the LocalStack-compatible AWS emulator", 0},
    {"queue", cmd_queue, "run the job queue service; manage its tokens", 1},
    {"agent", cmd_agent, "lease jobs from a queue and run them", 1},
    {"serve", cmd_serve, "queue and agent in one process tree (zero set-up)", 1},
    {"run", cmd_run, "run one job locally and exit with its status", 1},
    {"submit", cmd_submit, "submit a job to a queue", 1},
    {"jobs", cmd_jobs, "list jobs", 1},
    {"show", cmd_show, "show one job", 1},
    {"logs", cmd_logs, "print (or follow with -f) a job's log", 1},
    {"cancel", cmd_cancel, "cancel a job", 1},
    {"wait", cmd_wait, "wait for a job; exit 0 passed, 1 failed, 2 errored, 3 canceled", 1},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airgap <command> [flags]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "  %-9s %s\n", "help", "show this help, or `airgap help <command>`");
  fprintf(out, "\nflags:\n  --version  print the version\n  --help     show this help\n"
               "\n`airgap <command> --help` documents the command's flags.\n");
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *name = argv[1];
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("airgap %s\n", AIRGAP_VERSION);
    return 0;
  }
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(name, "help") == 0) {
    if (argc < 3) {
      usage(stdout);
      return 0;
    }
    const command *cmd = find_command(argv[2]);
    if (!cmd) {
      fprintf(stderr, "airgap: unknown command '%s'\n\n", argv[2]);
      usage(stderr);
      return 2;
    }
    char *help_argv[] = {argv[2], "--help", NULL};
    return cmd->run(2, help_argv);
  }
  const command *cmd = find_command(name);
  if (!cmd) {
    fprintf(stderr, "airgap: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
  }
  if (cmd->needs_http_client && http_client_global_init() < 0) {
    fprintf(stderr, "airgap: cannot initialise libcurl\n");
    return 1;
  }
  return cmd->run(argc - 1, argv + 1);
}
