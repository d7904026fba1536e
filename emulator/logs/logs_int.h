/*
 * logs_int.h — private to emulator/logs/: the CloudWatch Logs store shared by
 * the handlers (one .c per concept: groups, streams, events, filter patterns,
 * Logs Insights queries, metric/subscription filters and policies).
 *
 * Everything lives under one mutex. Log groups are kept in an array sorted by
 * their key "<account>/<region>/<name>" (account and region have fixed
 * shapes, so a name prefix is a key prefix and Describe* pages are ranges);
 * each group keeps its streams sorted by name, and each stream its events
 * sorted by (timestamp, id), where id is unique and increasing within the
 * group — the order GetLogEvents and FilterLogEvents answer in, and the
 * position their tokens name (stable while events are added).
 */
#ifndef AIRGAP_EMULATOR_LOGS_INT_H
#define AIRGAP_EMULATOR_LOGS_INT_H

#include "emulator/logs/logs.h"
#include "emulator/service.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LOGS_MAX_BATCH_BYTES 1048576 /* messages' UTF-8 bytes + 26 per event */
#define LOGS_EVENT_OVERHEAD 26
#define LOGS_MAX_BATCH_EVENTS 10000
#define LOGS_MAX_EVENT_BYTES (256 * 1024 - LOGS_EVENT_OVERHEAD)
#define LOGS_MAX_SPAN_MS (24LL * 3600 * 1000)
#define LOGS_MAX_FUTURE_MS (2LL * 3600 * 1000)
#define LOGS_MAX_PAST_MS (14LL * 24 * 3600 * 1000)
#define LOGS_MAX_STORED_BYTES (512ULL * 1024 * 1024) /* the whole emulator */
#define LOGS_MAX_PATTERN 1024
#define LOGS_MAX_METRIC_FILTERS 100
#define LOGS_MAX_SUBSCRIPTION_FILTERS 2
#define LOGS_MAX_RESOURCE_POLICIES 10
#define LOGS_MAX_TAGS 50
#define LOGS_MAX_QUERIES 1000 /* remembered query results, oldest dropped */

typedef struct logs_event {
  int64_t ts;     /* event time, ms */
  int64_t ingest; /* ingestion time, ms */
  uint64_t id;    /* unique in the group, increasing */
  char *msg;      /* NUL-terminated, len bytes */
  size_t len;
} logs_event;

typedef struct logs_stream {
  char *name;
  int64_t created, first_ts, last_ts, last_ingest; /* 0: no event yet */
  uint64_t stored, seq;
  logs_event *ev;
  size_t n, cap;
} logs_stream;

typedef struct logs_group {
  char *key; /* "<account>/<region>/<name>" */
  char *account, *region, *name;
  int64_t created;
  int retention;                /* days, 0: never expire */
  char *kms;                    /* key ARN or NULL */
  char *cls;                    /* "STANDARD", "INFREQUENT_ACCESS" */
  json_t *tags;                 /* {key: value} */
  json_t *metric_filters;       /* [MetricFilter …] by name */
  json_t *subscription_filters; /* [SubscriptionFilter …] by name */
  uint64_t next_id;
  logs_stream **streams;
  size_t nstreams, cap;
} logs_group;

typedef struct logs_state {
  pthread_mutex_t lock;
  emulator *emu;
  logs_group **groups;
  size_t ngroups, cap;
  uint64_t stored;      /* bytes of every message */
  json_t *policies;     /* {"<account>/<region>": {name: ResourcePolicy}} */
  json_t *destinations; /* {"<account>/<region>/<name>": Destination + tags} */
  json_t *queries;      /* {queryId: {info, results, statistics}} */
  json_t *query_order;  /* [queryId…] oldest first */
  json_t *definitions;  /* {id: QueryDefinition} */
} logs_state;

logs_state *logs_state_of(aws_call *call);
int64_t logs_now_ms(void);

/* ---- groups and streams (logs_groups.c, logs_streams.c); under st->lock ---- */

/* The group in account/region, or NULL. */
logs_group *logs_group_find(logs_state *st, const char *account, const char *region,
                            const char *name);
/* Adds a group (fails on an existing name). */
logs_group *logs_group_add(logs_state *st, const char *account, const char *region,
                           const char *name);
void logs_group_free(logs_group *g);
/* The group named by input's logGroupIdentifier (name or ARN) or logGroupName;
 * NULL after answering (InvalidParameterException, ResourceNotFoundException). */
logs_group *logs_group_arg(logs_state *st, aws_call *call, json_t *input);
/* The group's ARN (with ":*" when star), in out. */
void logs_group_arn(char *out, size_t n, const logs_group *g, int star);
logs_stream *logs_stream_find(logs_group *g, const char *name);
logs_stream *logs_stream_add(logs_group *g, const char *name);
void logs_stream_free(logs_stream *s);
/* Drops events past the group's retention. */
void logs_group_expire(logs_state *st, logs_group *g);
/* 1 when s is a valid log group (group set) or log stream name. */
int logs_name_valid(const char *s, int group);
/* Validates a log group name; -1 after answering. */
int logs_group_name_arg(aws_call *call, const char *name, const char *member);
int logs_stream_name_arg(aws_call *call, const char *name);

/* Appends events (already validated, chronological) to s. Returns the number
 * stored, or -1 when the store is full. */
int logs_stream_append(logs_state *st, logs_group *g, logs_stream *s, const logs_event_in *events,
                       size_t n);

/* ---- pagination tokens ---- */

/* An offset token "<prefix><n>"; -1 after answering for a malformed one. */
int logs_offset_arg(aws_call *call, json_t *input, const char *member, size_t *offset);
json_t *logs_offset_token(size_t offset);
/* limit member (1..max, default def); -1 after answering. */
int logs_limit_arg(aws_call *call, json_t *input, const char *member, size_t max, size_t def,
                   size_t *out);

/* ---- filter patterns (logs_pattern.c) ---- */

typedef struct logs_pattern logs_pattern;
/* Parses a filter pattern (empty: matches every event). On failure returns -1
 * with a message in err. */
int logs_pattern_parse(logs_pattern **out, const char *text, char *err, size_t errlen);
/* 1 when msg matches; extracted (may be NULL) receives the named values of a
 * space-delimited pattern ("$ip") or the JSON selectors ("$.a.b"). */
int logs_pattern_match(const logs_pattern *p, const char *msg, size_t len, json_t *extracted);
void logs_pattern_free(logs_pattern *p);

/* ---- Logs Insights (logs_query.c) ---- */

/* The `parse` command's extraction (logs_extract.c): a glob with one name
 * per '*', or a regex with named groups (names then come from it). */
typedef struct logs_extract logs_extract;
int logs_extract_compile(logs_extract **out, const char *pattern, int regex, char *const *names,
                         size_t n, char *err, size_t errlen);
/* Sets the extracted fields in row when text matches. */
void logs_extract_apply(const logs_extract *x, const char *text, json_t *row);
void logs_extract_free(logs_extract *x);

typedef struct logs_query logs_query;
int logs_query_parse(logs_query **out, const char *text, char *err, size_t errlen);
void logs_query_free(logs_query *q);
/* Runs q over groups[0..n) between start and end (ms, inclusive); answers
 * the results array (rows of [{field, value}]) and statistics. */
void logs_query_run(json_t **results, json_t **stats, const logs_query *q, logs_group **groups,
                    size_t n, int64_t start, int64_t end, size_t limit);

/* The fields Insights discovers in the events of groups[0..n) between start
 * and end (ms): [{name, percent}] (new reference). */
json_t *logs_query_fields(logs_group **groups, size_t n, int64_t start, int64_t end);

/* ---- handlers ---- */

void logs_create_log_group(aws_call *call, json_t *input);
void logs_delete_log_group(aws_call *call, json_t *input);
void logs_describe_log_groups(aws_call *call, json_t *input);
void logs_put_retention_policy(aws_call *call, json_t *input);
void logs_delete_retention_policy(aws_call *call, json_t *input);
void logs_associate_kms_key(aws_call *call, json_t *input);
void logs_disassociate_kms_key(aws_call *call, json_t *input);
void logs_tag_log_group(aws_call *call, json_t *input);
void logs_untag_log_group(aws_call *call, json_t *input);
void logs_list_tags_log_group(aws_call *call, json_t *input);
void logs_tag_resource(aws_call *call, json_t *input);
void logs_untag_resource(aws_call *call, json_t *input);
void logs_list_tags_for_resource(aws_call *call, json_t *input);

void logs_create_log_stream(aws_call *call, json_t *input);
void logs_delete_log_stream(aws_call *call, json_t *input);
void logs_describe_log_streams(aws_call *call, json_t *input);

void logs_put_log_events(aws_call *call, json_t *input);
void logs_get_log_events(aws_call *call, json_t *input);
void logs_filter_log_events(aws_call *call, json_t *input);

void logs_start_query(aws_call *call, json_t *input);
void logs_get_query_results(aws_call *call, json_t *input);
void logs_stop_query(aws_call *call, json_t *input);
void logs_describe_queries(aws_call *call, json_t *input);
void logs_get_log_record(aws_call *call, json_t *input);
void logs_get_log_group_fields(aws_call *call, json_t *input);
void logs_put_query_definition(aws_call *call, json_t *input);
void logs_describe_query_definitions(aws_call *call, json_t *input);
void logs_delete_query_definition(aws_call *call, json_t *input);

void logs_put_metric_filter(aws_call *call, json_t *input);
void logs_delete_metric_filter(aws_call *call, json_t *input);
void logs_describe_metric_filters(aws_call *call, json_t *input);
void logs_test_metric_filter(aws_call *call, json_t *input);
void logs_put_subscription_filter(aws_call *call, json_t *input);
void logs_delete_subscription_filter(aws_call *call, json_t *input);
void logs_describe_subscription_filters(aws_call *call, json_t *input);
void logs_put_destination(aws_call *call, json_t *input);
void logs_put_destination_policy(aws_call *call, json_t *input);
void logs_delete_destination(aws_call *call, json_t *input);
void logs_describe_destinations(aws_call *call, json_t *input);
void logs_put_resource_policy(aws_call *call, json_t *input);
void logs_delete_resource_policy(aws_call *call, json_t *input);
void logs_describe_resource_policies(aws_call *call, json_t *input);

#endif
