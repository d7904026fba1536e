/*
 * cmd_client.c — the queue's client commands: submit, jobs, show, logs,
 * cancel, wait. Each talks to a queue over HTTP through queue/queue.h.
 *
 * The queue and the token come from --queue/--token or AIRGAP_QUEUE /
 * AIRGAP_TOKEN. `submit` builds a spec from flags (the command after `--`
 * becomes the script, each word shell-quoted) or sends a spec file as is; the
 * queue validates either way. `wait` exits with the job's outcome: 0 passed,
 * 1 failed, 2 errored, 3 canceled, 4 when it could not find out.
 */
#include "agent/commands.h"
#include "common/error.h"
#include "queue/queue.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_QUEUE "http://127.0.0.1:8470"

static const char COMMON_FLAGS[] =
    "  --queue URL          queue to talk to (env AIRGAP_QUEUE; default " DEFAULT_QUEUE ")\n"
    "  --token TOKEN        client token (env AIRGAP_TOKEN; airgap queue token create)\n"
    "  --help               show this help\n";

enum { OPT_QUEUE = 1000, OPT_TOKEN, OPT_HELP };

#define COMMON_OPTIONS                                                                             \
  {"queue", required_argument, NULL, OPT_QUEUE}, {"token", required_argument, NULL, OPT_TOKEN}, {  \
    "help", no_argument, NULL, OPT_HELP                                                            \
  }

typedef struct conn_flags {
  const char *queue;
  const char *token;
} conn_flags;

static void conn_defaults(conn_flags *f) {
  const char *q = getenv("AIRGAP_QUEUE"), *t = getenv("AIRGAP_TOKEN");
  f->queue = q && *q ? q : DEFAULT_QUEUE;
  f->token = t && *t ? t : NULL;
}

static int connect_client(queue_client **out, const char *cmd, const conn_flags *f) {
  if (queue_client_new(out, f->queue, f->token) < 0) {
    fprintf(stderr, "airgap %s: %s\n", cmd, airgap_error_last());
    return -1;
  }
  return 0;
}

/* Exit code for a failed call: 1, after printing what failed. */
static int fail(const char *cmd) {
  fprintf(stderr, "airgap %s: %s\n", cmd, airgap_error_last());
  return 1;
}

/* ------------------------------------------------------------------ submit */

static void submit_usage(FILE *out) {
  fprintf(out,
          "usage: airgap submit --repo URL --image IMAGE [flags] -- COMMAND [ARG...]\n"
          "       airgap submit --spec FILE.json\n"
          "\n"
          "Submits a job and prints its id.\n"
          "\n"
          "flags:\n"
          "  --repo URL           git repository to check out (required)\n"
          "  --ref REF            branch, tag or ref (default HEAD)\n"
          "  --commit SHA         exact commit to run\n"
          "  --image IMAGE        container image to run the job in (required)\n"
          "  --script TEXT        shell script to run (instead of -- COMMAND)\n"
          "  --env K=V            environment variable (repeatable)\n"
          "  --secret K=V         secret variable, masked in logs and listings (repeatable)\n"
          "  --timeout S          seconds before the job is stopped (default 3600)\n"
          "  --services LIST      emulated AWS services, e.g. s3,sqs\n"
          "  --label L            only agents with this label may run it (repeatable)\n"
          "  --memory SIZE        memory limit, e.g. 2g\n"
          "  --cpus N             CPU limit\n"
          "  --pids N             process limit\n"
          "  --mountpoint PATH    workspace path in the container (default /workspace)\n"
          "  --spec FILE          send a JSON spec file ('-' for stdin); no other spec flags\n"
          "%s",
          COMMON_FLAGS);
}

/* Appends word to buf, single-quoted unless it is made of safe characters. */
static int shell_quote_append(char **buf, size_t *len, const char *word) {
  static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "_-./=:,+@%";
  int plain = *word && strspn(word, safe) == strlen(word);
  size_t need = *len + 4 * strlen(word) + 4;
  char *grown = realloc(*buf, need);
  if (!grown)
    return -1;
  *buf = grown;
  char *p = *buf + *len;
  if (*len > 0)
    *p++ = ' ';
  if (plain) {
    memcpy(p, word, strlen(word));
    p += strlen(word);
  } else {
    *p++ = '\'';
    for (const char *w = word; *w; w++) {
      if (*w == '\'') {
        memcpy(p, "'\\''", 4);
        p += 4;
      } else {
        *p++ = *w;
      }
    }
    *p++ = '\'';
  }
  *p = '\0';
  *len = (size_t)(p - *buf);
  return 0;
}

static int add_kv(json_t *obj, const char *arg, const char *flag) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) {
    fprintf(stderr, "airgap submit: %s takes KEY=VALUE (got '%s')\n", flag, arg);
    return -1;
  }
  char *key = strndup(arg, (size_t)(eq - arg));
  int bad = !key || json_object_set_new(obj, key, json_string(eq + 1)) < 0;
  free(key);
  if (bad)
    fprintf(stderr, "airgap submit: %s '%s': value must be UTF-8\n", flag, arg);
  return bad ? -1 : 0;
}

static int read_spec_file(char **out, size_t *out_len, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot open spec file %s", path);
  size_t cap = QUEUE_MAX_SPEC_BYTES + 1, len = 0;
  char *buf = malloc(cap + 1);
  int error = 0;
  if (!buf) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  size_t n;
  while (len < cap && (n = fread(buf + len, 1, cap - len, f)) > 0)
    len += n;
  if (ferror(f)) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot read spec file %s", path);
    goto cleanup;
  }
  if (len > QUEUE_MAX_SPEC_BYTES) {
    error = airgap_error_set(AIRGAP_ETOOBIG, "spec file %s is larger than %u bytes", path,
                             QUEUE_MAX_SPEC_BYTES);
    goto cleanup;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  buf = NULL;
cleanup:
  free(buf);
  if (f != stdin)
    fclose(f);
  return error;
}

int cmd_submit(int argc, char **argv) {
  static const struct option opts[] = {{"repo", required_argument, NULL, 'r'},
                                       {"ref", required_argument, NULL, 'R'},
                                       {"commit", required_argument, NULL, 'c'},
                                       {"image", required_argument, NULL, 'i'},
                                       {"script", required_argument, NULL, 'S'},
                                       {"env", required_argument, NULL, 'e'},
                                       {"secret", required_argument, NULL, 's'},
                                       {"timeout", required_argument, NULL, 't'},
                                       {"services", required_argument, NULL, 'v'},
                                       {"label", required_argument, NULL, 'l'},
                                       {"memory", required_argument, NULL, 'm'},
                                       {"cpus", required_argument, NULL, 'C'},
                                       {"pids", required_argument, NULL, 'p'},
                                       {"mountpoint", required_argument, NULL, 'M'},
                                       {"spec", required_argument, NULL, 'f'},
                                       COMMON_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  conn_flags cf;
  conn_defaults(&cf);
  json_t *spec = json_object(), *env = json_object(), *secrets = json_object();
  json_t *labels = json_array(), *services = json_array(), *res = json_object();
  const char *spec_file = NULL;
  char *script = NULL, *body = NULL, *id = NULL;
  size_t script_len = 0, body_len = 0;
  int spec_flags = 0, rc = 2, c;
  queue_client *client = NULL;
  if (!spec || !env || !secrets || !labels || !services || !res) {
    fprintf(stderr, "airgap submit: out of memory\n");
    rc = 1;
    goto cleanup;
  }
  while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
    int bad = 0;
    if (c != OPT_QUEUE && c != OPT_TOKEN && c != OPT_HELP && c != 'f' && c != '?')
      spec_flags++;
    switch (c) {
    case 'r': json_object_set_new(spec, "repo", json_string(optarg)); break;
    case 'R': json_object_set_new(spec, "ref", json_string(optarg)); break;
    case 'c': json_object_set_new(spec, "commit", json_string(optarg)); break;
    case 'i': json_object_set_new(spec, "image", json_string(optarg)); break;
    case 'S': json_object_set_new(spec, "script", json_string(optarg)); break;
    case 'M': json_object_set_new(spec, "mountpoint", json_string(optarg)); break;
    case 'm': json_object_set_new(res, "memory", json_string(optarg)); break;
    case 'e': bad = add_kv(env, optarg, "--env"); break;
    case 's': bad = add_kv(secrets, optarg, "--secret"); break;
    case 'l': json_array_append_new(labels, json_string(optarg)); break;
    case 't':
    case 'p':
    case 'C': {
      char *end = NULL;
      errno = 0;
      double v = strtod(optarg, &end);
      if (errno || end == optarg || *end || v <= 0 || (c != 'C' && v != (long long)v)) {
        fprintf(stderr, "airgap submit: --%s must be a positive %s\n",
                c == 't'   ? "timeout"
                : c == 'p' ? "pids"
                           : "cpus",
                c == 'C' ? "number" : "integer");
        bad = 1;
        break;
      }
      if (c == 't')
        json_object_set_new(spec, "timeout", json_integer((json_int_t)v));
      else if (c == 'p')
        json_object_set_new(res, "pids", json_integer((json_int_t)v));
      else
        json_object_set_new(res, "cpus", json_real(v));
      break;
    }
    case 'v': {
      const char *p = optarg;
      while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
          char *name = strndup(p, n);
          json_array_append_new(services, json_string(name ? name : ""));
          free(name);
        }
        p += n;
        if (*p == ',')
          p++;
      }
      break;
    }
    case 'f': spec_file = optarg; break;
    case OPT_QUEUE: cf.queue = optarg; break;
    case OPT_TOKEN: cf.token = optarg; break;
    case OPT_HELP:
      submit_usage(stdout);
      rc = 0;
      goto cleanup;
    default: submit_usage(stderr); goto cleanup;
    }
    if (bad)
      goto cleanup;
  }
  for (int i = optind; i < argc; i++)
    if (shell_quote_append(&script, &script_len, argv[i]) < 0) {
      fprintf(stderr, "airgap submit: out of memory\n");
      rc = 1;
      goto cleanup;
    }
  if (spec_file) {
    if (spec_flags || script) {
      fprintf(stderr, "airgap submit: --spec cannot be combined with other spec flags or a "
                      "command\n\n");
      submit_usage(stderr);
      goto cleanup;
    }
    if (read_spec_file(&body, &body_len, spec_file) < 0) {
      fprintf(stderr, "airgap submit: %s\n", airgap_error_last());
      rc = 1;
      goto cleanup;
    }
  } else {
    if (script && json_object_get(spec, "script")) {
      fprintf(stderr, "airgap submit: give either --script or a command after --, not both\n");
      goto cleanup;
    }
    if (script)
      json_object_set_new(spec, "script", json_string(script));
    if (!json_object_get(spec, "repo") || !json_object_get(spec, "image") ||
        !json_object_get(spec, "script")) {
      fprintf(stderr, "airgap submit: --repo, --image and a command (after --) are required\n\n");
      submit_usage(stderr);
      goto cleanup;
    }
    if (json_object_size(env))
      json_object_set(spec, "env", env);
    if (json_object_size(secrets))
      json_object_set(spec, "secrets", secrets);
    if (json_array_size(labels))
      json_object_set(spec, "labels", labels);
    if (json_array_size(services))
      json_object_set(spec, "services", services);
    if (json_object_size(res))
      json_object_set(spec, "resources", res);
    body = json_dumps(spec, JSON_COMPACT);
    if (!body) {
      fprintf(stderr, "airgap submit: a flag value is not valid UTF-8\n");
      goto cleanup;
    }
    body_len = strlen(body);
  }
  rc = 1;
  if (connect_client(&client, "submit", &cf) < 0)
    goto cleanup;
  if (queue_client_submit(&id, client, body, body_len) < 0) {
    rc = fail("submit");
    goto cleanup;
  }
  printf("%s\n", id);
  rc = 0;
cleanup:
  queue_client_free(client);
  free(id);
  free(body);
  free(script);
  json_decref(spec);
  json_decref(env);
  json_decref(secrets);
  json_decref(labels);
  json_decref(services);
  json_decref(res);
  return rc;
}

/* -------------------------------------------------------------------- jobs */

static void jobs_usage(FILE *out) {
  fprintf(out,
          "usage: airgap jobs [flags]\n"
          "\n"
          "Lists jobs, newest first.\n"
          "\n"
          "flags:\n"
          "  --state STATE        only jobs in this state (queued, running, passed, failed,\n"
          "                       errored, canceled)\n"
          "  --limit N            at most N jobs (default 50)\n"
          "  --before CURSOR      the page after the one that printed 'more: --before CURSOR'\n"
          "%s",
          COMMON_FLAGS);
}

static void format_time(char *out, size_t size, int64_t ms) {
  if (ms <= 0) {
    snprintf(out, size, "-");
    return;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cmd_jobs(int argc, char **argv) {
  static const struct option opts[] = {{"state", required_argument, NULL, 's'},
                                       {"limit", required_argument, NULL, 'n'},
                                       {"before", required_argument, NULL, 'b'},
                                       COMMON_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  conn_flags cf;
  conn_defaults(&cf);
  const char *state = NULL;
  unsigned long limit = 50;
  long long before = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's': state = optarg; break;
    case 'n': {
      char *end = NULL;
      errno = 0;
      limit = strtoul(optarg, &end, 10);
      if (errno || *end || !*optarg || limit == 0 || limit > 500) {
        fprintf(stderr, "airgap jobs: --limit must be an integer in [1, 500]\n");
        return 2;
      }
      break;
    }
    case 'b': {
      char *end = NULL;
      errno = 0;
      before = strtoll(optarg, &end, 10);
      if (errno || *end || !*optarg || before <= 0) {
        fprintf(stderr, "airgap jobs: --before must be a cursor printed by a previous page\n");
        return 2;
      }
      break;
    }
    case OPT_QUEUE: cf.queue = optarg; break;
    case OPT_TOKEN: cf.token = optarg; break;
    case OPT_HELP: jobs_usage(stdout); return 0;
    default: jobs_usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "airgap jobs: unexpected argument '%s'\n\n", argv[optind]);
    jobs_usage(stderr);
    return 2;
  }
  queue_client *client = NULL;
  queue_job **jobs = NULL;
  size_t n = 0;
  int64_t next = 0;
  if (connect_client(&client, "jobs", &cf) < 0)
    return 1;
  if (queue_client_list(&jobs, &n, &next, client, state, (unsigned)limit, before) < 0) {
    queue_client_free(client);
    return fail("jobs");
  }
  printf("%-16s  %-8s  %-10s  %-20s  %s\n", "ID", "STATE", "REASON", "CREATED", "REPO");
  for (size_t i = 0; i < n; i++) {
    char created[32];
    queue_spec *spec = NULL; /* parsed here, for display only */
    format_time(created, sizeof(created), jobs[i]->created_at);
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

/* -------------------------------------------------------------------- show */

static int one_id_command(const char *cmd, void (*usage)(FILE *), int argc, char **argv,
                          conn_flags *cf, const char **out_id) {
  static const struct option opts[] = {COMMON_OPTIONS, {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case OPT_QUEUE: cf->queue = optarg; break;
    case OPT_TOKEN: cf->token = optarg; break;
    case OPT_HELP: usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "airgap %s: expected one job id\n\n", cmd);
    usage(stderr);
    return 2;
  }
  *out_id = argv[optind];
  return -1;
}

static void show_usage(FILE *out) {
  fprintf(out, "usage: airgap show [flags] ID\n\nShows one job.\n\nflags:\n%s", COMMON_FLAGS);
}

int cmd_show(int argc, char **argv) {
  conn_flags cf;
  conn_defaults(&cf);
  const char *id = NULL;
  int rc = one_id_command("show", show_usage, argc, argv, &cf, &id);
  if (rc >= 0)
    return rc;
  queue_client *client = NULL;
  queue_job *j = NULL;
  if (connect_client(&client, "show", &cf) < 0)
    return 1;
  if (queue_client_get(&j, client, id) < 0) {
    queue_client_free(client);
    return fail("show");
  }
  char created[32], started[32], finished[32];
  format_time(created, sizeof(created), j->created_at);
  format_time(started, sizeof(started), j->started_at);
  format_time(finished, sizeof(finished), j->finished_at);
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
  if (queue_spec_parse(&s, j->spec_json, strlen(j->spec_json), NULL) == 0) {
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

/* -------------------------------------------------------------------- logs */

static void logs_usage(FILE *out) {
  fprintf(out,
          "usage: airgap logs [flags] ID\n"
          "\n"
          "Prints a job's log.\n"
          "\n"
          "flags:\n"
          "  -f, --follow         keep printing until the job ends\n"
          "  --offset N           start at byte N\n"
          "%s",
          COMMON_FLAGS);
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
                                       {"offset", required_argument, NULL, 'o'},
                                       COMMON_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  conn_flags cf;
  conn_defaults(&cf);
  int follow = 0, c;
  unsigned long long offset = 0;
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
    switch (c) {
    case 'f': follow = 1; break;
    case 'o': {
      char *end = NULL;
      errno = 0;
      offset = strtoull(optarg, &end, 10);
      if (errno || *end || !*optarg || *optarg == '-') {
        fprintf(stderr, "airgap logs: --offset must be a byte offset\n");
        return 2;
      }
      break;
    }
    case OPT_QUEUE: cf.queue = optarg; break;
    case OPT_TOKEN: cf.token = optarg; break;
    case OPT_HELP: logs_usage(stdout); return 0;
    default: logs_usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "airgap logs: expected one job id\n\n");
    logs_usage(stderr);
    return 2;
  }
  queue_client *client = NULL;
  if (connect_client(&client, "logs", &cf) < 0)
    return 1;
  int error = queue_client_log_read(client, argv[optind], offset, follow, write_out, NULL);
  queue_client_free(client);
  return error < 0 ? fail("logs") : 0;
}

/* ------------------------------------------------------------------ cancel */

static void cancel_usage(FILE *out) {
  fprintf(out,
          "usage: airgap cancel [flags] ID\n\nCancels a job: a queued job ends at once, a "
          "running one is stopped by its agent.\n\nflags:\n%s",
          COMMON_FLAGS);
}

int cmd_cancel(int argc, char **argv) {
  conn_flags cf;
  conn_defaults(&cf);
  const char *id = NULL;
  int rc = one_id_command("cancel", cancel_usage, argc, argv, &cf, &id);
  if (rc >= 0)
    return rc;
  queue_client *client = NULL;
  queue_job *j = NULL;
  if (connect_client(&client, "cancel", &cf) < 0)
    return 1;
  if (queue_client_cancel(&j, client, id) < 0) {
    queue_client_free(client);
    return fail("cancel");
  }
  printf("%s: %s\n", j->id,
         strcmp(j->state, "canceled") == 0 ? "canceled" : "cancel requested (agent stops it)");
  queue_job_free(j);
  queue_client_free(client);
  return 0;
}

/* -------------------------------------------------------------------- wait */

static void wait_usage(FILE *out) {
  fprintf(out,
          "usage: airgap wait [flags] ID\n"
          "\n"
          "Waits for a job to end. Exit status: 0 passed, 1 failed, 2 errored, 3 canceled,\n"
          "4 could not find out (queue unreachable, --timeout passed).\n"
          "\n"
          "flags:\n"
          "  --timeout S          give up after S seconds (default: wait forever)\n"
          "%s",
          COMMON_FLAGS);
}

int cmd_wait(int argc, char **argv) {
  static const struct option opts[] = {
      {"timeout", required_argument, NULL, 't'}, COMMON_OPTIONS, {NULL, 0, NULL, 0}};
  conn_flags cf;
  conn_defaults(&cf);
  unsigned long timeout = 0;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 't': {
      char *end = NULL;
      errno = 0;
      timeout = strtoul(optarg, &end, 10);
      if (errno || *end || !*optarg || *optarg == '-' || timeout == 0) {
        fprintf(stderr, "airgap wait: --timeout must be a positive number of seconds\n");
        return 2;
      }
      break;
    }
    case OPT_QUEUE: cf.queue = optarg; break;
    case OPT_TOKEN: cf.token = optarg; break;
    case OPT_HELP: wait_usage(stdout); return 0;
    default: wait_usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "airgap wait: expected one job id\n\n");
    wait_usage(stderr);
    return 2;
  }
  const char *id = argv[optind];
  queue_client *client = NULL;
  if (connect_client(&client, "wait", &cf) < 0)
    return 4;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  unsigned delay_ms = 100;
  int transient = 0;
  for (;;) {
    queue_job *j = NULL;
    int error = queue_client_get(&j, client, id);
    if (error == AIRGAP_EAUTH || error == AIRGAP_ENOTFOUND || error == AIRGAP_EINVALID ||
        (error < 0 && ++transient > 10)) {
      fprintf(stderr, "airgap wait: %s\n", airgap_error_last());
      queue_client_free(client);
      return 4;
    }
    if (error == 0) {
      transient = 0;
      if (queue_state_is_final(j->state)) {
        int rc = strcmp(j->state, "passed") == 0    ? 0
                 : strcmp(j->state, "failed") == 0  ? 1
                 : strcmp(j->state, "errored") == 0 ? 2
                                                    : 3;
        printf("%s %s%s%s\n", j->id, j->state, j->reason ? " " : "", j->reason ? j->reason : "");
        queue_job_free(j);
        queue_client_free(client);
        return rc;
      }
      queue_job_free(j);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (timeout && (unsigned long)(now.tv_sec - start.tv_sec) >= timeout) {
      fprintf(stderr, "airgap wait: job %s has not ended after %lus\n", id, timeout);
      queue_client_free(client);
      return 4;
    }
    usleep(delay_ms * 1000);
    if (delay_ms < 1000)
      delay_ms *= 2;
  }
}
