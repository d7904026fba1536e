/*
 * batch.c — BatchGetItem and BatchWriteItem.
 *
 * Both check the whole request before doing anything (limits: 100 keys, 25
 * writes; tables exist; keys match schemas; no key twice), as DynamoDB
 * rejects a bad batch as a whole. Writes are then applied one by one under
 * the service lock. BatchGetItem stops adding items past 16 MB of answer and
 * hands the rest back in UnprocessedKeys, in the request's own shape, so a
 * client's retry loop works unchanged; BatchWriteItem never throttles, so its
 * UnprocessedItems is always empty.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#define MAX_GET_KEYS 100
#define MAX_WRITES 25
#define MAX_GET_BYTES (16u * 1024 * 1024)

static int count_requests(const json_t *items, const char *member, size_t max, const char *what,
                          ddb_error *e) {
  size_t total = 0;
  const char *k;
  json_t *v;
  if (json_object_size(items) == 0)
    return ddb_invalid(e, "1 validation error detected: Value at 'requestItems' failed to satisfy "
                          "constraint: Member must have length greater than or equal to 1");
  json_object_foreach((json_t *)items, k, v) {
    total += member ? json_array_size(json_object_get(v, member)) : json_array_size(v);
  }
  if (total > max)
    return ddb_invalid(e, "%s", what);
  if (total == 0)
    return ddb_invalid(e, "1 validation error detected: Value at 'requestItems' failed to satisfy "
                          "constraint: Member must have length greater than or equal to 1");
  return 0;
}

/* A key's identity for duplicate detection: its canonical JSON. */
static int seen_before(json_t *seen, const char *table, const json_t *key) {
  json_t *canon = json_pack("{s:s, s:O}", "t", table, "k", key);
  char *s = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(canon);
  if (!s)
    return 0;
  int dup = json_object_get(seen, s) != NULL;
  json_object_set_new(seen, s, json_true());
  free(s);
  return dup;
}

int ddb_op_batch_get(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *items = json_object_get(rq->input, "RequestItems");
  if (count_requests(items, "Keys", MAX_GET_KEYS,
                     "Too many items requested for the BatchGetItem call", e) < 0)
    return -1;
  json_t *seen = json_object(), *responses = json_object(), *unprocessed = json_object();
  int rc = -1;
  size_t bytes = 0;
  const char *name;
  json_t *req;
  json_object_foreach((json_t *)items, name, req) {
    ddb_table *t = ddb_table_for_items(rq->st, rq->account, rq->region, name, e);
    if (!t)
      goto done;
    ddb_expr_ctx ctx;
    ddb_node *proj = NULL;
    if (ddb_expr_ctx_init(&ctx, json_object_get(req, "ExpressionAttributeNames"), NULL, e) < 0 ||
        ddb_read_projection(&proj, req, &ctx, e) < 0 || ddb_expr_check_unused(&ctx, e) < 0) {
      ddb_expr_ctx_free(&ctx);
      goto done;
    }
    ddb_expr_ctx_free(&ctx);
    json_t *list = json_array(), *left = json_array();
    json_object_set_new(responses, name, list);
    size_t i;
    json_t *key;
    json_array_foreach(json_object_get(req, "Keys"), i, key) {
      json_t *ck = NULL;
      ddb_bytes hk = {0}, rk = {0};
      if (ddb_item_check(&ck, key, e) < 0 || ddb_table_key(t, ck, 1, &hk, &rk, e) < 0) {
        json_decref(ck);
        ddb_node_free(proj);
        json_decref(left);
        goto done;
      }
      if (seen_before(seen, name, ck)) {
        json_decref(ck);
        ddb_bytes_free(&hk);
        ddb_bytes_free(&rk);
        ddb_node_free(proj);
        json_decref(left);
        ddb_invalid(e, "Provided list of item keys contains duplicates");
        goto done;
      }
      json_t *item = ddb_table_get(t, &hk, &rk);
      if (bytes >= MAX_GET_BYTES) {
        json_array_append(left, key);
      } else if (item) {
        bytes += ddb_item_size(item);
        json_array_append_new(list, proj ? ddb_project(proj, item) : json_incref(item));
      }
      json_decref(ck);
      ddb_bytes_free(&hk);
      ddb_bytes_free(&rk);
    }
    ddb_node_free(proj);
    if (json_array_size(left)) {
      json_t *again = json_deep_copy(req);
      json_object_set(again, "Keys", left);
      json_object_set_new(unprocessed, name, again);
    }
    json_decref(left);
  }
  *out = json_pack("{s:O, s:O}", "Responses", responses, "UnprocessedKeys", unprocessed);
  rc = 0;
done:
  json_decref(seen);
  json_decref(responses);
  json_decref(unprocessed);
  return rc;
}

int ddb_op_batch_write(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *items = json_object_get(rq->input, "RequestItems");
  if (count_requests(items, NULL, MAX_WRITES,
                     "1 validation error detected: Value at 'requestItems' failed to satisfy "
                     "constraint: Map value must satisfy constraint: [Member must have length "
                     "less than or equal to 25, Member must have length greater than or equal to "
                     "1]",
                     e) < 0)
    return -1;
  size_t total = 0, n = 0;
  const char *name;
  json_t *reqs;
  json_object_foreach((json_t *)items, name, reqs) total += json_array_size(reqs);
  ddb_write *w = calloc(total + 1, sizeof(*w));
  json_t *seen = json_object(), *inputs = json_array();
  int rc = -1;
  if (!w) {
    ddb_fail(e, "InternalServerError", "out of memory");
    goto done;
  }
  json_object_foreach((json_t *)items, name, reqs) {
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) {
      json_t *put = json_object_get(r, "PutRequest"), *del = json_object_get(r, "DeleteRequest");
      if ((put != NULL) == (del != NULL)) {
        ddb_invalid(e, "Supplied AttributeValue has more than one datatypes set, must contain "
                       "exactly one of the supported datatypes");
        goto done;
      }
      json_t *in =
          put ? json_pack("{s:s, s:O}", "TableName", name, "Item", json_object_get(put, "Item"))
              : json_pack("{s:s, s:O}", "TableName", name, "Key", json_object_get(del, "Key"));
      if (!in) {
        ddb_invalid(e, "The provided key element does not match the schema");
        goto done;
      }
      json_array_append_new(inputs, in);
      if (ddb_write_prepare(&w[n], rq, put ? DDB_W_PUT : DDB_W_DELETE, in, e) < 0)
        goto done;
      n++;
      json_t *key = ddb_table_key_of(w[n - 1].table, NULL,
                                     put ? w[n - 1].new_item : json_object_get(in, "Key"));
      int dup = seen_before(seen, name, key);
      json_decref(key);
      if (dup) {
        ddb_invalid(e, "Provided list of item keys contains duplicates");
        goto done;
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    if (ddb_write_apply(&w[i], e) < 0)
      goto done;
  *out = json_pack("{s:{}}", "UnprocessedItems");
  rc = 0;
done:
  for (size_t i = 0; w && i < n; i++)
    ddb_write_free(&w[i]);
  free(w);
  json_decref(seen);
  json_decref(inputs);
  return rc;
}
