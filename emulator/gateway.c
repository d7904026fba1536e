/*
 * gateway.c — the 4566 gateway: finds the service a request is for, the way
 * LocalStack does (SigV4 credential scope, X-Amz-Target, Action=, SQS queue
 * URL paths, Lambda's /2015-03-31/functions, virtual-host S3, S3 as the
 * fallback), runs it through the protocol layer to the service's handler, and
 * implements the aws_call interface handlers answer through (service.h).
 *
 * Signatures are not verified (any credentials work, as in LocalStack) except
 * S3's when asked (sigv4.c); the access key picks the account: keys STS and
 * IAM issued act in their identity's account, a 12-digit key is the account
 * id, any other key means 000000000000.
 */
#include "common/error.h"
#include "common/log.h"
#include "emulator/emulator_int.h"
#include "emulator/protocol/model.h"
#include "emulator/protocol/protocol.h"
#include "emulator/sigv4.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/json_arena.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct aws_call {
  emulator *emu;
  http_request *req;
  service_slot *slot;
  const aws_model *model;
  aws_protocol protocol;
  const char *operation;
  char account[13];
  char access_key[129];
  char region[32];
  char request_id[37];
  char endpoint[300];
  json_t *headers;           /* extra response headers (aws_call_header), or NULL */
  struct aws_stream *stream; /* aws_call_stream_open's, or NULL */
};

static void stream_abort(struct aws_stream *s);
static int call_identify(aws_call *call, const char *access_key);

/* ---- what routing learns from a request ---- */

typedef struct route_info {
  char access_key[129];
  char region[32];
  char scope_service[64];
} route_info;

/* Reads "Credential=AK/date/region/service/aws4_request" from an
 * Authorization header or the X-Amz-Credential value of a presigned URL. */
static void parse_credential(route_info *ri, const char *cred) {
  const char *parts[5];
  size_t lens[5];
  size_t n = 0;
  const char *p = cred;
  while (n < 5) {
    size_t len = strcspn(p, "/,; ");
    parts[n] = p;
    lens[n] = len;
    n++;
    if (p[len] != '/')
      break;
    p += len + 1;
  }
  if (n < 4)
    return;
  if (lens[0] < sizeof(ri->access_key))
    snprintf(ri->access_key, sizeof(ri->access_key), "%.*s", (int)lens[0], parts[0]);
  if (lens[2] < sizeof(ri->region))
    snprintf(ri->region, sizeof(ri->region), "%.*s", (int)lens[2], parts[2]);
  if (lens[3] < sizeof(ri->scope_service))
    snprintf(ri->scope_service, sizeof(ri->scope_service), "%.*s", (int)lens[3], parts[3]);
}

static void route_info_read(route_info *ri, http_request *req) {
  memset(ri, 0, sizeof(*ri));
  const char *auth = http_request_header(req, "Authorization");
  const char *cred = auth ? strstr(auth, "Credential=") : NULL;
  if (cred) {
    parse_credential(ri, cred + strlen("Credential="));
  } else if (auth && strncmp(auth, "AWS ", 4) == 0) {
    /* SigV2 (old S3 clients): "AWS AK:signature". */
    size_t len = strcspn(auth + 4, ":");
    if (len < sizeof(ri->access_key))
      snprintf(ri->access_key, sizeof(ri->access_key), "%.*s", (int)len, auth + 4);
  } else {
    const char *q = http_request_query(req);
    const char *x = q ? strstr(q, "X-Amz-Credential=") : NULL;
    if (x) {
      x += strlen("X-Amz-Credential=");
      size_t len = strcspn(x, "&");
      char *decoded = http_percent_decode(x, len, 0, 1, NULL);
      if (decoded)
        parse_credential(ri, decoded);
      free(decoded);
    }
  }
  /* Region names are [a-z0-9-]; anything else is ignored. */
  for (const char *c = ri->region; *c; c++)
    if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-') {
      ri->region[0] = '\0';
      break;
    }
  for (const char *c = ri->scope_service; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '-') {
      ri->scope_service[0] = '\0';
      break;
    }
}

/* ---- the protocol layer's view of an http_request ---- */

static const char *in_header(void *ctx, const char *name) { return http_request_header(ctx, name); }

static void in_headers_foreach(void *ctx, aws_header_fn fn, void *payload) {
  http_request_headers_foreach(ctx, fn, payload);
}

static void http_in_init(aws_http_in *in, http_request *req) {
  memset(in, 0, sizeof(*in));
  in->method = http_request_method(req);
  in->path = http_request_path(req);
  in->query = http_request_query(req);
  in->header = in_header;
  in->headers_foreach = in_headers_foreach;
  in->ctx = req;
  in->body = http_request_body(req, &in->body_len);
  if (!in->body)
    in->body_len = (size_t)http_request_body_size(req);
}

/* ---- answering ---- */

static const char *out_content_type(const aws_http_out *out) {
  const char *type = out->content_type;
  const char *name;
  json_t *value;
  json_object_foreach(out->headers, name, value) {
    if (strcasecmp(name, "Content-Type") == 0)
      type = json_string_value(value);
  }
  return type;
}

/* Adds out's headers to resp (which may be NULL), answers req, frees out.
 * cors: a request with an Origin gets the permissive CORS headers
 * LocalStack's services answer; S3 answers CORS from its buckets' rules
 * itself (s3/cors.c), so its answers pass 0. */
static void respond_with(http_request *req, aws_http_out *out, http_response *resp, int cors) {
  const char *name;
  json_t *value;
  if (resp) {
    json_object_foreach(out->headers, name, value) {
      /* The server computes Content-Length from the body it sends. */
      if (strcasecmp(name, "Content-Type") != 0 && strcasecmp(name, "Content-Length") != 0 &&
          json_is_string(value))
        http_response_header_add(resp, name, json_string_value(value));
    }
    const char *origin = http_request_header(req, "Origin");
    if (cors && origin && !strpbrk(origin, "\r\n")) {
      http_response_header_add(resp, "Access-Control-Allow-Origin", origin);
      http_response_header_add(resp, "Access-Control-Expose-Headers",
                               "ETag, x-amz-version-id, x-amz-request-id, x-amz-delete-marker");
    }
  }
  aws_http_out_free(out);
  http_request_respond(req, resp);
}

static void respond_out(http_request *req, aws_http_out *out, int cors) {
  http_response *resp = http_response_new_take(out->status ? out->status : 200,
                                               out_content_type(out), out->body, out->body_len);
  out->body = NULL;
  respond_with(req, out, resp, cors);
}

/* A CORS preflight (OPTIONS) that names no S3 bucket — browsers calling
 * SQS, DynamoDB, … at "/" — is allowed for any origin, as LocalStack allows
 * it; S3 buckets answer theirs from their CORS rules (s3/cors.c). */
static void respond_preflight(http_request *req) {
  http_response *resp = http_response_new(200, NULL, "", 0);
  const char *origin = http_request_header(req, "Origin");
  const char *method = http_request_header(req, "Access-Control-Request-Method");
  const char *headers = http_request_header(req, "Access-Control-Request-Headers");
  if (resp) {
    if (origin && !strpbrk(origin, "\r\n"))
      http_response_header_add(resp, "Access-Control-Allow-Origin", origin);
    http_response_header_add(resp, "Access-Control-Allow-Methods",
                             method && !strpbrk(method, "\r\n") ? method
                                                                : "GET, PUT, POST, DELETE, HEAD");
    if (headers && !strpbrk(headers, "\r\n"))
      http_response_header_add(resp, "Access-Control-Allow-Headers", headers);
    http_response_header_add(resp, "Access-Control-Max-Age", "3000");
    http_response_header_add(resp, "Vary",
                             "Origin, Access-Control-Request-Headers, "
                             "Access-Control-Request-Method");
  }
  http_request_respond(req, resp);
}

static void respond_error(http_request *req, const aws_model *m, aws_protocol p,
                          const aws_error *err, const char *request_id, int cors) {
  aws_http_out out;
  aws_protocol_serialize_error(&out, m, p, err, request_id);
  /* Without a model the JSON version is the request's (Kinesis and Logs
   * speak 1.1). */
  const char *type = http_request_header(req, "Content-Type");
  if (!m && p == AWS_PROTOCOL_JSON && type &&
      strncasecmp(type, "application/x-amz-json-1.1", 26) == 0)
    out.content_type = "application/x-amz-json-1.1";
  respond_out(req, &out, cors);
}

/* ---- routing ---- */

static int is_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return 0;
  return n > 0;
}

/* "/000000000000/name" or "/queue/<region>/<account>/<name>" (LocalStack's
 * path-style queue URLs). */
static int is_queue_path(const char *path) {
  if (path[0] != '/')
    return 0;
  const char *p = path + 1;
  size_t n = strcspn(p, "/");
  if (n == 12 && is_digits(p, 12) && p[12] == '/' && p[13] && !strchr(p + 13, '/'))
    return 1;
  return strncmp(path, "/queue/", 7) == 0;
}

static const char *service_for_target(emulator *emu, const char *target) {
  static const struct {
    const char *prefix;
    const char *service;
  } known[] = {{"AmazonSQS", "sqs"},
               {"DynamoDB_20120810", "dynamodb"},
               {"DynamoDBStreams_20120810", "dynamodbstreams"}};
  size_t n = strcspn(target, ".");
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if (strlen(known[i].prefix) == n && strncmp(target, known[i].prefix, n) == 0)
      return known[i].service;
  for (size_t i = 0; i < emu->slot_count; i++) {
    const aws_model *m = NULL;
    if (aws_model_get(&m, emu->slots[i].svc->model_name) < 0)
      continue;
    const char *prefix = aws_model_meta(m, "targetPrefix");
    if (prefix && strlen(prefix) == n && strncmp(prefix, target, n) == 0)
      return emu->slots[i].svc->name;
  }
  return NULL;
}

/* Which served query-protocol service has an Action of this name (the query
 * services' operation names do not overlap). */
static const char *service_for_action(emulator *emu, const char *action) {
  for (size_t i = 0; i < emu->slot_count; i++) {
    const aws_model *m = NULL;
    if (aws_model_get(&m, emu->slots[i].svc->model_name) < 0)
      continue;
    if (strcmp(aws_model_protocol(m), "query") == 0 && aws_model_operation(m, action))
      return emu->slots[i].svc->name;
  }
  return NULL;
}

static int host_is_s3(const char *host) {
  if (!host)
    return 0;
  return strncmp(host, "s3.", 3) == 0 || strstr(host, ".s3.") != NULL ||
         strstr(host, ".s3-") != NULL;
}

static int is_form_post(const aws_http_in *in) {
  const char *type = in->header(in->ctx, "Content-Type");
  return strcasecmp(in->method, "POST") == 0 && type &&
         strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0;
}

/* Finds the service; NULL with err set when the request is a query-protocol
 * form that names no service we know (S3 never receives such forms). */
static const char *find_service(emulator *emu, http_request *req, const aws_http_in *in,
                                const route_info *ri, aws_error *err) {
  if (ri->scope_service[0]) {
    /* Signing names that differ from our service names: DynamoDB Streams
     * signs as "dynamodb" and is told apart by its target. */
    const char *target = http_request_header(req, "X-Amz-Target");
    if (strcmp(ri->scope_service, "dynamodb") == 0 && target &&
        strncmp(target, "DynamoDBStreams_20120810.", 25) == 0)
      return "dynamodbstreams";
    if (strcmp(ri->scope_service, "execute-api") != 0)
      return ri->scope_service;
  }
  const char *target = http_request_header(req, "X-Amz-Target");
  if (target) {
    const char *s = service_for_target(emu, target);
    if (s)
      return s;
    /* The JSON protocol of a service we do not serve (S3 never sees
     * X-Amz-Target): say so in JSON rather than let S3 answer. */
    const char *type = in->header(in->ctx, "Content-Type");
    if (type && strncasecmp(type, "application/x-amz-json-1.", 25) == 0) {
      aws_error_set(err, 501, "NotImplemented",
                    "airgap's emulator serves no service with the X-Amz-Target %.64s (it "
                    "serves: %s).",
                    target, emulator_service_names());
      return NULL;
    }
  }
  const char *path = in->path;
  if (is_queue_path(path))
    return "sqs";
  /* Lambda's REST paths, each under the API version that introduced it. */
  static const char *const LAMBDA_PATHS[] = {
      "/2015-03-31/functions", "/2015-03-31/event-source-mappings",
      "/2018-06-01/runtime",   "/2018-10-31/layers",
      "/2017-03-31/tags",      "/2021-10-31/functions",
      "/2017-10-31/functions", "/2019-09-30/functions",
      "/2019-09-25/functions", "/2016-08-19/account-settings",
      "/2020-06-30/functions", "/2020-04-22/code-signing-configs",
      "/2021-11-15/functions", "/2024-08-31/functions"};
  for (size_t i = 0; i < sizeof(LAMBDA_PATHS) / sizeof(LAMBDA_PATHS[0]); i++) {
    size_t n = strlen(LAMBDA_PATHS[i]);
    if (strncmp(path, LAMBDA_PATHS[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
      return "lambda";
  }
  /* Query-protocol services are addressed at "/" (SQS queue URLs aside):
   * any other unclaimed path is S3's, whatever its body looks like. */
  if (strcmp(path, "/") != 0)
    return "s3";
  json_t *params = NULL;
  if (is_form_post(in) && !in->body && in->body_len > 0) {
    aws_error_set(err, 413, "RequestEntityTooLarge", "The request body is too large.");
    return NULL;
  }
  if (aws_query_params(&params, err, in) == 0) {
    const char *action = json_string_value(json_object_get(params, "Action"));
    const char *s = action ? service_for_action(emu, action) : NULL;
    if (!s && is_form_post(in)) {
      if (action)
        aws_error_set(err, 400, "InvalidAction",
                      "The action %.128s is not valid for any service this emulator serves.",
                      action);
      else
        aws_error_set(err, 400, "MissingAction", "The request must contain an Action.");
    }
    json_decref(params);
    if (s)
      return s;
  }
  if (is_form_post(in))
    return NULL;
  aws_error_clear(err);
  if (host_is_s3(http_request_header(req, "Host")))
    return "s3";
  return "s3";
}

/* Builds "http://host[:port]" from the Host header when it looks like one. */
static void endpoint_of(char *out, size_t size, emulator *emu, http_request *req) {
  const char *host = http_request_header(req, "Host");
  int ok = host && *host && strlen(host) < 256;
  for (const char *c = host; ok && *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr(".-:[]_", *c))
      ok = 0;
  if (ok)
    snprintf(out, size, "http://%s", host);
  else if (emu->hostname)
    snprintf(out, size, "http://%s", emu->hostname);
  else
    snprintf(out, size, "http://localhost:%u", (unsigned)emu->port);
}

/* Older SDKs post SQS actions to the queue URL without a QueueUrl parameter
 * (LocalStack accepts that): returns the query string with QueueUrl added
 * (owned), or NULL when the request names its queue itself. */
static char *queue_url_query(const aws_http_in *in, const char *endpoint) {
  json_t *params = NULL;
  aws_error err = {0};
  if (aws_query_params(&params, &err, in) < 0) {
    aws_error_clear(&err);
    return NULL;
  }
  int named = json_object_get(params, "QueueUrl") != NULL;
  json_decref(params);
  if (named)
    return NULL;
  dynbuf b;
  dynbuf_init(&b, 1 << 16);
  dynbuf_puts(&b, in->query ? in->query : "");
  dynbuf_puts(&b, in->query && *in->query ? "&QueueUrl=" : "QueueUrl=");
  char url[600];
  snprintf(url, sizeof(url), "%s%s", endpoint, in->path);
  for (const char *c = url; *c; c++) {
    if (isalnum((unsigned char)*c) || strchr("-._~", *c))
      dynbuf_append(&b, c, 1);
    else
      dynbuf_printf(&b, "%%%02X", (unsigned char)*c);
  }
  return dynbuf_take(&b, NULL);
}

/* Whether the service parses op's requests into the thread's arena. */
static int uses_arena(const aws_service *svc, const char *op) {
  for (const char *const *name = svc->arena_operations; name && *name; name++)
    if (strcmp(*name, op) == 0)
      return 1;
  return 0;
}

static const aws_operation *find_handler(const aws_service *svc, const char *op) {
  for (size_t i = 0; i < svc->operation_count; i++)
    if (svc->operations[i].name && strcmp(svc->operations[i].name, op) == 0)
      return &svc->operations[i];
  return NULL;
}

/* POST /<bucket> with a multipart/form-data body is S3's POST Object: the
 * input its handler gets, {"Bucket": name} (owned); NULL for anything else. */
static json_t *s3_post_form_input(const aws_http_in *in) {
  const char *type = in->header(in->ctx, "Content-Type");
  if (strcmp(in->method, "POST") != 0 || !type || strncasecmp(type, "multipart/form-data", 19) != 0)
    return NULL;
  const char *p = in->path;
  if (*p++ != '/')
    return NULL;
  size_t len = strcspn(p, "/");
  if (len == 0 || (p[len] == '/' && p[len + 1]) || (in->query && *in->query))
    return NULL;
  return json_pack("{s:s%}", "Bucket", p, len);
}

/* S3's request ids are 16 uppercase hex digits ("4442587FB7D0A2F9"), where
 * the other services' are UUIDs: a UUID's random digits, the version digit
 * (always 4) left out. */
static void s3_request_id(char out[37]) {
  char uuid[37];
  codec_uuid4(uuid);
  size_t n = 0;
  for (size_t i = 0; uuid[i] && n < 16; i++)
    if (uuid[i] != '-' && i != 14)
      out[n++] = (char)toupper((unsigned char)uuid[i]);
  out[n] = '\0';
}

/* A client that sends `Expect: 100-continue` waits for our go before it
 * sends the body: with S3 signature verification on, a request whose
 * signature fails is refused now, without a `100 Continue` and without
 * reading the body (the signature covers the headers and the declared
 * payload hash, not the bytes). Every other check runs in the handler. */
void emulator_gateway_early(http_request *req, void *payload) {
  emulator *emu = payload;
  const char *expect = http_request_header(req, "Expect");
  if (!emu->s3_verify_signatures || !expect || strcasecmp(expect, "100-continue") != 0 ||
      strcmp(http_request_method(req), "OPTIONS") == 0)
    return;
  aws_http_in in;
  http_in_init(&in, req);
  route_info ri;
  route_info_read(&ri, req);
  aws_error err = {0};
  const char *service = find_service(emu, req, &in, &ri, &err);
  const aws_model *m = NULL;
  if (service && strcmp(service, "s3") == 0 && aws_model_get(&m, "s3") == 0) {
    char *vhost_path = aws_s3_vhost_path(http_request_header(req, "Host"), in.path);
    if (emulator_sigv4_verify(&err, emu, &in, vhost_path, (double)clock_wall_ms() / 1000.0) < 0) {
      char request_id[37];
      s3_request_id(request_id);
      respond_error(req, m, AWS_PROTOCOL_REST_XML, &err, request_id, 0);
    }
    free(vhost_path);
  }
  aws_error_clear(&err);
}

/* {"Bucket": the path's first segment} (owned), for S3's OPTIONS. */
static json_t *s3_path_bucket(const aws_http_in *in) {
  const char *p = in->path[0] == '/' ? in->path + 1 : in->path;
  return json_pack("{s:s%}", "Bucket", p, strcspn(p, "/?"));
}

void emulator_gateway_handle(http_request *req, void *payload) {
  emulator *emu = payload;
  char request_id[37];
  atomic_fetch_add(&emu->requests, 1);
  if (emulator_internal_handle(emu, req))
    return;
  /* Function URLs (<url-id>.lambda-url.<region>.…): Lambda answers them. */
  const char *host = http_request_header(req, "Host");
  service_slot *lambda = host && strstr(host, ".lambda-url.") ? emulator_slot(emu, "lambda") : NULL;
  if (lambda && lambda->enabled && lambda->state && lambda->svc->internal_endpoint &&
      lambda->svc->internal_endpoint(lambda->state, req, "function-url"))
    return;
  aws_http_in in;
  http_in_init(&in, req);
  route_info ri;
  route_info_read(&ri, req);
  aws_error err = {0};
  const char *service = find_service(emu, req, &in, &ri, &err);
  /* One request id, in the shape of the service that answers. */
  if (service && strcmp(service, "s3") == 0)
    s3_request_id(request_id);
  else
    codec_uuid4(request_id);
  if (!service) {
    respond_error(req, NULL, aws_protocol_guess(&in, NULL), &err, request_id, 1);
    aws_error_clear(&err);
    return;
  }
  service_slot *slot = emulator_slot(emu, service);
  const aws_model *m = NULL;
  aws_protocol p = AWS_PROTOCOL_REST_XML;
  const char *model_name = slot ? slot->svc->model_name : service;
  /* A service this build has no model for (SNS, Kinesis, …) still gets its
   * errors in its own protocol's envelope, guessed from the request, so that
   * clients report our code and message instead of "Unknown" or raw XML. */
  if (aws_model_get(&m, model_name) == 0) {
    p = aws_protocol_detect(m, &in);
  } else {
    m = NULL;
    p = aws_protocol_guess(&in, ri.scope_service[0] ? ri.scope_service : service);
  }
  json_t *input = NULL;
  const char *operation = NULL;
  char *queue_query = NULL, *vhost_path = NULL;
  int arena = 0; /* reset the thread's jansson arena at the end */
  if (!slot) {
    aws_error_set(&err, 501, "NotImplemented",
                  "airgap's emulator does not implement the %s service yet (it serves: %s).",
                  service, emulator_service_names());
    goto fail;
  }
  if (!slot->enabled) {
    aws_error_set(&err, 501, "InternalFailure",
                  "Service '%s' is not enabled. Please check your 'SERVICES' configuration "
                  "variable.",
                  service);
    goto fail;
  }
  if (atomic_load(&emu->stopping)) {
    aws_error_set(&err, 503, "ServiceUnavailable", "The emulator is shutting down.");
    goto fail;
  }
  if (!m) {
    aws_error_set(&err, 500, "InternalFailure", "The %s model is unavailable: %s", service,
                  airgap_error_last());
    goto fail;
  }
  if (!in.body && in.body_len > 0 && p != AWS_PROTOCOL_REST_XML && p != AWS_PROTOCOL_REST_JSON) {
    aws_error_set(&err, 413, "RequestEntityTooLarge", "The request body is too large.");
    goto fail;
  }
  if (strcmp(service, "s3") == 0) {
    /* Virtual-host style: the bucket is in the Host; the model's URIs want it
     * as the first path segment. */
    vhost_path = aws_s3_vhost_path(http_request_header(req, "Host"), in.path);
    /* Signatures cover the path as sent, so they are checked before the
     * rewrite (sigv4.c; opt-in). */
    if (emu->s3_verify_signatures && strcmp(in.method, "OPTIONS") != 0 /* never signed */ &&
        emulator_sigv4_verify(&err, emu, &in, vhost_path, (double)clock_wall_ms() / 1000.0) < 0)
      goto fail;
    if (vhost_path)
      in.path = vhost_path;
  }
  /* S3's POST Object (browser form uploads) is no operation of the model: the
   * S3 service's PostObject handler reads the form itself (s3/post.c) and
   * answers as PutObject does. */
  const char *handler_name = operation;
  if (strcmp(in.method, "OPTIONS") == 0 &&
      http_request_header(req, "Access-Control-Request-Method") &&
      (strcmp(service, "s3") != 0 || in.path[strspn(in.path, "/")] == '\0')) {
    respond_preflight(req);
    goto done;
  }
  if (strcmp(service, "s3") == 0 && strcmp(in.method, "OPTIONS") == 0) {
    /* A CORS preflight, answered from the bucket's rules (s3/cors.c). */
    input = s3_path_bucket(&in);
    operation = "HeadBucket";
    handler_name = "PreflightCors";
    goto dispatch;
  }
  if (strcmp(service, "s3") == 0 && (input = s3_post_form_input(&in)) != NULL) {
    operation = "PutObject";
    handler_name = "PostObject";
    goto dispatch;
  }
  if (aws_protocol_operation(&operation, &err, m, p, &in) < 0)
    goto fail;
  handler_name = operation;
  if ((p == AWS_PROTOCOL_QUERY || p == AWS_PROTOCOL_QUERY_JSON) && strcmp(service, "sqs") == 0 &&
      is_queue_path(in.path)) {
    char endpoint[300];
    endpoint_of(endpoint, sizeof(endpoint), emu, req);
    queue_query = queue_url_query(&in, endpoint);
    if (queue_query)
      in.query = queue_query;
  }
  /* Requests a handler keeps nothing of are parsed into the thread's arena:
   * no malloc or free per value (a PutRecords is ~5,000 of them). */
  arena = uses_arena(slot->svc, operation);
  if (arena)
    json_arena_enter();
  int parsed = aws_protocol_parse(&input, &err, m, p, operation, &in);
  json_arena_leave();
  if (parsed < 0)
    goto fail;
dispatch:;
  const aws_operation *op = find_handler(slot->svc, handler_name);
  if (!op || !op->handler) {
    aws_error_set(&err, 501, "NotImplemented", "airgap's emulator does not implement %s:%s yet.",
                  service, operation);
    goto fail;
  }
  aws_call *call = calloc(1, sizeof(*call));
  if (!call) {
    aws_error_set(&err, 500, "InternalFailure", "out of memory");
    goto fail;
  }
  atomic_store(&slot->used, 1);
  call->emu = emu;
  call->req = req;
  call->slot = slot;
  call->model = m;
  call->protocol = p;
  call->operation = operation;
  memcpy(call->request_id, request_id, sizeof(request_id));
  snprintf(call->region, sizeof(call->region), "%s", ri.region[0] ? ri.region : "us-east-1");
  if (call_identify(call, ri.access_key))
    emulator_credentials_used(emu, ri.access_key, slot->svc->name, call->region);
  endpoint_of(call->endpoint, sizeof(call->endpoint), emu, req);
  log_debug("emulator", "%s %s (%s)", service, operation, aws_protocol_name(p));
  /* After the handler returns the call may already be answered and freed. */
  op->handler(call, input);
done:
  json_decref(input);
  free(queue_query);
  free(vhost_path);
  if (arena)
    json_arena_reset();
  return;
fail:
  json_decref(input);
  free(queue_query);
  free(vhost_path);
  log_debug("emulator", "%s %s: %s %s", service, operation ? operation : "?", err.code,
            err.message ? err.message : "");
  respond_error(req, m, p, &err, request_id, strcmp(service, "s3") != 0);
  aws_error_clear(&err);
  if (arena)
    json_arena_reset();
}

/* ---- aws_call ---- */

/* Sets the call's access key and the account it maps to: the one STS or IAM
 * issued it for, a 12-digit key's own, else 000000000000. 1 when the emulator
 * issued the key. */
static int call_identify(aws_call *call, const char *access_key) {
  size_t aklen = strlen(access_key);
  if (aklen >= sizeof(call->access_key))
    return 0;
  memcpy(call->access_key, access_key, aklen + 1);
  json_t *issued = emulator_credentials_get(call->emu, access_key);
  const char *issued_account = json_string_value(json_object_get(issued, "Account"));
  if (issued_account && strlen(issued_account) == 12)
    memcpy(call->account, issued_account, 12);
  else
    memcpy(call->account, aklen == 12 && is_digits(access_key, 12) ? access_key : "000000000000",
           12);
  call->account[12] = '\0';
  int known = issued != NULL;
  json_decref(issued);
  return known;
}

void aws_call_set_access_key(aws_call *call, const char *access_key) {
  if (access_key)
    call_identify(call, access_key);
}

const char *aws_call_service(const aws_call *call) { return call->slot->svc->name; }
const char *aws_call_operation(const aws_call *call) { return call->operation; }
const char *aws_call_account(const aws_call *call) { return call->account; }
const char *aws_call_region(const aws_call *call) { return call->region; }
const char *aws_call_request_id(const aws_call *call) { return call->request_id; }
const char *aws_call_partition(const aws_call *call) {
  static const struct {
    const char *prefix, *partition;
  } partitions[] = {
      {"cn-", "aws-cn"},         {"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"},
      {"us-isof-", "aws-iso-f"}, {"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"},
  };
  for (size_t i = 0; i < sizeof(partitions) / sizeof(partitions[0]); i++)
    if (!strncmp(call->region, partitions[i].prefix, strlen(partitions[i].prefix)))
      return partitions[i].partition;
  return "aws";
}
const char *aws_call_endpoint(const aws_call *call) { return call->endpoint; }
const char *aws_call_protocol(const aws_call *call) { return aws_protocol_name(call->protocol); }
http_request *aws_call_http(aws_call *call) { return call->req; }
void *aws_call_state(const aws_call *call) { return call->slot->state; }
emulator *aws_call_emulator(const aws_call *call) { return call->emu; }
const char *aws_call_access_key(const aws_call *call) { return call->access_key; }

void aws_call_header(aws_call *call, const char *name, const char *value) {
  if (!name || !value || strpbrk(name, ":\r\n") || strpbrk(value, "\r\n"))
    return;
  if (!call->headers)
    call->headers = json_object();
  json_object_set_new(call->headers, name, json_string(value));
}

static void call_free(aws_call *call) {
  json_decref(call->headers);
  free(call);
}

/* Adds the call's extra headers to a serialized answer. */
static void add_call_headers(aws_http_out *out, const aws_call *call) {
  if (!call->headers)
    return;
  if (!out->headers)
    out->headers = json_object();
  json_object_update(out->headers, call->headers);
}

/* The gateway's generic CORS headers, for every service but S3. */
static int call_cors(const aws_call *call) { return strcmp(call->slot->svc->name, "s3") != 0; }

static void call_respond_error(aws_call *call, const aws_error *err) {
  aws_http_out out;
  aws_protocol_serialize_error(&out, call->model, call->protocol, err, call->request_id);
  add_call_headers(&out, call);
  respond_out(call->req, &out, call_cors(call));
}

/* Ends a call whose answer is an open stream: the body ends, cleanly or
 * cut. */
static void call_end_stream(aws_call *call, int cut) {
  if (cut)
    stream_abort(call->stream);
  aws_stream_close(call->stream);
  call_free(call);
}

void aws_call_reply(aws_call *call, json_t *output) {
  aws_http_out out;
  if (call->stream) {
    json_decref(output);
    call_end_stream(call, 0);
    return;
  }
  if (aws_protocol_serialize(&out, call->model, call->protocol, call->operation, output,
                             call->request_id) == 0) {
    add_call_headers(&out, call);
    respond_out(call->req, &out, call_cors(call));
  } else {
    aws_error err = {0};
    aws_error_set(&err, 500, "InternalFailure", "Cannot serialize the %s response: %s",
                  call->operation, airgap_error_last());
    call_respond_error(call, &err);
    aws_error_clear(&err);
  }
  json_decref(output);
  call_free(call);
}

static void reply_response(aws_call *call, json_t *output, int status,
                           http_response *(*make)(const char *type, int status, void *arg),
                           void *arg) {
  aws_http_out out;
  if (call->stream) {
    http_response_free(make(NULL, 0, arg)); /* releases what arg holds */
    json_decref(output);
    call_end_stream(call, 0);
    return;
  }
  if (aws_protocol_serialize(&out, call->model, call->protocol, call->operation, output,
                             call->request_id) == 0) {
    http_response *resp = make(out_content_type(&out), status ? status : out.status, arg);
    add_call_headers(&out, call);
    respond_with(call->req, &out, resp, call_cors(call));
  } else {
    http_response_free(make(NULL, 0, arg)); /* releases what arg holds */
    aws_error err = {0};
    aws_error_set(&err, 500, "InternalFailure", "Cannot serialize the %s response: %s",
                  call->operation, airgap_error_last());
    call_respond_error(call, &err);
    aws_error_clear(&err);
  }
  json_decref(output);
  call_free(call);
}

typedef struct fd_body {
  int fd;
  uint64_t offset, len;
} fd_body;

static http_response *make_fd(const char *type, int status, void *arg) {
  fd_body *b = arg;
  if (b->fd < 0 || b->len == 0) {
    if (b->fd >= 0)
      close(b->fd);
    b->fd = -1;
    return status ? http_response_new(status, type, "", 0) : NULL;
  }
  int fd = b->fd;
  b->fd = -1;
  if (!status) {
    close(fd);
    return NULL;
  }
  return http_response_new_fd(status, type, fd, b->offset, b->len);
}

void aws_call_reply_fd(aws_call *call, json_t *output, int status, int fd, uint64_t offset,
                       uint64_t len) {
  fd_body b = {fd, offset, len};
  reply_response(call, output, status, make_fd, &b);
}

typedef struct mem_body {
  const void *data;
  size_t len;
} mem_body;

static http_response *make_mem(const char *type, int status, void *arg) {
  mem_body *b = arg;
  return status ? http_response_new(status, type, b->data ? b->data : "", b->data ? b->len : 0)
                : NULL;
}

void aws_call_reply_data(aws_call *call, json_t *output, int status, const void *data, size_t len) {
  mem_body b = {data, len};
  reply_response(call, output, status, make_mem, &b);
}

static void call_failv(aws_call *call, int status, const char *code, json_t *fields,
                       const char *fmt, va_list ap) {
  if (call->stream) {
    json_decref(fields);
    call_end_stream(call, 1);
    return;
  }
  aws_error err = {0};
  aws_error_setv(&err, status, code, fmt, ap);
  err.fields = fields;
  call_respond_error(call, &err);
  aws_error_clear(&err);
  call_free(call);
}

void aws_call_fail(aws_call *call, int status, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  call_failv(call, status, code, NULL, fmt, ap);
  va_end(ap);
}

void aws_call_fail_fields(aws_call *call, int status, const char *code, json_t *fields,
                          const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  call_failv(call, status, code, fields, fmt, ap);
  va_end(ap);
}

/* ---- streaming answers ----
 *
 * An aws_stream is shared by the producer (a service's thread or timer) and
 * the HTTP response that sends it, and freed when both have let go. Bytes
 * wait in a bounded buffer; the response's reader hands them to MHD and,
 * with nothing to send, parks the connection (HTTP_STREAM_WAIT: suspended,
 * no thread held) until a write wakes it. Parking rather than a reader that
 * answers 0 until data is ready: MHD calls such a reader again at once, so
 * each idle stream would spin a worker thread. */

struct aws_stream {
  pthread_mutex_t lock;
  int refs;            /* the producer's and the response's */
  int closed;          /* the producer is done: END once the buffer drains */
  int gone;            /* the response is finished (sent, client gone, stopping) */
  int aborted;         /* the backlog overflowed: the body ends with an error */
  http_stream *handle; /* to wake the parked response; NULL once it is freed */
  char *buf;
  size_t off, len, cap; /* buf[off, len) waits to be sent */
};

static void stream_unref(aws_stream *s) {
  pthread_mutex_lock(&s->lock);
  int last = --s->refs == 0;
  pthread_mutex_unlock(&s->lock);
  if (!last)
    return;
  free(s->buf);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static ssize_t stream_body_read(void *payload, uint64_t pos, char *buf, size_t max) {
  aws_stream *s = payload;
  ssize_t n;
  (void)pos;
  pthread_mutex_lock(&s->lock);
  if (s->off < s->len) {
    size_t take = s->len - s->off < max ? s->len - s->off : max;
    memcpy(buf, s->buf + s->off, take);
    s->off += take;
    if (s->off == s->len)
      s->off = s->len = 0;
    n = (ssize_t)take;
  } else if (s->aborted) {
    n = HTTP_STREAM_ERROR; /* the client must not take a cut body for a whole one */
  } else {
    n = s->closed ? HTTP_STREAM_END : HTTP_STREAM_WAIT;
  }
  pthread_mutex_unlock(&s->lock);
  return n;
}

static void stream_body_free(void *payload) {
  aws_stream *s = payload;
  pthread_mutex_lock(&s->lock);
  s->gone = 1;
  s->handle = NULL; /* the response is being freed: never wake it again */
  pthread_mutex_unlock(&s->lock);
  stream_unref(s);
}

/* Sends the status and headers of a streamed answer; the body's producer
 * handle, or NULL with nothing sent (output released either way). */
static aws_stream *stream_start(aws_call *call, json_t *output, int status,
                                const char *content_type) {
  aws_http_out out;
  if (aws_protocol_serialize(&out, call->model, call->protocol, call->operation, output,
                             call->request_id) < 0) {
    json_decref(output);
    return NULL;
  }
  json_decref(output);
  aws_stream *s = calloc(1, sizeof(*s));
  if (!s) {
    aws_http_out_free(&out);
    return NULL;
  }
  pthread_mutex_init(&s->lock, NULL);
  s->refs = 2;
  http_response *resp =
      http_response_new_stream(status ? status : (out.status ? out.status : 200),
                               content_type ? content_type : out_content_type(&out),
                               HTTP_SIZE_UNKNOWN, stream_body_read, s, stream_body_free);
  if (!resp) { /* stream_body_free has dropped the response's reference */
    stream_unref(s);
    aws_http_out_free(&out);
    return NULL;
  }
  /* The handle is set before the response is queued, so no write can miss it. */
  s->handle = http_response_stream(resp);
  add_call_headers(&out, call);
  respond_with(call->req, &out, resp, call_cors(call));
  return s;
}

aws_stream *aws_call_reply_stream(aws_call *call, json_t *output, int status,
                                  const char *content_type) {
  aws_stream *s = stream_start(call, output, status, content_type);
  if (!s) {
    aws_call_fail(call, 500, "InternalFailure", "Cannot start the %s response stream: %s",
                  call->operation, airgap_error_last());
    return NULL;
  }
  call_free(call);
  return s;
}

int aws_call_stream_open(aws_call *call, json_t *output, int status, const char *content_type) {
  if (call->stream) {
    json_decref(output);
    return -1;
  }
  call->stream = stream_start(call, output, status, content_type);
  return call->stream ? 0 : -1;
}

aws_stream *aws_call_stream(aws_call *call) { return call->stream; }

aws_stream *aws_stream_response_new(http_response **out, int status, const char *content_type) {
  aws_stream *s = calloc(1, sizeof(*s));
  if (!s)
    return NULL;
  pthread_mutex_init(&s->lock, NULL);
  s->refs = 2;
  http_response *resp =
      http_response_new_stream(status, content_type ? content_type : "application/octet-stream",
                               HTTP_SIZE_UNKNOWN, stream_body_read, s, stream_body_free);
  if (!resp) { /* stream_body_free has dropped the response's reference */
    stream_unref(s);
    return NULL;
  }
  s->handle = http_response_stream(resp);
  *out = resp;
  return s;
}

static void stream_abort(aws_stream *s) {
  pthread_mutex_lock(&s->lock);
  s->aborted = 1;
  if (s->handle)
    http_stream_wake(s->handle);
  pthread_mutex_unlock(&s->lock);
}

int aws_stream_write(aws_stream *s, const void *data, size_t len) {
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  if (s->gone || s->closed || s->aborted) {
    rc = -1;
  } else if (len > AWS_STREAM_MAX_BACKLOG - (s->len - s->off)) {
    /* The client stopped reading: drop the connection (gone follows). */
    rc = -1;
    s->aborted = 1;
    free(s->buf);
    s->buf = NULL;
    s->off = s->len = s->cap = 0;
    log_warn("emulator", "a streamed answer passed its %u-byte backlog; closing it",
             AWS_STREAM_MAX_BACKLOG);
  } else if (len > 0) {
    if (s->off > 0 && s->len + len > s->cap) {
      memmove(s->buf, s->buf + s->off, s->len - s->off);
      s->len -= s->off;
      s->off = 0;
    }
    if (s->len + len > s->cap) {
      size_t cap = s->cap ? s->cap : 4096;
      while (cap < s->len + len)
        cap *= 2;
      char *grown = realloc(s->buf, cap);
      if (!grown) {
        rc = -1;
        goto out;
      }
      s->buf = grown;
      s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
  }
  if ((rc == 0 || s->aborted) && s->handle)
    http_stream_wake(s->handle);
out:
  pthread_mutex_unlock(&s->lock);
  return rc;
}

void aws_stream_abort(aws_stream *s) {
  if (!s)
    return;
  stream_abort(s);
  aws_stream_close(s);
}

int aws_stream_gone(aws_stream *s) {
  pthread_mutex_lock(&s->lock);
  int gone = s->gone;
  pthread_mutex_unlock(&s->lock);
  return gone;
}

void aws_stream_close(aws_stream *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->lock);
  s->closed = 1;
  if (s->handle)
    http_stream_wake(s->handle);
  pthread_mutex_unlock(&s->lock);
  stream_unref(s);
}
