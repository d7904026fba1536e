/*
 * protocol_int.h — private to emulator/protocol/: what the per-protocol files
 * share. value.c holds the parse context, shapes, timestamps and value
 * conversions; protocol_xml.c the XML reader and writer; each protocol file
 * its entry points, which only protocol.c (the dispatcher) calls.
 */
#ifndef AIRGAP_EMULATOR_PROTOCOL_INT_H
#define AIRGAP_EMULATOR_PROTOCOL_INT_H

#include "common/dynbuf.h"
#include "emulator/protocol/protocol.h"

#include <jansson.h>
#include <stddef.h>

/* ---- model.c: compiled shapes ---- */

typedef enum aws_shape_kind {
  AWS_SHAPE_OTHER,
  AWS_SHAPE_STRUCTURE,
  AWS_SHAPE_LIST,
  AWS_SHAPE_MAP,
  AWS_SHAPE_STRING,  /* string, character */
  AWS_SHAPE_INTEGER, /* integer, long, short, byte */
  AWS_SHAPE_BOOLEAN,
  AWS_SHAPE_FLOAT, /* float, double */
  AWS_SHAPE_TIMESTAMP,
  AWS_SHAPE_BLOB,
} aws_shape_kind;

typedef struct aws_shape_info aws_shape_info;
typedef struct aws_shape_member {
  const char *name; /* member name (the neutral form's key) */
  const char *wire; /* JSON key when location names apply: locationName, else name */
  const json_t *ref;
  const aws_shape_info *info; /* the member's shape (NULL when the model lacks it) */
  int required;               /* named in the structure's "required" */
} aws_shape_member;

/* A shape as the JSON paths use it, compiled once when its model loads; all
 * pointers borrowed from the model. */
struct aws_shape_info {
  const json_t *shape;
  const char *type; /* "structure", "long", … ("" when none) */
  aws_shape_kind kind;
  aws_shape_member *members; /* structures, in model order */
  size_t nmembers;
  int renamed;            /* some member's wire key differs from its name */
  const json_t *required; /* structures: the "required" array or NULL */
  size_t nrequired;       /* members flagged required */
  int required_unknown;   /* "required" names something that is no member */
  const json_t *item_ref; /* lists: member; maps: value */
  const aws_shape_info *item;
};

/* The compiled form of shape (a shape object of m), or NULL. */
const aws_shape_info *aws_model_shape_info(const aws_model *m, const json_t *shape);

/* ---- value.c ---- */

/* Parsing context: where errors go and which codes the protocol uses. */
typedef struct aws_parse_ctx {
  const aws_model *m;
  aws_error *err;
  const char *malformed_code; /* body does not parse */
  const char *type_code;      /* value of the wrong type */
  const char *missing_code;   /* required member absent */
  /* STS names absent members as its other validation errors ("1 validation
   * error detected: Value null at 'roleArn' ..."), every one at once. */
  int missing_as_validation;
  /* STS answers a number it cannot read (not decimal digits, or past 32
   * bits) with MalformedInput and no message; an empty one with "missing
   * value for decimal type" (recorded AWS answers). */
  int malformed_numbers;
  int use_location_names; /* JSON body keys follow locationName */
} aws_parse_ctx;

void aws_parse_ctx_init(aws_parse_ctx *ctx, const aws_model *m, aws_protocol p, aws_error *err);

/* The shape type ("structure", "string", …) or "" . */
const char *aws_shape_type(const json_t *shape);
/* The timestamp format for a member: ref's or shape's timestampFormat, else dflt. */
const char *aws_timestamp_format_of(const json_t *ref, const json_t *shape, const char *dflt);

/* Records the protocol's type error for parameter name ("expected …"). */
int aws_type_error(aws_parse_ctx *ctx, const char *name, const char *expected);
/* Whether v fits the integer type ("integer", "short", "byte"; "long": all). */
int aws_integer_in_range(const char *type, json_int_t v);

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

/* ---- value_json.c: the JSON hot paths ---- */

/* As aws_value_from_json, but converts doc in place instead of building a
 * second tree: takes the reference to doc and, on success, hands back the
 * neutral value in *out (usually doc itself). Same checks, same errors. */
int aws_value_take_json(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                        json_t *doc);
/* As aws_value_to_json followed by json_dumps(JSON_COMPACT), without the
 * intermediate tree: appends the wire JSON of v to b. Returns 1 when written,
 * 0 when v does not fit the shape (nothing appended). */
int aws_value_write_json(dynbuf *b, const aws_model *m, const json_t *ref, const json_t *shape,
                         const json_t *v, int use_location_names);

/* ---- protocol_xml.c ---- */

/* XML: member element name in a structure (flattened lists use their item name). */
const char *aws_xml_member_name(const aws_model *m, const char *member, const json_t *ref);
/* Writes v as an element named name (lists flattened when the shape says so). */
void aws_xml_write_value(dynbuf *b, const aws_model *m, const char *name, const json_t *ref,
                         const json_t *shape, const json_t *v, int depth);
/* Writes the members of structure value obj (elements only; attributes are
 * written by aws_xml_write_value). */
void aws_xml_write_members(dynbuf *b, const aws_model *m, const json_t *shape, const json_t *obj,
                           int depth);

/* Writes an error's extra fields (aws_error.fields: strings and integers) as
 * simple elements, for the query and rest-xml error envelopes. */
void aws_xml_write_error_fields(dynbuf *b, const json_t *fields);

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
/* The same answers in JSON, for AWS_PROTOCOL_QUERY_JSON. */
int aws_query_json_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                             const json_t *output, const char *request_id);
void aws_query_json_error(aws_http_out *out, const aws_error *err, int status, const char *code,
                          const char *request_id);

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
/* The host id S3 reports for a request (x-amz-id-2, an error's HostId):
 * base64, derived from request_id. Owned: free(); NULL without a request id
 * or memory. */
char *aws_rest_host_id(const char *request_id);
void aws_rest_error(aws_http_out *out, const aws_model *m, aws_protocol p, const aws_error *err,
                    int status, const char *code, const char *request_id);

#endif
