/*
 * pause.c — the sandbox container's only process. It holds the job's network
 * namespace open and does nothing else: sleeps until SIGTERM/SIGINT and, as
 * PID 1, reaps any orphan re-parented to it. Built static and bind-mounted
 * read-only into the sandbox, so any image works (or none at all).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) { stop_requested = sig; }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1) {
    fprintf(argc == 2 && argv[1][0] == '-' && argv[1][1] == 'v' ? stdout : stderr,
            "airgap-pause %s: holds a network namespace; takes no arguments\n", AIRGAP_VERSION);
    return argc == 2 && argv[1][0] == '-' && argv[1][1] == 'v' ? 0 : 2;
  }
  struct sigaction stop = {0}, child = {0};
  stop.sa_handler = on_stop;
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  sigaction(SIGCHLD, &child, NULL);
  while (!stop_requested)
    pause();
  return 0;
}
