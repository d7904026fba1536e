/*
 * agent_handoff.c — what the agent hands a job supervisor, written and read
 * here together so the two ends cannot drift, and where a job's run directory
 * is.
 *
 * The supervisor gets its job over a pipe on its stdin, not in argv or the
 * environment: the job carries the agent's token and the spec's secrets. The
 * hand-off is one line of compact JSON with the parameters (compact JSON
 * escapes every newline inside strings, so the first newline ends it), then
 * the spec's JSON text exactly as the queue's lease answer carried it, up to
 * the end of the stream. The spec is therefore never re-encoded between the
 * queue and the supervisor, which parses it once, where it is used
 * (agent_job_run). Both parts are bounded when read; the buffers that held
 * them are wiped before they are freed.
 */
#include "agent/agent_int.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/jsonutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HANDOFF_MAX_BYTES (2u * 1024 * 1024)

int agent_run_dir(char *out, size_t size, const char *work_dir, const char *job_id,
                  unsigned attempt) {
  int n = snprintf(out, size, "%s/%s.%u", work_dir, job_id, attempt);
  if (n < 0 || (size_t)n >= size)
    return airgap_error_set(AIRGAP_EINVALID, "the run directory under %s is too long a path",
                            work_dir);
  return 0;
}

static void wipe_free(char *text) {
  if (text) {
    memset(text, 0, strlen(text));
    free(text);
  }
}

int agent_handoff_write(int fd, const agent_handoff *h) {
  const agent_job_params *p = &h->job;
  json_t *params = json_pack(
      "{s:s, s:s?, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s?, s:s?, s:i, s:i, s:i, s:s?, s:i, "
      "s:b}",
      "queue", p->queue_url, "token", p->token, "agent", p->agent_id, "job", p->job_id, "lease",
      p->lease, "lease_ttl", (int)p->lease_ttl, "cache", p->cache_dir, "work", p->work_dir,
      "network", p->network, "pause", p->pause_path, "user", p->user, "docker_host", p->docker_host,
      "pull", (int)p->pull, "parent", (int)h->parent, "log_level", h->log_level, "sandbox",
      p->sandbox_id, "attempt", (int)p->attempt, "allow_local", p->allow_local_repos ? 1 : 0);
  /* The agent's life and ceilings (agent_life.c, agent_limits.c). */
  json_t *life = json_pack("{s:s?, s:s?, s:I, s:f, s:i, s:I}", "life", p->life_id, "default_memory",
                           p->limits.default_memory, "max_memory", (json_int_t)p->limits.max_memory,
                           "max_cpus", p->limits.max_cpus, "max_pids", (int)p->limits.max_pids,
                           "max_disk", (json_int_t)p->limits.max_disk);
  if (!life || !params || json_object_update(params, life) < 0) {
    json_decref(params);
    params = NULL;
  }
  json_decref(life);
  char *line = params ? json_dumps(params, JSON_COMPACT) : NULL;
  json_decref(params);
  if (!line || !p->spec_json)
    return airgap_error_set(AIRGAP_ERROR, "cannot write the hand-off of job %s: out of memory",
                            p->job_id ? p->job_id : "?");
  int error = 0;
  if (fs_write_all(fd, line, strlen(line)) < 0 || fs_write_all(fd, "\n", 1) < 0 ||
      fs_write_all(fd, p->spec_json, strlen(p->spec_json)) < 0)
    error = airgap_error_set_errno(AIRGAP_ERROR, "the supervisor of job %s did not take its job",
                                   p->job_id);
  wipe_free(line);
  return error;
}

/* Reads fd to its end, at most HANDOFF_MAX_BYTES; *out NUL-terminated. */
static int read_all(char **out, size_t *out_len, int fd) {
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  for (;;) {
    if (len == cap) {
      char *grown = cap < HANDOFF_MAX_BYTES ? malloc(cap * 2 + 1) : NULL;
      if (!grown) {
        memset(buf, 0, len);
        free(buf);
        return cap < HANDOFF_MAX_BYTES
                   ? airgap_error_set(AIRGAP_ERROR, "out of memory")
                   : airgap_error_set(AIRGAP_ETOOBIG,
                                      "the supervisor's job is larger than %u bytes",
                                      HANDOFF_MAX_BYTES);
      }
      memcpy(grown, buf, len); /* not realloc: the old copy is wiped */
      memset(buf, 0, len);
      free(buf);
      buf = grown;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      memset(buf, 0, len);
      free(buf);
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot read the supervisor's job");
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}

int agent_handoff_read(agent_handoff *out, int fd) {
  agent_handoff h;
  json_error_t jerr;
  memset(&h, 0, sizeof(h));
  int error = read_all(&h.text, &h.len, fd);
  if (error < 0)
    return error;
  char *newline = memchr(h.text, '\n', h.len);
  if (newline)
    *newline = '\0';
  h.header = newline ? json_loads(h.text, 0, &jerr) : NULL;
  if (!json_is_object(h.header)) {
    error = airgap_error_set(AIRGAP_EINVALID, "malformed job hand-off: %s",
                             newline ? jerr.text : "no parameter line");
    goto fail;
  }
  json_t *in = h.header;
  h.parent = (pid_t)json_integer_value(json_object_get(in, "parent"));
  h.log_level = (int)json_integer_value(json_object_get(in, "log_level"));
  h.job = (agent_job_params){
      .queue_url = jsonutil_string(in, "queue"),
      .token = jsonutil_string(in, "token"),
      .agent_id = jsonutil_string(in, "agent"),
      .job_id = jsonutil_string(in, "job"),
      .lease = jsonutil_string(in, "lease"),
      .lease_ttl = (unsigned)json_integer_value(json_object_get(in, "lease_ttl")),
      .spec_json = newline + 1,
      .cache_dir = jsonutil_string(in, "cache"),
      .work_dir = jsonutil_string(in, "work"),
      .network = jsonutil_string(in, "network"),
      .pause_path = jsonutil_string(in, "pause"),
      .user = jsonutil_string(in, "user"),
      .docker_host = jsonutil_string(in, "docker_host"),
      .sandbox_id = jsonutil_string(in, "sandbox"),
      .attempt = (unsigned)json_integer_value(json_object_get(in, "attempt")),
      .pull = (agent_pull_policy)json_integer_value(json_object_get(in, "pull")),
      .allow_local_repos = json_is_true(json_object_get(in, "allow_local")),
      .life_id = jsonutil_string(in, "life"),
      .limits =
          {
              .default_memory = jsonutil_string(in, "default_memory"),
              .max_memory = (int64_t)json_integer_value(json_object_get(in, "max_memory")),
              .max_cpus = json_number_value(json_object_get(in, "max_cpus")),
              .max_pids = (unsigned)json_integer_value(json_object_get(in, "max_pids")),
              .max_disk = (uint64_t)json_integer_value(json_object_get(in, "max_disk")),
          },
  };
  const agent_job_params *p = &h.job;
  if (!p->queue_url || !p->agent_id || !p->job_id || !p->lease || !*p->spec_json || !p->cache_dir ||
      !p->work_dir || !p->network || !p->pause_path) {
    error = airgap_error_set(AIRGAP_EINVALID, "the job hand-off lacks a required member");
    goto fail;
  }
  *out = h;
  return 0;
fail:
  agent_handoff_clear(&h);
  return error;
}

void agent_handoff_clear(agent_handoff *h) {
  /* The header's strings (the token) live in jansson's copies: wipe them. */
  const char *key;
  json_t *v;
  if (h->header) {
    json_object_foreach(h->header, key, v) {
      if (json_is_string(v))
        memset((char *)json_string_value(v), 0, json_string_length(v));
    }
  }
  json_decref(h->header);
  if (h->text) {
    memset(h->text, 0, h->len);
    free(h->text);
  }
  memset(h, 0, sizeof(*h));
}
