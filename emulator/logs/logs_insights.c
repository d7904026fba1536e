/*
 * logs_insights.c — the Logs Insights calls: StartQuery runs the query at
 * once over the groups named (the store is in memory, so there is nothing to
 * wait for) and keeps its results under a query id; GetQueryResults answers
 * them with status Complete; StopQuery finds nothing still running;
 * DescribeQueries lists them; GetLogRecord opens an @ptr; GetLogGroupFields
 * counts the fields of recent events; query definitions are stored per
 * Region. At most LOGS_MAX_QUERIES results are kept, the oldest dropped
 * first.
 */
#include "common/codec.h"
#include "emulator/logs/logs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The groups StartQuery names (logGroupName, logGroupNames or
 * logGroupIdentifiers: exactly one); -1 after answering. */
static int query_groups(logs_state *st, aws_call *call, json_t *input, logs_group **out,
                        size_t *n) {
  json_t *one = json_object_get(input, "logGroupName");
  json_t *names = json_object_get(input, "logGroupNames");
  json_t *ids = json_object_get(input, "logGroupIdentifiers");
  int given = !!one + !!names + !!ids;
  *n = 0;
  if (given != 1) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  given ? "Exactly one of logGroupName, logGroupNames and logGroupIdentifiers "
                          "may be given."
                        : "Either logGroupName, logGroupNames or logGroupIdentifiers is required.");
    return -1;
  }
  json_t *list = one ? json_pack("[O]", one) : json_incref(names ? names : ids);
  if (json_array_size(list) > 50) {
    json_decref(list);
    aws_call_fail(call, 400, "InvalidParameterException",
                  "A query can search at most 50 log groups.");
    return -1;
  }
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    json_t *arg = json_pack("{s:O}", ids ? "logGroupIdentifier" : "logGroupName", v);
    logs_group *g = logs_group_arg(st, call, arg);
    json_decref(arg);
    if (!g) {
      json_decref(list);
      return -1;
    }
    int dup = 0;
    for (size_t k = 0; k < *n; k++)
      dup |= out[k] == g;
    if (!dup)
      out[(*n)++] = g;
  }
  json_decref(list);
  return 0;
}

void logs_start_query(aws_call *call, json_t *input) {
  const char *text = json_string_value(json_object_get(input, "queryString"));
  json_int_t start = json_integer_value(json_object_get(input, "startTime"));
  json_int_t end = json_integer_value(json_object_get(input, "endTime"));
  size_t limit;
  logs_query *q = NULL;
  char err[300];
  if (!text || strlen(text) > 10000) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "queryString is required and at most 10000 characters.");
    return;
  }
  if (end < start) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "End time should not be before the start time");
    return;
  }
  if (logs_limit_arg(call, input, "limit", 10000, 10000, &limit) < 0)
    return;
  if (logs_query_parse(&q, text, err, sizeof(err)) < 0) {
    json_t *fields = json_pack("{s:{s:{s:i, s:i}, s:s}}", "queryCompileError", "location", "start",
                               0, "end", 0, "message", err);
    aws_call_fail_fields(call, 400, "MalformedQueryException", fields, "%s", err);
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group **groups = calloc(51, sizeof(*groups));
  size_t n = 0;
  if (!groups || query_groups(st, call, input, groups, &n) < 0) {
    pthread_mutex_unlock(&st->lock);
    if (!groups)
      aws_call_fail(call, 500, "ServiceUnavailableException", "out of memory");
    free(groups);
    logs_query_free(q);
    return;
  }
  json_t *results = NULL, *stats = NULL;
  for (size_t i = 0; i < n; i++)
    logs_group_expire(st, groups[i]);
  logs_query_run(&results, &stats, q, groups, n, (int64_t)start * 1000, (int64_t)end * 1000 + 999,
                 limit);
  char id[37];
  codec_uuid4(id);
  json_t *rec =
      json_pack("{s:{s:s, s:s, s:s, s:I, s:s}, s:o, s:o}", "info", "queryId", id, "queryString",
                text, "status", "Complete", "createTime", (json_int_t)logs_now_ms(), "logGroupName",
                groups[0]->name, "results", results, "statistics", stats);
  json_object_set_new(st->queries, id, rec);
  json_array_append_new(st->query_order, json_string(id));
  while (json_array_size(st->query_order) > LOGS_MAX_QUERIES) {
    json_object_del(st->queries, json_string_value(json_array_get(st->query_order, 0)));
    json_array_remove(st->query_order, 0);
  }
  pthread_mutex_unlock(&st->lock);
  free(groups);
  logs_query_free(q);
  aws_call_reply(call, json_pack("{s:s}", "queryId", id));
}

void logs_get_query_results(aws_call *call, json_t *input) {
  const char *id = json_string_value(json_object_get(input, "queryId"));
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *rec = id ? json_object_get(st->queries, id) : NULL;
  json_t *reply = rec ? json_pack("{s:O, s:O, s:O}", "results", json_object_get(rec, "results"),
                                  "statistics", json_object_get(rec, "statistics"), "status",
                                  json_object_get(json_object_get(rec, "info"), "status"))
                      : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!reply) {
    aws_call_fail(call, 400, "ResourceNotFoundException", "Query does not exist.");
    return;
  }
  aws_call_reply(call, reply);
}

void logs_stop_query(aws_call *call, json_t *input) {
  const char *id = json_string_value(json_object_get(input, "queryId"));
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  int found = id && json_object_get(st->queries, id);
  pthread_mutex_unlock(&st->lock);
  if (!found) {
    aws_call_fail(call, 400, "ResourceNotFoundException", "Query does not exist.");
    return;
  }
  /* Queries complete inside StartQuery: none is running to stop. */
  aws_call_reply(call, json_pack("{s:b}", "success", 0));
}

void logs_describe_queries(aws_call *call, json_t *input) {
  const char *group = json_string_value(json_object_get(input, "logGroupName"));
  const char *status = json_string_value(json_object_get(input, "status"));
  size_t limit, offset;
  if (logs_limit_arg(call, input, "maxResults", 1000, 1000, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *out = json_array();
  size_t seen = 0, i;
  json_t *id;
  int more = 0;
  /* Newest first. */
  for (i = json_array_size(st->query_order); i-- > 0;) {
    id = json_array_get(st->query_order, i);
    json_t *info = json_object_get(json_object_get(st->queries, json_string_value(id)), "info");
    if ((group && strcmp(group, json_string_value(json_object_get(info, "logGroupName")))) ||
        (status && strcmp(status, json_string_value(json_object_get(info, "status")))) ||
        seen++ < offset)
      continue;
    if (json_array_size(out) == limit) {
      more = 1;
      break;
    }
    json_array_append_new(out, json_deep_copy(info));
  }
  pthread_mutex_unlock(&st->lock);
  json_t *reply = json_pack("{s:o}", "queries", out);
  if (more)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

void logs_get_log_record(aws_call *call, json_t *input) {
  const char *ptr = json_string_value(json_object_get(input, "logRecordPointer"));
  unsigned char *raw = NULL;
  size_t len = 0;
  if (!ptr || strlen(ptr) > 4096 || codec_base64_decode(&raw, &len, ptr, strlen(ptr)) < 0) {
    aws_call_fail(call, 400, "InvalidParameterException", "The log record pointer is invalid.");
    return;
  }
  /* "<group key>\n<stream>\n<event id>" (logs_query.c's make_row). */
  char *text = malloc(len + 1);
  if (text) {
    memcpy(text, raw, len);
    text[len] = '\0';
  }
  free(raw);
  char *nl1 = text ? memchr(text, '\n', len) : NULL, *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
  char scope[64];
  snprintf(scope, sizeof(scope), "%s/%s/", aws_call_account(call), aws_call_region(call));
  if (!nl2 || strncmp(text, scope, strlen(scope)) != 0) {
    free(text);
    aws_call_fail(call, 400, "InvalidParameterException", "The log record pointer is invalid.");
    return;
  }
  *nl1 = *nl2 = '\0';
  unsigned long long id = strtoull(nl2 + 1, NULL, 10);
  logs_state *st = logs_state_of(call);
  json_t *rec = NULL;
  pthread_mutex_lock(&st->lock);
  logs_group *g =
      logs_group_find(st, aws_call_account(call), aws_call_region(call), text + strlen(scope));
  logs_stream *s = g ? logs_stream_find(g, nl1 + 1) : NULL;
  for (size_t i = 0; s && i < s->n && !rec; i++) {
    if (s->ev[i].id != id)
      continue;
    char ts[32], ing[32], log[700];
    snprintf(ts, sizeof(ts), "%lld", (long long)s->ev[i].ts);
    snprintf(ing, sizeof(ing), "%lld", (long long)s->ev[i].ingest);
    snprintf(log, sizeof(log), "%s:%s", g->account, g->name);
    rec = json_pack("{s:s, s:s%, s:s, s:s, s:s}", "@timestamp", ts, "@message", s->ev[i].msg,
                    s->ev[i].len, "@logStream", s->name, "@log", log, "@ingestionTime", ing);
  }
  pthread_mutex_unlock(&st->lock);
  free(text);
  if (!rec) {
    aws_call_fail(call, 400, "ResourceNotFoundException", "The log record does not exist.");
    return;
  }
  aws_call_reply(call, json_pack("{s:o}", "logRecord", rec));
}

void logs_get_log_group_fields(aws_call *call, json_t *input) {
  json_t *t = json_object_get(input, "time");
  /* AWS searches 8 minutes either side of time, else the last 15 minutes. */
  int64_t now = logs_now_ms(), start = now - 15 * 60000, end = now;
  if (t) {
    start = (int64_t)json_integer_value(t) * 1000 - 8 * 60000;
    end = (int64_t)json_integer_value(t) * 1000 + 8 * 60000;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  json_t *fields = g ? logs_query_fields(&g, 1, start, end) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (fields)
    aws_call_reply(call, json_pack("{s:o}", "logGroupFields", fields));
}

/* ---- query definitions ---- */

static void scope_of(char *out, size_t n, aws_call *call) {
  snprintf(out, n, "%s/%s", aws_call_account(call), aws_call_region(call));
}

static json_t *definition_public(json_t *d) {
  json_t *o = json_deep_copy(d);
  json_object_del(o, "scope");
  return o;
}

void logs_put_query_definition(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "name"));
  const char *id = json_string_value(json_object_get(input, "queryDefinitionId"));
  const char *text = json_string_value(json_object_get(input, "queryString"));
  json_t *groups = json_object_get(input, "logGroupNames");
  if (!name || !*name || strlen(name) > 255 || !text || !*text || strlen(text) > 10000) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "name must be 1 to 255 characters and queryString 1 to 10000.");
    return;
  }
  char scope[64], made[37];
  scope_of(scope, sizeof(scope), call);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *d = id ? json_object_get(st->definitions, id) : NULL;
  if (id && (!d || strcmp(json_string_value(json_object_get(d, "scope")), scope) != 0)) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified query definition does not exist.");
    return;
  }
  if (!id && json_object_size(st->definitions) >= LOGS_MAX_QUERIES) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException", "Resource limit exceeded.");
    return;
  }
  if (!id) {
    codec_uuid4(made);
    id = made;
  }
  d = json_pack("{s:s, s:s, s:s, s:I, s:s}", "queryDefinitionId", id, "name", name, "queryString",
                text, "lastModified", (json_int_t)logs_now_ms(), "scope", scope);
  if (groups)
    json_object_set(d, "logGroupNames", groups);
  json_object_set_new(st->definitions, id, d);
  json_t *reply = json_pack("{s:s}", "queryDefinitionId", id);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, reply);
}

static int by_definition_name(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

void logs_describe_query_definitions(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "queryDefinitionNamePrefix"));
  size_t limit, offset;
  if (logs_limit_arg(call, input, "maxResults", 1000, 1000, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  char scope[64];
  scope_of(scope, sizeof(scope), call);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  size_t n = 0;
  json_t **sel = calloc(json_object_size(st->definitions) + 1, sizeof(*sel));
  const char *k;
  json_t *d;
  json_object_foreach(st->definitions, k, d) {
    const char *name = json_string_value(json_object_get(d, "name"));
    if (sel && strcmp(json_string_value(json_object_get(d, "scope")), scope) == 0 &&
        (!prefix || strncmp(name, prefix, strlen(prefix)) == 0))
      sel[n++] = d;
  }
  if (sel)
    qsort(sel, n, sizeof(*sel), by_definition_name);
  json_t *out = json_array();
  for (size_t i = offset; sel && i < n && i < offset + limit; i++)
    json_array_append_new(out, definition_public(sel[i]));
  pthread_mutex_unlock(&st->lock);
  free(sel);
  json_t *reply = json_pack("{s:o}", "queryDefinitions", out);
  if (offset + limit < n)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

void logs_delete_query_definition(aws_call *call, json_t *input) {
  const char *id = json_string_value(json_object_get(input, "queryDefinitionId"));
  char scope[64];
  scope_of(scope, sizeof(scope), call);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *d = id ? json_object_get(st->definitions, id) : NULL;
  int found = d && strcmp(json_string_value(json_object_get(d, "scope")), scope) == 0;
  if (found)
    json_object_del(st->definitions, id);
  pthread_mutex_unlock(&st->lock);
  if (!found) {
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified query definition does not exist.");
    return;
  }
  aws_call_reply(call, json_pack("{s:b}", "success", 1));
}
