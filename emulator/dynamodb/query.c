/*
 * query.c — Query and Scan, on tables and on indexes.
 *
 * Query reads one partition: the key condition becomes a range [lo, hi) of
 * the partition's sorted entries by binary search (=, <, <=, >, >=, BETWEEN,
 * begins_with on the sort key), walked forwards or backwards
 * (ScanIndexForward). Scan walks partitions in key order; with
 * Segment/TotalSegments each partition belongs to one segment by a hash of
 * its key. Both page the way DynamoDB does: Limit counts items read before
 * the filter, a page stops after 1 MB of items read, and LastEvaluatedKey
 * (the table's key plus the index's) resumes after the last item read.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES (1024 * 1024)

typedef struct reader {
  ddb_request *rq;
  const json_t *in;
  ddb_table *t;
  ddb_index *ix; /* NULL: the table */
  const ddb_keydef *hash, *range;
  ddb_node *filter, *proj;
  int count_only;
  long limit; /* 0: none */
  long scanned, counted;
  size_t bytes;
  json_t *items;
  const ddb_entry *last; /* the last entry read */
  int stopped;           /* the page ended early (limit or size) */
} reader;

/* Reads one entry: applies projection, filter and counts; returns 1 when
 * the page is full. */
static int read_entry(reader *r, const ddb_entry *en, ddb_error *e) {
  json_t *item = ddb_index_project(r->t, r->ix, en->item);
  r->scanned++;
  r->bytes += ddb_item_size(en->item);
  r->last = en;
  int ok = 1;
  if (r->filter && ddb_cond_eval(r->filter, item, &ok, e) < 0) {
    json_decref(item);
    return -1;
  }
  if (ok) {
    r->counted++;
    if (!r->count_only)
      json_array_append_new(r->items, r->proj ? ddb_project(r->proj, item) : json_incref(item));
  }
  json_decref(item);
  if ((r->limit && r->scanned >= r->limit) || r->bytes >= PAGE_BYTES) {
    r->stopped = 1;
    return 1;
  }
  return 0;
}

int ddb_entry_key(const ddb_table *t, const ddb_index *ix, const json_t *esk, ddb_bytes *hk,
                  ddb_bytes k[3], ddb_error *e) {
  json_t *key = NULL;
  memset(k, 0, 3 * sizeof(*k));
  memset(hk, 0, sizeof(*hk));
  size_t want = 1u + (t->range.name != NULL);
  if (ix) {
    want += strcmp(ix->hash.name, t->hash.name) != 0 &&
            (!t->range.name || strcmp(ix->hash.name, t->range.name) != 0);
    if (ix->range.name)
      want += strcmp(ix->range.name, t->hash.name) != 0 &&
              (!t->range.name || strcmp(ix->range.name, t->range.name) != 0);
  }
  if (ddb_item_check(&key, esk, e) < 0)
    return -1;
  ddb_bytes th = {0}, tr = {0};
  int rc = -1;
  if (json_object_size(key) != want || ddb_table_key(t, key, 0, &th, &tr, e) < 0) {
    ddb_invalid(e, "The provided starting key is invalid: The provided key element does not match "
                   "the schema");
    goto done;
  }
  if (!ix) {
    *hk = th;
    k[0] = tr;
    memset(&th, 0, sizeof(th));
    memset(&tr, 0, sizeof(tr));
    rc = 0;
    goto done;
  }
  json_t *hv = json_object_get(key, ix->hash.name);
  json_t *rv = ix->range.name ? json_object_get(key, ix->range.name) : NULL;
  if (!hv || ddb_key_bytes(hk, hv, ix->hash.type) < 0 ||
      (ix->range.name && (!rv || ddb_key_bytes(&k[0], rv, ix->range.type) < 0))) {
    ddb_bytes_free(hk);
    ddb_invalid(e, "The provided starting key is invalid: The provided key element does not match "
                   "the schema");
    goto done;
  }
  k[1] = th;
  k[2] = tr;
  memset(&th, 0, sizeof(th));
  memset(&tr, 0, sizeof(tr));
  rc = 0;
done:
  ddb_bytes_free(&th);
  ddb_bytes_free(&tr);
  json_decref(key);
  return rc;
}

/* Common parameters of Query and Scan. */
static int reader_init(reader *r, ddb_request *rq, ddb_expr_ctx *ctx, int is_query, ddb_error *e) {
  const json_t *in = rq->input;
  memset(r, 0, sizeof(*r));
  r->rq = rq;
  r->in = in;
  static const char *const legacy[] = {"KeyConditions",       "QueryFilter",     "ScanFilter",
                                       "ConditionalOperator", "AttributesToGet", NULL};
  static const char *const modern[] = {"KeyConditionExpression",    "FilterExpression",
                                       "ProjectionExpression",      "ExpressionAttributeNames",
                                       "ExpressionAttributeValues", NULL};
  if (ddb_legacy_check_mix(in, legacy, modern, e) < 0)
    return -1;
  json_t *lim = json_object_get(in, "Limit");
  if (lim) {
    json_int_t l = json_integer_value(lim);
    if (l < 1)
      return ddb_invalid(e,
                         "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                         "constraint: Member must have value greater than or equal to 1",
                         (long long)l);
    r->limit = (long)l;
  }
  const char *fe = jsonutil_string(in, "FilterExpression");
  if (fe && ddb_expr_parse(&r->filter, DDB_EXPR_FILTER, "FilterExpression", fe, ctx, e) < 0)
    return -1;
  if (!fe && ddb_legacy_condition(&r->filter, in, is_query ? "QueryFilter" : "ScanFilter", e) < 0)
    return -1;
  if (ddb_read_projection(&r->proj, in, ctx, e) < 0)
    return -1;
  const char *select = jsonutil_string(in, "Select");
  if (select && strcmp(select, "COUNT") == 0) {
    if (r->proj)
      return ddb_invalid(e, "Cannot specify the AttributesToGet or ProjectionExpression when "
                            "choosing to get only the Count");
    r->count_only = 1;
  }
  if (select && strcmp(select, "SPECIFIC_ATTRIBUTES") == 0 && !r->proj)
    return ddb_invalid(e, "Must specify the AttributesToGet or ProjectionExpression when choosing "
                          "to get SPECIFIC_ATTRIBUTES");
  if (select && r->proj && strcmp(select, "SPECIFIC_ATTRIBUTES") != 0)
    return ddb_invalid(e,
                       "Cannot specify the AttributesToGet or ProjectionExpression when "
                       "choosing to get %s",
                       select);
  r->t = ddb_table_for_items(rq->st, rq->account, rq->region, jsonutil_string(in, "TableName"), e);
  if (!r->t)
    return -1;
  const char *index = jsonutil_string(in, "IndexName");
  r->hash = &r->t->hash;
  r->range = &r->t->range;
  if (index) {
    r->ix = ddb_table_index(r->t, index);
    if (!r->ix)
      return ddb_invalid(e, "The table does not have the specified index: %s", index);
    r->hash = &r->ix->hash;
    r->range = &r->ix->range;
    if (r->ix->global && json_is_true(json_object_get(in, "ConsistentRead")))
      return ddb_invalid(e, "Consistent reads are not supported on global secondary indexes");
    if (select && strcmp(select, "ALL_ATTRIBUTES") == 0 && r->ix->global &&
        r->ix->projection != DDB_PROJ_ALL)
      return ddb_invalid(e,
                         "One or more parameter values were invalid: Select type ALL_ATTRIBUTES "
                         "is not supported for global secondary index %s because its projection "
                         "type is not ALL",
                         index);
  } else if (select && strcmp(select, "ALL_PROJECTED_ATTRIBUTES") == 0) {
    return ddb_invalid(e, "One or more parameter values were invalid: Select type "
                          "ALL_PROJECTED_ATTRIBUTES is not supported for a table; specify "
                          "IndexName");
  }
  r->items = json_array();
  return 0;
}

static json_t *reader_answer(reader *r) {
  json_t *out = json_pack("{s:I, s:I}", "Count", (json_int_t)r->counted, "ScannedCount",
                          (json_int_t)r->scanned);
  if (!r->count_only)
    json_object_set(out, "Items", r->items);
  if (r->stopped && r->last) {
    json_t *k = ddb_table_key_of(r->t, r->ix, r->last->item);
    json_object_set_new(out, "LastEvaluatedKey", k);
  }
  const char *rc = jsonutil_string(r->in, "ReturnConsumedCapacity");
  if (rc && strcmp(rc, "NONE") != 0)
    json_object_set_new(out, "ConsumedCapacity",
                        json_pack("{s:s, s:f}", "TableName", r->t->name, "CapacityUnits",
                                  (double)(r->bytes / 4096 + 1) / 2.0));
  return out;
}

static void reader_free(reader *r) {
  ddb_node_free(r->filter);
  ddb_node_free(r->proj);
  json_decref(r->items);
}

/* ---- key conditions ---- */

typedef struct keycond {
  const ddb_node *hash;  /* hash = :v */
  const ddb_node *range; /* the sort key term, or NULL */
} keycond;

static const char *term_attr(const ddb_node *n) {
  const ddb_node *p =
      n->kind == DN_FUNC || n->kind == DN_CMP || n->kind == DN_BETWEEN ? n->kid[0] : NULL;
  return p && p->kind == DN_PATH && p->plen == 1 ? p->path[0].name : NULL;
}

static int check_term(const ddb_node *n, const ddb_keydef *kd, ddb_error *e) {
  for (size_t i = 1; i < n->n; i++) {
    if (n->kid[i]->kind != DN_VALUE)
      return ddb_invalid(e, "Invalid KeyConditionExpression: Key conditions must compare a key "
                            "attribute with an expression attribute value");
    const char *t = ddb_value_type(n->kid[i]->value);
    if (!t || t[0] != kd->type || t[1] != '\0')
      return ddb_invalid(e, "One or more parameter values were invalid: Condition parameter type "
                            "does not match schema type");
  }
  if (n->kind == DN_BETWEEN) {
    ddb_bytes lo = {0}, hi = {0};
    int bad = ddb_key_bytes(&lo, n->kid[1]->value, kd->type) == 0 &&
              ddb_key_bytes(&hi, n->kid[2]->value, kd->type) == 0 && ddb_bytes_cmp(&lo, &hi) > 0;
    ddb_bytes_free(&lo);
    ddb_bytes_free(&hi);
    if (bad) {
      const char *t = kd->type == 'S' ? "S" : kd->type == 'N' ? "N" : "B";
      return ddb_invalid(e,
                         "Invalid KeyConditionExpression: The BETWEEN operator requires upper "
                         "bound to be greater than or equal to lower bound; lower bound operand: "
                         "AttributeValue: {%s:%.100s}, upper bound operand: AttributeValue: "
                         "{%s:%.100s}",
                         t, json_string_value(json_object_get(n->kid[1]->value, t)), t,
                         json_string_value(json_object_get(n->kid[2]->value, t)));
    }
  }
  if (n->kind == DN_FUNC && kd->type == 'N')
    return ddb_invalid(e, "Invalid KeyConditionExpression: Incorrect operand type for operator or "
                          "function; operator or function: begins_with, operand type: N");
  return 0;
}

static int key_condition(keycond *kc, const ddb_node *n, const reader *r, ddb_error *e) {
  const ddb_node *terms[2];
  size_t nt = 0;
  memset(kc, 0, sizeof(*kc));
  if (n->kind == DN_AND) {
    terms[nt++] = n->kid[0];
    terms[nt++] = n->kid[1];
  } else {
    terms[nt++] = n;
  }
  for (size_t i = 0; i < nt; i++) {
    const ddb_node *t = terms[i];
    if (t->kind == DN_OR || t->kind == DN_NOT || t->kind == DN_AND || t->kind == DN_IN)
      return ddb_invalid(e, "Invalid operator used in KeyConditionExpression: %s",
                         t->kind == DN_OR    ? "OR"
                         : t->kind == DN_NOT ? "NOT"
                         : t->kind == DN_IN  ? "IN"
                                             : "AND");
    if (t->kind == DN_CMP && t->op == DDB_NE)
      return ddb_invalid(e, "Unsupported operator on KeyConditionExpression: operator: <>");
    if (t->kind == DN_FUNC && t->op != DDB_F_BEGINS_WITH)
      return ddb_invalid(e, "Invalid KeyConditionExpression: Invalid function name; function: %s",
                         t->op == DDB_F_CONTAINS ? "contains" : "attribute_exists");
    const char *attr = term_attr(t);
    if (!attr)
      return ddb_invalid(e, "Invalid KeyConditionExpression: Key conditions must name a key "
                            "attribute");
    if (strcmp(attr, r->hash->name) == 0) {
      if (kc->hash || t->kind != DN_CMP || t->op != DDB_EQ)
        return ddb_invalid(e, "Query key condition not supported");
      if (check_term(t, r->hash, e) < 0)
        return -1;
      kc->hash = t;
    } else if (r->range->name && strcmp(attr, r->range->name) == 0) {
      if (kc->range)
        return ddb_invalid(e, "Query key condition not supported");
      if (check_term(t, r->range, e) < 0)
        return -1;
      kc->range = t;
    } else {
      return ddb_invalid(e, "Query condition missed key schema element: %s",
                         r->range->name && kc->hash ? r->range->name : r->hash->name);
    }
  }
  if (!kc->hash)
    return ddb_invalid(e, "Query condition missed key schema element: %s", r->hash->name);
  return 0;
}

/* First index in p whose k[0] starts with prefix... [lo, hi) of begins_with. */
static size_t prefix_end(const ddb_part *p, size_t lo, const ddb_bytes *prefix) {
  size_t hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ddb_bytes_prefix(&p->v[mid]->k[0], prefix) || ddb_bytes_cmp(&p->v[mid]->k[0], prefix) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void range_bounds(const ddb_part *p, const ddb_node *t, const ddb_keydef *kd, size_t *lo,
                         size_t *hi) {
  *lo = 0;
  *hi = p->n;
  if (!t)
    return;
  ddb_bytes a = {0}, b = {0};
  ddb_key_bytes(&a, t->kid[1]->value, kd->type);
  if (t->kind == DN_BETWEEN) {
    ddb_key_bytes(&b, t->kid[2]->value, kd->type);
    *lo = ddb_part_lower(p, &a, 1);
    *hi = ddb_part_upper(p, &b, 1);
    if (*hi < *lo)
      *hi = *lo;
  } else if (t->kind == DN_FUNC) {
    *lo = ddb_part_lower(p, &a, 1);
    *hi = prefix_end(p, *lo, &a);
  } else {
    switch (t->op) {
    case DDB_EQ:
      *lo = ddb_part_lower(p, &a, 1);
      *hi = ddb_part_upper(p, &a, 1);
      break;
    case DDB_LT: *hi = ddb_part_lower(p, &a, 1); break;
    case DDB_LE: *hi = ddb_part_upper(p, &a, 1); break;
    case DDB_GT: *lo = ddb_part_upper(p, &a, 1); break;
    case DDB_GE: *lo = ddb_part_lower(p, &a, 1); break;
    default: break;
    }
  }
  ddb_bytes_free(&a);
  ddb_bytes_free(&b);
}

int ddb_op_query(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  ddb_expr_ctx ctx;
  reader r;
  ddb_node *kce = NULL;
  ddb_bytes hk = {0}, sk = {0}, sk3[3] = {{0}, {0}, {0}};
  int rc = -1;
  memset(&r, 0, sizeof(r));
  if (ddb_expr_ctx_init(&ctx, json_object_get(in, "ExpressionAttributeNames"),
                        json_object_get(in, "ExpressionAttributeValues"), e) < 0)
    goto done;
  const char *kt = jsonutil_string(in, "KeyConditionExpression");
  if (!kt && !json_object_get(in, "KeyConditions")) {
    ddb_invalid(e, "Either the KeyConditions or KeyConditionExpression parameter must be "
                   "specified in the request.");
    goto done;
  }
  if (kt && ddb_expr_parse(&kce, DDB_EXPR_KEY_CONDITION, "KeyConditionExpression", kt, &ctx, e) < 0)
    goto done;
  if (reader_init(&r, rq, &ctx, 1, e) < 0 || ddb_expr_check_unused(&ctx, e) < 0)
    goto done;
  if (!kce && ddb_legacy_condition(&kce, in, "KeyConditions", e) < 0)
    goto done;
  keycond kc;
  if (key_condition(&kc, kce, &r, e) < 0)
    goto done;
  ddb_key_bytes(&hk, kc.hash->kid[1]->value, r.hash->type);
  const ddb_store *store = r.ix ? &r.ix->store : &r.t->store;
  size_t pi = ddb_store_part_lower(store, &hk);
  const ddb_part *p =
      pi < store->n && ddb_bytes_cmp(&store->parts[pi]->hk, &hk) == 0 ? store->parts[pi] : NULL;
  int forward = !json_is_false(json_object_get(in, "ScanIndexForward"));
  json_t *esk = json_object_get(in, "ExclusiveStartKey");
  if (esk) {
    if (ddb_entry_key(r.t, r.ix, esk, &sk, sk3, e) < 0)
      goto done;
    if (ddb_bytes_cmp(&sk, &hk) != 0) {
      ddb_invalid(e, "The provided starting key is outside query boundaries based on provided "
                     "conditions");
      goto done;
    }
  }
  if (p) {
    size_t lo, hi;
    range_bounds(p, kc.range, r.range, &lo, &hi);
    if (esk) {
      size_t pos = forward ? ddb_part_upper(p, sk3, 3) : ddb_part_lower(p, sk3, 3);
      if (forward && pos > lo)
        lo = pos;
      if (!forward && pos < hi)
        hi = pos;
    }
    if (forward) {
      for (size_t i = lo; i < hi; i++) {
        int full = read_entry(&r, p->v[i], e);
        if (full < 0)
          goto done;
        if (full)
          break;
      }
    } else {
      for (size_t i = hi; i > lo; i--) {
        int full = read_entry(&r, p->v[i - 1], e);
        if (full < 0)
          goto done;
        if (full)
          break;
      }
    }
  }
  *out = reader_answer(&r);
  rc = 0;
done:
  ddb_bytes_free(&hk);
  ddb_bytes_free(&sk);
  for (int i = 0; i < 3; i++)
    ddb_bytes_free(&sk3[i]);
  ddb_node_free(kce);
  reader_free(&r);
  ddb_expr_ctx_free(&ctx);
  return rc;
}

static uint32_t fnv1a(const ddb_bytes *b) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < b->len; i++)
    h = (h ^ b->p[i]) * 16777619u;
  return h;
}

int ddb_op_scan(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  ddb_expr_ctx ctx;
  reader r;
  ddb_bytes sk = {0}, sk3[3] = {{0}, {0}, {0}};
  int rc = -1;
  memset(&r, 0, sizeof(r));
  json_t *seg = json_object_get(in, "Segment"), *tot = json_object_get(in, "TotalSegments");
  json_int_t segment = json_integer_value(seg), total = tot ? json_integer_value(tot) : 1;
  if (ddb_expr_ctx_init(&ctx, json_object_get(in, "ExpressionAttributeNames"),
                        json_object_get(in, "ExpressionAttributeValues"), e) < 0)
    goto done;
  if (seg && !tot) {
    ddb_invalid(e, "The TotalSegments parameter is required but was not present in the request "
                   "when Segment parameter is present");
    goto done;
  }
  if (tot && !seg) {
    ddb_invalid(e, "The Segment parameter is required but was not present in the request when "
                   "parameter TotalSegments is present");
    goto done;
  }
  if (total < 1 || total > 1000000) {
    ddb_invalid(e,
                "1 validation error detected: Value '%lld' at 'totalSegments' failed to satisfy "
                "constraint: Member must have value %s",
                (long long)total,
                total < 1 ? "greater than or equal to 1" : "less than or equal to 1000000");
    goto done;
  }
  if (segment < 0 || segment >= total) {
    ddb_invalid(e,
                "The Segment parameter is zero-based and must be less than parameter "
                "TotalSegments: Segment: %lld is not less than TotalSegments: %lld",
                (long long)segment, (long long)total);
    goto done;
  }
  if (reader_init(&r, rq, &ctx, 0, e) < 0 || ddb_expr_check_unused(&ctx, e) < 0)
    goto done;
  const ddb_store *store = r.ix ? &r.ix->store : &r.t->store;
  json_t *esk = json_object_get(in, "ExclusiveStartKey");
  size_t pi = 0, first = 0;
  if (esk) {
    if (ddb_entry_key(r.t, r.ix, esk, &sk, sk3, e) < 0)
      goto done;
    pi = ddb_store_part_lower(store, &sk);
    if (pi < store->n && ddb_bytes_cmp(&store->parts[pi]->hk, &sk) == 0)
      first = ddb_part_upper(store->parts[pi], sk3, 3);
  }
  for (; pi < store->n && !r.stopped; pi++, first = 0) {
    const ddb_part *p = store->parts[pi];
    if (total > 1 && fnv1a(&p->hk) % (uint32_t)total != (uint32_t)segment)
      continue;
    for (size_t i = first; i < p->n; i++) {
      int full = read_entry(&r, p->v[i], e);
      if (full < 0)
        goto done;
      if (full)
        break;
    }
  }
  *out = reader_answer(&r);
  rc = 0;
done:
  ddb_bytes_free(&sk);
  for (int i = 0; i < 3; i++)
    ddb_bytes_free(&sk3[i]);
  reader_free(&r);
  ddb_expr_ctx_free(&ctx);
  return rc;
}
