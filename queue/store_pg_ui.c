/*
 * store_pg_ui.c — the PostgreSQL store's operations that the web UI and the
 * listing API lean on: inserting a job with what its listing indexes (its
 * repository, the text a search matches, one job_labels row per label),
 * filtered listings, retries, the agent registry and the queued jobs by label
 * set. The SQLite store does the same in store_sqlite_ui.c.
 *
 * Each filter walks its own index newest first from the cursor (job_labels
 * (label, seq), jobs (repo, seq), jobs (state, seq), the primary key), so a
 * page costs the same at any depth; a statement per index, because a
 * prepared statement keeps the plan it got for its first parameters.
 */
#include "queue/store_pg_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

int pg_job_insert(queue_store *base, const char *id, const char *spec_json,
                  const char *const *labels, size_t label_count, int64_t now,
                  queue_store_committed_fn committed, void *payload) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  dynbuf arr;
  pg_args a = {.n = 0};
  char *repo = NULL, *search = NULL;
  dynbuf_init(&arr, 64 * 1024);
  int error = pg_labels_array(&arr, labels, label_count);
  if (error == 0)
    error = queue_spec_index(&repo, &search, id, spec_json);
  if (error == 0)
    error = pg_conn_get(&c, s);
  if (error < 0)
    goto cleanup;
  pg_arg_text(&a, id);
  pg_arg_text(&a, spec_json);
  pg_arg_text(&a, arr.data);
  pg_arg_int(&a, now);
  pg_arg_text(&a, repo);
  pg_arg_text(&a, search);
  /* one statement, so one transaction; the NOTIFY is delivered at its commit */
  error =
      pg_exec(NULL, c, "insert job",
              "WITH ins AS (INSERT INTO jobs (id, state, spec, labels, created_at, repo, search)"
              " VALUES ($1, 'queued', $2, $3::text[], $4, $5, $6) RETURNING seq),"
              " lab AS (INSERT INTO job_labels (label, seq)"
              " SELECT DISTINCT unnest($3::text[]), seq FROM ins)"
              " SELECT pg_notify('airgap_jobs', '') FROM ins",
              &a);
  if (error == AIRGAP_EEXISTS)
    airgap_error_set(AIRGAP_EEXISTS, "job '%s' exists already", id);
  if (error >= 0 && committed)
    committed(payload); /* PostgreSQL's commit is durable already */
cleanup:
  pg_conn_put(s, c);
  dynbuf_free(&arr);
  free(repo);
  free(search);
  return error < 0 ? error : 0;
}

#define LIST_FILTERS                                                                               \
  " AND seq < $2 AND ($3::text IS NULL OR state = $3)"                                             \
  " AND ($4::text IS NULL OR repo = $4) AND ($5::text IS NULL OR strpos(search, $5) > 0)"          \
  " ORDER BY seq DESC LIMIT $6"

int pg_job_list(queue_record ***out, size_t *out_count, queue_store *base,
                const queue_job_filter *f) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  queue_record **recs = NULL;
  pg_args a = {.n = 0};
  size_t n = 0;
  unsigned limit = f->limit ? f->limit : 1;
  char *text = NULL;
  if (f->text && !(text = strdup(f->text)))
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  for (char *p = text; p && *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  const char *sql = f->label   ? "SELECT " PG_JOB_COLUMNS " FROM job_labels JOIN jobs USING (seq)"
                                 " WHERE label = $1" LIST_FILTERS
                    : f->repo  ? "SELECT " PG_JOB_COLUMNS " FROM jobs WHERE repo = $1" LIST_FILTERS
                    : f->state ? "SELECT " PG_JOB_COLUMNS " FROM jobs WHERE state = $1" LIST_FILTERS
                               : "SELECT " PG_JOB_COLUMNS
                                 " FROM jobs WHERE $1::text IS NULL" LIST_FILTERS;
  int error = pg_conn_get(&c, s);
  if (error < 0) {
    free(text);
    return error;
  }
  pg_arg_text(&a, f->label ? f->label : f->repo ? f->repo : f->state);
  pg_arg_int(&a, f->before > 0 ? f->before : INT64_MAX); /* a bound of the index range */
  pg_arg_text(&a, f->state);
  pg_arg_text(&a, f->repo);
  pg_arg_text(&a, text);
  pg_arg_int(&a, limit);
  error = pg_exec(&r, c, "list jobs", sql, &a);
  pg_conn_put(s, c);
  free(text);
  if (error < 0)
    return error;
  error = 0;
  if (!(recs = calloc(limit, sizeof(*recs))))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  for (int i = 0; error == 0 && i < PQntuples(r) && n < limit; i++)
    if ((error = pg_record_from_row(&recs[n], r, i)) == 0)
      n++;
  PQclear(r);
  if (error < 0) {
    queue_record_list_free(recs, n);
    return error;
  }
  *out = recs;
  *out_count = n;
  return 0;
}

int pg_job_retry(queue_record **out, queue_store *base, const char *id, const char *new_id,
                 int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  queue_record *old = NULL, *rec = NULL;
  char *repo = NULL, *search = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  if ((error = pg_begin(c)) == 0)
    error = pg_load_job(&old, c, id, 1);
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
  if ((error = queue_spec_index(&repo, &search, new_id, old->job.spec_json)) < 0)
    goto done;
  pg_arg_text(&a, id);
  pg_arg_text(&a, new_id);
  pg_arg_int(&a, now);
  pg_arg_text(&a, search);
  error =
      pg_exec(NULL, c, "retry job",
              "WITH ins AS (INSERT INTO jobs (id, state, spec, labels, created_at, repo, search,"
              " retry_of) SELECT $2, 'queued', spec, labels, $3, repo, $4, id FROM jobs"
              " WHERE id = $1 RETURNING seq, labels),"
              " lab AS (INSERT INTO job_labels (label, seq)"
              " SELECT DISTINCT unnest(labels), seq FROM ins)"
              " UPDATE jobs SET retried_by = $2 WHERE id = $1",
              &a);
  if (error == AIRGAP_EEXISTS)
    airgap_error_set(AIRGAP_EEXISTS, "job '%s' exists already", new_id);
  if (error >= 0 && (error = pg_notify_jobs(c)) == 0 && (error = pg_notify_log(c, id)) == 0)
    error = pg_load_job(&rec, c, new_id, 0);
done:
  error = pg_end(c, error < 0 ? error : 0);
  pg_conn_put(s, c);
  queue_record_free(old);
  free(repo);
  free(search);
  if (error < 0) {
    queue_record_free(rec);
    return error;
  }
  *out = rec;
  return 0;
}

/* ---- the agent registry ---- */

int pg_agent_seen(int *out_drained, queue_store *base, const char *name, const char *labels,
                  const char *version, unsigned slots, int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, name);
  pg_arg_text(&a, labels);
  pg_arg_text(&a, version);
  pg_arg_int(&a, slots);
  pg_arg_int(&a, now);
  /* Like SQLite's: no new row version when nothing changed and last_seen is
   * recent ($6, see QUEUE_AGENT_SEEN_REFRESH_MS); the drained flag then comes
   * from the row as it is (the statement's snapshot, before any insert). */
  pg_arg_int(&a, QUEUE_AGENT_SEEN_REFRESH_MS);
  error = pg_exec(&r, c, "register agent",
                  "WITH up AS (INSERT INTO agents (name, labels, version, slots, first_seen,"
                  " last_seen) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO UPDATE SET"
                  " labels = excluded.labels,"
                  " version = coalesce(excluded.version, agents.version),"
                  " slots = CASE WHEN excluded.slots > 0 THEN excluded.slots ELSE agents.slots END,"
                  " last_seen = excluded.last_seen"
                  " WHERE agents.labels IS DISTINCT FROM excluded.labels"
                  " OR (excluded.version IS NOT NULL AND"
                  " agents.version IS DISTINCT FROM excluded.version)"
                  " OR (excluded.slots > 0 AND agents.slots <> excluded.slots)"
                  " OR excluded.last_seen - agents.last_seen >= $6::bigint"
                  " OR excluded.last_seen < agents.last_seen"
                  " RETURNING drained)"
                  " SELECT drained FROM up UNION ALL"
                  " SELECT drained FROM agents WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM up)",
                  &a);
  pg_conn_put(s, c);
  if (error > 0)
    *out_drained = (int)pg_int(r, 0, 0);
  PQclear(r);
  return error < 0 ? error : 0;
}

int pg_agent_touch(queue_store *base, const char *job_id, int64_t now) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, job_id);
  pg_arg_int(&a, now);
  error = pg_exec(NULL, c, "refresh agent",
                  "UPDATE agents SET last_seen = $2 WHERE last_seen < $2 AND"
                  " name = (SELECT agent FROM jobs WHERE id = $1)",
                  &a);
  pg_conn_put(s, c);
  return error < 0 ? error : 0;
}

int pg_agent_list(queue_agent **out, size_t *out_count, queue_store *base) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  queue_agent *agents = NULL;
  size_t n = 0;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_int(&a, QUEUE_MAX_AGENTS);
  error = pg_exec(&r, c, "list agents",
                  "SELECT name, labels, version, slots, first_seen, last_seen, drained"
                  " FROM agents ORDER BY last_seen DESC, name LIMIT $1",
                  &a);
  pg_conn_put(s, c);
  if (error < 0)
    return error;
  error = 0;
  if (!(agents = calloc(QUEUE_MAX_AGENTS, sizeof(*agents))))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  for (int i = 0; error == 0 && i < PQntuples(r) && n < QUEUE_MAX_AGENTS; i++) {
    queue_agent *ag = &agents[n++];
    ag->name = pg_strdup(r, i, 0);
    ag->labels = pg_strdup(r, i, 1);
    ag->version = pg_strdup(r, i, 2);
    ag->slots = (unsigned)pg_int(r, i, 3);
    ag->first_seen = pg_int(r, i, 4);
    ag->last_seen = pg_int(r, i, 5);
    ag->drained = (int)pg_int(r, i, 6);
    if (!ag->name || !ag->labels)
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  PQclear(r);
  if (error < 0) {
    queue_agent_list_free(agents, n);
    return error;
  }
  *out = agents;
  *out_count = n;
  return 0;
}

int pg_agent_drain(queue_store *base, const char *name, int drained) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  pg_args a = {.n = 0};
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, name);
  pg_arg_int(&a, drained ? 1 : 0);
  error = pg_exec(NULL, c, "drain agent", "UPDATE agents SET drained = $2 WHERE name = $1", &a);
  /* a resumed agent parked on another server may now take a job */
  if (error > 0 && !drained && pg_notify_jobs(c) < 0)
    error = -1;
  pg_conn_put(s, c);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no agent '%s'", name);
  return error < 0 ? error : 0;
}

int pg_queued_groups(queue_label_group **out, size_t *out_count, queue_store *base) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  queue_label_group *groups = NULL;
  size_t n = 0;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_int(&a, QUEUE_MAX_GROUPS);
  error = pg_exec(&r, c, "group queued jobs",
                  "SELECT array_to_string(labels, chr(10)) AS l, count(*), min(created_at)"
                  " FROM jobs WHERE state = 'queued' GROUP BY l ORDER BY count(*) DESC, l"
                  " LIMIT $1",
                  &a);
  pg_conn_put(s, c);
  if (error < 0)
    return error;
  error = 0;
  if (!(groups = calloc(QUEUE_MAX_GROUPS, sizeof(*groups))))
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  for (int i = 0; error == 0 && i < PQntuples(r) && n < QUEUE_MAX_GROUPS; i++) {
    queue_label_group *g = &groups[n++];
    g->labels = pg_strdup(r, i, 0);
    g->count = (uint64_t)pg_int(r, i, 1);
    g->oldest = pg_int(r, i, 2);
    if (!g->labels)
      error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  }
  PQclear(r);
  if (error < 0) {
    queue_label_groups_free(groups, n);
    return error;
  }
  *out = groups;
  *out_count = n;
  return 0;
}

int pg_log_times(queue_log_time *out, size_t *out_count, queue_store *base, const char *id,
                 uint64_t offset, size_t max) {
  pg_store *s = (pg_store *)base;
  pg_conn *c = NULL;
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  size_t n = 0;
  int error = pg_conn_get(&c, s);
  if (error < 0)
    return error;
  pg_arg_text(&a, id);
  error = pg_exec(NULL, c, "read job", "SELECT 1 FROM jobs WHERE id = $1", &a);
  if (error == 0)
    error = airgap_error_set(AIRGAP_ENOTFOUND, "no job '%s'", id);
  if (error > 0) {
    pg_arg_int(&a, (int64_t)offset);
    pg_arg_int(&a, (int64_t)max);
    error = pg_exec(&r, c, "read log times",
                    "SELECT start_at, coalesce(at_ms, 0) FROM logs WHERE job = $1 AND end_at > $2"
                    " ORDER BY end_at LIMIT $3",
                    &a);
  }
  pg_conn_put(s, c);
  for (int i = 0; error >= 0 && r && i < PQntuples(r) && n < max; i++) {
    out[n].start = (uint64_t)pg_int(r, i, 0);
    out[n].at = pg_int(r, i, 1);
    n++;
  }
  PQclear(r);
  if (error < 0)
    return error;
  *out_count = n;
  return 0;
}
