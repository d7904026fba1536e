/*
 * job.c — a job as stored (queue_record) and the API's JSON shape of it,
 * written by the server from a record and read back by the client. Secret
 * values are masked for every reader but the agent that holds the job's
 * lease; that agent gets the stored spec text as it is, never parsed again on
 * the way (queue_record_json_text).
 */
#include "queue/queue_int.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

void queue_record_free(queue_record *rec) {
  if (!rec)
    return;
  free(rec->job.id);
  free(rec->job.state);
  free(rec->job.reason);
  free(rec->job.agent);
  free(rec->job.lease);
  free(rec->job.spec_json);
  free(rec->retry_of);
  free(rec->retried_by);
  free(rec);
}

void queue_agent_list_free(queue_agent *agents, size_t count) {
  if (!agents)
    return;
  for (size_t i = 0; i < count; i++) {
    free(agents[i].name);
    free(agents[i].labels);
    free(agents[i].version);
  }
  free(agents);
}

void queue_label_groups_free(queue_label_group *groups, size_t count) {
  if (!groups)
    return;
  for (size_t i = 0; i < count; i++)
    free(groups[i].labels);
  free(groups);
}

void queue_record_list_free(queue_record **recs, size_t count) {
  if (!recs)
    return;
  for (size_t i = 0; i < count; i++)
    queue_record_free(recs[i]);
  free(recs);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* The job's members but its spec (new reference). */
static json_t *job_members(const queue_job *j) {
  json_t *o = json_object();
  if (!o)
    return NULL;
  if (json_object_set_new(o, "id", json_string(j->id)) < 0 ||
      json_object_set_new(o, "state", json_string(j->state)) < 0 ||
      json_object_set_new(o, "reason", str_or_null(j->reason)) < 0 ||
      json_object_set_new(o, "exit_code",
                          j->has_exit_code ? json_integer(j->exit_code) : json_null()) < 0 ||
      json_object_set_new(o, "attempts", json_integer(j->attempts)) < 0 ||
      json_object_set_new(o, "agent", str_or_null(j->agent)) < 0 ||
      json_object_set_new(o, "created_at", json_integer(j->created_at)) < 0 ||
      json_object_set_new(o, "started_at", json_integer(j->started_at)) < 0 ||
      json_object_set_new(o, "finished_at", json_integer(j->finished_at)) < 0 ||
      json_object_set_new(o, "cancel_requested", json_boolean(j->cancel_requested)) < 0 ||
      json_object_set_new(o, "log_size", json_integer((json_int_t)j->log_size)) < 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

json_t *queue_record_json(const queue_record *rec, int mask) {
  json_t *spec = json_loads(rec->job.spec_json, 0, NULL);
  json_t *o = job_members(&rec->job);
  if (!spec || !o)
    goto fail;
  json_t *secrets = json_object_get(spec, "secrets");
  if (mask && json_is_object(secrets)) {
    const char *key;
    json_t *v;
    json_object_foreach(secrets, key, v) json_object_set_new(secrets, key, json_string("***"));
  }
  if (json_object_set(o, "spec", spec) < 0 ||
      json_object_set_new(o, "retry_of", str_or_null(rec->retry_of)) < 0 ||
      json_object_set_new(o, "retried_by", str_or_null(rec->retried_by)) < 0)
    goto fail;
  json_decref(spec);
  return o;
fail:
  json_decref(spec);
  json_decref(o);
  return NULL;
}

int queue_record_json_text(char **out, size_t *out_len, const queue_record *rec,
                           unsigned lease_ttl) {
  char *members = NULL, *text = NULL;
  json_t *o = NULL;
  if (lease_ttl == 0) {
    o = queue_record_json(rec, 1);
  } else if ((o = job_members(&rec->job)) &&
             (json_object_set_new(o, "lease", str_or_null(rec->job.lease)) < 0 ||
              json_object_set_new(o, "lease_ttl", json_integer(lease_ttl)) < 0)) {
    json_decref(o);
    o = NULL;
  }
  if (o)
    members = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!members)
    return airgap_error_set(AIRGAP_ERROR, "out of memory writing job %s", rec->job.id);
  size_t len = strlen(members);
  if (lease_ttl == 0) {
    *out = members;
    *out_len = len;
    return 0;
  }
  /* {"id":…,"lease_ttl":N} + ,"spec":TEXT before the closing brace: the
   * spec text was made canonical when the job was submitted. */
  static const char key[] = ",\"spec\":";
  size_t spec_len = strlen(rec->job.spec_json);
  size_t total = len - 1 + sizeof(key) - 1 + spec_len + 1;
  text = malloc(total + 1);
  if (!text) {
    free(members);
    return airgap_error_set(AIRGAP_ERROR, "out of memory writing job %s", rec->job.id);
  }
  memcpy(text, members, len - 1);
  memcpy(text + len - 1, key, sizeof(key) - 1);
  memcpy(text + len - 1 + sizeof(key) - 1, rec->job.spec_json, spec_len);
  text[total - 1] = '}';
  text[total] = '\0';
  free(members);
  *out = text;
  *out_len = total;
  return 0;
}

static int dup_field(char **out, json_t *obj, const char *name, int required) {
  json_t *v = json_object_get(obj, name);
  if (!v || json_is_null(v)) {
    if (required)
      return airgap_error_set(AIRGAP_EINVALID, "queue answered a job without '%s'", name);
    return 0;
  }
  if (!json_is_string(v))
    return airgap_error_set(AIRGAP_EINVALID, "queue answered a job whose '%s' is not a string",
                            name);
  *out = strdup(json_string_value(v));
  return *out ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
}

int queue_job_from_json(queue_job **out, json_t *obj) {
  queue_job *j = NULL;
  int error = 0;
  if (!json_is_object(obj))
    return airgap_error_set(AIRGAP_EINVALID, "queue answered something that is not a job");
  j = calloc(1, sizeof(*j));
  if (!j)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  if ((error = dup_field(&j->id, obj, "id", 1)) < 0 ||
      (error = dup_field(&j->state, obj, "state", 1)) < 0 ||
      (error = dup_field(&j->reason, obj, "reason", 0)) < 0 ||
      (error = dup_field(&j->agent, obj, "agent", 0)) < 0 ||
      (error = dup_field(&j->lease, obj, "lease", 0)) < 0)
    goto cleanup;
  json_t *ec = json_object_get(obj, "exit_code");
  if (json_is_integer(ec)) {
    j->has_exit_code = 1;
    j->exit_code = (int)json_integer_value(ec);
  }
  j->attempts = (unsigned)json_integer_value(json_object_get(obj, "attempts"));
  j->created_at = json_integer_value(json_object_get(obj, "created_at"));
  j->started_at = json_integer_value(json_object_get(obj, "started_at"));
  j->finished_at = json_integer_value(json_object_get(obj, "finished_at"));
  j->cancel_requested = json_is_true(json_object_get(obj, "cancel_requested"));
  j->log_size = (uint64_t)json_integer_value(json_object_get(obj, "log_size"));
  j->lease_ttl = (unsigned)json_integer_value(json_object_get(obj, "lease_ttl"));
  /* The spec's text is handed on, not parsed: see queue_job in queue.h. */
  json_t *spec = json_object_get(obj, "spec");
  if (!json_is_object(spec)) {
    error = airgap_error_set(AIRGAP_EINVALID, "queue answered a job without a spec object");
    goto cleanup;
  }
  if (!(j->spec_json = json_dumps(spec, JSON_COMPACT))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  *out = j;
  j = NULL;
cleanup:
  queue_job_free(j);
  return error;
}
