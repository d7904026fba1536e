/*
 * spec.c — the job spec: parsing, validation and serialization (see DESIGN.md
 * "The job spec").
 *
 * A spec arrives from the network, so it is hostile until proven otherwise:
 * the whole document and every string, map and list have a size limit, unknown
 * fields and duplicate keys are refused (a typo such as "timout" must not be
 * silently ignored), names that end up as environment variables, git refs or
 * paths are checked against conservative alphabets, and no string may carry a
 * NUL or other control characters where they make no sense. A refusal names
 * the field and the reason; nothing is half-built.
 */
#include "queue/queue.h"
#include "common/error.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPO 2048
#define MAX_REF 255
#define MAX_IMAGE 512
#define MAX_MOUNTPOINT 1024
#define MAX_SERVICE 32
#define MAX_MEMORY 32

static int fail(queue_spec_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(queue_spec_error *err, int code, const char *field, const char *fmt, ...) {
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof(reason), fmt, ap);
  va_end(ap);
  if (err) {
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
  }
  return airgap_error_set(code, "invalid job spec: %s: %s", field, reason);
}

void queue_spec_free(queue_spec *spec) {
  if (!spec)
    return;
  free(spec->repo);
  free(spec->ref);
  free(spec->commit);
  free(spec->image);
  free(spec->script);
  for (size_t i = 0; i < spec->env_count; i++) {
    free(spec->env[i].key);
    free(spec->env[i].value);
  }
  free(spec->env);
  for (size_t i = 0; i < spec->secret_count; i++) {
    free(spec->secrets[i].key);
    free(spec->secrets[i].value);
  }
  free(spec->secrets);
  for (size_t i = 0; i < spec->service_count; i++)
    free(spec->services[i]);
  free(spec->services);
  for (size_t i = 0; i < spec->label_count; i++)
    free(spec->labels[i]);
  free(spec->labels);
  free(spec->memory);
  free(spec->mountpoint);
  free(spec);
}

/* No control characters at all (single-line values). */
static int single_line(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return 0;
  return 1;
}

/* Text may hold newlines and tabs, not NUL or other control bytes. */
static int text_ok(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
      return 0;
  }
  return 1;
}

/* Reads a string field into *out (owned). required: absent is an error. */
static int get_string(char **out, json_t *obj, const char *name, size_t max, int multiline,
                      int required, queue_spec_error *err) {
  json_t *v = json_object_get(obj, name);
  if (!v) {
    if (required)
      return fail(err, AIRGAP_EINVALID, name, "is required");
    return 0;
  }
  if (!json_is_string(v))
    return fail(err, AIRGAP_EINVALID, name, "must be a string");
  size_t len = json_string_length(v);
  const char *s = json_string_value(v);
  if (len == 0)
    return fail(err, AIRGAP_EINVALID, name, "must not be empty");
  if (len > max)
    return fail(err, AIRGAP_ETOOBIG, name, "is longer than %zu bytes", max);
  if (strlen(s) != len)
    return fail(err, AIRGAP_EINVALID, name, "contains a NUL character");
  if (multiline ? !text_ok(s, len) : !single_line(s, len))
    return fail(err, AIRGAP_EINVALID, name, "contains control characters");
  *out = strdup(s);
  if (!*out)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  return 0;
}

static int env_key_ok(const char *k) {
  if (!(isalpha((unsigned char)k[0]) || k[0] == '_'))
    return 0;
  for (const char *p = k; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_'))
      return 0;
  return 1;
}

static int get_map(queue_kv **out, size_t *out_count, json_t *obj, const char *name,
                   queue_spec_error *err) {
  json_t *m = json_object_get(obj, name);
  char field[QUEUE_MAX_ENV_KEY + 16];
  if (!m)
    return 0;
  if (!json_is_object(m))
    return fail(err, AIRGAP_EINVALID, name, "must be an object of NAME: \"value\" pairs");
  size_t n = json_object_size(m);
  if (n > QUEUE_MAX_ENV)
    return fail(err, AIRGAP_ETOOBIG, name, "has more than %d entries", QUEUE_MAX_ENV);
  if (n == 0)
    return 0;
  queue_kv *kv = calloc(n, sizeof(*kv));
  if (!kv)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  size_t i = 0;
  const char *key;
  json_t *val;
  int error = 0;
  json_object_foreach(m, key, val) {
    size_t klen = strlen(key);
    snprintf(field, sizeof(field), "%s.%.*s", name, (int)(klen > QUEUE_MAX_ENV_KEY ? 32 : klen),
             key);
    if (klen == 0 || klen > QUEUE_MAX_ENV_KEY) {
      error =
          fail(err, AIRGAP_EINVALID, field, "names must be 1 to %d characters", QUEUE_MAX_ENV_KEY);
      goto cleanup;
    }
    if (!env_key_ok(key)) {
      error = fail(err, AIRGAP_EINVALID, field,
                   "names must match [A-Za-z_][A-Za-z0-9_]* (environment variable names)");
      goto cleanup;
    }
    if (!json_is_string(val)) {
      error = fail(err, AIRGAP_EINVALID, field, "must be a string");
      goto cleanup;
    }
    size_t vlen = json_string_length(val);
    if (vlen > QUEUE_MAX_ENV_VALUE) {
      error = fail(err, AIRGAP_ETOOBIG, field, "is longer than %u bytes", QUEUE_MAX_ENV_VALUE);
      goto cleanup;
    }
    if (strlen(json_string_value(val)) != vlen) {
      error = fail(err, AIRGAP_EINVALID, field, "contains a NUL character");
      goto cleanup;
    }
    kv[i].key = strdup(key);
    kv[i].value = strdup(json_string_value(val));
    i++;
    if (!kv[i - 1].key || !kv[i - 1].value) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
  }
cleanup:
  if (error < 0) {
    for (size_t j = 0; j < i; j++) {
      free(kv[j].key);
      free(kv[j].value);
    }
    free(kv);
    return error;
  }
  *out = kv;
  *out_count = i;
  return 0;
}

static int name_ok(const char *s, const char *extra) {
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr(extra, *p)))
      return 0;
  return 1;
}

/* A list of unique short names from the alphabet [A-Za-z0-9] + extra. */
static int get_names(char ***out, size_t *out_count, json_t *obj, const char *name, size_t max,
                     size_t max_len, const char *extra, int lower_only, queue_spec_error *err) {
  json_t *a = json_object_get(obj, name);
  char field[64];
  if (!a)
    return 0;
  if (!json_is_array(a))
    return fail(err, AIRGAP_EINVALID, name, "must be an array of strings");
  size_t n = json_array_size(a);
  if (n > max)
    return fail(err, AIRGAP_ETOOBIG, name, "has more than %zu entries", max);
  if (n == 0)
    return 0;
  char **list = calloc(n, sizeof(*list));
  if (!list)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  size_t i;
  int error = 0;
  for (i = 0; i < n; i++) {
    json_t *v = json_array_get(a, i);
    snprintf(field, sizeof(field), "%s[%zu]", name, i);
    if (!json_is_string(v)) {
      error = fail(err, AIRGAP_EINVALID, field, "must be a string");
      goto cleanup;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > max_len || strlen(s) != len || !name_ok(s, extra)) {
      error = fail(err, AIRGAP_EINVALID, field, "must be 1 to %zu characters of [%s0-9%s]", max_len,
                   lower_only ? "a-z" : "A-Za-z", extra);
      goto cleanup;
    }
    if (lower_only)
      for (const char *p = s; *p; p++)
        if (isupper((unsigned char)*p)) {
          error = fail(err, AIRGAP_EINVALID, field, "must be lower case");
          goto cleanup;
        }
    for (size_t j = 0; j < i; j++)
      if (strcmp(list[j], s) == 0) {
        error = fail(err, AIRGAP_EINVALID, field, "'%s' is listed twice", s);
        goto cleanup;
      }
    list[i] = strdup(s);
    if (!list[i]) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
  }
cleanup:
  if (error < 0) {
    for (size_t j = 0; j < i; j++)
      free(list[j]);
    free(list);
    return error;
  }
  *out = list;
  *out_count = n;
  return 0;
}

static int check_ref(const char *ref, queue_spec_error *err) {
  /* git check-ref-format's main rules, plus no leading '-' (option injection) */
  if (ref[0] == '-' || strstr(ref, "..") || strstr(ref, "@{") || strstr(ref, "//") ||
      ref[strlen(ref) - 1] == '/' || ref[strlen(ref) - 1] == '.')
    return fail(err, AIRGAP_EINVALID, "ref", "is not a valid git ref name");
  for (const char *p = ref; *p; p++)
    if (*p == ' ' || *p == '~' || *p == '^' || *p == ':' || *p == '?' || *p == '*' || *p == '[' ||
        *p == '\\')
      return fail(err, AIRGAP_EINVALID, "ref", "is not a valid git ref name ('%c')", *p);
  return 0;
}

static int check_memory(const char *m, queue_spec_error *err) {
  /* digits with an optional b/k/m/g suffix, as docker run --memory takes */
  size_t len = strlen(m), digits = 0;
  while (digits < len && isdigit((unsigned char)m[digits]))
    digits++;
  if (digits == 0 || digits > 15 || len - digits > 1 ||
      (len > digits && !strchr("bkmgBKMG", m[digits])))
    return fail(err, AIRGAP_EINVALID, "resources.memory",
                "must be a size such as \"512m\" or \"2g\"");
  return 0;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *prefix,
                      queue_spec_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    int ok = 0;
    for (size_t i = 0; allowed[i] && !ok; i++)
      ok = strcmp(key, allowed[i]) == 0;
    if (!ok) {
      /* The name comes from the submitter: show it printable, and name an empty one. */
      char shown[65];
      size_t n = 0;
      for (const char *c = key; *c && n < sizeof(shown) - 1; c++)
        shown[n++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
      shown[n] = '\0';
      char field[96];
      snprintf(field, sizeof(field), "%s%s", prefix, n ? shown : "(empty name)");
      return fail(err, AIRGAP_EINVALID, field, "unknown field");
    }
  }
  return 0;
}

static int parse_resources(queue_spec *spec, json_t *root, queue_spec_error *err) {
  static const char *const keys[] = {"memory", "cpus", "pids", NULL};
  json_t *r = json_object_get(root, "resources");
  if (!r)
    return 0;
  if (!json_is_object(r))
    return fail(err, AIRGAP_EINVALID, "resources", "must be an object");
  int error = check_keys(r, keys, "resources.", err);
  if (error < 0)
    return error;
  error = get_string(&spec->memory, r, "memory", MAX_MEMORY, 0, 0, err);
  if (error < 0) {
    if (err && strcmp(err->field, "memory") == 0)
      snprintf(err->field, sizeof(err->field), "resources.memory");
    return error;
  }
  if (spec->memory && (error = check_memory(spec->memory, err)) < 0)
    return error;
  json_t *c = json_object_get(r, "cpus");
  if (c) {
    if (!json_is_number(c) || !isfinite(json_number_value(c)) || json_number_value(c) <= 0 ||
        json_number_value(c) > 1024)
      return fail(err, AIRGAP_EINVALID, "resources.cpus", "must be a number in (0, 1024]");
    spec->cpus = json_number_value(c);
  }
  json_t *p = json_object_get(r, "pids");
  if (p) {
    if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 4194304)
      return fail(err, AIRGAP_EINVALID, "resources.pids", "must be an integer in [1, 4194304]");
    spec->pids = (unsigned)json_integer_value(p);
  }
  return 0;
}

/* The one rule for where the workspace goes in the job container, applied at
 * submit (so a job the agent would refuse never enters the queue) and again by
 * the agent before it builds the bind (specs queued by older servers). The
 * path lands in Docker's "src:dst[:ro]" bind syntax, so ':' and ',' would
 * smuggle in options or a second mount; it must be normalised so that what we
 * check is what Docker mounts; and it must not hide the directories a
 * container needs to run (its shell, libraries, /proc, /dev...). Returns why
 * the path is refused, or NULL. */
static const char *mountpoint_reason(const char *m) {
  static const char *const system_dirs[] = {"/bin",   "/boot",  "/dev",    "/etc",  "/lib",
                                            "/lib32", "/lib64", "/libx32", "/proc", "/run",
                                            "/sbin",  "/sys",   "/usr",    "/var",  NULL};
  /* Everything below these is the kernel's or the engine's. */
  static const char *const system_trees[] = {"/dev/", "/proc/", "/sys/", "/run/", NULL};
  if (m[0] != '/')
    return "must be an absolute path";
  if (m[1] == '\0')
    return "must not be / (it would hide the image)";
  for (const char *p = m; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!isalnum(c) && !strchr("/._-+@", c))
      return "may only contain letters, digits and / . _ - + @ (no ':' or ',')";
  }
  size_t len = strlen(m);
  if (m[len - 1] == '/')
    return "must not end with '/'";
  /* Normalised: no empty, "." or ".." component. */
  for (const char *c = m; c; c = strchr(c + 1, '/')) {
    const char *next = c + 1;
    size_t n = strcspn(next, "/");
    if (n == 0 || (n == 1 && next[0] == '.') || (n == 2 && next[0] == '.' && next[1] == '.'))
      return "must be a normalised path (no '//', '.' or '..' components)";
  }
  for (size_t i = 0; system_dirs[i]; i++)
    if (strcmp(m, system_dirs[i]) == 0)
      return "must not be a system directory of the container (/usr, /etc, /proc...)";
  for (size_t i = 0; system_trees[i]; i++)
    if (strncmp(m, system_trees[i], strlen(system_trees[i])) == 0)
      return "must not be inside /dev, /proc, /sys or /run";
  return NULL;
}

int queue_spec_mountpoint_check(const char *path) {
  const char *reason = path ? mountpoint_reason(path) : "is missing";
  if (reason)
    return airgap_error_set(AIRGAP_EINVALID, "mountpoint '%s' %s", path ? path : "", reason);
  return 0;
}

int queue_spec_parse(queue_spec **out, const char *json, size_t len, queue_spec_error *err) {
  static const char *const keys[] = {"repo",      "ref",        "commit",  "image",    "script",
                                     "env",       "secrets",    "timeout", "services", "labels",
                                     "resources", "mountpoint", NULL};
  json_t *root = NULL;
  queue_spec *spec = NULL;
  json_error_t jerr;
  int error = 0;
  if (err)
    memset(err, 0, sizeof(*err));
  if (len > QUEUE_MAX_SPEC_BYTES)
    return fail(err, AIRGAP_ETOOBIG, "spec", "is larger than %u bytes", QUEUE_MAX_SPEC_BYTES);
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return fail(err, AIRGAP_EINVALID, "spec", "is not valid JSON: %s (line %d, column %d)",
                jerr.text, jerr.line, jerr.column);
  if (!json_is_object(root)) {
    error = fail(err, AIRGAP_EINVALID, "spec", "must be a JSON object");
    goto cleanup;
  }
  error = check_keys(root, keys, "", err);
  if (error < 0)
    goto cleanup;
  spec = calloc(1, sizeof(*spec));
  if (!spec) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if ((error = get_string(&spec->repo, root, "repo", MAX_REPO, 0, 1, err)) < 0 ||
      (error = get_string(&spec->ref, root, "ref", MAX_REF, 0, 0, err)) < 0 ||
      (error = get_string(&spec->commit, root, "commit", 64, 0, 0, err)) < 0 ||
      (error = get_string(&spec->image, root, "image", MAX_IMAGE, 0, 1, err)) < 0 ||
      (error = get_string(&spec->script, root, "script", QUEUE_MAX_SCRIPT_BYTES, 1, 1, err)) < 0 ||
      (error = get_string(&spec->mountpoint, root, "mountpoint", MAX_MOUNTPOINT, 0, 0, err)) < 0)
    goto cleanup;
  if (spec->repo[0] == '-') {
    error = fail(err, AIRGAP_EINVALID, "repo", "must not start with '-'");
    goto cleanup;
  }
  if (spec->ref && (error = check_ref(spec->ref, err)) < 0)
    goto cleanup;
  if (spec->commit) {
    size_t cl = strlen(spec->commit);
    int hex = cl >= 4;
    for (size_t i = 0; i < cl && hex; i++)
      hex = isxdigit((unsigned char)spec->commit[i]);
    if (!hex) {
      error = fail(err, AIRGAP_EINVALID, "commit", "must be 4 to 64 hexadecimal digits");
      goto cleanup;
    }
  }
  for (const char *p = spec->image; *p; p++)
    if (*p == ' ') {
      error = fail(err, AIRGAP_EINVALID, "image", "must not contain spaces");
      goto cleanup;
    }
  if (spec->mountpoint) {
    const char *reason = mountpoint_reason(spec->mountpoint);
    if (reason) {
      error = fail(err, AIRGAP_EINVALID, "mountpoint", "%s", reason);
      goto cleanup;
    }
  }
  if ((error = get_map(&spec->env, &spec->env_count, root, "env", err)) < 0 ||
      (error = get_map(&spec->secrets, &spec->secret_count, root, "secrets", err)) < 0)
    goto cleanup;
  json_t *t = json_object_get(root, "timeout");
  spec->timeout = QUEUE_DEFAULT_TIMEOUT;
  if (t) {
    if (!json_is_integer(t) || json_integer_value(t) < 1 ||
        json_integer_value(t) > QUEUE_MAX_TIMEOUT) {
      error = fail(err, AIRGAP_EINVALID, "timeout",
                   "must be an integer number of seconds in "
                   "[1, %u]",
                   QUEUE_MAX_TIMEOUT);
      goto cleanup;
    }
    spec->timeout = (unsigned)json_integer_value(t);
  }
  if ((error = get_names(&spec->services, &spec->service_count, root, "services",
                         QUEUE_MAX_SERVICES, MAX_SERVICE, "-", 1, err)) < 0 ||
      (error = get_names(&spec->labels, &spec->label_count, root, "labels", QUEUE_MAX_LABELS,
                         QUEUE_MAX_LABEL, "._:=-", 0, err)) < 0)
    goto cleanup;
  if ((error = parse_resources(spec, root, err)) < 0)
    goto cleanup;
  if (!spec->ref && !(spec->ref = strdup("HEAD"))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if (!spec->mountpoint && !(spec->mountpoint = strdup("/workspace"))) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  *out = spec;
  spec = NULL;
cleanup:
  queue_spec_free(spec);
  json_decref(root);
  return error;
}

static json_t *map_json(const queue_kv *kv, size_t n, int mask) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    if (json_object_set_new(o, kv[i].key, json_string(mask ? "***" : kv[i].value)) < 0) {
      json_decref(o);
      return NULL;
    }
  return o;
}

static json_t *names_json(char *const *names, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(names[i])) < 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

int queue_spec_to_json(char **out, const queue_spec *spec, int mask_secrets) {
  json_t *o = json_object();
  int bad = !o;
  bad = bad || json_object_set_new(o, "repo", json_string(spec->repo)) < 0;
  bad = bad || json_object_set_new(o, "ref", json_string(spec->ref)) < 0;
  if (spec->commit)
    bad = bad || json_object_set_new(o, "commit", json_string(spec->commit)) < 0;
  bad = bad || json_object_set_new(o, "image", json_string(spec->image)) < 0;
  bad = bad || json_object_set_new(o, "script", json_string(spec->script)) < 0;
  bad = bad || json_object_set_new(o, "env", map_json(spec->env, spec->env_count, 0)) < 0;
  bad = bad || json_object_set_new(o, "secrets",
                                   map_json(spec->secrets, spec->secret_count, mask_secrets)) < 0;
  bad = bad || json_object_set_new(o, "timeout", json_integer(spec->timeout)) < 0;
  bad = bad ||
        json_object_set_new(o, "services", names_json(spec->services, spec->service_count)) < 0;
  bad = bad || json_object_set_new(o, "labels", names_json(spec->labels, spec->label_count)) < 0;
  if (spec->memory || spec->cpus > 0 || spec->pids > 0) {
    json_t *r = json_object();
    bad = bad || !r;
    if (r && spec->memory)
      bad = bad || json_object_set_new(r, "memory", json_string(spec->memory)) < 0;
    if (r && spec->cpus > 0)
      bad = bad || json_object_set_new(r, "cpus", json_real(spec->cpus)) < 0;
    if (r && spec->pids > 0)
      bad = bad || json_object_set_new(r, "pids", json_integer(spec->pids)) < 0;
    bad = bad || json_object_set_new(o, "resources", r) < 0;
  }
  bad = bad || json_object_set_new(o, "mountpoint", json_string(spec->mountpoint)) < 0;
  char *text = bad ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text)
    return airgap_error_set(AIRGAP_ERROR, "out of memory serializing a job spec");
  *out = text;
  return 0;
}

void queue_job_free(queue_job *job) {
  if (!job)
    return;
  free(job->id);
  free(job->state);
  free(job->reason);
  free(job->agent);
  free(job->lease);
  free(job->spec_json);
  free(job);
}

void queue_job_list_free(queue_job **jobs, size_t count) {
  if (!jobs)
    return;
  for (size_t i = 0; i < count; i++)
    queue_job_free(jobs[i]);
  free(jobs);
}
