/*
 * test_store_ui.c — what the web UI asks of both stores (SQLite, and
 * PostgreSQL when AIRGAP_TEST_PG_URL names a database: tests/queue/with-pg):
 * listings filtered by state, label, repository and text with keyset pages,
 * the text search never matching secrets, retries linked both ways, the
 * agent registry (registration, heartbeat refresh, drain), queued jobs by
 * label set, when log chunks were stored, and (SQLite) an older database's jobs indexed by the
 * migration.
 */
#include "common/error.h"
#include "queue/queue_int.h"
#include "queue/store_int.h"

#include <dirent.h>
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

#define LEASE_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

typedef struct fixture {
  char dir[64];
  queue_store *store;
} fixture;

static const char *pg_url(void) {
  const char *u = getenv("AIRGAP_TEST_PG_URL");
  return u && *u ? u : NULL;
}

static int open_store(queue_store **out, const char *dir) {
  return pg_url() ? queue_store_open_pg(out, pg_url(), 4) : queue_store_open_sqlite(out, dir, 0);
}

static void quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

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
  snprintf(f->dir, sizeof(f->dir), "/tmp/airgap-test-storeui-XXXXXX");
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
  queue_store_close(f->store);
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

/* Job "jN" of repo (a or b), script, with labels. */
static void add(queue_store *s, const char *id, const char *repo, const char *script,
                const char *const *labels, size_t n, int64_t now) {
  char spec[512];
  snprintf(spec, sizeof(spec),
           "{\"repo\":\"%s\",\"ref\":\"main\",\"image\":\"debian:bookworm\",\"script\":\"%s\","
           "\"secrets\":{\"TOKEN\":\"hunter2\"}}",
           repo, script);
  assert_int_equal(queue_store_job_insert(s, id, spec, labels, n, now), 0);
}

/* The ids a filter lists, comma-joined, into out. Returns the next cursor. */
static int64_t list(char *out, size_t size, queue_store *s, queue_job_filter f) {
  queue_record **recs = NULL;
  size_t n = 0;
  int64_t next = 0;
  assert_int_equal(queue_store_job_find(&recs, &n, s, &f), 0);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s", i ? "," : "", recs[i]->job.id);
  }
  if (n == f.limit && n > 0)
    next = recs[n - 1]->seq;
  queue_record_list_free(recs, n);
  return next;
}

static void test_queue_store_ui_filters(void **state) {
  fixture *f = *state;
  queue_store *s = f->store;
  const char *linux_[] = {"linux"};
  const char *gpu[] = {"linux", "gpu"};
  char got[256];
  add(s, "j1", "https://x/a.git", "make test", linux_, 1, 1);
  add(s, "j2", "https://x/b.git", "make lint", gpu, 2, 2);
  add(s, "j3", "https://x/a.git", "cargo TEST", gpu, 2, 3);
  add(s, "j4", "https://x/b.git", "echo", NULL, 0, 4);
  /* newest first, no filter */
  list(got, sizeof(got), s, (queue_job_filter){.limit = 10});
  assert_string_equal(got, "j4,j3,j2,j1");
  /* by label: jobs that need it */
  list(got, sizeof(got), s, (queue_job_filter){.label = "gpu", .limit = 10});
  assert_string_equal(got, "j3,j2");
  list(got, sizeof(got), s, (queue_job_filter){.label = "linux", .limit = 10});
  assert_string_equal(got, "j3,j2,j1");
  /* by repository, exactly */
  list(got, sizeof(got), s, (queue_job_filter){.repo = "https://x/a.git", .limit = 10});
  assert_string_equal(got, "j3,j1");
  list(got, sizeof(got), s, (queue_job_filter){.repo = "https://x/a", .limit = 10});
  assert_string_equal(got, "");
  /* text: case-insensitive, in the script, id or repo; never in secrets */
  list(got, sizeof(got), s, (queue_job_filter){.text = "Test", .limit = 10});
  assert_string_equal(got, "j3,j1");
  list(got, sizeof(got), s, (queue_job_filter){.text = "hunter2", .limit = 10});
  assert_string_equal(got, "");
  list(got, sizeof(got), s, (queue_job_filter){.text = "b.git", .label = "gpu", .limit = 10});
  assert_string_equal(got, "j2");
  /* state with the others */
  char *lease_id = NULL;
  queue_record *rec = NULL;
  assert_int_equal(queue_store_lease(&rec, s, "ag", gpu, 2, LEASE_A, 100000, 10), 0);
  lease_id = rec->job.id;
  assert_string_equal(lease_id, "j1");
  queue_record_free(rec);
  list(got, sizeof(got), s, (queue_job_filter){.state = "running", .limit = 10});
  assert_string_equal(got, "j1");
  list(got, sizeof(got), s, (queue_job_filter){.state = "queued", .label = "linux", .limit = 10});
  assert_string_equal(got, "j3,j2");
  /* keyset pages: every filter, two at a time */
  int64_t next = list(got, sizeof(got), s, (queue_job_filter){.label = "linux", .limit = 2});
  assert_string_equal(got, "j3,j2");
  assert_true(next > 0);
  next =
      list(got, sizeof(got), s, (queue_job_filter){.label = "linux", .limit = 2, .before = next});
  assert_string_equal(got, "j1");
  assert_int_equal(next, 0);
  next = list(got, sizeof(got), s, (queue_job_filter){.limit = 3});
  list(got, sizeof(got), s, (queue_job_filter){.limit = 3, .before = next});
  assert_string_equal(got, "j1");
}

static void test_queue_store_ui_retry(void **state) {
  fixture *f = *state;
  queue_store *s = f->store;
  const char *gpu[] = {"gpu"};
  queue_record *rec = NULL, *old = NULL;
  char got[128];
  add(s, "j1", "https://x/a.git", "make", gpu, 1, 1);
  /* not ended yet: refused */
  assert_int_equal(queue_store_job_retry(&rec, s, "j1", "j2", 2), AIRGAP_EBUSY);
  assert_int_equal(queue_store_job_retry(&rec, s, "nope", "j2", 2), AIRGAP_ENOTFOUND);
  assert_int_equal(queue_store_job_cancel(&rec, s, "j1", 3), 0);
  queue_record_free(rec);
  rec = NULL;
  assert_int_equal(queue_store_job_retry(&rec, s, "j1", "j2", 4), 0);
  assert_string_equal(rec->job.id, "j2");
  assert_string_equal(rec->job.state, "queued");
  assert_string_equal(rec->retry_of, "j1");
  assert_null(rec->retried_by);
  assert_int_equal(rec->job.created_at, 4);
  assert_non_null(strstr(rec->job.spec_json, "hunter2")); /* the same spec, secrets and all */
  queue_record_free(rec);
  assert_int_equal(queue_store_job_get(&old, s, "j1"), 0);
  assert_string_equal(old->retried_by, "j2");
  queue_record_free(old);
  /* the retry needs the same labels, and is listed under them */
  list(got, sizeof(got), s, (queue_job_filter){.label = "gpu", .limit = 10});
  assert_string_equal(got, "j2,j1");
  /* retried once: the next retry is of the retry */
  assert_int_equal(queue_store_job_retry(&rec, s, "j1", "j3", 5), AIRGAP_EBUSY);
  assert_non_null(strstr(airgap_error_last(), "retried already as j2"));
}

static void test_queue_store_ui_agents(void **state) {
  fixture *f = *state;
  queue_store *s = f->store;
  queue_agent *agents = NULL;
  queue_record *rec = NULL;
  size_t n = 0;
  int drained = -1;
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux\ngpu", "1.2", 4, 100), 0);
  assert_int_equal(drained, 0);
  assert_int_equal(queue_store_agent_seen(&drained, s, "a2", "", NULL, 0, 5000), 0);
  /* a second poll without version or slots keeps them */
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux\ngpu", NULL, 0, 1150), 0);
  /* a poll that changes nothing within QUEUE_AGENT_SEEN_REFRESH_MS writes nothing */
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux\ngpu", "1.2", 4, 1200), 0);
  assert_int_equal(queue_store_agent_list(&agents, &n, s), 0);
  assert_int_equal(n, 2);
  assert_string_equal(agents[0].name, "a2"); /* most recently seen first */
  assert_string_equal(agents[1].name, "a1");
  assert_string_equal(agents[1].labels, "linux\ngpu");
  assert_string_equal(agents[1].version, "1.2");
  assert_int_equal(agents[1].slots, 4);
  assert_int_equal(agents[1].first_seen, 100);
  assert_int_equal(agents[1].last_seen, 1150);
  assert_null(agents[0].version);
  queue_agent_list_free(agents, n);
  /* drain: the next poll says so; unknown agents are not found */
  assert_int_equal(queue_store_agent_drain(s, "a1", 1), 0);
  assert_int_equal(queue_store_agent_drain(s, "zz", 1), AIRGAP_ENOTFOUND);
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux\ngpu", NULL, 0, 1300), 0);
  assert_int_equal(drained, 1);
  assert_int_equal(queue_store_agent_drain(s, "a1", 0), 0);
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux\ngpu", NULL, 0, 1310), 0);
  assert_int_equal(drained, 0);
  /* a change of labels is written at once */
  assert_int_equal(queue_store_agent_seen(&drained, s, "a1", "linux", NULL, 0, 1320), 0);
  assert_int_equal(queue_store_agent_list(&agents, &n, s), 0);
  assert_string_equal(agents[1].labels, "linux");
  assert_int_equal(agents[1].last_seen, 1320);
  queue_agent_list_free(agents, n);
  /* a heartbeat of one of its jobs refreshes the agent running it */
  add(s, "j1", "r", "s", NULL, 0, 1);
  assert_int_equal(queue_store_lease(&rec, s, "a2", NULL, 0, LEASE_A, 100000, 400), 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_agent_touch(s, "j1", 6000), 0);
  assert_int_equal(queue_store_agent_list(&agents, &n, s), 0);
  assert_string_equal(agents[0].name, "a2");
  assert_int_equal(agents[0].last_seen, 6000);
  queue_agent_list_free(agents, n);
}

static void test_queue_store_ui_groups(void **state) {
  fixture *f = *state;
  queue_store *s = f->store;
  const char *gpu[] = {"linux", "gpu"};
  const char *lin[] = {"linux"};
  queue_label_group *g = NULL;
  size_t n = 0;
  add(s, "j1", "r", "s", gpu, 2, 10);
  add(s, "j2", "r", "s", lin, 1, 20);
  add(s, "j3", "r", "s", gpu, 2, 30);
  add(s, "j4", "r", "s", NULL, 0, 40);
  assert_int_equal(queue_store_queued_groups(&g, &n, s), 0);
  assert_int_equal(n, 3);
  assert_string_equal(g[0].labels, "linux\ngpu");
  assert_int_equal(g[0].count, 2);
  assert_int_equal(g[0].oldest, 10);
  queue_label_groups_free(g, n);
}

static void test_queue_store_ui_log_times(void **state) {
  fixture *f = *state;
  queue_store *s = f->store;
  queue_record *rec = NULL;
  queue_log_ack ack;
  queue_log_time t[8];
  size_t n = 99;
  add(s, "j1", "r", "s", NULL, 0, 1);
  assert_int_equal(queue_store_lease(&rec, s, "ag", NULL, 0, LEASE_A, INT64_MAX / 2, 2), 0);
  queue_record_free(rec);
  assert_int_equal(queue_store_log_times(t, &n, s, "j1", 0, 8), 0);
  assert_int_equal(n, 0);
  int64_t before = queue_now_ms();
  assert_int_equal(queue_store_log_append(&ack, s, "j1", LEASE_A, 0, "one\n", 4, 1 << 20), 0);
  assert_int_equal(queue_store_log_append(&ack, s, "j1", LEASE_A, 4, "two\nthree\n", 10, 1 << 20),
                   0);
  assert_int_equal(queue_store_log_times(t, &n, s, "j1", 0, 8), 0);
  assert_int_equal(n, 2);
  assert_int_equal(t[0].start, 0);
  assert_int_equal(t[1].start, 4);
  assert_true(t[0].at >= before && t[1].at >= t[0].at && t[1].at <= queue_now_ms());
  /* from an offset inside the second chunk; at most max */
  assert_int_equal(queue_store_log_times(t, &n, s, "j1", 5, 8), 0);
  assert_int_equal(n, 1);
  assert_int_equal(t[0].start, 4);
  assert_int_equal(queue_store_log_times(t, &n, s, "j1", 0, 1), 0);
  assert_int_equal(n, 1);
  assert_int_equal(queue_store_log_times(t, &n, s, "nope", 0, 8), AIRGAP_ENOTFOUND);
}

/* An older database's jobs are found by label, repository and text after
 * the migration that added those indexes (SQLite: the released schema is
 * rebuilt here; PostgreSQL's migration does the same in SQL). */
static void test_queue_store_ui_migration_indexes_old_jobs(void **state) {
  fixture *f = *state;
  const char *gpu[] = {"linux", "gpu"};
  char got[64], path[128];
  sqlite3 *db = NULL;
  if (pg_url())
    skip();
  add(f->store, "old1", "https://x/a.git", "make TEST", gpu, 2, 1);
  queue_store_close(f->store);
  f->store = NULL;
  snprintf(path, sizeof(path), "%s/queue.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "DELETE FROM schema_version WHERE version >= 3;"
                                " ALTER TABLE logs DROP COLUMN at;"
                                " DROP TRIGGER jobs_labels_gone; DROP TABLE job_labels;"
                                " DROP TABLE agents; DROP INDEX jobs_by_repo;"
                                " ALTER TABLE jobs DROP COLUMN repo;"
                                " ALTER TABLE jobs DROP COLUMN search;"
                                " ALTER TABLE jobs DROP COLUMN retry_of;"
                                " ALTER TABLE jobs DROP COLUMN retried_by",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(open_store(&f->store, f->dir), 0);
  list(got, sizeof(got), f->store, (queue_job_filter){.label = "gpu", .limit = 10});
  assert_string_equal(got, "old1");
  list(got, sizeof(got), f->store, (queue_job_filter){.repo = "https://x/a.git", .limit = 10});
  assert_string_equal(got, "old1");
  list(got, sizeof(got), f->store, (queue_job_filter){.text = "test", .limit = 10});
  assert_string_equal(got, "old1");
  list(got, sizeof(got), f->store, (queue_job_filter){.text = "hunter2", .limit = 10});
  assert_string_equal(got, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_queue_store_ui_filters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_ui_retry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_ui_agents, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_ui_groups, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_ui_log_times, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_store_ui_migration_indexes_old_jobs, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
