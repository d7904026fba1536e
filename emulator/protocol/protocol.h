/*
 * protocol.h — the model-driven AWS protocol layer (emulator/protocol/), as
 * the gateway, the tests and the fuzz targets use it. Services do not need it:
 * they see neutral values through service.h (the timestamp helpers below are
 * the exception a service may use).
 *
 * Four wire protocols (query, json, rest-json, rest-xml) are parsed into, and
 * serialized from, one neutral form: jansson values shaped by the operation's
 * input/output shape, using the conventions documented in service.h. The layer
 * works on a plain description of the HTTP exchange (aws_http_in/aws_http_out)
 * rather than on the HTTP server, so that it can be unit-tested and fuzzed
 * without sockets. The files behind it share protocol_int.h.
 *
 * Untrusted input: every parser bounds nesting depth, counts and sizes, and on
 * any malformed input returns AIRGAP_EINVALID with the protocol's own error
 * (code, status, message) in an aws_error — it never crashes or half-fills
 * its output (*out is written only on success).
 */
#ifndef AIRGAP_EMULATOR_PROTOCOL_H
#define AIRGAP_EMULATOR_PROTOCOL_H

#include "common/dynbuf.h"
#include "emulator/protocol/model.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* Limits on what a request may hold. Nesting: DynamoDB allows 32 levels of
 * attributes, two JSON levels each. */
#define AWS_MAX_DEPTH 80            /* nesting of shapes, JSON and XML */
#define AWS_MAX_QUERY_PAIRS 5000    /* query/form parameters */
#define AWS_MAX_XML_NODES 100000    /* elements in an XML body */
#define AWS_MAX_LIST_ITEMS 100000   /* items in one list or map */
#define AWS_MAX_OUTPUT (256u << 20) /* a serialized response body */

typedef enum aws_protocol {
  AWS_PROTOCOL_QUERY,
  AWS_PROTOCOL_JSON,
  AWS_PROTOCOL_REST_JSON,
  AWS_PROTOCOL_REST_XML,
  /* The query protocol asked to answer in JSON (Accept: application/json), as
   * AWS's query services (STS, SNS, IAM, SQS's query API) do: the request is
   * parsed as query, the answer is {"<Op>Response": {"<Op>Result": …,
   * "ResponseMetadata": …}} and errors {"Error": {…}, "RequestId": …}. Its
   * name is still "query". */
  AWS_PROTOCOL_QUERY_JSON,
} aws_protocol;

/* "query", "json", "rest-json", "rest-xml". */
const char *aws_protocol_name(aws_protocol p);
/* Parses such a name; AIRGAP_EINVALID for anything else (including "ec2"). */
int aws_protocol_from_name(aws_protocol *out, const char *name);

/* The request as the protocol layer sees it. Everything is borrowed. */
typedef int (*aws_header_fn)(const char *name, const char *value, void *payload);
typedef struct aws_http_in {
  const char *method;
  const char *path;  /* raw (percent-encoded), no query string */
  const char *query; /* raw, without '?'; "" when none */
  /* Header lookup (case-insensitive name) and iteration. */
  const char *(*header)(void *ctx, const char *name);
  void (*headers_foreach)(void *ctx, aws_header_fn fn, void *payload);
  void *ctx;
  const char *body; /* NULL when the body is not in memory (spilled) */
  size_t body_len;
} aws_http_in;

/* A response before it becomes an HTTP response. Owned; aws_http_out_free. */
typedef struct aws_http_out {
  int status;
  const char *content_type; /* static string, or NULL for none */
  char *body;               /* malloc'd, may be NULL when body_len is 0 */
  size_t body_len;
  json_t *headers; /* object: header name → string */
} aws_http_out;

void aws_http_out_free(aws_http_out *out);

/* An AWS error on its way to the client. status 0 means "from the model's
 * error shape, else 400". fields: extra members for the error body. */
typedef struct aws_error {
  int status;
  char *code;
  char *message;
  json_t *fields;
} aws_error;

/* Records an error (replacing any previous one). Returns AIRGAP_EINVALID. */
int aws_error_set(aws_error *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int aws_error_setv(aws_error *err, int status, const char *code, const char *fmt, va_list ap);
void aws_error_clear(aws_error *err);

/* The protocol a request addressed to model m speaks: rest models by their
 * own protocol; query models answer JSON too when the request carries
 * X-Amz-Target and a JSON content type (SQS, as current SDKs send it), and
 * AWS_PROTOCOL_QUERY_JSON when a query request prefers application/json in
 * its Accept header. */
aws_protocol aws_protocol_detect(const aws_model *m, const aws_http_in *in);

/* The protocol a request speaks when its service has no embedded model (a
 * service this build does not serve), so that even the error saying so comes
 * in an envelope the client parses. From the request alone: X-Amz-Target with
 * an application/x-amz-json-1.x body is json; Action= in the query string or
 * a form body is query; an XML body, or service (the SigV4 signing name, may
 * be NULL) naming a rest-xml service (s3, route53, cloudfront), is rest-xml;
 * anything else rest-json. */
aws_protocol aws_protocol_guess(const aws_http_in *in, const char *service);

/* The operation a request names (Action=, X-Amz-Target, or method+URI for the
 * rest protocols). *out is borrowed from the model. Errors go to err:
 * InvalidAction / UnknownOperationException / a 404-ish rest error. */
int aws_protocol_operation(const char **out, aws_error *err, const aws_model *m, aws_protocol p,
                           const aws_http_in *in);

/* Parses the request into the operation's input object (owned; json_decref). */
int aws_protocol_parse(json_t **out, aws_error *err, const aws_model *m, aws_protocol p,
                       const char *operation, const aws_http_in *in);

/* Serializes a handler's output (NULL: empty). Returns 0 or -1 (the output
 * could not be serialized: too big); *out is filled only on success. */
int aws_protocol_serialize(aws_http_out *out, const aws_model *m, aws_protocol p,
                           const char *operation, const json_t *output, const char *request_id);

/* Serializes an error. m may be NULL (no model: generic rendering). Never fails
 * (falls back to a bare status). */
void aws_protocol_serialize_error(aws_http_out *out, const aws_model *m, aws_protocol p,
                                  const aws_error *err, const char *request_id);

/* ---- timestamps, for the rare handler that reads or writes one itself ---- */

/* Parses ISO 8601, RFC 822/1123 or epoch seconds (text). AIRGAP_EINVALID
 * when text is none of them. */
int aws_timestamp_parse(double *out, const char *text);
/* Formats t as "iso8601", "rfc822" or "unixTimestamp" into buf. */
void aws_timestamp_format(char *buf, size_t size, double t, const char *format);
/* A timestamp value of the neutral form (number) as seconds; -1 when not a number. */
int aws_timestamp_value(double *out, const json_t *v);
/* Seconds as the neutral JSON number (integer when whole). New reference. */
json_t *aws_timestamp_json(double t);

/* S3 virtual-host style ("<bucket>.s3.<region>.amazonaws.com",
 * "<bucket>.s3.localhost.localstack.cloud:4566"): the path with the bucket put
 * in front ("/<bucket><path>"), as the model's URIs expect; NULL when host is
 * not such a name. Owned (free()). */
char *aws_s3_vhost_path(const char *host, const char *path);

/* Reads the query string and (for form POSTs) the body as name/value pairs
 * into an object (first value wins). Used by routing and the query protocol. */
int aws_query_params(json_t **out, aws_error *err, const aws_http_in *in);

#endif
