/*
 * idconfig.c — the bucket configurations S3 keeps several of, each under an
 * id: inventory, analytics, metrics and Intelligent-Tiering
 * (Put/Get/Delete/List Bucket<Family>Configuration(s)).
 *
 * Each family is a JSON object id → configuration in the bucket's configs,
 * under a member name no S3 configuration uses. The id of the query string
 * must be the configuration's own (IdMismatch); a bucket holds at most 1,000
 * of a family (TooManyConfigurations); listings come sorted by id, 100 a
 * page, the continuation token being the next id. Inventory configurations
 * are validated as S3 validates them (destination ARN, format, schedule,
 * versions, optional fields); the emulator produces no reports.
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#define S3_IDCONFIG_MAX 1000
#define S3_IDCONFIG_PAGE 100
#define S3_IDCONFIG_MAX_ID 64

typedef struct idconfig_family {
  const char *name;   /* "Inventory": the operations' middle */
  const char *member; /* input member and Get output member */
  const char *list;   /* List output member */
  const char *stored; /* key in the bucket's configs */
} idconfig_family;

static const idconfig_family families[] = {
    {"Inventory", "InventoryConfiguration", "InventoryConfigurationList", "airgap:inventory"},
    {"Analytics", "AnalyticsConfiguration", "AnalyticsConfigurationList", "airgap:analytics"},
    {"Metrics", "MetricsConfiguration", "MetricsConfigurationList", "airgap:metrics"},
    {"IntelligentTiering", "IntelligentTieringConfiguration", "IntelligentTieringConfigurationList",
     "airgap:intelligent-tiering"},
};

static int one_of(const char *s, const char *const *list) {
  for (; s && *list; list++)
    if (strcmp(s, *list) == 0)
      return 1;
  return 0;
}

/* An inventory configuration as S3 checks it. 1, or 0 after answering. */
static int inventory_valid(aws_call *call, const json_t *cfg) {
  const json_t *dest = json_object_get(json_object_get(cfg, "Destination"), "S3BucketDestination");
  const char *arn = jsonutil_string(dest, "Bucket");
  static const char *const formats[] = {"CSV", "ORC", "Parquet", NULL};
  static const char *const frequencies[] = {"Daily", "Weekly", NULL};
  static const char *const versions[] = {"All", "Current", NULL};
  if (!dest || !arn || !json_object_get(cfg, "IsEnabled") ||
      !one_of(jsonutil_string(dest, "Format"), formats) ||
      !one_of(jsonutil_string(json_object_get(cfg, "Schedule"), "Frequency"), frequencies) ||
      !one_of(jsonutil_string(cfg, "IncludedObjectVersions"), versions)) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  if (strncmp(arn, "arn:aws:s3:::", 13) != 0 || !arn[13] || strchr(arn + 13, '/')) {
    aws_call_fail_fields(call, 400, "InvalidS3DestinationBucket",
                         json_pack("{s:s}", "BucketName", arn), "Invalid bucket ARN.");
    return 0;
  }
  static const char *const fields[] = {"Size",
                                       "LastModifiedDate",
                                       "StorageClass",
                                       "ETag",
                                       "IsMultipartUploaded",
                                       "ReplicationStatus",
                                       "EncryptionStatus",
                                       "ObjectLockRetainUntilDate",
                                       "ObjectLockMode",
                                       "ObjectLockLegalHoldStatus",
                                       "IntelligentTieringAccessTier",
                                       "BucketKeyStatus",
                                       "ChecksumAlgorithm",
                                       "ObjectAccessControlList",
                                       "ObjectOwner",
                                       "LifecycleExpirationDate",
                                       NULL};
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(cfg, "OptionalFields"), i, f) {
    if (!one_of(json_string_value(f), fields)) {
      s3_fail_malformed_xml(call);
      return 0;
    }
  }
  const json_t *enc = json_object_get(dest, "Encryption");
  if (enc && json_object_get(enc, "SSEKMS") &&
      !jsonutil_string(json_object_get(enc, "SSEKMS"), "KeyId")) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  return 1;
}

static void fail_no_config(aws_call *call) {
  aws_call_fail(call, 404, "NoSuchConfiguration", "The specified configuration does not exist.");
}

static int cmp_ids(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* List: the family's configurations sorted by id, from the token on. Owned. */
static json_t *list_page(const idconfig_family *fam, const json_t *stored, const char *token) {
  size_t n = json_object_size(stored), k = 0;
  const char **ids = calloc(n ? n : 1, sizeof(*ids));
  json_t *items = json_array(), *out = json_object();
  const char *id;
  json_t *cfg;
  if (!ids) {
    json_decref(items);
    return out;
  }
  json_object_foreach((json_t *)stored, id, cfg) ids[k++] = id;
  qsort(ids, n, sizeof(*ids), cmp_ids);
  size_t start = 0;
  while (token && start < n && strcmp(ids[start], token) < 0)
    start++;
  size_t end = start + S3_IDCONFIG_PAGE < n ? start + S3_IDCONFIG_PAGE : n;
  for (size_t i = start; i < end; i++)
    json_array_append(items, json_object_get(stored, ids[i]));
  if (json_array_size(items))
    json_object_set_new(out, fam->list, items);
  else
    json_decref(items);
  json_object_set_new(out, "IsTruncated", json_boolean(end < n));
  if (token)
    json_object_set_new(out, "ContinuationToken", json_string(token));
  if (end < n)
    json_object_set_new(out, "NextContinuationToken", json_string(ids[end]));
  free(ids);
  return out;
}

void s3_op_idconfig(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  const idconfig_family *fam = NULL;
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && !fam; i++)
    if (strstr(op, families[i].name))
      fam = &families[i];
  if (!fam) {
    aws_call_fail(call, 501, "NotImplemented", "%s is not implemented.", op);
    return;
  }
  const char *id = jsonutil_string(input, "Id");
  json_t *cfg = json_object_get(input, fam->member);
  int put = strncmp(op, "Put", 3) == 0, del = strncmp(op, "Delete", 6) == 0,
      list = strncmp(op, "List", 4) == 0;
  if (put) {
    if (!json_is_object(cfg) || !jsonutil_string(cfg, "Id")) {
      s3_fail_malformed_xml(call);
      return;
    }
    if (!id || strcmp(id, jsonutil_string(cfg, "Id")) != 0) {
      aws_call_fail(call, 400, "IdMismatch",
                    "Document ID does not match the specified configuration ID.");
      return;
    }
    if (strlen(id) > S3_IDCONFIG_MAX_ID) {
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s, s:s}", "ArgumentName", "id", "ArgumentValue", id),
                           "The specified configuration id is not valid.");
      return;
    }
    if (strcmp(fam->name, "Inventory") == 0 && !inventory_valid(call, cfg))
      return;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  json_t *stored = json_object_get(b->configs, fam->stored);
  json_t *out = NULL;
  if (list) {
    json_t *empty = json_object();
    out = list_page(fam, stored ? stored : empty, jsonutil_string(input, "ContinuationToken"));
    json_decref(empty);
  } else if (put) {
    if (!stored) {
      stored = json_object();
      json_object_set_new(b->configs, fam->stored, stored);
    }
    if (!json_object_get(stored, id) && json_object_size(stored) >= S3_IDCONFIG_MAX) {
      s3_unlock(st);
      aws_call_fail(call, 400, "TooManyConfigurations",
                    "You are attempting to create a new configuration but have already reached "
                    "the 1,000-configuration limit.");
      return;
    }
    json_object_set(stored, id, cfg);
  } else {
    json_t *found = id ? json_object_get(stored, id) : NULL;
    if (!found) {
      s3_unlock(st);
      fail_no_config(call);
      return;
    }
    if (del)
      json_object_del(stored, id);
    else
      out = json_pack("{s:O}", fam->member, found);
  }
  s3_unlock(st);
  aws_call_reply(call, out); /* a delete: the model's 204 */
}
