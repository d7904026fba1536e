/*
 * event_sources.c — the event source mapping operations: Create, Get,
 * Update, Delete and List EventSourceMapping, with AWS's validation per
 * source (SQS queues, Kinesis streams, DynamoDB streams), FilterCriteria checked with the
 * EventBridge pattern language of emulator/delivery/, and the State
 * transitions AWS shows (Creating → Enabled or Disabled, Enabling,
 * Disabling, Updating, Deleting; StateTransitionReason USER_INITIATED).
 *
 * The records live in lambda_state's mappings (lambda_esm_int.h); the poller
 * (event_sources_poll.c) reads them.
 */
#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/kinesis/kinesis.h"
#include "emulator/lambda/lambda_esm_int.h"
#include "emulator/sqs/sqs.h"

#include "common/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail_param(aws_call *call, const char *fmt, const char *arg) {
  aws_call_fail(call, 400, "InvalidParameterValueException", fmt, arg ? arg : "");
}

static void fail_missing(aws_call *call) {
  aws_call_fail(call, 404, "ResourceNotFoundException",
                "The resource you requested does not exist.");
}

/* "sqs", "kinesis", "dynamodb" or NULL for the ARN of an event source. */
static const char *source_kind(const char *arn) {
  if (!arn)
    return NULL;
  if (strncmp(arn, "arn:aws:sqs:", 12) == 0)
    return "sqs";
  if (strncmp(arn, "arn:aws:kinesis:", 16) == 0 && strstr(arn, ":stream/"))
    return "kinesis";
  if (strncmp(arn, "arn:aws:dynamodb:", 17) == 0 && strstr(arn, "/stream/"))
    return "dynamodb";
  return NULL;
}

/* Whether the SQS queue of arn exists (asked of SQS in process); its
 * FifoQueue attribute in *fifo. */
typedef struct queue_probe {
  int found, fifo;
} queue_probe;

static void probe_done(json_t *output, const sqs_error *error, void *payload) {
  queue_probe *p = payload;
  if (!error) {
    p->found = 1;
    const char *fifo = jsonutil_string(json_object_get(output, "Attributes"), "FifoQueue");
    p->fifo = fifo && strcmp(fifo, "true") == 0;
  }
  json_decref(output);
}

static int queue_exists(emulator *emu, const char *arn, int *fifo) {
  char region[64], account[16], name[128], url[256];
  sqs_engine *engine = emulator_service_state(emu, "sqs");
  if (!engine || sscanf(arn, "arn:%*[^:]:sqs:%63[^:]:%15[^:]:%127s", region, account, name) != 3)
    return 0;
  snprintf(url, sizeof(url), "/%s/%s", account, name);
  json_t *in = json_pack("{s:s, s:[s]}", "QueueUrl", url, "AttributeNames", "FifoQueue");
  sqs_context ctx = {account, region, "http://localhost"};
  queue_probe p = {0, 0};
  sqs_engine_call(engine, &ctx, "GetQueueAttributes", in, probe_done, &p);
  json_decref(in);
  *fifo = p.fifo;
  return p.found;
}

static int stream_exists(emulator *emu, const char *arn) {
  kinesis_state *ks = emulator_service_state(emu, "kinesis");
  json_t *shards = NULL;
  if (!ks || kinesis_stream_shards(&shards, ks, arn) < 0)
    return 0;
  json_decref(shards);
  return 1;
}

static int int_member(const json_t *input, const char *name, json_int_t *out) {
  json_t *v = json_object_get(input, name);
  if (!json_is_integer(v))
    return 0;
  *out = json_integer_value(v);
  return 1;
}

static int range_check(aws_call *call, const json_t *input, const char *member, const char *field,
                       json_int_t lo, json_int_t hi) {
  json_int_t v;
  if (!int_member(input, member, &v))
    return 0;
  char value[32], constraint[96];
  snprintf(value, sizeof(value), "%lld", (long long)v);
  if (v < lo) {
    snprintf(constraint, sizeof(constraint), "Member must have value greater than or equal to %lld",
             (long long)lo);
  } else if (v > hi) {
    snprintf(constraint, sizeof(constraint), "Member must have value less than or equal to %lld",
             (long long)hi);
  } else {
    return 0;
  }
  lambda_fail_validation(call, value, field, constraint);
  return -1;
}

/* Members every source accepts, and the stream-only ones refused for SQS.
 * Answers and returns -1 on the first error. kind: the source's. */
static int members_check(aws_call *call, const json_t *input, const char *kind, int fifo,
                         const json_t *current) {
  if (range_check(call, input, "BatchSize", "batchSize", 1, 10000) < 0 ||
      range_check(call, input, "MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds",
                  0, 300) < 0 ||
      range_check(call, input, "MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", -1,
                  604800) < 0 ||
      range_check(call, input, "MaximumRetryAttempts", "maximumRetryAttempts", -1, 10000) < 0 ||
      range_check(call, input, "ParallelizationFactor", "parallelizationFactor", 1, 10) < 0 ||
      range_check(call, input, "TumblingWindowInSeconds", "tumblingWindowInSeconds", 0, 900) < 0)
    return -1;
  int sqs = strcmp(kind, "sqs") == 0;
  json_int_t batch = 0, window = 0, age = 0;
  if (!int_member(input, "BatchSize", &batch))
    batch = current ? json_integer_value(json_object_get(current, "BatchSize")) : (sqs ? 10 : 100);
  if (!int_member(input, "MaximumBatchingWindowInSeconds", &window))
    window = current
                 ? json_integer_value(json_object_get(current, "MaximumBatchingWindowInSeconds"))
                 : 0;
  if (sqs && fifo && batch > 10) {
    fail_param(call, "Batch size for FIFO queues must be less than or equal to 10.%s", "");
    return -1;
  }
  if (sqs && fifo && window > 0) {
    fail_param(call, "Batching window is not supported for FIFO queues.%s", "");
    return -1;
  }
  if (sqs && batch > 10 && window < 1) {
    fail_param(call,
               "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
               "greater than 10%s",
               "");
    return -1;
  }
  if (int_member(input, "MaximumRecordAgeInSeconds", &age) && age != -1 && age < 60) {
    fail_param(call, "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.%s", "");
    return -1;
  }
  static const char *const stream_only[] = {
      "StartingPosition",        "StartingPositionTimestamp",  "MaximumRecordAgeInSeconds",
      "MaximumRetryAttempts",    "BisectBatchOnFunctionError", "ParallelizationFactor",
      "TumblingWindowInSeconds", "DestinationConfig"};
  for (size_t i = 0; sqs && i < sizeof(stream_only) / sizeof(stream_only[0]); i++)
    if (json_object_get(input, stream_only[i])) {
      fail_param(call, "Unsupported %s parameter for given event source mapping type.",
                 stream_only[i]);
      return -1;
    }
  json_t *types = json_object_get(input, "FunctionResponseTypes");
  size_t i;
  json_t *t;
  json_array_foreach(types, i, t) {
    if (!json_is_string(t) || strcmp(json_string_value(t), "ReportBatchItemFailures") != 0) {
      lambda_fail_validation(call, json_is_string(t) ? json_string_value(t) : "",
                             "functionResponseTypes",
                             "Member must satisfy enum value set: [ReportBatchItemFailures]");
      return -1;
    }
  }
  const char *dest = jsonutil_string(
      json_object_get(json_object_get(input, "DestinationConfig"), "OnFailure"), "Destination");
  if (dest && strncmp(dest, "arn:aws:sqs:", 12) != 0 && strncmp(dest, "arn:aws:sns:", 12) != 0) {
    fail_param(call, "Unsupported destination type for OnFailure: %s. Supported: SQS, SNS.", dest);
    return -1;
  }
  json_t *filters = json_object_get(json_object_get(input, "FilterCriteria"), "Filters");
  if (json_array_size(filters) > ESM_MAX_FILTERS) {
    fail_param(call, "Filter criteria can contain at most 5 filters.%s", "");
    return -1;
  }
  json_t *f;
  json_array_foreach(filters, i, f) {
    const char *text = jsonutil_string(f, "Pattern");
    json_t *pattern = text ? json_loads(text, 0, NULL) : NULL;
    char reason[256] = "";
    int ok = pattern && json_is_object(pattern) &&
             delivery_pattern_check(pattern, DELIVERY_EVENTBRIDGE, reason, sizeof(reason)) == 0;
    json_decref(pattern);
    if (!ok) {
      fail_param(call, "Invalid filter pattern definition. %s", reason);
      return -1;
    }
  }
  return 0;
}

/* Copies the settable members of input into config. */
static void members_apply(json_t *config, const json_t *input) {
  static const char *const members[] = {
      "BatchSize",
      "MaximumBatchingWindowInSeconds",
      "FilterCriteria",
      "MaximumRecordAgeInSeconds",
      "BisectBatchOnFunctionError",
      "MaximumRetryAttempts",
      "ParallelizationFactor",
      "TumblingWindowInSeconds",
      "FunctionResponseTypes",
      "DestinationConfig",
      "ScalingConfig",
  };
  for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
    json_t *v = json_object_get(input, members[i]);
    if (v)
      json_object_set(config, members[i], v);
  }
}

/* The function FunctionName names, as an ARN (qualified when it was). */
static int function_arn_of(aws_call *call, lambda_state *st, const char *given, char *arn,
                           size_t n) {
  json_t *in = json_pack("{s:s}", "FunctionName", given ? given : "");
  char q[160];
  json_t *f = lambda_function_lock(st, call, in, q, sizeof(q));
  json_decref(in);
  if (!f)
    return -1;
  const char *name = json_string_value(json_object_get(f, "Name"));
  int ok = !*q || strcmp(q, "$LATEST") == 0 || json_object_get(json_object_get(f, "Aliases"), q) ||
           json_object_get(json_object_get(f, "Versions"), q);
  lambda_function_arn(arn, n, aws_call_region(call), aws_call_account(call), name, q);
  pthread_mutex_unlock(&st->lock);
  if (!ok) {
    aws_call_fail(call, 404, "ResourceNotFoundException", "Function not found: %s", arn);
    return -1;
  }
  return 0;
}

static json_t *mapping_get(lambda_state *st, aws_call *call, const char *uuid) {
  json_t *m = uuid ? json_object_get(st->mappings, uuid) : NULL;
  if (!m || strcmp(jsonutil_string(m, "Account"), aws_call_account(call)) != 0 ||
      strcmp(jsonutil_string(m, "Region"), aws_call_region(call)) != 0)
    return NULL;
  if (lambda_esm_settle(m)) {
    json_object_del(st->mappings, uuid);
    return NULL;
  }
  return m;
}

static void set_state(json_t *m, const char *state) {
  json_t *c = json_object_get(m, "Config");
  json_object_set_new(c, "State", json_string(state));
  json_object_set_new(c, "StateTransitionReason", json_string("USER_INITIATED"));
  json_object_set_new(c, "LastModified", json_real(lambda_now()));
  json_object_set_new(m, "Due", json_integer((json_int_t)(clock_wall_ms() + ESM_SETTLE_MS)));
}

int lambda_esm_settle(json_t *m) {
  json_t *due = json_object_get(m, "Due");
  if (!due || (uint64_t)json_integer_value(due) > clock_wall_ms())
    return 0;
  json_object_del(m, "Due");
  json_t *c = json_object_get(m, "Config");
  const char *state = jsonutil_string(c, "State");
  if (state && strcmp(state, "Deleting") == 0)
    return 1;
  int enabled = json_is_true(json_object_get(m, "Enabled"));
  json_object_set_new(c, "State", json_string(enabled ? "Enabled" : "Disabled"));
  return 0;
}

void lambda_create_event_source_mapping(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *source = jsonutil_string(input, "EventSourceArn");
  const char *kind = source_kind(source);
  if (!source) {
    fail_param(call, "Unrecognized event source.%s", "");
    return;
  }
  if (!kind) {
    fail_param(call,
               "Unsupported event source type: %s (this emulator maps SQS queues, Kinesis "
               "streams and DynamoDB streams)",
               source);
    return;
  }
  char region[64] = "", account[16] = "";
  sscanf(source, "arn:%*[^:]:%*[^:]:%63[^:]:%15[^:]:", region, account);
  int fifo = 0;
  if (strcmp(kind, "sqs") == 0 && !queue_exists(aws_call_emulator(call), source, &fifo)) {
    fail_param(call,
               "Error occurred while ReceiveMessage. SQS Error Code: "
               "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
               "does not exist for this wsdl version.%s",
               "");
    return;
  }
  if (strcmp(kind, "kinesis") == 0 && !stream_exists(aws_call_emulator(call), source)) {
    fail_param(call, "Stream not found: %s", source);
    return;
  }
  if (strcmp(kind, "dynamodb") == 0 &&
      !lambda_esm_dynamodb_exists(aws_call_emulator(call), account, region, source)) {
    fail_param(call, "Stream not found: %s", source);
    return;
  }
  const char *position = jsonutil_string(input, "StartingPosition");
  int stream = strcmp(kind, "sqs") != 0;
  if (position && strcmp(kind, "dynamodb") == 0 && strcmp(position, "AT_TIMESTAMP") == 0) {
    fail_param(call, "Unsupported starting position for DynamoDB Streams event sources: %s",
               position);
    return;
  }
  if (stream) {
    if (!position) {
      fail_param(call, "StartingPosition is required for Kinesis and DynamoDB event sources.%s",
                 "");
      return;
    }
    if (strcmp(position, "TRIM_HORIZON") != 0 && strcmp(position, "LATEST") != 0 &&
        strcmp(position, "AT_TIMESTAMP") != 0) {
      lambda_fail_validation(call, position, "startingPosition",
                             "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, "
                             "AT_TIMESTAMP]");
      return;
    }
    if (strcmp(position, "AT_TIMESTAMP") == 0 &&
        !json_object_get(input, "StartingPositionTimestamp")) {
      fail_param(call, "StartingPositionTimestamp must be provided with AT_TIMESTAMP.%s", "");
      return;
    }
  }
  if (members_check(call, input, kind, fifo, NULL) < 0)
    return;
  char function_arn[512];
  if (function_arn_of(call, st, jsonutil_string(input, "FunctionName"), function_arn,
                      sizeof(function_arn)) < 0)
    return;
  char uuid[37];
  codec_uuid4(uuid);
  int enabled = !json_is_false(json_object_get(input, "Enabled"));
  json_t *config = json_pack(
      "{s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:[]}", "UUID", uuid, "BatchSize",
      strcmp(kind, "sqs") == 0 ? 10 : 100, "MaximumBatchingWindowInSeconds", 0, "EventSourceArn",
      source, "FunctionArn", function_arn, "LastProcessingResult", "No records processed", "State",
      "Creating", "StateTransitionReason", "USER_INITIATED", "FunctionResponseTypes");
  if (stream) {
    json_object_set_new(config, "StartingPosition", json_string(position));
    json_t *ts = json_object_get(input, "StartingPositionTimestamp");
    if (ts)
      json_object_set(config, "StartingPositionTimestamp", ts);
    json_object_set_new(config, "ParallelizationFactor", json_integer(1));
    json_object_set_new(config, "MaximumRecordAgeInSeconds", json_integer(-1));
    json_object_set_new(config, "BisectBatchOnFunctionError", json_false());
    json_object_set_new(config, "MaximumRetryAttempts", json_integer(-1));
    json_object_set_new(config, "TumblingWindowInSeconds", json_integer(0));
    json_object_set_new(config, "DestinationConfig", json_pack("{s:{}}", "OnFailure"));
  }
  members_apply(config, input);
  json_t *m =
      json_pack("{s:o, s:s, s:s, s:s, s:b}", "Config", config, "Account", aws_call_account(call),
                "Region", aws_call_region(call), "Kind", kind, "Enabled", enabled);
  set_state(m, "Creating");
  pthread_mutex_lock(&st->lock);
  const char *k;
  json_t *other;
  json_object_foreach(st->mappings, k, other) {
    json_t *oc = json_object_get(other, "Config");
    if (strcmp(jsonutil_string(oc, "EventSourceArn"), source) == 0 &&
        strcmp(jsonutil_string(oc, "FunctionArn"), function_arn) == 0) {
      pthread_mutex_unlock(&st->lock);
      json_decref(m);
      aws_call_fail(call, 409, "ResourceConflictException",
                    "The event source arn (\" %s \") and function (\" %s \") provided mapping "
                    "already exists. Please update or delete the existing mapping with UUID %s",
                    source, function_arn, k);
      return;
    }
  }
  json_object_set(st->mappings, uuid, m);
  json_t *out = json_deep_copy(config);
  pthread_mutex_unlock(&st->lock);
  json_decref(m);
  lambda_esm_start(st);
  lambda_esm_wake(st);
  aws_call_reply(call, out);
}

void lambda_get_event_source_mapping(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *m = mapping_get(st, call, jsonutil_string(input, "UUID"));
  json_t *out = m ? json_deep_copy(json_object_get(m, "Config")) : NULL;
  pthread_mutex_unlock(&st->lock);
  if (!out)
    fail_missing(call);
  else
    aws_call_reply(call, out);
}

void lambda_update_event_source_mapping(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *uuid = jsonutil_string(input, "UUID");
  char function_arn[512] = "";
  const char *fn = jsonutil_string(input, "FunctionName");
  if (fn && function_arn_of(call, st, fn, function_arn, sizeof(function_arn)) < 0)
    return;
  pthread_mutex_lock(&st->lock);
  json_t *m = mapping_get(st, call, uuid);
  if (!m) {
    pthread_mutex_unlock(&st->lock);
    fail_missing(call);
    return;
  }
  json_t *c = json_object_get(m, "Config");
  const char *kind = jsonutil_string(m, "Kind");
  const char *source = jsonutil_string(c, "EventSourceArn");
  const char *state = jsonutil_string(c, "State");
  if (state && strcmp(state, "Deleting") == 0) {
    pthread_mutex_unlock(&st->lock);
    aws_call_fail(call, 400, "ResourceInUseException",
                  "Cannot update the event source mapping because it is in use.");
    return;
  }
  int fifo = strcmp(kind, "sqs") == 0 && strlen(source) > 5 &&
             strcmp(source + strlen(source) - 5, ".fifo") == 0;
  json_t *current = json_deep_copy(c);
  pthread_mutex_unlock(&st->lock);
  /* The checks run unlocked: they answer the call. */
  int bad = members_check(call, input, kind, fifo, current);
  json_decref(current);
  if (bad < 0)
    return;
  pthread_mutex_lock(&st->lock);
  m = mapping_get(st, call, uuid);
  if (!m) {
    pthread_mutex_unlock(&st->lock);
    fail_missing(call);
    return;
  }
  c = json_object_get(m, "Config");
  members_apply(c, input);
  if (*function_arn)
    json_object_set_new(c, "FunctionArn", json_string(function_arn));
  json_t *enabled = json_object_get(input, "Enabled");
  int was = json_is_true(json_object_get(m, "Enabled"));
  if (json_is_boolean(enabled) && json_is_true(enabled) != was) {
    json_object_set_new(m, "Enabled", json_boolean(json_is_true(enabled)));
    set_state(m, json_is_true(enabled) ? "Enabling" : "Disabling");
  } else {
    set_state(m, "Updating");
  }
  json_t *out = json_deep_copy(c);
  pthread_mutex_unlock(&st->lock);
  lambda_esm_wake(st);
  aws_call_reply(call, out);
}

void lambda_delete_event_source_mapping(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  pthread_mutex_lock(&st->lock);
  json_t *m = mapping_get(st, call, jsonutil_string(input, "UUID"));
  if (!m) {
    pthread_mutex_unlock(&st->lock);
    fail_missing(call);
    return;
  }
  set_state(m, "Deleting");
  json_t *out = json_deep_copy(json_object_get(m, "Config"));
  pthread_mutex_unlock(&st->lock);
  lambda_esm_wake(st);
  aws_call_reply(call, out);
}

void lambda_list_event_source_mappings(aws_call *call, json_t *input) {
  lambda_state *st = lambda_state_of(call);
  const char *source = jsonutil_string(input, "EventSourceArn");
  const char *fn = jsonutil_string(input, "FunctionName");
  const char *marker = jsonutil_string(input, "Marker");
  json_int_t max = 100;
  if (range_check(call, input, "MaxItems", "maxItems", 1, 10000) < 0)
    return;
  int_member(input, "MaxItems", &max);
  char function_arn[512] = "";
  if (fn && function_arn_of(call, st, fn, function_arn, sizeof(function_arn)) < 0)
    return;
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  /* UUIDs in order, so that a marker (the last UUID given) pages stably. */
  json_t *keys = json_array();
  const char *k;
  json_t *m;
  void *tmp;
  json_object_foreach_safe(st->mappings, tmp, k, m) {
    if (!mapping_get(st, call, k))
      continue;
    json_array_append_new(keys, json_string(k));
  }
  size_t n = json_array_size(keys);
  const char **sorted = calloc(n ? n : 1, sizeof(*sorted));
  for (size_t i = 0; sorted && i < n; i++)
    sorted[i] = json_string_value(json_array_get(keys, i));
  for (size_t i = 1; sorted && i < n; i++)
    for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0; j--) {
      const char *t = sorted[j];
      sorted[j] = sorted[j - 1];
      sorted[j - 1] = t;
    }
  const char *next = NULL;
  for (size_t i = 0; sorted && i < n; i++) {
    if (marker && strcmp(sorted[i], marker) <= 0)
      continue;
    json_t *c = json_object_get(json_object_get(st->mappings, sorted[i]), "Config");
    if (source && strcmp(jsonutil_string(c, "EventSourceArn"), source) != 0)
      continue;
    if (*function_arn && strcmp(jsonutil_string(c, "FunctionArn"), function_arn) != 0)
      continue;
    if ((json_int_t)json_array_size(list) == max) {
      next = jsonutil_string(json_array_get(list, json_array_size(list) - 1), "UUID");
      break;
    }
    json_array_append_new(list, json_deep_copy(c));
  }
  json_t *out = json_pack("{s:o}", "EventSourceMappings", list);
  if (next)
    json_object_set_new(out, "NextMarker", json_string(next));
  pthread_mutex_unlock(&st->lock);
  free(sorted);
  json_decref(keys);
  aws_call_reply(call, out);
}
