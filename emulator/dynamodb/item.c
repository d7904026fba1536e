/*
 * item.c — single-item operations: PutItem, GetItem, UpdateItem, DeleteItem,
 * and the prepare/apply split they share with TransactWriteItems.
 *
 * A write is prepared first: parameters and expressions are parsed and
 * checked, the current item is read, the condition evaluated and the new
 * item computed and checked (key types, index keys, size) — all without
 * touching the table. Only then is it applied, as one replacement in the
 * table and its indexes. A failed condition therefore never writes (moto's
 * #1587), and a transaction can prepare every action before applying any.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

static int one_of(const char *v, const char *const *allowed) {
  for (; *allowed; allowed++)
    if (strcmp(v, *allowed) == 0)
      return 1;
  return 0;
}

static int check_return_values(const json_t *in, ddb_write_kind kind, ddb_error *e) {
  static const char *const simple[] = {"NONE", "ALL_OLD", NULL};
  static const char *const update[] = {"NONE",    "ALL_OLD",     "UPDATED_OLD",
                                       "ALL_NEW", "UPDATED_NEW", NULL};
  const char *rv = jsonutil_string(in, "ReturnValues");
  if (rv && !one_of(rv, kind == DDB_W_UPDATE ? update : simple))
    return ddb_invalid(e, "Return values set to invalid value");
  return 0;
}

static const char *const LEGACY[] = {"Expected", "AttributeUpdates", "ConditionalOperator", NULL};
static const char *const MODERN[] = {"ConditionExpression", "UpdateExpression",
                                     "ExpressionAttributeNames", "ExpressionAttributeValues", NULL};

void ddb_write_free(ddb_write *w) {
  ddb_bytes_free(&w->hk);
  ddb_bytes_free(&w->rk);
  json_decref(w->old);
  json_decref(w->new_item);
  json_decref(w->updated_old);
  json_decref(w->updated_new);
  memset(w, 0, sizeof(*w));
}

int ddb_write_prepare_tree(ddb_write *w, ddb_write_kind kind, ddb_table *t, const json_t *given,
                           const ddb_node *cond, const ddb_node *upd, const json_t *input,
                           ddb_error *e) {
  memset(w, 0, sizeof(*w));
  w->kind = kind;
  w->table = t;
  w->input = (json_t *)input;
  if (ddb_table_key(t, given, kind != DDB_W_PUT, &w->hk, &w->rk, e) < 0)
    goto fail;
  w->old = json_incref(ddb_table_get(t, &w->hk, &w->rk));
  if (cond) {
    int ok = 0;
    json_t *empty = json_object();
    int rc = ddb_cond_eval(cond, w->old ? w->old : empty, &ok, e);
    json_decref(empty);
    if (rc < 0)
      goto fail;
    if (!ok) {
      ddb_fail(e, "ConditionalCheckFailedException", "The conditional request failed");
      const char *rvf =
          input ? jsonutil_string(input, "ReturnValuesOnConditionCheckFailure") : NULL;
      if (rvf && strcmp(rvf, "ALL_OLD") == 0 && w->old)
        e->fields = json_pack("{s:O}", "Item", w->old);
      goto fail;
    }
  }
  if (kind == DDB_W_PUT) {
    w->new_item = json_incref((json_t *)given);
  } else if (kind == DDB_W_UPDATE) {
    w->new_item = w->old ? json_deep_copy(w->old) : json_deep_copy(given);
    const char *keys[2] = {t->hash.name, t->range.name};
    if (upd && ddb_update_apply(upd, w->new_item, keys, e) < 0)
      goto fail;
    if (upd) {
      w->updated_old = w->old ? ddb_project_updated(upd, w->old) : json_object();
      w->updated_new = ddb_project_updated(upd, w->new_item);
    }
  }
  if (w->new_item && ddb_table_check_item(t, w->new_item, e) < 0)
    goto fail;
  return 0;
fail:;
  json_t *fields = e->fields;
  e->fields = NULL;
  ddb_write_free(w);
  e->fields = fields;
  return -1;
}

int ddb_write_prepare(ddb_write *w, ddb_request *rq, ddb_write_kind kind, const json_t *in,
                      ddb_error *e) {
  memset(w, 0, sizeof(*w));
  w->kind = kind;
  w->input = (json_t *)in;
  ddb_expr_ctx ctx;
  ddb_node *cond = NULL, *upd = NULL;
  json_t *given = NULL;
  int rc = -1;
  if (ddb_expr_ctx_init(&ctx, json_object_get(in, "ExpressionAttributeNames"),
                        json_object_get(in, "ExpressionAttributeValues"), e) < 0 ||
      check_return_values(in, kind, e) < 0 || ddb_legacy_check_mix(in, LEGACY, MODERN, e) < 0)
    goto done;
  const char *ce = jsonutil_string(in, "ConditionExpression");
  const char *ue = jsonutil_string(in, "UpdateExpression");
  if (kind == DDB_W_CHECK && !ce) {
    ddb_invalid(e, "The ConditionExpression of a ConditionCheck must be set");
    goto done;
  }
  if (ce && ddb_expr_parse(&cond, DDB_EXPR_CONDITION, "ConditionExpression", ce, &ctx, e) < 0)
    goto done;
  if (kind == DDB_W_UPDATE && ue &&
      ddb_expr_parse(&upd, DDB_EXPR_UPDATE, "UpdateExpression", ue, &ctx, e) < 0)
    goto done;
  if (ddb_expr_check_unused(&ctx, e) < 0)
    goto done;
  if (!cond && ddb_legacy_condition(&cond, in, "Expected", e) < 0)
    goto done;
  if (kind == DDB_W_UPDATE && !upd && ddb_legacy_update(&upd, in, e) < 0)
    goto done;
  w->table =
      ddb_table_for_items(rq->st, rq->account, rq->region, jsonutil_string(in, "TableName"), e);
  if (!w->table)
    goto done;
  const json_t *src = json_object_get(in, kind == DDB_W_PUT ? "Item" : "Key");
  if (ddb_item_check(&given, src, e) < 0 ||
      ddb_write_prepare_tree(w, kind, w->table, given, cond, upd, in, e) < 0)
    goto done;
  rc = 0;
done:
  ddb_node_free(cond);
  ddb_node_free(upd);
  json_decref(given);
  ddb_expr_ctx_free(&ctx);
  if (rc < 0) {
    json_t *fields = e->fields;
    e->fields = NULL;
    ddb_write_free(w);
    e->fields = fields;
  }
  return rc;
}

int ddb_write_apply(ddb_write *w, ddb_error *e) {
  if (w->kind == DDB_W_CHECK)
    return 0;
  int rc = ddb_table_write(w->table, &w->hk, &w->rk, w->kind == DDB_W_DELETE ? NULL : w->new_item);
  memset(&w->hk, 0, sizeof(w->hk));
  memset(&w->rk, 0, sizeof(w->rk));
  if (rc < 0)
    return ddb_fail(e, "InternalServerError", "out of memory while writing the item");
  return 0;
}

/* Top-level attributes of a that are absent from b or differ there (an
 * UpdateItem without an update: nothing changed but the key). */
static json_t *changed(const json_t *a, const json_t *b) {
  json_t *out = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)a, k, v) {
    if (!ddb_value_equal(v, json_object_get(b, k)))
      json_object_set(out, k, v);
  }
  return out;
}

static void consumed(json_t *out, const json_t *in, const ddb_table *t, double units) {
  const char *rc = jsonutil_string(in, "ReturnConsumedCapacity");
  if (rc && strcmp(rc, "NONE") != 0)
    json_object_set_new(out, "ConsumedCapacity",
                        json_pack("{s:s, s:f}", "TableName", t->name, "CapacityUnits", units));
}

/* The answer of Put/Update/Delete: Attributes as ReturnValues asks. */
static json_t *write_answer(const ddb_write *w) {
  json_t *out = json_object();
  const char *rv = jsonutil_string(w->input, "ReturnValues");
  json_t *attrs = NULL;
  json_t *empty = json_object();
  json_t *old = w->old ? w->old : empty, *nw = w->new_item ? w->new_item : empty;
  if (!rv || strcmp(rv, "NONE") == 0)
    attrs = NULL;
  else if (strcmp(rv, "ALL_OLD") == 0)
    attrs = w->old ? json_incref(w->old) : NULL;
  else if (strcmp(rv, "ALL_NEW") == 0)
    attrs = json_incref(nw);
  else if (strcmp(rv, "UPDATED_NEW") == 0)
    attrs = w->updated_new ? json_incref(w->updated_new) : changed(nw, old);
  else if (strcmp(rv, "UPDATED_OLD") == 0)
    attrs = w->updated_old ? json_incref(w->updated_old) : changed(old, nw);
  if (attrs && json_object_size(attrs))
    json_object_set(out, "Attributes", attrs);
  json_decref(attrs);
  json_decref(empty);
  consumed(out, w->input, w->table, 1.0);
  return out;
}

static int single_write(json_t **out, ddb_request *rq, ddb_write_kind kind, ddb_error *e) {
  ddb_write w;
  if (ddb_write_prepare(&w, rq, kind, rq->input, e) < 0)
    return -1;
  int rc = ddb_write_apply(&w, e);
  if (rc == 0)
    *out = write_answer(&w);
  ddb_write_free(&w);
  return rc;
}

int ddb_op_put_item(json_t **out, ddb_request *rq, ddb_error *e) {
  return single_write(out, rq, DDB_W_PUT, e);
}

int ddb_op_update_item(json_t **out, ddb_request *rq, ddb_error *e) {
  return single_write(out, rq, DDB_W_UPDATE, e);
}

int ddb_op_delete_item(json_t **out, ddb_request *rq, ddb_error *e) {
  return single_write(out, rq, DDB_W_DELETE, e);
}

int ddb_read_projection(ddb_node **out, const json_t *in, ddb_expr_ctx *ctx, ddb_error *e) {
  *out = NULL;
  const char *pe = jsonutil_string(in, "ProjectionExpression");
  json_t *atg = json_object_get(in, "AttributesToGet");
  if (pe && atg)
    return ddb_invalid(e, "Can not use both expression and non-expression parameters in the same "
                          "request: Non-expression parameters: {AttributesToGet} Expression "
                          "parameters: {ProjectionExpression}");
  if (pe)
    return ddb_expr_parse(out, DDB_EXPR_PROJECTION, "ProjectionExpression", pe, ctx, e);
  if (!atg)
    return 0;
  /* AttributesToGet: top-level names, reserved words allowed. */
  ddb_node *list = calloc(1, sizeof(*list));
  if (!list)
    return ddb_fail(e, "InternalServerError", "out of memory");
  list->kind = DN_LIST;
  size_t n = json_array_size(atg);
  list->kid = calloc(n + 1, sizeof(*list->kid));
  for (size_t i = 0; list->kid && i < n; i++) {
    ddb_node *p = calloc(1, sizeof(*p));
    if (!p)
      break;
    p->kind = DN_PATH;
    p->path = calloc(1, sizeof(*p->path));
    list->kid[list->n++] = p;
    if (!p->path)
      break;
    p->path[0].name = strdup(json_string_value(json_array_get(atg, i)));
    p->path[0].index = -1;
    p->plen = p->path[0].name ? 1 : 0;
  }
  *out = list;
  return 0;
}

int ddb_op_get_item(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  ddb_expr_ctx ctx;
  ddb_node *proj = NULL;
  json_t *key = NULL;
  ddb_bytes hk = {0}, rk = {0};
  int rc = -1;
  if (ddb_expr_ctx_init(&ctx, json_object_get(in, "ExpressionAttributeNames"), NULL, e) < 0 ||
      ddb_read_projection(&proj, in, &ctx, e) < 0 || ddb_expr_check_unused(&ctx, e) < 0)
    goto done;
  ddb_table *t =
      ddb_table_for_items(rq->st, rq->account, rq->region, jsonutil_string(in, "TableName"), e);
  if (!t || ddb_item_check(&key, json_object_get(in, "Key"), e) < 0 ||
      ddb_table_key(t, key, 1, &hk, &rk, e) < 0)
    goto done;
  json_t *item = ddb_table_get(t, &hk, &rk);
  *out = json_object();
  if (item)
    json_object_set_new(*out, "Item", proj ? ddb_project(proj, item) : json_incref(item));
  consumed(*out, in, t, 0.5);
  rc = 0;
done:
  ddb_bytes_free(&hk);
  ddb_bytes_free(&rk);
  json_decref(key);
  ddb_node_free(proj);
  ddb_expr_ctx_free(&ctx);
  return rc;
}

char *ddb_key_text(const ddb_write *w) {
  /* The key bytes in hex: the same item gives the same text whether the
   * action knows the item (Put, an existing one) or only its key. */
  size_t n = 2 * (w->hk.len + w->rk.len) + 2;
  char *s = malloc(n);
  if (!s)
    return NULL;
  codec_hex_encode(s, w->hk.p ? (const void *)w->hk.p : "", w->hk.len);
  s[2 * w->hk.len] = '|';
  codec_hex_encode(s + 2 * w->hk.len + 1, w->rk.p ? (const void *)w->rk.p : "", w->rk.len);
  return s;
}
