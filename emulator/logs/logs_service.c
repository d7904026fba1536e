/*
 * logs_service.c — the CloudWatch Logs service's aws_service: state, the
 * operation table, the pagination helpers every Describe* shares, and the
 * in-process API of logs.h (Lambda's function logs).
 *
 * Export tasks and data protection policies are not in the table: the protocol layer answers them
 * "not implemented".
 */
#include "common/clock.h"
#include "common/error.h"
#include "emulator/logs/logs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

logs_state *logs_state_of(aws_call *call) { return aws_call_state(call); }

int64_t logs_now_ms(void) { return (int64_t)clock_wall_ms(); }

int logs_offset_arg(aws_call *call, json_t *input, const char *member, size_t *offset) {
  const char *tok = json_string_value(json_object_get(input, member));
  *offset = 0;
  if (!tok)
    return 0;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strncmp(tok, "o/", 2) == 0 ? strtoull(tok + 2, &end, 10) : 0;
  if (!end || end == tok + 2 || *end || errno) {
    aws_call_fail(call, 400, "InvalidParameterException", "The specified %s is invalid.", member);
    return -1;
  }
  *offset = (size_t)v;
  return 0;
}

json_t *logs_offset_token(size_t offset) {
  char buf[32];
  snprintf(buf, sizeof(buf), "o/%zu", offset);
  return json_string(buf);
}

int logs_limit_arg(aws_call *call, json_t *input, const char *member, size_t max, size_t def,
                   size_t *out) {
  json_t *v = json_object_get(input, member);
  *out = def;
  if (!v)
    return 0;
  json_int_t n = json_integer_value(v);
  if (n < 1 || (size_t)n > max) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "1 validation error detected: Value '%lld' at '%s' failed to satisfy "
                  "constraint: Member must have value %s %zu",
                  (long long)n, member,
                  n < 1 ? "greater than or equal to" : "less than or equal to",
                  n < 1 ? (size_t)1 : max);
    return -1;
  }
  *out = (size_t)n;
  return 0;
}

/* ---- the in-process API (logs.h) ---- */

int logs_available(emulator *emu) { return emulator_service_state(emu, "logs") != NULL; }

int logs_events_write(emulator *emu, const char *account, const char *region, const char *group,
                      const char *stream, const logs_event_in *events, size_t n) {
  logs_state *st = emulator_service_state(emu, "logs");
  if (!st)
    return airgap_error_set(AIRGAP_ENOTFOUND, "CloudWatch Logs is not served by this emulator");
  if (!logs_name_valid(group, 1) || !logs_name_valid(stream, 0))
    return airgap_error_set(AIRGAP_EINVALID, "invalid log group or stream name");
  pthread_mutex_lock(&st->lock);
  logs_group *g = logs_group_find(st, account, region, group);
  if (!g)
    g = logs_group_add(st, account, region, group);
  logs_stream *s = g ? logs_stream_find(g, stream) : NULL;
  if (g && !s)
    s = logs_stream_add(g, stream);
  int stored = -1;
  if (s) {
    /* Keep what retention allows, in the order the caller gave. */
    int64_t oldest = g->retention ? logs_now_ms() - (int64_t)g->retention * 86400000LL : INT64_MIN;
    logs_event_in *keep = calloc(n + 1, sizeof(*keep));
    size_t k = 0;
    for (size_t i = 0; keep && i < n; i++) {
      if (events[i].timestamp_ms < oldest || events[i].timestamp_ms < 0 || !events[i].message)
        continue;
      keep[k] = events[i];
      if (!keep[k].len)
        keep[k].len = strlen(keep[k].message);
      if (keep[k].len > LOGS_MAX_EVENT_BYTES)
        keep[k].len = LOGS_MAX_EVENT_BYTES;
      k++;
    }
    if (keep)
      stored = logs_stream_append(st, g, s, keep, k);
    free(keep);
  }
  pthread_mutex_unlock(&st->lock);
  if (stored < 0)
    return airgap_error_set(AIRGAP_ERROR, "the log store is full or out of memory");
  return stored;
}

/* ---- life cycle ---- */

static void clear(logs_state *st) {
  for (size_t i = 0; i < st->ngroups; i++)
    logs_group_free(st->groups[i]);
  st->ngroups = 0;
  st->stored = 0;
  json_object_clear(st->policies);
  json_object_clear(st->destinations);
  json_object_clear(st->queries);
  json_array_clear(st->query_order);
  json_object_clear(st->definitions);
}

static void logs_destroy(void *state) {
  logs_state *st = state;
  if (!st)
    return;
  if (st->policies)
    clear(st);
  free(st->groups);
  json_decref(st->policies);
  json_decref(st->destinations);
  json_decref(st->queries);
  json_decref(st->query_order);
  json_decref(st->definitions);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static int logs_create(void **state, emulator *emu) {
  logs_state *st = calloc(1, sizeof(*st));
  if (!st || pthread_mutex_init(&st->lock, NULL) != 0) {
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "CloudWatch Logs: out of memory");
  }
  st->emu = emu;
  st->policies = json_object();
  st->destinations = json_object();
  st->queries = json_object();
  st->query_order = json_array();
  st->definitions = json_object();
  if (!st->policies || !st->destinations || !st->queries || !st->query_order || !st->definitions) {
    logs_destroy(st);
    return airgap_error_set(AIRGAP_ERROR, "CloudWatch Logs: out of memory");
  }
  *state = st;
  return 0;
}

static void logs_reset(void *state) {
  logs_state *st = state;
  pthread_mutex_lock(&st->lock);
  clear(st);
  pthread_mutex_unlock(&st->lock);
}

static const aws_operation logs_operations[] = {
    {"AssociateKmsKey", logs_associate_kms_key},
    {"CreateLogGroup", logs_create_log_group},
    {"CreateLogStream", logs_create_log_stream},
    {"DeleteDestination", logs_delete_destination},
    {"DeleteLogGroup", logs_delete_log_group},
    {"DeleteLogStream", logs_delete_log_stream},
    {"DeleteMetricFilter", logs_delete_metric_filter},
    {"DeleteQueryDefinition", logs_delete_query_definition},
    {"DeleteResourcePolicy", logs_delete_resource_policy},
    {"DeleteRetentionPolicy", logs_delete_retention_policy},
    {"DeleteSubscriptionFilter", logs_delete_subscription_filter},
    {"DescribeDestinations", logs_describe_destinations},
    {"DescribeLogGroups", logs_describe_log_groups},
    {"DescribeLogStreams", logs_describe_log_streams},
    {"DescribeMetricFilters", logs_describe_metric_filters},
    {"DescribeQueries", logs_describe_queries},
    {"DescribeQueryDefinitions", logs_describe_query_definitions},
    {"DescribeResourcePolicies", logs_describe_resource_policies},
    {"DescribeSubscriptionFilters", logs_describe_subscription_filters},
    {"DisassociateKmsKey", logs_disassociate_kms_key},
    {"FilterLogEvents", logs_filter_log_events},
    {"GetLogEvents", logs_get_log_events},
    {"GetLogGroupFields", logs_get_log_group_fields},
    {"GetLogRecord", logs_get_log_record},
    {"GetQueryResults", logs_get_query_results},
    {"ListTagsForResource", logs_list_tags_for_resource},
    {"ListTagsLogGroup", logs_list_tags_log_group},
    {"PutDestination", logs_put_destination},
    {"PutDestinationPolicy", logs_put_destination_policy},
    {"PutLogEvents", logs_put_log_events},
    {"PutMetricFilter", logs_put_metric_filter},
    {"PutQueryDefinition", logs_put_query_definition},
    {"PutResourcePolicy", logs_put_resource_policy},
    {"PutRetentionPolicy", logs_put_retention_policy},
    {"PutSubscriptionFilter", logs_put_subscription_filter},
    {"StartQuery", logs_start_query},
    {"StopQuery", logs_stop_query},
    {"TagLogGroup", logs_tag_log_group},
    {"TagResource", logs_tag_resource},
    {"TestMetricFilter", logs_test_metric_filter},
    {"UntagLogGroup", logs_untag_log_group},
    {"UntagResource", logs_untag_resource},
};

const aws_service aws_service_logs = {
    .name = "logs",
    .model_name = "logs",
    .operations = logs_operations,
    .operation_count = sizeof(logs_operations) / sizeof(logs_operations[0]),
    .create = logs_create,
    .reset = logs_reset,
    .destroy = logs_destroy,
};
