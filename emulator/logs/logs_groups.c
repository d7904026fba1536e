/*
 * logs_groups.c — log groups: the sorted group table, names and ARNs,
 * Create/Delete/DescribeLogGroups, retention (which also expires events),
 * KMS keys (checked against the emulator's KMS when it is served) and tags,
 * through both the log-group calls (TagLogGroup…) and the ARN ones
 * (TagResource…, which also reach destinations).
 */
#include "emulator/kms/kms.h"
#include "emulator/logs/logs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int RETENTION_DAYS[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                     365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

int logs_name_valid(const char *s, int group) {
  size_t n = strlen(s);
  if (n < 1 || n > 512)
    return 0;
  for (const char *p = s; *p; p++) {
    int alnum = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
    if (group ? !(alnum || strchr("._-/#", *p)) : (*p == ':' || *p == '*'))
      return 0;
  }
  return 1;
}

int logs_group_name_arg(aws_call *call, const char *name, const char *member) {
  if (!name || !logs_name_valid(name, 1)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.600s' at '%s' failed to satisfy "
                  "constraint: Member must satisfy regular expression pattern: "
                  "[\\.\\-_/#A-Za-z0-9]+",
                  name ? name : "null", member);
    return -1;
  }
  return 0;
}

int logs_stream_name_arg(aws_call *call, const char *name) {
  if (!name || !logs_name_valid(name, 0)) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.600s' at 'logStreamName' failed to "
                  "satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
                  name ? name : "null");
    return -1;
  }
  return 0;
}

static void make_key(char *out, size_t n, const char *account, const char *region,
                     const char *name) {
  snprintf(out, n, "%s/%s/%s", account, region, name);
}

/* The index of key, or where it would go. */
static size_t group_pos(logs_state *st, const char *key, int *found) {
  size_t lo = 0, hi = st->ngroups;
  *found = 0;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(st->groups[mid]->key, key);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

logs_group *logs_group_find(logs_state *st, const char *account, const char *region,
                            const char *name) {
  char key[700];
  make_key(key, sizeof(key), account, region, name);
  int found;
  size_t i = group_pos(st, key, &found);
  return found ? st->groups[i] : NULL;
}

logs_group *logs_group_add(logs_state *st, const char *account, const char *region,
                           const char *name) {
  char key[700];
  make_key(key, sizeof(key), account, region, name);
  int found;
  size_t i = group_pos(st, key, &found);
  if (found)
    return NULL;
  if (st->ngroups == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    logs_group **g = realloc(st->groups, cap * sizeof(*g));
    if (!g)
      return NULL;
    st->groups = g;
    st->cap = cap;
  }
  logs_group *g = calloc(1, sizeof(*g));
  if (!g)
    return NULL;
  g->key = strdup(key);
  g->account = strdup(account);
  g->region = strdup(region);
  g->name = strdup(name);
  g->cls = strdup("STANDARD");
  g->tags = json_object();
  g->metric_filters = json_array();
  g->subscription_filters = json_array();
  g->created = logs_now_ms();
  g->next_id = 1;
  if (!g->key || !g->account || !g->region || !g->name || !g->cls || !g->tags ||
      !g->metric_filters || !g->subscription_filters) {
    logs_group_free(g);
    return NULL;
  }
  memmove(st->groups + i + 1, st->groups + i, (st->ngroups - i) * sizeof(*st->groups));
  st->groups[i] = g;
  st->ngroups++;
  return g;
}

void logs_group_free(logs_group *g) {
  if (!g)
    return;
  for (size_t i = 0; i < g->nstreams; i++)
    logs_stream_free(g->streams[i]);
  free(g->streams);
  free(g->key);
  free(g->account);
  free(g->region);
  free(g->name);
  free(g->kms);
  free(g->cls);
  json_decref(g->tags);
  json_decref(g->metric_filters);
  json_decref(g->subscription_filters);
  free(g);
}

void logs_group_arn(char *out, size_t n, const logs_group *g, int star) {
  snprintf(out, n, "arn:aws:logs:%s:%s:log-group:%s%s", g->region, g->account, g->name,
           star ? ":*" : "");
}

/* Splits "arn:aws:logs:<region>:<account>:<kind>:<rest>" into its parts. */
static int parse_arn(char *region, char *account, const char **kind_rest, const char *arn) {
  if (strncmp(arn, "arn:aws:logs:", 13) != 0)
    return -1;
  const char *r = arn + 13, *a = strchr(r, ':');
  if (!a || a - r == 0 || a - r > 31)
    return -1;
  const char *k = strchr(a + 1, ':');
  if (!k || k - (a + 1) != 12)
    return -1;
  memcpy(region, r, (size_t)(a - r));
  region[a - r] = '\0';
  memcpy(account, a + 1, 12);
  account[12] = '\0';
  *kind_rest = k + 1;
  return 0;
}

/* The group an ARN names ("…:log-group:<name>" with or without ":*"). */
static logs_group *group_by_arn(logs_state *st, const char *arn) {
  char region[32], account[13], name[600];
  const char *rest;
  if (parse_arn(region, account, &rest, arn) < 0 || strncmp(rest, "log-group:", 10) != 0)
    return NULL;
  rest += 10;
  size_t n = strlen(rest);
  if (n >= 2 && strcmp(rest + n - 2, ":*") == 0)
    n -= 2;
  if (n == 0 || n >= sizeof(name))
    return NULL;
  memcpy(name, rest, n);
  name[n] = '\0';
  return logs_group_find(st, account, region, name);
}

logs_group *logs_group_arg(logs_state *st, aws_call *call, json_t *input) {
  const char *id = json_string_value(json_object_get(input, "logGroupIdentifier"));
  const char *name = json_string_value(json_object_get(input, "logGroupName"));
  if (id && name) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
    return NULL;
  }
  if (!id && !name) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Should provide either name or ARN of the log group.");
    return NULL;
  }
  logs_group *g;
  if (id && strncmp(id, "arn:", 4) == 0) {
    g = group_by_arn(st, id);
  } else {
    const char *n = id ? id : name;
    if (logs_group_name_arg(call, n, id ? "logGroupIdentifier" : "logGroupName") < 0)
      return NULL;
    g = logs_group_find(st, aws_call_account(call), aws_call_region(call), n);
  }
  if (!g) {
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified log group does not exist.");
    return NULL;
  }
  logs_group_expire(st, g);
  return g;
}

void logs_group_expire(logs_state *st, logs_group *g) {
  if (!g->retention)
    return;
  int64_t oldest = logs_now_ms() - (int64_t)g->retention * 86400000LL;
  for (size_t i = 0; i < g->nstreams; i++) {
    logs_stream *s = g->streams[i];
    size_t k = 0;
    while (k < s->n && s->ev[k].ts < oldest) {
      s->stored -= s->ev[k].len;
      st->stored -= s->ev[k].len;
      free(s->ev[k].msg);
      k++;
    }
    if (k) {
      memmove(s->ev, s->ev + k, (s->n - k) * sizeof(*s->ev));
      s->n -= k;
    }
  }
}

static uint64_t group_bytes(const logs_group *g) {
  uint64_t b = 0;
  for (size_t i = 0; i < g->nstreams; i++)
    b += g->streams[i]->stored;
  return b;
}

/* Tags: at most LOGS_MAX_TAGS, keys 1..128 and values 0..256 characters. */
static int tags_arg(aws_call *call, json_t *tags, size_t have) {
  const char *k;
  json_t *v;
  if (json_object_size(tags) + have > LOGS_MAX_TAGS) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "A resource can have no more than %d tags.", LOGS_MAX_TAGS);
    return -1;
  }
  json_object_foreach(tags, k, v) {
    size_t kl = strlen(k), vl = strlen(json_string_value(v) ? json_string_value(v) : "");
    if (kl < 1 || kl > 128 || vl > 256 || strncmp(k, "aws:", 4) == 0) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "Tag keys must be 1 to 128 characters and not start with aws:, values at most "
                    "256 characters: '%.128s'.",
                    k);
      return -1;
    }
  }
  return 0;
}

/* Checks a KMS key ARN against the emulator's KMS (when it is served). */
static int kms_arg(aws_call *call, const char *key, char **arn_out) {
  *arn_out = NULL;
  if (strncmp(key, "arn:aws:kms:", 12) != 0 || strlen(key) > 256) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "Specified KMS key %.256s is not a key ARN: CloudWatch Logs needs the full "
                  "ARN of the KMS key.",
                  key);
    return -1;
  }
  emulator *emu = logs_state_of(call)->emu;
  if (kms_available(emu)) {
    const char *code = NULL;
    if (kms_key_check(NULL, emu, aws_call_account(call), aws_call_region(call), key, &code) < 0) {
      aws_call_fail(call, 400, "InvalidParameterException",
                    "Specified KMS key %.256s does not exist or cannot be used (%s).", key,
                    code ? code : "NotFoundException");
      return -1;
    }
  }
  *arn_out = strdup(key);
  return 0;
}

void logs_create_log_group(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "logGroupName"));
  const char *kms = json_string_value(json_object_get(input, "kmsKeyId"));
  const char *cls = json_string_value(json_object_get(input, "logGroupClass"));
  json_t *tags = json_object_get(input, "tags");
  char *kms_arn = NULL;
  if (logs_group_name_arg(call, name, "logGroupName") < 0 || (tags && tags_arg(call, tags, 0) < 0))
    return;
  if (cls && strcmp(cls, "STANDARD") && strcmp(cls, "INFREQUENT_ACCESS") &&
      strcmp(cls, "DELIVERY")) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.64s' at 'logGroupClass' failed to "
                  "satisfy constraint: Member must satisfy enum value set: [STANDARD, "
                  "INFREQUENT_ACCESS, DELIVERY]",
                  cls);
    return;
  }
  if (kms && kms_arg(call, kms, &kms_arn) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  if (logs_group_find(st, aws_call_account(call), aws_call_region(call), name)) {
    pthread_mutex_unlock(&st->lock);
    free(kms_arn);
    aws_call_fail(call, 400, "ResourceAlreadyExistsException",
                  "The specified log group already exists");
    return;
  }
  logs_group *g = logs_group_add(st, aws_call_account(call), aws_call_region(call), name);
  if (g) {
    g->kms = kms_arn;
    kms_arn = NULL;
    if (cls) {
      free(g->cls);
      g->cls = strdup(cls);
    }
    if (tags)
      json_object_update(g->tags, tags);
  }
  pthread_mutex_unlock(&st->lock);
  free(kms_arn);
  if (!g) {
    aws_call_fail(call, 500, "ServiceUnavailableException", "out of memory");
    return;
  }
  aws_call_reply(call, NULL);
}

void logs_delete_log_group(aws_call *call, json_t *input) {
  logs_state *st = logs_state_of(call);
  const char *name = json_string_value(json_object_get(input, "logGroupName"));
  if (logs_group_name_arg(call, name, "logGroupName") < 0)
    return;
  pthread_mutex_lock(&st->lock);
  char key[700];
  make_key(key, sizeof(key), aws_call_account(call), aws_call_region(call), name);
  int found;
  size_t i = group_pos(st, key, &found);
  if (found) {
    logs_group *g = st->groups[i];
    st->stored -= group_bytes(g);
    logs_group_free(g);
    memmove(st->groups + i, st->groups + i + 1, (st->ngroups - i - 1) * sizeof(*st->groups));
    st->ngroups--;
  }
  pthread_mutex_unlock(&st->lock);
  if (!found) {
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified log group does not exist.");
    return;
  }
  aws_call_reply(call, NULL);
}

static json_t *describe(const logs_group *g) {
  char arn[700];
  logs_group_arn(arn, sizeof(arn), g, 1);
  json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:s}", "logGroupName", g->name, "creationTime",
                        (json_int_t)g->created, "metricFilterCount",
                        (json_int_t)json_array_size(g->metric_filters), "arn", arn, "storedBytes",
                        (json_int_t)group_bytes(g), "logGroupClass", g->cls);
  logs_group_arn(arn, sizeof(arn), g, 0);
  json_object_set_new(o, "logGroupArn", json_string(arn));
  if (g->retention)
    json_object_set_new(o, "retentionInDays", json_integer(g->retention));
  if (g->kms)
    json_object_set_new(o, "kmsKeyId", json_string(g->kms));
  return o;
}

/* Case-insensitive substring, for logGroupNamePattern. */
static int contains_ci(const char *s, const char *pat) {
  size_t n = strlen(pat);
  for (; *s; s++)
    if (strncasecmp(s, pat, n) == 0)
      return 1;
  return n == 0;
}

void logs_describe_log_groups(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "logGroupNamePrefix"));
  const char *pattern = json_string_value(json_object_get(input, "logGroupNamePattern"));
  const char *cls = json_string_value(json_object_get(input, "logGroupClass"));
  size_t limit, offset;
  if (prefix && pattern) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "LogGroup name prefix and LogGroup name pattern are mutually exclusive "
                  "parameters.");
    return;
  }
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  char key[700];
  make_key(key, sizeof(key), aws_call_account(call), aws_call_region(call), prefix ? prefix : "");
  size_t klen = strlen(key), skipped = 0;
  json_t *out = json_array();
  int more = 0;
  pthread_mutex_lock(&st->lock);
  int found;
  for (size_t i = group_pos(st, key, &found); i < st->ngroups; i++) {
    logs_group *g = st->groups[i];
    if (strncmp(g->key, key, klen) != 0)
      break;
    if ((pattern && !contains_ci(g->name, pattern)) || (cls && strcmp(cls, g->cls) != 0))
      continue;
    if (skipped++ < offset)
      continue;
    if (json_array_size(out) == limit) {
      more = 1;
      break;
    }
    logs_group_expire(st, g);
    json_array_append_new(out, describe(g));
  }
  pthread_mutex_unlock(&st->lock);
  json_t *reply = json_pack("{s:o}", "logGroups", out);
  if (more)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

void logs_put_retention_policy(aws_call *call, json_t *input) {
  json_int_t days = json_integer_value(json_object_get(input, "retentionInDays"));
  int ok = 0;
  for (size_t i = 0; i < sizeof(RETENTION_DAYS) / sizeof(RETENTION_DAYS[0]); i++)
    ok |= RETENTION_DAYS[i] == days;
  if (!ok) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%lld' at 'retentionInDays' failed to "
                  "satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, "
                  "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
                  "3288, 3653]",
                  (long long)days);
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (g) {
    g->retention = (int)days;
    logs_group_expire(st, g);
  }
  pthread_mutex_unlock(&st->lock);
  if (g)
    aws_call_reply(call, NULL);
}

void logs_delete_retention_policy(aws_call *call, json_t *input) {
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (g)
    g->retention = 0;
  pthread_mutex_unlock(&st->lock);
  if (g)
    aws_call_reply(call, NULL);
}

void logs_associate_kms_key(aws_call *call, json_t *input) {
  const char *kms = json_string_value(json_object_get(input, "kmsKeyId"));
  char *arn = NULL;
  if (!kms || kms_arg(call, kms, &arn) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (g) {
    free(g->kms);
    g->kms = arn;
    arn = NULL;
  }
  pthread_mutex_unlock(&st->lock);
  free(arn);
  if (g)
    aws_call_reply(call, NULL);
}

void logs_disassociate_kms_key(aws_call *call, json_t *input) {
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (g) {
    free(g->kms);
    g->kms = NULL;
  }
  pthread_mutex_unlock(&st->lock);
  if (g)
    aws_call_reply(call, NULL);
}

/* ---- tags ---- */

/* The tag object of the resource an ARN names (a log group or a
 * destination), under the lock; NULL after answering. */
static json_t *tags_of_arn(logs_state *st, aws_call *call, const char *arn) {
  char region[32], account[13];
  const char *rest;
  json_t *tags = NULL;
  if (arn && parse_arn(region, account, &rest, arn) == 0) {
    if (strncmp(rest, "log-group:", 10) == 0) {
      logs_group *g = group_by_arn(st, arn);
      tags = g ? g->tags : NULL;
    } else if (strncmp(rest, "destination:", 12) == 0) {
      char key[700];
      snprintf(key, sizeof(key), "%s/%s/%s", account, region, rest + 12);
      tags = json_object_get(json_object_get(st->destinations, key), "tags");
    }
  }
  if (!tags)
    aws_call_fail(call, 400, "ResourceNotFoundException", "The specified resource does not exist.");
  return tags;
}

static void tag_common(aws_call *call, json_t *input, int by_arn) {
  json_t *tags = json_object_get(input, "tags");
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *have = NULL;
  if (by_arn) {
    have = tags_of_arn(st, call, json_string_value(json_object_get(input, "resourceArn")));
  } else {
    logs_group *g = logs_group_arg(st, call, input);
    have = g ? g->tags : NULL;
  }
  if (!have) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  size_t extra = 0;
  const char *k;
  json_t *v;
  json_object_foreach(tags, k, v) extra += json_object_get(have, k) ? 0 : 1;
  int bad = tags_arg(call, tags, json_object_size(have) + extra - json_object_size(tags));
  if (!bad)
    json_object_update(have, tags);
  pthread_mutex_unlock(&st->lock);
  if (!bad)
    aws_call_reply(call, NULL);
}

static void untag_common(aws_call *call, json_t *input, int by_arn) {
  json_t *keys = json_object_get(input, by_arn ? "tagKeys" : "tags");
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *have = NULL;
  if (by_arn) {
    have = tags_of_arn(st, call, json_string_value(json_object_get(input, "resourceArn")));
  } else {
    logs_group *g = logs_group_arg(st, call, input);
    have = g ? g->tags : NULL;
  }
  size_t i;
  json_t *k;
  if (have)
    json_array_foreach(keys, i, k) json_object_del(have, json_string_value(k));
  pthread_mutex_unlock(&st->lock);
  if (have)
    aws_call_reply(call, NULL);
}

static void list_common(aws_call *call, json_t *input, int by_arn) {
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *have = NULL;
  if (by_arn) {
    have = tags_of_arn(st, call, json_string_value(json_object_get(input, "resourceArn")));
  } else {
    logs_group *g = logs_group_arg(st, call, input);
    have = g ? g->tags : NULL;
  }
  json_t *copy = have ? json_deep_copy(have) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (have)
    aws_call_reply(call, json_pack("{s:o}", "tags", copy ? copy : json_object()));
}

void logs_tag_log_group(aws_call *call, json_t *input) { tag_common(call, input, 0); }
void logs_untag_log_group(aws_call *call, json_t *input) { untag_common(call, input, 0); }
void logs_list_tags_log_group(aws_call *call, json_t *input) { list_common(call, input, 0); }
void logs_tag_resource(aws_call *call, json_t *input) { tag_common(call, input, 1); }
void logs_untag_resource(aws_call *call, json_t *input) { untag_common(call, input, 1); }
void logs_list_tags_for_resource(aws_call *call, json_t *input) { list_common(call, input, 1); }
