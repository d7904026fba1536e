/*
 * service.c — the S3 service: its operation table (aws_service_s3), its state's
 * life cycle, and the errors every operation may answer.
 *
 * S3 runs on the rest-xml protocol layer, which parses each request into the
 * operation's input (URI labels, headers, query, XML bodies) and serializes
 * the output; object bodies never pass through it (ingest.c reads them,
 * GetObject answers with a file or a copy). The operations live in one file
 * per concept; s3_int.h lists them.
 */
#include "emulator/s3/s3_int.h"

#include "common/error.h"
#include "emulator/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- errors ---- */

void s3_fail_no_bucket(aws_call *call, const char *bucket) {
  aws_call_fail_fields(call, 404, "NoSuchBucket",
                       json_pack("{s:s}", "BucketName", bucket ? bucket : ""),
                       "The specified bucket does not exist");
}

void s3_fail_no_key(aws_call *call, const char *key) {
  aws_call_fail_fields(call, 404, "NoSuchKey", json_pack("{s:s}", "Key", key),
                       "The specified key does not exist.");
}

void s3_fail_no_upload(aws_call *call, const char *id) {
  aws_call_fail_fields(call, 404, "NoSuchUpload", json_pack("{s:s}", "UploadId", id ? id : ""),
                       "The specified upload does not exist. The upload ID may be invalid, or "
                       "the upload may have been aborted or completed.");
}

void s3_fail_malformed_xml(aws_call *call) {
  aws_call_fail(call, 400, "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our "
                "published schema");
}

void s3_fail_precondition(aws_call *call, const char *condition) {
  aws_call_fail_fields(call, 412, "PreconditionFailed", json_pack("{s:s}", "Condition", condition),
                       "At least one of the pre-conditions you specified did not hold");
}

void s3_fail_delete_marker(aws_call *call) {
  const char *method = http_request_method(aws_call_http(call));
  aws_call_fail_fields(
      call, 405, "MethodNotAllowed",
      json_pack("{s:s, s:s}", "Method", method ? method : "", "ResourceType", "DeleteMarker"),
      "The specified method is not allowed against this resource.");
}

void s3_fail_oom(aws_call *call) { aws_call_fail(call, 500, "InternalError", "out of memory"); }

/* ---- life cycle ---- */

static int s3_create(void **state, emulator *emu) {
  s3_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  char tmpl[4096];
  snprintf(tmpl, sizeof(tmpl), "%s/airgap-s3-XXXXXX", emulator_data_dir(emu));
  if (!mkdtemp(tmpl)) {
    int rc = airgap_error_set_errno(AIRGAP_ERROR,
                                    "cannot create the S3 data directory under %s; check that "
                                    "the emulator's data directory is writable",
                                    emulator_data_dir(emu));
    free(st);
    return rc;
  }
  st->dir = strdup(tmpl);
  if (!st->dir) {
    rmdir(tmpl);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  atomic_init(&st->next_file, 1);
  atomic_init(&st->inline_bytes, 0);
  pthread_mutex_init(&st->lock, NULL);
  *state = st;
  return 0;
}

static void s3_reset(void *state) {
  s3_state *st = state;
  s3_lock(st);
  for (size_t i = 0; i < st->buckets.len; i++)
    s3_bucket_free(st, st->buckets.items[i]);
  st->buckets.len = 0;
  s3_unlock(st);
}

static void s3_destroy(void *state) {
  s3_state *st = state;
  if (!st)
    return;
  s3_reset(st);
  free(st->buckets.items);
  free(st->doomed); /* empty after the reset's s3_unlock */
  /* The reset removed every data file; whatever a failed write may have left
   * goes with the emulator's folder, which the emulator removes after its
   * services (emulator_data_dir). */
  rmdir(st->dir);
  free(st->dir);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

/* ---- the table ---- */

static const aws_operation s3_operations[] = {
    {"AbortMultipartUpload", s3_op_abort_multipart},
    {"CompleteMultipartUpload", s3_op_complete_multipart},
    {"CopyObject", s3_op_copy_object},
    {"CreateBucket", s3_op_create_bucket},
    {"CreateMultipartUpload", s3_op_create_multipart},
    {"DeleteBucket", s3_op_delete_bucket},
    {"DeleteBucketCors", s3_op_config},
    {"DeleteBucketEncryption", s3_op_config},
    {"DeleteBucketLifecycle", s3_op_config},
    {"DeleteBucketOwnershipControls", s3_op_config},
    {"DeleteBucketPolicy", s3_op_config},
    {"DeleteBucketReplication", s3_op_config},
    {"DeleteBucketTagging", s3_op_config},
    {"DeleteBucketWebsite", s3_op_config},
    {"DeleteObject", s3_op_delete_object},
    {"DeleteObjectTagging", s3_op_object_subresource},
    {"DeleteObjects", s3_op_delete_objects},
    {"DeletePublicAccessBlock", s3_op_config},
    {"GetBucketAccelerateConfiguration", s3_op_config},
    {"GetBucketAcl", s3_op_get_bucket_acl},
    {"GetBucketCors", s3_op_config},
    {"GetBucketEncryption", s3_op_config},
    {"GetBucketLifecycleConfiguration", s3_op_config},
    {"GetBucketLocation", s3_op_get_bucket_location},
    {"GetBucketLogging", s3_op_config},
    {"GetBucketNotificationConfiguration", s3_op_config},
    {"GetBucketOwnershipControls", s3_op_config},
    {"GetBucketPolicy", s3_op_config},
    {"GetBucketPolicyStatus", s3_op_get_bucket_policy_status},
    {"GetBucketReplication", s3_op_config},
    {"GetBucketRequestPayment", s3_op_config},
    {"GetBucketTagging", s3_op_config},
    {"GetBucketVersioning", s3_op_get_bucket_versioning},
    {"GetBucketWebsite", s3_op_config},
    {"GetObject", s3_op_get_object},
    {"GetObjectAcl", s3_op_object_subresource},
    {"GetObjectAttributes", s3_op_get_object_attributes},
    {"GetObjectLegalHold", s3_op_get_object_legal_hold},
    {"GetObjectLockConfiguration", s3_op_get_object_lock_config},
    {"GetObjectRetention", s3_op_get_object_retention},
    {"GetObjectTagging", s3_op_object_subresource},
    {"GetPublicAccessBlock", s3_op_config},
    {"HeadBucket", s3_op_head_bucket},
    {"HeadObject", s3_op_get_object},
    {"ListBuckets", s3_op_list_buckets},
    {"ListMultipartUploads", s3_op_list_uploads},
    {"ListObjectVersions", s3_op_list_object_versions},
    {"ListObjects", s3_op_list_objects},
    {"ListObjectsV2", s3_op_list_objects},
    {"ListParts", s3_op_list_parts},
    {"PutBucketAccelerateConfiguration", s3_op_config},
    {"PutBucketAcl", s3_op_put_bucket_acl},
    {"PutBucketCors", s3_op_config},
    {"PutBucketEncryption", s3_op_config},
    {"PutBucketLifecycleConfiguration", s3_op_config},
    {"PutBucketLogging", s3_op_config},
    {"PutBucketNotificationConfiguration", s3_op_config},
    {"PutBucketOwnershipControls", s3_op_config},
    {"PutBucketPolicy", s3_op_config},
    {"PutBucketReplication", s3_op_config},
    {"PutBucketRequestPayment", s3_op_config},
    {"PutBucketTagging", s3_op_config},
    {"PutBucketVersioning", s3_op_put_bucket_versioning},
    {"PutBucketWebsite", s3_op_config},
    {"PutObject", s3_op_put_object},
    {"PostObject", s3_op_post_object},       /* not in the model: the gateway routes forms here */
    {"PreflightCors", s3_op_cors_preflight}, /* not in the model: OPTIONS */
    {"PutObjectAcl", s3_op_object_subresource},
    {"PutObjectLegalHold", s3_op_put_object_legal_hold},
    {"PutObjectLockConfiguration", s3_op_put_object_lock_config},
    {"PutObjectRetention", s3_op_put_object_retention},
    {"PutObjectTagging", s3_op_object_subresource},
    {"PutPublicAccessBlock", s3_op_config},
    {"RestoreObject", s3_op_restore_object},
    {"SelectObjectContent", s3_op_select_object_content},
    {"PutBucketInventoryConfiguration", s3_op_idconfig},
    {"GetBucketInventoryConfiguration", s3_op_idconfig},
    {"DeleteBucketInventoryConfiguration", s3_op_idconfig},
    {"ListBucketInventoryConfigurations", s3_op_idconfig},
    {"PutBucketAnalyticsConfiguration", s3_op_idconfig},
    {"GetBucketAnalyticsConfiguration", s3_op_idconfig},
    {"DeleteBucketAnalyticsConfiguration", s3_op_idconfig},
    {"ListBucketAnalyticsConfigurations", s3_op_idconfig},
    {"PutBucketMetricsConfiguration", s3_op_idconfig},
    {"GetBucketMetricsConfiguration", s3_op_idconfig},
    {"DeleteBucketMetricsConfiguration", s3_op_idconfig},
    {"ListBucketMetricsConfigurations", s3_op_idconfig},
    {"PutBucketIntelligentTieringConfiguration", s3_op_idconfig},
    {"GetBucketIntelligentTieringConfiguration", s3_op_idconfig},
    {"DeleteBucketIntelligentTieringConfiguration", s3_op_idconfig},
    {"ListBucketIntelligentTieringConfigurations", s3_op_idconfig},
    {"UploadPart", s3_op_upload_part},
    {"UploadPartCopy", s3_op_upload_part_copy},
};

const aws_service aws_service_s3 = {
    .name = "s3",
    .model_name = "s3",
    .operations = s3_operations,
    .operation_count = sizeof(s3_operations) / sizeof(s3_operations[0]),
    .create = s3_create,
    .reset = s3_reset,
    .shutdown = NULL,
    .destroy = s3_destroy,
};
