/*
 * cmd_queue.c — `airgap queue`: runs the job queue service until SIGINT or
 * SIGTERM, and `airgap queue token create` to mint API tokens.
 *
 * The server's threads are started with SIGINT/SIGTERM blocked, and the main
 * thread waits for them with sigwait(): a clean stop answers waiting lease
 * requests and closes the database. Once the listener is up, one line
 * "airgap queue: listening on http://HOST:PORT" goes to stdout (the port is
 * the real one when 0 was asked for), which scripts and tests wait for.
 */
#include "cli/commands_int.h"
#include "common/error.h"
#include "common/log.h"
#include "queue/queue.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:8470"
#define DEFAULT_DATA "/var/lib/airgap/queue"

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: airgap queue [flags]\n"
      "       airgap queue token create --role agent|client|viewer [--data DIR]\n"
      "\n"
      "Runs the job queue service (HTTP+JSON under /v1, /healthz, /metrics) and its\n"
      "web UI at / (jobs, live logs, agents, the queue; sign in with a client or\n"
      "viewer token).\n"
      "\n"
      "flags:\n"
      "  --listen HOST:PORT   address to serve (env AIRGAP_QUEUE_LISTEN; default " DEFAULT_LISTEN
      ";\n"
      "                       port 0 picks a free port)\n"
      "  --database URL       postgres://… : PostgreSQL shared by several queue servers\n"
      "                       (env AIRGAP_DATABASE_URL; default: SQLite under --data)\n"
      "  --pool-size N        PostgreSQL connections per server (default 8)\n"
      "  --retention SECONDS  keep finished jobs and logs this long (default 2592000, 30 days)\n"
      "  --log-total-cap BYTES  prune the oldest finished jobs past this much log (default: none)\n"
      "  --data DIR           data directory holding queue.db (env AIRGAP_DATA;\n"
      "                       default " DEFAULT_DATA ")\n"
      "  --lease-ttl S        seconds a lease lives without a heartbeat (default 30)\n"
      "  --max-attempts N     leases per job before errored (agent_lost or the agent's\n"
      "                       reason) (default 3)\n"
      "  --log-cap BYTES      log bytes kept per job; the rest is cut with a marker\n"
      "                       (default 16777216)\n"
      "  --max-wait S         longest lease long-poll in seconds (default 60)\n"
      "  --sync full|normal   full (default): every acknowledged job survives power loss;\n"
      "                       normal: survives a crash of the process, not of the machine\n"
      "  --log-level LEVEL    debug, info, warn or error (default info)\n"
      "  --help               show this help\n"
      "\n"
      "token create flags:\n"
      "  --role agent|client|viewer  agent tokens lease and run jobs; client tokens submit,\n"
      "                       read, cancel, retry and drain agents; viewer tokens only read\n"
      "                       (dashboards) (required)\n"
      "  --data DIR           as above (default " DEFAULT_DATA ")\n"
      "The new token is printed once; only its hash is stored.\n");
}

static void token_usage(FILE *out) {
  fprintf(out, "usage: airgap queue token create --role agent|client|viewer [--data DIR]\n"
               "\n"
               "Creates an API token and prints it once (only its hash is stored).\n"
               "\n"
               "flags:\n"
               "  --role agent|client|viewer  agent: lease and run jobs; client: submit, read,\n"
               "                       cancel, retry, drain agents; viewer: read only (required)\n"
               "  --data DIR           data directory (env AIRGAP_DATA; default " DEFAULT_DATA ")\n"
               "  --help               show this help\n");
}

static const char *default_data(void) {
  const char *d = getenv("AIRGAP_DATA");
  return d && *d ? d : DEFAULT_DATA;
}

static int parse_uint(unsigned long long *out, const char *s, unsigned long long max) {
  char *end = NULL;
  errno = 0;
  if (!s || !*s || *s == '-')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return -1;
  *out = v;
  return 0;
}

static int token_command(int argc, char **argv) {
  static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
                                       {"data", required_argument, NULL, 'd'},
                                       {"database", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  /* a postgres:// URL in place of the directory names the PostgreSQL store */
  const char *db_url = getenv("AIRGAP_DATABASE_URL");
  const char *role = NULL, *data = db_url && *db_url ? db_url : default_data();
  int c;
  if (argc < 2 || strcmp(argv[1], "create") != 0) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      token_usage(stdout);
      return 0;
    }
    return cli_usage_error("queue token",
                           "expected `airgap queue token create --role agent|client|viewer`");
  }
  argc--;
  argv++;
  cli_getopt_reset();
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'r': role = optarg; break;
    case 'd': data = optarg; break;
    case 'h': token_usage(stdout); return 0;
    default: return cli_flag_error("queue token create", c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error("queue token create", "unexpected argument '%s'", argv[optind]);
  if (!role)
    return cli_usage_error("queue token create", "--role agent|client|viewer is required");
  char *token = NULL;
  int error = queue_token_create(&token, data, role);
  if (error < 0) {
    fprintf(stderr, "airgap queue token create: %s\n", airgap_error_last());
    return error == AIRGAP_EINVALID ? 2 : 1;
  }
  printf("%s\n", token);
  fflush(stdout);
  free(token);
  return 0;
}

int cmd_queue(int argc, char **argv) {
  static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                       {"data", required_argument, NULL, 'd'},
                                       {"lease-ttl", required_argument, NULL, 't'},
                                       {"max-attempts", required_argument, NULL, 'a'},
                                       {"log-cap", required_argument, NULL, 'c'},
                                       {"max-wait", required_argument, NULL, 'w'},
                                       {"sync", required_argument, NULL, 's'},
                                       {"log-level", required_argument, NULL, 'L'},
                                       {"database", required_argument, NULL, 'D'},
                                       {"pool-size", required_argument, NULL, 'P'},
                                       {"retention", required_argument, NULL, 'R'},
                                       {"log-total-cap", required_argument, NULL, 'T'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  if (argc >= 2 && strcmp(argv[1], "token") == 0)
    return token_command(argc - 1, argv + 1);
  queue_server_options o;
  memset(&o, 0, sizeof(o));
  const char *env_listen = getenv("AIRGAP_QUEUE_LISTEN");
  o.listen = env_listen && *env_listen ? env_listen : DEFAULT_LISTEN;
  o.data_dir = default_data();
  o.database = getenv("AIRGAP_DATABASE_URL");
  unsigned long long v;
  int c;
  cli_getopt_reset();
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'l': o.listen = optarg; break;
    case 'd': o.data_dir = optarg; break;
    case 't':
    case 'a':
    case 'w':
      if (parse_uint(&v, optarg, 86400) < 0 || v == 0) {
        fprintf(stderr, "airgap queue: --%s must be a positive integer\n",
                c == 't'   ? "lease-ttl"
                : c == 'a' ? "max-attempts"
                           : "max-wait");
        return 2;
      }
      if (c == 't')
        o.lease_ttl = (unsigned)v;
      else if (c == 'a')
        o.max_attempts = (unsigned)v;
      else
        o.max_wait = (unsigned)v;
      break;
    case 'c':
      if (parse_uint(&v, optarg, UINT64_MAX) < 0 || v < 1024) {
        fprintf(stderr, "airgap queue: --log-cap must be a byte count of at least 1024\n");
        return 2;
      }
      o.log_cap = v;
      break;
    case 's':
      if (strcmp(optarg, "full") != 0 && strcmp(optarg, "normal") != 0) {
        fprintf(stderr, "airgap queue: --sync must be full or normal\n");
        return 2;
      }
      o.sync_normal = strcmp(optarg, "normal") == 0;
      break;
    case 'L': {
      log_level level;
      if (log_level_parse(&level, optarg) < 0) {
        fprintf(stderr, "airgap queue: --log-level must be debug, info, warn or error\n");
        return 2;
      }
      log_level_set(level);
      break;
    }
    case 'D': o.database = optarg; break;
    case 'P':
    case 'R':
    case 'T':
      /* --retention: seconds; --log-total-cap: bytes; --pool-size: connections */
      if (parse_uint(&v, optarg, c == 'P' ? 1000 : UINT64_MAX) < 0 || v == 0) {
        fprintf(stderr, "airgap queue: --%s must be a positive integer\n",
                c == 'P'   ? "pool-size"
                : c == 'R' ? "retention"
                           : "log-total-cap");
        return 2;
      }
      if (c == 'P')
        o.pool_size = (unsigned)v;
      else if (c == 'R')
        o.retention = v;
      else
        o.log_total_cap = v;
      break;
    case 'h': usage(stdout); return 0;
    default: return cli_flag_error("queue", c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error("queue", "unexpected argument '%s'", argv[optind]);

  /* Block the stop signals before any thread exists, so that only sigwait sees them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  queue_server *server = NULL;
  if (queue_server_start(&server, &o) < 0) {
    fprintf(stderr, "airgap queue: %s\n", airgap_error_last());
    return 1;
  }
  char host[256];
  const char *first_end = strchr(o.listen, ',');
  size_t first_len = first_end ? (size_t)(first_end - o.listen) : strlen(o.listen);
  const char *colon = memrchr(o.listen, ':', first_len);
  size_t host_len = colon ? (size_t)(colon - o.listen) : 0;
  if (host_len >= sizeof(host))
    host_len = 0;
  memcpy(host, o.listen, host_len);
  host[host_len] = '\0';
  if (strcmp(host, "0.0.0.0") == 0 || host_len == 0)
    snprintf(host, sizeof(host), "127.0.0.1");
  printf("airgap queue: listening on http://%s:%u\n", host, queue_server_port(server));
  fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  log_info("queue", "signal %d: stopping", sig);
  queue_server_free(server);
  return 0;
}
