/*
 * store.c — ordered in-memory storage for a table or an index.
 *
 * Shape: a sorted array of partitions (by partition-key bytes), each holding
 * a sorted array of entries (by sort-key bytes, then, for an index, the
 * table's key). Every lookup is a binary search; a Query touches only the
 * entries it returns; a Scan walks partitions in key order, which keeps its
 * pagination stable. Why sorted arrays rather than a balanced tree: the
 * workload is CI tests with thousands to a few hundred thousand items, where
 * a memmove of a few thousand pointers on insert costs less than a tree's
 * pointer chasing and rebalancing, and range iteration (Query, Scan pages,
 * ScanIndexForward=false) is a plain index walk in both directions.
 *
 * Key bytes compare with memcmp for every type: S and B by their bytes, N in
 * number.c's order-preserving encoding.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <stdlib.h>
#include <string.h>

static int key_cmp(const ddb_bytes *a, const ddb_bytes *b, int nk) {
  for (int i = 0; i < nk; i++) {
    int c = ddb_bytes_cmp(&a[i], &b[i]);
    if (c)
      return c;
  }
  return 0;
}

size_t ddb_store_part_lower(const ddb_store *s, const ddb_bytes *hk) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ddb_bytes_cmp(&s->parts[mid]->hk, hk) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

ddb_part *ddb_store_part(ddb_store *s, const ddb_bytes *hk, int create) {
  size_t i = ddb_store_part_lower(s, hk);
  if (i < s->n && ddb_bytes_cmp(&s->parts[i]->hk, hk) == 0)
    return s->parts[i];
  if (!create)
    return NULL;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    ddb_part **np = realloc(s->parts, cap * sizeof(*np));
    if (!np)
      return NULL;
    s->parts = np;
    s->cap = cap;
  }
  ddb_part *p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  p->hk.len = hk->len;
  p->hk.p = malloc(hk->len + 1);
  if (!p->hk.p) {
    free(p);
    return NULL;
  }
  if (hk->len)
    memcpy(p->hk.p, hk->p, hk->len);
  memmove(&s->parts[i + 1], &s->parts[i], (s->n - i) * sizeof(*s->parts));
  s->parts[i] = p;
  s->n++;
  return p;
}

size_t ddb_part_lower(const ddb_part *p, const ddb_bytes *key, int nk) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (key_cmp(p->v[mid]->k, key, nk) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t ddb_part_upper(const ddb_part *p, const ddb_bytes *key, int nk) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (key_cmp(p->v[mid]->k, key, nk) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static void entry_free(ddb_entry *en) {
  for (int i = 0; i < 3; i++)
    ddb_bytes_free(&en->k[i]);
  json_decref(en->item);
  free(en);
}

int ddb_store_put(ddb_store *s, ddb_bytes *hk, ddb_bytes k[3], json_t *item) {
  ddb_part *p = ddb_store_part(s, hk, 1);
  ddb_bytes_free(hk);
  if (!p) {
    for (int i = 0; i < 3; i++)
      ddb_bytes_free(&k[i]);
    return -1;
  }
  size_t i = ddb_part_lower(p, k, 3);
  if (i < p->n && key_cmp(p->v[i]->k, k, 3) == 0) {
    json_incref(item);
    json_decref(p->v[i]->item);
    p->v[i]->item = item;
    for (int j = 0; j < 3; j++)
      ddb_bytes_free(&k[j]);
    return 0;
  }
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 4;
    ddb_entry **nv = realloc(p->v, cap * sizeof(*nv));
    if (!nv)
      goto fail;
    p->v = nv;
    p->cap = cap;
  }
  ddb_entry *en = calloc(1, sizeof(*en));
  if (!en)
    goto fail;
  for (int j = 0; j < 3; j++) {
    en->k[j] = k[j];
    k[j].p = NULL;
    k[j].len = 0;
  }
  en->item = json_incref(item);
  memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof(*p->v));
  p->v[i] = en;
  p->n++;
  s->items++;
  return 0;
fail:
  for (int j = 0; j < 3; j++)
    ddb_bytes_free(&k[j]);
  return -1;
}

static void part_free(ddb_part *p) {
  for (size_t i = 0; i < p->n; i++)
    entry_free(p->v[i]);
  free(p->v);
  ddb_bytes_free(&p->hk);
  free(p);
}

int ddb_store_remove(ddb_store *s, const ddb_bytes *hk, const ddb_bytes k[3]) {
  size_t pi = ddb_store_part_lower(s, hk);
  if (pi >= s->n || ddb_bytes_cmp(&s->parts[pi]->hk, hk) != 0)
    return 0;
  ddb_part *p = s->parts[pi];
  size_t i = ddb_part_lower(p, k, 3);
  if (i >= p->n || key_cmp(p->v[i]->k, k, 3) != 0)
    return 0;
  entry_free(p->v[i]);
  memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
  p->n--;
  s->items--;
  if (p->n == 0) {
    part_free(p);
    memmove(&s->parts[pi], &s->parts[pi + 1], (s->n - pi - 1) * sizeof(*s->parts));
    s->n--;
  }
  return 1;
}

json_t *ddb_store_get(const ddb_store *s, const ddb_bytes *hk, const ddb_bytes k[3]) {
  size_t pi = ddb_store_part_lower(s, hk);
  if (pi >= s->n || ddb_bytes_cmp(&s->parts[pi]->hk, hk) != 0)
    return NULL;
  const ddb_part *p = s->parts[pi];
  size_t i = ddb_part_lower(p, k, 3);
  if (i >= p->n || key_cmp(p->v[i]->k, k, 3) != 0)
    return NULL;
  return p->v[i]->item;
}

void ddb_store_clear(ddb_store *s) {
  for (size_t i = 0; i < s->n; i++)
    part_free(s->parts[i]);
  free(s->parts);
  memset(s, 0, sizeof(*s));
}
