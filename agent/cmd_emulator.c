/* cmd_emulator.c — placeholder until its issue lands; see issues list. */
#include "agent/commands.h"
#include <stdio.h>
#include <string.h>

int cmd_emulator(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap emulator: not available in this build yet\n");
  return help ? 0 : 2;
}
