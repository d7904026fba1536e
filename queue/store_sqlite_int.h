/*
 * store_sqlite_int.h — the SQLite store's connection layer (store_sqlite_db.c),
 * shared with its operations (store_sqlite.c) only.
 *
 * Every operation takes one of two shapes:
 *
 *   write:  tx_begin(s); …statements…; return tx_end(s, error, durable);
 *   read:   pthread_mutex_lock(&s->mu); …queries…; pthread_mutex_unlock(&s->mu);
 *
 * and runs its statements through sql_exec (no rows) or sql_query (rows),
 * which prepare through a cache of compiled statements and bind values given
 * inline: SQL_EXEC(s, "what", "UPDATE … ?1 … ?2", V_TEXT(id), V_INT(now)).
 */
#ifndef AIRGAP_QUEUE_STORE_SQLITE_INT_H
#define AIRGAP_QUEUE_STORE_SQLITE_INT_H

#include "queue/store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define STMT_CACHE_SIZE 72

typedef struct sqlite_store {
  queue_store base;
  sqlite3 *db;
  pthread_mutex_t mu; /* the connection, the cache, commits */
  int sync_normal;
  int wal_fd;
  uint64_t commits; /* durable commits made (written under mu, read atomically) */
  /* group commit (under sync_mu) */
  pthread_mutex_t sync_mu;
  pthread_cond_t sync_cond;
  uint64_t synced; /* commits known to be on disk */
  int syncing;     /* an fdatasync is under way */
  /* checkpoints off the request path (under ckpt_mu; see store_sqlite_db.c) */
  sqlite3 *ckpt_db; /* the checkpointer's own connection */
  pthread_t ckpt_thread;
  int ckpt_started;
  int ckpt_stop;
  int wal_pages;   /* frames in the WAL after the last commit */
  int ckpt_copied; /* of those, copied into the database by the last checkpoint */
  pthread_mutex_t ckpt_mu;
  pthread_cond_t ckpt_cond;
  /* prepared statements kept for reuse (under mu), keyed by their SQL text */
  struct cached_stmt {
    const char *sql;
    sqlite3_stmt *st;
    int in_use;
  } cache[STMT_CACHE_SIZE];
} sqlite_store;

/* One value bound to a statement parameter (?1, ?2, … in order). */
typedef struct sql_value {
  enum { SQL_NULL, SQL_TEXT, SQL_INT, SQL_BLOB } type;
  const void *p; /* text (NUL-terminated) or blob bytes */
  int64_t i;     /* the integer, or the blob's length */
} sql_value;

#define V_TEXT(s) ((sql_value){(s) ? SQL_TEXT : SQL_NULL, (s), 0})
#define V_INT(v) ((sql_value){SQL_INT, NULL, (int64_t)(v)})
#define V_BLOB(data, len) ((sql_value){SQL_BLOB, (data), (int64_t)(len)})
#define SQL_VALUES(...)                                                                            \
  (const sql_value[]){__VA_ARGS__}, sizeof((const sql_value[]){__VA_ARGS__}) / sizeof(sql_value)

/* Opens (creating) DIR/queue.db with the schema, WAL and our own descriptor
 * of the WAL for group commit. ops becomes the handle's table. */
int sqlite_store_open(sqlite_store **out, const char *data_dir, int sync_normal,
                      const queue_store_ops *ops);
void sqlite_store_free(sqlite_store *s);

/* Records "queue store: what: <SQLite's message>" and returns -1. */
int sqlite_store_error(sqlite_store *s, const char *what);

/* Hands out the prepared statement for sql with values bound, for reading
 * rows with sqlite3_step; give it back with sql_release(). Caller holds mu. */
int sql_query(sqlite3_stmt **out, sqlite_store *s, const char *sql, const sql_value *values,
              size_t count);
#define SQL_QUERY(out, s, sql, ...) sql_query(out, s, sql, SQL_VALUES(__VA_ARGS__))

/* Returns a statement from sql_query: reset and unbound for its next use.
 * Accepts NULL. */
void sql_release(sqlite_store *s, sqlite3_stmt *st);

/* Runs a statement that returns no rows. Returns the number of rows it
 * changed, AIRGAP_EEXISTS when it broke a uniqueness constraint, -1 on other
 * failures (message names what). Caller holds mu. */
int sql_exec(sqlite_store *s, const char *what, const char *sql, const sql_value *values,
             size_t count);
#define SQL_EXEC(s, what, sql, ...) sql_exec(s, what, sql, SQL_VALUES(__VA_ARGS__))

/* Takes mu and opens a write transaction (BEGIN IMMEDIATE: the write lock up
 * front, so two writers never deadlock upgrading a read lock). mu is held
 * whatever it returns: always finish with tx_end(). */
int tx_begin(sqlite_store *s);

/* Commits when error is >= 0, else rolls back; releases mu; with durable,
 * waits until the commit is on disk (group commit, see store_sqlite_db.c).
 * Returns 0, error, or the commit's or the sync's failure. */
int tx_end(sqlite_store *s, int error, int durable);
/* queue_store_ops.durable_wait: the group commit's wait for a ticket. */
int sqlite_store_durable_wait(queue_store *base, uint64_t ticket);
/* tx_end, calling committed (when not NULL and the commit succeeded) after mu
 * is released and before the wait for durability. */
int tx_end_then(sqlite_store *s, int error, int durable, queue_store_committed_fn committed,
                void *payload);

/* A text column as a new string (NULL for SQL NULL or out of memory). */
char *sql_column_strdup(sqlite3_stmt *st, int i);

/* ---- shared by store_sqlite.c and store_sqlite_ui.c (caller holds mu) ---- */

#define SQLITE_JOB_COLUMNS                                                                         \
  "seq, id, state, spec, reason, exit_code, attempts, agent, created_at, started_at,"              \
  " finished_at, cancel_requested, log_size, lease, lease_expires, retry_of, retried_by"

/* A row of SQLITE_JOB_COLUMNS as a new record. */
int sqlite_record_from_row(queue_record **out, sqlite3_stmt *st);
/* Reads job id. AIRGAP_ENOTFOUND when there is none. */
int sqlite_load_job(queue_record **out, sqlite_store *s, const char *id);

/* The operations of store_sqlite_ui.c (see queue_store_ops). */
int sqlite_job_insert(queue_store *base, const char *id, const char *spec_json,
                      const char *const *labels, size_t label_count, int64_t now,
                      queue_store_committed_fn committed, void *payload);
int sqlite_job_list(queue_record ***out, size_t *out_count, queue_store *base,
                    const queue_job_filter *filter);
int sqlite_job_retry(queue_record **out, queue_store *base, const char *id, const char *new_id,
                     int64_t now);
int sqlite_agent_seen(int *out_drained, queue_store *base, const char *name, const char *labels,
                      const char *version, unsigned slots, int64_t now);
int sqlite_agent_touch(queue_store *base, const char *job_id, int64_t now);
int sqlite_agent_list(queue_agent **out, size_t *out_count, queue_store *base);
int sqlite_agent_drain(queue_store *base, const char *name, int drained);
int sqlite_queued_groups(queue_label_group **out, size_t *out_count, queue_store *base);
int sqlite_log_times(queue_log_time *out, size_t *out_count, queue_store *base, const char *id,
                     uint64_t offset, size_t max);

#endif
