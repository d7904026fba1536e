/*
 * store_pg.c — the queue's PostgreSQL storage: the operations of
 * queue_store_ops on a database that several queue servers share. The
 * connection pool, statements, migrations and LISTEN/NOTIFY are in
 * store_pg_db.c; the decisions any store makes alike (states, leases,
 * repeated reports, labels, log notes and the cap) in store_rules.c, so the
 * semantics and error codes are SQLite's.
 *
 * Concurrency. Each operation is one transaction (a single statement where
 * it can be). A lease is one UPDATE of the oldest queued job whose labels are
 * a subset of the agent's (`labels <@ $agents::text[]`), picked with
 * FOR UPDATE SKIP LOCKED: concurrent leases on any server take different
 * jobs and never wait on each other. Operations on one job lock its row
 * first (SELECT … FOR UPDATE), so the rules see the state they change. Lease
 * expiry and retention also SKIP LOCKED and re-check their conditions under
 * the row lock, so every server may run them at once without double
 * effects; the log-size cap, which decides from a total, runs on one server
 * at a time (a transaction-scoped advisory lock that the others skip).
 *
 * Wake-ups. Whatever makes a job leasable NOTIFYs airgap_jobs, whatever
 * changes a job's log or state NOTIFYs airgap_logs with the job id, inside
 * the transaction: PostgreSQL delivers them at commit to every server.
 */
#include "queue/store_pg_int.h"
#include "common/dynbuf.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPIRE_BATCH 1000
#define LOG_READ_CHUNKS 64
#define PRUNE_CAP_LOCK 0x61697270 /* "airp" */

#define JOB_COLUMNS PG_JOB_COLUMNS

#define NOTIFY_LOG "SELECT pg_notify('airgap_logs', $1)"
#define NOTIFY_JOBS "SELECT pg_notify('airgap_jobs', '')"

int pg_record_from_row(queue_record **out, const PGresult *r, int row) {
  queue_record *rec = calloc(1, sizeof(*rec));
  if (!rec)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  rec->seq = pg_int(r, row, 0);
  rec->job.id = pg_strdup(r, row, 1);
  rec->job.state = pg_strdup(r, row, 2);
  rec->job.spec_json = pg_strdup(r, row, 3);
  rec->job.reason = pg_strdup(r, row, 4);
  if (!PQgetisnull(r, row, 5)) {
    rec->job.has_exit_code = 1;
    rec->job.exit_code = (int)pg_int(r, row, 5);
  }
  rec->job.attempts = (unsigned)pg_int(r, row, 6);
  rec->job.agent = pg_strdup(r, row, 7);
  rec->job.created_at = pg_int(r, row, 8);
  rec->job.started_at = pg_int(r, row, 9);
  rec->job.finished_at = pg_int(r, row, 10);
  rec->job.cancel_requested = (int)pg_int(r, row, 11);
  rec->job.log_size = (uint64_t)pg_int(r, row, 12);
  rec->job.lease = pg_strdup(r, row, 13);
  rec->lease_expires = pg_int(r, row, 14);
  rec->retry_of = pg_strdup(r, row, 15);
  rec->retried_by = pg_strdup(r, row, 16);
  if (!rec->job.id || !rec->job.state || !rec->job.spec_json) {
    queue_record_free(rec);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory reading a job");
  }
  *out = rec;
  return 0;
}

/* Reads one job; with lock, locks its row until the transaction ends. */
int pg_load_job(queue_record **out, pg_conn *c, const char *id, int lock) {
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  pg_arg_text(&a, id);
  int error = pg_exec(&r, c, "read job",
                      lock ? "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE"
                           : "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1",
                      &a);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
  else if (error > 0)
    error = pg_record_from_row(out, r, 0);
  PQclear(r);
  return error;
}

int pg_notify_log(pg_conn *c, const char *id) {
  pg_args a = {.n = 0};
  pg_arg_text(&a, id);
  int error = pg_exec(NULL, c, "notify", NOTIFY_LOG, &a);
  return error < 0 ? error : 0;
}

int pg_notify_jobs(pg_conn *c) {
  int error = pg_exec(NULL, c, "notify", NOTIFY_JOBS, NULL);
  return error < 0 ? error : 0;
}

/* Ends a transaction that answers with the job: reloads it when it changed,
 * commits, gives the connection back and hands the job to *out. */
static int end_with_job(queue_record **out, pg_store *s, pg_conn *c, const char *id,
                        queue_record *rec, int changed, int error) {
  if (error >= 0 && changed) {
    queue_record_free(rec);
    rec = NULL;
    if ((error = pg_notify_log(c, id)) == 0)
      error = pg_load_job(&rec, c, id, 0);
  }
  error = pg_end(c, error);
  pg_conn_put(s, c);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

/* Begins a transaction on a pooled connection and locks job id's row. */
static int begin_with_job(pg_conn **out_c, queue_record **out, pg_store *s, const char *id) {
  pg_conn *c = NULL;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  if ((error = pg_begin(c)) == 0)
    error = pg_load_job(out, c, id, 1);
  *out_c = c; /* given back by end_with_job or the caller, whatever happened */
  return error;
}

/* labels as a PostgreSQL array literal: {"a","b"} (labels hold no quote or
 * backslash: the spec allows [A-Za-z0-9._:=-]). */
int pg_labels_array(dynbuf *out, const char *const *labels, size_t n) {
  dynbuf_puts(out, "{");
  for (size_t i = 0; i < n; i++) {
    if (strpbrk(labels[i], "\"\\{},"))
      return airgap_error_set(AIRGAP_EINVALID, "label '%s' has a character labels may not hold",
                              labels[i]);
    dynbuf_printf(out, "%s\"%s\"", i ? "," : "", labels[i]);
  }
  dynbuf_puts(out, "}");
  return dynbuf_failed(out) ? airgap_error_set(AIRGAP_ERROR, "queue store: labels too long") : 0;
}

/* ---- jobs ---- */

static int pg_job_get(queue_record **out, queue_store *base, const char *id) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  error = pg_load_job(out, c, id, 0);
  pg_conn_put(s, c);
  return error;
}

static int pg_job_cancel(queue_record **out, queue_store *base, const char *id, int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *rec = NULL;
  pg_args a = {.n = 0};
  int error = begin_with_job(&c, &rec, s, id);
  if (error < 0)
    goto done;
  pg_arg_text(&a, id);
  if (queue_state_is_final(rec->job.state)) {
    error = airgap_error_set(AIRGAP_EBUSY, "job %s has ended already (%s)", id, rec->job.state);
  } else if (strcmp(rec->job.state, "queued") == 0) {
    pg_arg_int(&a, now);
    error = pg_exec(NULL, c, "cancel job",
                    "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = $2,"
                    " cancel_requested = 1 WHERE id = $1",
                    &a);
  } else {
    error =
        pg_exec(NULL, c, "cancel job", "UPDATE jobs SET cancel_requested = 1 WHERE id = $1", &a);
  }
done:
  if (!c)
    return error;
  return end_with_job(out, s, c, id, rec, 1, error);
}

static int pg_lease(queue_record **out, queue_store *base, const char *agent,
                    const char *const *labels, size_t label_count, const char *lease_id,
                    int64_t expires, int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  dynbuf arr;
  pg_args a = {.n = 0};
  dynbuf_init(&arr, 64 * 1024);
  int error = pg_labels_array(&arr, labels, label_count);
  if (error == 0)
    error = pg_conn_get(&c, s);
  if (error < 0)
    goto cleanup;
  pg_arg_text(&a, agent);
  pg_arg_text(&a, lease_id);
  pg_arg_int(&a, expires);
  pg_arg_int(&a, now);
  pg_arg_text(&a, arr.data);
  error = pg_exec(&r, c, "lease job",
                  "UPDATE jobs SET state = 'running', agent = $1, lease = $2,"
                  " lease_expires = $3, attempts = attempts + 1, started_at = $4,"
                  " log_received = 0 WHERE seq = (SELECT seq FROM jobs WHERE state = 'queued'"
                  " AND labels <@ $5::text[] ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                  " AND state = 'queued' RETURNING " JOB_COLUMNS,
                  &a);
  if (error == 0)
    error = AIRGAP_ENOTFOUND; /* the normal "nothing to do"; no message needed */
  else if (error > 0)
    error = pg_record_from_row(out, r, 0);
cleanup:
  PQclear(r);
  pg_conn_put(s, c);
  dynbuf_free(&arr);
  return error;
}

static int pg_heartbeat(int *out_cancel, queue_store *base, const char *id, const char *lease_id,
                        int64_t expires) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *rec = NULL;
  pg_args a = {.n = 0};
  int error = begin_with_job(&c, &rec, s, id);
  if (error == 0 && (error = queue_rule_lease_current(&rec->job, lease_id)) == 0) {
    pg_arg_text(&a, id);
    pg_arg_int(&a, expires);
    error = pg_exec(NULL, c, "heartbeat", "UPDATE jobs SET lease_expires = $2 WHERE id = $1", &a);
  }
  if (c) {
    error = pg_end(c, error);
    pg_conn_put(s, c);
  }
  if (error == 0)
    *out_cancel = rec->job.cancel_requested;
  queue_record_free(rec);
  return error;
}

/* ---- logs ---- */

static int insert_chunk(pg_conn *c, const char *id, uint64_t start, const char *data, size_t len) {
  pg_args a = {.n = 0};
  pg_arg_text(&a, id);
  pg_arg_int(&a, (int64_t)start);
  pg_arg_int(&a, (int64_t)(start + len));
  pg_arg_blob(&a, data, len);
  pg_arg_int(&a, queue_now_ms()); /* when it was stored: the web UI's line timestamps */
  int error = pg_exec(NULL, c, "store log chunk",
                      "INSERT INTO logs (job, start_at, end_at, data, at_ms)"
                      " VALUES ($1, $2, $3, $4, $5)",
                      &a);
  return error < 0 ? error : 0;
}

static int read_log_state(queue_log_state *out, pg_conn *c, const char *id) {
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  pg_arg_text(&a, id);
  int error = pg_exec(&r, c, "read log state",
                      "SELECT log_received, log_size, log_truncated FROM jobs WHERE id = $1", &a);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
  if (error > 0) {
    out->received = (uint64_t)pg_int(r, 0, 0);
    out->size = (uint64_t)pg_int(r, 0, 1);
    out->truncated = (int)pg_int(r, 0, 2);
    error = 0;
  }
  PQclear(r);
  return error;
}

static int write_log_state(pg_conn *c, const char *id, const queue_log_state *ls) {
  pg_args a = {.n = 0};
  pg_arg_text(&a, id);
  pg_arg_int(&a, (int64_t)ls->received);
  pg_arg_int(&a, (int64_t)ls->size);
  pg_arg_int(&a, ls->truncated);
  int error = pg_exec(NULL, c, "update log state",
                      "UPDATE jobs SET log_received = $2, log_size = $3, log_truncated = $4"
                      " WHERE id = $1",
                      &a);
  return error < 0 ? error : 0;
}

/* Appends an agent-independent note to the stored log (see store_sqlite.c). */
static int note_in_log(pg_conn *c, const char *id, const char *note, size_t len) {
  queue_log_state ls = {0, 0, 0};
  pg_args a = {.n = 0};
  int error = read_log_state(&ls, c, id);
  if (error < 0 || ls.truncated || len == 0)
    return error;
  if ((error = insert_chunk(c, id, ls.size, note, len)) < 0)
    return error;
  pg_arg_text(&a, id);
  pg_arg_int(&a, (int64_t)len);
  error =
      pg_exec(NULL, c, "note in log", "UPDATE jobs SET log_size = log_size + $2 WHERE id = $1", &a);
  return error < 0 ? error : 0;
}

/* queue_log_apply's insert, for this store. */
typedef struct chunk_target {
  pg_conn *c;
  const char *id;
} chunk_target;

static int insert_into(void *payload, uint64_t start, const char *data, size_t len) {
  chunk_target *t = payload;
  return insert_chunk(t->c, t->id, start, data, len);
}

static int pg_log_append(queue_log_ack *out, queue_store *base, const char *id,
                         const char *lease_id, uint64_t offset, const char *data, size_t len,
                         uint64_t cap) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *rec = NULL;
  queue_log_state ls = {0, 0, 0};
  uint64_t stored = 0;
  int error = begin_with_job(&c, &rec, s, id);
  if (error < 0 || (error = queue_rule_lease_current(&rec->job, lease_id)) < 0 ||
      (error = read_log_state(&ls, c, id)) < 0)
    goto done;
  uint64_t before = ls.received;
  chunk_target target = {c, id};
  if ((error = queue_log_apply(&stored, &ls, offset, data, len, cap, insert_into, &target)) == 0 &&
      ls.received != before && (error = write_log_state(c, id, &ls)) == 0 && stored > 0)
    error = pg_notify_log(c, id);
done:
  if (c) {
    error = pg_end(c, error);
    pg_conn_put(s, c);
  }
  queue_record_free(rec);
  out->received = ls.received;
  out->stored = error < 0 ? 0 : stored;
  return error;
}

static int pg_log_read(size_t *out_len, int *out_final, queue_store *base, const char *id,
                       uint64_t offset, char *buf, size_t max) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  size_t n = 0;
  int final = 0;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, id);
  /* the state first: bytes that arrive between the reads only lengthen the answer */
  error = pg_exec(&r, c, "read job state", "SELECT state FROM jobs WHERE id = $1", &a);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
  if (error < 0)
    goto cleanup;
  final = queue_state_is_final(PQgetvalue(r, 0, 0));
  PQclear(r);
  r = NULL;
  pg_arg_int(&a, (int64_t)offset);
  error = pg_exec(&r, c, "read log",
                  "SELECT start_at, data FROM logs WHERE job = $1 AND end_at > $2"
                  " ORDER BY end_at LIMIT 64",
                  &a);
  if (error < 0)
    goto cleanup;
  error = 0;
  uint64_t pos = offset;
  for (int i = 0; n < max && i < PQntuples(r); i++) {
    uint64_t start = (uint64_t)pg_int(r, i, 0);
    size_t len = 0;
    unsigned char *data = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 1), &len);
    if (!data) {
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory reading a log");
      break;
    }
    if (start > pos || pos - start > len) {
      PQfreemem(data);
      break; /* cannot happen: chunks are contiguous */
    }
    size_t skip = (size_t)(pos - start);
    size_t take = len - skip;
    if (take > max - n)
      take = max - n;
    memcpy(buf + n, data + skip, take);
    PQfreemem(data);
    n += take;
    pos += take;
  }
cleanup:
  PQclear(r);
  pg_conn_put(s, c);
  if (error < 0)
    return error;
  *out_len = n;
  *out_final = final;
  return 0;
}

/* ---- final status, release, expiry ---- */

static int pg_complete(queue_record **out, queue_store *base, const char *id, const char *lease_id,
                       const char *status, const char *reason, int has_exit_code, int exit_code,
                       int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *rec = NULL;
  pg_args a = {.n = 0};
  char what[96];
  int changed = 0;
  int error = begin_with_job(&c, &rec, s, id);
  if (error < 0 || queue_rule_complete_repeated(&rec->job, lease_id, status))
    goto done; /* a retried report: answer as the first time */
  snprintf(what, sizeof(what), "report job %s as %s", id, status);
  if ((error = queue_rule_may_complete(rec, lease_id, what)) < 0)
    goto done;
  pg_arg_text(&a, id);
  pg_arg_text(&a, status);
  pg_arg_text(&a, reason);
  if (has_exit_code)
    pg_arg_int(&a, exit_code);
  else
    pg_arg_text(&a, NULL);
  pg_arg_int(&a, now);
  error = pg_exec(NULL, c, "complete job",
                  "UPDATE jobs SET state = $2, reason = $3, exit_code = $4::integer,"
                  " finished_at = $5, lease_expires = NULL WHERE id = $1",
                  &a);
  if (error >= 0 && strcmp(rec->job.state, "queued") == 0) {
    char note[QUEUE_NOTE_MAX];
    error = note_in_log(c, id, note, queue_note_late_result(note, sizeof(note), &rec->job, status));
  }
  changed = 1;
done:
  if (!c)
    return error;
  return end_with_job(out, s, c, id, rec, changed, error);
}

/* Moves a running job where end says, inside the caller's transaction (see
 * store_sqlite.c's end_lease: the lease id stays on a requeued job). */
static int end_lease(pg_conn *c, const char *id, queue_lease_end end, const char *reason,
                     int expired, int64_t now) {
  pg_args a = {.n = 0};
  int error;
  pg_arg_text(&a, id);
  if (end == QUEUE_END_CANCELED) {
    pg_arg_int(&a, now);
    error = pg_exec(NULL, c, "end lease",
                    "UPDATE jobs SET state = 'canceled', reason = 'canceled', finished_at = $2,"
                    " lease_expires = NULL WHERE id = $1",
                    &a);
  } else if (end == QUEUE_END_ERRORED) {
    pg_arg_int(&a, now);
    pg_arg_text(&a, reason);
    error = pg_exec(NULL, c, "end lease",
                    "UPDATE jobs SET state = 'errored', reason = $3, finished_at = $2,"
                    " lease_expires = NULL WHERE id = $1",
                    &a);
  } else {
    error =
        pg_exec(NULL, c, "end lease",
                expired ? "UPDATE jobs SET state = 'queued' WHERE id = $1"
                        : "UPDATE jobs SET state = 'queued', lease_expires = NULL WHERE id = $1",
                &a);
    if (error >= 0)
      error = pg_notify_jobs(c);
  }
  return error < 0 ? error : 0;
}

static int pg_release(queue_record **out, queue_store *base, const char *id, const char *lease_id,
                      const char *reason, unsigned max_attempts, int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *rec = NULL;
  char what[64], note[QUEUE_NOTE_MAX];
  int changed = 0;
  int error = begin_with_job(&c, &rec, s, id);
  if (error < 0 || queue_rule_release_repeated(rec, lease_id, reason))
    goto done;
  snprintf(what, sizeof(what), "hand job %s back", id);
  if ((error = queue_rule_may_end(&rec->job, lease_id, what)) < 0)
    goto done;
  queue_lease_end end =
      queue_rule_lease_end(rec->job.attempts, rec->job.cancel_requested, max_attempts);
  size_t len = queue_note_release(note, sizeof(note), &rec->job, reason, end);
  if ((error = end_lease(c, id, end, reason, 0, now)) == 0)
    error = note_in_log(c, id, note, len);
  changed = 1;
done:
  if (!c)
    return error;
  return end_with_job(out, s, c, id, rec, changed, error);
}

static int pg_expire(queue_expire_result *out, queue_store *base, int64_t now,
                     unsigned max_attempts) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  queue_expire_result res = {0, 0};
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  if ((error = pg_begin(c)) < 0)
    goto done;
  /* rows another server is expiring (or a heartbeat is renewing) are
   * skipped; the rest are re-checked under their lock */
  pg_arg_int(&a, now);
  pg_arg_int(&a, EXPIRE_BATCH);
  error = pg_exec(&r, c, "scan expired leases",
                  "SELECT id, attempts, cancel_requested, agent FROM jobs"
                  " WHERE state = 'running' AND lease_expires < $1 ORDER BY lease_expires"
                  " LIMIT $2 FOR UPDATE SKIP LOCKED",
                  &a);
  if (error < 0)
    goto done;
  error = 0;
  for (int i = 0; error == 0 && i < PQntuples(r); i++) {
    char note[QUEUE_NOTE_MAX];
    const char *id = PQgetvalue(r, i, 0);
    unsigned attempts = (unsigned)pg_int(r, i, 1);
    queue_lease_end end = queue_rule_lease_end(attempts, (int)pg_int(r, i, 2), max_attempts);
    size_t len = queue_note_expire(note, sizeof(note), attempts,
                                   PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3), end);
    if ((error = end_lease(c, id, end, "agent_lost", 1, now)) == 0 &&
        (error = note_in_log(c, id, note, len)) == 0)
      error = pg_notify_log(c, id);
    if (end == QUEUE_END_REQUEUED)
      res.requeued++;
    else if (end == QUEUE_END_ERRORED)
      res.lost++;
  }
done:
  PQclear(r);
  error = pg_end(c, error);
  pg_conn_put(s, c);
  if (error < 0)
    return error;
  *out = res;
  return 0;
}

static int pg_counts(queue_store_counts *out, queue_store *base) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  queue_store_counts counts;
  memset(&counts, 0, sizeof(counts));
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  error = pg_exec(&r, c, "count jobs", "SELECT state, count(*) FROM jobs GROUP BY state", NULL);
  pg_conn_put(s, c);
  for (int i = 0; error > 0 && i < PQntuples(r); i++)
    queue_store_counts_add(&counts, PQgetvalue(r, i, 0), (uint64_t)pg_int(r, i, 1));
  PQclear(r);
  if (error < 0)
    return error;
  *out = counts;
  return 0;
}

/* ---- retention ---- */

#define FINAL_STATES "state IN ('passed', 'failed', 'errored', 'canceled')"

/* Deletes the jobs (and their logs) that select_sql picks; select_sql lists
 * seq and id of finished jobs with FOR UPDATE SKIP LOCKED. */
static int prune_by(queue_prune_result *res, pg_conn *c, const char *sql, const pg_args *a) {
  PGresult *r = NULL;
  int error = pg_exec(&r, c, "prune jobs", sql, a);
  if (error > 0) {
    res->jobs += (size_t)pg_int(r, 0, 0);
    res->bytes += (uint64_t)pg_int(r, 0, 1);
    error = 0;
  }
  PQclear(r);
  return error;
}

static int pg_prune(queue_prune_result *out, queue_store *base, int64_t finished_before,
                    uint64_t log_bytes_cap, unsigned batch) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  queue_prune_result res = {0, 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  if (finished_before > 0) {
    pg_args a = {.n = 0};
    pg_arg_int(&a, finished_before);
    pg_arg_int(&a, batch);
    error = prune_by(&res, c,
                     "WITH doomed AS (SELECT seq FROM jobs WHERE finished_at < $1 AND " FINAL_STATES
                     " ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
                     " gone AS (DELETE FROM jobs j USING doomed d WHERE j.seq = d.seq"
                     " RETURNING j.id, j.log_size),"
                     " logs_gone AS (DELETE FROM logs l USING gone g WHERE l.job = g.id)"
                     " SELECT count(*), coalesce(sum(log_size), 0) FROM gone",
                     &a);
  }
  if (error == 0 && log_bytes_cap > 0 && res.jobs < batch) {
    /* the cap decides from a total: one server at a time (the others skip) */
    pg_args a = {.n = 0};
    int64_t total = 0;
    if ((error = pg_begin(c)) < 0)
      goto done;
    pg_arg_int(&a, PRUNE_CAP_LOCK);
    error = pg_exec(&r, c, "lock for retention",
                    "SELECT pg_try_advisory_xact_lock($1), (SELECT coalesce(sum(log_size), 0)"
                    " FROM jobs)",
                    &a);
    if (error > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0 &&
        (total = pg_int(r, 0, 1)) > (int64_t)log_bytes_cap) {
      /* the oldest finished jobs whose logs, added up, cover the excess */
      a.n = 0;
      pg_arg_int(&a, total - (int64_t)log_bytes_cap);
      pg_arg_int(&a, batch - res.jobs);
      error = prune_by(&res, c,
                       "WITH oldest AS (SELECT seq, sum(log_size) OVER (ORDER BY finished_at, seq)"
                       " - log_size AS before FROM jobs WHERE " FINAL_STATES " AND log_size > 0"
                       " ORDER BY finished_at, seq LIMIT $2),"
                       " doomed AS (SELECT seq FROM oldest WHERE before < $1),"
                       " gone AS (DELETE FROM jobs j USING doomed d WHERE j.seq = d.seq"
                       " RETURNING j.id, j.log_size),"
                       " logs_gone AS (DELETE FROM logs l USING gone g WHERE l.job = g.id)"
                       " SELECT count(*), coalesce(sum(log_size), 0) FROM gone",
                       &a);
    }
    error = pg_end(c, error < 0 ? error : 0);
  }
done:
  PQclear(r);
  pg_conn_put(s, c);
  if (error < 0)
    return error;
  *out = res;
  return 0;
}

/* ---- tokens ---- */

static int pg_token_add(queue_store *base, const char *token_id, const char *role,
                        const unsigned char hash[32], int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, token_id);
  pg_arg_text(&a, role);
  pg_arg_blob(&a, hash, 32);
  pg_arg_int(&a, now);
  error = pg_exec(NULL, c, "store token",
                  "INSERT INTO tokens (id, role, hash, created_at) VALUES ($1, $2, $3, $4)", &a);
  if (error == AIRGAP_EEXISTS)
    airgap_error_set(AIRGAP_EEXISTS, "token id %s exists already", token_id);
  pg_conn_put(s, c);
  return error < 0 ? error : 0;
}

static int pg_token_get(char **out_role, unsigned char out_hash[32], queue_store *base,
                        const char *token_id) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, token_id);
  error = pg_exec(&r, c, "read token", "SELECT role, hash FROM tokens WHERE id = $1", &a);
  pg_conn_put(s, c);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "unknown token");
  if (error > 0) {
    size_t len = 0;
    unsigned char *hash = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &len);
    char *role = pg_strdup(r, 0, 0);
    if (!hash || !role || len != 32) {
      error = airgap_error_set(AIRGAP_ERROR, "queue store: unreadable token %s", token_id);
      free(role);
    } else {
      memcpy(out_hash, hash, 32);
      *out_role = role;
      error = 0;
    }
    PQfreemem(hash);
  }
  PQclear(r);
  return error;
}

/* ---- open / close ---- */

static void pg_close(queue_store *base) { pg_store_free((pg_store *)base); }

static int pg_watch(queue_store *base, queue_store_watch_fn fn, void *payload) {
  return pg_store_watch_start((pg_store *)base, fn, payload);
}

static const queue_store_ops pg_ops = {
    .close = pg_close,
    .job_insert = pg_job_insert,
    .job_get = pg_job_get,
    .job_list = pg_job_list,
    .job_cancel = pg_job_cancel,
    .lease = pg_lease,
    .heartbeat = pg_heartbeat,
    .complete = pg_complete,
    .release = pg_release,
    .log_append = pg_log_append,
    .log_read = pg_log_read,
    .expire = pg_expire,
    .counts = pg_counts,
    .token_add = pg_token_add,
    .token_get = pg_token_get,
    .prune = pg_prune,
    .watch = pg_watch,
    .job_retry = pg_job_retry,
    .agent_seen = pg_agent_seen,
    .agent_touch = pg_agent_touch,
    .agent_list = pg_agent_list,
    .agent_drain = pg_agent_drain,
    .queued_groups = pg_queued_groups,
    .log_times = pg_log_times,
};

int queue_store_open_pg(queue_store **out, const char *url, size_t pool_size) {
  pg_store *s = NULL;
  int error = pg_store_open(&s, url, pool_size, &pg_ops);
  if (error < 0)
    return error;
  *out = &s->base;
  return 0;
}
