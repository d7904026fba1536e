/*
 * protocol_probe.c — a test helper (not a test): exposes the emulator's
 * protocol layer on stdin/stdout so that e2e_protocol_conformance.py can check
 * it against botocore's own serializers and parsers for every operation of
 * every embedded model.
 *
 * One JSON object per input line, one per output line:
 *   {"parse": {"service", "method", "path", "query", "headers": {…}, "body_b64"}}
 *     → {"operation", "protocol", "input"} or {"error": {"code", "message", "status"}}
 *   {"serialize": {"service", "protocol", "operation", "output"}}
 *     → {"status", "headers", "body_b64"} or {"error": …}
 *   {"error": {"service", "protocol", "code", "message", "status"}}
 *     → {"status", "headers", "body_b64"}
 */
#include "emulator/protocol/model.h"
#include "emulator/protocol/protocol.h"
#include "common/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROBE_MAX_LINE (64u << 20)

static const char *probe_header(void *ctx, const char *name) {
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)ctx, key, value) {
    if (strcasecmp(key, name) == 0)
      return json_string_value(value);
  }
  return NULL;
}

static void probe_foreach(void *ctx, aws_header_fn fn, void *payload) {
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)ctx, key, value) {
    if (fn(key, json_string_value(value), payload))
      return;
  }
}

static json_t *error_json(const aws_error *err) {
  return json_pack("{s:{s:s, s:s, s:i}}", "error", "code", err->code ? err->code : "", "message",
                   err->message ? err->message : "", "status", err->status);
}

static json_t *do_parse(const json_t *req) {
  const aws_model *m = NULL;
  if (aws_model_get(&m, json_string_value(json_object_get(req, "service"))) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "NoModel");
  json_t *headers = json_object_get(req, "headers");
  const char *b64 = json_string_value(json_object_get(req, "body_b64"));
  unsigned char *body = NULL;
  size_t body_len = 0;
  if (b64 && codec_base64_decode(&body, &body_len, b64, strlen(b64)) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "BadProbeBody");
  char *body_str = malloc(body_len + 1);
  if (body_len)
    memcpy(body_str, body, body_len);
  body_str[body_len] = '\0';
  free(body);
  aws_http_in in = {.method = json_string_value(json_object_get(req, "method")),
                    .path = json_string_value(json_object_get(req, "path")),
                    .query = json_string_value(json_object_get(req, "query")),
                    .header = probe_header,
                    .headers_foreach = probe_foreach,
                    .ctx = headers,
                    .body = body_str,
                    .body_len = body_len};
  if (!in.query)
    in.query = "";
  aws_protocol p = aws_protocol_detect(m, &in);
  aws_error err = {0};
  const char *op = NULL;
  json_t *input = NULL, *result;
  if (aws_protocol_operation(&op, &err, m, p, &in) < 0 ||
      aws_protocol_parse(&input, &err, m, p, op, &in) < 0)
    result = error_json(&err);
  else
    result = json_pack("{s:s, s:s, s:o}", "operation", op, "protocol", aws_protocol_name(p),
                       "input", input);
  aws_error_clear(&err);
  free(body_str);
  return result;
}

static json_t *do_serialize(const json_t *req) {
  const aws_model *m = NULL;
  if (aws_model_get(&m, json_string_value(json_object_get(req, "service"))) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "NoModel");
  aws_protocol p;
  if (aws_protocol_from_name(&p, json_string_value(json_object_get(req, "protocol"))) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "BadProtocol");
  aws_http_out out;
  if (aws_protocol_serialize(&out, m, p, json_string_value(json_object_get(req, "operation")),
                             json_object_get(req, "output"), "probe-request-id") < 0)
    return json_pack("{s:{s:s}}", "error", "code", "SerializeFailed");
  char *b64 = codec_base64_encode((const unsigned char *)(out.body ? out.body : ""), out.body_len);
  json_t *headers = json_deep_copy(out.headers);
  if (out.content_type && !json_object_get(headers, "Content-Type"))
    json_object_set_new(headers, "Content-Type", json_string(out.content_type));
  json_t *result =
      json_pack("{s:i, s:o, s:s}", "status", out.status, "headers", headers, "body_b64", b64);
  free(b64);
  aws_http_out_free(&out);
  return result;
}

static json_t *do_error(const json_t *req) {
  const aws_model *m = NULL;
  if (aws_model_get(&m, json_string_value(json_object_get(req, "service"))) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "NoModel");
  aws_protocol p;
  if (aws_protocol_from_name(&p, json_string_value(json_object_get(req, "protocol"))) < 0)
    return json_pack("{s:{s:s}}", "error", "code", "BadProtocol");
  aws_error err = {0};
  aws_error_set(&err, (int)json_integer_value(json_object_get(req, "status")),
                json_string_value(json_object_get(req, "code")), "%s",
                json_string_value(json_object_get(req, "message")));
  aws_http_out out;
  aws_protocol_serialize_error(&out, m, p, &err, "probe-request-id");
  aws_error_clear(&err);
  char *b64 = codec_base64_encode((const unsigned char *)(out.body ? out.body : ""), out.body_len);
  json_t *headers = json_deep_copy(out.headers);
  if (out.content_type && !json_object_get(headers, "Content-Type"))
    json_object_set_new(headers, "Content-Type", json_string(out.content_type));
  json_t *result =
      json_pack("{s:i, s:o, s:s}", "status", out.status, "headers", headers, "body_b64", b64);
  free(b64);
  aws_http_out_free(&out);
  return result;
}

int main(void) {
  char *line = malloc(PROBE_MAX_LINE);
  if (!line)
    return 1;
  while (fgets(line, PROBE_MAX_LINE, stdin)) {
    json_error_t jerr;
    json_t *req = json_loads(line, 0, &jerr);
    json_t *result;
    if (!req)
      result = json_pack("{s:{s:s, s:s}}", "error", "code", "BadProbeLine", "message", jerr.text);
    else if (json_object_get(req, "parse"))
      result = do_parse(json_object_get(req, "parse"));
    else if (json_object_get(req, "error"))
      result = do_error(json_object_get(req, "error"));
    else
      result = do_serialize(json_object_get(req, "serialize"));
    char *text = json_dumps(result, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    fflush(stdout);
    free(text);
    json_decref(result);
    json_decref(req);
  }
  free(line);
  return 0;
}
