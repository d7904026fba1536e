/*
 * protocol_xml.c — XML for the query and rest-xml protocols: a writer that
 * renders neutral values by their shapes (flattened lists and maps,
 * locationName, xmlAttribute, xmlNamespace, as botocore reads them), and a
 * reader that turns a request body into a small DOM with expat and then into
 * neutral values.
 *
 * The reader refuses DTDs (so no entity expansion of any kind), bounds depth
 * and element count, and keeps only element names, attributes and text — all
 * the AWS XML protocols use.
 */
#include "common/error.h"
#include "emulator/protocol/protocol_int.h"

#include <ctype.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ---- */

const char *aws_xml_member_name(const aws_model *m, const char *member, const json_t *ref) {
  const json_t *shape = aws_model_ref_shape(m, ref);
  if (strcmp(aws_shape_type(shape), "list") == 0 &&
      (aws_json_bool(ref, "flattened") || aws_json_bool(shape, "flattened"))) {
    const char *item = aws_model_ref_name(m, json_object_get(shape, "member"));
    if (item)
      return item;
  }
  const char *loc = aws_model_ref_name(m, ref);
  return loc ? loc : member;
}

static void write_namespace(dynbuf *b, const json_t *ns) {
  const char *uri = aws_json_str(ns, "uri");
  if (!uri)
    return;
  const char *prefix = aws_json_str(ns, "prefix");
  if (prefix)
    dynbuf_printf(b, " xmlns:%s=\"", prefix);
  else
    dynbuf_puts(b, " xmlns=\"");
  dynbuf_xml(b, uri, strlen(uri));
  dynbuf_puts(b, "\"");
}

static void write_open(dynbuf *b, const aws_model *m, const char *name, const json_t *ref,
                       const json_t *shape, const json_t *v) {
  dynbuf_printf(b, "<%s", name);
  write_namespace(b, json_object_get(ref, "xmlNamespace"));
  if (!json_object_get(ref, "xmlNamespace"))
    write_namespace(b, json_object_get(shape, "xmlNamespace"));
  if (strcmp(aws_shape_type(shape), "structure") == 0) {
    const char *member;
    json_t *mref;
    json_object_foreach(json_object_get(shape, "members"), member, mref) {
      if (!aws_json_bool(mref, "xmlAttribute"))
        continue;
      const json_t *item = json_object_get(v, member);
      char *text =
          item ? aws_scalar_to_text(mref, aws_model_ref_shape(m, mref), item, "iso8601") : NULL;
      if (!text)
        continue;
      const char *attr = aws_json_str(mref, "locationName");
      dynbuf_printf(b, " %s=\"", attr ? attr : member);
      dynbuf_xml(b, text, strlen(text));
      dynbuf_puts(b, "\"");
      free(text);
    }
  }
  dynbuf_puts(b, ">");
}

void aws_xml_write_members(dynbuf *b, const aws_model *m, const json_t *shape, const json_t *obj,
                           int depth) {
  const char *member;
  json_t *mref;
  if (!json_is_object(obj))
    return;
  json_object_foreach(json_object_get(shape, "members"), member, mref) {
    const json_t *item = json_object_get(obj, member);
    if (!item || aws_json_bool(mref, "xmlAttribute") || json_object_get(mref, "location"))
      continue;
    aws_xml_write_value(b, m, aws_xml_member_name(m, member, mref), mref,
                        aws_model_ref_shape(m, mref), item, depth + 1);
  }
}

void aws_xml_write_value(dynbuf *b, const aws_model *m, const char *name, const json_t *ref,
                         const json_t *shape, const json_t *v, int depth) {
  const char *type = aws_shape_type(shape);
  if (depth > AWS_MAX_DEPTH)
    return;
  int flattened = aws_json_bool(ref, "flattened") || aws_json_bool(shape, "flattened");
  if (strcmp(type, "structure") == 0) {
    if (!json_is_object(v))
      return;
    write_open(b, m, name, ref, shape, v);
    aws_xml_write_members(b, m, shape, v, depth);
    dynbuf_printf(b, "</%s>", name);
  } else if (strcmp(type, "list") == 0) {
    if (!json_is_array(v))
      return;
    const json_t *mref = json_object_get(shape, "member");
    const json_t *mshape = aws_model_ref_shape(m, mref);
    const char *item_name = aws_model_ref_name(m, mref);
    size_t i;
    json_t *item;
    if (flattened) {
      json_array_foreach(v, i, item) aws_xml_write_value(b, m, name, mref, mshape, item, depth + 1);
      return;
    }
    write_open(b, m, name, ref, shape, v);
    json_array_foreach(v, i, item) {
      aws_xml_write_value(b, m, item_name ? item_name : "member", mref, mshape, item, depth + 1);
    }
    dynbuf_printf(b, "</%s>", name);
  } else if (strcmp(type, "map") == 0) {
    if (!json_is_object(v))
      return;
    const json_t *kref = json_object_get(shape, "key");
    const json_t *vref = json_object_get(shape, "value");
    const char *kname = aws_model_ref_name(m, kref);
    const char *vname = aws_model_ref_name(m, vref);
    const json_t *vshape = aws_model_ref_shape(m, vref);
    const char *key;
    json_t *item;
    if (!flattened)
      write_open(b, m, name, ref, shape, v);
    json_object_foreach((json_t *)v, key, item) {
      dynbuf_printf(b, "<%s>", flattened ? name : "entry");
      dynbuf_printf(b, "<%s>", kname ? kname : "key");
      dynbuf_xml(b, key, strlen(key));
      dynbuf_printf(b, "</%s>", kname ? kname : "key");
      aws_xml_write_value(b, m, vname ? vname : "value", vref, vshape, item, depth + 1);
      dynbuf_printf(b, "</%s>", flattened ? name : "entry");
    }
    if (!flattened)
      dynbuf_printf(b, "</%s>", name);
  } else {
    char *text = aws_scalar_to_text(ref, shape, v, "iso8601");
    if (!text)
      return;
    write_open(b, m, name, ref, shape, v);
    dynbuf_xml(b, text, strlen(text));
    dynbuf_printf(b, "</%s>", name);
    free(text);
  }
}

void aws_xml_write_error_fields(dynbuf *b, const json_t *fields) {
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)fields, key, value) {
    char num[64];
    const char *text = json_string_value(value);
    if (!text && json_is_integer(value)) {
      snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(value));
      text = num;
    }
    if (!text)
      continue;
    dynbuf_printf(b, "<%s>", key);
    dynbuf_xml(b, text, strlen(text));
    dynbuf_printf(b, "</%s>", key);
  }
}

/* ---- reader ---- */

struct aws_xml_node {
  char *name;   /* as written, possibly "prefix:local" */
  char **attrs; /* NULL-terminated name, value, name, value … */
  char *text;
  size_t text_len;
  struct aws_xml_node *parent, *first, *last, *next;
};

typedef struct xml_reader {
  XML_Parser parser;
  aws_xml_node *root;
  aws_xml_node *current;
  size_t nodes;
  int depth;
  const char *failure; /* why we stopped the parser */
} xml_reader;

static void node_free(aws_xml_node *n) {
  while (n) {
    aws_xml_node *next = n->next;
    node_free(n->first);
    free(n->name);
    for (size_t i = 0; n->attrs && n->attrs[i]; i++)
      free(n->attrs[i]);
    free(n->attrs);
    free(n->text);
    free(n);
    n = next;
  }
}

void aws_xml_free(aws_xml_node *node) { node_free(node); }

static void stop(xml_reader *r, const char *why) {
  if (!r->failure)
    r->failure = why;
  XML_StopParser(r->parser, XML_FALSE);
}

static void on_start(void *data, const XML_Char *name, const XML_Char **attrs) {
  xml_reader *r = data;
  if (r->failure)
    return;
  if (++r->depth > AWS_MAX_DEPTH) {
    stop(r, "the XML nests too deeply");
    return;
  }
  if (++r->nodes > AWS_MAX_XML_NODES) {
    stop(r, "the XML has too many elements");
    return;
  }
  if (!r->current && r->root) {
    stop(r, "the XML has more than one root element");
    return;
  }
  aws_xml_node *n = calloc(1, sizeof(*n));
  size_t count = 0;
  while (attrs && attrs[count])
    count++;
  if (n) {
    n->name = strdup(name);
    n->attrs = calloc(count + 1, sizeof(char *));
  }
  if (!n || !n->name || !n->attrs) {
    node_free(n);
    stop(r, "out of memory");
    return;
  }
  for (size_t i = 0; i < count; i++)
    n->attrs[i] = strdup(attrs[i]);
  n->parent = r->current;
  if (r->current) {
    if (r->current->last)
      r->current->last->next = n;
    else
      r->current->first = n;
    r->current->last = n;
  } else {
    r->root = n;
  }
  r->current = n;
}

static void on_end(void *data, const XML_Char *name) {
  xml_reader *r = data;
  (void)name;
  if (r->failure || !r->current)
    return;
  r->depth--;
  r->current = r->current->parent;
}

static void on_text(void *data, const XML_Char *s, int len) {
  xml_reader *r = data;
  aws_xml_node *n = r->current;
  if (r->failure || !n || len <= 0)
    return;
  char *text = realloc(n->text, n->text_len + (size_t)len + 1);
  if (!text) {
    stop(r, "out of memory");
    return;
  }
  memcpy(text + n->text_len, s, (size_t)len);
  n->text_len += (size_t)len;
  text[n->text_len] = '\0';
  n->text = text;
}

static void on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  stop(data, "document type declarations are not accepted");
}

static void on_entity(void *data, const XML_Char *name, int is_param, const XML_Char *value,
                      int value_len, const XML_Char *base, const XML_Char *system_id,
                      const XML_Char *public_id, const XML_Char *notation) {
  (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)system_id;
  (void)public_id, (void)notation;
  stop(data, "entity declarations are not accepted");
}

int aws_xml_parse(aws_xml_node **out, aws_parse_ctx *ctx, const char *body, size_t len) {
  xml_reader r;
  memset(&r, 0, sizeof(r));
  if (len > (size_t)1 << 30)
    return aws_error_set(ctx->err, 400, ctx->malformed_code, "The XML body is too large.");
  r.parser = XML_ParserCreate("UTF-8");
  if (!r.parser)
    return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
  XML_SetUserData(r.parser, &r);
  XML_SetElementHandler(r.parser, on_start, on_end);
  XML_SetCharacterDataHandler(r.parser, on_text);
  XML_SetStartDoctypeDeclHandler(r.parser, on_doctype);
  XML_SetEntityDeclHandler(r.parser, on_entity);
  enum XML_Status st = XML_Parse(r.parser, body ? body : "", (int)len, XML_TRUE);
  int error = 0;
  if (r.failure)
    error = aws_error_set(ctx->err, 400, ctx->malformed_code,
                          "The XML you provided was not well-formed: %s.", r.failure);
  else if (st != XML_STATUS_OK)
    error = aws_error_set(ctx->err, 400, ctx->malformed_code,
                          "The XML you provided was not well-formed: %s at line %lu.",
                          XML_ErrorString(XML_GetErrorCode(r.parser)),
                          (unsigned long)XML_GetCurrentLineNumber(r.parser));
  else if (!r.root)
    error = aws_error_set(ctx->err, 400, ctx->malformed_code, "The XML body is empty.");
  XML_ParserFree(r.parser);
  if (error < 0) {
    node_free(r.root);
    return error;
  }
  *out = r.root;
  return 0;
}

const char *aws_xml_node_name(const aws_xml_node *node) {
  const char *colon = strchr(node->name, ':');
  return colon ? colon + 1 : node->name;
}

static int name_is(const aws_xml_node *n, const char *name) {
  const char *colon = strchr(name, ':');
  return strcmp(aws_xml_node_name(n), colon ? colon + 1 : name) == 0;
}

static const char *node_attr(const aws_xml_node *n, const char *name) {
  for (size_t i = 0; n->attrs[i] && n->attrs[i + 1]; i += 2) {
    const char *an = n->attrs[i];
    const char *colon = strchr(an, ':');
    const char *want = strchr(name, ':');
    if (strcmp(an, name) == 0 || strcmp(colon ? colon + 1 : an, want ? want + 1 : name) == 0)
      return n->attrs[i + 1];
  }
  return NULL;
}

static const aws_xml_node *child(const aws_xml_node *n, const char *name) {
  for (const aws_xml_node *c = n->first; c; c = c->next)
    if (name_is(c, name))
      return c;
  return NULL;
}

/* Text of a node with surrounding whitespace removed (for non-string scalars). */
static char *trimmed(const aws_xml_node *n) {
  const char *s = n->text ? n->text : "";
  size_t len = n->text ? n->text_len : 0;
  while (len && isspace((unsigned char)*s))
    s++, len--;
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  return strndup(s, len);
}

static int xml_list_items(json_t **out, aws_parse_ctx *ctx, const json_t *shape,
                          const aws_xml_node *parent, const char *item_name, int depth) {
  const json_t *mref = json_object_get(shape, "member");
  const json_t *mshape = aws_model_ref_shape(ctx->m, mref);
  json_t *arr = json_array();
  size_t count = 0;
  for (const aws_xml_node *c = parent->first; c; c = c->next) {
    if (!name_is(c, item_name))
      continue;
    if (++count > AWS_MAX_LIST_ITEMS)
      break;
    json_t *item = NULL;
    int error = aws_value_from_xml(&item, ctx, mref, mshape, c, depth + 1);
    if (error < 0) {
      json_decref(arr);
      return error;
    }
    json_array_append_new(arr, item);
  }
  *out = arr;
  return 0;
}

static int xml_map_entries(json_t **out, aws_parse_ctx *ctx, const json_t *shape,
                           const aws_xml_node *parent, const char *entry_name, int depth) {
  const json_t *kref = json_object_get(shape, "key");
  const json_t *vref = json_object_get(shape, "value");
  const char *kname = aws_model_ref_name(ctx->m, kref);
  const char *vname = aws_model_ref_name(ctx->m, vref);
  json_t *obj = json_object();
  for (const aws_xml_node *c = parent->first; c; c = c->next) {
    if (!name_is(c, entry_name))
      continue;
    const aws_xml_node *k = child(c, kname ? kname : "key");
    const aws_xml_node *v = child(c, vname ? vname : "value");
    json_t *item = NULL;
    int error = 0;
    if (!k || !v)
      error =
          aws_error_set(ctx->err, 400, ctx->malformed_code, "A map entry lacks its key or value.");
    else
      error = aws_value_from_xml(&item, ctx, vref, aws_model_ref_shape(ctx->m, vref), v, depth + 1);
    if (error < 0) {
      json_decref(obj);
      return error;
    }
    /* expat hands over UTF-8 only, so every key is a valid JSON string. */
    json_object_set_new(obj, k->text ? k->text : "", item);
  }
  *out = obj;
  return 0;
}

int aws_value_from_xml(json_t **out, aws_parse_ctx *ctx, const json_t *ref, const json_t *shape,
                       const aws_xml_node *node, int depth) {
  const char *type = aws_shape_type(shape);
  if (depth > AWS_MAX_DEPTH)
    return aws_error_set(ctx->err, 400, ctx->malformed_code, "The XML nests too deeply.");
  if (strcmp(type, "structure") == 0) {
    json_t *obj = json_object();
    const char *member;
    json_t *mref;
    int error = 0;
    json_object_foreach(json_object_get(shape, "members"), member, mref) {
      const json_t *mshape = aws_model_ref_shape(ctx->m, mref);
      const char *mtype = aws_shape_type(mshape);
      int flattened = aws_json_bool(mref, "flattened") || aws_json_bool(mshape, "flattened");
      const char *name = aws_xml_member_name(ctx->m, member, mref);
      json_t *v = NULL;
      if (json_object_get(mref, "location"))
        continue;
      if (aws_json_bool(mref, "xmlAttribute")) {
        const char *text = node_attr(node, name);
        if (text)
          error = aws_scalar_from_text(&v, ctx, mref, mshape, text, member, "iso8601");
      } else if (flattened && strcmp(mtype, "list") == 0) {
        if (child(node, name))
          error = xml_list_items(&v, ctx, mshape, node, name, depth);
      } else if (flattened && strcmp(mtype, "map") == 0) {
        if (child(node, name))
          error = xml_map_entries(&v, ctx, mshape, node, name, depth);
      } else {
        const aws_xml_node *c = child(node, name);
        if (c)
          error = aws_value_from_xml(&v, ctx, mref, mshape, c, depth + 1);
      }
      if (error < 0) {
        json_decref(obj);
        return error;
      }
      if (v)
        json_object_set_new(obj, member, v);
    }
    error = aws_check_required(ctx, shape, obj, aws_xml_node_name(node));
    if (error < 0) {
      json_decref(obj);
      return error;
    }
    *out = obj;
    return 0;
  }
  if (strcmp(type, "list") == 0) {
    const char *item = aws_model_ref_name(ctx->m, json_object_get(shape, "member"));
    return xml_list_items(out, ctx, shape, node, item ? item : "member", depth);
  }
  if (strcmp(type, "map") == 0)
    return xml_map_entries(out, ctx, shape, node, "entry", depth);
  int error;
  if (strcmp(type, "string") == 0) {
    error = aws_scalar_from_text(out, ctx, ref, shape, node->text ? node->text : "",
                                 aws_xml_node_name(node), "iso8601");
  } else {
    char *text = trimmed(node);
    if (!text)
      return aws_error_set(ctx->err, 500, "InternalFailure", "out of memory");
    error = aws_scalar_from_text(out, ctx, ref, shape, text, aws_xml_node_name(node), "iso8601");
    free(text);
  }
  return error;
}
