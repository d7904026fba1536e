/* cmd_client.c — placeholder until its issue lands; see issues list. */
#include "agent/commands.h"
#include <stdio.h>
#include <string.h>

int cmd_submit(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap submit: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_jobs(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap jobs: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_show(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap show: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_logs(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap logs: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_cancel(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap cancel: not available in this build yet\n");
  return help ? 0 : 2;
}

int cmd_wait(int argc, char **argv) {
  int help = argc > 1 && strcmp(argv[1], "--help") == 0;
  fprintf(help ? stdout : stderr, "airgap wait: not available in this build yet\n");
  return help ? 0 : 2;
}
