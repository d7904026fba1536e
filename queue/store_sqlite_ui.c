/*
 * store_sqlite_ui.c — the SQLite store's operations that the web UI and the
 * listing API lean on: inserting a job with what its listing indexes (its
 * repository, the text a search matches, one job_labels row per label),
 * filtered listings, retries, the agent registry and the queued jobs by
 * label set.
 *
 * A listing page must cost the same on page 1 and page 2,000 of a 100,000-job
 * queue, so each filter walks an index newest first from the cursor and stops
 * after `limit` rows: job_labels (label, seq) for a label, jobs (repo, seq)
 * for a repository, jobs (state, seq) for a state, the primary key otherwise.
 * SQLite plans a statement once, when it is prepared, so each of those four
 * is its own statement; the other filters are checked on the rows walked.
 * The cursor is always a bound of the index range (the newest page's is
 * INT64_MAX), never an `OR` that would make SQLite walk from the top.
 */
#include "queue/store_sqlite_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* Inserts a queued job and its label rows; caller is inside a transaction. */
static int insert_job(sqlite_store *s, const char *id, const char *spec_json, const char *joined,
                      const char *retry_of, int64_t now) {
  char *repo = NULL, *search = NULL;
  int error = queue_spec_index(&repo, &search, id, spec_json);
  if (error < 0)
    return error;
  error = SQL_EXEC(s, "insert job",
                   "INSERT INTO jobs (id, state, spec, labels, created_at, repo, search, retry_of)"
                   " VALUES (?1, 'queued', ?2, ?3, ?4, ?5, ?6, ?7)",
                   V_TEXT(id), V_TEXT(spec_json), V_TEXT(joined), V_INT(now), V_TEXT(repo),
                   V_TEXT(search), V_TEXT(retry_of));
  if (error == AIRGAP_EEXISTS)
    airgap_error_set(AIRGAP_EEXISTS, "job '%s' exists already", id);
  int64_t seq = sqlite3_last_insert_rowid(s->db);
  for (const char *p = joined; error >= 0 && *p;) {
    size_t len = strcspn(p, "\n");
    char label[QUEUE_MAX_LABEL + 1];
    if (len > QUEUE_MAX_LABEL) {
      error = airgap_error_set(AIRGAP_EINVALID, "job %s: a label is too long", id);
      break;
    }
    memcpy(label, p, len);
    label[len] = '\0';
    const char *lp = label;
    error = SQL_EXEC(s, "insert job label",
                     "INSERT OR IGNORE INTO job_labels (label, seq) VALUES (?1, ?2)", V_TEXT(lp),
                     V_INT(seq));
    p += len + (p[len] == '\n');
  }
  free(repo);
  free(search);
  return error < 0 ? error : 0;
}

int sqlite_job_insert(queue_store *base, const char *id, const char *spec_json,
                      const char *const *labels, size_t label_count, int64_t now,
                      queue_store_committed_fn committed, void *payload) {
  sqlite_store *s = (sqlite_store *)base;
  char *joined = NULL;
  int error = queue_labels_join(&joined, labels, label_count);
  if (error < 0)
    return error;
  if ((error = tx_begin(s)) == 0)
    error = insert_job(s, id, spec_json, joined, NULL, now);
  error = tx_end_then(s, error, 1, committed, payload);
  free(joined);
  return error;
}

#define LIST_FILTERS                                                                               \
  " AND seq < ?2 AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR repo = ?4)"                     \
  " AND (?5 IS NULL OR instr(search, ?5) > 0) ORDER BY seq DESC LIMIT ?6"

int sqlite_job_list(queue_record ***out, size_t *out_count, queue_store *base,
                    const queue_job_filter *f) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_record **recs = NULL;
  size_t n = 0;
  unsigned limit = f->limit ? f->limit : 1;
  int rc = SQLITE_DONE;
  char *text = NULL;
  if (f->text && !(text = strdup(f->text)))
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  for (char *p = text; p && *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  recs = calloc(limit, sizeof(*recs));
  if (!recs) {
    free(text);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  /* ?1 picks the index (see the top of this file); the rest filter */
  const char *sql =
      f->label   ? "SELECT " SQLITE_JOB_COLUMNS " FROM job_labels CROSS JOIN jobs USING (seq)"
                   " WHERE label = ?1" LIST_FILTERS
      : f->repo  ? "SELECT " SQLITE_JOB_COLUMNS " FROM jobs WHERE repo = ?1" LIST_FILTERS
      : f->state ? "SELECT " SQLITE_JOB_COLUMNS " FROM jobs WHERE state = ?1" LIST_FILTERS
                 : "SELECT " SQLITE_JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL" LIST_FILTERS;
  const char *first = f->label ? f->label : f->repo ? f->repo : f->state;
  pthread_mutex_lock(&s->mu);
  int error = SQL_QUERY(&st, s, sql, V_TEXT(first), V_INT(f->before > 0 ? f->before : INT64_MAX),
                        V_TEXT(f->state), V_TEXT(f->repo), V_TEXT(text), V_INT(limit));
  while (error == 0 && n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
    if ((error = sqlite_record_from_row(&recs[n], st)) == 0)
      n++;
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "list jobs");
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  free(text);
  if (error < 0) {
    queue_record_list_free(recs, n);
    return error;
  }
  *out = recs;
  *out_count = n;
  return 0;
}

int sqlite_job_retry(queue_record **out, queue_store *base, const char *id, const char *new_id,
                     int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  queue_record *old = NULL, *rec = NULL;
  sqlite3_stmt *st = NULL;
  char *joined = NULL;
  int error = tx_begin(s);
  if (error == 0)
    error = sqlite_load_job(&old, s, id);
  if (error < 0)
    goto done;
  if (!queue_state_is_final(old->job.state)) {
    error = airgap_error_set(AIRGAP_EBUSY, "job %s has not ended (%s): cancel it first", id,
                             old->job.state);
    goto done;
  }
  if (old->retried_by) {
    error = airgap_error_set(AIRGAP_EBUSY, "job %s was retried already as %s", id, old->retried_by);
    goto done;
  }
  if ((error = SQL_QUERY(&st, s, "SELECT labels FROM jobs WHERE id = ?1", V_TEXT(id))) < 0)
    goto done;
  if (sqlite3_step(st) != SQLITE_ROW || !(joined = sql_column_strdup(st, 0)))
    error = sqlite_store_error(s, "read job labels");
  sql_release(s, st);
  if (error < 0 || (error = insert_job(s, new_id, old->job.spec_json, joined, id, now)) < 0)
    goto done;
  error = SQL_EXEC(s, "link retry", "UPDATE jobs SET retried_by = ?2 WHERE id = ?1", V_TEXT(id),
                   V_TEXT(new_id));
  if (error >= 0)
    error = sqlite_load_job(&rec, s, new_id);
done:
  error = tx_end(s, error, 1);
  queue_record_free(old);
  free(joined);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

/* ---- the agent registry ---- */

/* The registry entry as it is: 1 when a poll at now would change nothing
 * but last_seen, and last_seen is recent (*out_drained set); 0 otherwise.
 * Caller holds mu. */
static int agent_current(int *out_drained, sqlite_store *s, const char *name, const char *labels,
                         const char *version, unsigned slots, int64_t now) {
  sqlite3_stmt *st = NULL;
  int current = 0;
  if (SQL_QUERY(&st, s,
                "SELECT labels, version, slots, last_seen, drained FROM agents WHERE name = ?1",
                V_TEXT(name)) < 0)
    return 0; /* the write below says what is wrong */
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *l = (const char *)sqlite3_column_text(st, 0);
    const char *v = (const char *)sqlite3_column_text(st, 1);
    current = l && strcmp(l, labels) == 0 && (!version || (v && strcmp(v, version) == 0)) &&
              (slots == 0 || (unsigned)sqlite3_column_int64(st, 2) == slots) &&
              now - sqlite3_column_int64(st, 3) < QUEUE_AGENT_SEEN_REFRESH_MS &&
              now >= sqlite3_column_int64(st, 3);
    if (current)
      *out_drained = sqlite3_column_int(st, 4);
  }
  sql_release(s, st);
  return current;
}

int sqlite_agent_seen(int *out_drained, queue_store *base, const char *name, const char *labels,
                      const char *version, unsigned slots, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  /* Every lease request comes here: a read answers most of them, so that a
   * write transaction (a WAL frame and the write lock) is spent only on a
   * change or on a last_seen older than QUEUE_AGENT_SEEN_REFRESH_MS. */
  pthread_mutex_lock(&s->mu);
  int current = agent_current(out_drained, s, name, labels, version, slots, now);
  pthread_mutex_unlock(&s->mu);
  if (current)
    return 0;
  int error = tx_begin(s);
  if (error == 0)
    error = SQL_EXEC(s, "register agent",
                     "INSERT INTO agents (name, labels, version, slots, first_seen, last_seen)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (name) DO UPDATE SET"
                     " labels = excluded.labels, version = coalesce(excluded.version, version),"
                     " slots = CASE WHEN excluded.slots > 0 THEN excluded.slots ELSE slots END,"
                     " last_seen = excluded.last_seen",
                     V_TEXT(name), V_TEXT(labels), V_TEXT(version), V_INT(slots), V_INT(now));
  if (error >= 0 && (error = SQL_QUERY(&st, s, "SELECT drained FROM agents WHERE name = ?1",
                                       V_TEXT(name))) == 0) {
    if (sqlite3_step(st) == SQLITE_ROW)
      *out_drained = sqlite3_column_int(st, 0);
    else
      error = sqlite_store_error(s, "read agent");
    sql_release(s, st);
  }
  /* not durable: a registry entry lost in a power cut comes back at the next poll */
  return tx_end(s, error < 0 ? error : 0, 0);
}

int sqlite_agent_touch(queue_store *base, const char *job_id, int64_t now) {
  sqlite_store *s = (sqlite_store *)base;
  int error = tx_begin(s);
  if (error == 0)
    error = SQL_EXEC(s, "refresh agent",
                     "UPDATE agents SET last_seen = ?2 WHERE last_seen < ?2 AND"
                     " name = (SELECT agent FROM jobs WHERE id = ?1)",
                     V_TEXT(job_id), V_INT(now));
  return tx_end(s, error < 0 ? error : 0, 0);
}

int sqlite_agent_list(queue_agent **out, size_t *out_count, queue_store *base) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_agent *agents = calloc(QUEUE_MAX_AGENTS, sizeof(*agents));
  size_t n = 0;
  int rc = SQLITE_DONE;
  if (!agents)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  pthread_mutex_lock(&s->mu);
  int error = SQL_QUERY(&st, s,
                        "SELECT name, labels, version, slots, first_seen, last_seen, drained"
                        " FROM agents ORDER BY last_seen DESC, name LIMIT ?1",
                        V_INT(QUEUE_MAX_AGENTS));
  while (error == 0 && n < QUEUE_MAX_AGENTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    queue_agent *a = &agents[n++];
    a->name = sql_column_strdup(st, 0);
    a->labels = sql_column_strdup(st, 1);
    a->version = sql_column_strdup(st, 2);
    a->slots = (unsigned)sqlite3_column_int(st, 3);
    a->first_seen = sqlite3_column_int64(st, 4);
    a->last_seen = sqlite3_column_int64(st, 5);
    a->drained = sqlite3_column_int(st, 6);
    if (!a->name || !a->labels)
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "list agents");
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0) {
    queue_agent_list_free(agents, n);
    return error;
  }
  *out = agents;
  *out_count = n;
  return 0;
}

int sqlite_agent_drain(queue_store *base, const char *name, int drained) {
  sqlite_store *s = (sqlite_store *)base;
  int error = tx_begin(s);
  if (error == 0)
    error = SQL_EXEC(s, "drain agent", "UPDATE agents SET drained = ?2 WHERE name = ?1",
                     V_TEXT(name), V_INT(drained ? 1 : 0));
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no agent '%s'", name);
  return tx_end(s, error < 0 ? error : 0, 1);
}

int sqlite_queued_groups(queue_label_group **out, size_t *out_count, queue_store *base) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  queue_label_group *groups = calloc(QUEUE_MAX_GROUPS, sizeof(*groups));
  size_t n = 0;
  int rc = SQLITE_DONE;
  if (!groups)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  pthread_mutex_lock(&s->mu);
  int error = SQL_QUERY(&st, s,
                        "SELECT labels, count(*), min(created_at) FROM jobs WHERE state = 'queued'"
                        " GROUP BY labels ORDER BY count(*) DESC, labels LIMIT ?1",
                        V_INT(QUEUE_MAX_GROUPS));
  while (error == 0 && n < QUEUE_MAX_GROUPS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    queue_label_group *g = &groups[n++];
    g->labels = sql_column_strdup(st, 0);
    g->count = (uint64_t)sqlite3_column_int64(st, 1);
    g->oldest = sqlite3_column_int64(st, 2);
    if (!g->labels)
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "group queued jobs");
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error < 0) {
    queue_label_groups_free(groups, n);
    return error;
  }
  *out = groups;
  *out_count = n;
  return 0;
}

int sqlite_log_times(queue_log_time *out, size_t *out_count, queue_store *base, const char *id,
                     uint64_t offset, size_t max) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = NULL;
  size_t n = 0;
  int rc = SQLITE_DONE;
  pthread_mutex_lock(&s->mu);
  int error = SQL_QUERY(&st, s, "SELECT 1 FROM jobs WHERE id = ?1", V_TEXT(id));
  if (error == 0) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
      error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
    else if (rc != SQLITE_ROW)
      error = sqlite_store_error(s, "read job");
    sql_release(s, st);
    st = NULL;
  }
  if (error == 0)
    error = SQL_QUERY(&st, s,
                      "SELECT start, coalesce(at, 0) FROM logs WHERE job = ?1 AND end > ?2"
                      " ORDER BY end LIMIT ?3",
                      V_TEXT(id), V_INT(offset), V_INT(max));
  while (error == 0 && n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    out[n].start = (uint64_t)sqlite3_column_int64(st, 0);
    out[n].at = sqlite3_column_int64(st, 1);
    n++;
  }
  if (error == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
    error = sqlite_store_error(s, "read log times");
  sql_release(s, st);
  pthread_mutex_unlock(&s->mu);
  if (error == 0)
    *out_count = n;
  return error;
}
