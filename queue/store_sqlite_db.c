/*
 * store_sqlite_db.c — the SQLite store's connection: opening the database
 * with its schema, the statement cache, statements with bound values,
 * transactions and group commit. The operations on jobs, logs and tokens are
 * in store_sqlite.c.
 *
 * Durability. Every write is one transaction opened with BEGIN IMMEDIATE and
 * committed before the caller answers. A commit reaches the WAL file with
 * write(2) and so survives `kill -9` of the server (the bytes are in the
 * kernel's page cache). Surviving a power loss needs an fsync of the WAL,
 * which is what synchronous=FULL does at every commit — and is most of the
 * cost of a commit. We run the connection with synchronous=NORMAL and make the
 * operations whose acknowledgement promises something (submission, cancel,
 * final status, release, token creation) durable ourselves, by group commit:
 * after its COMMIT such an operation waits until an fdatasync(2) of the WAL
 * that started after its commit has finished. Concurrent operations share one
 * fdatasync, and the next operations run meanwhile. A caller that defers
 * (queue_store_defer_begin: the server's flusher, server_flush.c) gets its
 * commit's ticket instead and waits for it elsewhere before it answers, so
 * no request thread is held by the disk. fdatasync of the WAL
 * covers every frame written before it, so ordering holds; checkpoints fsync
 * the WAL before and the database after copying (SQLite's NORMAL rules).
 * Leases, heartbeats, log chunks and lease expiry skip the wait: lost on a
 * power cut, their effect is that a job runs again (at least once) or an agent
 * resends from the server's log offset — never a lost job. With sync_normal
 * the wait is skipped for everything: acknowledged jobs survive process
 * crashes, not power loss.
 *
 * Checkpoints. SQLite's own automatic checkpoint runs inside the COMMIT that
 * brings the WAL past 1,000 pages, on the committing connection: under the
 * store's mutex, with an fsync of the WAL and one of the database, every ~75
 * job cycles — every request waits behind it, and it made the longest lease
 * wake-ups. Here a thread of its own, on a second connection, runs PASSIVE
 * checkpoints (they never block the writer) once the WAL holds CKPT_PAGES
 * frames not yet copied, told by a WAL hook. A PASSIVE checkpoint that
 * overlapped commits leaves their frames, so the WAL cannot restart from its
 * beginning; should it grow past CKPT_GROWN_PAGES that way, the last frames
 * are copied under the mutex (a few pages: the rest is copied already).
 *
 * Concurrency. The server's threads share one connection behind a mutex:
 * SQLite serializes writers anyway, and one connection keeps the lease
 * transaction (find the oldest matching queued job, mark it running) trivially
 * atomic, so no two agents can ever get the same job. Other processes
 * (`airgap queue token create` while the server runs) are handled by the busy
 * timeout.
 */
#include "queue/store_sqlite_int.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Migration N brings the schema from version N-1 to N; append only. Migration
 * 1 is the schema of the releases before versioning, written with IF NOT
 * EXISTS so that it also adopts a database they created (no version table
 * yet). Migration 2 adds what retention reads: jobs by finish time. */
static const char *const MIGRATIONS[QUEUE_SQLITE_SCHEMA_VERSION] = {
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
    " id TEXT PRIMARY KEY, role TEXT NOT NULL, hash BLOB NOT NULL, created_at INTEGER NOT NULL);",
    "CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;",
    /* 3: what the web UI reads: jobs by repository and by label (keyset pages
     * on an index at any depth), the text a search matches, retries linked
     * both ways, the agent registry. Existing jobs are indexed here. */
    "ALTER TABLE jobs ADD COLUMN repo TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN search TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN retry_of TEXT;"
    "ALTER TABLE jobs ADD COLUMN retried_by TEXT;"
    "UPDATE jobs SET repo = coalesce(json_extract(spec, '$.repo'), ''),"
    " search = lower(id || char(10) || coalesce(json_extract(spec, '$.repo'), '') || char(10) ||"
    " coalesce(json_extract(spec, '$.ref'), '') || char(10) ||"
    " coalesce(json_extract(spec, '$.commit'), '') || char(10) ||"
    " coalesce(json_extract(spec, '$.image'), '') || char(10) ||"
    " coalesce(json_extract(spec, '$.script'), ''));"
    "CREATE INDEX jobs_by_repo ON jobs(repo, seq);"
    "CREATE TABLE job_labels (label TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (label, seq)) WITHOUT ROWID;"
    "CREATE INDEX job_labels_by_seq ON job_labels(seq);"
    "WITH RECURSIVE split(seq, label, rest) AS ("
    " SELECT seq, '', labels || char(10) FROM jobs WHERE labels <> ''"
    " UNION ALL SELECT seq, substr(rest, 1, instr(rest, char(10)) - 1),"
    " substr(rest, instr(rest, char(10)) + 1) FROM split WHERE rest <> '')"
    " INSERT OR IGNORE INTO job_labels (label, seq) SELECT label, seq FROM split"
    " WHERE label <> '';"
    "CREATE TRIGGER jobs_labels_gone AFTER DELETE ON jobs BEGIN"
    " DELETE FROM job_labels WHERE seq = old.seq; END;"
    "CREATE TABLE agents (name TEXT PRIMARY KEY, labels TEXT NOT NULL, version TEXT,"
    " slots INTEGER NOT NULL DEFAULT 0, first_seen INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, drained INTEGER NOT NULL DEFAULT 0);",
    /* 4: when each log chunk was stored (the web UI's line timestamps) */
    "ALTER TABLE logs ADD COLUMN at INTEGER;",
};

int sqlite_store_error(sqlite_store *s, const char *what) {
  return airgap_error_set(AIRGAP_ERROR, "queue store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec_script(sqlite_store *s, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int rc = airgap_error_set(AIRGAP_ERROR, "queue store: %s: %s", sql,
                              msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return rc;
  }
  return 0;
}

char *sql_column_strdup(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? strdup((const char *)t) : NULL;
}

/* Applies the migrations this database lacks, under the write lock (BEGIN
 * IMMEDIATE: a second process opening the same file waits), each with its
 * version row in one transaction. Refuses a database newer than this binary. */
static int migrate(sqlite_store *s) {
  sqlite3_stmt *st = NULL;
  int64_t version = 0;
  int error = exec_script(s, "BEGIN IMMEDIATE");
  if (error < 0)
    return error;
  if ((error = exec_script(
           s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")) < 0)
    goto done;
  if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW) {
    error = sqlite_store_error(s, "read the schema version");
    goto done;
  }
  version = sqlite3_column_int64(st, 0);
  if (version > QUEUE_SQLITE_SCHEMA_VERSION) {
    error = airgap_error_set(AIRGAP_ERROR,
                             "the queue database has schema version %lld, newer than this airgap "
                             "knows (%d): it was upgraded by a newer airgap; run that version "
                             "(or newer) instead",
                             (long long)version, QUEUE_SQLITE_SCHEMA_VERSION);
    goto done;
  }
  for (int64_t v = version + 1; error == 0 && v <= QUEUE_SQLITE_SCHEMA_VERSION; v++) {
    char row[96];
    snprintf(row, sizeof(row), "INSERT INTO schema_version (version) VALUES (%lld)",
             (long long)v); /* a number of ours, not input */
    if ((error = exec_script(s, MIGRATIONS[v - 1])) == 0)
      error = exec_script(s, row);
  }
done:
  sqlite3_finalize(st);
  if (exec_script(s, error < 0 ? "ROLLBACK" : "COMMIT") < 0 && error == 0)
    error = -1;
  return error;
}

/* ---- statements ---- */

/* Hands out a prepared statement for sql, reusing a cached one when free
 * (compiling SQL is a good part of a short transaction's cost). */
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
    return sqlite_store_error(s, "prepare");
  if (slot) {
    slot->sql = sql;
    slot->st = *out;
    slot->in_use = 1;
  }
  return 0;
}

void sql_release(sqlite_store *s, sqlite3_stmt *st) {
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

int sql_query(sqlite3_stmt **out, sqlite_store *s, const char *sql, const sql_value *values,
              size_t count) {
  sqlite3_stmt *st = NULL;
  int error = prepare(&st, s, sql);
  if (error < 0)
    return error;
  for (size_t i = 0; i < count; i++) {
    const sql_value *v = &values[i];
    int rc = SQLITE_OK, at = (int)i + 1;
    switch (v->type) {
    case SQL_NULL: rc = sqlite3_bind_null(st, at); break;
    case SQL_TEXT: rc = sqlite3_bind_text(st, at, v->p, -1, SQLITE_STATIC); break;
    case SQL_INT: rc = sqlite3_bind_int64(st, at, v->i); break;
    case SQL_BLOB: rc = sqlite3_bind_blob(st, at, v->p, (int)v->i, SQLITE_STATIC); break;
    }
    if (rc != SQLITE_OK) {
      error = sqlite_store_error(s, "bind");
      sql_release(s, st);
      return error;
    }
  }
  *out = st;
  return 0;
}

int sql_exec(sqlite_store *s, const char *what, const char *sql, const sql_value *values,
             size_t count) {
  sqlite3_stmt *st = NULL;
  int error = sql_query(&st, s, sql, values, count);
  if (error < 0)
    return error;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    error = sqlite3_changes(s->db);
  else if (rc == SQLITE_CONSTRAINT)
    error = airgap_error_set(AIRGAP_EEXISTS, "queue store: %s: %s", what, sqlite3_errmsg(s->db));
  else
    error = sqlite_store_error(s, what);
  sql_release(s, st);
  return error;
}

/* ---- transactions and group commit ---- */

static void rollback(sqlite_store *s) {
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int tx_begin(sqlite_store *s) {
  pthread_mutex_lock(&s->mu);
  int error = sql_exec(s, "begin", "BEGIN IMMEDIATE", NULL, 0);
  return error < 0 ? error : 0;
}

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
    /* Every commit counted so far is in the WAL already. Read without mu: a
     * transaction under way must not hold the flush back. */
    uint64_t target = __atomic_load_n(&s->commits, __ATOMIC_ACQUIRE);
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

int tx_end(sqlite_store *s, int error, int durable) {
  return tx_end_then(s, error, durable, NULL, NULL);
}

int tx_end_then(sqlite_store *s, int error, int durable, queue_store_committed_fn committed,
                void *payload) {
  uint64_t ticket = 0;
  if (error >= 0) {
    int rc = sql_exec(s, "commit", "COMMIT", NULL, 0);
    /* a failed COMMIT (disk full, I/O error) may leave the transaction open */
    if (rc < 0)
      error = rc;
    else if (durable)
      ticket = __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELEASE);
  }
  if (error < 0)
    rollback(s);
  pthread_mutex_unlock(&s->mu);
  if (error >= 0 && committed)
    committed(payload);
  /* With sync_normal nothing waits for the disk, and nothing is deferred:
   * the answer goes out from the request's thread. */
  if (error >= 0 && ticket && !s->sync_normal) {
    if (queue_store_deferring())
      queue_store_deferred(ticket); /* the caller waits (sqlite_store_durable_wait) */
    else
      error = make_durable(s, ticket);
  }
  return error < 0 ? error : 0;
}

int sqlite_store_durable_wait(queue_store *base, uint64_t ticket) {
  return make_durable((sqlite_store *)base, ticket);
}

/* ---- checkpoints (see the top comment) ---- */

#define CKPT_PAGES 1000       /* frames not yet copied that start a checkpoint */
#define CKPT_GROWN_PAGES 8000 /* a WAL this long is finished under the mutex (~32 MiB) */

/* After every commit of the main connection (mu held): how long the WAL is. */
static int on_wal_commit(void *payload, sqlite3 *db, const char *name, int pages) {
  sqlite_store *s = payload;
  (void)db;
  (void)name;
  pthread_mutex_lock(&s->ckpt_mu);
  if (pages < s->ckpt_copied)
    s->ckpt_copied = 0; /* the WAL started again from its beginning */
  s->wal_pages = pages;
  if (pages - s->ckpt_copied >= CKPT_PAGES)
    pthread_cond_signal(&s->ckpt_cond);
  pthread_mutex_unlock(&s->ckpt_mu);
  return SQLITE_OK;
}

static int checkpoint(sqlite_store *s, int *out_log, int *out_copied) {
  int rc =
      sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, out_log, out_copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    log_warn("queue", "checkpoint of the queue database: %s", sqlite3_errmsg(s->ckpt_db));
  return rc;
}

static void *checkpoint_main(void *arg) {
  sqlite_store *s = arg;
  pthread_mutex_lock(&s->ckpt_mu);
  for (;;) {
    while (!s->ckpt_stop && s->wal_pages - s->ckpt_copied < CKPT_PAGES)
      pthread_cond_wait(&s->ckpt_cond, &s->ckpt_mu);
    if (s->ckpt_stop)
      break;
    pthread_mutex_unlock(&s->ckpt_mu);
    int log = 0, copied = 0;
    int rc = checkpoint(s, &log, &copied);
    if (rc == SQLITE_OK && copied < log && log >= CKPT_GROWN_PAGES) {
      pthread_mutex_lock(&s->mu); /* no commit in between: the next write restarts the WAL */
      rc = checkpoint(s, &log, &copied);
      pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_lock(&s->ckpt_mu);
    if (rc == SQLITE_OK && copied <= s->wal_pages)
      s->ckpt_copied = copied;
    else if (rc != SQLITE_OK)
      s->ckpt_copied = s->wal_pages; /* not again before CKPT_PAGES more frames */
  }
  pthread_mutex_unlock(&s->ckpt_mu);
  return NULL;
}

/* ---- open / close ---- */

void sqlite_store_free(sqlite_store *s) {
  if (!s)
    return;
  if (s->ckpt_started) {
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_stop = 1;
    pthread_cond_signal(&s->ckpt_cond);
    pthread_mutex_unlock(&s->ckpt_mu);
    pthread_join(s->ckpt_thread, NULL);
  }
  for (size_t i = 0; i < STMT_CACHE_SIZE; i++)
    if (s->cache[i].st)
      sqlite3_finalize(s->cache[i].st);
  /* the main connection first: the checkpointer's, the last, then copies
   * what is left and removes the WAL */
  sqlite3_close(s->db);
  sqlite3_close(s->ckpt_db);
  if (s->wal_fd >= 0)
    close(s->wal_fd);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->sync_mu);
  pthread_cond_destroy(&s->sync_cond);
  pthread_mutex_destroy(&s->ckpt_mu);
  pthread_cond_destroy(&s->ckpt_cond);
  free(s);
}

int sqlite_store_open(sqlite_store **out, const char *data_dir, int sync_normal,
                      const queue_store_ops *ops) {
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
  s->base.ops = ops;
  s->sync_normal = sync_normal;
  s->wal_fd = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_mutex_init(&s->sync_mu, NULL);
  pthread_cond_init(&s->sync_cond, NULL);
  pthread_mutex_init(&s->ckpt_mu, NULL);
  pthread_cond_init(&s->ckpt_cond, NULL);
  if (sqlite3_open_v2(path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      NULL) != SQLITE_OK) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot open the queue database %s: %s", path,
                             s->db ? sqlite3_errmsg(s->db) : "out of memory");
    goto cleanup;
  }
  chmod(path, 0600); /* token hashes and secrets live here */
  sqlite3_busy_timeout(s->db, 10000);
  /* synchronous first: a new file's switch to WAL then costs no rollback
   * journal syncs (the directory sync below makes the files durable). */
  if ((error = exec_script(s, "PRAGMA synchronous = NORMAL")) < 0 || /* see make_durable() */
      (error = exec_script(s, "PRAGMA journal_mode = WAL")) < 0 || (error = migrate(s)) < 0)
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
  /* The checkpointer's connection; from here on the main one never
   * checkpoints itself (a WAL hook replaces the automatic checkpoint). */
  snprintf(path, plen, "%s/queue.db", data_dir);
  if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
          SQLITE_OK ||
      sqlite3_busy_timeout(s->ckpt_db, 10000) != SQLITE_OK ||
      sqlite3_exec(s->ckpt_db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot open the queue database %s: %s", path,
                             s->ckpt_db ? sqlite3_errmsg(s->ckpt_db) : "out of memory");
    goto cleanup;
  }
  if (pthread_create(&s->ckpt_thread, NULL, checkpoint_main, s) != 0) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot start the queue database's checkpointer");
    goto cleanup;
  }
  s->ckpt_started = 1;
  sqlite3_wal_hook(s->db, on_wal_commit, s);
  *out = s;
  s = NULL;
cleanup:
  sqlite_store_free(s);
  free(path);
  return error;
}
