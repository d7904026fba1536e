/*
 * protocol_json.c — the AWS JSON protocol (1.0 and 1.1): the operation comes
 * from X-Amz-Target ("<targetPrefix>.<Operation>"), the input is the JSON
 * body, the output a JSON body, errors {"__type": …, "message": …}.
 *
 * Query models flagged awsQueryCompatible (SQS) are served over this
 * protocol from the same model: body keys are then the member names (the
 * query model's locationNames describe XML, not JSON), and errors also carry
 * the query code in x-amzn-query-error, which current SDKs read.
 */
#include "common/error.h"
#include "emulator/protocol/protocol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aws_json_operation(const char **out, aws_error *err, const aws_model *m,
                       const aws_http_in *in) {
  const char *target = in->header(in->ctx, "X-Amz-Target");
  const char *prefix = aws_model_meta(m, "targetPrefix");
  if (!target || !*target)
    return aws_error_set(err, 400, "UnknownOperationException",
                         "The request lacks the X-Amz-Target header.");
  const char *dot = strrchr(target, '.');
  if (!dot || !prefix || (size_t)(dot - target) != strlen(prefix) ||
      strncmp(target, prefix, strlen(prefix)) != 0)
    return aws_error_set(err, 400, "UnknownOperationException",
                         "The X-Amz-Target %.128s does not name an operation of this service.",
                         target);
  const json_t *op = aws_model_operation(m, dot + 1);
  const char *name = aws_json_str(op, "name");
  if (!name)
    return aws_error_set(err, 400, "UnknownOperationException",
                         "The operation %.128s is not known to this service.", dot + 1);
  *out = name;
  return 0;
}

int aws_json_parse(json_t **out, aws_error *err, const aws_model *m, const char *operation,
                   const aws_http_in *in) {
  aws_parse_ctx ctx;
  aws_parse_ctx_init(&ctx, m, AWS_PROTOCOL_JSON, err);
  const json_t *op = aws_model_operation(m, operation);
  const json_t *iref = json_object_get(op, "input");
  json_t *body = NULL;
  int error = 0;
  if (in->body && in->body_len > 0) {
    json_error_t jerr;
    /* \u0000 is valid JSON; SQS answers it with its own checks
     * (InvalidMessageContents), so query-compatible models keep it in the
     * string (handlers read lengths, not C strings, where it matters). */
    size_t flags = JSON_REJECT_DUPLICATES | (aws_model_query_compatible(m) ? JSON_ALLOW_NUL : 0);
    body = json_loadb(in->body, in->body_len, flags, &jerr);
    if (!body)
      return aws_error_set(err, 400, ctx.malformed_code, "The request body is not valid JSON: %s",
                           jerr.text);
  } else if (!in->body && in->body_len > 0) {
    return aws_error_set(err, 413, ctx.malformed_code, "The request body is too large.");
  } else {
    body = json_object();
  }
  json_t *result = NULL;
  if (iref) {
    /* Checked and converted in place: no second tree (value_json.c). */
    error = aws_value_take_json(&result, &ctx, iref, aws_model_ref_shape(m, iref), body);
    body = NULL;
  } else if (!json_is_object(body)) {
    error = aws_error_set(err, 400, ctx.type_code, "The request body must be a JSON object.");
  } else {
    result = json_object();
  }
  json_decref(body);
  if (error < 0)
    return error;
  *out = result;
  return 0;
}

static const char *content_type(const aws_model *m) {
  const char *version = aws_model_meta(m, "jsonVersion");
  return version && strcmp(version, "1.1") == 0 ? "application/x-amz-json-1.1"
                                                : "application/x-amz-json-1.0";
}

int aws_json_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                       const json_t *output) {
  const json_t *op = aws_model_operation(m, operation);
  const json_t *oref = json_object_get(op, "output");
  int use_loc = strcmp(aws_model_protocol(m), "query") != 0;
  /* Written straight into the body (value_json.c), without a wire tree. */
  dynbuf b;
  dynbuf_init(&b, AWS_MAX_OUTPUT);
  if (!oref || !output ||
      !aws_value_write_json(&b, m, oref, aws_model_ref_shape(m, oref), output, use_loc))
    dynbuf_append(&b, "{}", 2);
  size_t len = 0;
  char *body = dynbuf_take(&b, &len);
  if (!body)
    return airgap_error_set(AIRGAP_ERROR, "cannot serialize the %s response", operation);
  memset(out, 0, sizeof(*out));
  out->status = 200;
  out->content_type = content_type(m);
  out->body = body;
  out->body_len = len;
  out->headers = json_object();
  return 0;
}

void aws_json_error(aws_http_out *out, const aws_model *m, const aws_error *err, int status,
                    const char *code, const char *query_code) {
  json_t *body = json_object();
  const char *key;
  json_t *value;
  json_object_foreach(err->fields, key, value) json_object_set(body, key, value);
  char type[256];
  const char *service = m ? aws_model_meta(m, "endpointPrefix") : NULL;
  if (service)
    snprintf(type, sizeof(type), "com.amazonaws.%s#%s", service, code);
  else
    snprintf(type, sizeof(type), "%s", code);
  json_object_set_new(body, "__type", json_string(type));
  json_object_set_new(body, "message", json_string(err->message ? err->message : ""));
  out->body = json_dumps(body, JSON_COMPACT);
  out->body_len = out->body ? strlen(out->body) : 0;
  json_decref(body);
  out->content_type = m ? content_type(m) : "application/x-amz-json-1.0";
  out->headers = json_object();
  if (query_code) {
    char header[320];
    snprintf(header, sizeof(header), "%s;%s", query_code, status >= 500 ? "Receiver" : "Sender");
    json_object_set_new(out->headers, "x-amzn-query-error", json_string(header));
  }
}
