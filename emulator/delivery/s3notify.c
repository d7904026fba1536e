/*
 * s3notify.c — S3 event notifications: S3 calls delivery_s3_event() where an
 * object is created or removed, with the bucket's stored
 * NotificationConfiguration; each queue, topic and function configuration
 * whose events and prefix/suffix rules match gets S3's event record
 * ({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", …}]})
 * through the delivery engine, and the default event bus gets the
 * EventBridge form ("Object Created", "Object Deleted", "Object Restore
 * Initiated" / "Completed") when the bucket
 * enables EventBridgeConfiguration. All of it off the request thread; S3 is
 * never failed by a notification. A configuration is accepted only when its
 * destinations exist, and each queue and topic then gets s3:TestEvent.
 */
#include "emulator/delivery/delivery_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"
#include "common/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static void iso_now(char out[32]) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char base[24];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03dZ", base, (int)(tv.tv_usec / 1000));
}

/* "s3:ObjectCreated:*" or "s3:ObjectCreated:Put" against "ObjectCreated:Put". */
static int event_matches(json_t *events, const char *event_name) {
  size_t i;
  json_t *e;
  json_array_foreach(events, i, e) {
    const char *s = json_string_value(e);
    if (!s || strncmp(s, "s3:", 3))
      continue;
    s += 3;
    size_t n = strlen(s);
    if (n && s[n - 1] == '*' ? strncmp(s, event_name, n - 1) == 0 : strcmp(s, event_name) == 0)
      return 1;
  }
  return 0;
}

static int filter_matches(json_t *conf, const char *key) {
  json_t *rules =
      json_object_get(json_object_get(json_object_get(conf, "Filter"), "Key"), "FilterRules");
  size_t i;
  json_t *r;
  size_t kl = strlen(key);
  json_array_foreach(rules, i, r) {
    const char *name = json_string_value(json_object_get(r, "Name"));
    const char *value = json_string_value(json_object_get(r, "Value"));
    if (!name || !value)
      continue;
    size_t vl = strlen(value);
    if (!strcasecmp(name, "prefix") && strncmp(key, value, vl))
      return 0;
    if (!strcasecmp(name, "suffix") && (kl < vl || strcmp(key + kl - vl, value)))
      return 0;
  }
  return 1;
}

/* S3 writes keys in event records URL-encoded (spaces as '+'). */
static char *encode_key(const char *key) {
  size_t n = strlen(key);
  char *out = malloc(3 * n + 1), *p = out;
  if (!out)
    return NULL;
  for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
    if ((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
        strchr("-_.~/*", *k)) {
      *p++ = (char)*k;
    } else if (*k == ' ') {
      *p++ = '+';
    } else {
      snprintf(p, 4, "%%%02X", *k);
      p += 3;
    }
  }
  *p = '\0';
  return out;
}

static void submit(delivery *d, delivery_kind kind, const char *target, json_t *body,
                   json_t *meta) {
  char *text = json_dumps(body, JSON_COMPACT);
  if (!text)
    return;
  delivery_job job = {
      .kind = kind, .target = target, .body = text, .body_len = strlen(text), .meta = meta};
  if (delivery_submit(d, &job) < 0)
    log_warn("s3", "S3 event notification to %s not queued", target);
  free(text);
}

void delivery_s3_event(aws_call *call, const json_t *bucket_configs, const char *bucket,
                       const char *key, uint64_t size, const char *etag, const char *version_id,
                       const char *event_name) {
  json_t *config = json_object_get(bucket_configs, "NotificationConfiguration");
  emulator *emu = aws_call_emulator(call);
  const char *account = aws_call_account(call);
  const char *region = aws_call_region(call);
  const char *requester = aws_call_access_key(call);
  char etag_bare[80] = "";
  if (etag) {
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
      snprintf(etag_bare, sizeof(etag_bare), "%.*s", (int)(n - 2), etag + 1);
    else
      snprintf(etag_bare, sizeof(etag_bare), "%s", etag);
    etag = etag_bare;
  }
  if (!json_is_object(config) || !key || !bucket || !event_name)
    return;
  delivery *d = delivery_find(emu);
  if (!d)
    return;
  char ts[32], request_id[37], sequencer[17], bucket_arn[300];
  iso_now(ts);
  codec_uuid4(request_id);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  snprintf(sequencer, sizeof(sequencer), "%016" PRIX64,
           (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
  snprintf(bucket_arn, sizeof(bucket_arn), "arn:aws:s3:::%s", bucket);
  char *ekey = encode_key(key);
  if (!ekey)
    return;
  static const struct {
    const char *list, *arn;
    delivery_kind kind;
  } kinds[] = {{"QueueConfigurations", "QueueArn", DELIVERY_SQS},
               {"TopicConfigurations", "TopicArn", DELIVERY_SNS},
               {"LambdaFunctionConfigurations", "LambdaFunctionArn", DELIVERY_LAMBDA}};
  const char *principal = requester && *requester ? requester : account;
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    size_t i;
    json_t *conf;
    json_array_foreach(json_object_get(config, kinds[k].list), i, conf) {
      const char *target = json_string_value(json_object_get(conf, kinds[k].arn));
      if (!target || !event_matches(json_object_get(conf, "Events"), event_name) ||
          !filter_matches(conf, key))
        continue;
      const char *id = json_string_value(json_object_get(conf, "Id"));
      json_t *object =
          json_pack("{s:s,s:I,s:s}", "key", ekey, "size", (json_int_t)size, "sequencer", sequencer);
      if (etag)
        json_object_set_new(object, "eTag", json_string(etag));
      if (version_id)
        json_object_set_new(object, "versionId", json_string(version_id));
      json_t *record = json_pack(
          "{s:[{s:s,s:s,s:s,s:s,s:s,s:{s:s},s:{s:s},s:{s:s,s:s},s:{s:s,s:s,s:{s:s,s:{s:s},s:s},"
          "s:o}}]}",
          "Records", "eventVersion", "2.1", "eventSource", "aws:s3", "awsRegion", region,
          "eventTime", ts, "eventName", event_name, "userIdentity", "principalId", principal,
          "requestParameters", "sourceIPAddress", "127.0.0.1", "responseElements",
          "x-amz-request-id", request_id, "x-amz-id-2", request_id, "s3", "s3SchemaVersion", "1.0",
          "configurationId", id ? id : "", "bucket", "name", bucket, "ownerIdentity", "principalId",
          account, "arn", bucket_arn, "object", object);
      json_t *meta = kinds[k].kind == DELIVERY_SNS
                         ? json_pack("{s:s}", "Subject", "Amazon S3 Notification")
                         : NULL;
      if (record)
        submit(d, kinds[k].kind, target, record, meta);
      json_decref(record);
      json_decref(meta);
    }
  }
  if (json_is_object(json_object_get(config, "EventBridgeConfiguration"))) {
    /* EventBridge's own names for S3's events: the detail-type, and for
     * creations and deletions the reason (and deletion-type). */
    int created = !strncmp(event_name, "ObjectCreated", 13);
    int removed = !strncmp(event_name, "ObjectRemoved", 13);
    const char *detail_type =
        created                                          ? "Object Created"
        : removed                                        ? "Object Deleted"
        : !strcmp(event_name, "ObjectRestore:Post")      ? "Object Restore Initiated"
        : !strcmp(event_name, "ObjectRestore:Completed") ? "Object Restore Completed"
                                                         : NULL;
    char id[37], bus[200];
    codec_uuid4(id);
    snprintf(bus, sizeof(bus), "arn:aws:events:%s:%s:event-bus/default", region, account);
    json_t *object =
        json_pack("{s:s,s:I,s:s}", "key", key, "size", (json_int_t)size, "sequencer", sequencer);
    if (etag)
      json_object_set_new(object, "etag", json_string(etag));
    if (version_id)
      json_object_set_new(object, "version-id", json_string(version_id));
    json_t *event =
        !detail_type
            ? (json_decref(object), NULL)
            : json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:{s:s,s:{s:s},s:o,s:s,s:s,s:s}}",
                        "version", "0", "id", id, "detail-type", detail_type, "source", "aws.s3",
                        "account", account, "time", ts, "region", region, "resources", bucket_arn,
                        "detail", "version", "0", "bucket", "name", bucket, "object", object,
                        "request-id", request_id, "requester", principal, "source-ip-address",
                        "127.0.0.1");
    json_t *detail = json_object_get(event, "detail");
    if (created)
      json_object_set_new(detail, "reason",
                          json_string(strstr(event_name, "Copy") ? "CopyObject"
                                      : strstr(event_name, "CompleteMultipartUpload")
                                          ? "CompleteMultipartUpload"
                                      : strstr(event_name, "Post") ? "POST Object"
                                                                   : "PutObject"));
    if (removed) {
      json_object_set_new(detail, "reason", json_string("DeleteObject"));
      json_object_set_new(detail, "deletion-type",
                          json_string(strstr(event_name, "DeleteMarkerCreated")
                                          ? "Delete Marker Created"
                                          : "Permanently Deleted"));
    }
    if (event)
      submit(d, DELIVERY_EVENTS, bus, event, NULL);
    json_decref(event);
  }
  free(ekey);
}

static const struct {
  const char *list, *arn, *missing;
  delivery_kind kind;
} destinations[] = {
    {"QueueConfigurations", "QueueArn", "The destination queue does not exist", DELIVERY_SQS},
    {"TopicConfigurations", "TopicArn", "The destination topic does not exist", DELIVERY_SNS},
    {"LambdaFunctionConfigurations", "LambdaFunctionArn", "The destination Lambda does not exist",
     DELIVERY_LAMBDA},
};

int delivery_s3_destinations_check(aws_call *call, const json_t *config) {
  emulator *emu = aws_call_emulator(call);
  for (size_t k = 0; k < sizeof(destinations) / sizeof(destinations[0]); k++) {
    size_t i;
    json_t *conf;
    json_array_foreach(json_object_get(config, destinations[k].list), i, conf) {
      const char *arn = jsonutil_string(conf, destinations[k].arn);
      if (arn && delivery_target_exists(emu, destinations[k].kind, arn))
        continue;
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s, s:s}", "ArgumentName", arn ? arn : "", "ArgumentValue",
                                     destinations[k].missing),
                           "Unable to validate the following destination configurations");
      return 0;
    }
  }
  return 1;
}

void delivery_s3_test_event(aws_call *call, const json_t *config, const char *bucket) {
  delivery *d = delivery_find(aws_call_emulator(call));
  if (!d || !bucket)
    return;
  char ts[32], uuid[37], request_id[17], host_seed[37];
  iso_now(ts);
  /* S3's request ids are 16 upper-case hex digits; its host ids base64. */
  codec_uuid4(uuid);
  size_t n = 0;
  for (const char *p = uuid; *p && n < 16; p++)
    if (*p != '-')
      request_id[n++] = (char)toupper((unsigned char)*p);
  request_id[n] = '\0';
  codec_uuid4(host_seed);
  char *host_id = codec_base64_encode(host_seed, 36);
  json_t *event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Service", "Amazon S3", "Event",
                            "s3:TestEvent", "Time", ts, "Bucket", bucket, "RequestId", request_id,
                            "HostId", host_id ? host_id : "");
  free(host_id);
  json_t *meta = json_pack("{s:s}", "Subject", "Amazon S3 Notification");
  for (size_t k = 0; event && k < 2; k++) { /* queues and topics; functions get none */
    size_t i;
    json_t *conf;
    json_array_foreach(json_object_get(config, destinations[k].list), i, conf) {
      const char *arn = jsonutil_string(conf, destinations[k].arn);
      if (arn)
        submit(d, destinations[k].kind, arn, event,
               destinations[k].kind == DELIVERY_SNS ? meta : NULL);
    }
  }
  json_decref(event);
  json_decref(meta);
}
