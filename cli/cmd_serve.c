/*
 * cmd_serve.c — `airgap serve`: a queue and an agent in one process tree,
 * zero set-up: SQLite under DIR/queue, the cache under DIR/cache, run
 * directories under DIR/work, and a client token printed at start.
 *
 * Its own two tokens (the agent's and the one printed for clients) are kept
 * in DIR/agent-token and DIR/client-token, mode 0600 in a 0700 folder, so a
 * restart neither changes the printed token nor piles up new ones; the queue
 * itself stores only hashes, as for every token. Whoever can read those
 * files is root or the user serve runs as, who can read the database anyway.
 */
#include "cli/cli_int.h"
#include "common/error.h"
#include "common/fs.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:8470"
#define DEFAULT_DATA "/var/lib/airgap"

enum { OPT_DATA = CLI_OPT_OWN, OPT_LISTEN };

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap serve [--data DIR] [--listen HOST:PORT] [flags]\n"
          "\n"
          "Runs a queue and an agent together with embedded defaults (SQLite under DIR/queue,\n"
          "cache under DIR/cache, run directories under DIR/work) and prints a client token\n"
          "for `airgap submit`; the token is kept in DIR/client-token (mode 0600) so that it\n"
          "survives restarts. The queue serves the web UI at / (jobs, live logs, agents).\n"
          "Needs root and a Docker engine.\n"
          "\n"
          "flags:\n"
          "  --data DIR             everything serve keeps (env AIRGAP_DATA; default " DEFAULT_DATA
          ")\n"
          "  --listen HOST:PORT     the queue's address (env AIRGAP_QUEUE_LISTEN; default\n"
          "                         " DEFAULT_LISTEN "; port 0 picks a free one)\n");
  cli_agent_flags_help(out, 1, "DIR/cache", "DIR/work");
}

/* A token of role kept in DIR/<role>-token (0600), made on first start. */
static int kept_token(char **out, const char *data_dir, const char *queue_dir, const char *role) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof(path), "%s/%s-token", data_dir, role) >= (int)sizeof(path))
    return airgap_error_set(AIRGAP_EINVALID, "the data directory's path is too long");
  FILE *f = fopen(path, "re");
  if (f) {
    char line[600] = "";
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (ok && line[0]) {
      *out = strdup(line);
      return *out ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
    }
  }
  char *token = NULL;
  int error = queue_token_create(&token, queue_dir, role);
  if (error < 0)
    return error;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || fs_write_all(fd, token, strlen(token)) < 0 || fs_write_all(fd, "\n", 1) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", path);
    if (fd >= 0)
      close(fd);
    free(token);
    return error;
  }
  close(fd);
  *out = token;
  return 0;
}

int cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {CLI_AGENT_OPTIONS,
                                       CLI_AGENT_POOL_OPTIONS,
                                       {"data", required_argument, NULL, OPT_DATA},
                                       {"listen", required_argument, NULL, OPT_LISTEN},
                                       {NULL, 0, NULL, 0}};
  cli_agent_flags f;
  const char *data = cli_env("AIRGAP_DATA"), *listen = cli_env("AIRGAP_QUEUE_LISTEN");
  if (!data)
    data = DEFAULT_DATA;
  if (!listen)
    listen = DEFAULT_LISTEN;
  cli_agent_flags_init(&f, NULL, NULL);
  int code = 2, opt;
  char queue_dir[PATH_MAX], cache[PATH_MAX], work[PATH_MAX], url[128];
  char *agent_token = NULL, *token = NULL;
  queue_server *server = NULL;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    int handled = cli_agent_flags_option(&f, "serve", opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    if (opt == OPT_DATA) {
      data = optarg;
    } else if (opt == OPT_LISTEN) {
      listen = optarg;
    } else if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto out;
    } else {
      code = cli_flag_error("serve", opt, argv);
      goto out;
    }
  }
  if (optind < argc) {
    code = cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    goto out;
  }
  code = 1;
  if (snprintf(queue_dir, sizeof(queue_dir), "%s/queue", data) >= (int)sizeof(queue_dir) ||
      snprintf(cache, sizeof(cache), "%s/cache", data) >= (int)sizeof(cache) ||
      snprintf(work, sizeof(work), "%s/work", data) >= (int)sizeof(work)) {
    fprintf(stderr, "airgap serve: --data is too long\n");
    goto out;
  }
  if (!f.o.cache_dir)
    f.o.cache_dir = cache;
  if (!f.o.work_dir)
    f.o.work_dir = work;
  if (cli_agent_flags_finish(&f, "serve") < 0)
    goto out;
  if (cli_docker_check(f.o.docker_host) < 0 || cli_make_dirs(data) < 0 ||
      cli_make_dirs(queue_dir) < 0) {
    fprintf(stderr, "airgap serve: %s\n", airgap_error_last());
    goto out;
  }
  sigset_t old;
  cli_signals_block(&old); /* the queue's and agent's threads must not take our signals */
  queue_server_options qo = {.listen = listen, .data_dir = queue_dir};
  int error = queue_server_start(&server, &qo);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (error < 0 || kept_token(&agent_token, data, queue_dir, "agent") < 0 ||
      kept_token(&token, data, queue_dir, "client") < 0) {
    fprintf(stderr, "airgap serve: %s\n", airgap_error_last());
    goto out;
  }
  /* Before anything is printed: whoever reads the token may signal us at once. */
  cli_agent_signals_install();
  const char *colon = strrchr(listen, ':');
  snprintf(url, sizeof(url), "http://%.*s:%u", colon ? (int)(colon - listen) : 9, listen,
           queue_server_port(server));
  printf("airgap serve: queue on %s, agent %s\n"
         "client token: %s\n"
         "  export AIRGAP_QUEUE=%s AIRGAP_TOKEN=%s\n"
         "web UI: %s/ (sign in with the client token)\n",
         url, f.o.agent_id, token, url, token, url);
  fflush(stdout);
  f.o.queue_url = url;
  f.o.token = agent_token;
  if (agent_run(&f.o) < 0) {
    fprintf(stderr, "airgap serve: %s\n", airgap_error_last());
    goto out;
  }
  code = 0;
out:
  queue_server_free(server);
  free(agent_token);
  free(token);
  cli_agent_flags_free(&f);
  return code;
}
