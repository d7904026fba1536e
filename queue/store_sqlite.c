/*
 * store_sqlite.c — the queue's embedded storage: one SQLite database,
 * DATA_DIR/queue.db, in WAL mode.
 *
 * Durability. Every write is one transaction opened with BEGIN IMMEDIATE (the
 * write lock is taken up front, so two writers never deadlock upgrading a read
 * lock) and committed before the caller answers. A commit reaches the WAL
 * file with write(2) and so survives `kill -9` of the server (the bytes are in
 * the kernel's page cache). Surviving a power loss needs an fsync of the WAL,
 * which is what synchronous=FULL does at every commit — and is most of the
 * cost of a commit. We run the connection with synchronous=NORMAL and make the
 * operations whose acknowledgement promises something (submission, cancel,
 * final status, token creation) durable ourselves, by group commit: after its
 * COMMIT such an operation waits until an fdatasync(2) of the WAL that started
 * after its commit has finished. Concurrent operations share one fdatasync,
 * and the next operations run meanwhile. fdatasync of the WAL covers every
 * frame written before it, so ordering holds; checkpoints fsync the WAL before
 * and the database after copying (SQLite's NORMAL rules). Leases, heartbeats,
 * log chunks and lease expiry skip the wait: lost on a power cut, their effect
 * is that a job runs again (at least once) or an agent resends from the
 * server's log offset — never a lost job. With sync_normal the wait is skipped
 * for everything: acknowledged jobs survive process crashes, not power loss.
 *
 * Concurrency. The server's threads share one connection behind a mutex: SQLite
 * serializes writers anyway, and one connection keeps the lease transaction
 * (find the oldest matching queued job, mark it running) trivially atomic, so
 * no two agents can ever get the same job. Other processes (`airgap queue token
 * create` while the server runs) are handled by the busy timeout.
 *
 * A job handed back by its agent (release) keeps its last lease id while it
 * waits in the queue, so that a repeated release is recognised and answered
 * like the first; the next lease replaces it, and nothing else reads the
 * lease of a job that is not running.
 *
 * Logs are stored as chunks (job id, start, end, bytes); a job keeps the
 * agent-side offset it has received for the current attempt (log_received) and
 * the size of what is stored (log_size), which differ once the log is
 * truncated at its cap or when an earlier attempt left bytes behind.
 */
#include "queue/store.h"
#include "common/error.h"
#include "common/fs.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEASE_SCAN_PAGE 256
#define STMT_CACHE_SIZE 48
#define TRUNCATION_MARKER_FMT "\n[airgap: log truncated at %llu bytes]\n"

typedef struct sqlite_store {
  queue_store base;
  sqlite3 *db;
  pthread_mutex_t mu;
  int sync_normal;
  int wal_fd;
  uint64_t commits; /* durable commits made (under mu) */
  /* group commit (under sync_mu) */
  pthread_mutex_t sync_mu;
  pthread_cond_t sync_cond;
  uint64_t synced; /* commits known to be on disk */
  int syncing;     /* an fdatasync is under way */
  /* prepared statements kept for reuse (under mu), keyed by their SQL text */
  struct cached_stmt {
    const char *sql;
    sqlite3_stmt *st;
    int in_use;
  } cache[STMT_CACHE_SIZE];
} sqlite_store;

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL,"
    " spec TEXT NOT NULL,"
    " labels TEXT NOT NULL,"
    " reason TEXT,"
    " exit_code INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " agent TEXT,"
    " lease TEXT,"
    " lease_expires INTEGER,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL,"
    " started_at INTEGER,"
    " finished_at INTEGER,"
    " log_received INTEGER NOT NULL DEFAULT 0,"
    " log_size INTEGER NOT NULL DEFAULT 0,"
    " log_truncated INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, seq);"
    "CREATE TABLE IF NOT EXISTS logs ("
    " job TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY (job, end)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tokens ("
    " id TEXT PRIMARY KEY, role TEXT NOT NULL, hash BLOB NOT NULL, created_at INTEGER NOT NULL);";

#define JOB_COLUMNS                                                                                \
  "seq, id, state, spec, reason, exit_code, attempts, agent, created_at, started_at,"              \
  " finished_at, cancel_requested, log_size, lease"

static int db_error(sqlite_store *s, const char *what) {
  return airgap_error_set(AIRGAP_ERROR, "queue store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(sqlite_store *s, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int rc = airgap_error_set(AIRGAP_ERROR, "queue store: %s: %s", sql,
                              msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return rc;
  }
  return 0;
}

/* Hands out a prepared statement for sql, reusing a cached one when free
 * (compiling SQL is a good part of a short transaction's cost). Every
 * statement goes back with release(). Caller holds mu. */
static int prepare(sqlite3_stmt **out, sqlite_store *s, const char *sql) {
  struct cached_stmt *slot = NULL;
  for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
    struct cached_stmt *c = &s->cache[i];
    if (c->sql && !c->in_use && strcmp(c->sql, sql) == 0) {
      c->in_use = 1;
      *out = c->st;
      return 0;
    }
    if (!c->sql && !slot)
      slot = c;
  }
  if (sqlite3_prepare_v3(s->db, sql, -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, out, NULL) !=
      SQLITE_OK)
    return db_error(s, "prepare");
  if (slot) {
    slot->sql = sql;
    slot->st = *out;
    slot->in_use = 1;
  }
  return 0;
}

/* Returns a statement from prepare(): reset and unbound for its next use.
 * Accepts NULL. */
static void release(sqlite_store *s, sqlite3_stmt *st) {
  if (!st)
    return;
  for (size_t i = 0; i < STMT_CACHE_SIZE; i++)
    if (s->cache[i].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      s->cache[i].in_use = 0;
      return;
    }
  sqlite3_finalize(st);
}

/* Runs a statement without results through the cache. */
static int run(sqlite_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int error = prepare(&st, s, sql);
  if (error < 0)
    return error;
  if (sqlite3_step(st) != SQLITE_DONE)
    error = airgap_error_set(AIRGAP_ERROR, "queue store: %s: %s", sql, sqlite3_errmsg(s->db));
  release(s, st);
  return error;
}

static int begin(sqlite_store *s) { return run(s, "BEGIN IMMEDIATE"); }

static int commit(sqlite_store *s) {
  if (run(s, "COMMIT") < 0) {
    /* a failed COMMIT (disk full, I/O error) may leave the transaction open */
    if (!sqlite3_get_autocommit(s->db))
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return AIRGAP_ERROR;
  }
  return 0;
}

static void rollback(sqlite_store *s) {
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Called with mu held right after a COMMIT that must be durable; returns the
 * ticket to pass to make_durable() once mu is released. */
static uint64_t durable_ticket(sqlite_store *s) { return ++s->commits; }

/* Waits until the commit with this ticket is on disk (see the top comment). */
static int make_durable(sqlite_store *s, uint64_t ticket) {
  int error = 0;
  if (s->sync_normal || ticket == 0)
    return 0;
  pthread_mutex_lock(&s->sync_mu);
  while (s->synced < ticket && error == 0) {
    if (s->syncing) {
      pthread_cond_wait(&s->sync_cond, &s->sync_mu);
      continue;
    }
    s->syncing = 1;
    pthread_mutex_unlock(&s->sync_mu);
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->commits; /* every commit so far is in the WAL already */
    pthread_mutex_unlock(&s->mu);
    int rc = fdatasync(s->wal_fd);
    int saved = errno;
    pthread_mutex_lock(&s->sync_mu);
    s->syncing = 0;
    if (rc == 0 && target > s->synced)
      s->synced = target;
    pthread_cond_broadcast(&s->sync_cond);
    if (rc < 0) {
      errno = saved;
      error = airgap_error_set_errno(AIRGAP_ERROR, "queue store: cannot sync the WAL to disk");
    }
  }
  pthread_mutex_unlock(&s->sync_mu);
  return error;
}

static char *col_strdup(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? strdup((const char *)t) : NULL;
}

void queue_record_free(queue_record *rec) {
  if (!rec)
    return;
  free(rec->job.id);
  free(rec->job.state);
  free(rec->job.reason);
  free(rec->job.agent);
  free(rec->job.lease);
  queue_spec_free(rec->job.spec);
  free(rec->spec_json);
  free(rec);
}

void queue_record_list_free(queue_record **recs, size_t count) {
  if (!recs)
    return;
  for (size_t i = 0; i < count; i++)
    queue_record_free(recs[i]);
  free(recs);
}

static int record_from_row(queue_record **out, sqlite3_stmt *st) {
  queue_record *r = calloc(1, sizeof(*r));
  if (!r)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  r->seq = sqlite3_column_int64(st, 0);
  r->job.id = col_strdup(st, 1);
  r->job.state = col_strdup(st, 2);
  r->spec_json = col_strdup(st, 3);
  r->job.reason = col_strdup(st, 4);
  if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
    r->job.has_exit_code = 1;
    r->job.exit_code = sqlite3_column_int(st, 5);
  }
  r->job.attempts = (unsigned)sqlite3_column_int(st, 6);
  r->job.agent = col_strdup(st, 7);
  r->job.created_at = sqlite3_column_int64(st, 8);
  r->job.started_at = sqlite3_column_int64(st, 9);
  r->job.finished_at = sqlite3_column_int64(st, 10);
  r->job.cancel_requested = sqlite3_column_int(st, 11);
  r->job.log_size = (uint64_t)sqlite3_column_int64(st, 12);
  r->job.lease = col_strdup(st, 13);
  if (!r->job.id || !r->job.state || !r->spec_json) {
    queue_record_free(r);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory reading a job");
  }
  *out = r;
  return 0;
}

/* Reads one job by id inside the caller's locked section. */
static int load_job(queue_record **out, sqlite_store *s, const char *id) {
  sqlite3_stmt *st = NULL;
  int error = prepare(&st, s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1");
  if (error < 0)
    return error;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    error = record_from_row(out, st);
  else if (rc == SQLITE_DONE)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
  else
    error = db_error(s, "read job");
  release(s, st);
  return error;
}

/* Runs a statement that returns no rows; returns sqlite3_changes or -1. */
static int step_done(sqlite_store *s, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE)
    return db_error(s, what);
  return sqlite3_changes(s->db);
}

/* ---- jobs ---- */

static int labels_join(char **out, const char *const *labels, size_t n) {
  size_t total = 1;
  for (size_t i = 0; i < n; i++)
    total += strlen(labels[i]) + 1;
  char *buf = malloc(total);
  if (!buf)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(labels[i]);
    if (i > 0)
      buf[pos++] = '\n';
    memcpy(buf + pos, labels[i], l);
    pos += l;
  }
  buf[pos] = '\0';
  *out = buf;
  return 0;
}

static int sqlite_job_insert(queue_store *base, const char *id, const char *spec_json,
                             const char *const *labels, size_t label_count, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  char *joined = NULL;
  sqlite3_stmt *st = NULL;
  uint64_t ticket = 0;
  int error = labels_join(&joined, labels, label_count);
  if (error < 0)
    return error;
  pthread_mutex_lock(&s->mu);
  error = prepare(&st, s,
                  "INSERT INTO jobs (id, state, spec, labels, created_at)"
                  " VALUES (?1, 'queued', ?2, ?3, ?4)");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, spec_json, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, joined, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now);
  /* A single INSERT in autocommit mode is its own transaction, committed
   * before sqlite3_step returns; make_durable() then puts it on disk. */
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    error = airgap_error_set(AIRGAP_EEXISTS, "job '%s' exists already", id);
  else if (rc != SQLITE_DONE)
    error = db_error(s, "insert job");
  else
    ticket = durable_ticket(s);
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  free(joined);
  if (error == 0)
    error = make_durable(s, ticket);
  return error;
}

static int sqlite_job_get(queue_record **out, queue_store *base, const char *id) {
  sqlite_store *s = (sqlite_store *)base;
  pthread_mutex_lock(&s->mu);
  int error = load_job(out, s, id);
  pthread_mutex_unlock(&s->mu);
  return error;
}

static int sqlite_job_list(queue_record ***out, size_t *out_count, queue_store *base,
                           const char *state, int64_t before, unsigned limit) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record **recs = NULL;
  size_t n = 0;
  int error = 0, rc;
  if (limit == 0)
    limit = 1;
  recs = calloc(limit, sizeof(*recs));
  if (!recs)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  pthread_mutex_lock(&s->mu);
  error = prepare(&st, s,
                  "SELECT " JOB_COLUMNS " FROM jobs WHERE (?1 IS NULL OR state = ?1)"
                  " AND (?2 = 0 OR seq < ?2) ORDER BY seq DESC LIMIT ?3");
  if (error < 0)
    goto cleanup;
  if (state)
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, before);
  sqlite3_bind_int(st, 3, (int)limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < limit) {
    error = record_from_row(&recs[n], st);
    if (error < 0)
      goto cleanup;
    n++;
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = db_error(s, "list jobs");
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0) {
    queue_record_list_free(recs, n);
    return error;
  }
  *out = recs;
  *out_count = n;
  return 0;
}

/* Ends a write transaction begun under s->mu that answers with the job's
 * record: commits when error is 0 (rolls back otherwise), releases st, unlocks
 * and waits until the commit is durable. Takes rec: *out gets it on success;
 * it is freed on failure. */
static int end_job_write(queue_record **out, sqlite_store *s, sqlite3_stmt *st, queue_record *rec,
                         int error) {
  uint64_t ticket = 0;
  if (error == 0 && (error = commit(s)) == 0)
    ticket = durable_ticket(s);
  if (error < 0)
    rollback(s);
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error == 0)
    error = make_durable(s, ticket);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

static int sqlite_job_cancel(queue_record **out, queue_store *base, const char *id, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record *rec = NULL;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = load_job(&rec, s, id);
  if (error < 0)
    goto cleanup;
  if (queue_state_is_final(rec->job.state)) {
    error = airgap_error_set(AIRGAP_EBUSY, "job %s has ended already (%s)", id, rec->job.state);
    goto cleanup;
  }
  if (strcmp(rec->job.state, "queued") == 0)
    error = prepare(&st, s,
                    "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = ?2,"
                    " cancel_requested = 1 WHERE id = ?1");
  else
    error = prepare(&st, s, "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (strcmp(rec->job.state, "queued") == 0)
    sqlite3_bind_int64(st, 2, now);
  error = step_done(s, st, "cancel job");
  if (error < 0)
    goto cleanup;
  queue_record_free(rec);
  rec = NULL;
  error = load_job(&rec, s, id);
  if (error < 0)
    goto cleanup;
cleanup:
  return end_job_write(out, s, st, rec, error);
}

/* 1 when every label of the job (newline-joined) is among the agent's. */
static int labels_match(const char *job_labels, const char *const *agent, size_t n) {
  const char *p = job_labels;
  while (*p) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
      found = strlen(agent[i]) == len && memcmp(agent[i], p, len) == 0;
    if (!found)
      return 0;
    p += len;
    if (*p == '\n')
      p++;
  }
  return 1;
}

static int sqlite_lease(queue_record **out, queue_store *base, const char *agent,
                        const char *const *labels, size_t label_count, const char *lease_id,
                        int64_t expires, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *scan = NULL, *upd = NULL;
  queue_record *rec = NULL;
  int64_t found = 0, after = 0;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = prepare(&scan, s,
                  "SELECT seq, labels FROM jobs WHERE state = 'queued' AND seq > ?1"
                  " ORDER BY seq LIMIT ?2");
  if (error < 0)
    goto cleanup;
  /* Oldest first, page by page, until a job whose labels the agent has. */
  while (!found) {
    int rows = 0, rc;
    sqlite3_reset(scan);
    sqlite3_bind_int64(scan, 1, after);
    sqlite3_bind_int(scan, 2, LEASE_SCAN_PAGE);
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
      rows++;
      after = sqlite3_column_int64(scan, 0);
      const char *jl = (const char *)sqlite3_column_text(scan, 1);
      if (labels_match(jl ? jl : "", labels, label_count)) {
        found = after;
        break;
      }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      error = db_error(s, "scan queued jobs");
      goto cleanup;
    }
    if (rows < LEASE_SCAN_PAGE && !found)
      break;
  }
  if (!found) {
    error = AIRGAP_ENOTFOUND; /* the normal "nothing to do"; no message needed */
    goto cleanup;
  }
  sqlite3_reset(scan);
  error = prepare(&upd, s,
                  "UPDATE jobs SET state = 'running', agent = ?2, lease = ?3, lease_expires = ?4,"
                  " attempts = attempts + 1, started_at = ?5, log_received = 0"
                  " WHERE seq = ?1 AND state = 'queued'");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_int64(upd, 1, found);
  sqlite3_bind_text(upd, 2, agent, -1, SQLITE_STATIC);
  sqlite3_bind_text(upd, 3, lease_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(upd, 4, expires);
  sqlite3_bind_int64(upd, 5, now);
  error = step_done(s, upd, "lease job");
  if (error < 0)
    goto cleanup;
  if (error != 1) {
    error = airgap_error_set(AIRGAP_ERROR, "queue store: leased job vanished");
    goto cleanup;
  }
  release(s, scan);
  scan = NULL;
  error = prepare(&scan, s, "SELECT " JOB_COLUMNS " FROM jobs WHERE seq = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_int64(scan, 1, found);
  if (sqlite3_step(scan) != SQLITE_ROW) {
    error = db_error(s, "read leased job");
    goto cleanup;
  }
  error = record_from_row(&rec, scan);
  if (error < 0)
    goto cleanup;
  error = commit(s);
cleanup:
  if (error < 0)
    rollback(s);
  release(s, scan);
  release(s, upd);
  pthread_mutex_unlock(&s->mu);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

/* Checks that id is running under lease_id, inside the caller's transaction. */
static int check_lease(queue_record **out, sqlite_store *s, const char *id, const char *lease_id) {
  queue_record *rec = NULL;
  int error = load_job(&rec, s, id);
  if (error < 0)
    return error;
  if (strcmp(rec->job.state, "running") != 0 || !rec->job.lease ||
      strcmp(rec->job.lease, lease_id) != 0) {
    error = airgap_error_set(
        AIRGAP_EBUSY, "the lease on job %s is lost (the job is %s%s); stop working on it", id,
        rec->job.state, strcmp(rec->job.state, "running") == 0 ? " under another lease" : "");
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

static int sqlite_heartbeat(int *out_cancel, queue_store *base, const char *id,
                            const char *lease_id, int64_t expires) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record *rec = NULL;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = check_lease(&rec, s, id, lease_id);
  if (error < 0)
    goto cleanup;
  error = prepare(&st, s, "UPDATE jobs SET lease_expires = ?2 WHERE id = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, expires);
  error = step_done(s, st, "heartbeat");
  if (error < 0)
    goto cleanup;
  error = commit(s);
cleanup:
  if (error < 0)
    rollback(s);
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error >= 0)
    *out_cancel = rec->job.cancel_requested;
  queue_record_free(rec);
  return error < 0 ? error : 0;
}

static int sqlite_complete(queue_record **out, queue_store *base, const char *id,
                           const char *lease_id, const char *status, const char *reason,
                           int has_exit_code, int exit_code, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record *rec = NULL;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = load_job(&rec, s, id);
  if (error < 0)
    goto cleanup;
  int same_lease = rec->job.lease && strcmp(rec->job.lease, lease_id) == 0;
  if (queue_state_is_final(rec->job.state) && same_lease && strcmp(rec->job.state, status) == 0) {
    goto cleanup; /* a retried report: answer as the first time */
  }
  if (strcmp(rec->job.state, "running") != 0 || !same_lease) {
    error =
        airgap_error_set(AIRGAP_EBUSY, "cannot report job %s as %s: the job is %s%s", id, status,
                         rec->job.state, same_lease ? "" : " and the lease is not current");
    goto cleanup;
  }
  error = prepare(&st, s,
                  "UPDATE jobs SET state = ?2, reason = ?3, exit_code = ?4, finished_at = ?5"
                  " WHERE id = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
  if (reason)
    sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
  if (has_exit_code)
    sqlite3_bind_int(st, 4, exit_code);
  sqlite3_bind_int64(st, 5, now);
  error = step_done(s, st, "complete job");
  if (error < 0)
    goto cleanup;
  queue_record_free(rec);
  rec = NULL;
  error = load_job(&rec, s, id);
  if (error < 0)
    goto cleanup;
cleanup:
  return end_job_write(out, s, st, rec, error);
}

/* ---- logs ---- */

static int insert_chunk(sqlite_store *s, const char *id, uint64_t start, const char *data,
                        size_t len) {
  sqlite3_stmt *st = NULL;
  int error = prepare(&st, s, "INSERT INTO logs (job, start, end, data) VALUES (?1, ?2, ?3, ?4)");
  if (error < 0)
    return error;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)start);
  sqlite3_bind_int64(st, 3, (int64_t)(start + len));
  sqlite3_bind_blob(st, 4, data, (int)len, SQLITE_STATIC);
  error = step_done(s, st, "store log chunk");
  release(s, st);
  return error < 0 ? error : 0;
}

/* Appends bytes to the stored log, honouring the cap; returns bytes stored. */
static int store_bytes(uint64_t *out_stored, int *io_truncated, uint64_t *io_size, sqlite_store *s,
                       const char *id, const char *data, size_t len, uint64_t cap) {
  uint64_t stored = 0;
  int error = 0;
  if (*io_truncated || len == 0)
    goto done;
  size_t keep = len;
  if (*io_size + len > cap)
    keep = (size_t)(cap > *io_size ? cap - *io_size : 0);
  if (keep > 0) {
    error = insert_chunk(s, id, *io_size, data, keep);
    if (error < 0)
      return error;
    *io_size += keep;
    stored += keep;
  }
  if (keep < len) {
    char marker[96];
    int n = snprintf(marker, sizeof(marker), TRUNCATION_MARKER_FMT, (unsigned long long)cap);
    error = insert_chunk(s, id, *io_size, marker, (size_t)n);
    if (error < 0)
      return error;
    *io_size += (uint64_t)n;
    stored += (uint64_t)n;
    *io_truncated = 1;
  }
done:
  *out_stored = stored;
  return 0;
}

static int read_log_state(uint64_t *received, uint64_t *size, int *truncated, sqlite_store *s,
                          const char *id) {
  sqlite3_stmt *st = NULL;
  int error =
      prepare(&st, s, "SELECT log_received, log_size, log_truncated FROM jobs WHERE id = ?1");
  if (error < 0)
    return error;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    *received = (uint64_t)sqlite3_column_int64(st, 0);
    *size = (uint64_t)sqlite3_column_int64(st, 1);
    *truncated = sqlite3_column_int(st, 2);
  } else {
    error = db_error(s, "read log state");
  }
  release(s, st);
  return error;
}

static int write_log_state(sqlite_store *s, const char *id, uint64_t received, uint64_t size,
                           int truncated) {
  sqlite3_stmt *st = NULL;
  int error = prepare(&st, s,
                      "UPDATE jobs SET log_received = ?2, log_size = ?3, log_truncated = ?4"
                      " WHERE id = ?1");
  if (error < 0)
    return error;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)received);
  sqlite3_bind_int64(st, 3, (int64_t)size);
  sqlite3_bind_int(st, 4, truncated);
  error = step_done(s, st, "update log state");
  release(s, st);
  return error < 0 ? error : 0;
}

static int sqlite_log_append(queue_log_ack *out, queue_store *base, const char *id,
                             const char *lease_id, uint64_t offset, const char *data, size_t len,
                             uint64_t cap) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  uint64_t received = 0, size = 0, stored = 0;
  int truncated = 0;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = check_lease(&rec, s, id, lease_id);
  if (error < 0)
    goto cleanup;
  error = read_log_state(&received, &size, &truncated, s, id);
  if (error < 0)
    goto cleanup;
  if (offset > received) {
    out->received = received;
    out->stored = 0;
    error = airgap_error_set(AIRGAP_EINVALID,
                             "log offset %llu is ahead of the server's %llu; resend from there",
                             (unsigned long long)offset, (unsigned long long)received);
    goto cleanup;
  }
  if (offset + len > received) {
    /* new bytes, possibly after a prefix the server has already (a retry) */
    size_t skip = (size_t)(received - offset);
    error = store_bytes(&stored, &truncated, &size, s, id, data + skip, len - skip, cap);
    if (error < 0)
      goto cleanup;
    received = offset + len;
    error = write_log_state(s, id, received, size, truncated);
    if (error < 0)
      goto cleanup;
  }
  error = commit(s);
cleanup:
  if (error < 0)
    rollback(s);
  pthread_mutex_unlock(&s->mu);
  queue_record_free(rec);
  if (error < 0)
    return error;
  out->received = received;
  out->stored = stored;
  return 0;
}

static int sqlite_log_read(size_t *out_len, int *out_final, queue_store *base, const char *id,
                           uint64_t offset, char *buf, size_t max) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  size_t n = 0;
  int final = 0, rc;
  pthread_mutex_lock(&s->mu);
  /* The state is read first: bytes that arrive between the two reads can only
   * make the answer longer, never hide bytes written before the job ended. */
  int error = prepare(&st, s, "SELECT state FROM jobs WHERE id = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
    goto cleanup;
  }
  if (rc != SQLITE_ROW) {
    error = db_error(s, "read job state");
    goto cleanup;
  }
  final = queue_state_is_final((const char *)sqlite3_column_text(st, 0));
  release(s, st);
  st = NULL;
  error = prepare(&st, s,
                  "SELECT start, data FROM logs WHERE job = ?1 AND end > ?2 ORDER BY end LIMIT 64");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)offset);
  uint64_t pos = offset;
  while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t start = (uint64_t)sqlite3_column_int64(st, 0);
    const char *data = sqlite3_column_blob(st, 1);
    size_t len = (size_t)sqlite3_column_bytes(st, 1);
    if (start > pos)
      break; /* cannot happen: chunks are contiguous */
    size_t skip = (size_t)(pos - start);
    size_t take = len - skip;
    if (take > max - n)
      take = max - n;
    memcpy(buf + n, data + skip, take);
    n += take;
    pos += take;
  }
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0)
    return error;
  *out_len = n;
  *out_final = final;
  return 0;
}

/* ---- handing a job back ---- */

/* Appends an agent-independent note to a job's stored log (not counted in the
 * agent-side offset), inside the caller's transaction. A truncated log stays
 * as it is. */
static int note_in_log(sqlite_store *s, const char *id, uint64_t size, int truncated,
                       const char *note, size_t len) {
  if (truncated || len == 0)
    return 0;
  int error = insert_chunk(s, id, size, note, len);
  if (error < 0)
    return error;
  sqlite3_stmt *upd = NULL;
  error = prepare(&upd, s, "UPDATE jobs SET log_size = log_size + ?2 WHERE id = ?1");
  if (error < 0)
    return error;
  sqlite3_bind_text(upd, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(upd, 2, (int64_t)len);
  error = step_done(s, upd, "note in log");
  release(s, upd);
  return error < 0 ? error : 0;
}

static int sqlite_release(queue_record **out, queue_store *base, const char *id,
                          const char *lease_id, const char *reason, unsigned max_attempts,
                          int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record *rec = NULL;
  uint64_t received = 0, size = 0;
  int truncated = 0;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  error = load_job(&rec, s, id);
  if (error < 0)
    goto cleanup;
  int same_lease = rec->job.lease && strcmp(rec->job.lease, lease_id) == 0;
  /* A release keeps the lease id on the job until the next lease, so a
   * repeated release is recognised: answer as the first time. */
  const char *st_now = rec->job.state;
  if (same_lease && (strcmp(st_now, "queued") == 0 ||
                     (strcmp(st_now, "errored") == 0 && rec->job.reason &&
                      strcmp(rec->job.reason, reason) == 0) ||
                     (strcmp(st_now, "canceled") == 0 && rec->job.reason &&
                      strcmp(rec->job.reason, "canceled") == 0))) {
    goto cleanup;
  }
  if (strcmp(st_now, "running") != 0 || !same_lease) {
    error = airgap_error_set(AIRGAP_EBUSY,
                             "cannot hand job %s back: the job is %s%s; stop working on it", id,
                             st_now, same_lease ? "" : " and the lease is not current");
    goto cleanup;
  }
  const char *sql;
  const char *outcome;
  if (rec->job.cancel_requested) {
    sql = "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = ?2,"
          " lease_expires = NULL WHERE id = ?1 AND ?3 = ?3";
    outcome = "job canceled";
  } else if (rec->job.attempts >= max_attempts) {
    sql = "UPDATE jobs SET state = 'errored', reason = ?3, finished_at = ?2,"
          " lease_expires = NULL WHERE id = ?1";
    outcome = "no attempts left: errored";
  } else {
    sql = "UPDATE jobs SET state = 'queued', lease_expires = NULL WHERE id = ?1"
          " AND ?2 = ?2 AND ?3 = ?3";
    outcome = "job requeued";
  }
  if ((error = prepare(&st, s, sql)) < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, now);
  sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
  error = step_done(s, st, "release job");
  if (error < 0)
    goto cleanup;
  /* Leave a trace in the log: whoever reads it sees why output restarts. */
  if ((error = read_log_state(&received, &size, &truncated, s, id)) < 0)
    goto cleanup;
  char note[256];
  int len =
      snprintf(note, sizeof(note), "\n[airgap: attempt %u handed back by agent %s (%s); %s]\n",
               rec->job.attempts, rec->job.agent ? rec->job.agent : "?", reason, outcome);
  if (len > 0 && (size_t)len < sizeof(note) &&
      (error = note_in_log(s, id, size, truncated, note, (size_t)len)) < 0)
    goto cleanup;
  queue_record_free(rec);
  rec = NULL;
  if ((error = load_job(&rec, s, id)) < 0)
    goto cleanup;
cleanup:
  return end_job_write(out, s, st, rec, error);
}

/* ---- housekeeping ---- */

typedef struct expired_row {
  char *id;
  char *agent;
  unsigned attempts;
  int cancel;
  uint64_t size;
  int truncated;
} expired_row;

/* Ends or requeues one expired job inside the caller's transaction. */
static int expire_one(queue_expire_result *res, sqlite_store *s, const expired_row *row,
                      int64_t now, unsigned max_attempts) {
  sqlite3_stmt *upd = NULL;
  const char *sql;
  if (row->cancel)
    sql = "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = ?2"
          " WHERE id = ?1";
  else if (row->attempts >= max_attempts)
    sql = "UPDATE jobs SET state = 'errored', reason = 'agent_lost', finished_at = ?2"
          " WHERE id = ?1";
  else
    sql = "UPDATE jobs SET state = 'queued', lease = NULL, lease_expires = NULL WHERE id = ?1"
          " AND ?2 = ?2";
  int error = prepare(&upd, s, sql);
  if (error < 0)
    return error;
  sqlite3_bind_text(upd, 1, row->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(upd, 2, now);
  error = step_done(s, upd, "expire lease");
  release(s, upd);
  if (error < 0)
    return error;
  /* Leave a trace in the log: whoever reads it sees why output restarts. */
  char note[256];
  int len = snprintf(note, sizeof(note), "\n[airgap: lease of attempt %u expired (agent %s)%s]\n",
                     row->attempts, row->agent ? row->agent : "?",
                     row->cancel                     ? "; job canceled"
                     : row->attempts >= max_attempts ? "; giving up: agent_lost"
                                                     : "; job requeued");
  if (len > 0 && (size_t)len < sizeof(note) &&
      (error = note_in_log(s, row->id, row->size, row->truncated, note, (size_t)len)) < 0)
    return error;
  if (!row->cancel && row->attempts < max_attempts)
    res->requeued++;
  else if (!row->cancel)
    res->lost++;
  return 0;
}

static int sqlite_expire(queue_expire_result *out, queue_store *base, int64_t now,
                         unsigned max_attempts) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *sel = NULL;
  queue_expire_result res = {0, 0};
  expired_row *rows = NULL;
  size_t n = 0, cap = 0;
  int rc;
  pthread_mutex_lock(&s->mu);
  int error = begin(s);
  if (error < 0)
    goto cleanup;
  /* Collect first, then update: changing rows under an open scan of the same
   * index may skip some of them. What is left waits for the next pass. */
  error = prepare(&sel, s,
                  "SELECT id, attempts, cancel_requested, agent, log_size, log_truncated FROM jobs"
                  " WHERE state = 'running' AND lease_expires < ?1 LIMIT 1000");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_int64(sel, 1, now);
  while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
    if (n == cap) {
      size_t grown_cap = cap ? cap * 2 : 16;
      expired_row *grown = realloc(rows, grown_cap * sizeof(*rows));
      if (!grown) {
        error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
        goto cleanup;
      }
      rows = grown;
      cap = grown_cap;
    }
    expired_row *row = &rows[n++];
    memset(row, 0, sizeof(*row));
    row->id = col_strdup(sel, 0);
    row->attempts = (unsigned)sqlite3_column_int(sel, 1);
    row->cancel = sqlite3_column_int(sel, 2);
    row->agent = col_strdup(sel, 3);
    row->size = (uint64_t)sqlite3_column_int64(sel, 4);
    row->truncated = sqlite3_column_int(sel, 5);
    if (!row->id) {
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
      goto cleanup;
    }
  }
  if (rc != SQLITE_DONE) {
    error = db_error(s, "scan expired leases");
    goto cleanup;
  }
  release(s, sel);
  sel = NULL;
  for (size_t i = 0; i < n; i++)
    if ((error = expire_one(&res, s, &rows[i], now, max_attempts)) < 0)
      goto cleanup;
  error = commit(s);
cleanup:
  if (error < 0)
    rollback(s);
  release(s, sel);
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; i < n; i++) {
    free(rows[i].id);
    free(rows[i].agent);
  }
  free(rows);
  if (error < 0)
    return error;
  *out = res;
  return 0;
}

static int sqlite_counts(queue_store_counts *out, queue_store *base) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_store_counts c;
  memset(&c, 0, sizeof(c));
  pthread_mutex_lock(&s->mu);
  int error = prepare(&st, s, "SELECT state, count(*) FROM jobs GROUP BY state");
  if (error < 0)
    goto cleanup;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *state = (const char *)sqlite3_column_text(st, 0);
    uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
    if (!state)
      continue;
    if (strcmp(state, "queued") == 0)
      c.queued = n;
    else if (strcmp(state, "running") == 0)
      c.running = n;
    else if (strcmp(state, "passed") == 0)
      c.passed = n;
    else if (strcmp(state, "failed") == 0)
      c.failed = n;
    else if (strcmp(state, "errored") == 0)
      c.errored = n;
    else if (strcmp(state, "canceled") == 0)
      c.canceled = n;
  }
  if (rc != SQLITE_DONE)
    error = db_error(s, "count jobs");
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0)
    return error;
  *out = c;
  return 0;
}

/* ---- tokens ---- */

static int sqlite_token_add(queue_store *base, const char *token_id, const char *role,
                            const unsigned char hash[32], int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  uint64_t ticket = 0;
  pthread_mutex_lock(&s->mu);
  int error =
      prepare(&st, s, "INSERT INTO tokens (id, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 3, hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    error = airgap_error_set(AIRGAP_EEXISTS, "token id %s exists already", token_id);
  else if (rc != SQLITE_DONE)
    error = db_error(s, "store token");
  else
    ticket = durable_ticket(s);
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error == 0)
    error = make_durable(s, ticket);
  return error;
}

static int sqlite_token_get(char **out_role, unsigned char out_hash[32], queue_store *base,
                            const char *token_id) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  char *role = NULL;
  pthread_mutex_lock(&s->mu);
  int error = prepare(&st, s, "SELECT role, hash FROM tokens WHERE id = ?1");
  if (error < 0)
    goto cleanup;
  sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    error = airgap_error_set(AIRGAP_ENOTFOUND, "unknown token");
    goto cleanup;
  }
  if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 1) != 32) {
    error = db_error(s, "read token");
    goto cleanup;
  }
  role = col_strdup(st, 0);
  if (!role) {
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
    goto cleanup;
  }
  memcpy(out_hash, sqlite3_column_blob(st, 1), 32);
  *out_role = role;
cleanup:
  release(s, st);
  pthread_mutex_unlock(&s->mu);
  return error;
}

/* ---- open / close ---- */

static void store_free(sqlite_store *s) {
  for (size_t i = 0; i < STMT_CACHE_SIZE; i++)
    if (s->cache[i].st)
      sqlite3_finalize(s->cache[i].st);
  sqlite3_close(s->db);
  if (s->wal_fd >= 0)
    close(s->wal_fd);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->sync_mu);
  pthread_cond_destroy(&s->sync_cond);
  free(s);
}

static void sqlite_close(queue_store *base) { store_free((sqlite_store *)base); }

static const queue_store_ops sqlite_ops = {
    .close = sqlite_close,
    .job_insert = sqlite_job_insert,
    .job_get = sqlite_job_get,
    .job_list = sqlite_job_list,
    .job_cancel = sqlite_job_cancel,
    .lease = sqlite_lease,
    .heartbeat = sqlite_heartbeat,
    .complete = sqlite_complete,
    .release = sqlite_release,
    .log_append = sqlite_log_append,
    .log_read = sqlite_log_read,
    .expire = sqlite_expire,
    .counts = sqlite_counts,
    .token_add = sqlite_token_add,
    .token_get = sqlite_token_get,
};

int queue_store_open_sqlite(queue_store **out, const char *data_dir, int sync_normal) {
  sqlite_store *s = NULL;
  char *path = NULL;
  int error = 0;
  if (!data_dir || !*data_dir)
    return airgap_error_set(AIRGAP_EINVALID, "no data directory given (--data DIR)");
  if (fs_mkdir_p(data_dir, 0700) < 0)
    return airgap_error_set_errno(
        AIRGAP_ERROR, "cannot create data directory %s (check --data and permissions)", data_dir);
  size_t plen = strlen(data_dir) + sizeof("/queue.db");
  path = malloc(plen + 4); /* room for "-wal" */
  s = calloc(1, sizeof(*s));
  if (!path || !s) {
    free(s);
    free(path);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  snprintf(path, plen, "%s/queue.db", data_dir);
  s->base.ops = &sqlite_ops;
  s->sync_normal = sync_normal;
  s->wal_fd = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->sync_mu, NULL);
  pthread_cond_init(&s->sync_cond, NULL);
  if (sqlite3_open_v2(path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot open the queue database %s: %s", path,
                             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    goto cleanup;
  }
  chmod(path, 0600); /* token hashes and secrets live here */
  sqlite3_busy_timeout(s->db, 10000);
  error = exec(s, "PRAGMA journal_mode = WAL");
  if (error < 0)
    goto cleanup;
  error = exec(s, "PRAGMA synchronous = NORMAL"); /* durability: see make_durable() */
  if (error < 0)
    goto cleanup;
  error = exec(s, SCHEMA);
  if (error < 0)
    goto cleanup;
  /* The WAL exists while a connection is open; our own descriptor of it is
   * what make_durable() syncs. The directory is synced once so that the WAL's
   * (and the database's) directory entries are on disk too. */
  snprintf(path, plen + 4, "%s/queue.db-wal", data_dir);
  s->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (s->wal_fd < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot open the queue WAL %s", path);
    goto cleanup;
  }
  int dir_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync(dir_fd) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot sync directory %s", data_dir);
    if (dir_fd >= 0)
      close(dir_fd);
    goto cleanup;
  }
  close(dir_fd);
  *out = &s->base;
  s = NULL;
cleanup:
  if (s)
    store_free(s);
  free(path);
  return error;
}

void queue_store_close(queue_store *store) {
  if (store)
    store->ops->close(store);
}
