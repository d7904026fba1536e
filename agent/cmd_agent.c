/* cmd_agent.c — placeholder until its issue lands; see issues list. */
#include "agent/commands.h"
#include <stdio.h>
#include <string.h>

int cmd_agent(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap agent: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_serve(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap serve: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_run(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap run: not available in this build yet\n");
  return help ? 0 : 2;
}
