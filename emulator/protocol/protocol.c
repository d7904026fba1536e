/*
 * protocol.c — the protocol layer's entry points: which protocol a request
 * speaks (from the model, or from the request alone when the service has no
 * embedded model), and dispatch of operation lookup, parsing and
 * serialization to the per-protocol files. Errors are rendered here too: the
 * model's error shape gives the status and the query code, the protocol's
 * file the envelope.
 *
 * Dependencies point one way: protocol.c → protocol_{query,json,rest}.c →
 * protocol_xml.c → value.c; nothing calls back into this file.
 */
#include "emulator/protocol/protocol_int.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

const char *aws_protocol_name(aws_protocol p) {
  switch (p) {
  case AWS_PROTOCOL_QUERY:
  case AWS_PROTOCOL_QUERY_JSON: return "query";
  case AWS_PROTOCOL_JSON: return "json";
  case AWS_PROTOCOL_REST_JSON: return "rest-json";
  case AWS_PROTOCOL_REST_XML: return "rest-xml";
  }
  return "query";
}

int aws_protocol_from_name(aws_protocol *out, const char *name) {
  static const struct {
    const char *name;
    aws_protocol p;
  } names[] = {{"query", AWS_PROTOCOL_QUERY},
               {"json", AWS_PROTOCOL_JSON},
               {"rest-json", AWS_PROTOCOL_REST_JSON},
               {"rest-xml", AWS_PROTOCOL_REST_XML}};
  for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(names[i].name, name) == 0) {
      *out = names[i].p;
      return 0;
    }
  return airgap_error_set(AIRGAP_EINVALID, "unsupported AWS protocol '%s'", name ? name : "");
}

/* ---- dispatch ---- */

/* Whether an Accept header prefers JSON: its first media range naming JSON
 * or XML is application/json (so "application/json, text/plain" is,
 * and "text/xml, application/json" is not). Quality values are not weighed:
 * clients asking AWS for JSON list it alone or first. */
static int accepts_json(const char *accept) {
  for (const char *p = accept; p && *p;) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, ",;");
    if (n == 16 && strncasecmp(p, "application/json", 16) == 0)
      return 1;
    for (size_t i = 0; i + 3 <= n; i++)
      if (strncasecmp(p + i, "xml", 3) == 0)
        return 0;
    p += n;
    p += strcspn(p, ","); /* skip parameters */
  }
  return 0;
}

aws_protocol aws_protocol_detect(const aws_model *m, const aws_http_in *in) {
  aws_protocol native = AWS_PROTOCOL_QUERY;
  if (aws_protocol_from_name(&native, aws_model_protocol(m)) < 0)
    native = AWS_PROTOCOL_QUERY;
  if (native == AWS_PROTOCOL_QUERY && aws_model_query_compatible(m)) {
    const char *target = in->header(in->ctx, "X-Amz-Target");
    const char *type = in->header(in->ctx, "Content-Type");
    if (target && type && strstr(type, "json"))
      return AWS_PROTOCOL_JSON;
  }
  if (native == AWS_PROTOCOL_QUERY && accepts_json(in->header(in->ctx, "Accept")))
    return AWS_PROTOCOL_QUERY_JSON;
  return native;
}

/* Whether a query string or form body holds an "Action" parameter. Looks at
 * names only (no decoding, no allocation): "Action=" at the start or after
 * '&'. */
static int has_action(const char *s, size_t len) {
  static const char key[] = "Action=";
  const size_t n = sizeof(key) - 1;
  for (size_t i = 0; s && i + n <= len; i++)
    if ((i == 0 || s[i - 1] == '&') && memcmp(s + i, key, n) == 0)
      return 1;
  return 0;
}

aws_protocol aws_protocol_guess(const aws_http_in *in, const char *service) {
  static const char *const rest_xml[] = {"s3", "route53", "cloudfront"};
  const char *type = in->header(in->ctx, "Content-Type");
  if (in->header(in->ctx, "X-Amz-Target") && type &&
      strncasecmp(type, "application/x-amz-json-1.", 25) == 0)
    return AWS_PROTOCOL_JSON;
  int form = type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
  if (has_action(in->query, in->query ? strlen(in->query) : 0) ||
      (form && strcasecmp(in->method, "POST") == 0 &&
       (!in->body || has_action(in->body, in->body_len))))
    return AWS_PROTOCOL_QUERY;
  for (size_t i = 0; service && i < sizeof(rest_xml) / sizeof(rest_xml[0]); i++)
    if (strcmp(service, rest_xml[i]) == 0)
      return AWS_PROTOCOL_REST_XML;
  if (type && (strstr(type, "/xml") || strstr(type, "+xml")))
    return AWS_PROTOCOL_REST_XML;
  return AWS_PROTOCOL_REST_JSON;
}

int aws_protocol_operation(const char **out, aws_error *err, const aws_model *m, aws_protocol p,
                           const aws_http_in *in) {
  switch (p) {
  case AWS_PROTOCOL_QUERY:
  case AWS_PROTOCOL_QUERY_JSON: return aws_query_operation(out, err, m, in);
  case AWS_PROTOCOL_JSON: return aws_json_operation(out, err, m, in);
  default: return aws_rest_operation(out, err, m, p, in);
  }
}

int aws_protocol_parse(json_t **out, aws_error *err, const aws_model *m, aws_protocol p,
                       const char *operation, const aws_http_in *in) {
  switch (p) {
  case AWS_PROTOCOL_QUERY:
  case AWS_PROTOCOL_QUERY_JSON: return aws_query_parse(out, err, m, operation, in);
  case AWS_PROTOCOL_JSON: return aws_json_parse(out, err, m, operation, in);
  default: return aws_rest_parse(out, err, m, p, operation, in);
  }
}

/* S3 (the rest-xml service) answers every request, errors included, with
 * x-amz-request-id, x-amz-id-2 (the host id its errors also carry) and
 * `Server: AmazonS3`, and without the x-amzn-RequestId of the other
 * protocols (botocore reads HostId only when that one is absent). */
static void s3_style_headers(json_t *headers, const char *request_id) {
  char *host_id = aws_rest_host_id(request_id);
  json_object_set_new(headers, "x-amz-request-id", json_string(request_id));
  if (host_id)
    json_object_set_new(headers, "x-amz-id-2", json_string(host_id));
  json_object_set_new(headers, "Server", json_string("AmazonS3"));
  free(host_id);
}

/* DynamoDB answers every request, errors included, with x-amz-crc32: the
 * CRC32 of the body as a decimal number (botocore checks it and retries on
 * a mismatch). */
static void dynamodb_crc32(aws_http_out *out, const aws_model *m) {
  const char *prefix = m ? aws_model_meta(m, "endpointPrefix") : NULL;
  if (!prefix || strcmp(prefix, "dynamodb") != 0 || !out->headers)
    return;
  uLong crc = crc32(0L, Z_NULL, 0);
  if (out->body_len)
    crc = crc32(crc, (const Bytef *)out->body, (uInt)out->body_len);
  char text[16];
  snprintf(text, sizeof(text), "%lu", (unsigned long)crc);
  json_object_set_new(out->headers, "x-amz-crc32", json_string(text));
}

int aws_protocol_serialize(aws_http_out *out, const aws_model *m, aws_protocol p,
                           const char *operation, const json_t *output, const char *request_id) {
  int rc;
  switch (p) {
  case AWS_PROTOCOL_QUERY: rc = aws_query_serialize(out, m, operation, output, request_id); break;
  case AWS_PROTOCOL_QUERY_JSON:
    rc = aws_query_json_serialize(out, m, operation, output, request_id);
    break;
  case AWS_PROTOCOL_JSON: rc = aws_json_serialize(out, m, operation, output); break;
  default: rc = aws_rest_serialize(out, m, p, operation, output); break;
  }
  if (rc == 0 && request_id) {
    if (p == AWS_PROTOCOL_REST_XML)
      s3_style_headers(out->headers, request_id);
    else
      json_object_set_new(out->headers, "x-amzn-RequestId", json_string(request_id));
  }
  if (rc == 0)
    dynamodb_crc32(out, m);
  return rc;
}

/* The model's error shape for code: by shape name, or by its query code
 * (error.code, "AWS.SimpleQueueService.NonExistentQueue"). */
static const json_t *error_shape(const aws_model *m, const char *code, const char **shape_name) {
  if (!m || !code)
    return NULL;
  const json_t *shape = aws_model_shape(m, code);
  if (shape && aws_json_bool(shape, "exception")) {
    *shape_name = code;
    return shape;
  }
  const char *key;
  json_t *value;
  const json_t *ops = aws_model_operations(m);
  /* Search the error shapes referenced by operations for a matching query code. */
  const char *op_name;
  json_t *op;
  json_object_foreach((json_t *)ops, op_name, op) {
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(op, "errors"), i, ref) {
      key = aws_json_str(ref, "shape");
      value = (json_t *)aws_model_shape(m, key);
      const char *qcode = aws_json_str(json_object_get(value, "error"), "code");
      if (qcode && strcmp(qcode, code) == 0) {
        *shape_name = key;
        return value;
      }
    }
  }
  return NULL;
}

void aws_protocol_serialize_error(aws_http_out *out, const aws_model *m, aws_protocol p,
                                  const aws_error *err, const char *request_id) {
  const char *code = err->code ? err->code : "InternalFailure";
  const char *shape_name = code;
  const json_t *shape = error_shape(m, code, &shape_name);
  const json_t *info = json_object_get(shape, "error");
  int status = err->status;
  if (status == 0)
    status = (int)json_integer_value(json_object_get(info, "httpStatusCode"));
  if (status < 100 || status > 599)
    status = 400;
  const char *query_code = aws_json_str(info, "code");
  if (!query_code)
    query_code = code;
  memset(out, 0, sizeof(*out));
  switch (p) {
  case AWS_PROTOCOL_QUERY: aws_query_error(out, m, err, status, query_code, request_id); break;
  case AWS_PROTOCOL_QUERY_JSON:
    aws_query_json_error(out, err, status, query_code, request_id);
    break;
  case AWS_PROTOCOL_JSON:
    aws_json_error(out, m, err, status, shape_name,
                   m && aws_model_query_compatible(m) ? query_code : NULL);
    break;
  default: aws_rest_error(out, m, p, err, status, shape_name, request_id); break;
  }
  if (!out->headers)
    out->headers = json_object();
  if (request_id) {
    if (p == AWS_PROTOCOL_REST_XML)
      s3_style_headers(out->headers, request_id);
    else
      json_object_set_new(out->headers, "x-amzn-RequestId", json_string(request_id));
  }
  dynamodb_crc32(out, m);
  out->status = status;
}
