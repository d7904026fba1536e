/*
 * cli_flags.c — how every command reports a usage error: one line saying what
 * was wrong and where the help is, exit status 2. A 40-line usage on stderr
 * buries the one line that matters; `airgap <cmd> --help` prints the rest.
 *
 * Linked into both executables (the emulator's `airgap` and airgap-runner),
 * so it uses nothing but libc.
 */
#include "cli/commands_int.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void cli_getopt_reset(void) {
  optind = 1;
  opterr = 0;
}

int cli_flag_error(const char *cmd, int opt, char **argv) {
  /* getopt_long leaves optind past the offending word, and optopt at the
   * unknown short flag (0 for an unknown long one: a cluster such as "-xf"
   * has not moved optind on yet). */
  const char *word = optind > 0 ? argv[optind - 1] : "";
  if (opt == ':')
    fprintf(stderr, "airgap %s: flag '%s' needs a value\n", cmd, word);
  else if (optopt > ' ' && optopt < 127)
    fprintf(stderr, "airgap %s: unknown flag '-%c'\n", cmd, optopt);
  else
    fprintf(stderr, "airgap %s: unknown flag '%s'\n", cmd, word);
  fprintf(stderr, "see `airgap %s --help`\n", cmd);
  return 2;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "airgap %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nsee `airgap %s --help`\n", cmd);
  return 2;
}

const char *cli_env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}
