/*
 * cmd_jobs.c — `airgap jobs`: lists a queue's jobs, newest first, a page at a
 * time (the cursor of the next page goes to stderr, so stdout stays a table).
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_STATE = CLI_OPT_OWN, OPT_LIMIT, OPT_BEFORE };

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap jobs [flags]\n"
          "\n"
          "Lists jobs, newest first.\n"
          "\n"
          "flags:\n"
          "  --state STATE          only jobs in this state (queued, running, passed, failed,\n"
          "                         errored, canceled; default all)\n"
          "  --limit N              at most N jobs, 1 to 500 (default 50)\n"
          "  --before CURSOR        the page after the one that printed 'more: --before CURSOR'\n"
          "                         (default the newest)\n"
          "%s",
          cli_client_help);
}

int cmd_jobs(int argc, char **argv) {
  static const struct option opts[] = {{"state", required_argument, NULL, OPT_STATE},
                                       {"limit", required_argument, NULL, OPT_LIMIT},
                                       {"before", required_argument, NULL, OPT_BEFORE},
                                       CLI_CLIENT_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  cli_conn conn;
  cli_conn_init(&conn);
  const char *state = NULL;
  unsigned limit = 50;
  long long before = 0;
  int opt;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    switch (opt) {
    case OPT_STATE: state = optarg; break;
    case OPT_LIMIT:
      if (cli_parse_uint(&limit, "jobs", "--limit", optarg, 500) < 0)
        return 2;
      if (limit == 0) {
        fprintf(stderr, "airgap jobs: --limit must be at least 1\n");
        return 2;
      }
      break;
    case OPT_BEFORE: {
      char *end = NULL;
      errno = 0;
      before = strtoll(optarg, &end, 10);
      if (errno || *end || !*optarg || before <= 0) {
        fprintf(stderr, "airgap jobs: --before must be a cursor printed by a previous page\n");
        return 2;
      }
      break;
    }
    case 'h': usage(stdout); return 0;
    default: return cli_flag_error("jobs", opt, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error("jobs", "unexpected argument '%s'", argv[optind]);
  queue_client *client = NULL;
  queue_job **jobs = NULL;
  size_t n = 0;
  int64_t next = 0;
  if (cli_conn_client(&client, "jobs", &conn) < 0)
    return 1;
  if (queue_client_list(&jobs, &n, &next, client, state, limit, before) < 0) {
    queue_client_free(client);
    return cli_fail("jobs");
  }
  printf("%-16s  %-8s  %-10s  %-20s  %s\n", "ID", "STATE", "REASON", "CREATED", "REPO");
  for (size_t i = 0; i < n; i++) {
    char created[32];
    queue_spec *spec = NULL; /* parsed here, for display only */
    cli_format_time(created, sizeof(created), jobs[i]->created_at);
    if (jobs[i]->spec_json)
      queue_spec_parse(&spec, jobs[i]->spec_json, strlen(jobs[i]->spec_json), NULL);
    printf("%-16s  %-8s  %-10s  %-20s  %s %s\n", jobs[i]->id, jobs[i]->state,
           jobs[i]->reason ? jobs[i]->reason : "-", created, spec ? spec->repo : "?",
           spec ? spec->ref : "");
    queue_spec_free(spec);
  }
  if (next > 0)
    fprintf(stderr, "more: --before %lld\n", (long long)next);
  queue_job_list_free(jobs, n);
  queue_client_free(client);
  return 0;
}
