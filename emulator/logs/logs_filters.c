/*
 * logs_filters.c — what CloudWatch Logs stores beside events: metric filters
 * (patterns checked by the parser; TestMetricFilter runs them), subscription
 * filters (at most two per group, as in AWS), destinations with their access
 * policies, and account resource policies (at most ten per Region). They are
 * stored and described; nothing is delivered to metrics or destinations.
 */
#include "emulator/logs/logs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pattern_arg(aws_call *call, const char *pattern) {
  logs_pattern *p = NULL;
  char err[256];
  if (!pattern || strlen(pattern) > LOGS_MAX_PATTERN) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value at 'filterPattern' failed to satisfy "
                  "constraint: Member must have length less than or equal to %d",
                  LOGS_MAX_PATTERN);
    return -1;
  }
  if (logs_pattern_parse(&p, pattern, err, sizeof(err)) < 0) {
    aws_call_fail(call, 400, "InvalidParameterException", "Invalid filter pattern: %s", err);
    return -1;
  }
  logs_pattern_free(p);
  return 0;
}

static int filter_name_arg(aws_call *call, const char *name) {
  if (!name || !*name || strlen(name) > 512 || strchr(name, ':') || strchr(name, '*')) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.512s' at 'filterName' failed to satisfy "
                  "constraint: Member must satisfy regular expression pattern: [^:*]*",
                  name ? name : "null");
    return -1;
  }
  return 0;
}

/* The index of the filter named name in list, or -1. */
static long filter_index(json_t *list, const char *name) {
  size_t i;
  json_t *f;
  json_array_foreach(list, i, f) {
    if (strcmp(json_string_value(json_object_get(f, "filterName")), name) == 0)
      return (long)i;
  }
  return -1;
}

/* Inserts or replaces f in list, kept sorted by filterName. */
static void filter_put(json_t *list, json_t *f) {
  const char *name = json_string_value(json_object_get(f, "filterName"));
  long at = filter_index(list, name);
  if (at >= 0) {
    json_array_set_new(list, (size_t)at, f);
    return;
  }
  size_t i = 0;
  while (i < json_array_size(list) &&
         strcmp(json_string_value(json_object_get(json_array_get(list, i), "filterName")), name) <
             0)
    i++;
  json_array_insert_new(list, i, f);
}

void logs_put_metric_filter(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "filterName"));
  const char *pattern = json_string_value(json_object_get(input, "filterPattern"));
  json_t *mt = json_object_get(input, "metricTransformations");
  if (filter_name_arg(call, name) < 0 || pattern_arg(call, pattern) < 0)
    return;
  if (json_array_size(mt) != 1) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value at 'metricTransformations' failed to "
                  "satisfy constraint: Member must have length less than or equal to 1");
    return;
  }
  json_t *t = json_array_get(mt, 0);
  if (json_object_get(t, "defaultValue") && json_object_get(t, "dimensions")) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "A metric filter with dimensions cannot have a default value.");
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  if (filter_index(g->metric_filters, name) < 0 &&
      json_array_size(g->metric_filters) >= LOGS_MAX_METRIC_FILTERS) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException", "Resource limit exceeded.");
    return;
  }
  filter_put(g->metric_filters,
             json_pack("{s:s, s:s, s:O, s:I, s:s}", "filterName", name, "filterPattern", pattern,
                       "metricTransformations", mt, "creationTime", (json_int_t)logs_now_ms(),
                       "logGroupName", g->name));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

static void delete_filter(aws_call *call, json_t *input, int metric) {
  const char *name = json_string_value(json_object_get(input, "filterName"));
  if (filter_name_arg(call, name) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *list = metric ? g->metric_filters : g->subscription_filters;
  long at = filter_index(list, name);
  if (at >= 0)
    json_array_remove(list, (size_t)at);
  pthread_mutex_unlock(&st->lock);
  if (at < 0)
    aws_call_fail(call, 400, "ResourceNotFoundException", "The specified %s does not exist.",
                  metric ? "metric filter" : "subscription filter");
  else
    aws_call_reply(call, NULL);
}

void logs_delete_metric_filter(aws_call *call, json_t *input) { delete_filter(call, input, 1); }
void logs_delete_subscription_filter(aws_call *call, json_t *input) {
  delete_filter(call, input, 0);
}

static int metric_matches(json_t *f, const char *prefix, const char *metric, const char *ns) {
  const char *name = json_string_value(json_object_get(f, "filterName"));
  json_t *t = json_array_get(json_object_get(f, "metricTransformations"), 0);
  if (prefix && strncmp(name, prefix, strlen(prefix)) != 0)
    return 0;
  if (metric && strcmp(metric, json_string_value(json_object_get(t, "metricName"))) != 0)
    return 0;
  return !ns || strcmp(ns, json_string_value(json_object_get(t, "metricNamespace"))) == 0;
}

void logs_describe_metric_filters(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "filterNamePrefix"));
  const char *metric = json_string_value(json_object_get(input, "metricName"));
  const char *ns = json_string_value(json_object_get(input, "metricNamespace"));
  int by_group = json_object_get(input, "logGroupName") != NULL;
  size_t limit, offset;
  if (prefix && !by_group) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "logGroupName is required when filterNamePrefix is given.");
    return;
  }
  if (!metric != !ns) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "metricName and metricNamespace must be given together.");
    return;
  }
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *one = by_group ? logs_group_arg(st, call, input) : NULL;
  if (by_group && !one) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  char scope[64];
  int slen =
      snprintf(scope, sizeof(scope), "%s/%s/", aws_call_account(call), aws_call_region(call));
  json_t *out = json_array();
  size_t seen = 0;
  int more = 0;
  for (size_t gi = 0; gi < st->ngroups && !more; gi++) {
    logs_group *g = st->groups[gi];
    if ((one && g != one) || strncmp(g->key, scope, (size_t)slen) != 0)
      continue;
    size_t i;
    json_t *f;
    json_array_foreach(g->metric_filters, i, f) {
      if (!metric_matches(f, prefix, metric, ns) || seen++ < offset)
        continue;
      if (json_array_size(out) == limit) {
        more = 1;
        break;
      }
      json_array_append(out, f);
    }
  }
  json_t *reply = json_pack("{s:o}", "metricFilters", json_deep_copy(out));
  json_decref(out);
  pthread_mutex_unlock(&st->lock);
  if (more)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

void logs_test_metric_filter(aws_call *call, json_t *input) {
  const char *pattern = json_string_value(json_object_get(input, "filterPattern"));
  json_t *msgs = json_object_get(input, "logEventMessages");
  logs_pattern *p = NULL;
  char err[256];
  if (json_array_size(msgs) < 1 || json_array_size(msgs) > 50) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value at 'logEventMessages' failed to satisfy "
                  "constraint: Member must have length between 1 and 50");
    return;
  }
  if (pattern_arg(call, pattern) < 0 || logs_pattern_parse(&p, pattern, err, sizeof(err)) < 0)
    return;
  json_t *out = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *text = json_string_value(m) ? json_string_value(m) : "";
    json_t *values = json_object();
    if (logs_pattern_match(p, text, strlen(text), values))
      json_array_append_new(out, json_pack("{s:I, s:s, s:o}", "eventNumber", (json_int_t)i + 1,
                                           "eventMessage", text, "extractedValues", values));
    else
      json_decref(values);
  }
  logs_pattern_free(p);
  aws_call_reply(call, json_pack("{s:o}", "matches", out));
}

void logs_put_subscription_filter(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "filterName"));
  const char *pattern = json_string_value(json_object_get(input, "filterPattern"));
  const char *dest = json_string_value(json_object_get(input, "destinationArn"));
  const char *role = json_string_value(json_object_get(input, "roleArn"));
  const char *dist = json_string_value(json_object_get(input, "distribution"));
  if (filter_name_arg(call, name) < 0 || pattern_arg(call, pattern) < 0)
    return;
  if (!dest || strncmp(dest, "arn:", 4) != 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "destinationArn must be the ARN of a Kinesis stream, a Firehose delivery "
                  "stream, a Lambda function or a CloudWatch Logs destination.");
    return;
  }
  if (dist && strcmp(dist, "Random") && strcmp(dist, "ByLogStream")) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.64s' at 'distribution' failed to "
                  "satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]",
                  dist);
    return;
  }
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  if (filter_index(g->subscription_filters, name) < 0 &&
      json_array_size(g->subscription_filters) >= LOGS_MAX_SUBSCRIPTION_FILTERS) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException", "Resource limit exceeded.");
    return;
  }
  json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "filterName", name, "logGroupName",
                        g->name, "filterPattern", pattern, "destinationArn", dest, "distribution",
                        dist ? dist : "ByLogStream", "creationTime", (json_int_t)logs_now_ms());
  if (role)
    json_object_set_new(f, "roleArn", json_string(role));
  filter_put(g->subscription_filters, f);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, NULL);
}

void logs_describe_subscription_filters(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "filterNamePrefix"));
  size_t limit, offset;
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_arg(st, call, input);
  if (!g) {
    pthread_mutex_unlock(&st->lock);
    return;
  }
  json_t *out = json_array();
  size_t i, seen = 0;
  json_t *f;
  int more = 0;
  json_array_foreach(g->subscription_filters, i, f) {
    const char *name = json_string_value(json_object_get(f, "filterName"));
    if ((prefix && strncmp(name, prefix, strlen(prefix)) != 0) || seen++ < offset)
      continue;
    if (json_array_size(out) == limit) {
      more = 1;
      break;
    }
    json_array_append_new(out, json_deep_copy(f));
  }
  pthread_mutex_unlock(&st->lock);
  json_t *reply = json_pack("{s:o}", "subscriptionFilters", out);
  if (more)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

/* ---- destinations ---- */

static int destination_name_arg(aws_call *call, const char *name) {
  if (!name || !*name || strlen(name) > 512 || strchr(name, ':') || strchr(name, '*')) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%.512s' at 'destinationName' failed to "
                  "satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
                  name ? name : "null");
    return -1;
  }
  return 0;
}

static void dest_key(char *out, size_t n, aws_call *call, const char *name) {
  snprintf(out, n, "%s/%s/%s", aws_call_account(call), aws_call_region(call), name);
}

/* The destination without its tags (what Describe and Put answer). */
static json_t *dest_public(json_t *d) {
  json_t *o = json_deep_copy(d);
  json_object_del(o, "tags");
  return o;
}

void logs_put_destination(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "destinationName"));
  const char *target = json_string_value(json_object_get(input, "targetArn"));
  const char *role = json_string_value(json_object_get(input, "roleArn"));
  json_t *tags = json_object_get(input, "tags");
  if (destination_name_arg(call, name) < 0)
    return;
  if (!target || strncmp(target, "arn:", 4) != 0 || !role || strncmp(role, "arn:", 4) != 0) {
    aws_call_fail(call, 400, "InvalidParameterException", "targetArn and roleArn must be ARNs.");
    return;
  }
  char key[700], arn[800];
  dest_key(key, sizeof(key), call, name);
  snprintf(arn, sizeof(arn), "arn:aws:logs:%s:%s:destination:%s", aws_call_region(call),
           aws_call_account(call), name);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *d = json_object_get(st->destinations, key);
  if (!d) {
    d = json_pack("{s:s, s:s, s:I, s:o}", "destinationName", name, "arn", arn, "creationTime",
                  (json_int_t)logs_now_ms(), "tags", tags ? json_deep_copy(tags) : json_object());
    json_object_set_new(st->destinations, key, d);
  }
  json_object_set_new(d, "targetArn", json_string(target));
  json_object_set_new(d, "roleArn", json_string(role));
  json_t *reply = json_pack("{s:o}", "destination", dest_public(d));
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, reply);
}

void logs_put_destination_policy(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "destinationName"));
  const char *policy = json_string_value(json_object_get(input, "accessPolicy"));
  if (destination_name_arg(call, name) < 0)
    return;
  json_t *doc = policy ? json_loads(policy, 0, NULL) : NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The access policy is not a valid JSON policy document.");
    return;
  }
  json_decref(doc);
  char key[700];
  dest_key(key, sizeof(key), call, name);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *d = json_object_get(st->destinations, key);
  if (d)
    json_object_set_new(d, "accessPolicy", json_string(policy));
  pthread_mutex_unlock(&st->lock);
  if (!d)
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified destination does not exist.");
  else
    aws_call_reply(call, NULL);
}

void logs_delete_destination(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "destinationName"));
  if (destination_name_arg(call, name) < 0)
    return;
  char key[700];
  dest_key(key, sizeof(key), call, name);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  int gone = json_object_del(st->destinations, key) == 0;
  pthread_mutex_unlock(&st->lock);
  if (!gone)
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "The specified destination does not exist.");
  else
    aws_call_reply(call, NULL);
}

static int by_name(const void *a, const void *b) {
  return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "destinationName")),
                json_string_value(json_object_get(*(json_t *const *)b, "destinationName")));
}

void logs_describe_destinations(aws_call *call, json_t *input) {
  const char *prefix = json_string_value(json_object_get(input, "DestinationNamePrefix"));
  size_t limit, offset;
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  char scope[64];
  int slen =
      snprintf(scope, sizeof(scope), "%s/%s/", aws_call_account(call), aws_call_region(call));
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  size_t n = 0;
  json_t **sel = calloc(json_object_size(st->destinations) + 1, sizeof(*sel));
  const char *k;
  json_t *d;
  json_object_foreach(st->destinations, k, d) {
    const char *name = json_string_value(json_object_get(d, "destinationName"));
    if (sel && strncmp(k, scope, (size_t)slen) == 0 &&
        (!prefix || strncmp(name, prefix, strlen(prefix)) == 0))
      sel[n++] = d;
  }
  if (sel)
    qsort(sel, n, sizeof(*sel), by_name);
  json_t *out = json_array();
  for (size_t i = offset; sel && i < n && i < offset + limit; i++)
    json_array_append_new(out, dest_public(sel[i]));
  pthread_mutex_unlock(&st->lock);
  free(sel);
  json_t *reply = json_pack("{s:o}", "destinations", out);
  if (offset + limit < n)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}

/* ---- resource policies ---- */

static json_t *region_policies(logs_state *st, aws_call *call) {
  char scope[64];
  snprintf(scope, sizeof(scope), "%s/%s", aws_call_account(call), aws_call_region(call));
  json_t *p = json_object_get(st->policies, scope);
  if (!p) {
    p = json_object();
    json_object_set_new(st->policies, scope, p);
  }
  return p;
}

void logs_put_resource_policy(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "policyName"));
  const char *doc = json_string_value(json_object_get(input, "policyDocument"));
  json_t *parsed = doc ? json_loads(doc, 0, NULL) : NULL;
  if (!name || !*name) {
    json_decref(parsed);
    aws_call_fail(call, 400, "InvalidParameterException", "policyName is required.");
    return;
  }
  if (!json_is_object(parsed) || strlen(doc) > 5120) {
    json_decref(parsed);
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The policy document is not a valid JSON policy of at most 5120 characters.");
    return;
  }
  json_decref(parsed);
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *all = region_policies(st, call);
  if (!json_object_get(all, name) && json_object_size(all) >= LOGS_MAX_RESOURCE_POLICIES) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "LimitExceededException",
                  "Resource limit exceeded: at most %d resource policies per Region.",
                  LOGS_MAX_RESOURCE_POLICIES);
    return;
  }
  json_t *p = json_pack("{s:s, s:s, s:I}", "policyName", name, "policyDocument", doc,
                        "lastUpdatedTime", (json_int_t)logs_now_ms());
  json_object_set_new(all, name, p);
  json_t *reply = json_pack("{s:O}", "resourcePolicy", p);
  pthread_mutex_unlock(&st->lock);
  aws_call_reply(call, reply);
}

void logs_delete_resource_policy(aws_call *call, json_t *input) {
  const char *name = json_string_value(json_object_get(input, "policyName"));
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  int gone = name && json_object_del(region_policies(st, call), name) == 0;
  pthread_mutex_unlock(&st->lock);
  if (!gone)
    aws_call_fail(call, 400, "ResourceNotFoundException",
                  "Policy with name [%.256s] does not exist", name ? name : "");
  else
    aws_call_reply(call, NULL);
}

void logs_describe_resource_policies(aws_call *call, json_t *input) {
  size_t limit, offset;
  if (logs_limit_arg(call, input, "limit", 50, 50, &limit) < 0 ||
      logs_offset_arg(call, input, "nextToken", &offset) < 0)
    return;
  logs_state *st = logs_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *all = region_policies(st, call), *out = json_array();
  const char *k;
  json_t *p;
  size_t i = 0;
  json_object_foreach(all, k, p) {
    if (i >= offset && i < offset + limit)
      json_array_append_new(out, json_deep_copy(p));
    i++;
  }
  pthread_mutex_unlock(&st->lock);
  json_t *reply = json_pack("{s:o}", "resourcePolicies", out);
  if (offset + limit < i)
    json_object_set_new(reply, "nextToken", logs_offset_token(offset + limit));
  aws_call_reply(call, reply);
}
