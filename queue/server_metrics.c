/*
 * server_metrics.c — /healthz and /metrics (Prometheus text format 0.0.4):
 * job counts by state from the store, and counters this server keeps since it
 * started (submissions, leases, expiries, releases, log bytes, and a histogram
 * of how long jobs waited for their first lease).
 */
#include "queue/server_int.h"
#include "common/dynbuf.h"
#include "common/error.h"

#include <stdlib.h>

#define METRICS_MAX_BYTES (64u * 1024)

static const double WAIT_BUCKETS[WAIT_BUCKET_COUNT] = {0.005, 0.05, 0.5, 5, 30, 120, 600, 3600};

void server_metrics_init(queue_server *s) { pthread_mutex_init(&s->metrics.mu, NULL); }

void server_metrics_destroy(queue_server *s) { pthread_mutex_destroy(&s->metrics.mu); }

void server_metrics_add(queue_server *s, server_counter which, uint64_t n) {
  pthread_mutex_lock(&s->metrics.mu);
  s->metrics.counters[which] += n;
  pthread_mutex_unlock(&s->metrics.mu);
}

void server_metrics_lease(queue_server *s, const queue_record *rec) {
  server_metrics *m = &s->metrics;
  pthread_mutex_lock(&m->mu);
  m->counters[COUNT_LEASES]++;
  if (rec->job.attempts == 1) {
    double wait = (double)(rec->job.started_at - rec->job.created_at) / 1000.0;
    if (wait < 0)
      wait = 0;
    m->wait_count++;
    m->wait_sum += wait;
    for (size_t i = 0; i < WAIT_BUCKET_COUNT; i++)
      if (wait <= WAIT_BUCKETS[i])
        m->wait_buckets[i]++;
  }
  pthread_mutex_unlock(&m->mu);
}

void server_on_healthz(http_request *req, void *payload) {
  queue_server *s = payload;
  queue_store_counts c;
  if (queue_store_counts_get(&c, s->store) < 0) {
    http_request_respond_error(req, 503, airgap_error_last());
    return;
  }
  server_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void server_on_metrics(http_request *req, void *payload) {
  queue_server *s = payload;
  server_metrics *m = &s->metrics;
  queue_store_counts c;
  dynbuf b;
  if (queue_store_counts_get(&c, s->store) < 0) {
    http_request_respond_error(req, 503, airgap_error_last());
    return;
  }
  size_t waiters = server_waiters_count(s);
  dynbuf_init(&b, METRICS_MAX_BYTES);
  dynbuf_printf(&b,
                "# HELP airgap_queue_jobs Jobs in the queue by state.\n"
                "# TYPE airgap_queue_jobs gauge\n"
                "airgap_queue_jobs{state=\"queued\"} %llu\n"
                "airgap_queue_jobs{state=\"running\"} %llu\n"
                "airgap_queue_jobs{state=\"passed\"} %llu\n"
                "airgap_queue_jobs{state=\"failed\"} %llu\n"
                "airgap_queue_jobs{state=\"errored\"} %llu\n"
                "airgap_queue_jobs{state=\"canceled\"} %llu\n",
                (unsigned long long)c.queued, (unsigned long long)c.running,
                (unsigned long long)c.passed, (unsigned long long)c.failed,
                (unsigned long long)c.errored, (unsigned long long)c.canceled);
  pthread_mutex_lock(&m->mu);
  dynbuf_printf(
      &b,
      "# HELP airgap_queue_jobs_submitted_total Jobs accepted since start.\n"
      "# TYPE airgap_queue_jobs_submitted_total counter\n"
      "airgap_queue_jobs_submitted_total %llu\n"
      "# HELP airgap_queue_leases_total Leases granted since start.\n"
      "# TYPE airgap_queue_leases_total counter\n"
      "airgap_queue_leases_total %llu\n"
      "# HELP airgap_queue_leases_expired_total Leases that expired without a "
      "heartbeat.\n"
      "# TYPE airgap_queue_leases_expired_total counter\n"
      "airgap_queue_leases_expired_total %llu\n"
      "# HELP airgap_queue_jobs_agent_lost_total Jobs that ran out of attempts.\n"
      "# TYPE airgap_queue_jobs_agent_lost_total counter\n"
      "airgap_queue_jobs_agent_lost_total %llu\n"
      "# HELP airgap_queue_releases_total Jobs handed back by their agent "
      "(release answers).\n"
      "# TYPE airgap_queue_releases_total counter\n"
      "airgap_queue_releases_total %llu\n"
      "# HELP airgap_queue_lease_waiters Lease requests waiting for a job.\n"
      "# TYPE airgap_queue_lease_waiters gauge\n"
      "airgap_queue_lease_waiters %zu\n"
      "# HELP airgap_queue_log_bytes_total Log bytes stored since start.\n"
      "# TYPE airgap_queue_log_bytes_total counter\n"
      "airgap_queue_log_bytes_total %llu\n"
      "# HELP airgap_queue_wait_seconds Time from submission to first lease.\n"
      "# TYPE airgap_queue_wait_seconds histogram\n",
      (unsigned long long)m->counters[COUNT_SUBMITTED],
      (unsigned long long)m->counters[COUNT_LEASES], (unsigned long long)m->counters[COUNT_EXPIRED],
      (unsigned long long)m->counters[COUNT_LOST], (unsigned long long)m->counters[COUNT_RELEASED],
      waiters, (unsigned long long)m->counters[COUNT_LOG_BYTES]);
  for (size_t i = 0; i < WAIT_BUCKET_COUNT; i++)
    dynbuf_printf(&b, "airgap_queue_wait_seconds_bucket{le=\"%g\"} %llu\n", WAIT_BUCKETS[i],
                  (unsigned long long)m->wait_buckets[i]);
  dynbuf_printf(&b,
                "airgap_queue_wait_seconds_bucket{le=\"+Inf\"} %llu\n"
                "airgap_queue_wait_seconds_sum %.6f\n"
                "airgap_queue_wait_seconds_count %llu\n",
                (unsigned long long)m->wait_count, m->wait_sum, (unsigned long long)m->wait_count);
  pthread_mutex_unlock(&m->mu);
  size_t len = 0;
  char *text = dynbuf_take(&b, &len);
  if (!text) {
    http_request_respond_error(req, 500, "out of memory");
    return;
  }
  http_request_respond(req, http_response_new_take(200, "text/plain; version=0.0.4", text, len));
}
