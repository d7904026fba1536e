/*
 * test_store.c — both stores with the same assertions: SQLite, and PostgreSQL
 * when AIRGAP_TEST_PG_URL names a database (tests/queue/with-pg sets it up;
 * each test starts from an empty schema there). Job life cycle, leases (label matching,
 * oldest first, never one job to two connections), heartbeats, idempotent
 * completion, log offsets and the cap, lease expiry, handing jobs back,
 * tokens, durability across reopening, schema migrations, retention, and on
 * PostgreSQL the wake-up of another server's listener.
 */
#include "common/error.h"
#include "queue/queue_int.h"
#include "queue/store_int.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#define SPEC "{\"repo\":\"r\",\"image\":\"i\",\"script\":\"s\"}"
#define LEASE_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LEASE_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

typedef struct fixture {
  char dir[64];
  queue_store *store;
} fixture;

/* The PostgreSQL database under test, or NULL: SQLite. */
static const char *pg_url(void) {
  const char *u = getenv("AIRGAP_TEST_PG_URL");
  return u && *u ? u : NULL;
}

/* Where token creation finds the store: the URL or the data directory. */
static const char *location(const fixture *f) { return pg_url() ? pg_url() : f->dir; }

static int open_store(queue_store **out, const char *dir) {
  return pg_url() ? queue_store_open_pg(out, pg_url(), 4) : queue_store_open_sqlite(out, dir, 0);
}

static void quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

/* Runs SQL on the test database (PostgreSQL only). */
static void pg_run(const char *sql) {
  PGconn *c = PQconnectdb(pg_url());
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PQsetNoticeProcessor(c, quiet, NULL);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  snprintf(f->dir, sizeof(f->dir), "/tmp/airgap-test-store-XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  if (pg_url())
    pg_run("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
  if (open_store(&f->store, f->dir) < 0) {
    fprintf(stderr, "open store: %s\n", airgap_error_last());
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  queue_store_close(f->store); /* accepts NULL */
  DIR *d = opendir(f->dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
    unlink(path);
  }
  if (d)
    closedir(d);
  rmdir(f->dir);
  free(f);
  return 0;
}

static void insert(queue_store *s, const char *id, const char *const *labels, size_t n,
                   int64_t now) {
  assert_int_equal(queue_store_job_insert(s, id, SPEC, labels, n, now), 0);
}

static char *lease(queue_store *s, const char *agent, const char *const *labels, size_t n,
                   const char *lease_id, int64_t expires) {
  queue_record *rec = NULL;
  int rc = queue_store_lease(&rec, s, agent, labels, n, lease_id, expires, 1000);
  if (rc == AIRGAP_ENOTFOUND)
    return NULL;
  assert_int_equal(rc, 0);
  assert_string_equal(rec->job.state, "running");
  assert_string_equal(rec->job.agent, agent);
  char *id = strdup(rec->job.id);
  queue_record_free(rec);
  return id;
}

static void test_queue_store_submit_get_list(void **state) {
  fixture *f = *state;
  char id[8];
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof(id), "job%d", i);
    insert(f->store, id, NULL, 0, 100 + i);
  }
  assert_int_equal(queue_store_job_insert(f->store, "job0", SPEC, NULL, 0, 1), AIRGAP_EEXISTS);
  queue_record *rec = NULL;
  assert_int_equal(queue_store_job_get(&rec, f->store, "job3"), 0);
  assert_string_equal(rec->job.state, "queued");
  assert_string_equal(rec->job.spec_json, SPEC);
  assert_int_equal(rec->job.created_at, 103);
  assert_int_equal(rec->job.attempts, 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_job_get(&rec, f->store, "nope"), AIRGAP_ENOTFOUND);

  queue_record **recs = NULL;
  size_t n = 0;
  assert_int_equal(queue_store_job_list(&recs, &n, f->store, NULL, 0, 2), 0);
  assert_int_equal(n, 2);
  assert_string_equal(recs[0]->job.id, "job4"); /* newest first */
  assert_string_equal(recs[1]->job.id, "job3");
  int64_t cursor = recs[1]->seq;
  queue_record_list_free(recs, n);
  assert_int_equal(queue_store_job_list(&recs, &n, f->store, NULL, cursor, 10), 0);
  assert_int_equal(n, 3);
  assert_string_equal(recs[0]->job.id, "job2");
  assert_string_equal(recs[2]->job.id, "job0");
  queue_record_list_free(recs, n);
  assert_int_equal(queue_store_job_list(&recs, &n, f->store, "running", 0, 10), 0);
  assert_int_equal(n, 0);
  queue_record_list_free(recs, n);
}

static void test_queue_store_lease_labels_and_order(void **state) {
  fixture *f = *state;
  const char *gpu[] = {"gpu"};
  const char *linux_gpu[] = {"linux", "gpu"};
  insert(f->store, "needs-gpu", gpu, 1, 1);
  insert(f->store, "plain1", NULL, 0, 2);
  insert(f->store, "plain2", NULL, 0, 3);
  /* an agent without labels skips the gpu job and takes the oldest plain one */
  char *id = lease(f->store, "a1", NULL, 0, LEASE_A, 99999);
  assert_string_equal(id, "plain1");
  free(id);
  id = lease(f->store, "a2", linux_gpu, 2, LEASE_B, 99999);
  assert_string_equal(id, "needs-gpu");
  free(id);
  id = lease(f->store, "a3", NULL, 0, "cccccccccccccccccccccccccccccccc", 99999);
  assert_string_equal(id, "plain2");
  free(id);
  assert_null(lease(f->store, "a4", linux_gpu, 2, "dddddddddddddddddddddddddddddddd", 99999));
  queue_record *rec = NULL;
  assert_int_equal(queue_store_job_get(&rec, f->store, "needs-gpu"), 0);
  assert_int_equal(rec->job.attempts, 1);
  assert_string_equal(rec->job.lease, LEASE_B);
  queue_record_free(rec);
}

typedef struct racer {
  const char *dir;
  char **got;
  size_t count;
} racer;

static void *race(void *arg) {
  racer *r = arg;
  queue_store *s = NULL;
  if (open_store(&s, r->dir) < 0)
    return NULL;
  for (;;) {
    char lid[33];
    queue_random_hex(lid, 16);
    queue_record *rec = NULL;
    int rc = queue_store_lease(&rec, s, "racer", NULL, 0, lid, 99999, 1);
    if (rc == AIRGAP_ENOTFOUND)
      break;
    if (rc < 0)
      continue; /* busy: try again */
    r->got[r->count++] = strdup(rec->job.id);
    queue_record_free(rec);
  }
  queue_store_close(s);
  return NULL;
}

static void test_queue_store_two_connections_never_share_a_job(void **state) {
  fixture *f = *state;
  enum { JOBS = 200 };
  char id[16];
  for (int i = 0; i < JOBS; i++) {
    snprintf(id, sizeof(id), "j%03d", i);
    insert(f->store, id, NULL, 0, i);
  }
  racer r[2];
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    r[i].dir = f->dir;
    r[i].got = calloc(JOBS, sizeof(char *));
    r[i].count = 0;
    pthread_create(&t[i], NULL, race, &r[i]);
  }
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(r[0].count + r[1].count, JOBS);
  for (size_t i = 0; i < r[0].count; i++)
    for (size_t j = 0; j < r[1].count; j++)
      assert_string_not_equal(r[0].got[i], r[1].got[j]);
  for (int i = 0; i < 2; i++) {
    for (size_t j = 0; j < r[i].count; j++)
      free(r[i].got[j]);
    free(r[i].got);
  }
}

static void test_queue_store_heartbeat_cancel_complete(void **state) {
  fixture *f = *state;
  int cancel = -1;
  queue_record *rec = NULL;
  insert(f->store, "j1", NULL, 0, 1);
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 5), AIRGAP_EBUSY);
  free(lease(f->store, "a", NULL, 0, LEASE_A, 5000));
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 9000), 0);
  assert_int_equal(cancel, 0);
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_B, 9000), AIRGAP_EBUSY);
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "zz", LEASE_A, 9000), AIRGAP_ENOTFOUND);
  assert_int_equal(queue_store_job_cancel(&rec, f->store, "j1", 10), 0);
  assert_string_equal(rec->job.state, "running"); /* the agent stops it */
  assert_true(rec->job.cancel_requested);
  queue_record_free(rec);
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 9000), 0);
  assert_int_equal(cancel, 1);
  assert_int_equal(queue_store_complete(&rec, f->store, "j1", LEASE_B, "canceled", NULL, 0, 0, 20),
                   AIRGAP_EBUSY);
  assert_int_equal(
      queue_store_complete(&rec, f->store, "j1", LEASE_A, "canceled", "canceled", 1, 137, 20), 0);
  assert_string_equal(rec->job.state, "canceled");
  assert_int_equal(rec->job.exit_code, 137);
  assert_int_equal(rec->job.finished_at, 20);
  queue_record_free(rec);
  /* the same report again is fine; a different one is not */
  assert_int_equal(
      queue_store_complete(&rec, f->store, "j1", LEASE_A, "canceled", "canceled", 1, 137, 30), 0);
  assert_int_equal(rec->job.finished_at, 20);
  queue_record_free(rec);
  assert_int_equal(queue_store_complete(&rec, f->store, "j1", LEASE_A, "passed", NULL, 1, 0, 30),
                   AIRGAP_EBUSY);
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 9000), AIRGAP_EBUSY);
  assert_int_equal(queue_store_job_cancel(&rec, f->store, "j1", 40), AIRGAP_EBUSY);

  /* a queued job is canceled at once and never leased */
  insert(f->store, "j2", NULL, 0, 2);
  assert_int_equal(queue_store_job_cancel(&rec, f->store, "j2", 50), 0);
  assert_string_equal(rec->job.state, "canceled");
  queue_record_free(rec);
  assert_null(lease(f->store, "a", NULL, 0, LEASE_B, 5000));
}

static void read_all(queue_store *s, const char *id, uint64_t from, char *buf, size_t max,
                     size_t *out_len) {
  size_t n = 0;
  int final = 0;
  *out_len = 0;
  for (;;) {
    assert_int_equal(
        queue_store_log_read(&n, &final, s, id, from + *out_len, buf + *out_len, max - *out_len),
        0);
    if (n == 0)
      break;
    *out_len += n;
  }
}

static void test_queue_store_log_offsets(void **state) {
  fixture *f = *state;
  queue_log_ack ack;
  char buf[256];
  size_t len;
  insert(f->store, "j1", NULL, 0, 1);
  free(lease(f->store, "a", NULL, 0, LEASE_A, 99999));
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 0, "hello ", 6, 1 << 20),
                   0);
  assert_int_equal(ack.received, 6);
  /* a retry of the same chunk is acknowledged and stored once */
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 0, "hello ", 6, 1 << 20),
                   0);
  assert_int_equal(ack.received, 6);
  assert_int_equal(ack.stored, 0);
  /* an overlapping retry stores only the new tail */
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 3, "lo world", 8, 1 << 20),
                   0);
  assert_int_equal(ack.received, 11);
  assert_int_equal(ack.stored, 5);
  /* a gap is refused with the server's offset */
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 20, "x", 1, 1 << 20),
                   AIRGAP_EINVALID);
  assert_int_equal(ack.received, 11);
  /* another lease may not write */
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_B, 11, "x", 1, 1 << 20),
                   AIRGAP_EBUSY);
  read_all(f->store, "j1", 0, buf, sizeof(buf), &len);
  assert_int_equal(len, 11);
  assert_memory_equal(buf, "hello world", 11);
  read_all(f->store, "j1", 4, buf, sizeof(buf), &len);
  assert_int_equal(len, 7);
  assert_memory_equal(buf, "o world", 7);
  size_t n;
  int final = 1;
  assert_int_equal(queue_store_log_read(&n, &final, f->store, "j1", 2, buf, 3), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(buf, "llo", 3);
  assert_int_equal(final, 0);
  assert_int_equal(queue_store_log_read(&n, &final, f->store, "zz", 0, buf, 3), AIRGAP_ENOTFOUND);
}

static void test_queue_store_log_cap(void **state) {
  fixture *f = *state;
  queue_log_ack ack;
  char buf[512];
  size_t len;
  insert(f->store, "j1", NULL, 0, 1);
  free(lease(f->store, "a", NULL, 0, LEASE_A, 99999));
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 0, "0123456789", 10, 16),
                   0);
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 10, "abcdefghij", 10, 16),
                   0);
  assert_int_equal(ack.received, 20);
  /* past the cap, bytes are counted (offsets go on) but not kept */
  assert_int_equal(queue_store_log_append(&ack, f->store, "j1", LEASE_A, 20, "XYZ", 3, 16), 0);
  assert_int_equal(ack.received, 23);
  assert_int_equal(ack.stored, 0);
  read_all(f->store, "j1", 0, buf, sizeof(buf) - 1, &len);
  buf[len] = '\0';
  assert_memory_equal(buf, "0123456789abcdef", 16);
  assert_non_null(strstr(buf, "[airgap: log truncated at 16 bytes]"));
  assert_null(strstr(buf, "XYZ"));
}

static void test_queue_store_expiry(void **state) {
  fixture *f = *state;
  queue_expire_result res;
  queue_record *rec = NULL;
  insert(f->store, "j1", NULL, 0, 1);
  /* attempt 1 expires: back to the queue */
  free(lease(f->store, "a", NULL, 0, LEASE_A, 100));
  assert_int_equal(queue_store_expire(&res, f->store, 50, 2), 0);
  assert_int_equal(res.requeued, 0); /* not yet */
  assert_int_equal(queue_store_expire(&res, f->store, 101, 2), 0);
  assert_int_equal(res.requeued, 1);
  assert_int_equal(queue_store_job_get(&rec, f->store, "j1"), 0);
  assert_string_equal(rec->job.state, "queued");
  queue_record_free(rec);
  int cancel;
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 999), AIRGAP_EBUSY);
  /* attempt 2 expires too: max attempts reached → errored/agent_lost */
  char *id = lease(f->store, "b", NULL, 0, LEASE_B, 200);
  assert_string_equal(id, "j1");
  free(id);
  assert_int_equal(queue_store_expire(&res, f->store, 201, 2), 0);
  assert_int_equal(res.lost, 1);
  assert_int_equal(queue_store_job_get(&rec, f->store, "j1"), 0);
  assert_string_equal(rec->job.state, "errored");
  assert_string_equal(rec->job.reason, "agent_lost");
  assert_int_equal(rec->job.attempts, 2);
  queue_record_free(rec);
  char buf[512];
  size_t len;
  read_all(f->store, "j1", 0, buf, sizeof(buf) - 1, &len);
  buf[len] = '\0';
  assert_non_null(strstr(buf, "job requeued"));
  assert_non_null(strstr(buf, "agent_lost"));
  /* a job whose cancel was requested ends canceled when its lease expires */
  insert(f->store, "j2", NULL, 0, 2);
  free(lease(f->store, "c", NULL, 0, LEASE_A, 300));
  assert_int_equal(queue_store_job_cancel(&rec, f->store, "j2", 250), 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_expire(&res, f->store, 301, 5), 0);
  assert_int_equal(queue_store_job_get(&rec, f->store, "j2"), 0);
  assert_string_equal(rec->job.state, "canceled");
  queue_record_free(rec);
  queue_store_counts c;
  assert_int_equal(queue_store_counts_get(&c, f->store), 0);
  assert_int_equal(c.errored, 1);
  assert_int_equal(c.canceled, 1);
  assert_int_equal(c.queued, 0);
}

/* Issue #12 item 4: a result reported under a job's latest lease after that
 * lease expired is accepted as long as nobody has leased the job again. */
static void test_queue_store_late_result(void **state) {
  fixture *f = *state;
  queue_expire_result res;
  queue_record *rec = NULL;
  insert(f->store, "j1", NULL, 0, 1);
  free(lease(f->store, "a", NULL, 0, LEASE_A, 100));
  assert_int_equal(queue_store_expire(&res, f->store, 101, 3), 0);
  assert_int_equal(res.requeued, 1);
  assert_int_equal(queue_store_complete(&rec, f->store, "j1", LEASE_A, "passed", NULL, 1, 0, 150),
                   0);
  assert_string_equal(rec->job.state, "passed");
  assert_int_equal(rec->job.exit_code, 0);
  queue_record_free(rec);
  /* the same report again is a repeat; nothing is left to lease */
  assert_int_equal(queue_store_complete(&rec, f->store, "j1", LEASE_A, "passed", NULL, 1, 0, 160),
                   0);
  queue_record_free(rec);
  assert_null(lease(f->store, "b", NULL, 0, LEASE_B, 500));
  char buf[1024];
  size_t len;
  read_all(f->store, "j1", 0, buf, sizeof(buf) - 1, &len);
  buf[len] = '\0';
  assert_non_null(strstr(buf, "after its lease expired; accepted"));
  /* once another agent has leased the job, the old lease's result is refused */
  insert(f->store, "j2", NULL, 0, 2);
  free(lease(f->store, "a", NULL, 0, LEASE_A, 300));
  assert_int_equal(queue_store_expire(&res, f->store, 301, 3), 0);
  char *id = lease(f->store, "b", NULL, 0, LEASE_B, 900);
  assert_string_equal(id, "j2");
  free(id);
  assert_int_equal(queue_store_complete(&rec, f->store, "j2", LEASE_A, "passed", NULL, 1, 0, 350),
                   AIRGAP_EBUSY);
  assert_int_equal(queue_store_complete(&rec, f->store, "j2", LEASE_B, "failed", NULL, 1, 1, 360),
                   0);
  assert_string_equal(rec->job.state, "failed");
  queue_record_free(rec);
}

static void test_queue_store_release(void **state) {
  fixture *f = *state;
  queue_record *rec = NULL;
  insert(f->store, "j1", NULL, 0, 1);
  /* attempt 1 handed back: queued again at once, the attempt counted */
  free(lease(f->store, "a", NULL, 0, LEASE_A, 100));
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_A, "git", 2, 50), 0);
  assert_string_equal(rec->job.state, "queued");
  assert_int_equal(rec->job.attempts, 1);
  assert_null(rec->job.reason);
  queue_record_free(rec);
  /* the same release again: same answer, nothing changes */
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_A, "git", 2, 51), 0);
  assert_string_equal(rec->job.state, "queued");
  queue_record_free(rec);
  /* the released lease is dead for everything else */
  int cancel;
  assert_int_equal(queue_store_heartbeat(&cancel, f->store, "j1", LEASE_A, 999), AIRGAP_EBUSY);
  assert_int_equal(queue_store_complete(&rec, f->store, "j1", LEASE_A, "passed", NULL, 1, 0, 52),
                   AIRGAP_EBUSY);
  /* nothing to expire: the job is not running */
  queue_expire_result res;
  assert_int_equal(queue_store_expire(&res, f->store, 10000, 2), 0);
  assert_int_equal(res.requeued + res.lost, 0);
  /* attempt 2 handed back with max_attempts 2: errored with the agent's reason */
  char *id = lease(f->store, "b", NULL, 0, LEASE_B, 200);
  assert_string_equal(id, "j1");
  free(id);
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_A, "git", 2, 60), AIRGAP_EBUSY);
  assert_non_null(strstr(airgap_error_last(), "lease is not current"));
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_B, "docker", 2, 61), 0);
  assert_string_equal(rec->job.state, "errored");
  assert_string_equal(rec->job.reason, "docker");
  assert_int_equal(rec->job.attempts, 2);
  assert_true(rec->job.finished_at == 61);
  queue_record_free(rec);
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_B, "docker", 2, 62), 0);
  assert_string_equal(rec->job.state, "errored");
  queue_record_free(rec);
  /* a different reason is not a repeat: the job has ended */
  assert_int_equal(queue_store_release(&rec, f->store, "j1", LEASE_B, "git", 2, 63), AIRGAP_EBUSY);
  char buf[1024];
  size_t len;
  read_all(f->store, "j1", 0, buf, sizeof(buf) - 1, &len);
  buf[len] = '\0';
  assert_non_null(strstr(buf, "attempt 1 handed back by agent a (git); job requeued"));
  assert_non_null(strstr(buf, "attempt 2 handed back by agent b (docker); no attempts left"));
  /* a job whose cancel was requested ends canceled instead of going back */
  insert(f->store, "j2", NULL, 0, 2);
  free(lease(f->store, "c", NULL, 0, LEASE_A, 300));
  assert_int_equal(queue_store_job_cancel(&rec, f->store, "j2", 250), 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_release(&rec, f->store, "j2", LEASE_A, "git", 5, 260), 0);
  assert_string_equal(rec->job.state, "canceled");
  assert_string_equal(rec->job.reason, "canceled");
  queue_record_free(rec);
  /* unknown and never-leased jobs */
  assert_int_equal(queue_store_release(&rec, f->store, "nope", LEASE_A, "git", 5, 270),
                   AIRGAP_ENOTFOUND);
  insert(f->store, "j3", NULL, 0, 3);
  assert_int_equal(queue_store_release(&rec, f->store, "j3", LEASE_A, "git", 5, 280), AIRGAP_EBUSY);
  queue_store_counts c;
  assert_int_equal(queue_store_counts_get(&c, f->store), 0);
  assert_int_equal(c.errored, 1);
  assert_int_equal(c.canceled, 1);
  assert_int_equal(c.queued, 1);
  assert_int_equal(c.running, 0);
}

/* What the committed callback of an insert saw. */
typedef struct committed_seen {
  queue_store *store;
  int calls;
  int visible; /* the job could be read from inside the callback */
} committed_seen;

static void on_committed(void *payload) {
  committed_seen *seen = payload;
  queue_record *rec = NULL;
  seen->calls++;
  if (queue_store_job_get(&rec, seen->store, "early") == 0 && strcmp(rec->job.state, "queued") == 0)
    seen->visible = 1;
  queue_record_free(rec);
}

/* An insert calls back once its job is committed, so that a waiting lease
 * can be answered before the submission's flush; never when it failed. */
static void test_queue_store_insert_calls_back_at_its_commit(void **state) {
  fixture *f = *state;
  committed_seen seen = {.store = f->store};
  assert_int_equal(
      queue_store_job_insert_then(f->store, "early", SPEC, NULL, 0, 1, on_committed, &seen), 0);
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.visible, 1);
  /* a duplicate id commits nothing: no call */
  assert_int_equal(
      queue_store_job_insert_then(f->store, "early", SPEC, NULL, 0, 2, on_committed, &seen),
      AIRGAP_EEXISTS);
  assert_int_equal(seen.calls, 1);
  /* and the job is leasable as inserted */
  queue_record *rec = NULL;
  assert_int_equal(queue_store_lease(&rec, f->store, "agent", NULL, 0, LEASE_A, 100, 3), 0);
  assert_string_equal(rec->job.id, "early");
  queue_record_free(rec);
}

/* Deferred durability (the server's flusher): on SQLite with sync FULL a
 * durable commit leaves a ticket for each such operation, rising, and the
 * wait for it succeeds; a lease leaves none; outside a deferral nothing is
 * left. PostgreSQL commits durably at once: never a ticket. */
static void test_queue_store_deferred_durability(void **state) {
  fixture *f = *state;
  queue_store_defer_begin();
  int rc = queue_store_job_insert(f->store, "deferred", SPEC, NULL, 0, 1);
  uint64_t first = queue_store_defer_end();
  assert_int_equal(rc, 0);
  queue_record *rec = NULL;
  queue_store_defer_begin();
  assert_int_equal(queue_store_lease(&rec, f->store, "agent", NULL, 0, LEASE_A, 100, 2), 0);
  assert_int_equal(queue_store_defer_end(), 0);
  queue_record_free(rec);
  rec = NULL;
  queue_store_defer_begin();
  rc = queue_store_complete(&rec, f->store, "deferred", LEASE_A, "passed", NULL, 1, 0, 3);
  uint64_t second = queue_store_defer_end();
  assert_int_equal(rc, 0);
  queue_record_free(rec);
  if (pg_url()) {
    assert_int_equal(first, 0);
    assert_int_equal(second, 0);
  } else {
    assert_true(first > 0);
    assert_true(second > first);
  }
  assert_int_equal(queue_store_durable_wait(f->store, second), 0);
  assert_int_equal(queue_store_durable_wait(f->store, first), 0); /* covered already */
  /* no deferral: the operation waits itself and leaves nothing */
  assert_int_equal(queue_store_job_insert(f->store, "waited", SPEC, NULL, 0, 4), 0);
  assert_int_equal(queue_store_defer_end(), 0);
}

/* A running server makes tokens in its own database (what `airgap run`
 * uses); they verify like any other, and a bad role is refused. */
static void test_queue_store_server_makes_tokens(void **state) {
  fixture *f = *state;
  if (pg_url())
    skip(); /* the server under test is SQLite's */
  queue_server *server = NULL;
  queue_server_options o = {.listen = "127.0.0.1:0", .data_dir = f->dir, .sync_normal = 1};
  assert_int_equal(queue_server_start(&server, &o), 0);
  char *token = NULL, *role = NULL;
  assert_int_equal(queue_server_token_create(&token, server, "client"), 0);
  assert_int_equal(queue_server_token_create(&role, server, "root"), AIRGAP_EINVALID);
  assert_null(role);
  queue_server_free(server);
  assert_int_equal(queue_token_verify(&role, f->store, token), 0);
  assert_string_equal(role, "client");
  free(role);
  free(token);
}

static void test_queue_store_tokens_and_reopen(void **state) {
  fixture *f = *state;
  char *token = NULL, *role = NULL;
  assert_int_equal(queue_token_create(&token, location(f), "agent"), 0);
  assert_int_equal(queue_token_verify(&role, f->store, token), 0);
  assert_string_equal(role, "agent");
  free(role);
  char bad[256];
  snprintf(bad, sizeof(bad), "%s", token);
  bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
  assert_int_equal(queue_token_verify(&role, f->store, bad), AIRGAP_EAUTH);
  assert_int_equal(queue_token_verify(&role, f->store, "aq_nonsense"), AIRGAP_EAUTH);
  assert_int_equal(queue_token_verify(&role, f->store, ""), AIRGAP_EAUTH);
  assert_int_equal(queue_token_create(&role, location(f), "root"), AIRGAP_EINVALID);
  /* through a server's cache: the row is kept, the secret still checked */
  queue_token_cache cache;
  queue_token_cache_init(&cache);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(queue_token_verify_cached(&role, f->store, &cache, token), 0);
    assert_string_equal(role, "agent");
    free(role);
    assert_int_equal(queue_token_verify_cached(&role, f->store, &cache, bad), AIRGAP_EAUTH);
    assert_int_equal(queue_token_verify_cached(&role, f->store, &cache, "aq_nonsense"),
                     AIRGAP_EAUTH);
  }
  assert_int_equal(strncmp(cache.slot[0].id, token + 3, 16), 0);
  assert_string_equal(cache.slot[0].role, "agent");
  assert_int_equal(cache.slot[1].until, 0); /* one row, one slot */
  queue_token_cache_destroy(&cache);
  insert(f->store, "durable", NULL, 0, 1);
  /* everything is there after closing and reopening */
  queue_store_close(f->store);
  f->store = NULL;
  assert_int_equal(open_store(&f->store, f->dir), 0);
  queue_record *rec = NULL;
  assert_int_equal(queue_store_job_get(&rec, f->store, "durable"), 0);
  queue_record_free(rec);
  assert_int_equal(queue_token_verify(&role, f->store, token), 0);
  free(role);
  free(token);
}

/* Finishes job id (leased under lease_id) at time now with log bytes of log. */
static void finish(queue_store *s, const char *id, const char *lease_id, size_t log, int64_t now) {
  const char *none[] = {0};
  queue_record *rec = NULL;
  insert(s, id, none, 0, now);
  char *got = lease(s, "agent", none, 0, lease_id, 99999);
  assert_string_equal(got, id);
  free(got);
  char *data = malloc(log + 1);
  memset(data, 'x', log);
  queue_log_ack ack;
  if (log)
    assert_int_equal(queue_store_log_append(&ack, s, id, lease_id, 0, data, log, 1 << 20), 0);
  free(data);
  assert_int_equal(queue_store_complete(&rec, s, id, lease_id, "passed", NULL, 1, 0, now), 0);
  queue_record_free(rec);
}

static void assert_gone(queue_store *s, const char *id, int gone) {
  queue_record *rec = NULL;
  char buf[16];
  size_t n;
  int final;
  assert_int_equal(queue_store_job_get(&rec, s, id), gone ? AIRGAP_ENOTFOUND : 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_log_read(&n, &final, s, id, 0, buf, sizeof(buf)),
                   gone ? AIRGAP_ENOTFOUND : 0);
}

static void test_queue_store_retention(void **state) {
  fixture *f = *state;
  queue_prune_result res;
  finish(f->store, "old", LEASE_A, 1000, 100);
  finish(f->store, "mid", LEASE_B, 500, 200);
  insert(f->store, "run", NULL, 0, 300);
  char *got = lease(f->store, "agent", NULL, 0, "cccccccccccccccccccccccccccccccc", 99999);
  assert_string_equal(got, "run");
  free(got);
  queue_log_ack ack;
  assert_int_equal(queue_store_log_append(&ack, f->store, "run", "cccccccccccccccccccccccccccccccc",
                                          0, "0123456789012345678901234567890123456789", 40,
                                          1 << 20),
                   0);
  const char *never[] = {"never"}; /* no agent here has it: stays queued */
  insert(f->store, "waiting", never, 1, 400);
  /* by age: only what finished before the limit */
  assert_int_equal(queue_store_prune(&res, f->store, 150, 0, 10), 0);
  assert_int_equal(res.jobs, 1);
  assert_int_equal(res.bytes, 1000);
  assert_gone(f->store, "old", 1);
  assert_gone(f->store, "mid", 0);
  assert_int_equal(queue_store_prune(&res, f->store, 150, 0, 10), 0);
  assert_int_equal(res.jobs, 0);
  /* the cap: 540 bytes stored, cap 100 — the finished job goes, never the
   * running or the queued one */
  assert_int_equal(queue_store_prune(&res, f->store, 0, 100, 10), 0);
  assert_int_equal(res.jobs, 1);
  assert_int_equal(res.bytes, 500);
  assert_gone(f->store, "mid", 1);
  assert_gone(f->store, "run", 0);
  assert_gone(f->store, "waiting", 0);
  assert_int_equal(queue_store_prune(&res, f->store, 1000000, 1, 10), 0);
  assert_int_equal(res.jobs, 0);
  /* small batches: the caller repeats */
  char id[8];
  for (int i = 0; i < 5; i++) {
    char lid[33];
    snprintf(id, sizeof(id), "b%d", i);
    snprintf(lid, sizeof(lid), "%032d", i);
    finish(f->store, id, lid, 10, 500 + i);
  }
  assert_int_equal(queue_store_prune(&res, f->store, 1000, 0, 2), 0);
  assert_int_equal(res.jobs, 2);
  assert_gone(f->store, "b0", 1);
  assert_gone(f->store, "b1", 1);
  assert_gone(f->store, "b2", 0);
  /* a cap that the oldest finished job alone covers removes only it */
  assert_int_equal(queue_store_prune(&res, f->store, 0, 40 + 20, 10), 0);
  assert_int_equal(res.jobs, 1);
  assert_gone(f->store, "b2", 1);
  assert_gone(f->store, "b3", 0);
}

/* The schema version a store recorded. */
static int64_t schema_version(const fixture *f) {
  int64_t v = -1;
  if (pg_url()) {
    PGconn *c = PQconnectdb(pg_url());
    PGresult *r = PQexec(c, "SELECT max(version) FROM schema_version");
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
      v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
  }
  char path[128];
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  snprintf(path, sizeof(path), "%s/queue.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void sqlite_run(const fixture *f, const char *sql) {
  char path[128];
  sqlite3 *db = NULL;
  snprintf(path, sizeof(path), "%s/queue.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void test_queue_store_migrations(void **state) {
  fixture *f = *state;
  /* from an empty database (the fixture's): every migration, in order */
  assert_int_equal(schema_version(f),
                   pg_url() ? QUEUE_PG_SCHEMA_VERSION : QUEUE_SQLITE_SCHEMA_VERSION);
  insert(f->store, "kept", NULL, 0, 1);
  queue_store_close(f->store);
  f->store = NULL;
  /* reopening applies nothing and keeps the data */
  assert_int_equal(open_store(&f->store, f->dir), 0);
  assert_gone(f->store, "kept", 0);
  queue_store_close(f->store);
  f->store = NULL;
  /* a schema newer than this binary: refused, with a message that says so */
  if (pg_url())
    pg_run("INSERT INTO schema_version (version) VALUES (99)");
  else
    sqlite_run(f, "INSERT INTO schema_version (version) VALUES (99)");
  assert_int_not_equal(open_store(&f->store, f->dir), 0);
  assert_non_null(strstr(airgap_error_last(), "newer than this airgap"));
  assert_null(f->store);
  if (pg_url())
    return; /* PostgreSQL has had one schema only */
  /* from the previous release's schema (no version table): adopted, data kept */
  sqlite_run(f,
             "DROP TABLE schema_version; DROP INDEX jobs_finished; DROP TRIGGER jobs_labels_gone;"
             " DROP TABLE job_labels; DROP TABLE agents; DROP INDEX jobs_by_repo;"
             " ALTER TABLE jobs DROP COLUMN repo; ALTER TABLE jobs DROP COLUMN search;"
             " ALTER TABLE jobs DROP COLUMN retry_of; ALTER TABLE jobs DROP COLUMN retried_by;"
             " ALTER TABLE logs DROP COLUMN at");
  assert_int_equal(open_store(&f->store, f->dir), 0);
  assert_int_equal(schema_version(f), QUEUE_SQLITE_SCHEMA_VERSION);
  assert_gone(f->store, "kept", 0);
}

/* ---- wake-ups across servers (PostgreSQL) ---- */

typedef struct watched {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int jobs, logs;
  char log_id[32];
} watched;

static void on_change(queue_watch_event ev, const char *id, void *payload) {
  watched *w = payload;
  pthread_mutex_lock(&w->mu);
  if (ev == QUEUE_WATCH_JOBS) {
    w->jobs++;
  } else if (id) {
    w->logs++;
    snprintf(w->log_id, sizeof(w->log_id), "%s", id);
  }
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

/* Waits up to 5 s until *counter exceeds before; returns its value. */
static int wait_for(watched *w, int *counter, int before) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 5;
  pthread_mutex_lock(&w->mu);
  while (*counter <= before && pthread_cond_timedwait(&w->cond, &w->mu, &ts) == 0)
    ;
  int v = *counter;
  pthread_mutex_unlock(&w->mu);
  return v;
}

static void test_queue_store_watch_other_server(void **state) {
  fixture *f = *state;
  queue_store *other = NULL;
  watched w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, ""};
  if (!pg_url()) {
    /* one server per SQLite database: nothing to watch, and that is no error */
    assert_int_equal(queue_store_watch(f->store, on_change, &w), 0);
    return;
  }
  assert_int_equal(open_store(&other, f->dir), 0);
  assert_int_equal(queue_store_watch(other, on_change, &w), 0);
  usleep(200 * 1000); /* the listener connects and reports its start */
  pthread_mutex_lock(&w.mu);
  int jobs = w.jobs, logs = w.logs;
  pthread_mutex_unlock(&w.mu);
  /* a submission through this "server" reaches the other's listener */
  insert(f->store, "wake", NULL, 0, 1);
  assert_true(wait_for(&w, &w.jobs, jobs) > jobs);
  char *got = lease(f->store, "a", NULL, 0, LEASE_A, 99999);
  free(got);
  queue_log_ack ack;
  assert_int_equal(queue_store_log_append(&ack, f->store, "wake", LEASE_A, 0, "hi", 2, 1024), 0);
  assert_true(wait_for(&w, &w.logs, logs) > logs);
  pthread_mutex_lock(&w.mu);
  assert_string_equal(w.log_id, "wake");
  pthread_mutex_unlock(&w.mu);
  queue_store_close(other);
}

/* ---- lease expiry on several servers at once ---- */

typedef struct expirer {
  const char *dir;
  queue_expire_result res;
  int rc;
} expirer;

static void *expire_once(void *arg) {
  expirer *e = arg;
  queue_store *s = NULL;
  e->rc = open_store(&s, e->dir);
  if (e->rc == 0)
    e->rc = queue_store_expire(&e->res, s, 100000, 3);
  queue_store_close(s);
  return NULL;
}

static void test_queue_store_expiry_on_two_servers_at_once(void **state) {
  fixture *f = *state;
  enum { JOBS = 60 };
  char id[16], lid[33];
  for (int i = 0; i < JOBS; i++) {
    snprintf(id, sizeof(id), "e%03d", i);
    snprintf(lid, sizeof(lid), "%032d", i);
    insert(f->store, id, NULL, 0, i);
    char *got = lease(f->store, "gone", NULL, 0, lid, 50);
    free(got);
  }
  expirer e[2] = {{f->dir, {0, 0}, -1}, {f->dir, {0, 0}, -1}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&t[i], NULL, expire_once, &e[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(e[0].rc, 0);
  assert_int_equal(e[1].rc, 0);
  /* each expired lease was handled once: requeued once, one note in its log */
  assert_int_equal(e[0].res.requeued + e[1].res.requeued, JOBS);
  for (int i = 0; i < JOBS; i++) {
    queue_record *rec = NULL;
    snprintf(id, sizeof(id), "e%03d", i);
    assert_int_equal(queue_store_job_get(&rec, f->store, id), 0);
    assert_string_equal(rec->job.state, "queued");
    assert_int_equal(rec->job.attempts, 1);
    char buf[1024];
    size_t n = 0;
    int final = 0;
    assert_int_equal(queue_store_log_read(&n, &final, f->store, id, 0, buf, sizeof(buf)), 0);
    buf[n] = 0;
    char *first = strstr(buf, "expired");
    assert_non_null(first);
    assert_null(strstr(first + 1, "expired"));
    queue_record_free(rec);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_queue_store_submit_get_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_deferred_durability, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_lease_labels_and_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_two_connections_never_share_a_job, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_heartbeat_cancel_complete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_log_offsets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_log_cap, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_late_result, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_release, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_tokens_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_insert_calls_back_at_its_commit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_server_makes_tokens, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_retention, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_expiry_on_two_servers_at_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_migrations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_watch_other_server, setup, teardown),
  };
  if (pg_url())
    fprintf(stderr, "store under test: PostgreSQL\n");
  return cmocka_run_group_tests(tests, NULL, NULL);
}
