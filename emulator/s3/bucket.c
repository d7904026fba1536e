/*
 * bucket.c — S3 buckets: create, head, delete, list, location, versioning,
 * ACLs, and the bucket configurations S3 only stores and returns (policy,
 * CORS, lifecycle, encryption, tagging, website, …).
 *
 * Those configurations are kept as the input value the client sent and given
 * back as it was stored, one generic handler for the fourteen families
 * (config_kinds): the emulator enforces none of them, like LocalStack, and a
 * client reading back what it wrote is what test suites check.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/http_server.h"
#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

s3_bucket *s3_bucket_get(aws_call *call, s3_state *st, const char *name) {
  s3_bucket *b = s3_bucket_find(st, name);
  if (!b) {
    s3_unlock(st);
    s3_fail_no_bucket(call, name);
  }
  return b;
}

s3_bucket *s3_bucket_lock(aws_call *call, const json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_lock(st);
  s3_bucket *b = s3_bucket_get(call, st, jsonutil_string(input, "Bucket"));
  if (b)
    s3_cors_headers(call, b);                       /* cors.c: on errors too, as S3 does */
  if (b && s3_access_check(call, input, st, b) < 0) /* acl.c */
    return NULL;
  if (b && s3_ownership_check_write(call, b, input) < 0) { /* ownership.c */
    s3_unlock(st);
    return NULL;
  }
  return b;
}

/* AWS's rules for general purpose bucket names: 3 to 63 lower-case letters,
 * digits, dots and hyphens; dot-separated labels that begin and end with a
 * letter or digit (so no "..", ".-" or "-."); not an IPv4 address; none of
 * the prefixes and suffixes S3 reserves (access point aliases, directory and
 * table buckets, Object Lambda, Multi-Region Access Points). Underscores
 * were allowed only in legacy us-east-1 buckets and are refused now. */
static int bucket_name_valid(const char *name) {
  static const char *const reserved_prefix[] = {"xn--", "sthree-", "amzn-s3-demo-"};
  static const char *const reserved_suffix[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3",
                                                "--table-s3"};
  size_t n = strlen(name);
  if (n < 3 || n > 63)
    return 0;
  int all_digits_and_dots = 1, dots = 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.'))
      return 0;
    if (c == '.') {
      dots++;
      /* a label must end and the next begin with a letter or digit */
      if (i == 0 || !isalnum((unsigned char)name[i - 1]) || !isalnum((unsigned char)name[i + 1]))
        return 0;
    } else if (!isdigit((unsigned char)c)) {
      all_digits_and_dots = 0;
    }
  }
  if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
    return 0;
  if (all_digits_and_dots && dots == 3)
    return 0; /* formatted as an IP address */
  for (size_t i = 0; i < sizeof(reserved_prefix) / sizeof(reserved_prefix[0]); i++)
    if (strncmp(name, reserved_prefix[i], strlen(reserved_prefix[i])) == 0)
      return 0;
  for (size_t i = 0; i < sizeof(reserved_suffix) / sizeof(reserved_suffix[0]); i++) {
    size_t m = strlen(reserved_suffix[i]);
    if (n > m && strcmp(name + n - m, reserved_suffix[i]) == 0)
      return 0;
  }
  return 1;
}

void s3_op_create_bucket(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *name = jsonutil_string(input, "Bucket");
  if (!name || !bucket_name_valid(name)) {
    aws_call_fail_fields(call, 400, "InvalidBucketName",
                         json_pack("{s:s}", "BucketName", name ? name : ""),
                         "The specified bucket is not valid.");
    return;
  }
  const char *constraint =
      jsonutil_string(json_object_get(input, "CreateBucketConfiguration"), "LocationConstraint");
  int constraint_ok = constraint && *constraint && strlen(constraint) < 32;
  for (const char *c = constraint; constraint_ok && *c; c++)
    if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
      constraint_ok = 0;
  if (constraint && (!constraint_ok || strcmp(constraint, "us-east-1") == 0)) {
    /* us-east-1 is named by leaving the constraint out. */
    aws_call_fail_fields(call, 400, "InvalidLocationConstraint",
                         json_pack("{s:s}", "LocationConstraint", constraint),
                         "The specified location-constraint is not valid");
    return;
  }
  /* The constraint must name the region the request was sent to (signed
   * for); us-east-1 takes none. */
  const char *region = aws_call_region(call);
  if ((constraint && strcmp(constraint, region) != 0) ||
      (!constraint && strcmp(region, "us-east-1") != 0)) {
    aws_call_fail(call, 400, "IllegalLocationConstraintException",
                  "The %s location constraint is incompatible for the region specific "
                  "endpoint this request was sent to.",
                  constraint ? constraint : "unspecified");
    return;
  }
  const char *ownership = jsonutil_string(input, "ObjectOwnership");
  if (ownership && strcmp(ownership, "BucketOwnerPreferred") != 0 &&
      strcmp(ownership, "ObjectWriter") != 0 && strcmp(ownership, "BucketOwnerEnforced") != 0) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "x-amz-object-ownership",
                                   "ArgumentValue", ownership),
                         "Invalid x-amz-object-ownership header: %s", ownership);
    return;
  }
  if (s3_acl_check_input(call, input) < 0)
    return;
  /* Buckets are BucketOwnerEnforced unless created otherwise: an ACL that
   * grants anyone but the owner cannot be set at creation then. */
  if (!ownership || strcmp(ownership, "BucketOwnerEnforced") == 0) {
    json_t *acl = s3_acl_from_input(call, input);
    int ok = s3_ownership_acl_owner_only(acl, aws_call_account(call));
    json_decref(acl);
    if (!ok) {
      s3_ownership_fail_bucket_acl(call);
      return;
    }
  }
  /* A new bucket blocks public access (below), so no public ACL comes with
   * it: it is set once the block is lifted, as AWS has it since April 2023. */
  if (s3_acl_input_public(input)) {
    aws_call_fail(call, 400, "InvalidBucketAclWithBlockPublicAccessError",
                  "Bucket cannot have public ACLs set with BlockPublicAccess enabled");
    return;
  }
  s3_lock(st);
  s3_bucket *old = s3_bucket_find(st, name);
  if (old && !s3_acl_owned_by_caller(call, old)) {
    s3_unlock(st);
    aws_call_fail_fields(call, 409, "BucketAlreadyExists", json_pack("{s:s}", "BucketName", name),
                         "The requested bucket name is not available. The bucket namespace is "
                         "shared by all users of the system. Please select a different name and "
                         "try again.");
    return;
  }
  if (old) {
    s3_unlock(st);
    /* Re-creating one's own bucket succeeds in us-east-1 (a legacy of the
     * original S3 endpoint) and is refused everywhere else. */
    if (!constraint) {
      char location[80];
      snprintf(location, sizeof(location), "/%s", name);
      aws_call_reply(call, json_pack("{s:s}", "Location", location));
      return;
    }
    aws_call_fail_fields(call, 409, "BucketAlreadyOwnedByYou",
                         json_pack("{s:s}", "BucketName", name),
                         "Your previous request to create the named bucket succeeded and you "
                         "already own it.");
    return;
  }
  s3_bucket *b = calloc(1, sizeof(*b));
  int ok = b && (b->name = strdup(name)) && (b->configs = json_object());
  if (ok) {
    snprintf(b->region, sizeof(b->region), "%s", constraint ? constraint : "us-east-1");
    b->created = s3_now();
    b->acl = s3_acl_from_input(call, input);
    s3_acl_set_owner(call, b);
    /* Buckets have been created BucketOwnerEnforced, with every Block
     * Public Access setting on, since April 2023. */
    json_object_set_new(b->configs, "OwnershipControls",
                        json_pack("{s:[{s:s}]}", "Rules", "ObjectOwnership",
                                  ownership ? ownership : "BucketOwnerEnforced"));
    json_object_set_new(b->configs, "PublicAccessBlockConfiguration",
                        json_pack("{s:b, s:b, s:b, s:b}", "BlockPublicAcls", 1, "IgnorePublicAcls",
                                  1, "BlockPublicPolicy", 1, "RestrictPublicBuckets", 1));
    if (json_is_true(json_object_get(input, "ObjectLockEnabledForBucket"))) {
      b->object_lock = 1;
      b->versioning = 1;
      json_object_set_new(b->configs, "ObjectLockConfiguration",
                          json_pack("{s:s}", "ObjectLockEnabled", "Enabled"));
    }
  }
  if (!ok || s3_bucket_insert(st, b) < 0) {
    s3_unlock(st);
    s3_bucket_free(st, b);
    s3_fail_oom(call);
    return;
  }
  s3_unlock(st);
  char location[80];
  snprintf(location, sizeof(location), "/%s", name);
  aws_call_reply(call, json_pack("{s:s}", "Location", location));
}

/* The bucket operations that only read or set one thing: fn runs under the
 * lock with input's bucket and returns the output (owned; NULL: empty). */
typedef json_t *(*bucket_fn)(aws_call *call, s3_bucket *b, const json_t *input);

static void with_bucket(aws_call *call, const json_t *input, bucket_fn fn) {
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  json_t *out = fn(call, b, input);
  s3_unlock(aws_call_state(call));
  aws_call_reply(call, out);
}

static json_t *head_bucket(aws_call *call, s3_bucket *b, const json_t *input) {
  (void)input;
  aws_call_header(call, "x-amz-bucket-region", b->region);
  /* Named by the bucket's own name, never by an access point's alias. */
  aws_call_header(call, "x-amz-access-point-alias", "false");
  return NULL;
}

void s3_op_head_bucket(aws_call *call, json_t *input) { with_bucket(call, input, head_bucket); }

void s3_op_delete_bucket(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  if (b->keys.len > 0) {
    s3_unlock(st);
    aws_call_fail_fields(call, 409, "BucketNotEmpty",
                         json_pack("{s:s}", "BucketName", jsonutil_string(input, "Bucket")),
                         b->versioning ? "The bucket you tried to delete is not empty. You must "
                                         "delete all versions in the bucket."
                                       : "The bucket you tried to delete is not empty");
    return;
  }
  s3_bucket_remove(st, b->name);
  s3_bucket_free(st, b);
  s3_unlock(st);
  aws_call_reply(call, NULL);
}

/* ListBuckets' 2024 parameters (prefix, max-buckets, continuation-token,
 * bucket-region) and answer members (ContinuationToken, Prefix, BucketRegion)
 * are newer than the model the emulator is built with, so they are read from
 * the raw query and the answer is written as XML here. The continuation token
 * is the base64 of the last bucket name listed. */
#define S3_MAX_BUCKETS_LISTED 10000

static const char *query_value(const http_query_pair *pairs, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(pairs[i].name, name) == 0)
      return pairs[i].value;
  return NULL;
}

void s3_op_list_buckets(aws_call *call, json_t *input) {
  (void)input;
  s3_state *st = aws_call_state(call);
  const char *raw = http_request_query(aws_call_http(call));
  http_query_pair *pairs = NULL;
  size_t count = 0;
  if (http_query_parse(&pairs, &count, raw, strlen(raw), 16) < 0) {
    aws_call_fail(call, 400, "InvalidArgument", "The query string is not valid.");
    return;
  }
  const char *prefix = query_value(pairs, count, "prefix");
  const char *max_text = query_value(pairs, count, "max-buckets");
  const char *token = query_value(pairs, count, "continuation-token");
  const char *region = query_value(pairs, count, "bucket-region");
  long max = S3_MAX_BUCKETS_LISTED;
  char *after = NULL;
  dynbuf xml;
  dynbuf_init(&xml, (size_t)64 << 20);
  if (max_text) {
    char *end = NULL;
    max = strtol(max_text, &end, 10);
    if (!*max_text || *end || max < 1 || max > S3_MAX_BUCKETS_LISTED) {
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "max-buckets", "ArgumentValue", max_text),
          "Argument max-buckets must be an integer between 1 and 10000");
      goto cleanup;
    }
  }
  if (token) {
    unsigned char *dec = NULL;
    size_t dlen = 0;
    if (!*token || codec_base64_decode(&dec, &dlen, token, strlen(token)) != 0 ||
        !(after = strndup((const char *)dec, dlen))) {
      free(dec);
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "continuation-token", "ArgumentValue", token),
          "The continuation token provided is incorrect");
      goto cleanup;
    }
    free(dec);
  }
  dynbuf_puts(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListAllMyBucketsResult "
                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets>");
  const char *last = NULL;
  long listed = 0;
  int truncated = 0;
  s3_lock(st);
  size_t from = after ? s3_index_lower(&st->buckets, after) : 0;
  for (size_t i = from; i < st->buckets.len; i++) {
    const s3_bucket *b = st->buckets.items[i];
    if (after && strcmp(b->name, after) <= 0)
      continue;
    if (prefix && strncmp(b->name, prefix, strlen(prefix)) != 0)
      continue;
    if (region && strcmp(b->region, region) != 0)
      continue;
    if (!s3_acl_owned_by_caller(call, b)) /* each account lists its own (acl.c) */
      continue;
    if (listed == max) {
      truncated = 1;
      break;
    }
    char date[64];
    aws_timestamp_format(date, sizeof(date), b->created, "iso8601");
    dynbuf_printf(&xml,
                  "<Bucket><Name>%s</Name><CreationDate>%s</CreationDate>"
                  "<BucketRegion>%s</BucketRegion></Bucket>",
                  b->name, date, b->region); /* bucket names and regions need no escaping */
    last = b->name;
    listed++;
  }
  char *next = truncated && last ? codec_base64_encode(last, strlen(last)) : NULL;
  s3_unlock(st);
  json_t *owner = s3_owner_json(aws_call_account(call));
  dynbuf_printf(&xml, "</Buckets><Owner><DisplayName>%s</DisplayName><ID>%s</ID></Owner>",
                jsonutil_string(owner, "DisplayName"), jsonutil_string(owner, "ID"));
  json_decref(owner);
  if (next)
    dynbuf_printf(&xml, "<ContinuationToken>%s</ContinuationToken>", next);
  free(next);
  if (prefix) {
    dynbuf_puts(&xml, "<Prefix>");
    dynbuf_xml(&xml, prefix, strlen(prefix));
    dynbuf_puts(&xml, "</Prefix>");
  }
  dynbuf_puts(&xml, "</ListAllMyBucketsResult>");
  if (dynbuf_failed(&xml)) {
    s3_fail_oom(call);
    goto cleanup;
  }
  aws_call_reply_data(call, NULL, 200, xml.data, xml.len);
cleanup:
  dynbuf_free(&xml);
  free(after);
  http_query_free(pairs, count);
}

void s3_op_get_bucket_location(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  /* S3 answers with the constraint as the root element's text (empty for
   * us-east-1), which the model cannot express; clients parse it specially. */
  char body[256];
  snprintf(body, sizeof(body),
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s</LocationConstraint>",
           strcmp(b->region, "us-east-1") != 0 ? b->region : "");
  s3_unlock(st);
  aws_call_reply_data(call, NULL, 200, body, strlen(body));
}

static const char *versioning_status(const json_t *input) {
  return jsonutil_string(json_object_get(input, "VersioningConfiguration"), "Status");
}

static json_t *put_versioning(aws_call *call, s3_bucket *b, const json_t *input) {
  (void)call;
  if (b->object_lock && strcmp(versioning_status(input), "Enabled") != 0)
    return NULL; /* refused by s3_op_put_bucket_versioning */
  b->versioning = strcmp(versioning_status(input), "Enabled") == 0 ? 1 : 2;
  return NULL;
}

void s3_op_put_bucket_versioning(aws_call *call, json_t *input) {
  const char *status = versioning_status(input);
  json_t *cfg = json_object_get(input, "VersioningConfiguration");
  if (json_is_object(cfg) && json_object_size(cfg) == 0) {
    aws_call_fail(call, 400, "IllegalVersioningConfigurationException",
                  "The Versioning element must be specified");
    return;
  }
  if (!status || (strcmp(status, "Enabled") != 0 && strcmp(status, "Suspended") != 0)) {
    s3_fail_malformed_xml(call);
    return;
  }
  if (strcmp(status, "Enabled") != 0) {
    s3_state *st = aws_call_state(call);
    s3_bucket *b = s3_bucket_lock(call, input);
    if (!b)
      return;
    int locked = b->object_lock;
    s3_unlock(st);
    if (locked) {
      aws_call_fail(call, 409, "InvalidBucketState",
                    "An Object Lock configuration is present on this bucket, so the versioning "
                    "state cannot be changed.");
      return;
    }
  }
  with_bucket(call, input, put_versioning);
}

static json_t *get_versioning(aws_call *call, s3_bucket *b, const json_t *input) {
  (void)call, (void)input;
  json_t *out = json_object();
  if (b->versioning)
    json_object_set_new(out, "Status", json_string(b->versioning == 1 ? "Enabled" : "Suspended"));
  return out;
}

void s3_op_get_bucket_versioning(aws_call *call, json_t *input) {
  with_bucket(call, input, get_versioning);
}

static json_t *put_acl(aws_call *call, s3_bucket *b, const json_t *input) {
  (void)call;
  json_t *acl = s3_acl_from_input(call, input);
  if (acl) {
    json_decref(b->acl);
    b->acl = acl;
  }
  return NULL;
}

void s3_op_put_bucket_acl(aws_call *call, json_t *input) { with_bucket(call, input, put_acl); }

static json_t *get_acl(aws_call *call, s3_bucket *b, const json_t *input) {
  (void)call, (void)input;
  return s3_ownership_acl_output(b, b->acl);
}

void s3_op_get_bucket_acl(aws_call *call, json_t *input) { with_bucket(call, input, get_acl); }

/* Bucket configurations stored as sent and returned as stored. */
typedef struct config_kind {
  const char *put, *get, *del;
  const char *member;    /* input member holding the configuration */
  const char *wrap;      /* output member to put it in; NULL: its members are the output */
  const char *not_found; /* error when absent; NULL: empty output */
  const char *message;
} config_kind;

static const config_kind config_kinds[] = {
    {"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "Policy", "Policy",
     "NoSuchBucketPolicy", "The bucket policy does not exist"},
    {"PutBucketCors", "GetBucketCors", "DeleteBucketCors", "CORSConfiguration", NULL,
     "NoSuchCORSConfiguration", "The CORS configuration does not exist"},
    {"PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle",
     "LifecycleConfiguration", NULL, "NoSuchLifecycleConfiguration",
     "The lifecycle configuration does not exist"},
    {"PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption",
     "ServerSideEncryptionConfiguration", "ServerSideEncryptionConfiguration",
     "ServerSideEncryptionConfigurationNotFoundError",
     "The server side encryption configuration was not found"},
    {"PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration", NULL,
     "NotificationConfiguration", NULL, NULL, NULL},
    {"PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging", "Tagging", NULL, "NoSuchTagSet",
     "The TagSet does not exist"},
    {"PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite", "WebsiteConfiguration", NULL,
     "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"},
    {"PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls",
     "OwnershipControls", "OwnershipControls", "OwnershipControlsNotFoundError",
     "The bucket ownership controls were not found"},
    {"PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
     "PublicAccessBlockConfiguration", "PublicAccessBlockConfiguration",
     "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"},
    {"PutBucketAccelerateConfiguration", "GetBucketAccelerateConfiguration", NULL,
     "AccelerateConfiguration", NULL, NULL, NULL},
    {"PutBucketLogging", "GetBucketLogging", NULL, "BucketLoggingStatus", NULL, NULL, NULL},
    {"PutBucketRequestPayment", "GetBucketRequestPayment", NULL, "RequestPaymentConfiguration",
     NULL, NULL, NULL},
    {"PutBucketReplication", "GetBucketReplication", "DeleteBucketReplication",
     "ReplicationConfiguration", "ReplicationConfiguration",
     "ReplicationConfigurationNotFoundError", "The replication configuration was not found"},
};

void s3_op_config(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  const config_kind *kind = NULL;
  int action = 0; /* 0 put, 1 get, 2 delete */
  for (size_t i = 0; i < sizeof(config_kinds) / sizeof(config_kinds[0]) && !kind; i++) {
    const config_kind *k = &config_kinds[i];
    if (strcmp(op, k->put) == 0)
      kind = k, action = 0;
    else if (strcmp(op, k->get) == 0)
      kind = k, action = 1;
    else if (k->del && strcmp(op, k->del) == 0)
      kind = k, action = 2;
  }
  if (!kind) {
    aws_call_fail(call, 501, "NotImplemented", "%s is not implemented.", op);
    return;
  }
  json_t *value = json_object_get(input, kind->member);
  if (action == 0 && !value) {
    s3_fail_malformed_xml(call);
    return;
  }
  if (action == 0 && strcmp(kind->member, "Policy") == 0) {
    json_error_t jerr;
    const char *text = json_string_value(value);
    if (!text || text[0] != '{') {
      aws_call_fail(call, 400, "MalformedPolicy",
                    "Policies must be valid JSON and the first byte must be '{'");
      return;
    }
    json_t *doc = json_loads(text, 0, &jerr);
    if (!json_is_object(doc)) {
      json_decref(doc);
      aws_call_fail(call, 400, "MalformedPolicy", "Policies must be valid JSON: %s", jerr.text);
      return;
    }
    json_decref(doc);
  }
  if (action == 0 && !s3_config_valid(call, kind->member, value, input))
    return;
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b)
    return;
  json_t *out = NULL;
  if (action == 0) {
    if (!s3_config_valid_locked(call, st, b, kind->member, value)) {
      s3_unlock(st);
      return;
    }
    json_object_set(b->configs, kind->member, value);
    if (strcmp(kind->member, "NotificationConfiguration") == 0 &&
        !json_is_true(json_object_get(input, "SkipDestinationValidation")))
      delivery_s3_test_event(call, value, jsonutil_string(input, "Bucket"));
  } else if (action == 2) {
    json_object_del(b->configs, kind->member);
  } else {
    json_t *stored = json_object_get(b->configs, kind->member);
    if (!stored && strcmp(kind->member, "ServerSideEncryptionConfiguration") == 0) {
      /* Every bucket is encrypted (SSE-S3) since January 2023. */
      out = json_pack("{s:o}", kind->wrap, s3_sse_config_default());
    } else if (!stored && kind->not_found) {
      s3_unlock(st);
      aws_call_fail_fields(call, 404, kind->not_found,
                           json_pack("{s:s}", "BucketName", jsonutil_string(input, "Bucket")), "%s",
                           kind->message);
      return;
    }
    if (out)
      ; /* answered above */
    else if (!stored && strcmp(kind->member, "RequestPaymentConfiguration") == 0)
      out = json_pack("{s:s}", "Payer", "BucketOwner");
    else if (!stored)
      out = json_object();
    else if (kind->wrap)
      out = json_pack("{s:O}", kind->wrap, stored);
    else
      out = json_deep_copy(stored);
  }
  s3_unlock(st);
  aws_call_reply(call, out);
}
