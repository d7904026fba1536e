/*
 * store_sqlite.c — the queue's embedded storage, SQLite: the operations of
 * queue_store_ops on one database, DATA_DIR/queue.db, in WAL mode. The
 * connection, statements, transactions and durability are in
 * store_sqlite_db.c; the decisions any store makes alike (states, leases,
 * repeated reports, labels, log notes and the cap) in store_rules.c.
 *
 * A job handed back by its agent (release) or whose lease expired keeps its
 * last lease id while it waits in the queue, so that a repeated release is
 * recognised and answered like the first, and a result reported late under
 * an expired lease is still accepted; the next lease replaces it. Which of
 * the two requeued it, lease_expires tells: NULL after a release, the past
 * expiry after an expiry.
 *
 * Logs are stored as chunks (job id, start, end, bytes); a job keeps the
 * agent-side offset it has received for the current attempt (log_received) and
 * the size of what is stored (log_size), which differ once the log is
 * truncated at its cap or when an earlier attempt left bytes behind.
 */
#include "queue/store_sqlite_int.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_SCAN_PAGE 256
#define EXPIRE_BATCH 1000

#define JOB_COLUMNS SQLITE_JOB_COLUMNS

static int note_in_log(sqlite_store *s, const char *id, const char *note, size_t len);

int sqlite_record_from_row(queue_record **out, sqlite3_stmt *st) {
  queue_record *r = calloc(1, sizeof(*r));
  if (!r)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  r->seq = sqlite3_column_int64(st, 0);
  r->job.id = sql_column_strdup(st, 1);
  r->job.state = sql_column_strdup(st, 2);
  r->job.spec_json = sql_column_strdup(st, 3);
  r->job.reason = sql_column_strdup(st, 4);
  if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
    r->job.has_exit_code = 1;
    r->job.exit_code = sqlite3_column_int(st, 5);
  }
  r->job.attempts = (unsigned)sqlite3_column_int(st, 6);
  r->job.agent = sql_column_strdup(st, 7);
  r->job.created_at = sqlite3_column_int64(st, 8);
  r->job.started_at = sqlite3_column_int64(st, 9);
  r->job.finished_at = sqlite3_column_int64(st, 10);
  r->job.cancel_requested = sqlite3_column_int(st, 11);
  r->job.log_size = (uint64_t)sqlite3_column_int64(st, 12);
  r->job.lease = sql_column_strdup(st, 13);
  r->lease_expires = sqlite3_column_int64(st, 14); /* 0 for NULL */
  r->retry_of = sql_column_strdup(st, 15);
  r->retried_by = sql_column_strdup(st, 16);
  if (!r->job.id || !r->job.state || !r->job.spec_json) {
    queue_record_free(r);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory reading a job");
  }
  *out = r;
  return 0;
}

/* Reads one job by id (id_col "id") or by seq; caller holds mu. */
static int load_by(queue_record **out, sqlite_store *s, const char *sql, sql_value key,
                   const char *id) {
  sqlite3_stmt *st = NULL;
  int error = sql_query(&st, s, sql, &key, 1);
  if (error < 0)
    return error;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    error = sqlite_record_from_row(out, st);
  else if (rc == SQLITE_DONE)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id ? id : "?");
  else
    error = sqlite_store_error(s, "read job");
  sql_release(s, st);
  return error;
}

int sqlite_load_job(queue_record **out, sqlite_store *s, const char *id) {
  return load_by(out, s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", V_TEXT(id), id);
}

/* Ends a write transaction that answers with the job: reloads it when it
 * changed, commits durably and hands it to *out; frees it on failure. */
static int end_with_job(queue_record **out, sqlite_store *s, const char *id, queue_record *rec,
                        int changed, int error) {
  if (error >= 0 && changed) {
    queue_record_free(rec);
    rec = NULL;
    error = sqlite_load_job(&rec, s, id);
  }
  error = tx_end(s, error, 1);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

/* ---- jobs ---- */

static int sqlite_job_get(queue_record **out, queue_store *base, const char *id) {
  sqlite_store *s = (sqlite_store *)base;
  pthread_mutex_lock(&s->mu);
  int error = sqlite_load_job(out, s, id);
  pthread_mutex_unlock(&s->mu);
  return error;
}

static int sqlite_job_cancel(queue_record **out, queue_store *base, const char *id, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  int error = tx_begin(s);
  if (error == 0)
    error = sqlite_load_job(&rec, s, id);
  if (error < 0)
    goto done;
  if (queue_state_is_final(rec->job.state))
    error = airgap_error_set(AIRGAP_EBUSY, "job %s has ended already (%s)", id, rec->job.state);
  else if (strcmp(rec->job.state, "queued") == 0)
    error = SQL_EXEC(s, "cancel job",
                     "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = ?2,"
                     " cancel_requested = 1 WHERE id = ?1",
                     V_TEXT(id), V_INT(now));
  else
    error =
        SQL_EXEC(s, "cancel job", "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1", V_TEXT(id));
done:
  return end_with_job(out, s, id, rec, 1, error);
}

/* Finds the oldest queued job whose labels the agent has; *out its seq (0:
 * none). Caller holds mu. */
static int find_leasable(int64_t *out, sqlite_store *s, const char *const *labels, size_t n) {
  int64_t after = 0;
  for (;;) {
    sqlite3_stmt *scan = NULL;
    int rows = 0, rc;
    int error = SQL_QUERY(&scan, s,
                          "SELECT seq, labels FROM jobs WHERE state = 'queued' AND seq > ?1"
                          " ORDER BY seq LIMIT ?2",
                          V_INT(after), V_INT(LEASE_SCAN_PAGE));
    if (error < 0)
      return error;
    while ((rc = sqlite3_step(scan)) == SQLITE_ROW) {
      rows++;
      after = sqlite3_column_int64(scan, 0);
      const char *jl = (const char *)sqlite3_column_text(scan, 1);
      if (queue_labels_match(jl ? jl : "", labels, n)) {
        sql_release(s, scan);
        *out = after;
        return 0;
      }
    }
    sql_release(s, scan);
    if (rc != SQLITE_DONE)
      return sqlite_store_error(s, "scan queued jobs");
    if (rows < LEASE_SCAN_PAGE) {
      *out = 0;
      return 0;
    }
  }
}

static int sqlite_lease(queue_record **out, queue_store *base, const char *agent,
                        const char *const *labels, size_t label_count, const char *lease_id,
                        int64_t expires, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  int64_t found = 0;
  int error = tx_begin(s);
  if (error == 0)
    error = find_leasable(&found, s, labels, label_count);
  if (error == 0 && !found)
    error = AIRGAP_ENOTFOUND; /* the normal "nothing to do"; no message needed */
  if (error == 0)
    error = SQL_EXEC(s, "lease job",
                     "UPDATE jobs SET state = 'running', agent = ?2, lease = ?3,"
                     " lease_expires = ?4, attempts = attempts + 1, started_at = ?5,"
                     " log_received = 0 WHERE seq = ?1 AND state = 'queued'",
                     V_INT(found), V_TEXT(agent), V_TEXT(lease_id), V_INT(expires), V_INT(now));
  if (error == 0)
    error = airgap_error_set(AIRGAP_ERROR, "queue store: leased job vanished");
  if (error > 0)
    error = load_by(&rec, s, "SELECT " JOB_COLUMNS " FROM jobs WHERE seq = ?1", V_INT(found), NULL);
  error = tx_end(s, error, 0);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

static int sqlite_heartbeat(int *out_cancel, queue_store *base, const char *id,
                            const char *lease_id, int64_t expires) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  int error = tx_begin(s);
  if (error == 0 && (error = sqlite_load_job(&rec, s, id)) == 0 &&
      (error = queue_rule_lease_current(&rec->job, lease_id)) == 0)
    error = SQL_EXEC(s, "heartbeat", "UPDATE jobs SET lease_expires = ?2 WHERE id = ?1", V_TEXT(id),
                     V_INT(expires));
  error = tx_end(s, error, 0);
  if (error == 0)
    *out_cancel = rec->job.cancel_requested;
  queue_record_free(rec);
  return error;
}

static int sqlite_complete(queue_record **out, queue_store *base, const char *id,
                           const char *lease_id, const char *status, const char *reason,
                           int has_exit_code, int exit_code, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  char what[96];
  int changed = 0;
  int error = tx_begin(s);
  if (error == 0)
    error = sqlite_load_job(&rec, s, id);
  if (error < 0 || queue_rule_complete_repeated(&rec->job, lease_id, status))
    goto done; /* a retried report: answer as the first time */
  snprintf(what, sizeof(what), "report job %s as %s", id, status);
  if ((error = queue_rule_may_complete(rec, lease_id, what)) < 0)
    goto done;
  error = SQL_EXEC(s, "complete job",
                   "UPDATE jobs SET state = ?2, reason = ?3, exit_code = ?4, finished_at = ?5,"
                   " lease_expires = NULL WHERE id = ?1",
                   V_TEXT(id), V_TEXT(status), V_TEXT(reason),
                   has_exit_code ? V_INT(exit_code) : V_TEXT(NULL), V_INT(now));
  if (error >= 0 && strcmp(rec->job.state, "queued") == 0) {
    char note[QUEUE_NOTE_MAX];
    error = note_in_log(s, id, note, queue_note_late_result(note, sizeof(note), &rec->job, status));
  }
  changed = 1;
done:
  return end_with_job(out, s, id, rec, changed, error);
}

/* ---- logs ---- */

static int insert_chunk(sqlite_store *s, const char *id, uint64_t start, const char *data,
                        size_t len) {
  /* at: when the chunk was stored, the web UI's line timestamps */
  int error = SQL_EXEC(s, "store log chunk",
                       "INSERT INTO logs (job, start, end, data, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                       V_TEXT(id), V_INT(start), V_INT(start + len), V_BLOB(data, len),
                       V_INT(queue_now_ms()));
  return error < 0 ? error : 0;
}

static int read_log_state(queue_log_state *out, sqlite_store *s, const char *id) {
  sqlite3_stmt *st = NULL;
  int error = SQL_QUERY(
      &st, s, "SELECT log_received, log_size, log_truncated FROM jobs WHERE id = ?1", V_TEXT(id));
  if (error < 0)
    return error;
  if (sqlite3_step(st) == SQLITE_ROW) {
    out->received = (uint64_t)sqlite3_column_int64(st, 0);
    out->size = (uint64_t)sqlite3_column_int64(st, 1);
    out->truncated = sqlite3_column_int(st, 2);
  } else {
    error = sqlite_store_error(s, "read log state");
  }
  sql_release(s, st);
  return error;
}

static int write_log_state(sqlite_store *s, const char *id, const queue_log_state *ls) {
  int error = SQL_EXEC(s, "update log state",
                       "UPDATE jobs SET log_received = ?2, log_size = ?3, log_truncated = ?4"
                       " WHERE id = ?1",
                       V_TEXT(id), V_INT(ls->received), V_INT(ls->size), V_INT(ls->truncated));
  return error < 0 ? error : 0;
}

/* queue_log_apply's insert, for this store. */
typedef struct chunk_target {
  sqlite_store *s;
  const char *id;
} chunk_target;

static int insert_into(void *payload, uint64_t start, const char *data, size_t len) {
  chunk_target *t = payload;
  return insert_chunk(t->s, t->id, start, data, len);
}

static int sqlite_log_append(queue_log_ack *out, queue_store *base, const char *id,
                             const char *lease_id, uint64_t offset, const char *data, size_t len,
                             uint64_t cap) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  queue_log_state ls = {0, 0, 0};
  uint64_t stored = 0;
  int error = tx_begin(s);
  if (error < 0 || (error = sqlite_load_job(&rec, s, id)) < 0 ||
      (error = queue_rule_lease_current(&rec->job, lease_id)) < 0 ||
      (error = read_log_state(&ls, s, id)) < 0)
    goto done;
  uint64_t before = ls.received;
  chunk_target target = {s, id};
  if ((error = queue_log_apply(&stored, &ls, offset, data, len, cap, insert_into, &target)) == 0 &&
      ls.received != before)
    error = write_log_state(s, id, &ls);
done:
  error = tx_end(s, error, 0);
  queue_record_free(rec);
  out->received = ls.received;
  out->stored = error < 0 ? 0 : stored;
  return error;
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
  int error = SQL_QUERY(&st, s, "SELECT state FROM jobs WHERE id = ?1", V_TEXT(id));
  if (error < 0)
    goto cleanup;
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
    goto cleanup;
  }
  if (rc != SQLITE_ROW) {
    error = sqlite_store_error(s, "read job state");
    goto cleanup;
  }
  final = queue_state_is_final((const char *)sqlite3_column_text(st, 0));
  sql_release(s, st);
  st = NULL;
  error = SQL_QUERY(
      &st, s, "SELECT start, data FROM logs WHERE job = ?1 AND end > ?2 ORDER BY end LIMIT 64",
      V_TEXT(id), V_INT(offset));
  if (error < 0)
    goto cleanup;
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
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0)
    return error;
  *out_len = n;
  *out_final = final;
  return 0;
}

/* Appends an agent-independent note to a job's stored log (not counted in the
 * agent-side offset), inside the caller's transaction. A truncated log stays
 * as it is. */
static int note_in_log(sqlite_store *s, const char *id, const char *note, size_t len) {
  queue_log_state ls = {0, 0, 0};
  int error = read_log_state(&ls, s, id);
  if (error < 0 || ls.truncated || len == 0)
    return error;
  if ((error = insert_chunk(s, id, ls.size, note, len)) < 0)
    return error;
  error = SQL_EXEC(s, "note in log", "UPDATE jobs SET log_size = log_size + ?2 WHERE id = ?1",
                   V_TEXT(id), V_INT(len));
  return error < 0 ? error : 0;
}

/* ---- the end of a lease without a final status ---- */

/* Moves a running job where end says (reason: why it errored), inside the
 * caller's transaction. The lease id stays on a requeued job, and its expiry
 * when it expired: see the top. */
static int end_lease(sqlite_store *s, const char *id, queue_lease_end end, const char *reason,
                     int expired, int64_t now) {
  int error;
  if (end == QUEUE_END_CANCELED)
    error = SQL_EXEC(s, "end lease",
                     "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = ?2,"
                     " lease_expires = NULL WHERE id = ?1",
                     V_TEXT(id), V_INT(now));
  else if (end == QUEUE_END_ERRORED)
    error = SQL_EXEC(s, "end lease",
                     "UPDATE jobs SET state = 'errored', reason = ?3, finished_at = ?2,"
                     " lease_expires = NULL WHERE id = ?1",
                     V_TEXT(id), V_INT(now), V_TEXT(reason));
  else if (expired)
    error = SQL_EXEC(s, "end lease", "UPDATE jobs SET state = 'queued' WHERE id = ?1", V_TEXT(id));
  else
    error = SQL_EXEC(s, "end lease",
                     "UPDATE jobs SET state = 'queued', lease_expires = NULL WHERE id = ?1",
                     V_TEXT(id));
  return error < 0 ? error : 0;
}

static int sqlite_release(queue_record **out, queue_store *base, const char *id,
                          const char *lease_id, const char *reason, unsigned max_attempts,
                          int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *rec = NULL;
  char what[64], note[QUEUE_NOTE_MAX];
  int changed = 0;
  int error = tx_begin(s);
  if (error == 0)
    error = sqlite_load_job(&rec, s, id);
  if (error < 0 || queue_rule_release_repeated(rec, lease_id, reason))
    goto done; /* a repeated release: answer as the first time */
  snprintf(what, sizeof(what), "hand job %s back", id);
  if ((error = queue_rule_may_end(&rec->job, lease_id, what)) < 0)
    goto done;
  queue_lease_end end =
      queue_rule_lease_end(rec->job.attempts, rec->job.cancel_requested, max_attempts);
  size_t len = queue_note_release(note, sizeof(note), &rec->job, reason, end);
  if ((error = end_lease(s, id, end, reason, 0, now)) == 0)
    error = note_in_log(s, id, note, len);
  changed = 1;
done:
  return end_with_job(out, s, id, rec, changed, error);
}

typedef struct expired_row {
  char *id;
  char *agent;
  unsigned attempts;
  int cancel;
} expired_row;

static int sqlite_expire(queue_expire_result *out, queue_store *base, int64_t now,
                         unsigned max_attempts) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *sel = NULL;
  queue_expire_result res = {0, 0};
  expired_row *rows = NULL;
  size_t n = 0;
  int rc = SQLITE_DONE;
  int error = tx_begin(s);
  /* Collect first, then update: changing rows under an open scan of the same
   * index may skip some of them. What is left waits for the next pass. */
  if (error == 0)
    error = SQL_QUERY(&sel, s,
                      "SELECT id, attempts, cancel_requested, agent FROM jobs"
                      " WHERE state = 'running' AND lease_expires < ?1 LIMIT ?2",
                      V_INT(now), V_INT(EXPIRE_BATCH));
  if (error == 0 && !(rows = calloc(EXPIRE_BATCH, sizeof(*rows))))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  while (error == 0 && n < EXPIRE_BATCH && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
    expired_row *row = &rows[n++];
    row->id = sql_column_strdup(sel, 0);
    row->attempts = (unsigned)sqlite3_column_int(sel, 1);
    row->cancel = sqlite3_column_int(sel, 2);
    row->agent = sql_column_strdup(sel, 3);
    if (!row->id)
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "scan expired leases");
  sql_release(s, sel);
  for (size_t i = 0; error == 0 && i < n; i++) {
    char note[QUEUE_NOTE_MAX];
    queue_lease_end end = queue_rule_lease_end(rows[i].attempts, rows[i].cancel, max_attempts);
    size_t len = queue_note_expire(note, sizeof(note), rows[i].attempts, rows[i].agent, end);
    if ((error = end_lease(s, rows[i].id, end, "agent_lost", 1, now)) == 0)
      error = note_in_log(s, rows[i].id, note, len);
    if (end == QUEUE_END_REQUEUED)
      res.requeued++;
    else if (end == QUEUE_END_ERRORED)
      res.lost++;
  }
  error = tx_end(s, error, 0);
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
  int rc = SQLITE_DONE;
  memset(&c, 0, sizeof(c));
  pthread_mutex_lock(&s->mu);
  int error = sql_query(&st, s, "SELECT state, count(*) FROM jobs GROUP BY state", NULL, 0);
  while (error == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
    queue_store_counts_add(&c, (const char *)sqlite3_column_text(st, 0),
                           (uint64_t)sqlite3_column_int64(st, 1));
  if (error == 0 && rc != SQLITE_DONE)
    error = sqlite_store_error(s, "count jobs");
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0)
    return error;
  *out = c;
  return 0;
}

/* ---- retention ---- */

#define FINAL_STATES "state IN ('passed', 'failed', 'errored', 'canceled')"

/* Removes, inside the caller's transaction, the finished jobs sql lists (id,
 * log_size; oldest first) with their logs — with a cap (> 0), only until
 * their logs add up to excess bytes. */
static int prune_listed(queue_prune_result *res, sqlite_store *s, const char *sql, sql_value a,
                        sql_value b, uint64_t excess) {
  sqlite3_stmt *st = NULL;
  char **ids = NULL;
  size_t n = 0, max = (size_t)b.i;
  uint64_t bytes = 0;
  int rc = SQLITE_DONE;
  int error = sql_query(&st, s, sql, (const sql_value[]){a, b}, 2);
  if (error == 0 && !(ids = calloc(max ? max : 1, sizeof(*ids))))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  /* collect, then delete: not under an open scan of the same table */
  while (error == 0 && n < max && (!excess || bytes < excess) &&
         (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!(ids[n] = sql_column_strdup(st, 0)))
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
    bytes += (uint64_t)sqlite3_column_int64(st, 1);
    n++;
  }
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "scan finished jobs");
  sql_release(s, st);
  for (size_t i = 0; error >= 0 && i < n; i++)
    if ((error = SQL_EXEC(s, "prune log", "DELETE FROM logs WHERE job = ?1", V_TEXT(ids[i]))) >= 0)
      error = SQL_EXEC(s, "prune job", "DELETE FROM jobs WHERE id = ?1", V_TEXT(ids[i]));
  if (error >= 0) {
    res->jobs += n;
    res->bytes += bytes;
    error = 0;
  }
  for (size_t i = 0; ids && i < n; i++)
    free(ids[i]);
  free(ids);
  return error;
}

static int sqlite_prune(queue_prune_result *out, queue_store *base, int64_t finished_before,
                        uint64_t log_bytes_cap, unsigned batch) {
  sqlite_store *s = (sqlite_store *)base;
  queue_prune_result res = {0, 0};
  sqlite3_stmt *st = NULL;
  int error = tx_begin(s);
  if (error == 0 && finished_before > 0)
    error = prune_listed(&res, s,
                         "SELECT id, log_size FROM jobs WHERE finished_at < ?1 AND " FINAL_STATES
                         " ORDER BY finished_at LIMIT ?2",
                         V_INT(finished_before), V_INT(batch), 0);
  if (error == 0 && log_bytes_cap > 0 && res.jobs < batch &&
      (error = sql_query(&st, s, "SELECT coalesce(sum(log_size), 0) FROM jobs", NULL, 0)) == 0) {
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sql_release(s, st);
    if (total > (int64_t)log_bytes_cap)
      error = prune_listed(&res, s,
                           "SELECT id, log_size FROM jobs WHERE " FINAL_STATES " AND log_size > ?1"
                           " ORDER BY finished_at, seq LIMIT ?2",
                           V_INT(0), V_INT(batch - res.jobs), (uint64_t)total - log_bytes_cap);
  }
  error = tx_end(s, error, 0);
  if (error < 0)
    return error;
  *out = res;
  return 0;
}

/* ---- tokens ---- */

static int sqlite_token_add(queue_store *base, const char *token_id, const char *role,
                            const unsigned char hash[32], int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  int error = tx_begin(s);
  if (error == 0)
    error = SQL_EXEC(s, "store token",
                     "INSERT INTO tokens (id, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                     V_TEXT(token_id), V_TEXT(role), V_BLOB(hash, 32), V_INT(now));
  if (error == AIRGAP_EEXISTS)
    airgap_error_set(AIRGAP_EEXISTS, "token id %s exists already", token_id);
  return tx_end(s, error, 1);
}

static int sqlite_token_get(char **out_role, unsigned char out_hash[32], queue_store *base,
                            const char *token_id) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  pthread_mutex_lock(&s->mu);
  int error = SQL_QUERY(&st, s, "SELECT role, hash FROM tokens WHERE id = ?1", V_TEXT(token_id));
  int rc = error == 0 ? sqlite3_step(st) : SQLITE_ERROR;
  char *role = NULL;
  if (error < 0) {
    /* recorded by sql_query */
  } else if (rc == SQLITE_DONE)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "unknown token");
  else if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 1) != 32)
    error = sqlite_store_error(s, "read token");
  else if (!(role = sql_column_strdup(st, 0)))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  else {
    memcpy(out_hash, sqlite3_column_blob(st, 1), 32);
    *out_role = role;
  }
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  return error;
}

/* ---- open / close ---- */

static void sqlite_close(queue_store *base) { sqlite_store_free((sqlite_store *)base); }

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
    .prune = sqlite_prune,
    .job_retry = sqlite_job_retry,
    .agent_seen = sqlite_agent_seen,
    .agent_touch = sqlite_agent_touch,
    .agent_list = sqlite_agent_list,
    .agent_drain = sqlite_agent_drain,
    .queued_groups = sqlite_queued_groups,
    .log_times = sqlite_log_times,
    .durable_wait = sqlite_store_durable_wait,
};

int queue_store_open_sqlite(queue_store **out, const char *data_dir, int sync_normal) {
  sqlite_store *s = NULL;
  int error = sqlite_store_open(&s, data_dir, sync_normal, &sqlite_ops);
  if (error < 0)
    return error;
  *out = &s->base;
  return 0;
}

void queue_store_close(queue_store *store) {
  if (store)
    store->ops->close(store);
}
