/*
 * stream.c — InvokeWithResponseStream's answer: AWS's event stream
 * (application/vnd.amazon.eventstream, framed by emulator/protocol/
 * event_stream.h) of PayloadChunk events carrying the function's response,
 * then one InvokeComplete event ({ErrorCode, ErrorDetails, LogResult}).
 *
 * A runtime that streams its response (POST …/response with
 * Lambda-Runtime-Function-Response-Mode: streaming, a chunked body) is
 * relayed as it arrives: the caller's answer (200, the event stream's
 * headers) goes out when the runtime starts its response, each piece of body
 * the Runtime API's listener reads becomes a PayloadChunk event at once
 * (the gateway's open stream, service.h), and InvokeComplete follows when
 * the invocation ends: {} after the last chunk, or ErrorCode/ErrorDetails
 * from the runtime's trailers (Lambda-Runtime-Function-Error-Type and
 * Lambda-Runtime-Function-Error-Body, base64 JSON) for an error mid-stream,
 * or from a timeout. At most LAMBDA_MAX_STREAM_RESPONSE bytes are relayed
 * (AWS's 200 MB); past them the rest is dropped and InvokeComplete says
 * Function.ResponseSizeTooLarge. A runtime that answers a streamed call with
 * a buffered response (no streaming header) is passed on after its end, in
 * chunks of up to LAMBDA_STREAM_CHUNK bytes; a function error then sends no
 * payload: InvokeComplete names its errorType and errorMessage, as AWS does.
 */
#include "common/dynbuf.h"
#include "common/log.h"
#include "emulator/lambda/lambda_runtime_int.h"
#include "emulator/protocol/event_stream.h"

#include "common/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LAMBDA_STREAM_CHUNK (64u * 1024)

void lambda_stream_reply(aws_call *call, json_t *out, const char *payload, size_t len,
                         const char *function_error, const char *log_result) {
  dynbuf b;
  dynbuf_init(&b, LAMBDA_MAX_SYNC_PAYLOAD + LAMBDA_MAX_SYNC_PAYLOAD / 8 + 65536);
  json_t *complete = json_object();
  if (function_error) {
    json_t *err = payload && len ? json_loadb(payload, len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(err, "errorType"));
    const char *message = json_string_value(json_object_get(err, "errorMessage"));
    json_object_set_new(complete, "ErrorCode", json_string(type ? type : function_error));
    if (message)
      json_object_set_new(complete, "ErrorDetails", json_string(message));
    else if (payload && len)
      json_object_set_new(complete, "ErrorDetails", json_stringn(payload, len));
    json_decref(err);
  } else {
    for (size_t off = 0; payload && off < len; off += LAMBDA_STREAM_CHUNK) {
      size_t n = len - off > LAMBDA_STREAM_CHUNK ? LAMBDA_STREAM_CHUNK : len - off;
      event_stream_event_append(&b, "PayloadChunk", "application/octet-stream", payload + off, n);
    }
  }
  if (log_result)
    json_object_set_new(complete, "LogResult", json_string(log_result));
  char *text = json_dumps(complete, JSON_COMPACT);
  json_decref(complete);
  if (text)
    event_stream_event_append(&b, "InvokeComplete", "application/json", text, strlen(text));
  free(text);
  if (!text || dynbuf_failed(&b)) {
    dynbuf_free(&b);
    json_decref(out);
    aws_call_fail(call, 500, "ServiceException", "out of memory");
    return;
  }
  json_object_del(out, "Payload");
  json_object_del(out, "FunctionError");
  json_object_del(out, "LogResult");
  json_object_set_new(out, "ResponseStreamContentType",
                      json_string("application/vnd.amazon.eventstream"));
  size_t n = 0;
  char *body = dynbuf_take(&b, &n);
  aws_stream *open = aws_call_stream(call);
  if (open) { /* the chunks went out as they came: only the end is left */
    aws_stream_write(open, body, n);
    aws_call_reply(call, out);
  } else {
    aws_call_reply_data(call, out, 200, body, n);
  }
  free(body);
}

/* ---- relaying a streamed response (the Runtime API listener's thread) ---- */

int lambda_stream_open(lambda_inv *inv) {
  if (!inv->call || !inv->streaming || aws_call_stream(inv->call))
    return -1;
  json_t *out = json_pack("{s:i, s:s, s:s}", "StatusCode", 200, "ExecutedVersion", inv->version,
                          "ResponseStreamContentType", "application/vnd.amazon.eventstream");
  if (!out)
    return -1;
  return aws_call_stream_open(inv->call, out, 200, "application/vnd.amazon.eventstream");
}

void lambda_stream_chunk(lambda_inv *inv, const char *data, size_t len) {
  aws_stream *open = inv->call ? aws_call_stream(inv->call) : NULL;
  if ((!open && !inv->chunk) || len == 0)
    return;
  if (inv->streamed + len > LAMBDA_MAX_STREAM_RESPONSE) {
    inv->streamed = LAMBDA_MAX_STREAM_RESPONSE + 1; /* over: the rest is dropped */
    return;
  }
  inv->streamed += len;
  if (inv->chunk) { /* an in-process caller: the bytes as they are */
    inv->chunk(inv->content_type, data, len, inv->done_payload);
    return;
  }
  dynbuf b;
  dynbuf_init(&b, len + LAMBDA_STREAM_CHUNK);
  for (size_t off = 0; off < len; off += LAMBDA_STREAM_CHUNK) {
    size_t n = len - off > LAMBDA_STREAM_CHUNK ? LAMBDA_STREAM_CHUNK : len - off;
    event_stream_event_append(&b, "PayloadChunk", "application/octet-stream", data + off, n);
  }
  /* A caller that went away is not the function's concern: it runs on,
   * and what it sends is dropped. */
  if (!dynbuf_failed(&b))
    aws_stream_write(open, b.data, b.len);
  dynbuf_free(&b);
}

static int relay(const char *data, size_t len, void *payload) {
  lambda_env *env = payload;
  pthread_mutex_lock(&env->rt->lock);
  if (env->inv)
    lambda_stream_chunk(env->inv, data, len);
  pthread_mutex_unlock(&env->rt->lock);
  return 0;
}

void lambda_runtime_api_early(http_request *req, void *payload) {
  lambda_env *env = payload;
  static const char prefix[] = "/2018-06-01/runtime/invocation/";
  const char *mode = http_request_header(req, "Lambda-Runtime-Function-Response-Mode");
  const char *path = http_request_path(req);
  if (!mode || strcasecmp(mode, "streaming") != 0 ||
      strcmp(http_request_method(req), "POST") != 0 ||
      strncmp(path, prefix, sizeof(prefix) - 1) != 0)
    return;
  const char *id = path + sizeof(prefix) - 1;
  size_t idlen = strcspn(id, "/");
  if (strcmp(id + idlen, "/response") != 0)
    return;
  pthread_mutex_lock(&env->rt->lock);
  lambda_inv *inv = env->inv;
  if (inv && inv->delivered && strlen(inv->id) == idlen && strncmp(inv->id, id, idlen) == 0) {
    if (inv->chunk && inv->done && !inv->content_type) {
      const char *type = http_request_header(req, "Content-Type");
      inv->content_type = strdup(type ? type : "application/octet-stream");
      if (inv->content_type) {
        inv->chunk(inv->content_type, NULL, 0, inv->done_payload);
        http_request_body_stream(req, relay, env);
      }
    } else if (lambda_stream_open(inv) == 0) {
      http_request_body_stream(req, relay, env);
    }
  }
  pthread_mutex_unlock(&env->rt->lock);
}

char *lambda_stream_error_body(const char *type, const char *b64) {
  json_t *err = NULL;
  json_t *t = json_string(type); /* NULL for bytes that are not UTF-8 */
  if (!t)
    t = json_string("Unhandled");
  unsigned char *raw = NULL;
  size_t n = 0;
  if (b64 && strlen(b64) <= LAMBDA_MAX_ERROR_TRAILER &&
      codec_base64_decode(&raw, &n, b64, strlen(b64)) == 0)
    err = json_loadb((const char *)raw, n, 0, NULL);
  free(raw);
  if (!json_is_object(err)) {
    json_decref(err);
    err = json_pack("{s:O, s:s}", "errorType", t, "errorMessage", "");
  } else if (!json_is_string(json_object_get(err, "errorType"))) {
    json_object_set(err, "errorType", t);
  }
  json_decref(t);
  char *text = err ? json_dumps(err, JSON_COMPACT) : NULL;
  json_decref(err);
  return text;
}

int lambda_stream_error(char **out, size_t *len, http_request *req, const lambda_inv *inv) {
  const char *type = http_request_trailer(req, "Lambda-Runtime-Function-Error-Type");
  if (type) {
    *out = lambda_stream_error_body(
        type, http_request_trailer(req, "Lambda-Runtime-Function-Error-Body"));
  } else if (inv->streamed > LAMBDA_MAX_STREAM_RESPONSE) {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "Response payload size exceeded maximum allowed payload size (%llu bytes).",
             (unsigned long long)LAMBDA_MAX_STREAM_RESPONSE);
    json_t *err =
        json_pack("{s:s, s:s}", "errorType", "Function.ResponseSizeTooLarge", "errorMessage", msg);
    *out = err ? json_dumps(err, JSON_COMPACT) : NULL;
    json_decref(err);
  } else {
    return 0;
  }
  *len = *out ? strlen(*out) : 0;
  return 1;
}
