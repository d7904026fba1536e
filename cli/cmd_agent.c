/*
 * cmd_agent.c — `airgap agent`: leases jobs from a queue and runs each in its
 * own air gap, until drained or aborted (signals: cli_agent_flags.c).
 *
 * `airgap agent --supervise` is the hidden entry of the job supervisor
 * processes the agent starts (airgap-runner again, found through
 * /proc/self/exe, so nothing else needs installing); main.c needs no entry
 * for it.
 */
#include "cli/cli_int.h"
#include "common/error.h"

#include <string.h>

#define DEFAULT_CACHE "/var/lib/airgap/cache"
#define DEFAULT_WORK "/var/lib/airgap/work"

static void usage(FILE *out) {
  fprintf(out,
          "usage: airgap agent --queue URL --token TOKEN [flags]\n"
          "\n"
          "Leases jobs from a queue and runs each in its own air gap: an overlay workspace of\n"
          "the commit, a sandbox network namespace with a private AWS emulator on\n"
          "localhost:4566, and the job's container. Needs root and a Docker engine.\n"
          "\n"
          "flags:\n"
          "  --queue URL[,URL...]   the queue, http://HOST:PORT; several servers on one\n"
          "                         database fail over in turn (env AIRGAP_QUEUE; required)\n"
          "  --token TOKEN          an agent token (env AIRGAP_TOKEN; required)\n");
  cli_agent_flags_help(out, 1, DEFAULT_CACHE, DEFAULT_WORK);
  fprintf(out, "\n"
               "Signals: SIGTERM drains (no new jobs; running ones finish, up to\n"
               "--shutdown-timeout); SIGINT or a second SIGTERM cancels running jobs and exits.\n");
}

int cmd_agent(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--supervise") == 0)
    return agent_supervise(0);
  static const struct option opts[] = {CLI_AGENT_OPTIONS,
                                       CLI_AGENT_POOL_OPTIONS,
                                       {"queue", required_argument, NULL, CLI_OPT_QUEUE},
                                       {"token", required_argument, NULL, CLI_OPT_TOKEN},
                                       {NULL, 0, NULL, 0}};
  cli_agent_flags f;
  cli_agent_flags_init(&f, DEFAULT_CACHE, DEFAULT_WORK);
  int code = 2, opt;
  cli_getopt_reset();
  while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    int handled = cli_agent_flags_option(&f, "agent", opt, optarg);
    if (handled < 0)
      goto out;
    if (handled)
      continue;
    if (opt == CLI_OPT_QUEUE) {
      f.o.queue_url = optarg;
    } else if (opt == CLI_OPT_TOKEN) {
      f.o.token = optarg;
    } else if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto out;
    } else {
      code = cli_flag_error("agent", opt, argv);
      goto out;
    }
  }
  if (optind < argc) {
    code = cli_usage_error("agent", "unexpected argument '%s'", argv[optind]);
    goto out;
  }
  if (!f.o.queue_url || !f.o.token) {
    code = cli_usage_error("agent", "--queue and --token are required");
    goto out;
  }
  if (cli_agent_flags_finish(&f, "agent") < 0)
    goto out;
  code = 1;
  if (cli_docker_check(f.o.docker_host) < 0) {
    fprintf(stderr, "airgap agent: %s\n", airgap_error_last());
    goto out;
  }
  cli_agent_signals_install();
  if (agent_run(&f.o) < 0) {
    fprintf(stderr, "airgap agent: %s\n", airgap_error_last());
    goto out;
  }
  code = 0;
out:
  cli_agent_flags_free(&f);
  return code;
}
