/*
 * cli_client.c — what the queue's client commands (submit, jobs, show, logs,
 * cancel, wait) share: the connection flags (--queue/--token, or
 * AIRGAP_QUEUE/AIRGAP_TOKEN), connecting, printing a failure, and the
 * "flags and one job id" shape of show and cancel.
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cli_client_help[] =
    "  --queue URL[,URL...]   queue to talk to; several servers fail over in turn\n"
    "                         (env AIRGAP_QUEUE; default " CLI_DEFAULT_QUEUE ")\n"
    "  --token TOKEN          client token (env AIRGAP_TOKEN; `airgap serve` prints one,\n"
    "                         `airgap queue token create --role client` makes one; default "
    "none)\n"
    "  --help                 show this help\n";

void cli_conn_init(cli_conn *c) {
  const char *q = cli_env("AIRGAP_QUEUE");
  c->queue = q ? q : CLI_DEFAULT_QUEUE;
  c->token = cli_env("AIRGAP_TOKEN");
}

int cli_conn_option(cli_conn *c, int opt, const char *arg) {
  if (opt == CLI_OPT_QUEUE)
    c->queue = arg;
  else if (opt == CLI_OPT_TOKEN)
    c->token = arg;
  else
    return 0;
  return 1;
}

int cli_conn_client(queue_client **out, const char *cmd, const cli_conn *c) {
  if (queue_client_new(out, c->queue, c->token) < 0) {
    fprintf(stderr, "airgap %s: %s\n", cmd, airgap_error_last());
    return -1;
  }
  return 0;
}

int cli_fail(const char *cmd) {
  fprintf(stderr, "airgap %s: %s\n", cmd, airgap_error_last());
  return 1;
}

int cli_one_id_command(const char **out_id, const char *cmd, void (*usage)(FILE *), int argc,
                       char **argv, cli_conn *c) {
  static const struct option opts[] = {CLI_CLIENT_OPTIONS, {NULL, 0, NULL, 0}};
  int opt;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (cli_conn_option(c, opt, optarg))
      continue;
    if (opt == 'h') {
      usage(stdout);
      return 0;
    }
    return cli_flag_error(cmd, opt, argv);
  }
  if (optind != argc - 1)
    return cli_usage_error(cmd, "expected one job id");
  *out_id = argv[optind];
  return -1;
}

void cli_format_time(char *out, size_t size, int64_t ms) {
  if (ms <= 0) {
    snprintf(out, size, "-");
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
