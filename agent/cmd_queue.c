/* cmd_queue.c — placeholder until its issue lands; see issues list. */
#include "agent/commands.h"
#include <stdio.h>
#include <string.h>

int cmd_queue(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap queue: not available in this build yet\n");
  return help ? 0 : 2;
}
