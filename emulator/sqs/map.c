/*
 * map.c — the SQS engine's string-keyed hash map, and entries that expire.
 *
 * The map finds queues (by account/region/name), a queue's messages (by
 * sequence number, which receipt handles carry) and FIFO groups blocked
 * during one receive. Chained buckets, a power-of-two count doubled when the
 * load reaches one, FNV-1a: keys are short and few enough that nothing more
 * elaborate pays. Values are borrowed; the map owns only its keys.
 *
 * The expiring entries (ttl_map) serve FIFO deduplication ids and receive
 * attempt ids, both kept for a fixed five-minute window: they expire in the
 * order they were added, so a list in that order is pruned from its head.
 */
#include "emulator/sqs/sqs_engine_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- the hash map ---- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

void *sqs_map_get(const sqs_map *m, const char *key) {
  if (m->nbuckets == 0)
    return NULL;
  for (map_entry *e = m->buckets[hash_str(key) & (m->nbuckets - 1)]; e; e = e->next)
    if (strcmp(e->key, key) == 0)
      return e->value;
  return NULL;
}

static int map_grow(sqs_map *m) {
  size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
  map_entry **b = calloc(n, sizeof(*b));
  if (!b)
    return -1;
  for (size_t i = 0; i < m->nbuckets; i++) {
    map_entry *e = m->buckets[i];
    while (e) {
      map_entry *next = e->next;
      size_t j = hash_str(e->key) & (n - 1);
      e->next = b[j];
      b[j] = e;
      e = next;
    }
  }
  free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
  return 0;
}

int sqs_map_put(sqs_map *m, const char *key, void *value) {
  if (m->count >= m->nbuckets && map_grow(m) < 0)
    return -1;
  map_entry *e = malloc(sizeof(*e));
  if (!e)
    return -1;
  e->key = strdup(key);
  if (!e->key) {
    free(e);
    return -1;
  }
  e->value = value;
  size_t i = hash_str(key) & (m->nbuckets - 1);
  e->next = m->buckets[i];
  m->buckets[i] = e;
  m->count++;
  return 0;
}

void *sqs_map_del(sqs_map *m, const char *key) {
  if (m->nbuckets == 0)
    return NULL;
  map_entry **p = &m->buckets[hash_str(key) & (m->nbuckets - 1)];
  for (; *p; p = &(*p)->next) {
    if (strcmp((*p)->key, key) == 0) {
      map_entry *e = *p;
      void *value = e->value;
      *p = e->next;
      free(e->key);
      free(e);
      m->count--;
      return value;
    }
  }
  return NULL;
}

void sqs_map_clear(sqs_map *m) {
  for (size_t i = 0; i < m->nbuckets; i++) {
    map_entry *e = m->buckets[i];
    while (e) {
      map_entry *next = e->next;
      free(e->key);
      free(e);
      e = next;
    }
  }
  free(m->buckets);
  memset(m, 0, sizeof(*m));
}

/* ---- entries that expire ---- */

static void ttl_node_free(ttl_node *n) {
  if (!n)
    return;
  free(n->key);
  json_decref(n->messages);
  free(n);
}

static void ttl_prune(ttl_map *t, uint64_t now) {
  while (t->head && t->head->expires <= now) {
    ttl_node *n = t->head;
    t->head = n->next;
    if (!t->head)
      t->tail = NULL;
    if (sqs_map_get(&t->map, n->key) == n)
      sqs_map_del(&t->map, n->key);
    ttl_node_free(n);
  }
}

ttl_node *sqs_ttl_get(ttl_map *t, const char *key, uint64_t now) {
  ttl_prune(t, now);
  return sqs_map_get(&t->map, key);
}

ttl_node *sqs_ttl_add(ttl_map *t, const char *key, uint64_t expires) {
  ttl_node *n = calloc(1, sizeof(*n));
  if (!n)
    return NULL;
  n->key = strdup(key);
  if (!n->key || (sqs_map_del(&t->map, key), sqs_map_put(&t->map, key, n) < 0)) {
    ttl_node_free(n);
    return NULL;
  }
  n->expires = expires;
  if (t->tail)
    t->tail->next = n;
  else
    t->head = n;
  t->tail = n;
  return n;
}

void sqs_ttl_forget(ttl_map *t, const char *key) { sqs_map_del(&t->map, key); }

void sqs_ttl_clear(ttl_map *t) {
  while (t->head) {
    ttl_node *n = t->head;
    t->head = n->next;
    ttl_node_free(n);
  }
  t->tail = NULL;
  sqs_map_clear(&t->map);
}
