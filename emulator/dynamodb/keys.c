/*
 * keys.c — an item's place in a table and its indexes: key extraction and
 * checks with AWS's messages, whole-item checks (index key types, size), and
 * the one write path that keeps every index in step with the table.
 *
 * Indexes hold references to the same item objects as the table (items are
 * never modified in place, a write swaps in a new object), so a projection is
 * applied when an index is read: ALL, KEYS_ONLY or INCLUDE.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/clock.h"

#include <stdlib.h>
#include <string.h>

#define MAX_HASH_KEY 2048
#define MAX_RANGE_KEY 1024

static int key_part(ddb_bytes *out, const ddb_keydef *kd, const json_t *item, int exact,
                    size_t limit, const char *which, ddb_error *e) {
  json_t *v = json_object_get(item, kd->name);
  if (!v) {
    if (exact)
      return ddb_invalid(e, "The provided key element does not match the schema");
    return ddb_invalid(
        e, "One or more parameter values were invalid: Missing the key %s in the item", kd->name);
  }
  const char *t = ddb_value_type(v);
  if (!t || t[0] != kd->type || t[1] != '\0') {
    if (exact)
      return ddb_invalid(e, "The provided key element does not match the schema");
    return ddb_invalid(e,
                       "One or more parameter values were invalid: Type mismatch for key %s "
                       "expected: %c actual: %s",
                       kd->name, kd->type, t ? t : "?");
  }
  if (kd->type != 'N' && json_string_length(json_object_get(v, t)) == 0)
    return ddb_invalid(e,
                       "One or more parameter values are not valid. The AttributeValue for a key "
                       "attribute cannot contain an empty %s value. Key: %s",
                       kd->type == 'S' ? "string" : "binary", kd->name);
  if (ddb_key_bytes(out, v, kd->type) < 0)
    return ddb_invalid(e, "One or more parameter values were invalid: invalid key %s", kd->name);
  if (out->len > limit) {
    ddb_bytes_free(out);
    return ddb_invalid(e,
                       "One or more parameter values were invalid: Size of %s has exceeded the "
                       "maximum size limit of%zu bytes",
                       which, limit);
  }
  return 0;
}

int ddb_table_key(const ddb_table *t, const json_t *item, int exact, ddb_bytes *hk, ddb_bytes *rk,
                  ddb_error *e) {
  if (!json_is_object(item))
    return ddb_invalid(e, "The provided key element does not match the schema");
  if (exact && json_object_size(item) != 1u + (t->range.name != NULL))
    return ddb_invalid(e, "The provided key element does not match the schema");
  ddb_bytes h = {0}, r = {0};
  if (key_part(&h, &t->hash, item, exact, MAX_HASH_KEY, "hashkey", e) < 0)
    return -1;
  if (t->range.name && key_part(&r, &t->range, item, exact, MAX_RANGE_KEY, "rangekey", e) < 0) {
    ddb_bytes_free(&h);
    return -1;
  }
  *hk = h;
  *rk = r;
  return 0;
}

json_t *ddb_table_get(const ddb_table *t, const ddb_bytes *hk, const ddb_bytes *rk) {
  ddb_bytes k[3] = {*rk, {0}, {0}};
  return ddb_store_get(&t->store, hk, k);
}

int ddb_table_check_item(const ddb_table *t, const json_t *item, ddb_error *e) {
  for (size_t i = 0; i < t->nindexes; i++) {
    const ddb_index *ix = t->indexes[i];
    const ddb_keydef *kds[2] = {&ix->hash, &ix->range};
    for (int j = 0; j < 2; j++) {
      const ddb_keydef *kd = kds[j];
      json_t *v = kd->name ? json_object_get(item, kd->name) : NULL;
      if (!v)
        continue;
      const char *ty = ddb_value_type(v);
      if (!ty || ty[0] != kd->type || ty[1] != '\0')
        return ddb_invalid(e,
                           "One or more parameter values were invalid: Type mismatch for Index "
                           "Key %s Expected: %c Actual: %s IndexName: %s",
                           kd->name, kd->type, ty ? ty : "?", ix->name);
      if (kd->type != 'N' && json_string_length(json_object_get(v, ty)) == 0)
        return ddb_invalid(e,
                           "One or more parameter values are not valid. A value specified for a "
                           "secondary index key is not supported. The AttributeValue for a key "
                           "attribute cannot contain an empty %s value. IndexName: %s, IndexKey: "
                           "%s",
                           kd->type == 'S' ? "string" : "binary", ix->name, kd->name);
    }
  }
  if (ddb_item_size(item) > DDB_MAX_ITEM_SIZE)
    return ddb_invalid(e, "Item size has exceeded the maximum allowed size");
  return 0;
}

/* The index entry key of item: 0 and filled, or 1 when the item is not in
 * the index (sparse: an index key attribute is missing). */
static int index_key(const ddb_table *t, const ddb_index *ix, const json_t *item, ddb_bytes *ihk,
                     ddb_bytes k[3]) {
  memset(k, 0, 3 * sizeof(*k));
  json_t *hv = json_object_get(item, ix->hash.name);
  json_t *rv = ix->range.name ? json_object_get(item, ix->range.name) : NULL;
  if (!hv || (ix->range.name && !rv))
    return 1;
  if (ddb_key_bytes(ihk, hv, ix->hash.type) < 0)
    return 1;
  if ((rv && ddb_key_bytes(&k[0], rv, ix->range.type) < 0) ||
      ddb_key_bytes(&k[1], json_object_get(item, t->hash.name), t->hash.type) < 0 ||
      (t->range.name &&
       ddb_key_bytes(&k[2], json_object_get(item, t->range.name), t->range.type) < 0)) {
    ddb_bytes_free(ihk);
    for (int i = 0; i < 3; i++)
      ddb_bytes_free(&k[i]);
    return 1;
  }
  return 0;
}

int ddb_table_write(ddb_table *t, ddb_bytes *hk, ddb_bytes *rk, json_t *item) {
  return ddb_table_write_by(t, hk, rk, item, 0);
}

int ddb_table_write_by(ddb_table *t, ddb_bytes *hk, ddb_bytes *rk, json_t *item, int by_service) {
  json_t *old = ddb_table_get(t, hk, rk);
  int rc = 0;
  if (t->stream)
    ddb_stream_record(t->stream, old, item, by_service, clock_wall_ms());
  for (size_t i = 0; i < t->nindexes; i++) {
    ddb_index *ix = t->indexes[i];
    ddb_bytes ihk = {0}, k[3];
    if (old && index_key(t, ix, old, &ihk, k) == 0) {
      ddb_store_remove(&ix->store, &ihk, k);
      ddb_bytes_free(&ihk);
      for (int j = 0; j < 3; j++)
        ddb_bytes_free(&k[j]);
    }
    if (item && index_key(t, ix, item, &ihk, k) == 0 &&
        ddb_store_put(&ix->store, &ihk, k, item) < 0)
      rc = -1;
  }
  ddb_bytes k[3] = {*rk, {0}, {0}};
  if (item) {
    if (ddb_store_put(&t->store, hk, k, item) < 0)
      rc = -1;
  } else {
    ddb_store_remove(&t->store, hk, k);
    ddb_bytes_free(hk);
    ddb_bytes_free(&k[0]);
  }
  rk->p = NULL;
  rk->len = 0;
  return rc;
}

static void copy_attr(json_t *dst, const json_t *item, const char *name) {
  json_t *v = name ? json_object_get(item, name) : NULL;
  if (v)
    json_object_set(dst, name, v);
}

json_t *ddb_table_key_of(const ddb_table *t, const ddb_index *ix, const json_t *item) {
  json_t *k = json_object();
  copy_attr(k, item, t->hash.name);
  copy_attr(k, item, t->range.name);
  if (ix) {
    copy_attr(k, item, ix->hash.name);
    copy_attr(k, item, ix->range.name);
  }
  return k;
}

json_t *ddb_index_project(const ddb_table *t, const ddb_index *ix, const json_t *item) {
  if (!ix || ix->projection == DDB_PROJ_ALL)
    return json_incref((json_t *)item);
  json_t *out = ddb_table_key_of(t, ix, item);
  if (ix->projection == DDB_PROJ_INCLUDE) {
    size_t i;
    json_t *n;
    json_array_foreach(ix->nonkey, i, n) copy_attr(out, item, json_string_value(n));
  }
  return out;
}
