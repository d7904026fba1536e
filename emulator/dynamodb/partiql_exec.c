/*
 * partiql_exec.c — ExecuteStatement, BatchExecuteStatement and
 * ExecuteTransaction: PartiQL statements (parsed by partiql.c) run on the
 * same storage and write path as the item operations.
 *
 * SELECT reads one partition when its WHERE fixes the partition key with =
 * (at the top level of an AND chain), otherwise it scans; Limit counts items
 * read and NextToken resumes after the last one. INSERT fails with
 * DuplicateItemException when the key exists; UPDATE and DELETE need every
 * key attribute fixed with = in WHERE, the whole WHERE being the write's
 * condition (UPDATE of a missing item is a failed condition; DELETE of a
 * missing item does nothing). Transactions are all reads or all writes.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/codec.h"
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_BYTES (1024 * 1024)

/* The value compared with = to attribute name in the AND chain of n. */
static const json_t *equality(const ddb_node *n, const char *name) {
  if (!n || !name)
    return NULL;
  if (n->kind == DN_AND) {
    const json_t *v = equality(n->kid[0], name);
    return v ? v : equality(n->kid[1], name);
  }
  if (n->kind != DN_CMP || n->op != DDB_EQ)
    return NULL;
  const ddb_node *a = n->kid[0], *b = n->kid[1];
  if (a->kind == DN_VALUE) {
    const ddb_node *t = a;
    a = b;
    b = t;
  }
  if (a->kind == DN_PATH && a->plen == 1 && b->kind == DN_VALUE &&
      strcmp(a->path[0].name, name) == 0)
    return b->value;
  return NULL;
}

/* The table's key fixed by WHERE, or NULL with e filled. */
static json_t *where_key(const ddb_table *t, const ddb_node *where, ddb_error *e) {
  const json_t *h = equality(where, t->hash.name);
  const json_t *r = t->range.name ? equality(where, t->range.name) : NULL;
  if (!h || (t->range.name && !r)) {
    ddb_invalid(e, "Where clause does not contain a mandatory equality on all key attributes");
    return NULL;
  }
  json_t *key = json_pack("{s:O}", t->hash.name, h);
  if (r)
    json_object_set(key, t->range.name, (json_t *)r);
  return key;
}

static ddb_table *statement_table(ddb_request *rq, const ddb_pq_stmt *st, ddb_index **ix,
                                  ddb_error *e) {
  ddb_table *t = ddb_table_find(rq->st, rq->account, rq->region, st->table, e);
  *ix = NULL;
  if (t && st->index) {
    *ix = ddb_table_index(t, st->index);
    if (!*ix) {
      ddb_invalid(e, "The table does not have the specified index: %s", st->index);
      return NULL;
    }
  }
  return t;
}

/* ---- SELECT ---- */

static json_t *token_key(const char *token, ddb_error *e) {
  unsigned char *raw = NULL;
  size_t len = 0;
  json_t *key = NULL;
  if (codec_base64_decode(&raw, &len, token, strlen(token)) == 0)
    key = json_loadb((const char *)raw, len, 0, NULL);
  free(raw);
  if (!json_is_object(key)) {
    json_decref(key);
    ddb_invalid(e, "The NextToken is not valid");
    return NULL;
  }
  return key;
}

static int select_run(json_t **out, ddb_request *rq, const ddb_pq_stmt *st, const json_t *in,
                      ddb_error *e) {
  ddb_index *ix = NULL;
  ddb_table *t = statement_table(rq, st, &ix, e);
  if (!t)
    return -1;
  const ddb_store *store = ix ? &ix->store : &t->store;
  const ddb_keydef *hash = ix ? &ix->hash : &t->hash;
  json_int_t limit = json_integer_value(json_object_get(in, "Limit"));
  const char *token = jsonutil_string(in, "NextToken");
  ddb_bytes hk = {0}, sk = {0}, sk3[3] = {{0}, {0}, {0}};
  json_t *items = json_array();
  int rc = -1, only_part = 0;
  size_t pi = 0, first = 0, read = 0, bytes = 0;
  const ddb_entry *last = NULL;
  const json_t *hv = equality(st->where, hash->name);
  if (hv && ddb_key_bytes(&hk, hv, hash->type) == 0) {
    only_part = 1;
    pi = ddb_store_part_lower(store, &hk);
    if (pi >= store->n || ddb_bytes_cmp(&store->parts[pi]->hk, &hk) != 0)
      pi = store->n;
  }
  if (token) {
    json_t *key = token_key(token, e);
    if (!key || ddb_entry_key(t, ix, key, &sk, sk3, e) < 0) {
      json_decref(key);
      goto done;
    }
    json_decref(key);
    if (!only_part)
      pi = ddb_store_part_lower(store, &sk);
    if (pi < store->n && ddb_bytes_cmp(&store->parts[pi]->hk, &sk) == 0)
      first = ddb_part_upper(store->parts[pi], sk3, 3);
    else if (only_part)
      pi = store->n;
  }
  int stopped = 0;
  for (; pi < store->n && !stopped; pi++, first = 0) {
    const ddb_part *p = store->parts[pi];
    for (size_t i = first; i < p->n; i++) {
      json_t *item = ddb_index_project(t, ix, p->v[i]->item);
      int ok = 1;
      if (st->where && ddb_cond_eval(st->where, item, &ok, e) < 0) {
        json_decref(item);
        goto done;
      }
      if (ok)
        json_array_append_new(items, st->proj ? ddb_project(st->proj, item) : json_incref(item));
      json_decref(item);
      read++;
      bytes += ddb_item_size(p->v[i]->item);
      last = p->v[i];
      if ((limit > 0 && read >= (size_t)limit) || bytes >= PAGE_BYTES) {
        stopped = 1;
        break;
      }
    }
    if (only_part)
      break;
  }
  *out = json_pack("{s:O}", "Items", items);
  if (stopped && last) {
    json_t *key = ddb_table_key_of(t, ix, last->item);
    char *text = json_dumps(key, JSON_COMPACT);
    char *b64 = text ? codec_base64_encode(text, strlen(text)) : NULL;
    if (b64)
      json_object_set_new(*out, "NextToken", json_string(b64));
    free(b64);
    free(text);
    json_decref(key);
  }
  rc = 0;
done:
  ddb_bytes_free(&hk);
  ddb_bytes_free(&sk);
  for (int i = 0; i < 3; i++)
    ddb_bytes_free(&sk3[i]);
  json_decref(items);
  return rc;
}

/* A SELECT of one item by its full key (batches, transactions). */
static int select_one(json_t **item, ddb_request *rq, const ddb_pq_stmt *st, ddb_error *e) {
  ddb_index *ix = NULL;
  ddb_table *t = statement_table(rq, st, &ix, e);
  if (!t)
    return -1;
  if (ix)
    return ddb_invalid(e, "Batched and transactional reads can only read a table by its key");
  json_t *key = where_key(t, st->where, e);
  ddb_bytes hk = {0}, rk = {0};
  if (!key || ddb_table_key(t, key, 1, &hk, &rk, e) < 0) {
    json_decref(key);
    return -1;
  }
  json_t *found = ddb_table_get(t, &hk, &rk);
  int ok = 1;
  *item = NULL;
  if (found && ddb_cond_eval(st->where, found, &ok, e) == 0 && ok)
    *item = st->proj ? ddb_project(st->proj, found) : json_incref(found);
  ddb_bytes_free(&hk);
  ddb_bytes_free(&rk);
  json_decref(key);
  return 0;
}

/* ---- writes ---- */

/* Prepares an INSERT/UPDATE/DELETE as a write; *skip set when there is
 * nothing to do (DELETE of a missing item). */
static int write_prepare(ddb_write *w, int *skip, ddb_request *rq, const ddb_pq_stmt *st,
                         ddb_error *e) {
  ddb_index *ix = NULL;
  *skip = 0;
  ddb_table *t = statement_table(rq, st, &ix, e);
  if (!t)
    return -1;
  if (ix)
    return ddb_invalid(e, "Statement wasn't well formed, can't be processed: writes go to a "
                          "table, not an index");
  if (st->kind == DDB_PQ_INSERT) {
    json_t *item = NULL;
    if (ddb_item_check(&item, st->item, e) < 0)
      return -1;
    ddb_node *cond = calloc(1, sizeof(*cond)), *path = calloc(1, sizeof(*path));
    int rc = -1;
    if (cond && path && (path->path = calloc(1, sizeof(*path->path))) &&
        (path->path[0].name = strdup(t->hash.name)) &&
        (cond->kid = calloc(1, sizeof(*cond->kid)))) {
      path->kind = DN_PATH;
      path->path[0].index = -1;
      path->plen = 1;
      cond->kind = DN_FUNC;
      cond->op = DDB_F_ATTRIBUTE_NOT_EXISTS;
      cond->kid[0] = path;
      cond->n = 1;
      path = NULL;
      rc = ddb_write_prepare_tree(w, DDB_W_PUT, t, item, cond, NULL, NULL, e);
      if (rc < 0 && e->code && strcmp(e->code, "ConditionalCheckFailedException") == 0)
        ddb_fail(e, "DuplicateItemException", "Duplicate primary key exists in table");
    } else {
      ddb_fail(e, "InternalServerError", "out of memory");
    }
    ddb_node_free(path);
    ddb_node_free(cond);
    json_decref(item);
    return rc;
  }
  json_t *key = where_key(t, st->where, e);
  if (!key)
    return -1;
  int rc;
  if (st->kind == DDB_PQ_DELETE) {
    ddb_bytes hk = {0}, rk = {0};
    rc = ddb_table_key(t, key, 1, &hk, &rk, e);
    *skip = rc == 0 && !ddb_table_get(t, &hk, &rk);
    ddb_bytes_free(&hk);
    ddb_bytes_free(&rk);
    if (rc == 0 && !*skip)
      rc = ddb_write_prepare_tree(w, DDB_W_DELETE, t, key, st->where, NULL, NULL, e);
  } else {
    rc = ddb_write_prepare_tree(w, DDB_W_UPDATE, t, key, st->where, st->update, NULL, e);
  }
  json_decref(key);
  return rc;
}

int ddb_op_execute_statement(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_pq_stmt st;
  const json_t *in = rq->input;
  if (ddb_pq_parse(&st, jsonutil_string(in, "Statement"), json_object_get(in, "Parameters"), e) < 0)
    return -1;
  int rc;
  if (st.kind == DDB_PQ_SELECT) {
    rc = select_run(out, rq, &st, in, e);
  } else {
    ddb_write w;
    int skip = 0;
    rc = write_prepare(&w, &skip, rq, &st, e);
    if (rc == 0 && !skip) {
      rc = ddb_write_apply(&w, e);
      ddb_write_free(&w);
    }
    if (rc == 0)
      *out = json_pack("{s:[]}", "Items");
  }
  ddb_pq_free(&st);
  return rc;
}

static const char *batch_code(const char *code) {
  if (!code)
    return "InternalServerError";
  if (strcmp(code, "ConditionalCheckFailedException") == 0)
    return "ConditionalCheckFailed";
  if (strcmp(code, "DuplicateItemException") == 0)
    return "DuplicateItem";
  if (strcmp(code, "ResourceNotFoundException") == 0)
    return "ResourceNotFound";
  if (strcmp(code, "ValidationException") == 0)
    return "ValidationError";
  return "InternalServerError";
}

int ddb_op_batch_execute_statement(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *list = json_object_get(rq->input, "Statements");
  size_t n = json_array_size(list);
  if (n < 1 || n > 25)
    return ddb_invalid(e,
                       "1 validation error detected: Value at 'statements' failed to satisfy "
                       "constraint: Member must have length %s",
                       n < 1 ? "greater than or equal to 1" : "less than or equal to 25");
  json_t *responses = json_array();
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_array_get(list, i);
    ddb_pq_stmt st;
    ddb_error se = {0};
    json_t *res = json_object();
    int rc =
        ddb_pq_parse(&st, jsonutil_string(s, "Statement"), json_object_get(s, "Parameters"), &se);
    if (rc == 0) {
      json_object_set_new(res, "TableName", json_string(st.table));
      if (st.kind == DDB_PQ_SELECT) {
        json_t *item = NULL;
        rc = select_one(&item, rq, &st, &se);
        if (item)
          json_object_set_new(res, "Item", item);
      } else {
        ddb_write w;
        int skip = 0;
        rc = write_prepare(&w, &skip, rq, &st, &se);
        if (rc == 0 && !skip) {
          rc = ddb_write_apply(&w, &se);
          ddb_write_free(&w);
        }
      }
      ddb_pq_free(&st);
    }
    if (rc < 0)
      json_object_set_new(
          res, "Error",
          json_pack("{s:s, s:s}", "Code", batch_code(se.code), "Message", se.message));
    ddb_error_clear(&se);
    json_array_append_new(responses, res);
  }
  *out = json_pack("{s:o}", "Responses", responses);
  return 0;
}

int ddb_op_execute_transaction(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *list = json_object_get(rq->input, "TransactStatements");
  size_t n = json_array_size(list);
  if (n < 1 || n > 100)
    return ddb_invalid(e,
                       "1 validation error detected: Value at 'transactStatements' failed to "
                       "satisfy constraint: Member must have length %s",
                       n < 1 ? "greater than or equal to 1" : "less than or equal to 100");
  ddb_pq_stmt *st = calloc(n, sizeof(*st));
  ddb_write *w = calloc(n, sizeof(*w));
  int *skip = calloc(n, sizeof(*skip));
  json_t *reasons = json_array(), *responses = json_array();
  size_t parsed = 0, reads = 0;
  int rc = -1, cancelled = 0;
  if (!st || !w || !skip) {
    ddb_fail(e, "InternalServerError", "out of memory");
    goto done;
  }
  for (; parsed < n; parsed++) {
    const json_t *s = json_array_get(list, parsed);
    if (ddb_pq_parse(&st[parsed], jsonutil_string(s, "Statement"), json_object_get(s, "Parameters"),
                     e) < 0)
      goto done;
    reads += st[parsed].kind == DDB_PQ_SELECT;
  }
  if (reads && reads != n) {
    ddb_invalid(e, "Transaction must contain either all reads or all writes");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (reads) {
      json_t *item = NULL;
      if (select_one(&item, rq, &st[i], e) < 0)
        goto done;
      json_array_append_new(responses, item ? json_pack("{s:o}", "Item", item) : json_object());
      continue;
    }
    ddb_error we = {0};
    if (write_prepare(&w[i], &skip[i], rq, &st[i], &we) < 0) {
      const char *code = batch_code(we.code);
      if (strcmp(code, "ConditionalCheckFailed") != 0 && strcmp(code, "DuplicateItem") != 0) {
        *e = we;
        goto done;
      }
      json_array_append_new(reasons, json_pack("{s:s, s:s}", "Code", code, "Message", we.message));
      ddb_error_clear(&we);
      cancelled = 1;
      continue;
    }
    json_array_append_new(reasons, json_pack("{s:s}", "Code", "None"));
  }
  if (cancelled) {
    ddb_fail(e, "TransactionCanceledException",
             "Transaction cancelled, please refer cancellation reasons for specific reasons");
    e->fields = json_pack("{s:O}", "CancellationReasons", reasons);
    goto done;
  }
  for (size_t i = 0; !reads && i < n; i++)
    if (!skip[i] && ddb_write_apply(&w[i], e) < 0)
      goto done;
  *out = reads ? json_pack("{s:O}", "Responses", responses) : json_object();
  rc = 0;
done:
  for (size_t i = 0; st && i < parsed; i++)
    ddb_pq_free(&st[i]);
  for (size_t i = 0; w && i < n; i++)
    ddb_write_free(&w[i]);
  free(st);
  free(w);
  free(skip);
  json_decref(reasons);
  json_decref(responses);
  return rc;
}
