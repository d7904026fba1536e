/*
 * cmd_submit.c — `airgap submit`: sends a job to a queue and prints its id.
 *
 * The spec comes from flags (spec_flags.c, the builder `airgap run` uses too)
 * or from a JSON file sent as is; the queue validates either way and names the
 * field at fault.
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

enum { OPT_SPEC = CLI_OPT_OWN };

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap submit --repo PATH|URL --image IMAGE [flags] -- COMMAND [ARG...]\n"
          "       airgap submit --repo PATH|URL --image IMAGE --script TEXT [flags]\n"
          "       airgap submit --spec FILE.json\n"
          "\n"
          "Submits a job and prints its id. COMMAND and its ARGs run as given (each word\n"
          "quoted for the container's /bin/sh -c); --script takes a shell script instead.\n"
          "A local repository directory is sent as an absolute path: it works with an agent\n"
          "on this machine (`airgap serve`); a remote agent needs a URL.\n"
          "\n"
          "job flags:\n"
          "%s"
          "  --spec FILE            send a JSON spec file ('-' for stdin) instead of the job\n"
          "                         flags (default none)\n"
          "\n"
          "queue flags:\n"
          "%s",
          spec_flags_help, cli_client_help);
}

static int read_spec_file(char **out, const char *path) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot open spec file %s", path);
  size_t cap = QUEUE_MAX_SPEC_BYTES + 1, len = 0, n;
  char *buf = malloc(cap + 1);
  int error = 0;
  if (!buf) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
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
  buf = NULL;
cleanup:
  free(buf);
  if (f != stdin)
    fclose(f);
  return error;
}

int cmd_submit(int argc, char **argv) {
  static const struct option opts[] = {CLI_SPEC_OPTIONS,
                                       {"spec", required_argument, NULL, OPT_SPEC},
                                       CLI_CLIENT_OPTIONS,
                                       {NULL, 0, NULL, 0}};
  cli_conn conn;
  cli_conn_init(&conn);
  spec_flags *flags = spec_flags_new();
  const char *spec_file = NULL;
  char *body = NULL, *id = NULL;
  int code = 2, opt;
  queue_client *client = NULL;
  if (!flags) {
    fprintf(stderr, "airgap submit: out of memory\n");
    return 1;
  }
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
    int handled = spec_flags_option(flags, "submit", opt, optarg);
    if (handled < 0)
      goto cleanup;
    if (handled || cli_conn_option(&conn, opt, optarg))
      continue;
    if (opt == OPT_SPEC) {
      spec_file = optarg;
    } else if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto cleanup;
    } else {
      code = cli_flag_error("submit", opt, argv);
      goto cleanup;
    }
  }
  if (spec_file) {
    if (spec_flags_count(flags) || optind < argc) {
      code =
          cli_usage_error("submit", "--spec cannot be combined with other job flags or a command");
      goto cleanup;
    }
    if (read_spec_file(&body, spec_file) < 0) {
      code = cli_fail("submit");
      goto cleanup;
    }
  } else if (spec_flags_build(&body, flags, "submit", argc - optind, argv + optind) < 0) {
    goto cleanup;
  }
  code = 1;
  if (cli_conn_client(&client, "submit", &conn) < 0)
    goto cleanup;
  if (queue_client_submit(&id, client, body, strlen(body)) < 0) {
    code = cli_fail("submit");
    goto cleanup;
  }
  printf("%s\n", id);
  code = 0;
cleanup:
  queue_client_free(client);
  free(id);
  free(body);
  spec_flags_free(flags);
  return code;
}
