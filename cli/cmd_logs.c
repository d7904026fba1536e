/*
 * cmd_logs.c — `airgap logs [-f] ID`: a job's log on stdout, as it is or
 * followed until the job ends.
 *
 * stdout carries only the log. The log endpoint streams its body straight to
 * the output, an error answer included, so the job is looked up first: an
 * unknown id or a refused token is reported on stderr with exit status 1
 * before a byte is written.
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <errno.h>
#include <stdlib.h>

enum { OPT_OFFSET = CLI_OPT_OWN };

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap logs [flags] ID\n"
          "\n"
          "Prints a job's log on stdout.\n"
          "\n"
          "flags:\n"
          "  -f, --follow           keep printing until the job ends (default: print what there\n"
          "                         is and exit)\n"
          "  --offset N             start at byte N (default 0)\n"
          "%s",
          cli_client_help);
}

static int write_out(const char *data, size_t len, void *payload) {
  (void)payload;
  if (fwrite(data, 1, len, stdout) != len)
    return 1;
  fflush(stdout);
  return 0;
}

int cmd_logs(int argc, char **argv) {
  static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                       {"offset", required_argument, NULL, OPT_OFFSET},
                                       CLI_CLIENT_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  cli_conn conn;
  cli_conn_init(&conn);
  int follow = 0, opt;
  unsigned long long offset = 0;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    switch (opt) {
    case 'f': follow = 1; break;
    case OPT_OFFSET: {
      char *end = NULL;
      errno = 0;
      offset = strtoull(optarg, &end, 10);
      if (errno || *end || !*optarg || *optarg == '-') {
        fprintf(stderr, "airgap logs: --offset must be a byte offset (got '%s')\n", optarg);
        return 2;
      }
      break;
    }
    case 'h': usage(stdout); return 0;
    default: return cli_flag_error("logs", opt, argv);
    }
  }
  if (optind != argc - 1)
    return cli_usage_error("logs", "expected one job id");
  const char *id = argv[optind];
  queue_client *client = NULL;
  queue_job *job = NULL;
  if (cli_conn_client(&client, "logs", &conn) < 0)
    return 1;
  int error = queue_client_get(&job, client, id);
  if (error == AIRGAP_ENOTFOUND) {
    fprintf(stderr, "airgap logs: the queue has no job %s (`airgap jobs` lists them)\n", id);
    queue_client_free(client);
    return 1;
  }
  if (error == 0)
    error = queue_client_log_read(client, id, offset, follow, write_out, NULL);
  queue_job_free(job);
  queue_client_free(client);
  return error < 0 ? cli_fail("logs") : 0;
}
