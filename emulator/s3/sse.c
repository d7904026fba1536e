/*
 * sse.c — server-side encryption as S3 reports it: SSE-S3 (AES256) by
 * default since January 2023, a bucket's default encryption (PutBucketEncryption)
 * applied to new objects, SSE-KMS with its key id and bucket key, and SSE-C
 * (customer-provided keys).
 *
 * Bodies are not encrypted at rest: the emulator's data files live in a
 * throwaway run directory. What clients observe is kept exact instead: the
 * encryption members echoed on every write and read, and the SSE-C key
 * checks, which are real. An SSE-C object remembers the MD5 of its key (never
 * the key), and a GET, HEAD, copy or part upload must present a key with the
 * same MD5, as S3 requires.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/kms/kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The members an object's attrs carry about its encryption. */
static const char *const sse_members[] = {"ServerSideEncryption", "SSEKMSKeyId",
                                          "BucketKeyEnabled",     "SSECustomerAlgorithm",
                                          "SSECustomerKeyMD5",    NULL};

static void fail_arg(aws_call *call, const char *name, const char *value, const char *message) {
  aws_call_fail_fields(
      call, 400, "InvalidArgument",
      json_pack("{s:s, s:s}", "ArgumentName", name, "ArgumentValue", value ? value : "null"), "%s",
      message);
}

int s3_sse_customer_key(aws_call *call, const json_t *input, const char *prefix, char *md5_out,
                        size_t size) {
  char name[64];
  snprintf(name, sizeof(name), "%sSSECustomerAlgorithm", prefix);
  const char *algo = jsonutil_string(input, name);
  snprintf(name, sizeof(name), "%sSSECustomerKey", prefix);
  const char *key = jsonutil_string(input, name);
  snprintf(name, sizeof(name), "%sSSECustomerKeyMD5", prefix);
  const char *md5 = jsonutil_string(input, name);
  const char *hdr = *prefix ? "x-amz-copy-source-server-side-encryption-customer-algorithm"
                            : "x-amz-server-side-encryption-customer-algorithm";
  const char *hdr_key = *prefix ? "x-amz-copy-source-server-side-encryption-customer-key"
                                : "x-amz-server-side-encryption-customer-key";
  md5_out[0] = '\0';
  if (!algo && !key && !md5)
    return 0;
  if (!algo) {
    fail_arg(call, hdr, NULL,
             "Requests specifying Server Side Encryption with Customer provided keys must "
             "provide a valid encryption algorithm.");
    return -1;
  }
  if (strcmp(algo, "AES256") != 0) {
    aws_call_fail_fields(call, 400, "InvalidEncryptionAlgorithmError",
                         json_pack("{s:s, s:s}", "ArgumentName", hdr, "ArgumentValue", algo),
                         "The encryption request you specified is not valid. The valid value is "
                         "AES256.");
    return -1;
  }
  if (!key) {
    fail_arg(call, hdr_key, NULL,
             "Requests specifying Server Side Encryption with Customer provided keys must "
             "provide an appropriate secret key.");
    return -1;
  }
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  if (codec_base64_decode(&raw, &raw_len, key, strlen(key)) != 0 || raw_len != 32) {
    free(raw);
    fail_arg(call, hdr_key, "", "The secret key was invalid for the specified algorithm.");
    return -1;
  }
  unsigned char digest[16];
  char unused[96];
  s3_digest *dg = s3_digest_new(S3_CK_NONE);
  if (!dg) {
    free(raw);
    s3_fail_oom(call);
    return -1;
  }
  s3_digest_update(dg, raw, raw_len);
  s3_digest_final(dg, digest, unused, sizeof(unused));
  s3_digest_free(dg);
  free(raw);
  char *want = codec_base64_encode(digest, 16);
  if (!want) {
    s3_fail_oom(call);
    return -1;
  }
  if (!md5) {
    free(want);
    fail_arg(call, hdr_key, "",
             "Requests specifying Server Side Encryption with Customer provided keys must "
             "provide the client calculated MD5 of the secret key.");
    return -1;
  }
  if (strcmp(md5, want) != 0) {
    free(want);
    fail_arg(call, hdr_key, "",
             "The calculated MD5 hash of the key did not match the hash that was provided.");
    return -1;
  }
  snprintf(md5_out, size, "%s", want);
  free(want);
  return 1;
}

static int sse_algo_valid(const char *s) {
  return strcmp(s, "AES256") == 0 || strcmp(s, "aws:kms") == 0 || strcmp(s, "aws:kms:dsse") == 0;
}

int s3_sse_check(aws_call *call, const json_t *input, char *ssec_md5, size_t size) {
  int ssec = s3_sse_customer_key(call, input, "", ssec_md5, size);
  if (ssec < 0)
    return -1;
  const char *sse = jsonutil_string(input, "ServerSideEncryption");
  if (sse && !sse_algo_valid(sse)) {
    fail_arg(call, "x-amz-server-side-encryption", sse,
             "The encryption method specified is not supported");
    return -1;
  }
  if (sse && ssec) {
    fail_arg(call, "x-amz-server-side-encryption", sse,
             "Server Side Encryption with Customer provided key is incompatible with the "
             "encryption method specified");
    return -1;
  }
  const char *kms = jsonutil_string(input, "SSEKMSKeyId");
  if (kms && (!sse || strncmp(sse, "aws:kms", 7) != 0)) {
    fail_arg(call, "x-amz-server-side-encryption-aws-kms-key-id", kms,
             "Server Side Encryption with AWS KMS managed key requires HTTP header "
             "x-amz-server-side-encryption : aws:kms");
    return -1;
  }
  return 0;
}

/* A KMS key as S3 echoes it: the full ARN (a bare key id or alias is
 * expanded in the caller's region and account), or the account's default
 * aws/s3 key when none was named. */
static json_t *kms_key_arn(aws_call *call, const char *id) {
  char arn[512];
  if (id && strncmp(id, "arn:", 4) == 0)
    snprintf(arn, sizeof(arn), "%s", id);
  else if (id && strncmp(id, "alias/", 6) == 0)
    snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s", aws_call_region(call),
             aws_call_account(call), id);
  else
    snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s%s", aws_call_region(call),
             aws_call_account(call), id ? "key/" : "alias/aws/s3", id ? id : "");
  return json_string(arn);
}

/* The encryption a new object gets: the request's, else bucket b's
 * default (its key and bucket-key setting with it), else SSE-S3. */
static const char *effective_sse(const s3_bucket *b, const json_t *input, const char **kms,
                                 json_t **bucket_key) {
  const char *sse = jsonutil_string(input, "ServerSideEncryption");
  *kms = jsonutil_string(input, "SSEKMSKeyId");
  *bucket_key = json_object_get(input, "BucketKeyEnabled");
  if (!sse) {
    json_t *rules =
        json_object_get(json_object_get(b->configs, "ServerSideEncryptionConfiguration"), "Rules");
    json_t *rule = json_array_get(rules, 0);
    json_t *dflt = json_object_get(rule, "ApplyServerSideEncryptionByDefault");
    sse = jsonutil_string(dflt, "SSEAlgorithm");
    *kms = jsonutil_string(dflt, "KMSMasterKeyID");
    if (!*bucket_key)
      *bucket_key = json_object_get(rule, "BucketKeyEnabled");
  }
  return sse ? sse : "AES256";
}

int s3_sse_kms_check(aws_call *call, const s3_bucket *b, const json_t *input,
                     const char *ssec_md5) {
  const char *kms;
  json_t *bucket_key;
  const char *sse = effective_sse(b, input, &kms, &bucket_key);
  emulator *emu = aws_call_emulator(call);
  if ((ssec_md5 && *ssec_md5) || strncmp(sse, "aws:kms", 7) != 0 || !kms || !emu ||
      !kms_available(emu))
    return 0;
  /* The key must be in the bucket's Region; an ARN of another is refused
   * before KMS is asked. */
  char region[32];
  if (strncmp(kms, "arn:", 4) == 0 &&
      (sscanf(kms, "arn:%*[^:]:kms:%31[^:]:", region) != 1 || strcmp(region, b->region) != 0)) {
    aws_call_fail(call, 400, "KMS.NotFoundException", "Invalid arn %s", b->region);
    return -1;
  }
  const char *code = NULL;
  if (kms_key_check(NULL, emu, aws_call_account(call), b->region, kms, &code) == 0)
    return 0;
  char s3_code[64];
  snprintf(s3_code, sizeof(s3_code), "KMS.%s", code ? code : "NotFoundException");
  aws_call_fail(call, 400, s3_code, "%s", kms_error_message());
  return -1;
}

void s3_sse_apply(aws_call *call, const s3_bucket *b, const json_t *input, const char *ssec_md5,
                  json_t *attrs) {
  for (size_t i = 0; sse_members[i]; i++)
    json_object_del(attrs, sse_members[i]);
  if (ssec_md5 && *ssec_md5) {
    json_object_set_new(attrs, "SSECustomerAlgorithm", json_string("AES256"));
    json_object_set_new(attrs, "SSECustomerKeyMD5", json_string(ssec_md5));
    return;
  }
  const char *kms;
  json_t *bucket_key;
  const char *sse = effective_sse(b, input, &kms, &bucket_key);
  json_object_set_new(attrs, "ServerSideEncryption", json_string(sse));
  if (strncmp(sse, "aws:kms", 7) == 0) {
    json_object_set_new(attrs, "SSEKMSKeyId", kms_key_arn(call, kms));
    if (json_is_true(bucket_key))
      json_object_set_new(attrs, "BucketKeyEnabled", json_true());
  }
}

void s3_sse_output(json_t *out, const json_t *attrs) {
  for (size_t i = 0; sse_members[i]; i++) {
    json_t *v = json_object_get(attrs, sse_members[i]);
    if (v)
      json_object_set(out, sse_members[i], v);
  }
}

int s3_sse_read_check(aws_call *call, const json_t *attrs, const json_t *input,
                      const char *prefix) {
  char md5[64];
  int given = s3_sse_customer_key(call, input, prefix, md5, sizeof(md5));
  if (given < 0)
    return -1;
  const char *stored = jsonutil_string(attrs, "SSECustomerKeyMD5");
  if (stored && !given) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "The object was stored using a form of Server Side Encryption. The correct "
                  "parameters must be provided to retrieve the object.");
    return -1;
  }
  if (!stored && given) {
    aws_call_fail(call, 400, "InvalidRequest",
                  "The encryption parameters are not applicable to this object.");
    return -1;
  }
  if (stored && strcmp(stored, md5) != 0) {
    aws_call_fail(call, 403, "AccessDenied", "Access Denied");
    return -1;
  }
  return 0;
}

int s3_sse_config_valid(aws_call *call, const json_t *config) {
  json_t *rules = json_object_get(config, "Rules");
  if (!json_is_array(rules) || json_array_size(rules) == 0) {
    s3_fail_malformed_xml(call);
    return 0;
  }
  size_t i;
  json_t *rule;
  json_array_foreach(rules, i, rule) {
    json_t *dflt = json_object_get(rule, "ApplyServerSideEncryptionByDefault");
    const char *algo = jsonutil_string(dflt, "SSEAlgorithm");
    if (!algo || !sse_algo_valid(algo)) {
      s3_fail_malformed_xml(call);
      return 0;
    }
    if (jsonutil_string(dflt, "KMSMasterKeyID") && strncmp(algo, "aws:kms", 7) != 0) {
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s}", "ArgumentName", "ApplyServerSideEncryptionByDefault"),
                           "a KMSMasterKeyID is not applicable if the default sse algorithm is "
                           "not aws:kms or aws:kms:dsse");
      return 0;
    }
  }
  return 1;
}

json_t *s3_sse_config_default(void) {
  return json_pack("{s:[{s:{s:s}, s:b}]}", "Rules", "ApplyServerSideEncryptionByDefault",
                   "SSEAlgorithm", "AES256", "BucketKeyEnabled", 0);
}
