/*
 * urls.c — requests to function URLs. The gateway hands Lambda every
 * request whose Host names a function URL, as LocalStack routes them:
 * <url-id>.lambda-url.<region>.localhost[:port] (or any domain after the
 * region, e.g. localhost.localstack.cloud). The URL id finds the function
 * and qualifier (the URL config's UrlId), the request becomes an API
 * Gateway HTTP API payload of version 2.0 (rawPath, rawQueryString, cookies,
 * lower-case headers, queryStringParameters, requestContext.http, body with
 * isBase64Encoded), and the function's result becomes the response: an
 * object with statusCode is taken apart (statusCode, headers, cookies as
 * Set-Cookie, body, isBase64Encoded); anything else is the body of a 200
 * application/json response, as AWS documents.
 *
 * AuthType AWS_IAM: a request without a SigV4 signature (Authorization
 * header or X-Amz-Signature in the query) gets 403 {"Message":"Forbidden"};
 * signatures are not verified (the emulator's permissive default). A
 * function error answers 502 {"Message":"Internal Server Error"}.
 */
#include "common/clock.h"
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/log.h"
#include "emulator/lambda/lambda_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define URL_MAX_HEADERS 200

static void respond_message(http_request *req, int status, const char *message) {
  http_request_respond(req, http_response_new_json(status, json_pack("{s:s}", "Message", message)));
}

/* ---- the event ---- */

typedef struct header_walk {
  json_t *headers;
  json_t *cookies;
  int count;
} header_walk;

static int add_header(const char *name, const char *value, void *payload) {
  header_walk *w = payload;
  if (++w->count > URL_MAX_HEADERS)
    return 1;
  char lower[256];
  size_t n = strlen(name);
  if (n >= sizeof(lower))
    return 0;
  for (size_t i = 0; i <= n; i++)
    lower[i] = (char)tolower((unsigned char)name[i]);
  if (strcmp(lower, "cookie") == 0) {
    /* "a=1; b=2" → ["a=1", "b=2"], as the 2.0 payload splits them. */
    const char *p = value;
    while (*p) {
      while (*p == ' ' || *p == ';')
        p++;
      size_t len = strcspn(p, ";");
      while (len && p[len - 1] == ' ')
        len--;
      if (len)
        json_array_append_new(w->cookies, json_stringn(p, len));
      p += strcspn(p, ";");
    }
    return 0;
  }
  json_t *old = json_object_get(w->headers, lower);
  if (old) {
    /* Repeated headers are joined with commas. */
    char *joined = NULL;
    if (asprintf(&joined, "%s,%s", json_string_value(old), value) >= 0) {
      json_object_set_new(w->headers, lower, json_string(joined));
      free(joined);
    }
  } else {
    json_object_set_new(w->headers, lower, json_string(value));
  }
  return 0;
}

/* Text bodies go as they are; anything else base64-encoded. */
static int is_text(const char *type) {
  if (!type)
    return 1;
  return strncasecmp(type, "text/", 5) == 0 || strcasestr(type, "json") ||
         strcasestr(type, "xml") || strcasestr(type, "javascript") ||
         strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
}

static json_t *event_of(http_request *req, const char *url_id, const char *account,
                        const char *host) {
  header_walk w = {json_object(), json_array(), 0};
  http_request_headers_foreach(req, add_header, &w);
  const char *raw_query = http_request_query(req);
  json_t *params = NULL;
  http_query_pair *pairs = NULL;
  size_t count = 0;
  if (*raw_query && http_query_parse(&pairs, &count, raw_query, strlen(raw_query), 1000) == 0) {
    params = json_object();
    for (size_t i = 0; i < count; i++) {
      json_t *old = json_object_get(params, pairs[i].name);
      if (old) {
        char *joined = NULL;
        if (asprintf(&joined, "%s,%s", json_string_value(old), pairs[i].value) >= 0) {
          json_object_set_new(params, pairs[i].name, json_string(joined));
          free(joined);
        }
      } else {
        json_object_set_new(params, pairs[i].name, json_string(pairs[i].value));
      }
    }
    http_query_free(pairs, count);
  }
  char request_id[37], when[64];
  codec_uuid4(request_id);
  uint64_t now = clock_wall_ms();
  time_t secs = (time_t)(now / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
  const char *ua = http_request_header(req, "User-Agent");
  const char *path = http_request_path(req);
  json_t *event =
      json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:n, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s},"
                " s:s, s:s, s:s, s:s, s:I}, s:b}",
                "version", "2.0", "routeKey", "$default", "rawPath", path, "rawQueryString",
                raw_query, "headers", w.headers, "requestContext", "accountId", "anonymous",
                "apiId", url_id, "authentication", "domainName", host, "domainPrefix", url_id,
                "http", "method", http_request_method(req), "path", path, "protocol", "HTTP/1.1",
                "sourceIp", *http_request_peer(req) ? http_request_peer(req) : "127.0.0.1",
                "userAgent", ua ? ua : "", "requestId", request_id, "routeKey", "$default", "stage",
                "$default", "time", when, "timeEpoch", (json_int_t)now, "isBase64Encoded", 0);
  if (!event) {
    json_decref(w.cookies);
    json_decref(params);
    return NULL;
  }
  if (json_array_size(w.cookies))
    json_object_set_new(event, "cookies", w.cookies);
  else
    json_decref(w.cookies);
  if (params)
    json_object_set_new(event, "queryStringParameters", params);
  if (account) /* AWS_IAM: the caller's account */
    json_object_set_new(json_object_get(event, "requestContext"), "accountId",
                        json_string(account));
  size_t len = 0;
  const char *body = http_request_body(req, &len);
  if (body && len) {
    if (is_text(http_request_header(req, "Content-Type"))) {
      json_object_set_new(event, "body", json_stringn(body, len));
    } else {
      char *b64 = codec_base64_encode(body, len);
      json_object_set_new(event, "body", json_string(b64 ? b64 : ""));
      json_object_set_new(event, "isBase64Encoded", json_true());
      free(b64);
    }
  }
  return event;
}

/* ---- the response ---- */

/* The Content-Type a response object (or a streamed response's prelude)
 * names in its headers, or NULL. Borrowed from r. */
static const char *content_type_of(const json_t *r) {
  json_t *headers = json_object_get(r, "headers");
  const char *type = json_string_value(json_object_get(headers, "content-type"));
  return type ? type : json_string_value(json_object_get(headers, "Content-Type"));
}

/* The headers and cookies of a response object (or prelude) onto resp;
 * what HTTP itself decides (length, framing) and anything that would split
 * a header line is left out. */
static void add_headers(http_response *resp, const json_t *r) {
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(r, "headers"), k, v) {
    if (strcasecmp(k, "content-type") == 0 || strcasecmp(k, "content-length") == 0 ||
        strcasecmp(k, "transfer-encoding") == 0 || strcasecmp(k, "connection") == 0)
      continue;
    char num[64];
    const char *value = json_string_value(v);
    if (!value && json_is_number(v)) {
      snprintf(num, sizeof(num), "%g", json_number_value(v));
      value = num;
    }
    if (value && !strpbrk(value, "\r\n") && !strpbrk(k, "\r\n:"))
      http_response_header_add(resp, k, value);
  }
  size_t i;
  json_array_foreach(json_object_get(r, "cookies"), i, v) {
    const char *c = json_string_value(v);
    if (c && !strpbrk(c, "\r\n"))
      http_response_header_add(resp, "Set-Cookie", c);
  }
}

static void url_done(const lambda_result *result, void *arg) {
  http_request *req = arg;
  const char *payload = result->payload;
  size_t len = result->len;
  if (result->error_code) {
    if (!strcmp(result->error_code, "TooManyRequestsException"))
      respond_message(req, 429, "Rate Exceeded.");
    else
      respond_message(req, 502, "Internal Server Error");
    log_info("lambda", "function URL request failed: %s: %.300s", result->error_code,
             result->message ? result->message : "");
    return;
  }
  if (result->function_error) {
    respond_message(req, 502, "Internal Server Error");
    return;
  }
  json_t *r = payload && len ? json_loadb(payload, len, JSON_DECODE_ANY, NULL) : NULL;
  json_t *code = json_object_get(r, "statusCode");
  if (!json_is_object(r) || !code) {
    /* Not the response shape: the result itself, as JSON, is the body. */
    http_response *resp =
        http_response_new(200, "application/json", payload ? payload : "", payload ? len : 0);
    http_request_respond(req, resp);
    json_decref(r);
    return;
  }
  int sc = json_is_integer(code) ? (int)json_integer_value(code) : 200;
  if (sc < 100 || sc > 599)
    sc = 500;
  json_t *b = json_object_get(r, "body");
  char *body = NULL;
  size_t blen = 0;
  if (json_is_string(b)) {
    const char *text = json_string_value(b);
    if (json_is_true(json_object_get(r, "isBase64Encoded"))) {
      unsigned char *raw = NULL;
      if (codec_base64_decode(&raw, &blen, text, strlen(text)) == 0)
        body = (char *)raw;
    } else {
      blen = json_string_length(b);
      body = malloc(blen + 1);
      if (body)
        memcpy(body, text, blen + 1);
    }
  } else if (b && !json_is_null(b)) {
    body = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
    blen = body ? strlen(body) : 0;
  }
  const char *type = content_type_of(r);
  http_response *resp =
      http_response_new_take(sc, type ? type : "application/json", body ? body : strdup(""), blen);
  add_headers(resp, r);
  json_decref(r);
  http_request_respond(req, resp);
}

/* ---- RESPONSE_STREAM: the function's stream relayed as it is written ----
 *
 * A runtime that streams its response (Lambda-Runtime-Function-Response-Mode:
 * streaming) is relayed to the client as the Runtime API reads it: a
 * response of Content-Type application/vnd.awslambda.http-integration-response
 * (what awslambda.HttpResponseStream.from writes) opens with a JSON prelude
 * ({statusCode, headers, cookies}) and 8 NUL bytes, which become the
 * response's status and headers; any other goes out as a 200 of the
 * runtime's Content-Type. The body follows chunked, each piece as it comes.
 * An error after the head went cuts the body (the client never takes it for
 * a whole one); before it, the answer is a 502 as in BUFFERED mode. A
 * runtime that answers with a buffered response is answered as BUFFERED. */

#define URL_PRELUDE_TYPE "application/vnd.awslambda.http-integration-response"

typedef struct url_stream {
  http_request *req;
  aws_stream *out; /* once the head went */
  int started;     /* the runtime streams */
  int prelude;     /* the head waits for the prelude and its delimiter */
  int bad;         /* the prelude was not one: 502 at the end, the rest dropped */
  dynbuf head;     /* the prelude so far */
  size_t scanned;  /* head offsets before this hold no delimiter */
} url_stream;

static void url_stream_free(url_stream *u) {
  dynbuf_free(&u->head);
  free(u);
}

/* Sends the head: meta (a prelude, or NULL) gives status and headers. */
static void url_stream_open(url_stream *u, const json_t *meta, const char *fallback_type) {
  json_t *code = json_object_get(meta, "statusCode");
  int sc = json_is_integer(code) ? (int)json_integer_value(code) : 200;
  if (sc < 100 || sc > 599)
    sc = 500;
  const char *type = content_type_of(meta);
  http_response *resp = NULL;
  u->out = aws_stream_response_new(&resp, sc, type ? type : fallback_type);
  if (!u->out) {
    u->bad = 1;
    return;
  }
  add_headers(resp, meta);
  http_request_respond(u->req, resp);
}

int lambda_url_prelude(json_t **out, size_t *body_at, const char *data, size_t len, size_t from) {
  static const char delimiter[8] = {0};
  for (size_t i = from; i + sizeof(delimiter) <= len && i < LAMBDA_URL_MAX_PRELUDE; i++) {
    if (memcmp(data + i, delimiter, sizeof(delimiter)) != 0)
      continue;
    json_t *meta = json_loadb(data, i, 0, NULL);
    if (!json_is_object(meta)) {
      json_decref(meta);
      return -1;
    }
    *out = meta;
    *body_at = i + sizeof(delimiter);
    return 1;
  }
  return len >= LAMBDA_URL_MAX_PRELUDE + sizeof(delimiter) ? -1 : 0;
}

/* The head waits for the prelude and the 8 NUL bytes after it: at most
 * LAMBDA_URL_MAX_PRELUDE + 8 bytes are kept; what a piece carries past
 * them is body (or, with no delimiter by then, not a prelude at all). */
static void url_stream_prelude(url_stream *u, const char *data, size_t len) {
  size_t cap = LAMBDA_URL_MAX_PRELUDE + 8;
  size_t take = u->head.len < cap ? cap - u->head.len : 0;
  if (take > len)
    take = len;
  dynbuf_append(&u->head, data, take);
  json_t *meta = NULL;
  size_t at = 0;
  /* Each piece resumes the search where the last one stopped: a runtime
   * writing a byte at a time costs no rescans. */
  int rc = dynbuf_failed(&u->head)
               ? -1
               : lambda_url_prelude(&meta, &at, u->head.data, u->head.len, u->scanned);
  if (rc == 0 && u->head.len >= 8)
    u->scanned = u->head.len - 7;
  if (rc < 0) {
    u->bad = 1;
    log_info("lambda", "function URL stream: no JSON prelude and delimiter in the first %u bytes",
             LAMBDA_URL_MAX_PRELUDE);
    return;
  }
  if (rc == 0)
    return;
  url_stream_open(u, meta, "application/octet-stream");
  json_decref(meta);
  if (u->out && u->head.len > at)
    aws_stream_write(u->out, u->head.data + at, u->head.len - at);
  if (u->out && len > take)
    aws_stream_write(u->out, data + take, len - take);
  dynbuf_free(&u->head);
}

static void url_stream_chunk(const char *content_type, const char *data, size_t len,
                             void *payload) {
  url_stream *u = payload;
  if (!data) { /* the runtime starts streaming */
    u->started = 1;
    u->prelude = content_type &&
                 strncasecmp(content_type, URL_PRELUDE_TYPE, sizeof(URL_PRELUDE_TYPE) - 1) == 0;
    if (!u->prelude)
      url_stream_open(u, NULL, content_type);
    return;
  }
  if (u->bad)
    return;
  if (u->out) {
    /* A client that went away does not stop the function: the rest is dropped. */
    aws_stream_write(u->out, data, len);
    return;
  }
  url_stream_prelude(u, data, len);
}

static void url_stream_done(const lambda_result *result, void *arg) {
  url_stream *u = arg;
  if (u->out) {
    if (result->error_code || result->function_error)
      aws_stream_abort(u->out);
    else
      aws_stream_close(u->out);
  } else if (!u->started || result->error_code || result->function_error) {
    url_done(result, u->req); /* buffered, or failed before the head: as BUFFERED */
  } else if (u->bad) {
    respond_message(u->req, 502, "Internal Server Error");
  } else {
    /* The stream ended inside its prelude: the prelude alone is the head. */
    json_t *meta = u->head.len ? json_loadb(u->head.data, u->head.len, 0, NULL) : json_object();
    if (json_is_object(meta)) {
      url_stream_open(u, meta, "application/octet-stream");
      aws_stream_close(u->out);
    }
    if (!u->out)
      respond_message(u->req, 502, "Internal Server Error");
    json_decref(meta);
  }
  url_stream_free(u);
}

/* ---- routing ---- */

void lambda_url_handle(lambda_state *st, http_request *req) {
  const char *host = http_request_header(req, "Host");
  const char *dot = host ? strchr(host, '.') : NULL;
  char url_id[64], region[64], hostname[300];
  if (!dot || (size_t)(dot - host) >= sizeof(url_id) || strncmp(dot, ".lambda-url.", 12) != 0) {
    respond_message(req, 404, "Not Found");
    return;
  }
  snprintf(url_id, sizeof(url_id), "%.*s", (int)(dot - host), host);
  const char *r = dot + 12;
  size_t rn = strcspn(r, ".:");
  if (rn == 0 || rn >= sizeof(region)) {
    respond_message(req, 404, "Not Found");
    return;
  }
  snprintf(region, sizeof(region), "%.*s", (int)rn, r);
  snprintf(hostname, sizeof(hostname), "%.*s", (int)strcspn(host, ":"), host);
  /* The function and qualifier whose URL this is. */
  char arn[600] = "", auth[16] = "", account[32] = "";
  int streamed = 0;
  pthread_mutex_lock(&st->lock);
  const char *key;
  json_t *f;
  json_object_foreach(st->functions, key, f) {
    if (strcmp(json_string_value(json_object_get(f, "Region")), region) != 0)
      continue;
    const char *q;
    json_t *u;
    json_object_foreach(json_object_get(f, "Urls"), q, u) {
      const char *id = json_string_value(json_object_get(u, "UrlId"));
      if (id && strcmp(id, url_id) == 0) {
        lambda_function_arn(arn, sizeof(arn), region,
                            json_string_value(json_object_get(f, "Account")),
                            json_string_value(json_object_get(f, "Name")), q);
        snprintf(auth, sizeof(auth), "%s", json_string_value(json_object_get(u, "AuthType")));
        const char *mode = json_string_value(json_object_get(u, "InvokeMode"));
        streamed = mode && strcmp(mode, "RESPONSE_STREAM") == 0;
        snprintf(account, sizeof(account), "%s", json_string_value(json_object_get(f, "Account")));
        break;
      }
    }
    if (*arn)
      break;
  }
  pthread_mutex_unlock(&st->lock);
  if (!*arn) {
    respond_message(req, 404, "Not Found");
    return;
  }
  if (strcmp(auth, "AWS_IAM") == 0) {
    const char *authz = http_request_header(req, "Authorization");
    int signed_req = (authz && strncmp(authz, "AWS4-HMAC-SHA256 ", 17) == 0) ||
                     strstr(http_request_query(req), "X-Amz-Signature=") != NULL;
    if (!signed_req) {
      respond_message(req, 403, "Forbidden");
      return;
    }
  }
  json_t *event = event_of(req, url_id, strcmp(auth, "AWS_IAM") == 0 ? account : NULL, hostname);
  char *text = event ? json_dumps(event, JSON_COMPACT) : NULL;
  json_decref(event);
  if (!text) {
    respond_message(req, 500, "Internal Server Error");
    return;
  }
  if (strlen(text) > LAMBDA_MAX_SYNC_PAYLOAD) {
    free(text);
    respond_message(req, 413, "Request Entity Too Large");
    return;
  }
  if (streamed) {
    url_stream *u = calloc(1, sizeof(*u));
    if (!u) {
      free(text);
      respond_message(req, 500, "Internal Server Error");
      return;
    }
    u->req = req;
    dynbuf_init(&u->head, LAMBDA_URL_MAX_PRELUDE + 16);
    if (lambda_invoke_internal_stream(st, arn, text, strlen(text), url_stream_chunk,
                                      url_stream_done, u) < 0) {
      url_stream_free(u);
      respond_message(req, 502, "Internal Server Error");
    }
  } else if (lambda_invoke_internal(st, arn, text, strlen(text), url_done, req) < 0) {
    respond_message(req, 502, "Internal Server Error");
  }
  free(text);
}
