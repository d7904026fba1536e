/*
 * stream.c — InvokeWithResponseStream's answer: AWS's event stream
 * (application/vnd.amazon.eventstream, framed by emulator/protocol/
 * event_stream.h) of PayloadChunk events carrying the function's response,
 * then one InvokeComplete event ({ErrorCode, ErrorDetails, LogResult}).
 *
 * The Runtime API's listener reads a request body whole before its handler
 * runs, so a runtime that streams its response
 * (Lambda-Runtime-Function-Response-Mode: streaming, chunked) is passed on
 * after its end, in chunks of up to LAMBDA_STREAM_CHUNK bytes, not as its
 * chunks arrive. A function error sends no payload: InvokeComplete names its
 * errorType and errorMessage, as AWS does.
 */
#include "common/dynbuf.h"
#include "emulator/lambda/lambda_int.h"
#include "emulator/protocol/event_stream.h"

#include <stdlib.h>
#include <string.h>

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
  aws_call_reply_data(call, out, 200, body, n);
  free(body);
}
