/*
 * protocol_query.c — the AWS query protocol (STS, SQS as older SDKs speak it).
 *
 * Requests are flat name=value pairs (query string and/or form body) whose
 * names encode the input shape: "Attribute.1.Name", "Entry.2.Id",
 * "Tags.member.1.Key". Rather than guessing shapes from names, the parser
 * walks the input shape and looks each expected name up, using a set of all
 * name prefixes to know when a nested structure, list or map is present; names
 * the shape does not mention are ignored, as AWS does. The rules mirror
 * botocore's QuerySerializer (flattened lists/maps, locationName, empty lists
 * sent as "Name="). Responses are XML:
 * <OpResponse><OpResult>…</OpResult><ResponseMetadata>…</ResponseMetadata></OpResponse>,
 * or the same structure in JSON when the request prefers it (at the end).
 */
#include "common/error.h"
#include "common/http_server.h"
#include "emulator/protocol/protocol_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUERY_MAX_NAME 512
#define QUERY_MAX_PREFIXES 65536

int aws_query_params(json_t **out, aws_error *err, const aws_http_in *in) {
  json_t *params = json_object();
  http_query_pair *pairs = NULL;
  size_t count = 0;
  int error = 0;
  const char *sources[2] = {in->query, NULL};
  size_t lens[2] = {in->query ? strlen(in->query) : 0, 0};
  const char *type = in->header(in->ctx, "Content-Type");
  if (in->body && strcasecmp(in->method, "POST") == 0 && type &&
      strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0) {
    sources[1] = in->body;
    lens[1] = in->body_len;
  }
  size_t total = 0;
  for (int s = 0; s < 2; s++) {
    if (!sources[s] || lens[s] == 0)
      continue;
    /* Values keep a %00 (json_stringn): q_value() decides what it means. */
    error = http_query_parse_flags(&pairs, &count, sources[s], lens[s], AWS_MAX_QUERY_PAIRS,
                                   HTTP_QUERY_KEEP_NUL);
    if (error < 0) {
      error = aws_error_set(err, 400, "MalformedQueryString", "The query string is malformed: %s",
                            airgap_error_last());
      goto cleanup;
    }
    total += count;
    if (total > AWS_MAX_QUERY_PAIRS) {
      error = aws_error_set(err, 400, "MalformedQueryString",
                            "The request has more than %d parameters.", AWS_MAX_QUERY_PAIRS);
      goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
      if (json_object_get(params, pairs[i].name))
        continue;
      json_t *value = json_stringn(pairs[i].value, pairs[i].value_len);
      if (!value) {
        error = aws_error_set(err, 400, "MalformedQueryString",
                              "The value of parameter %.64s is not valid UTF-8.", pairs[i].name);
        goto cleanup;
      }
      json_object_set_new(params, pairs[i].name, value);
    }
    http_query_free(pairs, count);
    pairs = NULL;
    count = 0;
  }
  *out = params;
  params = NULL;
cleanup:
  http_query_free(pairs, count);
  json_decref(params);
  return error;
}

int aws_query_operation(const char **out, aws_error *err, const aws_model *m,
                        const aws_http_in *in) {
  json_t *params = NULL;
  int error = aws_query_params(&params, err, in);
  if (error < 0)
    return error;
  const json_t *action_j = json_object_get(params, "Action");
  const char *action = json_string_value(action_j);
  /* STS and IAM answer an action they do not know, or (STS) a Version other
   * than the model's, as their framework does: "Could not find operation X
   * for version V" (recorded AWS answers; NO_VERSION_SPECIFIED when absent). */
  const char *service = aws_model_name(m);
  int framework = !strcmp(service, "sts") || !strcmp(service, "iam");
  const char *version = json_string_value(json_object_get(params, "Version"));
  if (!version)
    version = "NO_VERSION_SPECIFIED";
  const char *api_version = aws_model_meta(m, "apiVersion");
  const json_t *op = action ? aws_model_operation(m, action) : NULL;
  const char *name = aws_json_str(op, "name");
  if (action && strlen(action) != json_string_length(action_j)) {
    error = aws_error_set(
        err, 400, "InvalidAction",
        "The action %.128s is not valid for this web service: it contains a NUL character (%%00).",
        action);
  } else if (!action && !strcmp(service, "sqs") && !strcasecmp(in->method, "GET") && in->path &&
             strcmp(in->path, "/") != 0) {
    /* A plain GET of a queue's URL: SQS's framework finds no operation and
     * answers 404 with a bare <UnknownOperationException/> (aws_query_error). */
    error = aws_error_set(err, 404, "UnknownOperationException", "%s", "");
  } else if (!action || (!*action && !framework)) {
    error = aws_error_set(err, 400, "MissingAction", "The request must contain an Action.");
  } else if (framework &&
             (!op || !name ||
              (!strcmp(service, "sts") && api_version && strcmp(version, api_version) != 0))) {
    error = aws_error_set(err, 400, "InvalidAction", "Could not find operation %s for version %s",
                          action, version);
  } else if (!op || !name) {
    /* SQS words it "for this endpoint" (AWS's recorded answer); the other
     * query services "for this web service". */
    error = aws_error_set(err, 400, "InvalidAction", "The action %.128s is not valid for this %s.",
                          action, strcmp(service, "sqs") ? "web service" : "endpoint");
  } else {
    *out = name;
  }
  json_decref(params);
  return error;
}

typedef struct qctx {
  aws_parse_ctx pc;
  json_t *params;   /* name → value */
  json_t *prefixes; /* every proper "a.b" prefix of a parameter name */
} qctx;

static int q_value(json_t **out, qctx *q, const json_t *ref, const json_t *shape, const char *key,
                   int depth);

static int has_prefix(const qctx *q, const char *key) {
  return json_object_get(q->prefixes, key) != NULL;
}

static const char *exact(const qctx *q, const char *key) {
  return json_string_value(json_object_get(q->params, key));
}

static int join(char *buf, size_t size, const char *a, const char *b) {
  int n = a && *a ? snprintf(buf, size, "%s.%s", a, b) : snprintf(buf, size, "%s", b);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int q_struct(json_t **out, qctx *q, const json_t *shape, const char *prefix,
                    const char *name, int depth) {
  json_t *obj = json_object();
  const char *member;
  json_t *mref;
  char key[QUERY_MAX_NAME];
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    const char *loc = aws_model_ref_name(q->pc.m, mref);
    if (join(key, sizeof(key), prefix, loc ? loc : member) < 0)
      continue;
    json_t *v = NULL;
    int rc = q_value(&v, q, mref, aws_model_ref_shape(q->pc.m, mref), key, depth + 1);
    if (rc < 0) {
      json_decref(obj);
      return rc;
    }
    if (rc == 0)
      json_object_set_new(obj, member, v);
  }
  int error = aws_check_required(&q->pc, shape, obj, name);
  if (error < 0) {
    json_decref(obj);
    return error;
  }
  *out = obj;
  return 0;
}

/* Returns 0 with *out set, 1 when the value is absent, or an error. */
static int q_value(json_t **out, qctx *q, const json_t *ref, const json_t *shape, const char *key,
                   int depth) {
  const char *type = aws_shape_type(shape);
  char item_prefix[QUERY_MAX_NAME], k[QUERY_MAX_NAME], v[QUERY_MAX_NAME];
  if (depth > AWS_MAX_DEPTH)
    return aws_error_set(q->pc.err, 400, q->pc.type_code, "Input nests deeper than %d levels.",
                         AWS_MAX_DEPTH);
  int flattened = aws_json_bool(ref, "flattened") || aws_json_bool(shape, "flattened");
  if (strcmp(type, "structure") == 0) {
    if (!has_prefix(q, key))
      return 1;
    return q_struct(out, q, shape, key, key, depth);
  }
  if (strcmp(type, "list") == 0) {
    const json_t *mref = json_object_get(shape, "member");
    const json_t *mshape = aws_model_ref_shape(q->pc.m, mref);
    const char *mloc = aws_model_ref_name(q->pc.m, mref);
    if (flattened && mloc) {
      /* botocore replaces the last name component by the item name. */
      const char *dot = strrchr(key, '.');
      int n =
          dot ? snprintf(item_prefix, sizeof(item_prefix), "%.*s.%s", (int)(dot - key), key, mloc)
              : snprintf(item_prefix, sizeof(item_prefix), "%s", mloc);
      if (n < 0 || (size_t)n >= sizeof(item_prefix))
        return 1;
    } else if (flattened) {
      snprintf(item_prefix, sizeof(item_prefix), "%s", key);
    } else if (join(item_prefix, sizeof(item_prefix), key, mloc ? mloc : "member") < 0) {
      return 1;
    }
    const char *empty = exact(q, key);
    if (!has_prefix(q, item_prefix)) {
      if (empty && !*empty) {
        *out = json_array();
        return 0;
      }
      return 1;
    }
    json_t *arr = json_array();
    for (size_t i = 1; i <= AWS_MAX_QUERY_PAIRS; i++) {
      int kn = snprintf(k, sizeof(k), "%s.%zu", item_prefix, i);
      if (kn < 0 || (size_t)kn >= sizeof(k))
        break;
      json_t *item = NULL;
      int rc = q_value(&item, q, mref, mshape, k, depth + 1);
      if (rc < 0) {
        json_decref(arr);
        return rc;
      }
      if (rc == 1)
        break;
      json_array_append_new(arr, item);
    }
    *out = arr;
    return 0;
  }
  if (strcmp(type, "map") == 0) {
    const json_t *kref = json_object_get(shape, "key");
    const json_t *vref = json_object_get(shape, "value");
    const char *kname = aws_model_ref_name(q->pc.m, kref);
    const char *vname = aws_model_ref_name(q->pc.m, vref);
    if (flattened)
      snprintf(item_prefix, sizeof(item_prefix), "%s", key);
    else if (join(item_prefix, sizeof(item_prefix), key, "entry") < 0)
      return 1;
    if (!has_prefix(q, item_prefix))
      return 1;
    json_t *obj = json_object();
    for (size_t i = 1; i <= AWS_MAX_QUERY_PAIRS; i++) {
      int kn = snprintf(k, sizeof(k), "%s.%zu.%s", item_prefix, i, kname ? kname : "key");
      int vn = snprintf(v, sizeof(v), "%s.%zu.%s", item_prefix, i, vname ? vname : "value");
      if (kn < 0 || vn < 0 || (size_t)kn >= sizeof(k) || (size_t)vn >= sizeof(v))
        break;
      const char *kv = exact(q, k);
      if (!kv)
        break;
      json_t *item = NULL;
      int rc = q_value(&item, q, vref, aws_model_ref_shape(q->pc.m, vref), v, depth + 1);
      if (rc < 0) {
        json_decref(obj);
        return rc;
      }
      if (rc == 1) {
        json_decref(obj);
        return aws_error_set(q->pc.err, 400, q->pc.missing_code,
                             "The request must contain the parameter %s.", v);
      }
      json_object_set_new(obj, kv, item);
    }
    *out = obj;
    return 0;
  }
  const json_t *param = json_object_get(q->params, key);
  const char *text = json_string_value(param);
  if (!text)
    return 1;
  size_t len = json_string_length(param);
  if (strlen(text) != len) {
    /* A %00 inside. A query-compatible service (SQS) reads strings by length
     * and answers a NUL with its own checks (InvalidMessageContents), as its
     * JSON protocol does; anywhere else the value would be cut short. */
    if (!strcmp(aws_shape_type(shape), "string") && aws_model_query_compatible(q->pc.m)) {
      *out = json_stringn(text, len);
      return *out ? 0 : aws_error_set(q->pc.err, 500, "InternalFailure", "out of memory");
    }
    if (aws_model_query_compatible(q->pc.m))
      return aws_type_error(&q->pc, key, "a value without a NUL character (%00)");
    return aws_error_set(q->pc.err, 400, "MalformedQueryString",
                         "The value of parameter %.128s contains a NUL character (%%00), which "
                         "is not allowed.",
                         key);
  }
  return aws_scalar_from_text(out, &q->pc, ref, shape, text, key, "iso8601");
}

int aws_query_parse(json_t **out, aws_error *err, const aws_model *m, const char *operation,
                    const aws_http_in *in) {
  qctx q;
  memset(&q, 0, sizeof(q));
  aws_parse_ctx_init(&q.pc, m, AWS_PROTOCOL_QUERY, err);
  int error = aws_query_params(&q.params, err, in);
  if (error < 0)
    return error;
  q.prefixes = json_object();
  const char *name;
  json_t *value;
  json_object_foreach(q.params, name, value) {
    size_t len = strlen(name);
    if (len >= QUERY_MAX_NAME)
      continue;
    char buf[QUERY_MAX_NAME];
    memcpy(buf, name, len + 1);
    for (size_t i = 0; i < len; i++)
      if (buf[i] == '.') {
        buf[i] = '\0';
        json_object_set_new(q.prefixes, buf, json_true());
        buf[i] = '.';
      }
    /* Names like "a.a.a.…" could otherwise make this set huge. */
    if (json_object_size(q.prefixes) > QUERY_MAX_PREFIXES) {
      json_decref(q.params);
      json_decref(q.prefixes);
      return aws_error_set(err, 400, "MalformedQueryString",
                           "The request's parameter names nest too much.");
    }
  }
  const json_t *op = aws_model_operation(m, operation);
  const json_t *input = json_object_get(op, "input");
  json_t *result = NULL;
  if (input)
    error = q_struct(&result, &q, aws_model_ref_shape(m, input), "", NULL, 0);
  else
    result = json_object();
  json_decref(q.params);
  json_decref(q.prefixes);
  if (error < 0)
    return error;
  *out = result;
  return 0;
}

int aws_query_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                        const json_t *output, const char *request_id) {
  const json_t *op = aws_model_operation(m, operation);
  const json_t *oref = json_object_get(op, "output");
  const char *wrapper = aws_json_str(oref, "resultWrapper");
  const char *ns = aws_model_meta(m, "xmlNamespace");
  dynbuf b;
  dynbuf_init(&b, AWS_MAX_OUTPUT);
  dynbuf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%sResponse", operation);
  if (ns) {
    dynbuf_puts(&b, " xmlns=\"");
    dynbuf_xml(&b, ns, strlen(ns));
    dynbuf_puts(&b, "\"");
  }
  dynbuf_puts(&b, ">");
  if (oref) {
    if (wrapper)
      dynbuf_printf(&b, "<%s>", wrapper);
    if (output)
      aws_xml_write_members(&b, m, aws_model_ref_shape(m, oref), output, 0);
    if (wrapper)
      dynbuf_printf(&b, "</%s>", wrapper);
  }
  dynbuf_puts(&b, "<ResponseMetadata><RequestId>");
  dynbuf_xml(&b, request_id ? request_id : "", request_id ? strlen(request_id) : 0);
  dynbuf_printf(&b, "</RequestId></ResponseMetadata></%sResponse>", operation);
  size_t len = 0;
  char *body = dynbuf_take(&b, &len);
  if (!body)
    return airgap_error_set(AIRGAP_ETOOBIG, "the %s response is too large", operation);
  memset(out, 0, sizeof(*out));
  out->status = 200;
  out->content_type = "text/xml";
  out->body = body;
  out->body_len = len;
  out->headers = json_object();
  return 0;
}

void aws_query_error(aws_http_out *out, const aws_model *m, const aws_error *err, int status,
                     const char *code, const char *request_id) {
  const char *ns = m ? aws_model_meta(m, "xmlNamespace") : NULL;
  const char *message = err->message ? err->message : "";
  const char *prefix = m ? aws_model_meta(m, "endpointPrefix") : NULL;
  if (prefix && !strcmp(prefix, "sqs") && !strcmp(code, "UnknownOperationException")) {
    /* AWS's recorded answer, byte for byte, and without a Content-Type. */
    out->body = strdup("<UnknownOperationException/>\n");
    out->body_len = out->body ? strlen(out->body) : 0;
    out->content_type = NULL;
    out->headers = json_object();
    return;
  }
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  /* STS's framework errors (an unknown action or version) come in AWS's
   * generic fault namespace, its own errors in STS's. */
  if (prefix && !strcmp(prefix, "sts") && !strcmp(code, "InvalidAction"))
    ns = "http://webservices.amazon.com/AWSFault/2005-15-09";
  dynbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse");
  if (ns) {
    dynbuf_puts(&b, " xmlns=\"");
    dynbuf_xml(&b, ns, strlen(ns));
    dynbuf_puts(&b, "\"");
  }
  dynbuf_printf(&b, "><Error><Type>%s</Type><Code>", status >= 500 ? "Receiver" : "Sender");
  dynbuf_xml(&b, code, strlen(code));
  dynbuf_puts(&b, "</Code>");
  /* An error without a message (STS's MalformedInput) has no element. */
  if (*message) {
    dynbuf_puts(&b, "<Message>");
    dynbuf_xml(&b, message, strlen(message));
    dynbuf_puts(&b, "</Message>");
  }
  aws_xml_write_error_fields(&b, err->fields);
  /* SQS's errors carry an empty Detail; STS's, IAM's and SNS's do not. */
  if (prefix && strcmp(prefix, "sqs") == 0)
    dynbuf_puts(&b, "<Detail/>");
  dynbuf_puts(&b, "</Error><RequestId>");
  dynbuf_xml(&b, request_id ? request_id : "", request_id ? strlen(request_id) : 0);
  dynbuf_puts(&b, "</RequestId></ErrorResponse>");
  out->body = dynbuf_take(&b, &out->body_len);
  if (!out->body)
    out->body_len = 0;
  out->content_type = "text/xml";
  out->headers = json_object();
}

/* ---- the same answers in JSON (Accept: application/json) ----
 * AWS's query services answer a request that prefers JSON with the XML
 * document's structure in JSON: members under {"<Op>Response": {"<Op>Result":
 * …, "ResponseMetadata": {"RequestId": …}}}, lists as arrays, timestamps as
 * epoch seconds (STS's Expiration is a number there), and errors as
 * {"Error": {"Code", "Message", "Type"}, "RequestId"}. */

int aws_query_json_serialize(aws_http_out *out, const aws_model *m, const char *operation,
                             const json_t *output, const char *request_id) {
  const json_t *op = aws_model_operation(m, operation);
  const json_t *oref = json_object_get(op, "output");
  char response[160], result[160];
  snprintf(response, sizeof(response), "%sResponse", operation);
  const char *wrapper = aws_json_str(oref, "resultWrapper");
  if (!wrapper) {
    snprintf(result, sizeof(result), "%sResult", operation);
    wrapper = result;
  }
  json_t *inner =
      json_pack("{s:{s:s}}", "ResponseMetadata", "RequestId", request_id ? request_id : "");
  if (inner && oref) {
    json_t *members =
        output ? aws_value_to_json(m, oref, aws_model_ref_shape(m, oref), output, 0, 0) : NULL;
    json_object_set_new(inner, wrapper, members ? members : json_object());
  }
  json_t *doc = inner ? json_pack("{s:o}", response, inner) : NULL;
  char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!body || strlen(body) > AWS_MAX_OUTPUT) {
    free(body);
    return airgap_error_set(AIRGAP_ETOOBIG, "the %s response is too large", operation);
  }
  memset(out, 0, sizeof(*out));
  out->status = 200;
  out->content_type = "application/json";
  out->body = body;
  out->body_len = strlen(body);
  out->headers = json_object();
  return 0;
}

void aws_query_json_error(aws_http_out *out, const aws_error *err, int status, const char *code,
                          const char *request_id) {
  json_t *error =
      json_pack("{s:s, s:s, s:s}", "Code", code, "Message", err->message ? err->message : "",
                "Type", status >= 500 ? "Receiver" : "Sender");
  const char *key;
  json_t *value;
  json_object_foreach(err->fields, key, value) {
    if (error && !json_object_get(error, key))
      json_object_set(error, key, value);
  }
  json_t *doc =
      error ? json_pack("{s:o, s:s}", "Error", error, "RequestId", request_id ? request_id : "")
            : NULL;
  out->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  out->body_len = out->body ? strlen(out->body) : 0;
  json_decref(doc);
  out->content_type = "application/json";
  out->headers = json_object();
}
