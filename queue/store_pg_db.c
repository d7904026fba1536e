/*
 * store_pg_db.c — the PostgreSQL store's connections: the pool, reconnection
 * with backoff, statements with bound parameters, transactions, the schema
 * migrations and the LISTEN/NOTIFY listener. The operations are in
 * store_pg.c.
 *
 * Pool. A fixed number of connections, opened lazily; an operation waits for
 * a free one. A connection whose socket broke (the database restarted) is
 * reset on its next use. When a connect fails the pool waits backoff_ms
 * (100 ms doubling to 5 s) before it tries again; meanwhile operations fail
 * at once with QUEUE_STORE_EUNAVAILABLE, which the server answers with 503,
 * so agents and clients retry and no request hangs on a dead database.
 * Nothing acknowledged is lost: an operation answers 0 only after COMMIT
 * returned, and a connection lost before that answers 503.
 *
 * Migrations. Ordered SQL scripts; schema_version holds the highest applied.
 * They run at open under a session advisory lock, so several servers starting
 * together apply each migration once. A database whose version is newer than
 * this binary's is refused with a message that says so.
 *
 * Listener. One dedicated connection LISTENs on airgap_jobs (a job became
 * leasable) and airgap_logs (payload: the job whose log or state changed),
 * which the operations NOTIFY inside their transactions (delivered at
 * commit, to every server). A thread polls its socket and calls the server's
 * callback. After a reconnect it reports "anything may have changed" so that
 * no wake-up is lost across an outage.
 */
#include "queue/store_pg_int.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MIGRATION_LOCK 0x616972676170 /* "airgap" */

/* ---- parameters ---- */

void pg_arg_text(pg_args *a, const char *s) {
  a->v[a->n] = s;
  a->len[a->n] = 0;
  a->fmt[a->n] = 0;
  a->n++;
}

void pg_arg_int(pg_args *a, int64_t v) {
  snprintf(a->num[a->n], sizeof(a->num[a->n]), "%" PRId64, v);
  a->v[a->n] = a->num[a->n];
  a->len[a->n] = 0;
  a->fmt[a->n] = 0;
  a->n++;
}

void pg_arg_blob(pg_args *a, const void *data, size_t len) {
  a->v[a->n] = len ? data : "";
  a->len[a->n] = (int)len;
  a->fmt[a->n] = 1;
  a->n++;
}

int64_t pg_int(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col))
    return 0;
  return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *pg_strdup(const PGresult *r, int row, int col) {
  if (PQgetisnull(r, row, col))
    return NULL;
  return strdup(PQgetvalue(r, row, col));
}

/* ---- statements ---- */

static int unavailable(const char *what, PGconn *conn) {
  const char *msg = conn ? PQerrorMessage(conn) : "";
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  return airgap_error_set(QUEUE_STORE_EUNAVAILABLE,
                          "queue database unavailable (%s: %.*s); retry shortly", what, (int)n,
                          msg);
}

/* Runs sql as a statement prepared on c (parsed and planned once per
 * connection: most of a short statement's cost), preparing it on first use. */
static PGresult *exec_prepared(pg_conn *c, const char *sql, const pg_args *args) {
  int n = args ? args->n : 0;
  const char *const *v = args ? args->v : NULL;
  const int *len = args ? args->len : NULL, *fmt = args ? args->fmt : NULL;
  char name[16];
  size_t i, slot = PG_PREPARED_MAX;
  for (i = 0; i < PG_PREPARED_MAX; i++) {
    if (c->prepared[i] == sql)
      break;
    if (!c->prepared[i] && slot == PG_PREPARED_MAX)
      slot = i;
  }
  if (i == PG_PREPARED_MAX) {
    if (slot == PG_PREPARED_MAX) /* full: run it unprepared */
      return PQexecParams(c->conn, sql, n, NULL, v, len, fmt, 0);
    snprintf(name, sizeof(name), "q%zu", slot);
    PGresult *r = PQprepare(c->conn, name, sql, 0, NULL);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
      return r; /* the error, reported as the statement's */
    PQclear(r);
    c->prepared[slot] = sql;
    i = slot;
  }
  snprintf(name, sizeof(name), "q%zu", i);
  return PQexecPrepared(c->conn, name, n, v, len, fmt, 0);
}

int pg_exec(PGresult **out, pg_conn *c, const char *what, const char *sql, const pg_args *args) {
  PGresult *r = exec_prepared(c, sql, args);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  int error;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    const char *tuples = PQcmdTuples(r);
    error = st == PGRES_TUPLES_OK ? PQntuples(r)
                                  : (tuples && *tuples ? (int)strtol(tuples, NULL, 10) : 0);
    if (out) {
      *out = r;
      r = NULL;
    }
  } else if (PQstatus(c->conn) == CONNECTION_BAD) {
    error = unavailable(what, c->conn);
  } else {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
      n--;
    /* 23505 unique_violation; 57P01 admin_shutdown and the 08 class:
     * the database went away under us */
    if (state && strcmp(state, "23505") == 0)
      error = airgap_error_set(AIRGAP_EEXISTS, "queue store: %s: %.*s", what, (int)n, msg);
    else if (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))
      error = unavailable(what, c->conn);
    else
      error = airgap_error_set(AIRGAP_ERROR, "queue store: %s: %.*s", what, (int)n, msg);
  }
  PQclear(r);
  return error;
}

int pg_begin(pg_conn *c) {
  int error = pg_exec(NULL, c, "begin", "BEGIN", NULL);
  return error < 0 ? error : 0;
}

int pg_end(pg_conn *c, int error) {
  if (error >= 0) {
    int rc = pg_exec(NULL, c, "commit", "COMMIT", NULL);
    if (rc < 0)
      error = rc;
  }
  if (error < 0 && PQstatus(c->conn) == CONNECTION_OK &&
      PQtransactionStatus(c->conn) != PQTRANS_IDLE)
    PQclear(PQexec(c->conn, "ROLLBACK"));
  return error < 0 ? error : 0;
}

/* ---- the pool ---- */

static void noop_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

/* Opens or resets c->conn; caller holds nothing. */
static int connect_one(pg_store *s, pg_conn *c) {
  memset(c->prepared, 0, sizeof(c->prepared)); /* a new session has none */
  if (c->conn)
    PQreset(c->conn);
  else
    c->conn = PQconnectdb(s->url);
  if (!c->conn)
    return airgap_error_set(QUEUE_STORE_EUNAVAILABLE, "queue database: out of memory");
  if (PQstatus(c->conn) != CONNECTION_OK)
    return unavailable("connect", c->conn);
  return 0;
}

int pg_conn_get(pg_conn **out, pg_store *s) {
  pg_conn *c = NULL;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    for (size_t i = 0; i < s->pool_size && !c; i++)
      if (!s->pool[i].in_use)
        c = &s->pool[i];
    if (c)
      break;
    pthread_cond_wait(&s->cond, &s->mu);
  }
  c->in_use = 1;
  int healthy = c->conn && PQstatus(c->conn) == CONNECTION_OK;
  uint64_t now = clock_monotonic_ms();
  if (!healthy && now < s->retry_at) {
    c->in_use = 0;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return airgap_error_set(QUEUE_STORE_EUNAVAILABLE,
                            "queue database unavailable (reconnecting); retry shortly");
  }
  pthread_mutex_unlock(&s->mu);
  if (healthy) {
    *out = c;
    return 0;
  }
  int error = connect_one(s, c);
  pthread_mutex_lock(&s->mu);
  if (error < 0) {
    s->retry_at = clock_monotonic_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
    c->in_use = 0;
    pthread_cond_signal(&s->cond);
  } else {
    /* notices (e.g. "relation exists, skipping") are not worth a log line */
    PQsetNoticeProcessor(c->conn, noop_notice, NULL);
    c->pid = PQbackendPID(c->conn);
    s->backoff_ms = BACKOFF_MIN_MS;
    s->retry_at = 0;
  }
  pthread_mutex_unlock(&s->mu);
  if (error < 0)
    return error;
  *out = c;
  return 0;
}

void pg_conn_put(pg_store *s, pg_conn *c) {
  if (!c)
    return;
  if (c->conn && PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
    PQclear(PQexec(c->conn, "ROLLBACK"));
  pthread_mutex_lock(&s->mu);
  c->in_use = 0;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mu);
}

/* ---- migrations ---- */

/* Migration N brings the schema from version N-1 to N. Append only: a
 * released migration is never edited. */
static const char *const MIGRATIONS[QUEUE_PG_SCHEMA_VERSION] = {
    /* 1: jobs, log chunks, tokens */
    "CREATE TABLE jobs ("
    " seq BIGSERIAL PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " state TEXT NOT NULL,"
    " spec TEXT NOT NULL,"
    " labels TEXT[] NOT NULL,"
    " reason TEXT,"
    " exit_code INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " agent TEXT,"
    " lease TEXT,"
    " lease_expires BIGINT,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL,"
    " started_at BIGINT,"
    " finished_at BIGINT,"
    " log_received BIGINT NOT NULL DEFAULT 0,"
    " log_size BIGINT NOT NULL DEFAULT 0,"
    " log_truncated INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_queued ON jobs(seq) WHERE state = 'queued';"
    "CREATE INDEX jobs_running ON jobs(lease_expires) WHERE state = 'running';"
    "CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;"
    "CREATE INDEX jobs_by_state ON jobs(state, seq);"
    "CREATE TABLE logs ("
    " job TEXT NOT NULL, start_at BIGINT NOT NULL, end_at BIGINT NOT NULL, data BYTEA NOT NULL,"
    " PRIMARY KEY (job, end_at));"
    "CREATE TABLE tokens ("
    " id TEXT PRIMARY KEY, role TEXT NOT NULL, hash BYTEA NOT NULL, created_at BIGINT NOT NULL);",
    /* 2: what the web UI reads: jobs by repository and by label (keyset
     * pages on an index at any depth), the text a search matches, retries
     * linked both ways, the agent registry. Existing jobs are indexed here. */
    "ALTER TABLE jobs ADD COLUMN repo TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN search TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN retry_of TEXT;"
    "ALTER TABLE jobs ADD COLUMN retried_by TEXT;"
    "UPDATE jobs SET repo = coalesce(spec::jsonb->>'repo', ''),"
    " search = lower(concat_ws(chr(10), id, spec::jsonb->>'repo', spec::jsonb->>'ref',"
    " spec::jsonb->>'commit', spec::jsonb->>'image', spec::jsonb->>'script'));"
    "CREATE INDEX jobs_by_repo ON jobs(repo, seq);"
    "CREATE TABLE job_labels (label TEXT NOT NULL,"
    " seq BIGINT NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE, PRIMARY KEY (label, seq));"
    "CREATE INDEX job_labels_by_seq ON job_labels(seq);"
    "INSERT INTO job_labels (label, seq) SELECT DISTINCT unnest(labels), seq FROM jobs;"
    "CREATE TABLE agents (name TEXT PRIMARY KEY, labels TEXT NOT NULL, version TEXT,"
    " slots INTEGER NOT NULL DEFAULT 0, first_seen BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL, drained INTEGER NOT NULL DEFAULT 0);",
    /* 3: when each log chunk was stored (the web UI's line timestamps) */
    "ALTER TABLE logs ADD COLUMN at_ms BIGINT;",
};

static int script(pg_conn *c, const char *what, const char *sql) {
  PGresult *r = PQexec(c->conn, sql);
  int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  int error = 0;
  if (!ok) {
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->conn);
    error = airgap_error_set(AIRGAP_ERROR, "queue database: %s: %s", what, msg);
  }
  PQclear(r);
  return error;
}

static int migrate(pg_conn *c) {
  PGresult *r = NULL;
  pg_args a = {.n = 0};
  int64_t version = 0;
  int error = pg_exec(NULL, c, "lock for migrations", "SELECT pg_advisory_lock($1)",
                      (pg_arg_int(&a, MIGRATION_LOCK), &a));
  if (error < 0)
    return error;
  if ((error = script(c, "create the version table",
                      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")) < 0)
    goto unlock;
  if ((error = pg_exec(&r, c, "read the schema version",
                       "SELECT coalesce(max(version), 0) FROM schema_version", NULL)) < 0)
    goto unlock;
  version = pg_int(r, 0, 0);
  PQclear(r);
  if (version > QUEUE_PG_SCHEMA_VERSION) {
    error = airgap_error_set(AIRGAP_ERROR,
                             "the queue database has schema version %" PRId64
                             ", newer than this airgap knows (%d): it was upgraded by a newer "
                             "airgap; run that version (or newer) instead",
                             version, QUEUE_PG_SCHEMA_VERSION);
    goto unlock;
  }
  for (int64_t v = version + 1; v <= QUEUE_PG_SCHEMA_VERSION; v++) {
    char what[48];
    pg_args va = {.n = 0};
    snprintf(what, sizeof(what), "migration %" PRId64, v);
    pg_arg_int(&va, v);
    if ((error = pg_begin(c)) < 0)
      goto unlock;
    error = script(c, what, MIGRATIONS[v - 1]);
    if (error == 0)
      error = pg_exec(NULL, c, what, "INSERT INTO schema_version (version) VALUES ($1)", &va);
    if ((error = pg_end(c, error)) < 0)
      goto unlock;
    log_info("queue", "queue database: applied migration %" PRId64, v);
  }
unlock:
  a.n = 0;
  pg_arg_int(&a, MIGRATION_LOCK);
  pg_exec(NULL, c, "unlock", "SELECT pg_advisory_unlock($1)", &a);
  return error < 0 ? error : 0;
}

/* ---- the listener ---- */

static void report(pg_store *s, queue_watch_event ev, const char *id) {
  if (s->watch)
    s->watch(ev, id, s->watch_payload);
}

static int listen_connect(PGconn **out, pg_store *s) {
  PGconn *conn = PQconnectdb(s->url);
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return -1;
  }
  PQsetNoticeProcessor(conn, noop_notice, NULL);
  PGresult *r = PQexec(conn, "LISTEN airgap_jobs; LISTEN airgap_logs");
  int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) {
    PQfinish(conn);
    return -1;
  }
  *out = conn;
  return 0;
}

/* 1 when pid is one of our pool's sessions: this server made the change and
 * has woken its own waiters and followers already. */
static int own_session(pg_store *s, int pid) {
  int own = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->pool_size && !own; i++)
    own = s->pool[i].pid == pid;
  pthread_mutex_unlock(&s->mu);
  return own;
}

static int stopping(pg_store *s) {
  pthread_mutex_lock(&s->mu);
  int v = s->stopping;
  pthread_mutex_unlock(&s->mu);
  return v;
}

static void *listener_main(void *arg) {
  pg_store *s = arg;
  PGconn *conn = NULL;
  unsigned backoff = BACKOFF_MIN_MS;
  while (!stopping(s)) {
    if (!conn) {
      if (listen_connect(&conn, s) < 0) {
        struct pollfd p = {.fd = s->wake_fd[0], .events = POLLIN};
        poll(&p, 1, (int)backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        continue;
      }
      backoff = BACKOFF_MIN_MS;
      /* whatever was notified while we were away */
      report(s, QUEUE_WATCH_JOBS, NULL);
      report(s, QUEUE_WATCH_LOG, NULL);
    }
    struct pollfd p[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                          {.fd = s->wake_fd[0], .events = POLLIN}};
    if (poll(p, 2, 1000) < 0 && errno != EINTR)
      break;
    if (p[1].revents)
      break;
    if (!PQconsumeInput(conn)) {
      log_warn("queue", "queue database: listener connection lost; reconnecting");
      PQfinish(conn);
      conn = NULL;
      continue;
    }
    PGnotify *n;
    int jobs = 0;
    while ((n = PQnotifies(conn))) {
      if (own_session(s, n->be_pid))
        ; /* ours: the server acted on it already */
      else if (strcmp(n->relname, "airgap_jobs") == 0)
        jobs = 1;
      else
        report(s, QUEUE_WATCH_LOG, n->extra && *n->extra ? n->extra : NULL);
      PQfreemem(n);
    }
    if (jobs)
      report(s, QUEUE_WATCH_JOBS, NULL);
  }
  PQfinish(conn);
  return NULL;
}

int pg_store_watch_start(pg_store *s, queue_store_watch_fn fn, void *payload) {
  if (s->listener_started)
    return airgap_error_set(AIRGAP_EINVALID, "queue store: already watched");
  s->watch = fn;
  s->watch_payload = payload;
  if (pthread_create(&s->listener, NULL, listener_main, s) != 0)
    return airgap_error_set(AIRGAP_ERROR, "queue store: cannot start the listener thread");
  s->listener_started = 1;
  return 0;
}

/* ---- open / close ---- */

void pg_store_free(pg_store *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_mutex_unlock(&s->mu);
  if (s->listener_started) {
    ssize_t w = write(s->wake_fd[1], "x", 1);
    (void)w;
    pthread_join(s->listener, NULL);
  }
  for (size_t i = 0; s->pool && i < s->pool_size; i++)
    PQfinish(s->pool[i].conn);
  free(s->pool);
  if (s->wake_fd[0] >= 0)
    close(s->wake_fd[0]);
  if (s->wake_fd[1] >= 0)
    close(s->wake_fd[1]);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cond);
  free(s->url);
  free(s);
}

int pg_store_open(pg_store **out, const char *url, size_t pool_size, const queue_store_ops *ops) {
  pg_store *s = NULL;
  pg_conn *c = NULL;
  int error = 0;
  if (!url || !*url)
    return airgap_error_set(AIRGAP_EINVALID, "no database URL given (--database postgres://…)");
  if (pool_size == 0)
    pool_size = 8;
  s = calloc(1, sizeof(*s));
  if (!s)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  s->base.ops = ops;
  s->wake_fd[0] = s->wake_fd[1] = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cond, NULL);
  s->backoff_ms = BACKOFF_MIN_MS;
  s->pool_size = pool_size;
  if (!(s->url = strdup(url)) || !(s->pool = calloc(pool_size, sizeof(*s->pool)))) {
    error = airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
    goto cleanup;
  }
  if (pipe2(s->wake_fd, O_CLOEXEC) < 0) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "queue store: pipe");
    goto cleanup;
  }
  if ((error = pg_conn_get(&c, s)) < 0) {
    airgap_error_set(AIRGAP_ERROR, "cannot open the queue database: %s (check --database)",
                     airgap_error_last());
    error = AIRGAP_ERROR;
    goto cleanup;
  }
  error = migrate(c);
  pg_conn_put(s, c);
  if (error < 0)
    goto cleanup;
  *out = s;
  s = NULL;
cleanup:
  pg_store_free(s);
  return error;
}
