/*
 * cmd_show.c — `airgap show ID`: one job, its state and its spec (the queue
 * answers with secret values replaced by "***").
 */
#include "cli/cli_int.h"

#include <string.h>

static void usage(FILE *out) {
  fprintf(out, "usage: airgap show [flags] ID\n\nShows one job.\n\nflags:\n%s", cli_client_help);
}

int cmd_show(int argc, char **argv) {
  cli_conn conn;
  cli_conn_init(&conn);
  const char *id = NULL;
  int code = cli_one_id_command(&id, "show", usage, argc, argv, &conn);
  if (code >= 0)
    return code;
  queue_client *client = NULL;
  queue_job *j = NULL;
  if (cli_conn_client(&client, "show", &conn) < 0)
    return 1;
  if (queue_client_get(&j, client, id) < 0) {
    queue_client_free(client);
    return cli_fail("show");
  }
  char created[32], started[32], finished[32];
  cli_format_time(created, sizeof(created), j->created_at);
  cli_format_time(started, sizeof(started), j->started_at);
  cli_format_time(finished, sizeof(finished), j->finished_at);
  printf("id:        %s\nstate:     %s\n", j->id, j->state);
  printf("reason:    %s\n", j->reason ? j->reason : "-");
  if (j->has_exit_code)
    printf("exit code: %d\n", j->exit_code);
  else
    printf("exit code: -\n");
  printf("attempts:  %u\nagent:     %s\n", j->attempts, j->agent ? j->agent : "-");
  printf("created:   %s\nstarted:   %s\nfinished:  %s\n", created, started, finished);
  if (j->cancel_requested)
    printf("cancel:    requested\n");
  printf("log bytes: %llu\n", (unsigned long long)j->log_size);
  queue_spec *s = NULL; /* parsed here, for display only */
  if (j->spec_json && queue_spec_parse(&s, j->spec_json, strlen(j->spec_json), NULL) == 0) {
    printf("repo:      %s\nref:       %s\n", s->repo, s->ref);
    if (s->commit)
      printf("commit:    %s\n", s->commit);
    printf("image:     %s\ntimeout:   %us\n", s->image, s->timeout);
    for (size_t i = 0; i < s->label_count; i++)
      printf("label:     %s\n", s->labels[i]);
    for (size_t i = 0; i < s->service_count; i++)
      printf("service:   %s\n", s->services[i]);
    for (size_t i = 0; i < s->env_count; i++)
      printf("env:       %s=%s\n", s->env[i].key, s->env[i].value);
    for (size_t i = 0; i < s->secret_count; i++)
      printf("secret:    %s=%s\n", s->secrets[i].key, s->secrets[i].value);
    printf("script:\n%s\n", s->script);
  }
  queue_spec_free(s);
  queue_job_free(j);
  queue_client_free(client);
  return 0;
}
