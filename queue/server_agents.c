/*
 * server_agents.c — the agent registry and the queue's summary, as the web UI
 * shows them:
 *   GET  /v1/agents               every known agent: labels, slots, version,
 *                                 last contact, drained, the jobs it runs
 *   POST /v1/agents/NAME/drain    the agent leases nothing new (its running
 *   POST /v1/agents/NAME/resume   jobs go on); resume undoes it
 *   GET  /v1/queue                job counts, queued jobs by label set with
 *                                 their longest wait, agents, and a health
 *                                 summary naming what is wrong
 *
 * An agent registers itself with its lease requests (server_wait.c) and is
 * kept fresh by its jobs' heartbeats, so one whose slots are all busy still
 * counts as connected. Connected means heard from within the longest lease
 * poll plus a lease TTL: an idle agent is heard from at least once per poll,
 * a busy one once per heartbeat.
 */
#include "queue/server_int.h"
#include "common/error.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define MAX_AGENT_NAME 128
#define RUNNING_SCAN 500u

/* The labels of a registry row as a JSON array (new reference). */
static json_t *labels_json(const char *joined) {
  json_t *arr = json_array();
  for (const char *p = joined; arr && p && *p;) {
    size_t len = strcspn(p, "\n");
    json_array_append_new(arr, json_stringn(p, len));
    p += len + (p[len] == '\n');
  }
  return arr;
}

static int agent_connected(const queue_server *s, const queue_agent *a, int64_t now) {
  return now - a->last_seen <= (int64_t)(s->max_wait + s->lease_ttl) * 1000;
}

void server_on_agents(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_agent *agents = NULL;
  queue_record **running = NULL;
  size_t n = 0, nrun = 0;
  queue_job_filter f = {.state = "running", .limit = RUNNING_SCAN};
  if (server_authorize(s, req, "read") < 0)
    return;
  int error = queue_store_agent_list(&agents, &n, s->store);
  if (error == 0)
    error = queue_store_job_find(&running, &nrun, s->store, &f);
  if (error < 0) {
    server_respond_code(req, error);
    goto cleanup;
  }
  int64_t now = queue_now_ms();
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    json_t *jobs = json_array();
    for (size_t j = 0; jobs && j < nrun; j++)
      if (running[j]->job.agent && strcmp(running[j]->job.agent, agents[i].name) == 0)
        json_array_append_new(jobs, json_pack("{s:s,s:I}", "id", running[j]->job.id, "started_at",
                                              (json_int_t)running[j]->job.started_at));
    json_array_append_new(
        arr,
        json_pack("{s:s,s:o,s:o,s:i,s:o,s:I,s:I,s:b,s:b}", "name", agents[i].name, "labels",
                  labels_json(agents[i].labels), "version",
                  agents[i].version ? json_string(agents[i].version) : json_null(), "slots",
                  (int)agents[i].slots, "running", jobs ? jobs : json_array(), "first_seen",
                  (json_int_t)agents[i].first_seen, "last_seen", (json_int_t)agents[i].last_seen,
                  "drained", agents[i].drained, "connected", agent_connected(s, &agents[i], now)));
  }
  server_respond_json(
      req, 200, json_pack("{s:o,s:I}", "agents", arr ? arr : json_array(), "now", (json_int_t)now));
cleanup:
  queue_agent_list_free(agents, n);
  queue_record_list_free(running, nrun);
}

void server_on_agent_drain(http_request *req, void *payload) {
  queue_server *s = payload;
  if (server_authorize(s, req, "client") < 0)
    return;
  const char *raw = http_request_segment(req, 2);
  const char *what = http_request_segment(req, 3);
  char *name = raw ? http_percent_decode(raw, strlen(raw), 0, 1, NULL) : NULL;
  if (!name || !server_name_ok(name, MAX_AGENT_NAME, "._:@-")) {
    http_request_respond_error(req, 404, "no such agent");
    free(name);
    return;
  }
  int drained = what && strcmp(what, "drain") == 0;
  int error = queue_store_agent_drain(s->store, name, drained);
  if (error < 0) {
    server_respond_code(req, error);
    free(name);
    return;
  }
  log_info("queue", "agent %s %s", name, drained ? "drained: it leases no new job" : "resumed");
  server_waiters_drain(s, name, drained);
  server_respond_json(req, 200, json_pack("{s:s,s:b}", "name", name, "drained", drained));
  free(name);
  server_events_changed(s);
}

/* Labels of agent a as an array of borrowed strings into a->labels' copy
 * *buf (owned, free()). Returns how many. */
static size_t split_labels(char ***out, char **buf, const char *joined) {
  size_t n = 0;
  *out = NULL;
  *buf = strdup(joined ? joined : "");
  if (!*buf)
    return 0;
  for (const char *p = *buf; *p; p++)
    n += *p == '\n';
  n += **buf != '\0';
  if (n == 0 || !(*out = calloc(n, sizeof(char *))))
    return 0;
  size_t i = 0;
  for (char *p = *buf; *p && i < n;) {
    (*out)[i++] = p;
    p += strcspn(p, "\n");
    if (*p == '\n')
      *p++ = '\0';
  }
  return i;
}

/* 1 when a connected agent that is not drained has every label of joined. */
static int someone_can_run(const queue_server *s, queue_agent *agents, size_t n, const char *joined,
                           int64_t now) {
  for (size_t i = 0; i < n; i++) {
    if (agents[i].drained || !agent_connected(s, &agents[i], now))
      continue;
    char **labels = NULL, *buf = NULL;
    size_t count = split_labels(&labels, &buf, agents[i].labels);
    int ok = queue_labels_match(joined, (const char *const *)labels, count);
    free(labels);
    free(buf);
    if (ok)
      return 1;
  }
  return 0;
}

void server_on_queue_summary(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_store_counts c;
  queue_label_group *groups = NULL;
  queue_agent *agents = NULL;
  size_t ng = 0, na = 0;
  unsigned connected = 0, drained = 0, slots = 0;
  uint64_t stuck = 0;
  if (server_authorize(s, req, "read") < 0)
    return;
  int error = queue_store_counts_get(&c, s->store);
  if (error == 0)
    error = queue_store_queued_groups(&groups, &ng, s->store);
  if (error == 0)
    error = queue_store_agent_list(&agents, &na, s->store);
  if (error < 0) {
    server_respond_code(req, error);
    goto cleanup;
  }
  int64_t now = queue_now_ms();
  for (size_t i = 0; i < na; i++) {
    if (!agent_connected(s, &agents[i], now))
      continue;
    connected++;
    drained += agents[i].drained != 0;
    slots += agents[i].slots;
  }
  json_t *garr = json_array();
  for (size_t i = 0; garr && i < ng; i++) {
    int runnable = someone_can_run(s, agents, na, groups[i].labels, now);
    if (!runnable)
      stuck += groups[i].count;
    json_array_append_new(garr,
                          json_pack("{s:o,s:I,s:I,s:b}", "labels", labels_json(groups[i].labels),
                                    "count", (json_int_t)groups[i].count, "oldest_wait_ms",
                                    (json_int_t)(now - groups[i].oldest), "runnable", runnable));
  }
  json_t *problems = json_array();
  char msg[160];
  if (problems && connected == 0) {
    json_array_append_new(problems, json_string("no agent is connected"));
  } else if (problems && connected == drained) {
    json_array_append_new(problems, json_string("every connected agent is drained"));
  }
  if (problems && stuck > 0) {
    snprintf(msg, sizeof(msg), "%llu queued job(s) need labels that no available agent has",
             (unsigned long long)stuck);
    json_array_append_new(problems, json_string(msg));
  }
  json_t *o = json_pack("{s:{s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:{s:i,s:i,s:i,s:i},s:I,s:s,s:o,s:I}",
                        "counts", "queued", (json_int_t)c.queued, "running", (json_int_t)c.running,
                        "passed", (json_int_t)c.passed, "failed", (json_int_t)c.failed, "errored",
                        (json_int_t)c.errored, "canceled", (json_int_t)c.canceled, "groups",
                        garr ? garr : json_array(), "agents", "known", (int)na, "connected",
                        (int)connected, "drained", (int)drained, "slots", (int)slots,
                        "waiting_lease_requests", (json_int_t)server_waiters_count(s), "status",
                        problems && json_array_size(problems) ? "degraded" : "ok", "problems",
                        problems ? problems : json_array(), "now", (json_int_t)now);
  server_respond_json(req, 200, o);
cleanup:
  queue_label_groups_free(groups, ng);
  queue_agent_list_free(agents, na);
}
