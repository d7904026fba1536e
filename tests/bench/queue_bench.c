/*
 * queue_bench.c — throughput and long-poll latency of the queue over HTTP.
 *
 * Starts a queue server in this process on 127.0.0.1 (port 0, a temporary data
 * directory), then measures with real HTTP clients (queue/queue.h over
 * libcurl):
 *   1. submit + lease + complete cycles per second with several concurrent
 *      clients (16 unless --clients), each running whole cycles;
 *   2. the delay between the start of a submission and the answer to a lease
 *      request that was already waiting (long poll): p50, p99 and max, beside
 *      the submission's own round trip. (The waiting lease is answered right
 *      after the submission's commit is durable, so its answer often reaches
 *      its client before the submitter has read its own acknowledgement: a
 *      delay "from the acknowledgement" would be negative, and is not shown.)
 *   3. the disk's own cost: fdatasync(2) of a 4 KiB overwrite in the data
 *      directory, p50/p99/max — the floor under every durable acknowledgement.
 * Each figure is printed for SQLite with synchronous=FULL (the default:
 * durable across power loss) and synchronous=NORMAL (durable across process
 * crashes only), and — when AIRGAP_TEST_PG_URL names a PostgreSQL database
 * (run it as `tests/queue/with-pg queue_bench`) — for PostgreSQL with one
 * queue server and with two and four on the same database, side by side in
 * the same run. With several servers the clients spread over them, and the
 * waiting lease is parked on the first server while the job is submitted
 * through the last: the cross-server wake-up (LISTEN/NOTIFY).
 *
 * usage: queue_bench [--clients N] [--seconds S] [--samples N] [--sync full|normal]
 * (--sync: only that SQLite column, e.g. under `perf stat` or strace.)
 * RT=1 (as root) runs it under SCHED_FIFO, as emulator_bench.py does: on a
 * machine loaded by others the figures are then this code's, not the
 * scheduler's queue (the kernel still keeps 5% of each second for others).
 * Not registered in ctest; the targets: ≥ 2,000 cycles/s, ≤ 5 ms
 * (≤ 10 ms across servers).
 */
#include "common/error.h"
#include "common/http_client.h"
#include "common/log.h"
#include "queue/queue.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SPEC "{\"repo\":\"https://git.example/app.git\",\"image\":\"debian\",\"script\":\"true\"}"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(const struct timeval *tv) {
  return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

#define MAX_SERVERS 4

typedef struct bench {
  char urls[MAX_SERVERS][64];
  int servers;
  char *client_token;
  char *agent_token;
  double until;
  int failed;
} bench;

typedef struct worker {
  bench *b;
  int index;
  unsigned long cycles;
  double cpu_s; /* this client thread's own CPU time (libcurl, JSON) */
} worker;

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *cycle_worker(void *arg) {
  worker *w = arg;
  queue_client *client = NULL, *agent = NULL;
  char name[32];
  snprintf(name, sizeof(name), "bench-%d", w->index);
  const char *url = w->b->urls[w->index % w->b->servers];
  double cpu0 = thread_cpu_s();
  if (queue_client_new(&client, url, w->b->client_token) < 0 ||
      queue_client_new(&agent, url, w->b->agent_token) < 0) {
    w->b->failed = 1;
    goto done;
  }
  while (now_s() < w->b->until) {
    char *id = NULL;
    queue_job *job = NULL;
    /* another client may have taken this job, and SKIP LOCKED passes over
     * jobs other leases hold for a moment: then wait for the next one */
    int rc = queue_client_submit(&id, client, SPEC, strlen(SPEC));
    if (rc == 0)
      rc = queue_client_lease(&job, agent, name, NULL, 0, 0);
    if (rc == 0 && !job)
      rc = queue_client_lease(&job, agent, name, NULL, 0, 1);
    if (rc < 0 || !job ||
        queue_client_complete(agent, job->id, job->lease, "passed", NULL, 0) < 0) {
      fprintf(stderr, "queue_bench: cycle failed: %s\n", airgap_error_last());
      w->b->failed = 1;
      free(id);
      queue_job_free(job);
      break;
    }
    w->cycles++;
    free(id);
    queue_job_free(job);
  }
done:
  queue_client_free(client);
  queue_client_free(agent);
  w->cpu_s = thread_cpu_s() - cpu0;
  return NULL;
}

typedef struct waiter_arg {
  bench *b;
  double answered;
  int ok;
} waiter_arg;

static void *lease_waiter(void *arg) {
  waiter_arg *a = arg;
  queue_client *agent = NULL;
  queue_job *job = NULL;
  if (queue_client_new(&agent, a->b->urls[0], a->b->agent_token) == 0 &&
      queue_client_lease(&job, agent, "waiter", NULL, 0, 30) == 0 && job) {
    a->answered = now_s();
    a->ok = 1;
    queue_client_complete(agent, job->id, job->lease, "passed", NULL, 0);
  }
  queue_job_free(job);
  queue_client_free(agent);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(dir);
}

#define PCTS 3 /* p50, p99, max */

typedef struct result {
  double cycles_per_s;
  double cpu_us;        /* CPU time of this process (server and clients) per cycle */
  double client_cpu_us; /* of which the client threads' own */
  double wake[PCTS];    /* submit start -> waiting lease answered (ms) */
  double submit[PCTS];  /* the submission's round trip (ms) */
} result;

/* p50, p99 and max of n samples (sorted in place): the nearest-rank
 * percentile, so every figure is one that was measured. */
static void percentiles(double out[PCTS], double *v, int n) {
  static const double at[PCTS - 1] = {0.50, 0.99};
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  for (int i = 0; i < PCTS - 1; i++) {
    int rank = (int)(at[i] * n + 0.999999); /* ceil */
    out[i] = v[(rank < 1 ? 1 : rank) - 1];
  }
  out[PCTS - 1] = v[n - 1];
}

/* fdatasync of a 4 KiB block rewritten in place in dir (what a WAL commit
 * after a checkpoint costs the disk), samples times. */
static int disk_probe(double out[PCTS], const char *dir, int samples) {
  char path[512];
  char block[4096];
  memset(block, 'x', sizeof(block));
  snprintf(path, sizeof(path), "%s/probe", dir);
  double *v = calloc((size_t)samples, sizeof(double));
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int error = -1;
  if (!v || fd < 0 || pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block) || fsync(fd))
    goto done;
  for (int i = 0; i < samples; i++) {
    if (pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block))
      goto done;
    double t0 = now_s();
    if (fdatasync(fd) < 0)
      goto done;
    v[i] = (now_s() - t0) * 1000;
  }
  percentiles(out, v, samples);
  error = 0;
done:
  if (fd >= 0)
    close(fd);
  unlink(path);
  free(v);
  return error;
}

/* pg NULL: one SQLite server; else servers servers on that database. */
static int run(result *out, int sync_normal, const char *pg, int servers, int clients,
               double seconds, int samples) {
  char dir[] = "/tmp/airgap-queue-bench-XXXXXX";
  queue_server *server[MAX_SERVERS] = {NULL};
  bench b;
  memset(&b, 0, sizeof(b));
  int error = -1;
  double *wake = calloc((size_t)samples, sizeof(double));
  double *submit = calloc((size_t)samples, sizeof(double));
  if (!mkdtemp(dir) || !wake || !submit)
    goto cleanup;
  queue_server_options o = {.listen = "127.0.0.1:0",
                            .data_dir = dir,
                            .sync_normal = sync_normal,
                            .threads = 8,
                            .database = pg};
  b.servers = pg ? servers : 1;
  for (int i = 0; i < b.servers; i++) {
    if (queue_server_start(&server[i], &o) < 0)
      goto cleanup;
    snprintf(b.urls[i], sizeof(b.urls[i]), "http://127.0.0.1:%u", queue_server_port(server[i]));
  }
  if (queue_token_create(&b.client_token, pg ? pg : dir, "client") < 0 ||
      queue_token_create(&b.agent_token, pg ? pg : dir, "agent") < 0)
    goto cleanup;

  /* 1. cycles per second */
  worker *w = calloc((size_t)clients, sizeof(*w));
  pthread_t *t = calloc((size_t)clients, sizeof(*t));
  if (!w || !t) {
    free(w);
    free(t);
    goto cleanup;
  }
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  double start = now_s();
  b.until = start + seconds;
  for (int i = 0; i < clients; i++) {
    w[i].b = &b;
    w[i].index = i;
    pthread_create(&t[i], NULL, cycle_worker, &w[i]);
  }
  unsigned long total = 0;
  double client_cpu = 0;
  for (int i = 0; i < clients; i++) {
    pthread_join(t[i], NULL);
    total += w[i].cycles;
    client_cpu += w[i].cpu_s;
  }
  double elapsed = now_s() - start;
  getrusage(RUSAGE_SELF, &ru1);
  free(w);
  free(t);
  out->cycles_per_s = (double)total / elapsed;
  out->cpu_us = total ? (tv_s(&ru1.ru_utime) - tv_s(&ru0.ru_utime) + tv_s(&ru1.ru_stime) -
                         tv_s(&ru0.ru_stime)) *
                            1e6 / (double)total
                      : 0;
  out->client_cpu_us = total ? client_cpu * 1e6 / (double)total : 0;

  /* 2. submission → answer of an already waiting lease */
  queue_client *client = NULL;
  if (queue_client_new(&client, b.urls[b.servers - 1], b.client_token) < 0)
    goto cleanup;
  for (int i = 0; i < samples && !b.failed; i++) {
    waiter_arg a = {&b, 0, 0};
    pthread_t wt;
    pthread_create(&wt, NULL, lease_waiter, &a);
    usleep(30000); /* let the lease request park */
    char *id = NULL;
    double t0 = now_s();
    if (queue_client_submit(&id, client, SPEC, strlen(SPEC)) < 0)
      b.failed = 1;
    double t1 = now_s();
    free(id);
    pthread_join(wt, NULL);
    if (!a.ok)
      b.failed = 1;
    wake[i] = (a.answered - t0) * 1000;
    submit[i] = (t1 - t0) * 1000;
  }
  queue_client_free(client);
  if (!b.failed) {
    percentiles(out->wake, wake, samples);
    percentiles(out->submit, submit, samples);
  }
  error = b.failed ? -1 : 0;
cleanup:
  for (int i = 0; i < MAX_SERVERS; i++)
    queue_server_free(server[i]);
  free(b.client_token);
  free(b.agent_token);
  free(wake);
  free(submit);
  remove_dir(dir);
  return error;
}

static void print_cell(int skipped, const char *format, double v) {
  if (skipped) {
    printf(" %14s", "-");
    return;
  }
  putchar(' ');
  printf(format, v);
}

int main(int argc, char **argv) {
  /* 16 by default: a queue's load is many agents and submitters at once, and
   * group commit is what the durable figure measures. With --clients 4 each
   * client waits for two flushes per cycle and the disk's latency sets the
   * pace instead. */
  int clients = 16, samples = 50, only = -1; /* --sync: -1 both, 0 full, 1 normal */
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--clients") == 0)
      clients = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--seconds") == 0)
      seconds = strtod(argv[i + 1], NULL);
    else if (strcmp(argv[i], "--samples") == 0)
      samples = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--sync") == 0)
      only = strcmp(argv[i + 1], "full") == 0 ? 0 : strcmp(argv[i + 1], "normal") == 0 ? 1 : -2;
  }
  if (argc % 2 == 0 || clients < 1 || clients > 256 || seconds <= 0 || samples < 1 || only == -2) {
    fprintf(stderr, "usage: queue_bench [--clients N] [--seconds S] [--samples N] "
                    "[--sync full|normal]\n");
    return 2;
  }
  log_level_set(LOG_WARN);
  http_client_global_init();
  const char *rt = getenv("RT");
  int realtime = rt && strcmp(rt, "1") == 0;
  /* every thread started from here on (server, clients) inherits it */
  if (realtime &&
      sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){.sched_priority = 50}) < 0) {
    perror("queue_bench: RT=1: sched_setscheduler");
    return 1;
  }
  const char *pg = getenv("AIRGAP_TEST_PG_URL");
  if (pg && !*pg)
    pg = NULL;
  enum { COLUMNS = 5 };
  const char *heads[COLUMNS] = {"sqlite FULL", "sqlite NORMAL", "pg 1 server", "pg 2 servers",
                                "pg 4 servers"};
  result r[COLUMNS];
  int cols = pg ? COLUMNS : 2;
  memset(r, 0, sizeof(r));
  int skip[COLUMNS] = {only == 1, only == 0, 0, 0, 0};
  for (int i = 0; i < cols; i++) {
    int servers = i == 2 ? 1 : i == 3 ? 2 : 4;
    if (skip[i])
      continue;
    if (run(&r[i], i == 1, i >= 2 ? pg : NULL, servers, clients, seconds, samples) < 0) {
      fprintf(stderr, "queue_bench: %s: %s\n", heads[i], airgap_error_last());
      return 1;
    }
  }
  double disk[PCTS] = {0, 0, 0};
  char probe_dir[] = "/tmp/airgap-queue-bench-XXXXXX";
  int probed = mkdtemp(probe_dir) && disk_probe(disk, probe_dir, samples) == 0;
  rmdir(probe_dir);
  printf("queue benchmark: %d concurrent clients, %.0f s of cycles, %d lease-delay samples%s%s\n",
         clients, seconds, samples, realtime ? ", SCHED_FIFO" : "",
         pg ? "" : " (set AIRGAP_TEST_PG_URL, e.g. via tests/queue/with-pg, for PostgreSQL)");
  if (probed)
    printf("disk: fdatasync of a 4 KiB overwrite in /tmp: p50 %.2f, p99 %.2f, max %.2f ms\n",
           disk[0], disk[1], disk[2]);
  printf("%-44s", "");
  for (int i = 0; i < cols; i++)
    printf(" %14s", heads[i]);
  printf("\n%-44s", "submit+lease+complete cycles/s");
  for (int i = 0; i < cols; i++)
    print_cell(skip[i], "%14.0f", r[i].cycles_per_s);
  printf("\n%-44s", "CPU per cycle, server + clients (us)");
  for (int i = 0; i < cols; i++)
    print_cell(skip[i], "%14.0f", r[i].cpu_us);
  printf("\n%-44s", "  of which the clients' threads (us)");
  for (int i = 0; i < cols; i++)
    print_cell(skip[i], "%14.0f", r[i].client_cpu_us);
  printf("\n");
  const char *names[PCTS] = {"p50", "p99", "max"};
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < PCTS; j++) {
      char label[64];
      snprintf(label, sizeof(label), "%s %s (ms)",
               k ? "submit round trip" : "lease wake-up from submit start", names[j]);
      printf("%-44s", label);
      for (int i = 0; i < cols; i++)
        print_cell(skip[i], "%14.2f", k ? r[i].submit[j] : r[i].wake[j]);
      printf("\n");
    }
  printf("targets: >= 2000 cycles/s, lease wake-up max <= 5 ms (<= 10 ms across servers)\n");
  return 0;
}
