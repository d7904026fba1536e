/*
 * protocol.h — private: the model-driven AWS protocol layer.
 *
 * Four wire protocols (query, json, rest-json, rest-xml) are parsed into, and
 * serialized from, one neutral form: jansson values shaped by the operation's
 * input/output shape, using the conventions documented in service.h. The layer
 * works on a plain description of the HTTP exchange (aws_http_in/aws_http_out)
 * rather than on the HTTP server, so that it can be unit-tested and fuzzed
 * without sockets.
 *
 * Untrusted input: every parser bounds nesting depth, counts and sizes, and on
 * any malformed input returns AIRGAP_EINVALID with the protocol's own error
 * (code, status, message) in an aws_error — it never crashes or half-fills
 * its output (*out is written only on success).
 */
#ifndef AIRGAP_EMULATOR_PROTOCOL_H
#define AIRGAP_EMULATOR_PROTOCOL_H

#include "common/dynbuf.h"
#include "emulator/model.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* Limits on what a request may hold. */
#define AWS_MAX_DEPTH 64            /* nesting of shapes, JSON and XML */
#define AWS_MAX_QUERY_PAIRS 5000    /* query/form parameters */
#define AWS_MAX_XML_NODES 100000    /* elements in an XML body */
#define AWS_MAX_LIST_ITEMS 100000   /* items in one list or map */
#define AWS_MAX_OUTPUT (256u << 20) /* a serialized response body */

typedef enum aws_protocol {
  AWS_PROTOCOL_QUERY,
  AWS_PROTOCOL_JSON,
  AWS_PROTOCOL_REST_JSON,
  AWS_PROTOCOL_REST_XML,
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
 * X-Amz-Target and a JSON content type (SQS, as current SDKs send it). */
aws_protocol aws_protocol_detect(const aws_model *m, const aws_http_in *in);

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

/* ---- shared helpers (protocol.c), used by the per-protocol files ---- */

/* Parsing context: where errors go and which codes the protocol uses. */
typedef struct aws_parse_ctx {
  const aws_model *m;
  aws_error *err;
  const char *malformed_code; /* body does not parse */
  const char *type_code;      /* value of the wrong type */
  const char *missing_code;   /* required member absent */
  int use_location_names;     /* JSON body keys follow locationName */
} aws_parse_ctx;

void aws_parse_ctx_init(aws_parse_ctx *ctx, const aws_model *m, aws_protocol p, aws_error *err);

/* The shape type ("structure", "string", …) or "" . */
const char *aws_shape_type(const json_t *shape);
/* The timestamp format for a member: ref's or shape's timestampFormat, else dflt. */
const char *aws_timestamp_format_of(const json_t *ref, const json_t *shape, const char *dflt);

/* Timestamps: parses ISO 8601, RFC 822/1123 or epoch seconds (text). */
int aws_timestamp_parse(double *out, const char *text);
/* Formats t as "iso8601", "rfc822" or "unixTimestamp" into buf. */
void aws_timestamp_format(char *buf, size_t size, double t, const char *format);
/* A timestamp value of the neutral form (number) as seconds; -1 when not a number. */
int aws_timestamp_value(double *out, const json_t *v);
/* Seconds as the neutral JSON number (integer when whole). */
json_t *aws_timestamp_json(double t);

/* Base64 (standard alphabet, padded). */

/* Converts text (query value, header, URI label, XML text) to the neutral
 * value of a scalar shape. name is used in error messages. */
int aws_scalar_from_text(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                         const char *text, const char *name, const char *ts_default);
/* Renders a neutral scalar as text (for XML, headers, query). Owned string, or
 * NULL when v does not fit the shape. */
char *aws_scalar_to_text(const json_t *ref, const json_t *shape, const json_t *v,
                         const char *ts_default);

/* Validates a parsed JSON value against a shape, producing the neutral value
 * (unknown members dropped, timestamps as numbers). depth counts nesting. */
int aws_value_from_json(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                        const json_t *v, const char *name, int depth);
/* Checks the required members of a structure value. */
int aws_check_required(aws_parse_ctx *ctx, const json_t *shape, const json_t *obj,
                       const char *name);
/* Renders a neutral value as JSON for the wire (timestamps per format, keys by
 * locationName when use_location_names). Returns a new reference or NULL when
 * v does not fit the shape (it is then left out). */
json_t *aws_value_to_json(const aws_model *m, const json_t *ref, const json_t *shape,
                          const json_t *v, int use_location_names, int depth);

/* XML: member element name in a structure (flattened lists use their item name). */
const char *aws_xml_member_name(const aws_model *m, const char *member, const json_t *ref);
/* Writes v as an element named name (lists flattened when the shape says so). */
void aws_xml_write_value(dynbuf *b, const aws_model *m, const char *name, const json_t *ref,
                         const json_t *shape, const json_t *v, int depth);
/* Writes the members of structure value obj (elements only; attributes are
 * written by aws_xml_write_value). */
void aws_xml_write_members(dynbuf *b, const aws_model *m, const json_t *shape, const json_t *obj,
                           int depth);

/* A parsed XML document (expat), bounded and without DTDs or entities. */
typedef struct aws_xml_node aws_xml_node;
int aws_xml_parse(aws_xml_node **out, aws_parse_ctx *ctx, const char *body, size_t len);
void aws_xml_free(aws_xml_node *node);
/* The local name (prefix stripped) of a node. */
const char *aws_xml_node_name(const aws_xml_node *node);
/* Converts a node to the neutral value of a shape (a structure's members are
 * the node's children). */
int aws_value_from_xml(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                       const aws_xml_node *node, int depth);

/* ---- the protocols (protocol_query.c, protocol_json.c, protocol_rest.c) ---- */

int aws_query_operation(const char **out, aws_error *err, const aws_model *m,
                        const aws_http_in *in);
int aws_query_parse(json_t **out, aws_error *err, const aws_model *m, const char *operation,
                    const aws_http_in *in);
int aws_query_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                        const json_t *output, const char *request_id);
void aws_query_error(aws_http_out *out, const aws_model *m, const aws_error *err, int status,
                     const char *code, const char *request_id);

int aws_json_operation(const char **out, aws_error *err, const aws_model *m, const aws_http_in *in);
int aws_json_parse(json_t **out, aws_error *err, const aws_model *m, const char *operation,
                   const aws_http_in *in);
int aws_json_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                       const json_t *output);
void aws_json_error(aws_http_out *out, const aws_model *m, const aws_error *err, int status,
                    const char *code, const char *query_code);

int aws_rest_operation(const char **out, aws_error *err, const aws_model *m, aws_protocol p,
                       const aws_http_in *in);
int aws_rest_parse(json_t **out, aws_error *err, const aws_model *m, aws_protocol p,
                   const char *operation, const aws_http_in *in);
int aws_rest_serialize(aws_http_out *out, const aws_model *m, aws_protocol p, const char *operation,
                       const json_t *output);
void aws_rest_error(aws_http_out *out, const aws_model *m, aws_protocol p, const aws_error *err,
                    int status, const char *code, const char *request_id);

/* S3 virtual-host style ("<bucket>.s3.<region>.amazonaws.com",
 * "<bucket>.s3.localhost.localstack.cloud:4566"): the path with the bucket put
 * in front ("/<bucket><path>"), as the model's URIs expect; NULL when host is
 * not such a name. Owned (free()). */
char *aws_s3_vhost_path(const char *host, const char *path);

/* Reads the query string and (for form POSTs) the body as name/value pairs
 * into an object (first value wins). Used by routing and the query protocol. */
int aws_query_params(json_t **out, aws_error *err, const aws_http_in *in);

#endif
