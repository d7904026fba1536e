/*
 * attrs.c — what S3 keeps about an object or bucket besides its bytes: the
 * headers an upload sets and every GET answers with (Content-Type, metadata,
 * storage class, …), tags, and ACLs.
 *
 * Attributes are stored as the output members they come back as, so a GET
 * copies them into its output unchanged. ACLs are kept as the client sent
 * them (a canned name or a policy document) and rendered as grants on
 * request; nothing enforces them, as in LocalStack.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/http_server.h"
#include "common/jsonutil.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const attr_members[] = {"CacheControl",
                                           "ContentDisposition",
                                           "ContentEncoding",
                                           "ContentLanguage",
                                           "ContentType",
                                           "Expires",
                                           "Metadata",
                                           "StorageClass",
                                           "WebsiteRedirectLocation",
                                           NULL}; /* encryption: sse.c; locks: lock.c */

int s3_attrs_check(aws_call *call, const json_t *input) {
  const char *key;
  json_t *value;
  size_t size = 0;
  json_object_foreach(json_object_get(input, "Metadata"), key, value) {
    size += strlen(key) + (json_is_string(value) ? strlen(json_string_value(value)) : 0);
  }
  if (size > S3_MAX_METADATA) {
    aws_call_fail_fields(
        call, 400, "MetadataTooLarge",
        json_pack("{s:I, s:i}", "Size", (json_int_t)size, "MaxSizeAllowed", S3_MAX_METADATA),
        "Your metadata headers exceed the maximum allowed metadata size.");
    return -1;
  }
  const char *redirect = jsonutil_string(input, "WebsiteRedirectLocation");
  if (redirect && redirect[0] != '/' && strncmp(redirect, "http://", 7) != 0 &&
      strncmp(redirect, "https://", 8) != 0) {
    aws_call_fail(call, 400, "InvalidRedirectLocation",
                  "The website redirect location must have a prefix of 'http://' or 'https://' "
                  "or '/'.");
    return -1;
  }
  return 0;
}

json_t *s3_attrs_from_input(const json_t *input) {
  json_t *attrs = json_object();
  for (size_t i = 0; attr_members[i]; i++) {
    json_t *v = json_object_get(input, attr_members[i]);
    if (v)
      json_object_set(attrs, attr_members[i], v);
  }
  /* aws-chunked is transfer framing, not a content encoding of the object. */
  const char *enc = jsonutil_string(attrs, "ContentEncoding");
  if (enc) {
    dynbuf b;
    dynbuf_init(&b, 4096);
    const char *item = NULL;
    size_t len = 0;
    for (const char *c = enc; s3_list_next(&c, &item, &len);) {
      if (len == 11 && strncasecmp(item, "aws-chunked", 11) == 0)
        continue;
      if (b.len)
        dynbuf_puts(&b, ",");
      dynbuf_append(&b, item, len);
    }
    char *clean = dynbuf_take(&b, NULL);
    if (clean && *clean)
      json_object_set_new(attrs, "ContentEncoding", json_string(clean));
    else
      json_object_del(attrs, "ContentEncoding");
    free(clean);
  }
  const char *sc = jsonutil_string(attrs, "StorageClass");
  if (sc && strcmp(sc, "STANDARD") == 0)
    json_object_del(attrs, "StorageClass");
  return attrs;
}

/* "k1=v1&k2=v2" (x-amz-tagging) → TagSet; NULL with *bad set when malformed. */
static json_t *tags_from_header(const char *text, int *bad) {
  *bad = 0;
  if (!text)
    return NULL;
  http_query_pair *pairs = NULL;
  size_t count = 0;
  if (http_query_parse(&pairs, &count, text, strlen(text), S3_MAX_TAGS + 1) < 0 ||
      count > S3_MAX_TAGS) {
    http_query_free(pairs, count);
    *bad = 1;
    return NULL;
  }
  json_t *set = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *tag = json_pack("{s:s, s:s}", "Key", pairs[i].name, "Value", pairs[i].value);
    if (!tag) {
      *bad = 1;
      break;
    }
    json_array_append_new(set, tag);
  }
  http_query_free(pairs, count);
  if (*bad) {
    json_decref(set);
    return NULL;
  }
  return set;
}

int s3_tags_from_input(aws_call *call, const json_t *input, json_t **out) {
  int bad = 0;
  const char *header = jsonutil_string(input, "Tagging");
  *out = tags_from_header(header, &bad);
  if (bad || (*out && !s3_tags_header_valid(*out))) {
    json_decref(*out);
    *out = NULL;
    aws_call_fail_fields(
        call, 400, "InvalidArgument",
        json_pack("{s:s, s:s}", "ArgumentName", "x-amz-tagging", "ArgumentValue", header),
        "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded "
        "URL query parameters without tag name duplicates.");
    return -1;
  }
  if (*out && !s3_tags_valid(call, *out, S3_MAX_OBJECT_TAGS)) {
    json_decref(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

json_t *s3_tags_parse_header(const char *text) {
  int bad = 0;
  json_t *set = tags_from_header(text, &bad);
  if (bad) {
    json_decref(set);
    return NULL;
  }
  return set;
}

json_t *s3_acl_from_input(aws_call *call, const json_t *input) {
  json_t *policy = json_object_get(input, "AccessControlPolicy");
  if (policy)
    return json_incref(policy);
  json_t *canned = json_object_get(input, "ACL");
  return canned ? json_incref(canned) : s3_acl_from_grant_headers(input, aws_call_account(call));
}

/* The default account keeps LocalStack's owner; any other gets an id of its
 * own, the same on every run: the SHA-256 of its account id. */
static int default_account(const char *account) {
  return !account || strcmp(account, "000000000000") == 0;
}

void s3_owner_id(char *out, size_t size, const char *account) {
  unsigned char md[32];
  unsigned int len = 0;
  char hex[65];
  if (default_account(account) ||
      !EVP_Digest(account, strlen(account), md, &len, EVP_sha256(), NULL) || len != 32) {
    snprintf(out, size, "%s", S3_OWNER_ID);
    return;
  }
  codec_hex_encode(hex, md, 32);
  snprintf(out, size, "%s", hex);
}

json_t *s3_owner_json(const char *account) {
  char id[65];
  s3_owner_id(id, sizeof(id), account);
  return json_pack("{s:s, s:s}", "DisplayName", default_account(account) ? S3_OWNER_NAME : account,
                   "ID", id);
}

static json_t *grant(const char *type, const char *who, const char *perm) {
  json_t *grantee = json_pack("{s:s}", "Type", type);
  if (strcmp(type, "Group") == 0) {
    json_object_set_new(grantee, "URI", json_string(who));
  } else {
    json_t *owner = s3_owner_json(who);
    json_object_update(grantee, owner);
    json_decref(owner);
  }
  return json_pack("{s:o, s:s}", "Grantee", grantee, "Permission", perm);
}

json_t *s3_acl_output(const json_t *acl, const char *account) {
  if (json_is_object(acl))
    return json_deep_copy(acl);
  const char *canned = json_is_string(acl) ? json_string_value(acl) : "private";
  json_t *grants = json_array();
  json_array_append_new(grants, grant("CanonicalUser", account, "FULL_CONTROL"));
  static const char all[] = "http://acs.amazonaws.com/groups/global/AllUsers";
  static const char auth[] = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
  if (strcmp(canned, "public-read") == 0 || strcmp(canned, "public-read-write") == 0)
    json_array_append_new(grants, grant("Group", all, "READ"));
  if (strcmp(canned, "public-read-write") == 0)
    json_array_append_new(grants, grant("Group", all, "WRITE"));
  if (strcmp(canned, "authenticated-read") == 0)
    json_array_append_new(grants, grant("Group", auth, "READ"));
  if (strcmp(canned, "log-delivery-write") == 0) {
    static const char logs[] = "http://acs.amazonaws.com/groups/s3/LogDelivery";
    json_array_append_new(grants, grant("Group", logs, "WRITE"));
    json_array_append_new(grants, grant("Group", logs, "READ_ACP"));
  }
  return json_pack("{s:o, s:o}", "Owner", s3_owner_json(account), "Grants", grants);
}
