/*
 * store_rules.c — what every store implementation decides the same way,
 * whatever keeps its rows: which states exist, where a job goes when its lease
 * ends without a final status, when a repeated report is the same report,
 * when a lease is still the job's, how labels are encoded and matched, how a
 * log is capped, and the notes left in a job's log. A store calls these inside
 * its own transaction, so the SQLite store and the PostgreSQL one to come
 * give the same answers and the same error messages.
 */
#include "queue/store_int.h"
#include "common/dynbuf.h"
#include "common/error.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int queue_state_is_final(const char *state) {
  return state && (strcmp(state, "passed") == 0 || strcmp(state, "failed") == 0 ||
                   strcmp(state, "errored") == 0 || strcmp(state, "canceled") == 0);
}

int queue_state_valid(const char *state) {
  return state && (queue_state_is_final(state) || strcmp(state, "queued") == 0 ||
                   strcmp(state, "running") == 0);
}

void queue_store_counts_add(queue_store_counts *c, const char *state, uint64_t n) {
  if (!state)
    return;
  if (strcmp(state, "queued") == 0)
    c->queued += n;
  else if (strcmp(state, "running") == 0)
    c->running += n;
  else if (strcmp(state, "passed") == 0)
    c->passed += n;
  else if (strcmp(state, "failed") == 0)
    c->failed += n;
  else if (strcmp(state, "errored") == 0)
    c->errored += n;
  else if (strcmp(state, "canceled") == 0)
    c->canceled += n;
}

/* ---- labels ---- */

int queue_labels_join(char **out, const char *const *labels, size_t n) {
  size_t total = 1;
  for (size_t i = 0; i < n; i++)
    total += strlen(labels[i]) + 1;
  char *buf = malloc(total);
  if (!buf)
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory");
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(labels[i]);
    if (i > 0)
      buf[pos++] = '\n';
    memcpy(buf + pos, labels[i], l);
    pos += l;
  }
  buf[pos] = '\0';
  *out = buf;
  return 0;
}

int queue_labels_match(const char *joined, const char *const *agent, size_t n) {
  const char *p = joined;
  while (*p) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
      found = strlen(agent[i]) == len && memcmp(agent[i], p, len) == 0;
    if (!found)
      return 0;
    p += len;
    if (*p == '\n')
      p++;
  }
  return 1;
}

/* ---- leases ---- */

queue_lease_end queue_rule_lease_end(unsigned attempts, int cancel_requested,
                                     unsigned max_attempts) {
  if (cancel_requested)
    return QUEUE_END_CANCELED;
  if (attempts >= max_attempts)
    return QUEUE_END_ERRORED;
  return QUEUE_END_REQUEUED;
}

static int same_lease(const queue_job *job, const char *lease_id) {
  return job->lease && lease_id && strcmp(job->lease, lease_id) == 0;
}

int queue_rule_lease_current(const queue_job *job, const char *lease_id) {
  int running = strcmp(job->state, "running") == 0;
  if (running && same_lease(job, lease_id))
    return 0;
  return airgap_error_set(AIRGAP_EBUSY,
                          "the lease on job %s is lost (the job is %s%s); stop working on it",
                          job->id, job->state, running ? " under another lease" : "");
}

int queue_rule_complete_repeated(const queue_job *job, const char *lease_id, const char *status) {
  return queue_state_is_final(job->state) && same_lease(job, lease_id) &&
         strcmp(job->state, status) == 0;
}

int queue_rule_release_repeated(const queue_record *rec, const char *lease_id, const char *reason) {
  const queue_job *job = &rec->job;
  if (!same_lease(job, lease_id))
    return 0;
  const char *st = job->state;
  const char *why = job->reason;
  return (strcmp(st, "queued") == 0 && rec->lease_expires == 0) ||
         (strcmp(st, "errored") == 0 && why && strcmp(why, reason) == 0) ||
         (strcmp(st, "canceled") == 0 && why && strcmp(why, "canceled") == 0);
}

int queue_rule_may_end(const queue_job *job, const char *lease_id, const char *what) {
  int same = same_lease(job, lease_id);
  if (strcmp(job->state, "running") == 0 && same)
    return 0;
  return airgap_error_set(AIRGAP_EBUSY, "cannot %s: the job is %s%s; stop working on it", what,
                          job->state, same ? "" : " and the lease is not current");
}

int queue_rule_may_complete(const queue_record *rec, const char *lease_id, const char *what) {
  if (strcmp(rec->job.state, "queued") == 0 && rec->lease_expires != 0 &&
      same_lease(&rec->job, lease_id))
    return 0;
  return queue_rule_may_end(&rec->job, lease_id, what);
}

/* ---- log notes and the cap ---- */

static size_t fitted(int n, size_t size) { return n > 0 && (size_t)n < size ? (size_t)n : 0; }

size_t queue_note_release(char *buf, size_t size, const queue_job *job, const char *reason,
                          queue_lease_end end) {
  const char *outcome = end == QUEUE_END_CANCELED  ? "job canceled"
                        : end == QUEUE_END_ERRORED ? "no attempts left: errored"
                                                   : "job requeued";
  return fitted(snprintf(buf, size, "\n[airgap: attempt %u handed back by agent %s (%s); %s]\n",
                         job->attempts, job->agent ? job->agent : "?", reason, outcome),
                size);
}

size_t queue_note_expire(char *buf, size_t size, unsigned attempts, const char *agent,
                         queue_lease_end end) {
  const char *outcome = end == QUEUE_END_CANCELED  ? "; job canceled"
                        : end == QUEUE_END_ERRORED ? "; giving up: agent_lost"
                                                   : "; job requeued";
  return fitted(snprintf(buf, size, "\n[airgap: lease of attempt %u expired (agent %s)%s]\n",
                         attempts, agent ? agent : "?", outcome),
                size);
}

size_t queue_note_truncated(char *buf, size_t size, uint64_t cap) {
  return fitted(
      snprintf(buf, size, "\n[airgap: log truncated at %llu bytes]\n", (unsigned long long)cap),
      size);
}

size_t queue_note_late_result(char *buf, size_t size, const queue_job *job, const char *status) {
  return fitted(snprintf(buf, size,
                         "\n[airgap: attempt %u (agent %s) reported %s after its lease expired;"
                         " accepted, nobody had leased the job again]\n",
                         job->attempts, job->agent ? job->agent : "?", status),
                size);
}

size_t queue_log_keep(uint64_t size, size_t len, uint64_t cap) {
  if (size + len <= cap)
    return len;
  return (size_t)(cap > size ? cap - size : 0);
}

int queue_log_apply(uint64_t *out_stored, queue_log_state *ls, uint64_t offset, const char *data,
                    size_t len, uint64_t cap, queue_log_insert_fn insert, void *payload) {
  *out_stored = 0;
  if (offset > ls->received)
    return airgap_error_set(AIRGAP_EINVALID,
                            "log offset %llu is ahead of the server's %llu; resend from there",
                            (unsigned long long)offset, (unsigned long long)ls->received);
  if (offset + len <= ls->received)
    return 0; /* all of it was stored before (a retry) */
  /* new bytes, possibly after a prefix the server has already */
  size_t skip = (size_t)(ls->received - offset);
  data += skip;
  len -= skip;
  uint64_t stored = 0;
  int error = 0;
  if (!ls->truncated && len > 0) {
    size_t keep = queue_log_keep(ls->size, len, cap);
    if (keep > 0 && (error = insert(payload, ls->size, data, keep)) < 0)
      return error;
    ls->size += keep;
    stored += keep;
    if (keep < len) {
      char note[QUEUE_NOTE_MAX];
      size_t n = queue_note_truncated(note, sizeof(note), cap);
      if ((error = insert(payload, ls->size, note, n)) < 0)
        return error;
      ls->size += n;
      stored += n;
      ls->truncated = 1;
    }
  }
  ls->received = offset + skip + len;
  *out_stored = stored;
  return 0;
}

int queue_spec_index(char **out_repo, char **out_search, const char *id, const char *spec_json) {
  static const char *const FIELDS[] = {"repo", "ref", "commit", "image", "script"};
  json_t *spec = json_loads(spec_json, 0, NULL);
  dynbuf b;
  char *repo = NULL, *search = NULL;
  if (!json_is_object(spec)) {
    json_decref(spec);
    return airgap_error_set(AIRGAP_EINVALID, "job %s: the stored spec is not a JSON object", id);
  }
  dynbuf_init(&b, QUEUE_MAX_SPEC_BYTES + 256);
  dynbuf_puts(&b, id);
  for (size_t i = 0; i < sizeof(FIELDS) / sizeof(FIELDS[0]); i++) {
    const char *v = json_string_value(json_object_get(spec, FIELDS[i]));
    if (!v)
      continue;
    dynbuf_puts(&b, "\n");
    dynbuf_puts(&b, v);
  }
  const char *r = json_string_value(json_object_get(spec, "repo"));
  repo = strdup(r ? r : "");
  search = dynbuf_failed(&b) ? NULL : dynbuf_take(&b, NULL);
  dynbuf_free(&b);
  json_decref(spec);
  if (!repo || !search) {
    free(repo);
    free(search);
    return airgap_error_set(AIRGAP_ERROR, "queue store: out of memory indexing job %s", id);
  }
  /* ASCII lower case: both databases then match with a plain substring test */
  for (char *p = search; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  *out_repo = repo;
  *out_search = search;
  return 0;
}

/* ---- deferred durability (store_int.h) ---- */

static _Thread_local int defer_on;
static _Thread_local uint64_t defer_ticket;

void queue_store_defer_begin(void) {
  defer_on = 1;
  defer_ticket = 0;
}

uint64_t queue_store_defer_end(void) {
  uint64_t ticket = defer_ticket;
  defer_on = 0;
  defer_ticket = 0;
  return ticket;
}

int queue_store_deferring(void) { return defer_on; }

void queue_store_deferred(uint64_t ticket) {
  if (ticket > defer_ticket)
    defer_ticket = ticket;
}
