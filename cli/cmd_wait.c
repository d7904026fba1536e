/*
 * cmd_wait.c — `airgap wait ID`: polls a job until it ends and exits with its
 * outcome (0 passed, 1 failed, 2 errored, 3 canceled), or 4 when it cannot
 * find out: a script's `airgap wait $id || …` must not mistake an unreachable
 * queue for a failed job. Polls back off from 100 ms to 1 s; ten transient
 * failures in a row give up.
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_UNKNOWN 4
#define MAX_TRANSIENT 10

enum { OPT_TIMEOUT = CLI_OPT_OWN };

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap wait [flags] ID\n"
          "\n"
          "Waits for a job to end. Exit status: 0 passed, 1 failed, 2 errored, 3 canceled,\n"
          "4 could not find out (queue unreachable, --timeout passed).\n"
          "\n"
          "flags:\n"
          "  --timeout S            give up after S seconds (default 0: wait forever)\n"
          "%s",
          cli_client_help);
}

int cmd_wait(int argc, char **argv) {
  static const struct option opts[] = {
      {"timeout", required_argument, NULL, OPT_TIMEOUT}, CLI_CLIENT_OPTIONS, {NULL, 0, NULL, 0}};
  cli_conn conn;
  cli_conn_init(&conn);
  unsigned timeout = 0;
  int opt;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    switch (opt) {
    case OPT_TIMEOUT:
      if (cli_parse_uint(&timeout, "wait", "--timeout", optarg, 7 * 86400) < 0)
        return 2;
      break;
    case 'h': usage(stdout); return 0;
    default: return cli_flag_error("wait", opt, argv);
    }
  }
  if (optind != argc - 1)
    return cli_usage_error("wait", "expected one job id");
  const char *id = argv[optind];
  queue_client *client = NULL;
  if (cli_conn_client(&client, "wait", &conn) < 0)
    return EXIT_UNKNOWN;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  unsigned delay_ms = 100;
  int transient = 0;
  for (;;) {
    queue_job *j = NULL;
    int error = queue_client_get(&j, client, id);
    if (error == AIRGAP_EAUTH || error == AIRGAP_ENOTFOUND || error == AIRGAP_EINVALID ||
        (error < 0 && ++transient > MAX_TRANSIENT)) {
      fprintf(stderr, "airgap wait: %s\n", airgap_error_last());
      queue_client_free(client);
      return EXIT_UNKNOWN;
    }
    if (error == 0) {
      transient = 0;
      if (queue_state_is_final(j->state)) {
        int code = strcmp(j->state, "passed") == 0    ? 0
                   : strcmp(j->state, "failed") == 0  ? 1
                   : strcmp(j->state, "errored") == 0 ? 2
                                                      : 3;
        printf("%s %s%s%s\n", j->id, j->state, j->reason ? " " : "", j->reason ? j->reason : "");
        queue_job_free(j);
        queue_client_free(client);
        return code;
      }
      queue_job_free(j);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout && (unsigned long)(now.tv_sec - start.tv_sec) >= timeout) {
      fprintf(stderr, "airgap wait: job %s has not ended after %us\n", id, timeout);
      queue_client_free(client);
      return EXIT_UNKNOWN;
    }
    usleep(delay_ms * 1000);
    if (delay_ms < 1000)
      delay_ms *= 2;
  }
}
