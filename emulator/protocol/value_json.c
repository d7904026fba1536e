/*
 * value_json.c — the JSON protocols' hot paths: a parsed request body is
 * checked against its shape and turned into the neutral form in place, and
 * a handler's output is written as wire JSON straight into a dynbuf.
 *
 * Why not value.c's tree-to-tree conversions: for a PutRecords of 500
 * records those built a second tree on the way in, and a second tree plus
 * jansson's dump (which allocates for its loop check on every container) on
 * the way out; malloc and free were most of the server's CPU. These walk the
 * compiled shapes of model.c instead of looking the model up per value.
 * Behaviour is value.c's exactly: same checks in the same order, same error
 * codes and messages, same bytes out as json_dumps(JSON_COMPACT). A structure
 * whose JSON keys differ from its member names (locationName) takes value.c's
 * path, since renaming keys in place could clash with keys the client sent.
 */
#include "common/codec.h"
#include "emulator/protocol/protocol_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- in: validation in place ---- */

/* Checks v (borrowed, owned by its parent) against info. When the neutral
 * form differs (numbers made real, timestamps made numbers, a renamed
 * structure rebuilt), *repl receives the replacement (owned). */
static int take(json_t **repl, aws_parse_ctx *ctx, const json_t *ref, const aws_shape_info *info,
                json_t *v, const char *name, int depth) {
  *repl = NULL;
  if (depth > AWS_MAX_DEPTH)
    return aws_error_set(ctx->err, 400, ctx->type_code, "Input nests deeper than %d levels.",
                         AWS_MAX_DEPTH);
  if (!info)
    return aws_type_error(ctx, name, "a value the model describes");
  switch (info->kind) {
  case AWS_SHAPE_STRUCTURE: {
    if (!json_is_object(v))
      return aws_type_error(ctx, name, "an object");
    if (info->renamed && ctx->use_location_names)
      return aws_value_from_json(repl, ctx, ref, info->shape, v, name, depth);
    size_t kept = 0, required = 0;
    for (size_t i = 0; i < info->nmembers; i++) {
      const aws_shape_member *mb = &info->members[i];
      json_t *item = json_object_get(v, mb->name);
      if (!item)
        continue;
      if (json_is_null(item)) {
        json_object_del(v, mb->name);
        continue;
      }
      json_t *r = NULL;
      int error = take(&r, ctx, mb->ref, mb->info, item, mb->name, depth + 1);
      if (error < 0)
        return error;
      if (r)
        json_object_set_new_nocheck(v, mb->name, r);
      kept++;
      required += mb->required;
    }
    if (json_object_size(v) != kept) {
      /* Unknown keys are dropped, as value.c never copies them. */
      const char *key;
      json_t *item;
      void *tmp;
      json_object_foreach_safe(v, tmp, key, item) {
        size_t i = 0;
        while (i < info->nmembers && strcmp(info->members[i].name, key) != 0)
          i++;
        if (i == info->nmembers)
          json_object_del(v, key);
      }
    }
    /* Every required member is present: nothing to look up again. Else
     * value.c's check finds the first one missing, in the model's order. */
    if (!info->required_unknown && required == info->nrequired)
      return 0;
    return aws_check_required(ctx, info->shape, v, name);
  }
  case AWS_SHAPE_LIST: {
    if (!json_is_array(v))
      return aws_type_error(ctx, name, "a list");
    if (json_array_size(v) > AWS_MAX_LIST_ITEMS)
      return aws_error_set(ctx->err, 400, ctx->type_code, "Too many items in %s.", name);
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
      json_t *r = NULL;
      int error = take(&r, ctx, info->item_ref, info->item, item, name, depth + 1);
      if (error < 0)
        return error;
      if (r)
        json_array_set_new(v, i, r);
    }
    return 0;
  }
  case AWS_SHAPE_MAP: {
    if (!json_is_object(v))
      return aws_type_error(ctx, name, "a map");
    if (json_object_size(v) > AWS_MAX_LIST_ITEMS)
      return aws_error_set(ctx->err, 400, ctx->type_code, "Too many entries in %s.", name);
    const char *key;
    json_t *item;
    void *tmp;
    json_object_foreach_safe(v, tmp, key, item) {
      json_t *r = NULL;
      int error = take(&r, ctx, info->item_ref, info->item, item, key, depth + 1);
      if (error < 0)
        return error;
      if (r)
        json_object_set_new_nocheck(v, key, r);
    }
    return 0;
  }
  case AWS_SHAPE_STRING: return json_is_string(v) ? 0 : aws_type_error(ctx, name, "a string");
  case AWS_SHAPE_INTEGER:
    if (!json_is_integer(v) || !aws_integer_in_range(info->type, json_integer_value(v)))
      return aws_type_error(ctx, name, "an integer");
    return 0;
  case AWS_SHAPE_BOOLEAN: return json_is_boolean(v) ? 0 : aws_type_error(ctx, name, "a boolean");
  case AWS_SHAPE_FLOAT:
    if (!json_is_number(v))
      return aws_type_error(ctx, name, "a number");
    if (json_is_integer(v) && !(*repl = json_real(json_number_value(v))))
      return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
    return 0;
  case AWS_SHAPE_TIMESTAMP: {
    double t;
    if ((!json_is_number(v) && !json_is_string(v)) || aws_timestamp_value(&t, v) < 0)
      return aws_type_error(ctx, name, "a timestamp");
    if (!(*repl = aws_timestamp_json(t)))
      return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
    return 0;
  }
  case AWS_SHAPE_BLOB:
    if (!json_is_string(v) || !codec_base64_valid(json_string_value(v), json_string_length(v)))
      return aws_type_error(ctx, name, "base64-encoded data");
    return 0;
  case AWS_SHAPE_OTHER: break;
  }
  return aws_type_error(ctx, name, "a value the model describes");
}

int aws_value_take_json(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                        json_t *doc) {
  const aws_shape_info *info = aws_model_shape_info(ctx->m, shape);
  json_t *r = NULL;
  int error;
  if (!info) /* a shape made up by the caller (rest body shapes): the tree path */
    error = aws_value_from_json(&r, ctx, ref, shape, doc, NULL, 0);
  else
    error = take(&r, ctx, ref, info, doc, NULL, 0);
  if (error < 0) {
    json_decref(r);
    json_decref(doc);
    return error;
  }
  if (r) {
    json_decref(doc);
    doc = r;
  }
  *out = doc;
  return 0;
}

/* ---- out: wire JSON into a dynbuf ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid:
 * jansson's rules (no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
  if (len == 0 || len > n)
    return 0;
  unsigned cp = c & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* Appends s as a JSON string, escaped as jansson escapes it (", \, control
 * characters; nothing else). Invalid UTF-8 fails the buffer, as jansson's
 * dump fails. */
static void write_string(dynbuf *b, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0, i = 0;
  /* Most strings (ids, sequence numbers, base64) need no escaping: written
   * with one copy when the buffer has room. */
  while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
    i++;
  if (i == n && !b->failed && b->data && b->cap - b->len > n + 2) {
    char *d = b->data + b->len;
    d[0] = '"';
    memcpy(d + 1, s, n);
    d[n + 1] = '"';
    d[n + 2] = '\0';
    b->len += n + 2;
    return;
  }
  dynbuf_append(b, "\"", 1);
  while (i < n) {
    unsigned c = p[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0x80) {
      size_t len = utf8_seq(p + i, n - i);
      if (!len) {
        b->failed = 1;
        return;
      }
      i += len;
      continue;
    }
    dynbuf_append(b, s + run, i - run);
    char esc[8];
    switch (c) {
    case '"': dynbuf_append(b, "\\\"", 2); break;
    case '\\': dynbuf_append(b, "\\\\", 2); break;
    case '\b': dynbuf_append(b, "\\b", 2); break;
    case '\f': dynbuf_append(b, "\\f", 2); break;
    case '\n': dynbuf_append(b, "\\n", 2); break;
    case '\r': dynbuf_append(b, "\\r", 2); break;
    case '\t': dynbuf_append(b, "\\t", 2); break;
    default: snprintf(esc, sizeof(esc), "\\u%04X", c); dynbuf_append(b, esc, 6);
    }
    run = ++i;
  }
  dynbuf_append(b, s + run, n - run);
  dynbuf_append(b, "\"", 1);
}

static void write_integer(dynbuf *b, json_int_t v) {
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, v);
  dynbuf_append(b, buf, (size_t)n);
}

/* A real, formatted by jansson itself (its precision and ".0" rules). */
static void write_real(dynbuf *b, double d) {
  char buf[64];
  json_t *r = json_real(d);
  size_t n = r ? json_dumpb(r, buf, sizeof(buf), JSON_ENCODE_ANY) : 0;
  json_decref(r);
  if (n == 0 || n > sizeof(buf))
    b->failed = 1;
  else
    dynbuf_append(b, buf, n);
}

static void write_key(dynbuf *b, const char *key, int first) {
  if (!first)
    dynbuf_append(b, ",", 1);
  write_string(b, key, strlen(key));
  dynbuf_append(b, ":", 1);
}

/* Drops what was appended after mark (a member whose value did not fit). */
static void rewind_to(dynbuf *b, size_t mark) {
  if (b->data && mark <= b->len) {
    b->len = mark;
    b->data[mark] = '\0';
  }
}

static int write_value(dynbuf *b, const aws_model *m, const json_t *ref, const aws_shape_info *info,
                       const json_t *v, int use_loc, int depth) {
  if (depth > AWS_MAX_DEPTH || !v || !info)
    return 0;
  switch (info->kind) {
  case AWS_SHAPE_STRUCTURE: {
    if (!json_is_object(v))
      return 0;
    int first = 1;
    /* Once every key of v is found the other members need no lookup (an
     * answer entry often has 2 of its shape's 4). */
    size_t keys = json_object_size(v), found = 0;
    dynbuf_append(b, "{", 1);
    for (size_t i = 0; i < info->nmembers && found < keys; i++) {
      const aws_shape_member *mb = &info->members[i];
      const json_t *item = json_object_get(v, mb->name);
      if (!item)
        continue;
      found++;
      size_t mark = b->len;
      write_key(b, use_loc ? mb->wire : mb->name, first);
      if (write_value(b, m, mb->ref, mb->info, item, use_loc, depth + 1))
        first = 0;
      else
        rewind_to(b, mark);
    }
    dynbuf_append(b, "}", 1);
    return 1;
  }
  case AWS_SHAPE_LIST: {
    if (!json_is_array(v))
      return 0;
    int first = 1;
    size_t i;
    json_t *item;
    dynbuf_append(b, "[", 1);
    json_array_foreach(v, i, item) {
      size_t mark = b->len;
      if (!first)
        dynbuf_append(b, ",", 1);
      if (write_value(b, m, info->item_ref, info->item, item, use_loc, depth + 1))
        first = 0;
      else
        rewind_to(b, mark);
    }
    dynbuf_append(b, "]", 1);
    return 1;
  }
  case AWS_SHAPE_MAP: {
    if (!json_is_object(v))
      return 0;
    int first = 1;
    const char *key;
    json_t *item;
    dynbuf_append(b, "{", 1);
    json_object_foreach((json_t *)v, key, item) {
      size_t mark = b->len;
      write_key(b, key, first);
      if (write_value(b, m, info->item_ref, info->item, item, use_loc, depth + 1))
        first = 0;
      else
        rewind_to(b, mark);
    }
    dynbuf_append(b, "}", 1);
    return 1;
  }
  case AWS_SHAPE_TIMESTAMP: {
    double t;
    if (aws_timestamp_value(&t, v) < 0)
      return 0;
    const char *format = aws_timestamp_format_of(ref, info->shape, "unixTimestamp");
    if (strcmp(format, "unixTimestamp") != 0) {
      char buf[64];
      aws_timestamp_format(buf, sizeof(buf), t, format);
      write_string(b, buf, strlen(buf));
    } else if (fabs(t) < 9e15 && t == (double)(json_int_t)t) { /* aws_timestamp_json's */
      write_integer(b, (json_int_t)t);
    } else {
      write_real(b, t);
    }
    return 1;
  }
  case AWS_SHAPE_STRING:
  case AWS_SHAPE_BLOB:
    if (!json_is_string(v))
      return 0;
    write_string(b, json_string_value(v), json_string_length(v));
    return 1;
  case AWS_SHAPE_INTEGER:
    if (!json_is_integer(v))
      return 0;
    write_integer(b, json_integer_value(v));
    return 1;
  case AWS_SHAPE_BOOLEAN:
    if (!json_is_boolean(v))
      return 0;
    dynbuf_puts(b, json_is_true(v) ? "true" : "false");
    return 1;
  case AWS_SHAPE_FLOAT:
    if (json_is_integer(v))
      write_integer(b, json_integer_value(v));
    else if (json_is_real(v))
      write_real(b, json_real_value(v));
    else
      return 0;
    return 1;
  case AWS_SHAPE_OTHER: break;
  }
  return 0;
}

static int append_dump(const char *buffer, size_t size, void *data) {
  dynbuf *b = data;
  dynbuf_append(b, buffer, size);
  return dynbuf_failed(b) ? -1 : 0;
}

int aws_value_write_json(dynbuf *b, const aws_model *m, const json_t *ref, const json_t *shape,
                         const json_t *v, int use_location_names) {
  const aws_shape_info *info = aws_model_shape_info(m, shape);
  if (!info) { /* a shape made up by the caller: the tree path */
    json_t *wire = aws_value_to_json(m, ref, shape, v, use_location_names, 0);
    if (!wire)
      return 0;
    int rc = json_dump_callback(wire, append_dump, b, JSON_COMPACT);
    json_decref(wire);
    return rc == 0;
  }
  size_t mark = b->len;
  if (write_value(b, m, ref, info, v, use_location_names, 0))
    return 1;
  rewind_to(b, mark);
  return 0;
}
