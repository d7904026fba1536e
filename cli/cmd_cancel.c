/*
 * cmd_cancel.c — `airgap cancel ID`: a queued job ends at once; a running one
 * is stopped by its agent, which learns of it with its next heartbeat.
 */
#include "cli/cli_int.h"

#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap cancel [flags] ID\n\nCancels a job: a queued job ends at once, a "
          "running one is stopped by its agent.\n\nflags:\n%s",
          cli_client_help);
}

int cmd_cancel(int argc, char **argv) {
  cli_conn conn;
  cli_conn_init(&conn);
  const char *id = NULL;
  int code = cli_one_id_command(&id, "cancel", usage, argc, argv, &conn);
  if (code >= 0)
    return code;
  queue_client *client = NULL;
  queue_job *j = NULL;
  if (cli_conn_client(&client, "cancel", &conn) < 0)
    return 1;
  if (queue_client_cancel(&j, client, id) < 0) {
    queue_client_free(client);
    return cli_fail("cancel");
  }
  printf("%s: %s\n", j->id,
         strcmp(j->state, "canceled") == 0 ? "canceled" : "cancel requested (agent stops it)");
  queue_job_free(j);
  queue_client_free(client);
  return 0;
}
