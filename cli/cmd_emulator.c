/*
 * cmd_emulator.c — `airgap emulator`: a LocalStack-compatible AWS emulator on
 * its own, a thin wrapper over emulator/emulator.h.
 *
 * Flags have LocalStack's environment names as equivalents (GATEWAY_LISTEN,
 * SERVICES, LOCALSTACK_HOST, DATA_DIR, DEBUG, LS_LOG), so a compose file
 * written for LocalStack needs no changes. "Ready." goes to stdout on its own
 * line once the listeners accept connections, as LocalStack logs it.
 *
 * SIGINT/SIGTERM are blocked before any thread starts and read from a
 * signalfd by the main thread, which waits on it and the emulator's stop
 * request together, so it stops the same way whether a signal or
 * POST /_localstack/health {"action":"kill"} asked for it (no thread of its
 * own: each thread made at start costs start time here).
 */
#include "cli/commands_int.h"
#include "common/error.h"
#include "common/log.h"
#include "emulator/emulator.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_LISTEN "127.0.0.1:4566"
/* Where LocalStack's image keeps its init hooks, and compose files mount them. */
#define DEFAULT_INIT_DIR "/etc/localstack/init"

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap emulator [flags]\n"
          "\n"
          "Runs the LocalStack-compatible AWS emulator (services: %s) and LocalStack's\n"
          "internal endpoints (/_localstack/health, /_localstack/info, ...). Prints\n"
          "\"AWS endpoint: http://HOST:PORT\" for each address, then \"Ready.\" on a line of\n"
          "its own once it accepts connections; stops on SIGINT or SIGTERM.\n"
          "\n"
          "flags:\n"
          "  --listen LIST       comma-separated [HOST]:PORT addresses to serve (env\n"
          "                      GATEWAY_LISTEN; default " DEFAULT_LISTEN "; no host means\n"
          "                      127.0.0.1; port 0 picks a free port, printed as\n"
          "                      \"Listening on PORT\" before \"Ready.\")\n"
          "  --services LIST     comma-separated services to serve, others answer as\n"
          "                      disabled (env SERVICES; default all)\n"
          "  --hostname HOST:PORT  host used in URLs handed out (SQS queue URLs) when a\n"
          "                      request has no Host header (env LOCALSTACK_HOST; default\n"
          "                      localhost:<the port>)\n"
          "  --data-dir DIR      where large request bodies are spilled (env DATA_DIR;\n"
          "                      default $TMPDIR or /tmp)\n"
          "  --log-level LEVEL   debug, info, warn or error (env LS_LOG; DEBUG=1 means\n"
          "                      debug; default info)\n"
          "  --init-dir DIR      LocalStack's init hooks: scripts (.sh, executable; .py)\n"
          "                      in DIR/boot.d, start.d, ready.d and shutdown.d run at\n"
          "                      those stages, with AWS_ENDPOINT_URL and awslocal set\n"
          "                      up; GET /_localstack/init lists them (env\n"
          "                      AIRGAP_INIT_DIR; default " DEFAULT_INIT_DIR " when it\n"
          "                      exists; \"\" runs none)\n"
          "  --s3-verify-signatures  verify S3 requests' SigV4/SigV2 signatures and presigned\n"
          "                      URLs against the caller's secret (env\n"
          "                      S3_SKIP_SIGNATURE_VALIDATION=0; default off: accepted\n"
          "                      unverified, as LocalStack does)\n"
          "  --s3-enforce-access  evaluate S3 ACLs, bucket policies and public-access blocks\n"
          "                      per account (env AIRGAP_S3_ENFORCE_ACCESS=1; default off)\n"
          "  --help              show this help\n",
          emulator_service_names());
}

/* As PID 1 of a container (`docker run` without --init), the emulator would
 * inherit every orphan in the container (what init hooks leave, what `docker
 * exec` leaves) and, not waiting for them, keep them as zombies. So there, as
 * tini does, the first process only reaps children and passes signals on,
 * and a child runs the emulator; the first exits with the child's status.
 * Returns in the child (or when there is no need, or fork fails). */
static void reap_as_pid1(void) {
  if (getpid() != 1)
    return;
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child <= 0) {
    if (child < 0)
      fprintf(stderr,
              "airgap emulator: cannot fork a child to run in, so orphans stay "
              "unreaped: %s\n",
              strerror(errno));
    sigprocmask(SIG_SETMASK, &old, NULL);
    return;
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig == SIGCHLD) {
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (pid == child)
          _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    } else if (sig > 0) {
      kill(child, sig);
    }
  }
}

/* LocalStack lets GATEWAY_LISTEN entries leave the host out (":4566" or
 * "4566"); ours default to loopback. Returns the list with hosts filled in
 * (owned), NULL when out of memory or too long. */
static char *normalize_listen(const char *list) {
  size_t cap = strlen(list) * 2 + 64;
  if (cap > 65536)
    return NULL;
  char *out = malloc(cap);
  if (!out)
    return NULL;
  size_t used = 0;
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    int bare = n > 0 && strspn(p, "0123456789") == n;
    const char *prefix = (n > 0 && p[0] == ':') ? "127.0.0.1" : bare ? "127.0.0.1:" : "";
    int w = snprintf(out + used, cap - used, "%s%s%.*s", used ? "," : "", prefix, (int)n, p);
    if (w < 0 || (size_t)w >= cap - used) {
      free(out);
      return NULL;
    }
    used += (size_t)w;
    p += n;
    if (*p == ',')
      p++;
  }
  return out;
}

/* 1 when some "host:port" of the list has port 0 (the real port is printed). */
static int asks_free_port(const char *list) {
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if (n >= 2 && p[n - 1] == '0' && p[n - 2] == ':')
      return 1;
    p += n;
    if (*p == ',')
      p++;
  }
  return 0;
}

/* One "AWS endpoint: http://HOST:PORT" line per listen address, for the
 * user to copy into AWS_ENDPOINT_URL. "Ready." stays alone on its own line
 * after them: LocalStack's tooling waits for exactly that line. The first
 * address's port 0 is the port the emulator picked; a later one's is not
 * known here, so that address is left out. */
static void print_endpoints(const char *list, unsigned first_port) {
  int first = 1;
  for (const char *p = list; *p; first = 0) {
    size_t n = strcspn(p, ",");
    const char *colon = memrchr(p, ':', n);
    if (colon) {
      int host_len = (int)(colon - p);
      int port_len = (int)(n - (size_t)host_len - 1);
      if (port_len == 1 && colon[1] == '0') {
        if (first)
          printf("AWS endpoint: http://%.*s:%u\n", host_len, p, first_port);
      } else {
        printf("AWS endpoint: http://%.*s:%.*s\n", host_len, p, port_len, colon + 1);
      }
    }
    p += n;
    if (*p == ',')
      p++;
  }
}

int cmd_emulator(int argc, char **argv) {
  emulator_options o = {0};
  o.listen = cli_env("GATEWAY_LISTEN");
  o.services = cli_env("SERVICES");
  o.hostname = cli_env("LOCALSTACK_HOST");
  o.data_dir = cli_env("DATA_DIR");
  const char *init_dir = getenv("AIRGAP_INIT_DIR");
  const char *level_name = cli_env("LS_LOG");
  if (!level_name && cli_env("DEBUG") && strcmp(cli_env("DEBUG"), "0") != 0)
    level_name = "debug";
  if (level_name && strcasecmp(level_name, "trace") == 0)
    level_name = "debug";
  static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
                                       {"services", required_argument, NULL, 's'},
                                       {"hostname", required_argument, NULL, 'H'},
                                       {"data-dir", required_argument, NULL, 'd'},
                                       {"log-level", required_argument, NULL, 'L'},
                                       {"init-dir", required_argument, NULL, 'i'},
                                       {"s3-verify-signatures", no_argument, NULL, 'V'},
                                       {"s3-enforce-access", no_argument, NULL, 'E'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  cli_getopt_reset();
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'l': o.listen = optarg; break;
    case 's': o.services = optarg; break;
    case 'H': o.hostname = optarg; break;
    case 'd': o.data_dir = optarg; break;
    case 'L': level_name = optarg; break;
    case 'i': init_dir = optarg; break;
    case 'V': o.s3_verify_signatures = 1; break;
    case 'E': o.s3_enforce_access = 1; break;
    case 'h': usage(stdout); return 0;
    default: return cli_flag_error("emulator", c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error("emulator", "unexpected argument '%s'", argv[optind]);
  if (level_name) {
    log_level level;
    if (log_level_parse(&level, level_name) < 0) {
      fprintf(stderr, "airgap emulator: log level must be debug, info, warn or error, not '%s'\n",
              level_name);
      return 2;
    }
    log_level_set(level);
  }
  /* The default folder is optional; one the user names must exist. */
  if (!init_dir) {
    if (access(DEFAULT_INIT_DIR, F_OK) == 0)
      o.init_dir = DEFAULT_INIT_DIR;
  } else if (*init_dir) {
    if (access(init_dir, R_OK | X_OK) != 0) {
      fprintf(stderr, "airgap emulator: the init hooks folder %s cannot be read: %s\n", init_dir,
              strerror(errno));
      return 2;
    }
    o.init_dir = init_dir;
  }
  char *listen = normalize_listen(o.listen ? o.listen : DEFAULT_LISTEN);
  if (!listen) {
    fprintf(stderr, "airgap emulator: the listen list is too long\n");
    return 2;
  }
  o.listen = listen;

  reap_as_pid1();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) {
    fprintf(stderr, "airgap emulator: cannot wait for signals (signalfd): %s\n", strerror(errno));
    free(listen);
    return 1;
  }

  emulator *emu = NULL;
  if (emulator_start(&emu, &o) < 0) {
    fprintf(stderr, "airgap emulator: cannot start: %s\n", airgap_error_last());
    close(sfd);
    free(listen);
    return 1;
  }
  if (asks_free_port(o.listen))
    printf("Listening on %u\n", (unsigned)emulator_port(emu));
  print_endpoints(o.listen, emulator_port(emu));
  printf("Ready.\n");
  fflush(stdout);

  if (emulator_wait_fd(emu, sfd, -1) == 2) {
    struct signalfd_siginfo info;
    if (read(sfd, &info, sizeof(info)) == (ssize_t)sizeof(info))
      log_info("emulator", "signal %u: stopping", info.ssi_signo);
  }
  close(sfd);
  emulator_free(emu);
  free(listen);
  return 0;
}
