/*
 * meta.c — S3's metadata tree: buckets (sorted by name, one namespace across
 * accounts, as in AWS), each with its keys (sorted by key bytes) and a key's
 * versions (newest first), and the multipart uploads in progress.
 *
 * Buckets and keys are kept in sorted arrays (s3_index) rather than hash
 * maps: ListBuckets and every ListObjects* walk them in order, from a prefix
 * or a marker found by binary search, which a hash map cannot do. Inserting
 * into the middle moves pointers only.
 *
 * Everything here runs under the state's lock. Freeing a version can remove
 * its data file now or at s3_unlock (store.c), which is what callers under
 * the lock want: an unlink must not hold every other request up.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- small values ---- */

/* Whole seconds (HTTP dates have no fraction), rounded up so that an object
 * never looks older than a file written in the same second before it was
 * uploaded (aws s3 sync compares the two). Not clock_wall_ms(): rounding up
 * must see the nanoseconds. */
double s3_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (ts.tv_nsec > 0 ? 1 : 0);
}

void s3_random_id(char *out, size_t len) {
  static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char b[64];
  if (len > sizeof(b) + 1)
    len = sizeof(b) + 1;
  if (getrandom(b, len - 1, 0) != (ssize_t)(len - 1)) {
    for (size_t i = 0; i + 1 < len; i++)
      b[i] = (unsigned char)(rand() & 0xFF);
  }
  for (size_t i = 0; i + 1 < len; i++)
    out[i] = alphabet[b[i] % 62];
  out[len - 1] = '\0';
}

void s3_etag(char *out, size_t size, const unsigned char md5[16], int parts) {
  char hex[33];
  codec_hex_encode(hex, md5, 16);
  if (parts)
    snprintf(out, size, "\"%s-%d\"", hex, parts);
  else
    snprintf(out, size, "\"%s\"", hex);
}

/* ---- sorted indexes ---- */

/* The name of an indexed record: its first member (C11 6.7.2.1: a pointer to
 * a structure points to its first member). */
static const char *index_name(const void *item) { return *(char *const *)item; }

size_t s3_index_lower(const s3_index *ix, const char *name) {
  size_t lo = 0, hi = ix->len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(index_name(ix->items[mid]), name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void *s3_index_find(const s3_index *ix, const char *name) {
  size_t i = s3_index_lower(ix, name);
  return i < ix->len && strcmp(index_name(ix->items[i]), name) == 0 ? ix->items[i] : NULL;
}

/* Makes room for one more item; -1 when out of memory. */
static int index_reserve(s3_index *ix) {
  if (ix->len < ix->cap)
    return 0;
  size_t cap = ix->cap ? ix->cap * 2 : 16;
  void **items = realloc(ix->items, cap * sizeof(*items));
  if (!items)
    return -1;
  ix->items = items;
  ix->cap = cap;
  return 0;
}

/* Inserts item at its place (after index_reserve). */
static void index_insert(s3_index *ix, void *item) {
  size_t i = s3_index_lower(ix, index_name(item));
  memmove(&ix->items[i + 1], &ix->items[i], (ix->len - i) * sizeof(ix->items[0]));
  ix->items[i] = item;
  ix->len++;
}

/* Takes the item named out; returns it, or NULL when there is none. */
static void *index_remove(s3_index *ix, const char *name) {
  size_t i = s3_index_lower(ix, name);
  if (i >= ix->len || strcmp(index_name(ix->items[i]), name) != 0)
    return NULL;
  void *item = ix->items[i];
  memmove(&ix->items[i], &ix->items[i + 1], (ix->len - i - 1) * sizeof(ix->items[0]));
  ix->len--;
  return item;
}

/* ---- records ---- */

void s3_version_free(s3_state *st, s3_version *v, int data) {
  if (!v)
    return;
  if (data == S3_DOOM_DATA)
    s3_data_unlink_later(st, v->file);
  else if (data == S3_DROP_DATA)
    s3_data_unlink(st, v->file);
  s3_inline_free(st, v->data, v->size);
  free(v->version_id);
  free(v->part_sizes);
  json_decref(v->attrs);
  json_decref(v->tags);
  json_decref(v->acl);
  free(v);
}

void s3_upload_free(s3_state *st, s3_upload *u) {
  if (!u)
    return;
  if (u->parts)
    for (size_t i = 0; i <= S3_MAX_PARTS; i++)
      if (u->parts[i].present) {
        s3_data_unlink_later(st, u->parts[i].file);
        free(u->parts[i].checksum);
      }
  free(u->parts);
  free(u->key);
  json_decref(u->attrs);
  json_decref(u->tags);
  json_decref(u->acl);
  free(u);
}

static void key_free(s3_state *st, s3_key *k, int data) {
  while (k->versions) {
    s3_version *next = k->versions->next;
    s3_version_free(st, k->versions, data);
    k->versions = next;
  }
  free(k->key);
  free(k);
}

void s3_bucket_free(s3_state *st, s3_bucket *b) {
  if (!b)
    return;
  for (size_t i = 0; i < b->keys.len; i++)
    key_free(st, b->keys.items[i], S3_DROP_DATA);
  free(b->keys.items);
  while (b->uploads) {
    s3_upload *next = b->uploads->next;
    s3_upload_free(st, b->uploads);
    b->uploads = next;
  }
  json_decref(b->configs);
  json_decref(b->acl);
  json_decref(b->completed);
  free(b->name);
  free(b);
}

s3_bucket *s3_bucket_find(const s3_state *st, const char *name) {
  return name ? s3_index_find(&st->buckets, name) : NULL;
}

int s3_bucket_insert(s3_state *st, s3_bucket *b) {
  if (index_reserve(&st->buckets) < 0)
    return -1;
  index_insert(&st->buckets, b);
  return 0;
}

void s3_bucket_remove(s3_state *st, const char *name) { index_remove(&st->buckets, name); }

s3_key *s3_key_find(const s3_bucket *b, const char *key) { return s3_index_find(&b->keys, key); }

void s3_key_remove_if_empty(s3_bucket *b, const char *key) {
  s3_key *k = s3_key_find(b, key);
  if (k && !k->versions) {
    index_remove(&b->keys, key);
    free(k->key);
    free(k);
  }
}

s3_version *s3_version_new(const s3_bucket *b) {
  s3_version *v = calloc(1, sizeof(*v));
  if (!v)
    return NULL;
  char id[S3_VERSION_ID_LEN + 1] =
      "null"; /* unversioned writes need no random id (nor its getrandom call) */
  if (b->versioning == 1)
    s3_random_id(id, sizeof(id));
  v->version_id = strdup(id);
  if (!v->version_id) {
    free(v);
    return NULL;
  }
  v->mtime = s3_now();
  return v;
}

int s3_version_install(s3_state *st, s3_bucket *b, const char *key, s3_version *v) {
  s3_key *k = s3_key_find(b, key);
  if (!k) {
    if (index_reserve(&b->keys) < 0)
      return -1;
    k = calloc(1, sizeof(*k));
    if (!k || !(k->key = strdup(key))) {
      free(k);
      return -1;
    }
    index_insert(&b->keys, k);
  }
  if (b->versioning != 1) {
    for (s3_version **pv = &k->versions; *pv; pv = &(*pv)->next) {
      if (strcmp((*pv)->version_id, "null") == 0) {
        s3_version *old = *pv;
        *pv = old->next;
        s3_version_free(st, old, S3_DOOM_DATA);
        break;
      }
    }
  }
  v->next = k->versions;
  k->versions = v;
  return 0;
}
