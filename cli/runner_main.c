/*
 * runner_main.c — the airgap-runner executable: every `airgap` command but the
 * emulator (see cli/commands_int.h). `airgap` execs it with its own argv, so
 * argv[1] is the command; the agent's job supervisors are this executable too
 * (`agent --supervise`, found through /proc/self/exe).
 */
#include "cli/commands_int.h"
#include "common/http_client.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
} command;

#define RUNNER_COMMAND(name, summary) {#name, cmd_##name},
static const command commands[] = {AIRGAP_RUNNER_COMMANDS(RUNNER_COMMAND)};
#undef RUNNER_COMMAND

int main(int argc, char **argv) {
  const command *cmd = NULL;
  for (size_t i = 0; argc >= 2 && i < sizeof(commands) / sizeof(commands[0]); i++)
    if (strcmp(commands[i].name, argv[1]) == 0)
      cmd = &commands[i];
  if (!cmd) {
    fprintf(stderr,
            "%s: unknown command '%s'; this program runs airgap's commands: use "
            "`airgap <command>` (`airgap --help` lists them)\n",
            AIRGAP_RUNNER_NAME, argc >= 2 ? argv[1] : "");
    return 2;
  }
  /* Every runner command talks HTTP through libcurl (queue API, Docker). */
  if (http_client_global_init() < 0) {
    fprintf(stderr, "airgap: cannot initialise libcurl\n");
    return 1;
  }
  return cmd->run(argc - 1, argv + 1);
}
