/*
 * post.c — S3's POST Object: browser form uploads (POST /<bucket> with a
 * multipart/form-data body), as the AWS docs describe them ("Browser-based
 * uploads using POST", "Creating a POST policy").
 *
 * The gateway routes such a request here with the bucket as input (the model
 * has no operation for it); the answer is serialized as PutObject's. The form
 * is parsed by a strict, bounded parser of our own: libmicrohttpd's post
 * processor works while the server reads the body, and the body here was
 * already read (in memory, or spilled to a file that is mapped read-only).
 * The file part is stored without a copy of the form.
 *
 * The policy document (base64 JSON) is checked whenever it is sent:
 * expiration, and each condition (exact match, eq, starts-with,
 * content-length-range) against the form fields, and no field may go
 * unchecked; a key with ${filename} is checked as stored, the name
 * replaced. Its signature fields (SigV4 x-amz-* fields or SigV2
 * AWSAccessKeyId/signature) must come with it, as S3 requires; the
 * signature itself is verified only when the emulator verifies signatures
 * (sigv4.c), as LocalStack does.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/fs.h"
#include "common/http_server.h"
#include "common/jsonutil.h"
#include "emulator/delivery/delivery.h"
#include "emulator/protocol/protocol.h"
#include "emulator/sigv4.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#define FORM_MAX_PART_HEADERS 8192
#define FORM_MAX_BOUNDARY 200

/* ---- the form parser ---- */

void s3_form_free(s3_form *f) {
  for (size_t i = 0; i < f->len; i++) {
    free(f->fields[i].name);
    free(f->fields[i].value);
  }
  free(f->filename);
  free(f->file_type);
  memset(f, 0, sizeof(*f));
}

const char *s3_form_get(const s3_form *f, const char *name) {
  for (size_t i = 0; i < f->len; i++)
    if (strcasecmp(f->fields[i].name, name) == 0)
      return f->fields[i].value;
  return NULL;
}

static int form_error(s3_form *f, char *error, size_t size, const char *msg) {
  s3_form_free(f);
  snprintf(error, size, "%s", msg);
  return -1;
}

/* A copy of n bytes that need not be NUL-terminated (strndup may look past
 * n for the NUL). Owned; NULL when out of memory. */
static char *dup_n(const char *s, size_t n) {
  char *out = malloc(n + 1);
  if (out) {
    memcpy(out, s, n);
    out[n] = '\0';
  }
  return out;
}

/* A parameter of a Content-Disposition or Content-Type value ("name" in
 * `form-data; name="key"`), quoted or not. Owned; NULL when absent. */
static char *header_param(const char *value, size_t len, const char *param) {
  size_t plen = strlen(param);
  const char *end = value + len;
  for (const char *p = value; p < end; p++) {
    if (*p != ';')
      continue;
    p++;
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if ((size_t)(end - p) > plen && strncasecmp(p, param, plen) == 0 && p[plen] == '=') {
      p += plen + 1;
      if (p < end && *p == '"') {
        const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!q)
          return NULL;
        return dup_n(p + 1, (size_t)(q - p - 1));
      }
      size_t n = 0;
      while (p + n < end && p[n] != ';' && p[n] != ' ')
        n++;
      return dup_n(p, n);
    }
  }
  return NULL;
}

/* The value of header name in a part's header block; len in *len. */
static const char *part_header(const char *block, size_t len, const char *name, size_t *vlen) {
  size_t nlen = strlen(name);
  const char *p = block, *end = block + len;
  while (p < end) {
    const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
    const char *line_end = eol ? eol : end;
    if ((size_t)(line_end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
      const char *v = p + nlen + 1;
      while (v < line_end && (*v == ' ' || *v == '\t'))
        v++;
      *vlen = (size_t)(line_end - v);
      return v;
    }
    p = eol ? eol + 2 : end;
  }
  return NULL;
}

int s3_form_parse(s3_form *out, const char *content_type, const char *body, size_t len, char *error,
                  size_t size) {
  memset(out, 0, sizeof(*out));
  if (!content_type)
    return form_error(out, error, size, "The request has no Content-Type.");
  char *boundary = header_param(content_type, strlen(content_type), "boundary");
  if (!boundary || !*boundary || strlen(boundary) > FORM_MAX_BOUNDARY) {
    free(boundary);
    return form_error(out, error, size, "The Content-Type has no usable multipart boundary.");
  }
  char delim[FORM_MAX_BOUNDARY + 5];
  int dlen = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
  free(boundary);
  /* The first delimiter may start the body (no CRLF before it). */
  const char *p;
  if (len >= (size_t)dlen - 2 && memcmp(body, delim + 2, (size_t)dlen - 2) == 0) {
    p = body + dlen - 2;
  } else {
    const char *d = memmem(body, len, delim, (size_t)dlen);
    if (!d)
      return form_error(out, error, size, "The body has no multipart boundary.");
    p = d + dlen;
  }
  const char *end = body + len;
  for (;;) {
    if (end - p >= 2 && p[0] == '-' && p[1] == '-')
      break; /* the closing delimiter */
    /* Transport padding after a delimiter is allowed, then CRLF. */
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
      return form_error(out, error, size, "A multipart delimiter is not followed by CRLF.");
    p += 2;
    size_t avail = (size_t)(end - p);
    const char *hend =
        memmem(p, avail < FORM_MAX_PART_HEADERS ? avail : FORM_MAX_PART_HEADERS, "\r\n\r\n", 4);
    if (!hend)
      return form_error(out, error, size, "A form part's headers do not end (or are too long).");
    size_t hlen = (size_t)(hend - p) + 2, dvlen = 0;
    const char *disp = part_header(p, hlen, "Content-Disposition", &dvlen);
    if (!disp || dvlen < 9 || strncasecmp(disp, "form-data", 9) != 0)
      return form_error(out, error, size, "A form part has no Content-Disposition: form-data.");
    char *name = header_param(disp, dvlen, "name");
    if (!name || !*name) {
      free(name);
      return form_error(out, error, size, "A form part has no name.");
    }
    size_t tlen = 0;
    const char *ptype = part_header(p, hlen, "Content-Type", &tlen);
    char *filename = header_param(disp, dvlen, "filename");
    const char *content = hend + 4;
    const char *next = memmem(content, (size_t)(end - content), delim, (size_t)dlen);
    if (!next) {
      free(name);
      free(filename);
      return form_error(out, error, size, "The body ends inside a form part.");
    }
    size_t clen = (size_t)(next - content);
    if (strcasecmp(name, "file") == 0) {
      free(name);
      out->has_file = 1;
      out->file = content;
      out->file_len = clen;
      out->filename = filename;
      out->file_type = ptype ? dup_n(ptype, tlen) : NULL;
      /* Fields after the file are ignored, as S3 ignores them; the closing
       * delimiter must still be there. */
      return 0;
    }
    free(filename);
    if (out->len == S3_FORM_MAX_FIELDS || clen > S3_FORM_MAX_FIELD) {
      free(name);
      return form_error(out, error, size, "The form has too many fields or too large a field.");
    }
    char *value = dup_n(content, clen);
    if (!value) {
      free(name);
      return form_error(out, error, size, "out of memory");
    }
    out->fields[out->len].name = name;
    out->fields[out->len].value = value;
    out->len++;
    p = next + dlen;
  }
  return 0;
}

/* ---- the policy ---- */

/* What a condition names ("$key" → the key, with ${filename} replaced as S3
 * checks it; "bucket" the bucket). */
static const char *field_value(const s3_form *f, const char *bucket, const char *key,
                               const char *name) {
  if (*name == '$')
    name++;
  if (strcasecmp(name, "bucket") == 0)
    return bucket;
  if (strcasecmp(name, "key") == 0)
    return key;
  const char *v = s3_form_get(f, name);
  return v ? v : "";
}

static void fail_condition(aws_call *call, const json_t *cond) {
  char *text = json_dumps(cond, JSON_COMPACT);
  aws_call_fail(call, 403, "AccessDenied",
                "Invalid according to Policy: Policy Condition failed: %s", text ? text : "?");
  free(text);
}

/* Marks the field a condition covers. */
static void cover(int *covered, const s3_form *f, const char *name) {
  if (*name == '$')
    name++;
  for (size_t i = 0; i < f->len; i++)
    if (strcasecmp(f->fields[i].name, name) == 0)
      covered[i] = 1;
}

/* An expiration as the policy must give it: ISO 8601 in UTC,
 * 2007-12-01T12:00:00.000Z (the fraction optional). */
static int expiration_valid(const char *s) {
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  size_t i;
  for (i = 0; shape[i]; i++)
    if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
      return 0;
  if (s[i] == '.') {
    if (!isdigit((unsigned char)s[++i]))
      return 0;
    while (isdigit((unsigned char)s[i]))
      i++;
  }
  return s[i] == 'Z' && s[i + 1] == '\0';
}

/* Checks the policy document (base64 JSON) against the form and its key
 * (${filename} replaced). 0, or -1 after answering. */
static int check_policy(aws_call *call, const s3_form *f, const char *bucket, const char *key,
                        const char *policy) {
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  json_t *doc = NULL;
  int covered[S3_FORM_MAX_FIELDS] = {0};
  if (codec_base64_decode(&raw, &raw_len, policy, strlen(policy)) < 0 ||
      !(doc = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL)) ||
      !json_is_object(doc)) {
    free(raw);
    json_decref(doc);
    aws_call_fail(call, 400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.");
    return -1;
  }
  free(raw);
  int rc = -1;
  const char *expiration = jsonutil_string(doc, "expiration");
  double exp = 0;
  json_t *conds = json_object_get(doc, "conditions");
  if (!expiration || !expiration_valid(expiration) || aws_timestamp_parse(&exp, expiration) < 0) {
    aws_call_fail(call, 400, "InvalidPolicyDocument",
                  "Invalid Policy: Invalid 'expiration' value: '%s'", expiration ? expiration : "");
    goto cleanup;
  }
  if (!json_is_array(conds)) {
    aws_call_fail(call, 400, "InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.");
    goto cleanup;
  }
  if (exp < s3_now() - 1) {
    aws_call_fail(call, 403, "AccessDenied", "Invalid according to Policy: Policy expired.");
    goto cleanup;
  }
  size_t i;
  json_t *c;
  json_array_foreach(conds, i, c) {
    if (json_is_object(c) && json_object_size(c) == 1) {
      const char *name = json_object_iter_key(json_object_iter(c));
      const char *want = json_string_value(json_object_iter_value(json_object_iter(c)));
      if (!want) {
        aws_call_fail(call, 400, "InvalidPolicyDocument",
                      "Invalid Policy: Invalid Simple-Condition: value must be a string.");
        goto cleanup;
      }
      if (strcmp(field_value(f, bucket, key, name), want) != 0) {
        fail_condition(call, c);
        goto cleanup;
      }
      cover(covered, f, name);
      continue;
    }
    const char *op = json_string_value(json_array_get(c, 0));
    if (json_is_array(c) && json_array_size(c) == 3 && op &&
        strcasecmp(op, "content-length-range") == 0) {
      json_int_t lo = json_integer_value(json_array_get(c, 1));
      json_int_t hi = json_integer_value(json_array_get(c, 2));
      if (!json_is_integer(json_array_get(c, 1)) || !json_is_integer(json_array_get(c, 2))) {
        aws_call_fail(call, 400, "InvalidPolicyDocument",
                      "Invalid Policy: Invalid content-length-range condition.");
        goto cleanup;
      }
      if ((json_int_t)f->file_len < lo) {
        aws_call_fail_fields(
            call, 400, "EntityTooSmall",
            json_pack("{s:I, s:I}", "ProposedSize", (json_int_t)f->file_len, "MinSizeAllowed", lo),
            "Your proposed upload is smaller than the minimum allowed size");
        goto cleanup;
      }
      if ((json_int_t)f->file_len > hi) {
        aws_call_fail_fields(
            call, 400, "EntityTooLarge",
            json_pack("{s:I, s:I}", "ProposedSize", (json_int_t)f->file_len, "MaxSizeAllowed", hi),
            "Your proposed upload exceeds the maximum allowed size");
        goto cleanup;
      }
      continue;
    }
    const char *name = json_string_value(json_array_get(c, 1));
    const char *want = json_string_value(json_array_get(c, 2));
    if (!json_is_array(c) || json_array_size(c) != 3 || !op || !name || !want || *name != '$' ||
        (strcasecmp(op, "eq") != 0 && strcasecmp(op, "starts-with") != 0)) {
      char *text = json_dumps(c, JSON_COMPACT | JSON_ENCODE_ANY);
      aws_call_fail(call, 400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition: %s",
                    text ? text : "?");
      free(text);
      goto cleanup;
    }
    const char *have = field_value(f, bucket, key, name);
    int ok = strcasecmp(op, "eq") == 0 ? strcmp(have, want) == 0
                                       : strncmp(have, want, strlen(want)) == 0;
    if (!ok) {
      fail_condition(call, c);
      goto cleanup;
    }
    cover(covered, f, name);
  }
  /* Every field but these must be covered by a condition. */
  for (i = 0; i < f->len; i++) {
    const char *n = f->fields[i].name;
    if (covered[i] || strcasecmp(n, "policy") == 0 || strcasecmp(n, "x-amz-signature") == 0 ||
        strcasecmp(n, "signature") == 0 || strcasecmp(n, "awsaccesskeyid") == 0 ||
        strncasecmp(n, "x-ignore-", 9) == 0)
      continue;
    aws_call_fail(call, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: %s",
                  n);
    goto cleanup;
  }
  rc = 0;
cleanup:
  json_decref(doc);
  return rc;
}

/* Checks that a form with a policy carries its signature fields (S3 refuses
 * it otherwise, so this holds whether signatures are verified or not), makes
 * the form's signer the request's principal, and verifies the signature when
 * the emulator verifies signatures. 0, or -1 after answering. */
static int check_signature(aws_call *call, const s3_form *f, const char *policy) {
  int strict = emulator_sigv4_enabled(aws_call_emulator(call));
  const char *algo = s3_form_get(f, "x-amz-algorithm");
  const char *cred = s3_form_get(f, "x-amz-credential");
  const char *sig4 = s3_form_get(f, "x-amz-signature");
  const char *ak = s3_form_get(f, "AWSAccessKeyId");
  const char *sig2 = s3_form_get(f, "signature");
  if (!policy) {
    if (strict && (algo || sig4 || sig2)) {
      aws_call_fail_fields(call, 400, "InvalidArgument",
                           json_pack("{s:s, s:s}", "ArgumentName", "Policy", "ArgumentValue", ""),
                           "Bucket POST must contain a field named 'Policy'.  If it is "
                           "specified, please check the order of the fields.");
      return -1;
    }
    return 0; /* anonymous: access control decides */
  }
  const char *missing = NULL;
  if (algo || cred || sig4) {
    missing = !algo   ? "X-Amz-Algorithm"
              : !cred ? "X-Amz-Credential"
              : !sig4 ? "X-Amz-Signature"
                      : NULL;
    if (!missing && strcmp(algo, "AWS4-HMAC-SHA256") != 0) {
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "x-amz-algorithm", "ArgumentValue", algo),
          "Invalid x-amz-algorithm: only AWS4-HMAC-SHA256 is supported.");
      return -1;
    }
  } else if (!ak || !sig2) {
    missing = !ak ? "AWSAccessKeyId" : "Signature";
  }
  if (missing) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", missing, "ArgumentValue", ""),
                         "Bucket POST must contain a field named '%s'.  If it is specified, "
                         "please check the order of the fields.",
                         missing);
    return -1;
  }
  /* The form's signer is the request's principal (access control, owners). */
  char key[129];
  const char *slash = algo ? strchr(cred, '/') : NULL;
  size_t klen = algo ? (slash ? (size_t)(slash - cred) : strlen(cred)) : strlen(ak);
  snprintf(key, sizeof(key), "%.*s", (int)(klen < sizeof(key) ? klen : 0), algo ? cred : ak);
  aws_call_set_access_key(call, key);
  if (!strict)
    return 0;
  aws_error err = {0};
  if (emulator_sigv4_policy_verify(&err, aws_call_emulator(call), policy, algo ? cred : NULL, ak,
                                   algo ? sig4 : sig2) < 0) {
    aws_call_fail_fields(call, err.status, err.code, json_incref(err.fields), "%s", err.message);
    aws_error_clear(&err);
    return -1;
  }
  return 0;
}

/* ---- what the form sets ---- */

/* A TagSet from the tagging field's XML
 * (<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>…). */
static json_t *tags_from_xml(const char *xml) {
  json_t *set = json_array();
  const char *p = xml;
  while ((p = strstr(p, "<Tag>")) != NULL) {
    const char *end = strstr(p, "</Tag>");
    const char *k = strstr(p, "<Key>"), *ke = strstr(p, "</Key>");
    const char *v = strstr(p, "<Value>"), *ve = strstr(p, "</Value>");
    if (!end || !k || !ke || !v || !ve || k > end || ke > end || v > end || ve > end || ke < k ||
        ve < v || json_array_size(set) >= S3_MAX_TAGS) {
      json_decref(set);
      return NULL;
    }
    json_array_append_new(set, json_pack("{s:s%, s:s%}", "Key", k + 5, (size_t)(ke - k - 5),
                                         "Value", v + 7, (size_t)(ve - v - 7)));
    p = end + 6;
  }
  return set;
}

/* The PutObject-shaped input of what the form sets. Owned. */
static json_t *input_from_form(const s3_form *f) {
  static const struct {
    const char *field, *member;
  } map[] = {{"Content-Type", "ContentType"},
             {"Cache-Control", "CacheControl"},
             {"Content-Disposition", "ContentDisposition"},
             {"Content-Encoding", "ContentEncoding"},
             {"Content-Language", "ContentLanguage"},
             {"x-amz-storage-class", "StorageClass"},
             {"x-amz-website-redirect-location", "WebsiteRedirectLocation"},
             {"x-amz-server-side-encryption", "ServerSideEncryption"},
             {"x-amz-server-side-encryption-aws-kms-key-id", "SSEKMSKeyId"},
             {"x-amz-server-side-encryption-customer-algorithm", "SSECustomerAlgorithm"},
             {"x-amz-server-side-encryption-customer-key", "SSECustomerKey"},
             {"x-amz-server-side-encryption-customer-key-MD5", "SSECustomerKeyMD5"},
             {"acl", "ACL"}};
  json_t *in = json_object();
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    const char *v = s3_form_get(f, map[i].field);
    if (v)
      json_object_set_new(in, map[i].member, json_string(v));
  }
  double t;
  const char *exp = s3_form_get(f, "Expires");
  if (exp && aws_timestamp_parse(&t, exp) == 0)
    json_object_set_new(in, "Expires", aws_timestamp_json(t));
  if (!json_object_get(in, "ContentType"))
    json_object_set_new(in, "ContentType", json_string("binary/octet-stream"));
  json_t *meta = json_object();
  for (size_t i = 0; i < f->len; i++)
    if (strncasecmp(f->fields[i].name, "x-amz-meta-", 11) == 0 && f->fields[i].name[11]) {
      char name[256];
      snprintf(name, sizeof(name), "%s", f->fields[i].name + 11);
      for (char *c = name; *c; c++)
        *c = (char)((*c >= 'A' && *c <= 'Z') ? *c + 32 : *c);
      json_object_set_new(meta, name, json_string(f->fields[i].value));
    }
  if (json_object_size(meta))
    json_object_set_new(in, "Metadata", meta);
  else
    json_decref(meta);
  return in;
}

/* Stores the file part: in memory when small, else in a data file. */
static int store_file(s3_state *st, const s3_form *f, s3_body *out) {
  memset(out, 0, sizeof(*out));
  s3_digest *dg = s3_digest_new(S3_CK_NONE);
  if (!dg)
    return -1;
  s3_digest_update(dg, f->file, f->file_len);
  char none[96];
  s3_digest_final(dg, out->md5, none, sizeof(none));
  s3_digest_free(dg);
  out->size = f->file_len;
  if (f->file_len == 0)
    return 0;
  if (f->file_len <= S3_INLINE_MAX && s3_inline_room(st)) {
    out->data = malloc(f->file_len);
    if (!out->data)
      return -1;
    memcpy(out->data, f->file, f->file_len);
    s3_inline_add(st, f->file_len);
    return 0;
  }
  int fd = s3_data_create(st, &out->file);
  if (fd < 0)
    return -1;
  int rc = fs_write_all(fd, f->file, f->file_len);
  close(fd);
  if (rc < 0) {
    s3_data_unlink(st, out->file);
    out->file = 0;
    return -1;
  }
  return 0;
}

/* ---- the operation ---- */

static void reply_stored(aws_call *call, const s3_form *f, const char *bucket, const char *key,
                         json_t *out) {
  const char *etag = jsonutil_string(out, "ETag");
  dynbuf loc;
  dynbuf_init(&loc, 8192);
  dynbuf_printf(&loc, "%s/%s/", aws_call_endpoint(call), bucket);
  for (const char *c = key; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
        strchr("-._~/", u))
      dynbuf_append(&loc, c, 1);
    else
      dynbuf_printf(&loc, "%%%02X", u);
  }
  char *location = dynbuf_take(&loc, NULL);
  const char *redirect = s3_form_get(f, "success_action_redirect");
  if (!redirect)
    redirect = s3_form_get(f, "redirect");
  const char *status = s3_form_get(f, "success_action_status");
  if (redirect && *redirect) {
    dynbuf r;
    dynbuf_init(&r, 16384);
    dynbuf_printf(&r, "%s%sbucket=%s&key=", redirect, strchr(redirect, '?') ? "&" : "?", bucket);
    const char *enc =
        location ? location + strlen(aws_call_endpoint(call)) + strlen(bucket) + 2 : "";
    dynbuf_puts(&r, enc);
    dynbuf_puts(&r, "&etag=");
    for (const char *c = etag ? etag : ""; *c; c++)
      dynbuf_puts(&r, *c == '"' ? "%22" : (char[]){*c, 0});
    char *target = dynbuf_take(&r, NULL);
    aws_call_header(call, "Location", target ? target : redirect);
    free(target);
    free(location);
    aws_call_reply_data(call, out, 303, "", 0);
    return;
  }
  if (location)
    aws_call_header(call, "Location", location);
  if (status && strcmp(status, "201") == 0) {
    dynbuf x;
    dynbuf_init(&x, 65536);
    dynbuf_puts(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>");
    dynbuf_xml(&x, location ? location : "", location ? strlen(location) : 0);
    dynbuf_puts(&x, "</Location><Bucket>");
    dynbuf_xml(&x, bucket, strlen(bucket));
    dynbuf_puts(&x, "</Bucket><Key>");
    dynbuf_xml(&x, key, strlen(key));
    dynbuf_puts(&x, "</Key><ETag>");
    dynbuf_xml(&x, etag ? etag : "", etag ? strlen(etag) : 0);
    dynbuf_puts(&x, "</ETag></PostResponse>");
    size_t len = 0;
    char *body = dynbuf_take(&x, &len);
    free(location);
    aws_call_header(call, "Content-Type", "application/xml");
    aws_call_reply_data(call, out, 201, body ? body : "", body ? len : 0);
    free(body);
    return;
  }
  free(location);
  aws_call_reply_data(call, out, status && strcmp(status, "200") == 0 ? 200 : 204, "", 0);
}

void s3_op_post_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  http_request *req = aws_call_http(call);
  const char *bucket = jsonutil_string(input, "Bucket");
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  void *map = NULL;
  size_t map_len = 0;
  s3_form form;
  memset(&form, 0, sizeof(form));
  json_t *fields = NULL, *tags = NULL;
  char ssec[64] = "";
  char *key = NULL;
  if (!body) {
    /* A large form was spilled to a file: map it rather than read it. */
    map_len = (size_t)http_request_body_size(req);
    int fd = http_request_body_fd(req);
    if (map_len && fd >= 0)
      map = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (!map || map == MAP_FAILED) {
      map = NULL;
      aws_call_fail(call, 400, "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.");
      return;
    }
    body = map;
    len = map_len;
  }
  char error[256];
  if (s3_form_parse(&form, s3_header(call, "Content-Type"), body, len, error, sizeof(error)) < 0) {
    aws_call_fail(call, 400, "MalformedPOSTRequest",
                  "The body of your POST request is not well-formed multipart/form-data. %s",
                  error);
    goto cleanup;
  }
  const char *raw_key = s3_form_get(&form, "key");
  if (!raw_key) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "key", "ArgumentValue", ""),
                         "Bucket POST must contain a field named 'key'.  If it is specified, "
                         "please check the order of the fields.");
    goto cleanup;
  }
  if (!form.has_file) {
    aws_call_fail_fields(call, 400, "InvalidArgument",
                         json_pack("{s:s, s:s}", "ArgumentName", "file", "ArgumentValue", "0"),
                         "POST requires exactly one file upload per request.");
    goto cleanup;
  }
  /* ${filename} in the key is the file's own name. */
  dynbuf kb;
  dynbuf_init(&kb, S3_MAX_KEY + 1);
  const char *var = strstr(raw_key, "${filename}");
  if (var) {
    dynbuf_append(&kb, raw_key, (size_t)(var - raw_key));
    dynbuf_puts(&kb, form.filename ? form.filename : "");
    dynbuf_puts(&kb, var + 11);
  } else {
    dynbuf_puts(&kb, raw_key);
  }
  key = dynbuf_take(&kb, NULL);
  if (!key) {
    aws_call_fail(call, 400, "KeyTooLongError", "Your key is too long");
    goto cleanup;
  }
  if (!s3_key_valid(call, key))
    goto cleanup;
  const char *policy = s3_form_get(&form, "policy");
  if (check_signature(call, &form, policy) < 0)
    goto cleanup;
  if (policy && check_policy(call, &form, bucket, key, policy) < 0)
    goto cleanup;
  fields = input_from_form(&form);
  if (s3_attrs_check(call, fields) < 0)
    goto cleanup;
  /* The form's encryption fields are checked as a PutObject's headers. */
  if (s3_sse_check(call, fields, ssec, sizeof(ssec)) < 0)
    goto cleanup;
  const char *tagging = s3_form_get(&form, "tagging");
  if (tagging && !(tags = tags_from_xml(tagging))) {
    s3_fail_malformed_xml(call);
    goto cleanup;
  }
  /* The key, for access control's resource. */
  json_object_set_new(input, "Key", json_string(key));
  s3_bucket *pre = s3_bucket_lock(call, input);
  if (!pre)
    goto cleanup;
  int refused = s3_sse_kms_check(call, pre, fields, ssec);
  s3_unlock(st);
  if (refused < 0)
    goto cleanup;
  s3_body r;
  if (store_file(st, &form, &r) < 0) {
    aws_call_fail(call, 500, "InternalError", "Cannot store the uploaded file: %s",
                  strerror(errno));
    goto cleanup;
  }
  s3_bucket *b = s3_bucket_lock(call, input);
  if (b && s3_ownership_check_write(call, b, fields) < 0) { /* the form's acl field */
    s3_unlock(st);
    s3_data_unlink(st, r.file);
    s3_inline_free(st, r.data, r.size);
    goto cleanup;
  }
  s3_version *v = b ? s3_version_new(b) : NULL;
  if (!v) {
    if (b) {
      s3_unlock(st);
      s3_fail_oom(call);
    }
    s3_data_unlink(st, r.file);
    s3_inline_free(st, r.data, r.size);
    goto cleanup;
  }
  v->file = r.file;
  v->data = r.data;
  v->size = r.size;
  s3_etag(v->etag, sizeof(v->etag), r.md5, 0);
  v->attrs = s3_attrs_from_input(fields);
  if (v->attrs) /* SSE-S3 by default, or the bucket's default encryption (sse.c) */
    s3_sse_apply(call, b, fields, ssec, v->attrs);
  v->tags = tags;
  tags = NULL;
  v->acl = s3_acl_from_input(call, fields);
  snprintf(v->owner, sizeof(v->owner), "%s", aws_call_account(call));
  if (s3_version_install(st, b, key, v) < 0) {
    s3_unlock(st);
    s3_version_free(st, v, S3_DROP_DATA);
    s3_fail_oom(call);
    goto cleanup;
  }
  json_t *out = json_pack("{s:s}", "ETag", v->etag);
  if (b->versioning == 1) /* a suspended bucket's "null" version goes unnamed */
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  s3_sse_output(out, v->attrs);
  delivery_s3_event(call, b->configs, b->name, key, v->size, v->etag,
                    b->versioning ? v->version_id : NULL, "ObjectCreated:Post");
  s3_unlock(st);
  reply_stored(call, &form, bucket, key, out);
cleanup:
  s3_form_free(&form);
  json_decref(fields);
  json_decref(tags);
  free(key);
  if (map)
    munmap(map, map_len);
}
