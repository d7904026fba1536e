/*
 * store_pg_int.h — the PostgreSQL store's connection layer (store_pg_db.c),
 * shared with its operations (store_pg.c) only.
 *
 * A pool of connections: an operation takes one (pg_conn_get), runs its
 * statements with bound parameters (pg_exec; never text spliced into SQL),
 * usually between pg_begin and pg_end, and gives it back (pg_conn_put). A
 * connection found broken is reconnected on its next use, with a backoff
 * shared by the pool so that a database that is down is not hammered; while
 * it is down every operation fails at once with QUEUE_STORE_EUNAVAILABLE.
 */
#ifndef AIRGAP_QUEUE_STORE_PG_INT_H
#define AIRGAP_QUEUE_STORE_PG_INT_H

#include "queue/store_int.h"
#include "common/dynbuf.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PG_MAX_ARGS 12
#define PG_PREPARED_MAX 48

typedef struct pg_conn {
  PGconn *conn;
  int in_use;
  int pid; /* its backend's process id (under the pool's mu; 0: none) */
  /* statements prepared on this connection, by the address of their SQL
   * text (always a literal); forgotten when the connection is reset */
  const char *prepared[PG_PREPARED_MAX];
} pg_conn;

typedef struct pg_store {
  queue_store base;
  char *url;
  pthread_mutex_t mu; /* the pool and the backoff */
  pthread_cond_t cond;
  pg_conn *pool;
  size_t pool_size;
  uint64_t retry_at;   /* clock_monotonic_ms before which no reconnect is tried */
  unsigned backoff_ms; /* the next wait after a failed connect */
  /* LISTEN/NOTIFY (store_pg_db.c) */
  pthread_t listener;
  int listener_started;
  int stopping; /* under mu */
  int wake_fd[2];
  queue_store_watch_fn watch;
  void *watch_payload;
} pg_store;

/* Parameters of one statement, all sent as text except blobs (bytea, binary). */
typedef struct pg_args {
  const char *v[PG_MAX_ARGS];
  int len[PG_MAX_ARGS];
  int fmt[PG_MAX_ARGS];
  char num[PG_MAX_ARGS][24];
  int n;
} pg_args;

void pg_arg_text(pg_args *a, const char *s); /* NULL: SQL NULL */
void pg_arg_int(pg_args *a, int64_t v);
void pg_arg_blob(pg_args *a, const void *data, size_t len);

int pg_store_open(pg_store **out, const char *url, size_t pool_size, const queue_store_ops *ops);
void pg_store_free(pg_store *s);

/* Starts the listener thread that calls fn (see queue_store_watch). */
int pg_store_watch_start(pg_store *s, queue_store_watch_fn fn, void *payload);

/* Takes a connection from the pool (waiting for a free one), reconnecting it
 * when broken. QUEUE_STORE_EUNAVAILABLE when the database cannot be reached. */
int pg_conn_get(pg_conn **out, pg_store *s);
/* Gives it back; a connection left inside a transaction is rolled back. */
void pg_conn_put(pg_store *s, pg_conn *c);

/* Runs sql with args. *out (may be NULL) gets the result (PQclear it).
 * Returns the rows changed or returned (>= 0), AIRGAP_EEXISTS for a broken
 * unique constraint, QUEUE_STORE_EUNAVAILABLE when the connection is lost,
 * -1 otherwise (message names what). */
int pg_exec(PGresult **out, pg_conn *c, const char *what, const char *sql, const pg_args *args);

/* BEGIN; and COMMIT (error >= 0) or ROLLBACK. pg_end returns 0, error, or the
 * commit's failure. */
int pg_begin(pg_conn *c);
int pg_end(pg_conn *c, int error);

/* Column helpers on a text-format result. */
int64_t pg_int(const PGresult *r, int row, int col);  /* 0 for NULL */
char *pg_strdup(const PGresult *r, int row, int col); /* NULL for NULL */

/* ---- shared by store_pg.c and store_pg_ui.c ---- */

#define PG_JOB_COLUMNS                                                                             \
  "seq, id, state, spec, reason, exit_code, attempts, agent, created_at, started_at,"              \
  " finished_at, cancel_requested, log_size, lease, lease_expires, retry_of, retried_by"

/* Row of a PG_JOB_COLUMNS result as a new record. */
int pg_record_from_row(queue_record **out, const PGresult *r, int row);
/* Reads one job; with lock, locks its row until the transaction ends. */
int pg_load_job(queue_record **out, pg_conn *c, const char *id, int lock);
/* NOTIFY airgap_logs (id) and airgap_jobs, delivered at commit. */
int pg_notify_log(pg_conn *c, const char *id);
int pg_notify_jobs(pg_conn *c);
/* labels as a PostgreSQL array literal. */
int pg_labels_array(dynbuf *out, const char *const *labels, size_t n);

/* The operations of store_pg_ui.c (see queue_store_ops). */
int pg_job_insert(queue_store *base, const char *id, const char *spec_json,
                  const char *const *labels, size_t label_count, int64_t now,
                  queue_store_committed_fn committed, void *payload);
int pg_job_list(queue_record ***out, size_t *out_count, queue_store *base,
                const queue_job_filter *filter);
int pg_job_retry(queue_record **out, queue_store *base, const char *id, const char *new_id,
                 int64_t now);
int pg_agent_seen(int *out_drained, queue_store *base, const char *name, const char *labels,
                  const char *version, unsigned slots, int64_t now);
int pg_agent_touch(queue_store *base, const char *job_id, int64_t now);
int pg_agent_list(queue_agent **out, size_t *out_count, queue_store *base);
int pg_agent_drain(queue_store *base, const char *name, int drained);
int pg_queued_groups(queue_label_group **out, size_t *out_count, queue_store *base);
int pg_log_times(queue_log_time *out, size_t *out_count, queue_store *base, const char *id,
                 uint64_t offset, size_t max);

#endif
