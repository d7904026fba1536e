/*
 * table.c — DynamoDB's control plane: CreateTable, DescribeTable, ListTables,
 * UpdateTable (billing, throughput, GSIs added and removed, streams, deletion
 * protection), DeleteTable, tags, TTL settings, DescribeLimits and
 * DescribeEndpoints, and the settings DynamoDB tools read back but that an
 * emulator only stores (point-in-time recovery, contributor insights,
 * Kinesis streaming destinations: none).
 *
 * Status: a table is usable as soon as CreateTable returns, which answers
 * CREATING as AWS does; DescribeTable then says ACTIVE, so boto3's
 * table_exists waiter returns on its first poll instead of sleeping 20 s.
 * DeleteTable answers DELETING and the table is gone at once (table_not_exists
 * sees ResourceNotFoundException on its first poll). A GSI added by
 * UpdateTable is filled from the table's items before the call returns.
 * Tables are per account and region, like AWS.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/codec.h"
#include "common/clock.h"
#include "common/jsonutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GSI 20
#define MAX_LSI 5

static int check_table_name(const char *name, const char *member, ddb_error *e) {
  size_t n = name ? strlen(name) : 0;
  if (n < 3 || n > 255)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%.255s' at '%s' failed to satisfy "
                       "constraint: Member must have length %s",
                       name ? name : "null", member,
                       n < 3 ? "greater than or equal to 3" : "less than or equal to 255");
  if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%.255s' at '%s' failed to satisfy "
                       "constraint: Member must satisfy regular expression pattern: "
                       "[a-zA-Z0-9_.-]+",
                       name, member);
  return 0;
}

ddb_table *ddb_table_find(ddb_state *st, const char *account, const char *region, const char *name,
                          ddb_error *e) {
  for (size_t i = 0; name && i < st->ntables; i++) {
    ddb_table *t = st->tables[i];
    if (strcmp(t->name, name) == 0 && strcmp(t->account, account) == 0 &&
        strcmp(t->region, region) == 0)
      return t;
  }
  /* A name no table can have is refused as invalid, as DynamoDB does,
   * rather than not found. */
  if (e && check_table_name(name, "tableName", e) == 0)
    ddb_fail(e, "ResourceNotFoundException", "Requested resource not found: Table: %s not found",
             name ? name : "");
  return NULL;
}

ddb_table *ddb_table_for_items(ddb_state *st, const char *account, const char *region,
                               const char *name, ddb_error *e) {
  ddb_table *t = ddb_table_find(st, account, region, name, e);
  if (!t && e && e->code && strcmp(e->code, "ResourceNotFoundException") == 0)
    ddb_fail(e, "ResourceNotFoundException", "Requested resource not found");
  return t;
}

ddb_index *ddb_table_index(const ddb_table *t, const char *name) {
  for (size_t i = 0; name && i < t->nindexes; i++)
    if (strcmp(t->indexes[i]->name, name) == 0)
      return t->indexes[i];
  return NULL;
}

static void index_free(ddb_index *ix) {
  if (!ix)
    return;
  free(ix->name);
  free(ix->hash.name);
  free(ix->range.name);
  json_decref(ix->nonkey);
  json_decref(ix->throughput);
  ddb_store_clear(&ix->store);
  free(ix);
}

void ddb_table_free(ddb_table *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->nindexes; i++)
    index_free(t->indexes[i]);
  free(t->indexes);
  free(t->account);
  free(t->region);
  free(t->name);
  free(t->arn);
  free(t->hash.name);
  free(t->range.name);
  free(t->ttl_attr);
  json_decref(t->attr_defs);
  json_decref(t->throughput);
  json_decref(t->tags);
  json_decref(t->stream_spec);
  free(t->stream_arn); /* t->stream belongs to the state */
  ddb_store_clear(&t->store);
  free(t);
}

/* ---- describing ---- */

static json_t *key_schema(const ddb_keydef *h, const ddb_keydef *r) {
  json_t *ks = json_pack("[{s:s, s:s}]", "AttributeName", h->name, "KeyType", "HASH");
  if (r->name)
    json_array_append_new(ks,
                          json_pack("{s:s, s:s}", "AttributeName", r->name, "KeyType", "RANGE"));
  return ks;
}

static json_t *throughput_desc(const json_t *tp) {
  json_int_t r = json_integer_value(json_object_get(tp, "ReadCapacityUnits"));
  json_int_t w = json_integer_value(json_object_get(tp, "WriteCapacityUnits"));
  return json_pack("{s:i, s:I, s:I}", "NumberOfDecreasesToday", 0, "ReadCapacityUnits", r,
                   "WriteCapacityUnits", w);
}

static uint64_t store_bytes(const ddb_store *s) {
  uint64_t total = 0;
  for (size_t i = 0; i < s->n; i++)
    for (size_t j = 0; j < s->parts[i]->n; j++)
      total += ddb_item_size(s->parts[i]->v[j]->item);
  return total;
}

static json_t *index_desc(const ddb_table *t, const ddb_index *ix, const char *status) {
  const char *ptype = ix->projection == DDB_PROJ_ALL         ? "ALL"
                      : ix->projection == DDB_PROJ_KEYS_ONLY ? "KEYS_ONLY"
                                                             : "INCLUDE";
  json_t *proj = json_pack("{s:s}", "ProjectionType", ptype);
  if (ix->nonkey)
    json_object_set(proj, "NonKeyAttributes", ix->nonkey);
  char *arn = NULL;
  size_t n = strlen(t->arn) + strlen(ix->name) + 16;
  arn = malloc(n);
  if (arn)
    snprintf(arn, n, "%s/index/%s", t->arn, ix->name);
  json_t *d = json_pack("{s:s, s:o, s:o, s:I, s:I, s:s?}", "IndexName", ix->name, "KeySchema",
                        key_schema(&ix->hash, &ix->range), "Projection", proj, "IndexSizeBytes",
                        (json_int_t)store_bytes(&ix->store), "ItemCount",
                        (json_int_t)ix->store.items, "IndexArn", arn);
  free(arn);
  if (ix->global) {
    json_object_set_new(d, "IndexStatus", json_string(status ? status : "ACTIVE"));
    json_object_set_new(d, "ProvisionedThroughput", throughput_desc(ix->throughput));
  }
  return d;
}

json_t *ddb_table_describe(const ddb_table *t, const char *status) {
  json_t *d = json_pack("{s:O, s:s, s:o, s:s, s:f, s:o, s:I, s:I, s:s, s:s, s:{s:s, s:f}, s:b}",
                        "AttributeDefinitions", t->attr_defs, "TableName", t->name, "KeySchema",
                        key_schema(&t->hash, &t->range), "TableStatus", status ? status : "ACTIVE",
                        "CreationDateTime", t->created, "ProvisionedThroughput",
                        throughput_desc(t->throughput), "TableSizeBytes",
                        (json_int_t)store_bytes(&t->store), "ItemCount", (json_int_t)t->store.items,
                        "TableArn", t->arn, "TableId", t->id, "BillingModeSummary", "BillingMode",
                        t->billing, "LastUpdateToPayPerRequestDateTime", t->created,
                        "DeletionProtectionEnabled", t->deletion_protection);
  json_t *gsi = json_array(), *lsi = json_array();
  for (size_t i = 0; i < t->nindexes; i++)
    json_array_append_new(
        t->indexes[i]->global ? gsi : lsi,
        index_desc(t, t->indexes[i],
                   status && strcmp(status, "ACTIVE") != 0 && strcmp(status, "UPDATING") != 0
                       ? status
                       : "ACTIVE"));
  if (json_array_size(gsi))
    json_object_set(d, "GlobalSecondaryIndexes", gsi);
  if (json_array_size(lsi))
    json_object_set(d, "LocalSecondaryIndexes", lsi);
  json_decref(gsi);
  json_decref(lsi);
  if (t->stream && t->stream_spec)
    json_object_set(d, "StreamSpecification", t->stream_spec);
  /* The latest stream stays named after it is disabled, as in DynamoDB. */
  if (t->stream_arn) {
    json_object_set_new(d, "LatestStreamLabel", json_string(t->stream_label));
    json_object_set_new(d, "LatestStreamArn", json_string(t->stream_arn));
  }
  return d;
}

/* ---- creating ---- */

/* The type an attribute has in AttributeDefinitions, 0 when undefined. */
static char defined_type(const json_t *defs, const char *name) {
  size_t i;
  json_t *d;
  json_array_foreach(defs, i, d) {
    const char *an = json_string_value(json_object_get(d, "AttributeName"));
    if (an && strcmp(an, name) == 0) {
      const char *ty = json_string_value(json_object_get(d, "AttributeType"));
      return ty ? ty[0] : 0;
    }
  }
  return 0;
}

static void defs_text(char *buf, size_t size, const json_t *defs) {
  size_t i, off = 0;
  json_t *d;
  buf[0] = '\0';
  json_array_foreach(defs, i, d) {
    int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "",
                     json_string_value(json_object_get(d, "AttributeName")));
    if (w < 0 || (size_t)w >= size - off)
      break;
    off += (size_t)w;
  }
}

/* Key schema → key definitions, checked against AttributeDefinitions. */
static int parse_key_schema(ddb_keydef *h, ddb_keydef *r, const json_t *ks, const json_t *defs,
                            ddb_error *e) {
  size_t n = json_array_size(ks);
  if (n < 1 || n > 2)
    return ddb_invalid(e, "1 validation error detected: Value at 'keySchema' failed to satisfy "
                          "constraint: Member must have length less than or equal to 2");
  const char *hn = jsonutil_string(json_array_get(ks, 0), "AttributeName");
  const char *ht = jsonutil_string(json_array_get(ks, 0), "KeyType");
  const char *rn = n > 1 ? jsonutil_string(json_array_get(ks, 1), "AttributeName") : NULL;
  const char *rt = n > 1 ? jsonutil_string(json_array_get(ks, 1), "KeyType") : NULL;
  if (!hn || !ht || strcmp(ht, "HASH") != 0)
    return ddb_invalid(e, "Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
  if (n > 1 && (!rn || !rt || strcmp(rt, "RANGE") != 0))
    return ddb_invalid(e, "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
  if (rn && strcmp(hn, rn) == 0)
    return ddb_invalid(e, "Invalid KeySchema: Both the Hash Key and the Range Key element in the "
                          "KeySchema have the same name");
  char ht_c = defined_type(defs, hn), rt_c = rn ? defined_type(defs, rn) : 'S';
  if (!ht_c || !rt_c) {
    char buf[512];
    defs_text(buf, sizeof(buf), defs);
    return ddb_invalid(e,
                       "One or more parameter values were invalid: Some index key attributes are "
                       "not defined in AttributeDefinitions. Keys: [%s%s%s], AttributeDefinitions: "
                       "[%s]",
                       hn, rn ? ", " : "", rn ? rn : "", buf);
  }
  h->name = strdup(hn);
  h->type = ht_c;
  r->name = rn ? strdup(rn) : NULL;
  r->type = rn ? rt_c : 0;
  return 0;
}

static int parse_projection(ddb_index *ix, const json_t *proj, ddb_error *e) {
  const char *pt = jsonutil_string(proj, "ProjectionType");
  json_t *nk = json_object_get(proj, "NonKeyAttributes");
  if (!pt || strcmp(pt, "ALL") == 0)
    ix->projection = DDB_PROJ_ALL;
  else if (strcmp(pt, "KEYS_ONLY") == 0)
    ix->projection = DDB_PROJ_KEYS_ONLY;
  else
    ix->projection = DDB_PROJ_INCLUDE;
  if (ix->projection == DDB_PROJ_INCLUDE && json_array_size(nk) == 0)
    return ddb_invalid(e, "One or more parameter values were invalid: Projection type INCLUDE "
                          "requires a non-empty list of NonKeyAttributes");
  if (ix->projection != DDB_PROJ_INCLUDE && nk)
    return ddb_invalid(e,
                       "One or more parameter values were invalid: ProjectionType is %s, but "
                       "NonKeyAttributes is specified",
                       pt ? pt : "ALL");
  if (nk)
    ix->nonkey = json_incref(nk);
  return 0;
}

static int check_billing(const char *billing, const json_t *tp, const char *what, ddb_error *e) {
  if (strcmp(billing, "PAY_PER_REQUEST") == 0) {
    if (tp)
      return ddb_invalid(e, "One or more parameter values were invalid: Neither ReadCapacityUnits "
                            "nor WriteCapacityUnits can be specified when BillingMode is "
                            "PAY_PER_REQUEST");
    return 0;
  }
  if (!tp)
    return ddb_invalid(e,
                       "One or more parameter values were invalid: ReadCapacityUnits and "
                       "WriteCapacityUnits must both be specified when BillingMode is %s%s",
                       "PROVISIONED", what);
  json_int_t r = json_integer_value(json_object_get(tp, "ReadCapacityUnits"));
  json_int_t w = json_integer_value(json_object_get(tp, "WriteCapacityUnits"));
  if (r < 1 || w < 1)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%lld' at "
                       "'provisionedThroughput.%s' failed to satisfy constraint: Member must "
                       "have value greater than or equal to 1",
                       (long long)(r < 1 ? r : w),
                       r < 1 ? "readCapacityUnits" : "writeCapacityUnits");
  return 0;
}

/* Fills every index entry for the items already in the table (new GSI). */
static int index_backfill(ddb_table *t, ddb_index *ix) {
  /* Reuse the write path: rewriting an item with itself re-derives every
   * index's entry; only the new index changes. */
  for (size_t i = 0; i < t->store.n; i++) {
    ddb_part *p = t->store.parts[i];
    for (size_t j = 0; j < p->n; j++) {
      json_t *item = p->v[j]->item;
      json_t *hv = json_object_get(item, ix->hash.name);
      json_t *rv = ix->range.name ? json_object_get(item, ix->range.name) : NULL;
      const char *ht = ddb_value_type(hv), *rt = ddb_value_type(rv);
      if (!hv || (ix->range.name && !rv) || !ht || ht[0] != ix->hash.type || ht[1] ||
          (rv && (!rt || rt[0] != ix->range.type || rt[1])))
        continue;
      ddb_bytes ihk = {0}, k[3] = {{0}, {0}, {0}};
      if ((rv && ddb_key_bytes(&k[0], rv, ix->range.type) < 0) ||
          ddb_key_bytes(&ihk, hv, ix->hash.type) < 0) {
        ddb_bytes_free(&k[0]);
        continue;
      }
      if (ddb_key_bytes(&k[1], json_object_get(item, t->hash.name), t->hash.type) < 0 ||
          (t->range.name &&
           ddb_key_bytes(&k[2], json_object_get(item, t->range.name), t->range.type) < 0) ||
          ddb_store_put(&ix->store, &ihk, k, item) < 0) {
        ddb_bytes_free(&ihk);
        for (int m = 0; m < 3; m++)
          ddb_bytes_free(&k[m]);
        return -1;
      }
    }
  }
  return 0;
}

static int add_index(ddb_table *t, const json_t *def, int global, const char *billing,
                     ddb_error *e) {
  const char *name = jsonutil_string(def, "IndexName");
  if (check_table_name(name, "indexName", e) < 0)
    return -1;
  if (ddb_table_index(t, name))
    return ddb_invalid(e, "One or more parameter values were invalid: Duplicate index name: %s",
                       name);
  size_t count = 0;
  for (size_t i = 0; i < t->nindexes; i++)
    count += t->indexes[i]->global == global;
  if (count >= (size_t)(global ? MAX_GSI : MAX_LSI))
    return ddb_invalid(e,
                       "One or more parameter values were invalid: Number of %s indexes exceeds "
                       "per-table limit of %d",
                       global ? "global secondary" : "local secondary", global ? MAX_GSI : MAX_LSI);
  ddb_index *ix = calloc(1, sizeof(*ix));
  if (!ix)
    return ddb_fail(e, "InternalServerError", "out of memory");
  ix->global = global;
  ix->name = strdup(name);
  if (parse_key_schema(&ix->hash, &ix->range, json_object_get(def, "KeySchema"), t->attr_defs, e) <
          0 ||
      parse_projection(ix, json_object_get(def, "Projection"), e) < 0)
    goto fail;
  if (!global) {
    if (!t->range.name) {
      ddb_invalid(e, "One or more parameter values were invalid: Table KeySchema does not have a "
                     "range key, which is required when specifying a LocalSecondaryIndex");
      goto fail;
    }
    if (strcmp(ix->hash.name, t->hash.name) != 0 || !ix->range.name) {
      ddb_invalid(e,
                  "One or more parameter values were invalid: Index KeySchema does not have the "
                  "same leading hash key as table KeySchema for index: %s. index hash key: %s, "
                  "table hash key: %s",
                  name, ix->hash.name, t->hash.name);
      goto fail;
    }
  } else {
    json_t *tp = json_object_get(def, "ProvisionedThroughput");
    if (check_billing(billing, tp, " for index", e) < 0)
      goto fail;
    ix->throughput = tp ? json_incref(tp) : json_object();
  }
  ddb_index **nv = realloc(t->indexes, (t->nindexes + 1) * sizeof(*nv));
  if (!nv) {
    ddb_fail(e, "InternalServerError", "out of memory");
    goto fail;
  }
  t->indexes = nv;
  t->indexes[t->nindexes++] = ix;
  if (index_backfill(t, ix) < 0)
    return ddb_fail(e, "InternalServerError", "out of memory while filling index %s", name);
  return 0;
fail:
  index_free(ix);
  return -1;
}

/* Every AttributeDefinition must be used by a key of the table or an index. */
static int check_defs_used(const ddb_table *t, ddb_error *e) {
  size_t i;
  json_t *d;
  json_array_foreach(t->attr_defs, i, d) {
    const char *n = jsonutil_string(d, "AttributeName");
    int used = n && (strcmp(n, t->hash.name) == 0 || (t->range.name && !strcmp(n, t->range.name)));
    for (size_t j = 0; n && !used && j < t->nindexes; j++)
      used = strcmp(n, t->indexes[j]->hash.name) == 0 ||
             (t->indexes[j]->range.name && strcmp(n, t->indexes[j]->range.name) == 0);
    if (!used)
      return ddb_invalid(e, "One or more parameter values were invalid: Number of attributes in "
                            "KeySchema does not exactly match number of attributes defined in "
                            "AttributeDefinitions");
  }
  return 0;
}

static json_t *tags_from_list(const json_t *list) {
  json_t *o = json_object();
  size_t i;
  json_t *tag;
  json_array_foreach(list, i, tag) {
    const char *k = jsonutil_string(tag, "Key"), *v = jsonutil_string(tag, "Value");
    if (k && v)
      json_object_set_new(o, k, json_string(v));
  }
  return o;
}

int ddb_op_create_table(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  const char *name = jsonutil_string(in, "TableName");
  if (check_table_name(name, "tableName", e) < 0)
    return -1;
  if (ddb_table_find(rq->st, rq->account, rq->region, name, NULL))
    return ddb_fail(e, "ResourceInUseException", "Table already exists: %s", name);
  ddb_table *t = calloc(1, sizeof(*t));
  if (!t)
    return ddb_fail(e, "InternalServerError", "out of memory");
  t->account = strdup(rq->account);
  t->region = strdup(rq->region);
  t->name = strdup(name);
  codec_uuid4(t->id);
  t->created = (double)clock_wall_ms() / 1000.0;
  t->attr_defs = json_deep_copy(json_object_get(in, "AttributeDefinitions"));
  if (!t->attr_defs)
    t->attr_defs = json_array();
  size_t n = strlen(name) + strlen(rq->account) + strlen(rq->region) + 64;
  t->arn = malloc(n);
  if (t->arn)
    snprintf(t->arn, n, "arn:aws:dynamodb:%s:%s:table/%s", rq->region, rq->account, name);
  const char *billing = jsonutil_string(in, "BillingMode");
  snprintf(t->billing, sizeof(t->billing), "%s", billing ? billing : "PROVISIONED");
  json_t *tp = json_object_get(in, "ProvisionedThroughput");
  t->throughput = tp ? json_incref(tp) : json_object();
  t->tags = tags_from_list(json_object_get(in, "Tags"));
  t->deletion_protection = json_is_true(json_object_get(in, "DeletionProtectionEnabled"));
  json_t *ss = json_object_get(in, "StreamSpecification");
  if (ddb_stream_spec_check(ss, e) < 0)
    goto fail;
  if (ss && json_is_true(json_object_get(ss, "StreamEnabled")))
    t->stream_spec = json_incref(ss);
  if (parse_key_schema(&t->hash, &t->range, json_object_get(in, "KeySchema"), t->attr_defs, e) <
          0 ||
      check_billing(t->billing, tp, "", e) < 0)
    goto fail;
  size_t i;
  json_t *def;
  json_array_foreach(json_object_get(in, "LocalSecondaryIndexes"), i, def) {
    if (add_index(t, def, 0, t->billing, e) < 0)
      goto fail;
  }
  json_array_foreach(json_object_get(in, "GlobalSecondaryIndexes"), i, def) {
    if (add_index(t, def, 1, t->billing, e) < 0)
      goto fail;
  }
  if (check_defs_used(t, e) < 0)
    goto fail;
  ddb_table **nv = realloc(rq->st->tables, (rq->st->ntables + 1) * sizeof(*nv));
  if (!nv) {
    ddb_fail(e, "InternalServerError", "out of memory");
    goto fail;
  }
  rq->st->tables = nv;
  if (t->stream_spec &&
      ddb_stream_enable(rq->st, t, jsonutil_string(t->stream_spec, "StreamViewType"),
                        clock_wall_ms(), e) < 0)
    goto fail;
  rq->st->tables[rq->st->ntables++] = t;
  *out = json_pack("{s:o}", "TableDescription", ddb_table_describe(t, "CREATING"));
  return 0;
fail:
  ddb_table_free(t);
  return -1;
}

int ddb_op_describe_table(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t =
      ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(rq->input, "TableName"), e);
  if (!t)
    return -1;
  *out = json_pack("{s:o}", "Table", ddb_table_describe(t, "ACTIVE"));
  return 0;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ddb_op_list_tables(json_t **out, ddb_request *rq, ddb_error *e) {
  json_t *lim = json_object_get(rq->input, "Limit");
  json_int_t limit = lim ? json_integer_value(lim) : 100;
  if (limit < 1 || limit > 100)
    return ddb_invalid(e,
                       "1 validation error detected: Value '%lld' at 'limit' failed to satisfy "
                       "constraint: Member must have value %s",
                       (long long)limit,
                       limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
  const char *start = jsonutil_string(rq->input, "ExclusiveStartTableName");
  const char **names = calloc(rq->st->ntables + 1, sizeof(*names));
  if (!names)
    return ddb_fail(e, "InternalServerError", "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < rq->st->ntables; i++) {
    ddb_table *t = rq->st->tables[i];
    if (strcmp(t->account, rq->account) == 0 && strcmp(t->region, rq->region) == 0)
      names[n++] = t->name;
  }
  qsort(names, n, sizeof(*names), name_cmp);
  json_t *list = json_array();
  const char *last = NULL;
  size_t taken = 0;
  for (size_t i = 0; i < n; i++) {
    if (start && strcmp(names[i], start) <= 0)
      continue;
    if (taken == (size_t)limit)
      break;
    json_array_append_new(list, json_string(names[i]));
    taken++;
    last = names[i];
    if (taken == (size_t)limit && i + 1 < n)
      break;
    last = NULL;
  }
  *out = json_pack("{s:o}", "TableNames", list);
  if (last)
    json_object_set_new(*out, "LastEvaluatedTableName", json_string(last));
  free(names);
  return 0;
}

static int remove_index(ddb_table *t, const char *name, ddb_error *e) {
  for (size_t i = 0; i < t->nindexes; i++)
    if (t->indexes[i]->global && strcmp(t->indexes[i]->name, name) == 0) {
      index_free(t->indexes[i]);
      memmove(&t->indexes[i], &t->indexes[i + 1], (t->nindexes - i - 1) * sizeof(*t->indexes));
      t->nindexes--;
      return 0;
    }
  return ddb_fail(e, "ResourceNotFoundException", "Requested resource not found: Index: %s", name);
}

/* Adds AttributeDefinitions of an UpdateTable that are new to the table. */
static void merge_defs(ddb_table *t, const json_t *defs) {
  size_t i;
  json_t *d;
  json_array_foreach(defs, i, d) {
    const char *n = jsonutil_string(d, "AttributeName");
    if (n && !defined_type(t->attr_defs, n))
      json_array_append(t->attr_defs, d);
  }
}

int ddb_op_update_table(json_t **out, ddb_request *rq, ddb_error *e) {
  const json_t *in = rq->input;
  ddb_table *t =
      ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(in, "TableName"), e);
  if (!t)
    return -1;
  /* The stream change is checked first: a refused one changes nothing. */
  json_t *ss = json_object_get(in, "StreamSpecification");
  if (ddb_stream_spec_check(ss, e) < 0)
    return -1;
  int enable = ss && json_is_true(json_object_get(ss, "StreamEnabled"));
  if (ss && enable && t->stream)
    return ddb_invalid(e, "Table already has an enabled stream: TableName: %s", t->name);
  if (ss && !enable && !t->stream)
    return ddb_invalid(e, "Table does not have a stream enabled: TableName: %s", t->name);
  const char *billing = jsonutil_string(in, "BillingMode");
  json_t *tp = json_object_get(in, "ProvisionedThroughput");
  const char *new_billing = billing ? billing : t->billing;
  if ((billing || tp) &&
      check_billing(new_billing,
                    tp ? tp : (strcmp(new_billing, t->billing) == 0 ? t->throughput : NULL), "",
                    e) < 0)
    return -1;
  merge_defs(t, json_object_get(in, "AttributeDefinitions"));
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(in, "GlobalSecondaryIndexUpdates"), i, u) {
    json_t *c = json_object_get(u, "Create"), *d = json_object_get(u, "Delete"),
           *up = json_object_get(u, "Update");
    if (c && add_index(t, c, 1, new_billing, e) < 0)
      return -1;
    if (d && remove_index(t, jsonutil_string(d, "IndexName"), e) < 0)
      return -1;
    if (up) {
      ddb_index *ix = ddb_table_index(t, jsonutil_string(up, "IndexName"));
      if (!ix || !ix->global)
        return ddb_fail(e, "ResourceNotFoundException", "Requested resource not found: Index: %s",
                        jsonutil_string(up, "IndexName"));
      json_t *ntp = json_object_get(up, "ProvisionedThroughput");
      if (ntp) {
        json_decref(ix->throughput);
        ix->throughput = json_incref(ntp);
      }
    }
  }
  if (billing)
    snprintf(t->billing, sizeof(t->billing), "%s", billing);
  if (tp) {
    json_decref(t->throughput);
    t->throughput = json_incref(tp);
  } else if (billing && strcmp(billing, "PAY_PER_REQUEST") == 0) {
    json_decref(t->throughput);
    t->throughput = json_object();
  }
  if (ss && enable) {
    if (ddb_stream_enable(rq->st, t, jsonutil_string(ss, "StreamViewType"), clock_wall_ms(), e) < 0)
      return -1;
    json_decref(t->stream_spec);
    t->stream_spec = json_incref(ss);
  } else if (ss) {
    ddb_stream_disable(t, clock_wall_ms());
    json_decref(t->stream_spec);
    t->stream_spec = NULL;
  }
  json_t *dp = json_object_get(in, "DeletionProtectionEnabled");
  if (dp)
    t->deletion_protection = json_is_true(dp);
  *out = json_pack("{s:o}", "TableDescription", ddb_table_describe(t, "UPDATING"));
  return 0;
}

int ddb_op_delete_table(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t =
      ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(rq->input, "TableName"), e);
  if (!t)
    return -1;
  if (t->deletion_protection)
    return ddb_invalid(e, "Resource cannot be deleted as it is currently protected against "
                          "deletion. Disable deletion protection first.");
  *out = json_pack("{s:o}", "TableDescription", ddb_table_describe(t, "DELETING"));
  /* Its stream stays readable for 24 hours, closed. */
  ddb_stream_disable(t, clock_wall_ms());
  for (size_t i = 0; i < rq->st->ntables; i++)
    if (rq->st->tables[i] == t) {
      memmove(&rq->st->tables[i], &rq->st->tables[i + 1],
              (rq->st->ntables - i - 1) * sizeof(*rq->st->tables));
      rq->st->ntables--;
      break;
    }
  ddb_table_free(t);
  return 0;
}

/* ---- tags, TTL, limits, endpoints ---- */

static ddb_table *table_by_arn(ddb_request *rq, ddb_error *e) {
  const char *arn = jsonutil_string(rq->input, "ResourceArn");
  for (size_t i = 0; arn && i < rq->st->ntables; i++)
    if (strcmp(rq->st->tables[i]->arn, arn) == 0)
      return rq->st->tables[i];
  ddb_fail(e, "ResourceNotFoundException",
           "Requested resource not found: ResourceArn: %s not found", arn ? arn : "");
  return NULL;
}

int ddb_op_tag_resource(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = table_by_arn(rq, e);
  if (!t)
    return -1;
  json_t *add = tags_from_list(json_object_get(rq->input, "Tags"));
  json_object_update(t->tags, add);
  json_decref(add);
  if (json_object_size(t->tags) > 50)
    return ddb_invalid(e, "One or more parameter values were invalid: The number of tags exceeds "
                          "the limit of 50");
  *out = NULL;
  return 0;
}

int ddb_op_untag_resource(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = table_by_arn(rq, e);
  if (!t)
    return -1;
  size_t i;
  json_t *k;
  json_array_foreach(json_object_get(rq->input, "TagKeys"), i, k) {
    if (json_string_value(k))
      json_object_del(t->tags, json_string_value(k));
  }
  *out = NULL;
  return 0;
}

int ddb_op_list_tags(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = table_by_arn(rq, e);
  if (!t)
    return -1;
  json_t *list = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(t->tags, k, v) {
    json_array_append_new(list, json_pack("{s:s, s:O}", "Key", k, "Value", v));
  }
  *out = json_pack("{s:o}", "Tags", list);
  return 0;
}

int ddb_op_update_ttl(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t =
      ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(rq->input, "TableName"), e);
  if (!t)
    return -1;
  json_t *spec = json_object_get(rq->input, "TimeToLiveSpecification");
  const char *attr = jsonutil_string(spec, "AttributeName");
  int enabled = json_is_true(json_object_get(spec, "Enabled"));
  if (enabled && t->ttl_attr)
    return ddb_invalid(e, "TimeToLive is already enabled");
  if (!enabled && !t->ttl_attr)
    return ddb_invalid(e, "TimeToLive is already disabled");
  free(t->ttl_attr);
  t->ttl_attr = enabled && attr ? strdup(attr) : NULL;
  ddb_ttl_arm(rq->st);
  *out = json_pack("{s:O}", "TimeToLiveSpecification", spec);
  return 0;
}

int ddb_op_describe_ttl(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t =
      ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(rq->input, "TableName"), e);
  if (!t)
    return -1;
  json_t *d = json_pack("{s:s}", "TimeToLiveStatus", t->ttl_attr ? "ENABLED" : "DISABLED");
  if (t->ttl_attr)
    json_object_set_new(d, "AttributeName", json_string(t->ttl_attr));
  *out = json_pack("{s:o}", "TimeToLiveDescription", d);
  return 0;
}

int ddb_op_describe_limits(json_t **out, ddb_request *rq, ddb_error *e) {
  (void)rq;
  (void)e;
  *out = json_pack("{s:i, s:i, s:i, s:i}", "AccountMaxReadCapacityUnits", 80000,
                   "AccountMaxWriteCapacityUnits", 80000, "TableMaxReadCapacityUnits", 40000,
                   "TableMaxWriteCapacityUnits", 40000);
  return 0;
}

int ddb_op_describe_endpoints(json_t **out, ddb_request *rq, ddb_error *e) {
  (void)e;
  char addr[128];
  snprintf(addr, sizeof(addr), "dynamodb.%s.amazonaws.com", rq->region);
  *out = json_pack("{s:[{s:s, s:i}]}", "Endpoints", "Address", addr, "CachePeriodInMinutes", 1440);
  return 0;
}

/* ---- stored-only settings (what Terraform and CDK read back) ---- */

static json_t *backups_desc(const ddb_table *t) {
  json_t *pitr = json_pack("{s:s}", "PointInTimeRecoveryStatus", t->pitr ? "ENABLED" : "DISABLED");
  if (t->pitr) {
    double now = (double)clock_wall_ms() / 1000.0;
    json_object_set_new(pitr, "EarliestRestorableDateTime",
                        json_real(t->created > now - 35 * 86400 ? t->created : now - 35 * 86400));
    json_object_set_new(pitr, "LatestRestorableDateTime", json_real(now - 300));
  }
  return json_pack("{s:{s:s, s:o}}", "ContinuousBackupsDescription", "ContinuousBackupsStatus",
                   "ENABLED", "PointInTimeRecoveryDescription", pitr);
}

static ddb_table *named_table(ddb_request *rq, ddb_error *e) {
  return ddb_table_find(rq->st, rq->account, rq->region, jsonutil_string(rq->input, "TableName"),
                        e);
}

int ddb_op_describe_continuous_backups(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = named_table(rq, e);
  if (!t)
    return ddb_fail(e, "TableNotFoundException", "Table not found: %s",
                    jsonutil_string(rq->input, "TableName"));
  *out = backups_desc(t);
  return 0;
}

int ddb_op_update_continuous_backups(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = named_table(rq, e);
  if (!t)
    return ddb_fail(e, "TableNotFoundException", "Table not found: %s",
                    jsonutil_string(rq->input, "TableName"));
  json_t *spec = json_object_get(rq->input, "PointInTimeRecoverySpecification");
  t->pitr = json_is_true(json_object_get(spec, "PointInTimeRecoveryEnabled"));
  *out = backups_desc(t);
  return 0;
}

int ddb_op_describe_kinesis_destination(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = named_table(rq, e);
  if (!t)
    return -1;
  *out = json_pack("{s:s, s:[]}", "TableName", t->name, "KinesisDataStreamDestinations");
  return 0;
}

int ddb_op_describe_contributor_insights(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = named_table(rq, e);
  if (!t)
    return -1;
  *out = json_pack("{s:s, s:s}", "TableName", t->name, "ContributorInsightsStatus",
                   t->contributor_insights ? "ENABLED" : "DISABLED");
  const char *index = jsonutil_string(rq->input, "IndexName");
  if (index)
    json_object_set_new(*out, "IndexName", json_string(index));
  return 0;
}

int ddb_op_update_contributor_insights(json_t **out, ddb_request *rq, ddb_error *e) {
  ddb_table *t = named_table(rq, e);
  if (!t)
    return -1;
  const char *action = jsonutil_string(rq->input, "ContributorInsightsAction");
  t->contributor_insights = action && strcmp(action, "ENABLE") == 0;
  *out = json_pack("{s:s, s:s}", "TableName", t->name, "ContributorInsightsStatus",
                   t->contributor_insights ? "ENABLED" : "DISABLED");
  return 0;
}
