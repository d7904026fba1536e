/*
 * protocol_rest.c — the rest-json (Lambda) and rest-xml (S3) protocols.
 *
 * An operation is found by HTTP method and the model's requestUri template
 * ("/{Bucket}/{Key+}?uploads"): literal segments and required query keys make
 * a match more specific, and the most specific match wins. Input members are
 * gathered from where the model binds them — URI labels, query string,
 * headers, header-prefix maps, the payload member or the remaining body
 * members — and output members are sent back the same way. A streaming
 * payload (S3 PutObject/UploadPart Body) is never copied into the input: the
 * handler reads it through aws_call_http(), in memory or from the file the
 * HTTP server spilled it to. Any other body that was spilled is refused (413).
 *
 * Finding the operation runs on every request, so each model's operations are
 * indexed once (name, method, requestUri, deprecated flag, in a flat array
 * never freed, as the models themselves): a request then compares strings
 * instead of making several jansson lookups per operation of the model, and
 * only the operations of its own method unless none matches (405 or 404).
 */
#include "common/error.h"
#include "common/http_server.h"
#include "emulator/protocol/protocol_int.h"
#include "common/codec.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REST_MAX_SEGMENTS 64

typedef struct segs {
  const char *start[REST_MAX_SEGMENTS];
  size_t len[REST_MAX_SEGMENTS];
  size_t count;
} segs;

/* Splits "/a/b" (leading '/' skipped) into segments; -1 when too many. */
static int split(segs *out, const char *path, size_t len) {
  out->count = 0;
  if (len && path[0] == '/')
    path++, len--;
  const char *p = path, *end = path + len;
  for (;;) {
    if (out->count == REST_MAX_SEGMENTS)
      return -1;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *stop = slash ? slash : end;
    out->start[out->count] = p;
    out->len[out->count] = (size_t)(stop - p);
    out->count++;
    if (!slash)
      return 0;
    p = slash + 1;
  }
}

/* Matches a request path against a requestUri path template. Returns a score
 * (higher is more specific) or -1; when labels is given, fills it with the
 * decoded label values (greedy labels keep their '/'). */
static int match_path(const char *tmpl, const char *path, json_t *labels) {
  segs t, p;
  const char *q = strchr(tmpl, '?');
  if (split(&t, tmpl, q ? (size_t)(q - tmpl) : strlen(tmpl)) < 0 ||
      split(&p, path, strlen(path)) < 0)
    return -1;
  int score = 0;
  size_t i = 0;
  for (; i < t.count; i++) {
    const char *ts = t.start[i];
    size_t tl = t.len[i];
    if (tl >= 2 && ts[0] == '{' && ts[tl - 1] == '}') {
      int greedy = tl >= 3 && ts[tl - 2] == '+';
      if (i >= p.count)
        return -1;
      const char *vs = p.start[i];
      size_t vl = greedy ? (size_t)(p.start[p.count - 1] + p.len[p.count - 1] - vs) : p.len[i];
      if (vl == 0)
        return -1;
      if (labels) {
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(tl - 2 - (greedy ? 1 : 0)), ts + 1);
        char *decoded = http_percent_decode(vs, vl, 0, 1, NULL);
        json_t *s = decoded ? json_string(decoded) : NULL;
        free(decoded);
        if (!s)
          return -2; /* a bad escape, %00 or bytes that are not UTF-8 */
        json_object_set_new(labels, name, s);
      }
      score += 1;
      if (greedy) {
        i = t.count;
        p.count = t.count; /* everything consumed */
        break;
      }
    } else {
      /* A template's trailing slash is optional in the request. */
      if (tl == 0 && i == t.count - 1 && i == p.count)
        break;
      if (i >= p.count || p.len[i] != tl || memcmp(p.start[i], ts, tl) != 0)
        return -1;
      score += tl ? 10 : 1;
    }
  }
  /* Leftover request segments: only a single trailing slash is tolerated. */
  if (p.count > t.count && !(p.count == t.count + 1 && p.len[p.count - 1] == 0))
    return -1;
  return score;
}

/* Checks the literal query part of a requestUri ("uploads", "list-type=2")
 * against the request's parameters. Returns the extra score or -1. */
static int match_query(const char *tmpl, const json_t *params) {
  const char *q = strchr(tmpl, '?');
  if (!q)
    return 0;
  int score = 0;
  char piece[256];
  for (const char *p = q + 1; *p;) {
    size_t n = strcspn(p, "&");
    size_t copy = n < sizeof(piece) ? n : sizeof(piece) - 1;
    memcpy(piece, p, copy);
    piece[copy] = '\0';
    p += n;
    if (*p == '&')
      p++;
    if (!piece[0])
      continue;
    char *eq = strchr(piece, '=');
    if (eq)
      *eq = '\0';
    /* x-id only names the operation for logs; SDKs differ on sending it. */
    if (strcmp(piece, "x-id") == 0)
      continue;
    const char *have = json_string_value(json_object_get(params, piece));
    if (!have || (eq && strcmp(have, eq + 1) != 0))
      return -1;
    score += 20;
  }
  return score;
}

/* Operations sharing method and URI (PutObject, CopyObject, UploadPart)
 * differ by required headers (x-amz-copy-source) or query parameters
 * (uploadId): an operation whose required one is absent does not match; each
 * present one makes it more specific. */
static int match_required(const aws_model *m, const json_t *op, const aws_http_in *in,
                          const json_t *params) {
  const json_t *shape = aws_model_ref_shape(m, json_object_get(op, "input"));
  const json_t *members = json_object_get(shape, "members");
  int score = 0;
  size_t i;
  json_t *req;
  json_array_foreach(json_object_get(shape, "required"), i, req) {
    const json_t *mref = json_object_get(members, json_string_value(req));
    const char *location = aws_json_str(mref, "location");
    const char *name = aws_json_str(mref, "locationName");
    if (!location || !name)
      continue;
    if (strcmp(location, "header") == 0) {
      if (!in->header(in->ctx, name))
        return -1;
    } else if (strcmp(location, "querystring") == 0) {
      if (!json_object_get(params, name))
        return -1;
    } else {
      continue;
    }
    score += 5;
  }
  return score;
}

static int query_object(json_t **out, aws_error *err, const aws_http_in *in) {
  http_query_pair *pairs = NULL;
  size_t count = 0;
  json_t *obj = json_object();
  if (in->query && *in->query) {
    int rc = http_query_parse(&pairs, &count, in->query, strlen(in->query), AWS_MAX_QUERY_PAIRS);
    if (rc < 0) {
      json_decref(obj);
      return aws_error_set(err, 400, "InvalidArgument", "The query string is malformed: %s",
                           airgap_error_last());
    }
  }
  for (size_t i = 0; i < count; i++) {
    json_t *v = json_string(pairs[i].value);
    json_t *list = json_object_get(obj, pairs[i].name);
    if (!v) {
      http_query_free(pairs, count);
      json_decref(obj);
      return aws_error_set(err, 400, "InvalidArgument", "A query parameter is not valid UTF-8.");
    }
    if (!list) {
      list = json_array();
      json_object_set_new(obj, pairs[i].name, list);
    }
    json_array_append_new(list, v);
  }
  http_query_free(pairs, count);
  *out = obj; /* name → [values] */
  return 0;
}

/* First values only, for matching. */
static json_t *first_values(const json_t *multi) {
  json_t *obj = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)multi, k, v) json_object_set(obj, k, json_array_get(v, 0));
  return obj;
}

typedef struct rest_route {
  const char *name, *method, *uri; /* borrowed from the model */
  const json_t *op;
  int deprecated;
} rest_route;

typedef struct rest_routes {
  const aws_model *model;
  rest_route *routes;
  size_t count;
  struct rest_routes *next;
} rest_routes;

/* One index per model, never freed (as the models). Published with release
 * stores and never changed after, so requests read the list without the lock;
 * the lock only keeps two first uses from indexing the same model twice. */
static pthread_mutex_t routes_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(rest_routes *) routes_all;

static rest_routes *routes_find(rest_routes *r, const aws_model *m) {
  while (r && r->model != m)
    r = r->next;
  return r;
}

/* The model's routes, indexed on first use; NULL when out of memory. */
static const rest_routes *routes_of(const aws_model *m) {
  rest_routes *r = routes_find(atomic_load_explicit(&routes_all, memory_order_acquire), m);
  if (r)
    return r;
  pthread_mutex_lock(&routes_lock);
  rest_routes *head = atomic_load_explicit(&routes_all, memory_order_acquire);
  r = routes_find(head, m);
  if (!r && (r = calloc(1, sizeof(*r))) != NULL) {
    const json_t *ops = aws_model_operations(m);
    r->model = m;
    r->routes = calloc(json_object_size(ops) + 1, sizeof(*r->routes));
    if (!r->routes) {
      free(r);
      r = NULL;
    } else {
      const char *name;
      json_t *op;
      json_object_foreach((json_t *)ops, name, op) {
        const json_t *http = json_object_get(op, "http");
        rest_route *rt = &r->routes[r->count];
        rt->name = name;
        rt->method = aws_json_str(http, "method");
        rt->uri = aws_json_str(http, "requestUri");
        rt->op = op;
        rt->deprecated = aws_json_bool(op, "deprecated");
        if (rt->method && rt->uri)
          r->count++;
      }
      r->next = head;
      atomic_store_explicit(&routes_all, r, memory_order_release);
    }
  }
  pthread_mutex_unlock(&routes_lock);
  return r;
}

int aws_rest_operation(const char **out, aws_error *err, const aws_model *m, aws_protocol p,
                       const aws_http_in *in) {
  const rest_routes *routes = routes_of(m);
  if (!routes)
    return aws_error_set(err, 500, "InternalFailure", "out of memory");
  json_t *multi = NULL;
  int error = query_object(&multi, err, in);
  if (error < 0)
    return error;
  json_t *params = first_values(multi);
  json_decref(multi);
  const char *best = NULL, *lacking = NULL;
  int best_score = -1, path_matched = 0;
  /* Pass 0: the operations of the request's method. Pass 1, only when no
   * operation matched the path there: the others, to tell 405 from 404. */
  for (int pass = 0; pass < 2 && !path_matched; pass++) {
    for (size_t i = 0; i < routes->count; i++) {
      const rest_route *rt = &routes->routes[i];
      if ((strcasecmp(rt->method, in->method) == 0) != (pass == 0))
        continue;
      int ps = match_path(rt->uri, in->path, NULL);
      if (ps < 0)
        continue;
      int qs = match_query(rt->uri, params);
      if (qs < 0)
        continue;
      path_matched = 1;
      if (pass == 1)
        break;
      int hs = match_required(m, rt->op, in, params);
      if (hs < 0) {
        if (!lacking)
          lacking = rt->name;
        continue;
      }
      /* A deprecated operation (GetBucketLifecycle) loses a tie with its
       * successor on the same URI (GetBucketLifecycleConfiguration). */
      if (rt->deprecated)
        hs -= 1;
      if (ps + qs + hs > best_score) {
        best_score = ps + qs + hs;
        best = rt->name;
      }
    }
  }
  json_decref(params);
  /* rest-json: the one operation of this method and path, though a required
   * member is missing, so the service answers AWS's "Member must not be
   * null" instead of an unknown operation (rest-xml's S3 tells operations
   * apart by such members, so it keeps the strict match). */
  if (!best && lacking && p == AWS_PROTOCOL_REST_JSON)
    best = lacking;
  if (!best) {
    if (p == AWS_PROTOCOL_REST_XML)
      return aws_error_set(
          err, path_matched ? 405 : 404, path_matched ? "MethodNotAllowed" : "NotImplemented",
          "No %s operation matches %s %.200s.", aws_model_name(m), in->method, in->path);
    return aws_error_set(err, 404, "UnknownOperationException",
                         "No %s operation matches %s %.200s.", aws_model_name(m), in->method,
                         in->path);
  }
  *out = best;
  return 0;
}

typedef struct header_prefix {
  const char *prefix;
  json_t *map;
} header_prefix;

static int collect_prefixed(const char *name, const char *value, void *payload) {
  header_prefix *hp = payload;
  size_t n = strlen(hp->prefix);
  if (strncasecmp(name, hp->prefix, n) != 0 || !name[n])
    return 0;
  char *key = strdup(name + n);
  if (!key)
    return 1;
  for (char *c = key; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  json_t *v = json_string(value);
  if (v)
    json_object_set_new(hp->map, key, v);
  free(key);
  return json_object_size(hp->map) > AWS_MAX_LIST_ITEMS;
}

/* A copy of a structure shape without located members or "required", used to
 * read the body members alone. */
static json_t *body_shape(const json_t *shape) {
  json_t *copy = json_object();
  json_t *members = json_object();
  const char *member;
  json_t *mref;
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    if (!json_object_get(mref, "location"))
      json_object_set(members, member, mref);
  }
  json_object_set_new(copy, "type", json_string("structure"));
  json_object_set_new(copy, "members", members);
  return copy;
}

static int located_member(json_t *input, aws_parse_ctx *ctx, const aws_http_in *in,
                          const char *member, const json_t *mref, const json_t *labels,
                          json_t *query, json_t *bound_query) {
  const json_t *mshape = aws_model_ref_shape(ctx->m, mref);
  const char *type = aws_shape_type(mshape);
  const char *location = aws_json_str(mref, "location");
  const char *loc = aws_json_str(mref, "locationName");
  if (!loc)
    loc = member;
  json_t *v = NULL;
  int error = 0;
  if (strcmp(location, "uri") == 0) {
    const char *text = json_string_value(json_object_get(labels, loc));
    if (text)
      error = aws_scalar_from_text(&v, ctx, mref, mshape, text, member, "iso8601");
  } else if (strcmp(location, "querystring") == 0) {
    if (strcmp(type, "map") == 0) {
      return 0; /* filled after the named parameters (see aws_rest_parse) */
    }
    const json_t *values = json_object_get(query, loc);
    if (values) {
      json_object_set_new(bound_query, loc, json_true());
      if (strcmp(type, "list") == 0) {
        const json_t *iref = json_object_get(mshape, "member");
        v = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(values, i, item) {
          json_t *conv = NULL;
          error = aws_scalar_from_text(&conv, ctx, iref, aws_model_ref_shape(ctx->m, iref),
                                       json_string_value(item), member, "iso8601");
          if (error < 0)
            break;
          json_array_append_new(v, conv);
        }
      } else {
        error = aws_scalar_from_text(
            &v, ctx, mref, mshape, json_string_value(json_array_get(values, 0)), member, "iso8601");
      }
    }
  } else if (strcmp(location, "header") == 0) {
    const char *text = in->header(in->ctx, loc);
    if (text && strcmp(type, "list") == 0) {
      const json_t *iref = json_object_get(mshape, "member");
      v = json_array();
      for (const char *p = text; *p && error == 0;) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        p = *e ? e + 1 : e;
        while (s < e && isspace((unsigned char)*s))
          s++;
        while (e > s && isspace((unsigned char)e[-1]))
          e--;
        if (s == e)
          continue;
        char *piece = strndup(s, (size_t)(e - s));
        json_t *conv = NULL;
        error = piece ? aws_scalar_from_text(&conv, ctx, iref, aws_model_ref_shape(ctx->m, iref),
                                             piece, member, "rfc822")
                      : aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
        free(piece);
        if (error == 0)
          json_array_append_new(v, conv);
      }
    } else if (text) {
      error = aws_scalar_from_text(&v, ctx, mref, mshape, text, member, "rfc822");
    }
  } else if (strcmp(location, "headers") == 0) {
    header_prefix hp = {loc, json_object()};
    if (in->headers_foreach)
      in->headers_foreach(in->ctx, collect_prefixed, &hp);
    if (json_object_size(hp.map))
      v = hp.map;
    else
      json_decref(hp.map);
  }
  if (error < 0) {
    json_decref(v);
    return error;
  }
  if (v)
    json_object_set_new(input, member, v);
  return 0;
}

static int parse_body(json_t **out, aws_parse_ctx *ctx, aws_protocol p, const json_t *ref,
                      const json_t *shape, const aws_http_in *in) {
  if (p == AWS_PROTOCOL_REST_JSON) {
    json_error_t jerr;
    json_t *doc = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
      return aws_error_set(ctx->err, 400, ctx->malformed_code,
                           "The request body is not valid JSON: %s", jerr.text);
    return aws_value_take_json(out, ctx, ref, shape, doc);
  }
  aws_xml_node *root = NULL;
  int error = aws_xml_parse(&root, ctx, in->body, in->body_len);
  if (error < 0)
    return error;
  error = aws_value_from_xml(out, ctx, ref, shape, root, 0);
  aws_xml_free(root);
  return error;
}

int aws_rest_parse(json_t **out, aws_error *err, const aws_model *m, aws_protocol p,
                   const char *operation, const aws_http_in *in) {
  aws_parse_ctx ctx;
  aws_parse_ctx_init(&ctx, m, p, err);
  const json_t *op = aws_model_operation(m, operation);
  const json_t *iref = json_object_get(op, "input");
  const json_t *shape = aws_model_ref_shape(m, iref);
  const char *uri = aws_json_str(json_object_get(op, "http"), "requestUri");
  json_t *input = json_object(), *labels = json_object(), *query = NULL;
  json_t *bound_query = json_object();
  json_t *body = NULL, *bshape = NULL;
  int error = query_object(&query, err, in);
  if (error < 0)
    goto cleanup;
  if (!shape)
    goto done;
  int matched = uri ? match_path(uri, in->path, labels) : 0;
  if (matched == -2 && p == AWS_PROTOCOL_REST_XML) { /* S3's answer to such a path */
    error = aws_error_set(err, 400, "InvalidURI", "Couldn't parse the specified URI.");
    goto cleanup;
  }
  if (matched < 0) {
    error = aws_error_set(err, 400, ctx.type_code, "The request path does not fit %s.", operation);
    goto cleanup;
  }
  const char *member;
  json_t *mref;
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    if (!json_object_get(mref, "location"))
      continue;
    error = located_member(input, &ctx, in, member, mref, labels, query, bound_query);
    if (error < 0)
      goto cleanup;
  }
  /* A querystring map takes every parameter no named member took. */
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    const char *location = aws_json_str(mref, "location");
    const json_t *mshape = aws_model_ref_shape(m, mref);
    if (!location || strcmp(location, "querystring") != 0 ||
        strcmp(aws_shape_type(mshape), "map") != 0)
      continue;
    int lists = strcmp(aws_shape_type(aws_model_ref_shape(m, json_object_get(mshape, "value"))),
                       "list") == 0;
    json_t *map = json_object();
    const char *key;
    json_t *values;
    json_object_foreach(query, key, values) {
      if (json_object_get(bound_query, key))
        continue;
      json_object_set(map, key, lists ? values : json_array_get(values, 0));
    }
    if (json_object_size(map))
      json_object_set_new(input, member, map);
    else
      json_decref(map);
  }
  const char *payload = aws_json_str(shape, "payload");
  const json_t *pref0 =
      payload ? json_object_get(json_object_get(shape, "members"), payload) : NULL;
  if (!in->body && in->body_len > 0 &&
      !(pref0 && (aws_json_bool(pref0, "streaming") ||
                  aws_json_bool(aws_model_ref_shape(m, pref0), "streaming")))) {
    /* The server spilled a body this operation would have to parse. */
    error =
        aws_error_set(err, 413, "RequestEntityTooLarge",
                      "The request body (%zu bytes) is too large for %s.", in->body_len, operation);
    goto cleanup;
  }
  if (payload) {
    const json_t *pref = json_object_get(json_object_get(shape, "members"), payload);
    const json_t *pshape = aws_model_ref_shape(m, pref);
    const char *ptype = aws_shape_type(pshape);
    /* A streaming blob (S3 PutObject/UploadPart Body) is not copied into the
     * input: the handler reads it from the request (memory or spilled file). */
    if (aws_json_bool(pref, "streaming") || aws_json_bool(pshape, "streaming")) {
      /* left for the handler */
    } else if (in->body && in->body_len > 0) {
      if (strcmp(ptype, "blob") == 0) {
        char *b64 = codec_base64_encode((const unsigned char *)in->body, in->body_len);
        body = b64 ? json_string(b64) : NULL;
        free(b64);
        if (!body) {
          error = aws_error_set(err, 500, "InternalFailure", "out of memory");
          goto cleanup;
        }
      } else if (strcmp(ptype, "string") == 0) {
        body = json_stringn(in->body, in->body_len);
        if (!body) {
          error = aws_error_set(err, 400, ctx.type_code, "The request body is not UTF-8 text.");
          goto cleanup;
        }
      } else {
        error = parse_body(&body, &ctx, p, pref, pshape, in);
        if (error < 0)
          goto cleanup;
      }
      json_object_set_new(input, payload, body);
      body = NULL;
    }
  } else if (in->body && in->body_len > 0) {
    bshape = body_shape(shape);
    error = parse_body(&body, &ctx, p, iref, bshape, in);
    if (error < 0)
      goto cleanup;
    json_object_update(input, body);
  }
  error = aws_check_required(&ctx, shape, input, NULL);
  if (error < 0)
    goto cleanup;
done:
  *out = input;
  input = NULL;
cleanup:
  json_decref(input);
  json_decref(labels);
  json_decref(query);
  json_decref(bound_query);
  json_decref(body);
  json_decref(bshape);
  return error;
}

int aws_rest_serialize(aws_http_out *out, const aws_model *m, aws_protocol p, const char *operation,
                       const json_t *output) {
  const json_t *op = aws_model_operation(m, operation);
  const json_t *oref = json_object_get(op, "output");
  const json_t *shape = aws_model_ref_shape(m, oref);
  int status =
      (int)json_integer_value(json_object_get(json_object_get(op, "http"), "responseCode"));
  aws_http_out o;
  memset(&o, 0, sizeof(o));
  o.status = status >= 100 && status <= 599 ? status : 200;
  o.headers = json_object();
  o.content_type = p == AWS_PROTOCOL_REST_JSON ? "application/json" : "application/xml";
  int has_body_members = 0;
  const char *member;
  json_t *mref;
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    const char *location = aws_json_str(mref, "location");
    const json_t *v = json_object_get(output, member);
    const json_t *mshape = aws_model_ref_shape(m, mref);
    const char *loc = aws_json_str(mref, "locationName");
    if (!location) {
      has_body_members = 1;
      continue;
    }
    if (!v)
      continue;
    if (strcmp(location, "statusCode") == 0 && json_is_integer(v)) {
      json_int_t s = json_integer_value(v);
      if (s >= 100 && s <= 599)
        o.status = (int)s;
    } else if (strcmp(location, "header") == 0) {
      char *text = NULL;
      if (strcmp(aws_shape_type(mshape), "list") == 0 && json_is_array(v)) {
        dynbuf b;
        dynbuf_init(&b, 1 << 16);
        const json_t *iref = json_object_get(mshape, "member");
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
          char *t = aws_scalar_to_text(iref, aws_model_ref_shape(m, iref), item, "rfc822");
          if (t) {
            if (b.len)
              dynbuf_puts(&b, ",");
            dynbuf_puts(&b, t);
            free(t);
          }
        }
        text = dynbuf_take(&b, NULL);
      } else {
        text = aws_scalar_to_text(mref, mshape, v, "rfc822");
      }
      if (text && !strchr(text, '\n') && !strchr(text, '\r'))
        json_object_set_new(o.headers, loc ? loc : member, json_string(text));
      free(text);
    } else if (strcmp(location, "headers") == 0 && json_is_object(v)) {
      const char *key;
      json_t *item;
      json_object_foreach((json_t *)v, key, item) {
        const char *text = json_string_value(item);
        char name[512];
        if (!text || strchr(text, '\n') || strchr(text, '\r') || strchr(key, ':') ||
            strchr(key, '\n'))
          continue;
        snprintf(name, sizeof(name), "%s%s", loc ? loc : "", key);
        json_object_set_new(o.headers, name, json_string(text));
      }
    }
  }
  const char *payload = aws_json_str(shape, "payload");
  const json_t *header_type = NULL;
  const char *hk;
  json_t *hv;
  json_object_foreach(o.headers, hk, hv) if (strcasecmp(hk, "Content-Type") == 0) header_type = hv;
  if (payload) {
    const json_t *pref = json_object_get(json_object_get(shape, "members"), payload);
    const json_t *pshape = aws_model_ref_shape(m, pref);
    const char *ptype = aws_shape_type(pshape);
    const json_t *v = json_object_get(output, payload);
    if (v && strcmp(ptype, "blob") == 0 && json_is_string(v)) {
      unsigned char *data = NULL;
      if (codec_base64_decode(&data, &o.body_len, json_string_value(v), json_string_length(v)) <
          0) {
        aws_http_out_free(&o);
        return airgap_error_set(AIRGAP_EINVALID, "%s: payload is not base64", operation);
      }
      o.body = (char *)data;
      o.content_type = "application/octet-stream";
    } else if (v && strcmp(ptype, "string") == 0 && json_is_string(v)) {
      o.body = strdup(json_string_value(v));
      o.body_len = json_string_length(v);
      o.content_type = "text/plain";
    } else if (v) {
      if (p == AWS_PROTOCOL_REST_JSON) {
        json_t *wire = aws_value_to_json(m, pref, pshape, v, 1, 0);
        o.body = wire ? json_dumps(wire, JSON_COMPACT) : NULL;
        o.body_len = o.body ? strlen(o.body) : 0;
        json_decref(wire);
      } else {
        dynbuf b;
        dynbuf_init(&b, AWS_MAX_OUTPUT);
        const char *root = aws_json_str(pref, "locationName");
        if (!root)
          root = aws_json_str(pshape, "locationName");
        dynbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        aws_xml_write_value(&b, m, root ? root : payload, pref, pshape, v, 0);
        o.body = dynbuf_take(&b, &o.body_len);
      }
    }
  } else if (has_body_members && output) {
    if (p == AWS_PROTOCOL_REST_JSON) {
      json_t *bshape = body_shape(shape);
      json_t *wire = aws_value_to_json(m, oref, bshape, output, 1, 0);
      json_decref(bshape);
      o.body = wire ? json_dumps(wire, JSON_COMPACT) : NULL;
      o.body_len = o.body ? strlen(o.body) : 0;
      json_decref(wire);
    } else {
      dynbuf b;
      dynbuf_init(&b, AWS_MAX_OUTPUT);
      const char *root = aws_json_str(shape, "locationName");
      const char *ns = aws_model_meta(m, "xmlNamespace");
      root = root ? root : aws_json_str(oref, "shape");
      dynbuf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s", root);
      if (ns) {
        dynbuf_puts(&b, " xmlns=\"");
        dynbuf_xml(&b, ns, strlen(ns));
        dynbuf_puts(&b, "\"");
      }
      dynbuf_puts(&b, ">");
      aws_xml_write_members(&b, m, shape, output, 0);
      dynbuf_printf(&b, "</%s>", root);
      o.body = dynbuf_take(&b, &o.body_len);
    }
  } else if (p == AWS_PROTOCOL_REST_JSON && has_body_members) {
    o.body = strdup("{}");
    o.body_len = 2;
  }
  if (header_type) {
    o.content_type = NULL; /* the handler's Content-Type header is sent instead */
  }
  if ((o.body_len && !o.body)) {
    aws_http_out_free(&o);
    return airgap_error_set(AIRGAP_ETOOBIG, "the %s response is too large", operation);
  }
  *out = o;
  return 0;
}

char *aws_rest_host_id(const char *request_id) {
  if (!request_id)
    return NULL;
  /* AWS's host ids are opaque base64; one derived from the request id keeps
   * x-amz-id-2 and an error's HostId equal for the same request. */
  unsigned char digest[SHA384_DIGEST_LENGTH];
  SHA384((const unsigned char *)request_id, strlen(request_id), digest);
  return codec_base64_encode(digest, sizeof(digest));
}

void aws_rest_error(aws_http_out *out, const aws_model *m, aws_protocol p, const aws_error *err,
                    int status, const char *code, const char *request_id) {
  const char *message = err->message ? err->message : "";
  out->headers = json_object();
  if (p == AWS_PROTOCOL_REST_JSON) {
    json_t *body = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(err->fields, key, value) json_object_set(body, key, value);
    json_object_set_new(body, "Type", json_string(status >= 500 ? "Service" : "User"));
    json_object_set_new(body, "message", json_string(message));
    out->body = json_dumps(body, JSON_COMPACT);
    out->body_len = out->body ? strlen(out->body) : 0;
    json_decref(body);
    out->content_type = "application/json";
    json_object_set_new(out->headers, "x-amzn-ErrorType", json_string(code));
    return;
  }
  (void)m;
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  dynbuf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
  dynbuf_xml(&b, code, strlen(code));
  dynbuf_puts(&b, "</Code><Message>");
  dynbuf_xml(&b, message, strlen(message));
  dynbuf_puts(&b, "</Message>");
  aws_xml_write_error_fields(&b, err->fields);
  dynbuf_puts(&b, "<RequestId>");
  dynbuf_xml(&b, request_id ? request_id : "", request_id ? strlen(request_id) : 0);
  dynbuf_puts(&b, "</RequestId>");
  char *host_id = aws_rest_host_id(request_id);
  if (host_id) {
    dynbuf_puts(&b, "<HostId>");
    dynbuf_xml(&b, host_id, strlen(host_id));
    dynbuf_puts(&b, "</HostId>");
    free(host_id);
  }
  dynbuf_puts(&b, "</Error>");
  out->body = dynbuf_take(&b, &out->body_len);
  if (!out->body)
    out->body_len = 0;
  out->content_type = "application/xml";
}

char *aws_s3_vhost_path(const char *host, const char *path) {
  if (!host || !path || path[0] != '/')
    return NULL;
  const char *dot = strstr(host, ".s3.");
  if (!dot)
    dot = strstr(host, ".s3-");
  if (!dot) {
    /* "<bucket>.localhost[:port]" */
    const char *lh = strstr(host, ".localhost");
    if (lh && (lh[10] == '\0' || lh[10] == ':') && !(lh - host == 2 && strncmp(host, "s3", 2) == 0))
      dot = lh;
  }
  /* Bucket names are at most 63 characters. */
  if (!dot || dot == host || (size_t)(dot - host) > 63)
    return NULL;
  dynbuf b;
  dynbuf_init(&b, 1 << 16);
  dynbuf_puts(&b, "/");
  dynbuf_append(&b, host, (size_t)(dot - host));
  if (strcmp(path, "/") != 0)
    dynbuf_puts(&b, path);
  return dynbuf_take(&b, NULL);
}
