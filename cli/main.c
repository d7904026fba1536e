/*
 * main.c — the `airgap` executable: dispatches `airgap <command> [flags]`.
 *
 * It runs `airgap emulator` itself and hands every other command to the
 * airgap-runner executable with execv(), keeping its own argv (so `ps` shows
 * `airgap agent …` and the exit status is the command's own). See
 * cli/commands_int.h for why the commands are split in two executables: this
 * one links only what the emulator needs, so it starts in a few milliseconds.
 */
#include "cli/commands_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Shells use 127 for "command not found"; it collides with no command's own
 * exit codes (wait uses 0–4). */
#define EXIT_NO_RUNNER 127

typedef struct command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* NULL: the runner's */
} command;

#define RUNNER_COMMAND(name, summary) {#name, summary, NULL},
static const command commands[] = {
    {"emulator", "run the LocalStack-compatible AWS emulator", cmd_emulator},
    AIRGAP_RUNNER_COMMANDS(RUNNER_COMMAND)};
#undef RUNNER_COMMAND

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

/* Where airgap-runner is: $AIRGAP_RUNNER, else next to this executable (a
 * build tree), else in ../lib/airgap from it (`cmake --install`). Writes the
 * places it tried into `tried` for the error message. */
static int find_runner(char *out, size_t size, char *tried, size_t tried_size) {
  const char *env = getenv("AIRGAP_RUNNER");
  if (env && *env) {
    snprintf(tried, tried_size, "%s (AIRGAP_RUNNER)", env);
    if (strlen(env) >= size || access(env, X_OK) != 0)
      return -1;
    memcpy(out, env, strlen(env) + 1);
    return 0;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    snprintf(tried, tried_size, "/proc/self/exe: %s", strerror(errno));
    return -1;
  }
  self[n] = '\0';
  int dir_len = (int)(strrchr(self, '/') - self);
  const char *places[] = {"/" AIRGAP_RUNNER_NAME, "/../lib/airgap/" AIRGAP_RUNNER_NAME};
  tried[0] = '\0';
  for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
    int len = snprintf(out, size, "%.*s%s", dir_len, self, places[i]);
    if (len > 0 && (size_t)len < size && access(out, X_OK) == 0)
      return 0;
    size_t used = strlen(tried);
    snprintf(tried + used, tried_size - used, "%s%s", used ? " and " : "", out);
  }
  return -1;
}

static int run_in_runner(char **argv) {
  char path[PATH_MAX], tried[2 * PATH_MAX + 64];
  if (find_runner(path, sizeof(path), tried, sizeof(tried)) < 0) {
    fprintf(stderr,
            "airgap: cannot find %s, which runs `airgap %s` (looked at %s); it is built and "
            "installed with airgap: rebuild or reinstall, or set AIRGAP_RUNNER to its path\n",
            AIRGAP_RUNNER_NAME, argv[1], tried);
    return EXIT_NO_RUNNER;
  }
  execv(path, argv);
  fprintf(stderr, "airgap: cannot run %s: %s\n", path, strerror(errno));
  return EXIT_NO_RUNNER;
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
    /* `airgap help`, `airgap help --help`, `airgap help help`: the list. */
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0 ||
        strcmp(argv[2], "help") == 0) {
      usage(stdout);
      return 0;
    }
    const command *cmd = find_command(argv[2]);
    if (!cmd) {
      fprintf(stderr, "airgap: unknown command '%s'\nsee `airgap --help`\n", argv[2]);
      return 2;
    }
    char *help_argv[] = {argv[0], argv[2], "--help", NULL};
    return cmd->run ? cmd->run(2, help_argv + 1) : run_in_runner(help_argv);
  }
  const command *cmd = find_command(name);
  if (!cmd) {
    fprintf(stderr, "airgap: unknown %s '%s'\nsee `airgap --help`\n",
            name[0] == '-' ? "flag" : "command", name);
    return 2;
  }
  return cmd->run ? cmd->run(argc - 1, argv + 1) : run_in_runner(argv);
}
