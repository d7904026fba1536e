/*
 * list.c — the listings: ListObjects (v1) and ListObjectsV2, ListObjectVersions
 * and ListMultipartUploads.
 *
 * A listing walks the bucket's sorted keys (meta.c) from the first key at or
 * after the prefix or marker, found by binary search, and stops at the first
 * key past the prefix or when the page is full: what lies before the page is
 * never scanned. Keys that share a part up to the delimiter fold into one
 * common prefix, which counts against MaxKeys like a key (as in S3). V2's
 * continuation token is the base64 of the last key or prefix returned.
 */
#include "emulator/s3/s3_int.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *s3_url_encode(const char *s) {
  dynbuf b;
  dynbuf_init(&b, 64 << 10);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (isalnum(*c) || strchr("-._~/", *c))
      dynbuf_append(&b, (const char *)c, 1);
    else
      dynbuf_printf(&b, "%%%02X", *c);
  }
  return dynbuf_take(&b, NULL);
}

static json_t *key_json(const char *key, int url) {
  if (!url)
    return json_string(key);
  char *e = s3_url_encode(key);
  json_t *j = e ? json_string(e) : NULL;
  free(e);
  return j;
}

int s3_max_keys_valid(aws_call *call, const json_t *input, const char *member) {
  json_t *v = json_object_get(input, member);
  if (!json_is_integer(v) || json_integer_value(v) >= 0)
    return 1;
  const char *arg = strcmp(member, "MaxUploads") == 0 ? "max-uploads"
                    : strcmp(member, "MaxParts") == 0 ? "max-parts"
                                                      : "maxKeys";
  char value[32];
  snprintf(value, sizeof(value), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  aws_call_fail_fields(call, 400, "InvalidArgument",
                       json_pack("{s:s, s:s}", "ArgumentName", arg, "ArgumentValue", value),
                       "Argument %s must be an integer between 0 and 2147483647", arg);
  return 0;
}

int s3_max_keys(const json_t *input, const char *member) {
  json_t *v = json_object_get(input, member);
  if (!json_is_integer(v))
    return 1000;
  json_int_t n = json_integer_value(v);
  return n < 0 ? 0 : n > 1000 ? 1000 : (int)n;
}

typedef struct list_walk {
  const char *prefix, *delimiter, *after;
  int max, url, owner;
  json_t *contents, *prefixes;
  int truncated;
  char *next; /* last key or common prefix returned (owned) */
  int count;
} list_walk;

static json_t *content_item(const s3_bucket *b, const s3_key *k, const s3_version *v, int url,
                            int owner) {
  json_t *sc = json_object_get(v->attrs, "StorageClass");
  json_t *item =
      json_pack("{s:o, s:o, s:s, s:I, s:s}", "Key", key_json(k->key, url), "LastModified",
                aws_timestamp_json(v->mtime), "ETag", v->etag, "Size", (json_int_t)v->size,
                "StorageClass", sc ? json_string_value(sc) : "STANDARD");
  if (owner)
    json_object_set_new(item, "Owner", s3_owner_json(s3_object_owner(b, v)));
  if (v->ck_algo != S3_CK_NONE)
    json_object_set_new(item, "ChecksumAlgorithm",
                        json_pack("[s]", s3_checksum_algo_name(v->ck_algo)));
  return item;
}

/* Adds the common prefix of key (after the walk's prefix) when the delimiter
 * occurs; returns 1 when the key was folded into a prefix (counted or not),
 * 0 when it is listed itself, -1 when the page is full. */
static int fold_prefix(list_walk *w, const char *key) {
  if (!w->delimiter || !*w->delimiter)
    return 0;
  size_t plen = w->prefix ? strlen(w->prefix) : 0;
  const char *d = strstr(key + plen, w->delimiter);
  if (!d)
    return 0;
  size_t cplen = (size_t)(d - key) + strlen(w->delimiter);
  if (w->next && strlen(w->next) == cplen && strncmp(w->next, key, cplen) == 0)
    return 1;
  char *cp = strndup(key, cplen);
  if (!cp)
    return 1;
  if (w->after && strcmp(cp, w->after) <= 0) {
    free(cp);
    return 1;
  }
  if (w->count >= w->max) {
    free(cp);
    w->truncated = 1;
    return -1;
  }
  json_array_append_new(w->prefixes, json_pack("{s:o}", "Prefix", key_json(cp, w->url)));
  free(w->next);
  w->next = cp;
  w->count++;
  return 1;
}

static void list_current(const s3_bucket *b, list_walk *w) {
  const char *from = w->prefix ? w->prefix : "";
  if (w->after && strcmp(w->after, from) > 0)
    from = w->after;
  size_t plen = w->prefix ? strlen(w->prefix) : 0;
  for (size_t i = s3_index_lower(&b->keys, from); i < b->keys.len; i++) {
    const s3_key *k = b->keys.items[i];
    if (w->after && strcmp(k->key, w->after) <= 0)
      continue;
    if (plen && strncmp(k->key, w->prefix, plen) != 0)
      break;
    if (k->versions->delete_marker)
      continue;
    int folded = fold_prefix(w, k->key);
    if (folded < 0)
      break;
    if (folded)
      continue;
    if (w->count >= w->max) {
      w->truncated = w->max > 0;
      break;
    }
    json_array_append_new(w->contents, content_item(b, k, k->versions, w->url, w->owner));
    free(w->next);
    w->next = strdup(k->key);
    w->count++;
  }
}

static int encoding_url(aws_call *call, const json_t *input, int *url) {
  const char *enc = jsonutil_string(input, "EncodingType");
  *url = 0;
  if (!enc)
    return 0;
  if (strcmp(enc, "url") != 0) {
    aws_call_fail(call, 400, "InvalidArgument", "Invalid Encoding Method specified in Request");
    return -1;
  }
  *url = 1;
  return 0;
}

/* The request's delimiter; an empty one is no delimiter (S3 then leaves
 * Delimiter, and NextMarker, out of the answer). Borrowed. */
static const char *delimiter_of(const json_t *input) {
  const char *d = jsonutil_string(input, "Delimiter");
  return d && *d ? d : NULL;
}

static void set_str(json_t *out, const char *member, const char *value, int url) {
  if (value)
    json_object_set_new(out, member, key_json(value, url));
}

void s3_op_list_objects(aws_call *call, json_t *input) {
  if (!s3_max_keys_valid(call, input, "MaxKeys"))
    return;
  s3_state *st = aws_call_state(call);
  int v2 = strcmp(aws_call_operation(call), "ListObjectsV2") == 0;
  int url = 0;
  if (encoding_url(call, input, &url) < 0)
    return;
  char *token = NULL;
  const char *ctoken = jsonutil_string(input, "ContinuationToken");
  if (v2 && ctoken) {
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (codec_base64_decode(&raw, &raw_len, ctoken, strlen(ctoken)) < 0 ||
        memchr(raw, '\0', raw_len) || raw_len > S3_MAX_KEY + 1) {
      free(raw);
      aws_call_fail_fields(
          call, 400, "InvalidArgument",
          json_pack("{s:s, s:s}", "ArgumentName", "continuation-token", "ArgumentValue", ctoken),
          "The continuation token provided is incorrect");
      return;
    }
    token = strndup((const char *)raw, raw_len);
    free(raw);
  }
  list_walk w = {0};
  w.prefix = jsonutil_string(input, "Prefix");
  w.delimiter = delimiter_of(input);
  w.after = v2 ? (token ? token : jsonutil_string(input, "StartAfter"))
               : jsonutil_string(input, "Marker");
  w.max = s3_max_keys(input, "MaxKeys");
  w.url = url;
  w.owner = v2 ? json_is_true(json_object_get(input, "FetchOwner")) : 1;
  w.contents = json_array();
  w.prefixes = json_array();
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    json_decref(w.contents);
    json_decref(w.prefixes);
    free(token);
    return;
  }
  list_current(b, &w);
  json_t *out = json_pack("{s:s, s:s, s:i, s:b}", "Name", b->name, "Prefix", "", "MaxKeys", w.max,
                          "IsTruncated", w.truncated);
  s3_unlock(st);
  set_str(out, "Prefix", w.prefix, url);
  set_str(out, "Delimiter", w.delimiter, url);
  if (url)
    json_object_set_new(out, "EncodingType", json_string("url"));
  if (json_array_size(w.contents))
    json_object_set(out, "Contents", w.contents);
  if (json_array_size(w.prefixes))
    json_object_set(out, "CommonPrefixes", w.prefixes);
  if (v2) {
    json_object_set_new(out, "KeyCount", json_integer(w.count));
    if (ctoken)
      json_object_set_new(out, "ContinuationToken", json_string(ctoken));
    set_str(out, "StartAfter", jsonutil_string(input, "StartAfter"), url);
    if (w.truncated && w.next) {
      char *t = codec_base64_encode((const unsigned char *)w.next, strlen(w.next));
      if (t)
        json_object_set_new(out, "NextContinuationToken", json_string(t));
      free(t);
    }
  } else {
    json_object_set_new(
        out, "Marker",
        key_json(jsonutil_string(input, "Marker") ? jsonutil_string(input, "Marker") : "", url));
    if (w.truncated && w.next && w.delimiter)
      set_str(out, "NextMarker", w.next, url);
  }
  json_decref(w.contents);
  json_decref(w.prefixes);
  free(w.next);
  free(token);
  aws_call_reply(call, out);
}

void s3_op_list_object_versions(aws_call *call, json_t *input) {
  if (!s3_max_keys_valid(call, input, "MaxKeys"))
    return;
  s3_state *st = aws_call_state(call);
  int url = 0;
  if (encoding_url(call, input, &url) < 0)
    return;
  const char *key_marker = jsonutil_string(input, "KeyMarker");
  const char *vid_marker = jsonutil_string(input, "VersionIdMarker");
  if (key_marker && !*key_marker)
    key_marker = NULL;
  if (vid_marker && !*vid_marker)
    vid_marker = NULL;
  if (vid_marker && !key_marker) {
    aws_call_fail_fields(
        call, 400, "InvalidArgument",
        json_pack("{s:s, s:s}", "ArgumentName", "version-id-marker", "ArgumentValue", vid_marker),
        "A version-id marker cannot be specified without a key marker.");
    return;
  }
  if (vid_marker && !s3_version_id_valid(vid_marker)) {
    s3_fail_bad_version_id(call, "version-id-marker", vid_marker);
    return;
  }
  list_walk w = {0};
  w.prefix = jsonutil_string(input, "Prefix");
  w.delimiter = delimiter_of(input);
  w.max = s3_max_keys(input, "MaxKeys");
  w.url = url;
  w.prefixes = json_array();
  json_t *versions = json_array(), *markers = json_array();
  char *next_key = NULL, *next_vid = NULL;
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    json_decref(w.prefixes);
    json_decref(versions);
    json_decref(markers);
    return;
  }
  /* A version-id marker must name a version of the key marker's key. */
  const s3_key *mk = vid_marker ? s3_key_find(b, key_marker) : NULL;
  const s3_version *mv = mk ? mk->versions : NULL;
  while (mv && strcmp(mv->version_id, vid_marker) != 0)
    mv = mv->next;
  if (mk && !mv) {
    s3_unlock(st);
    json_decref(w.prefixes);
    json_decref(versions);
    json_decref(markers);
    s3_fail_bad_version_id(call, "version-id-marker", vid_marker);
    return;
  }
  const char *from = w.prefix ? w.prefix : "";
  if (key_marker && strcmp(key_marker, from) > 0)
    from = key_marker;
  size_t plen = w.prefix ? strlen(w.prefix) : 0;
  int full = 0;
  for (size_t i = s3_index_lower(&b->keys, from); i < b->keys.len && !full; i++) {
    const s3_key *k = b->keys.items[i];
    int at_marker = key_marker && strcmp(k->key, key_marker) == 0;
    if (key_marker && strcmp(k->key, key_marker) < 0)
      continue;
    if (at_marker && !vid_marker)
      continue;
    if (plen && strncmp(k->key, w.prefix, plen) != 0)
      break;
    w.after = key_marker;
    int folded = at_marker ? 0 : fold_prefix(&w, k->key);
    if (folded < 0)
      break;
    if (folded)
      continue;
    int skipping = at_marker;
    for (const s3_version *v = k->versions; v; v = v->next) {
      if (skipping) {
        if (strcmp(v->version_id, vid_marker) == 0)
          skipping = 0;
        continue;
      }
      if (w.count >= w.max) {
        w.truncated = w.max > 0;
        full = 1;
        break;
      }
      json_t *item =
          json_pack("{s:o, s:s, s:b, s:o, s:o}", "Key", key_json(k->key, url), "VersionId",
                    v->version_id, "IsLatest", v == k->versions, "LastModified",
                    aws_timestamp_json(v->mtime), "Owner", s3_owner_json(s3_object_owner(b, v)));
      if (v->delete_marker) {
        json_array_append_new(markers, item);
      } else {
        json_t *sc = json_object_get(v->attrs, "StorageClass");
        json_object_set_new(item, "ETag", json_string(v->etag));
        json_object_set_new(item, "Size", json_integer((json_int_t)v->size));
        json_object_set_new(item, "StorageClass",
                            json_string(sc ? json_string_value(sc) : "STANDARD"));
        json_array_append_new(versions, item);
      }
      free(next_key);
      free(next_vid);
      next_key = strdup(k->key);
      next_vid = strdup(v->version_id);
      w.count++;
    }
  }
  json_t *out = json_pack("{s:s, s:s, s:i, s:b}", "Name", b->name, "Prefix", "", "MaxKeys", w.max,
                          "IsTruncated", w.truncated);
  s3_unlock(st);
  set_str(out, "Prefix", w.prefix, url);
  set_str(out, "Delimiter", w.delimiter, url);
  set_str(out, "KeyMarker", key_marker ? key_marker : "", url);
  if (vid_marker)
    json_object_set_new(out, "VersionIdMarker", json_string(vid_marker));
  if (url)
    json_object_set_new(out, "EncodingType", json_string("url"));
  if (w.truncated && next_key) {
    set_str(out, "NextKeyMarker", next_key, url);
    json_object_set_new(out, "NextVersionIdMarker", json_string(next_vid));
  }
  if (json_array_size(versions))
    json_object_set(out, "Versions", versions);
  if (json_array_size(markers))
    json_object_set(out, "DeleteMarkers", markers);
  if (json_array_size(w.prefixes))
    json_object_set(out, "CommonPrefixes", w.prefixes);
  json_decref(versions);
  json_decref(markers);
  json_decref(w.prefixes);
  free(w.next);
  free(next_key);
  free(next_vid);
  aws_call_reply(call, out);
}

/* Uploads in S3's listing order: by key, then oldest first (initiation
 * times have one-second resolution, so ties keep the order of creation). */
typedef struct upload_ref {
  const s3_upload *u;
  size_t age; /* 0 for the newest */
} upload_ref;

static int upload_cmp(const void *a, const void *b) {
  const upload_ref *x = a, *y = b;
  int c = strcmp(x->u->key, y->u->key);
  if (c)
    return c;
  return x->age > y->age ? -1 : x->age < y->age ? 1 : 0;
}

void s3_op_list_uploads(aws_call *call, json_t *input) {
  if (!s3_max_keys_valid(call, input, "MaxUploads"))
    return;
  s3_state *st = aws_call_state(call);
  int url = 0;
  if (encoding_url(call, input, &url) < 0)
    return;
  const char *key_marker = jsonutil_string(input, "KeyMarker");
  const char *id_marker = jsonutil_string(input, "UploadIdMarker");
  if (key_marker && !*key_marker)
    key_marker = NULL;
  if (!key_marker || (id_marker && !*id_marker))
    id_marker = NULL; /* S3 ignores an upload-id-marker without a key-marker */
  list_walk w = {0};
  w.prefix = jsonutil_string(input, "Prefix");
  w.delimiter = delimiter_of(input);
  w.max = s3_max_keys(input, "MaxUploads");
  w.url = url;
  w.after = key_marker;
  w.prefixes = json_array();
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    json_decref(w.prefixes);
    return;
  }
  size_t n = 0;
  for (s3_upload *u = b->uploads; u; u = u->next)
    n++;
  upload_ref *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
  if (n && !sorted) {
    s3_unlock(st);
    json_decref(w.prefixes);
    s3_fail_oom(call);
    return;
  }
  n = 0;
  for (s3_upload *u = b->uploads; u; u = u->next, n++) /* newest first */
    sorted[n] = (upload_ref){u, n};
  if (n)
    qsort(sorted, n, sizeof(*sorted), upload_cmp);
  json_t *list = json_array();
  char *next_key = NULL, *next_id = NULL;
  size_t plen = w.prefix ? strlen(w.prefix) : 0;
  int past_id = 0;
  for (size_t i = 0; i < n; i++) {
    const s3_upload *u = sorted[i].u;
    if (plen && strncmp(u->key, w.prefix, plen) != 0)
      continue;
    if (key_marker) {
      int c = strcmp(u->key, key_marker);
      if (c < 0)
        continue;
      /* At the key marker, only uploads after the upload-id marker. */
      if (c == 0 && (!id_marker || !past_id)) {
        if (id_marker && strcmp(u->id, id_marker) == 0)
          past_id = 1;
        continue;
      }
    }
    size_t before = json_array_size(w.prefixes);
    int folded = fold_prefix(&w, u->key);
    if (folded < 0)
      break;
    if (folded) {
      if (json_array_size(w.prefixes) > before) { /* fold_prefix counted it */
        free(next_key);
        free(next_id);
        next_key = strdup(w.next);
        next_id = NULL;
      }
      continue;
    }
    if (w.count >= w.max) {
      w.truncated = w.max > 0;
      break;
    }
    json_t *sc = json_object_get(u->attrs, "StorageClass");
    json_t *item =
        json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "UploadId", u->id, "Key", key_json(u->key, url),
                  "Initiated", aws_timestamp_json(u->initiated), "StorageClass",
                  sc ? json_string_value(sc) : "STANDARD", "Owner", s3_upload_party_json(b, u, 0),
                  "Initiator", s3_upload_party_json(b, u, 1));
    if (u->ck_algo != S3_CK_NONE)
      json_object_set_new(item, "ChecksumAlgorithm",
                          json_string(s3_checksum_algo_name(u->ck_algo)));
    json_array_append_new(list, item);
    free(next_key);
    free(next_id);
    next_key = strdup(u->key);
    next_id = strdup(u->id);
    w.count++;
  }
  free(sorted);
  json_t *out = json_pack("{s:s, s:i, s:b}", "Bucket", b->name, "MaxUploads", w.max, "IsTruncated",
                          w.truncated);
  s3_unlock(st);
  json_object_set_new(out, "KeyMarker", key_json(key_marker ? key_marker : "", url));
  json_object_set_new(out, "UploadIdMarker", json_string(id_marker ? id_marker : ""));
  set_str(out, "Prefix", w.prefix, url);
  set_str(out, "Delimiter", w.delimiter, url);
  if (w.truncated && next_key) {
    /* Where the next page starts: the last upload or common prefix listed. */
    set_str(out, "NextKeyMarker", next_key, url);
    json_object_set_new(out, "NextUploadIdMarker", json_string(next_id ? next_id : ""));
  }
  if (url)
    json_object_set_new(out, "EncodingType", json_string("url"));
  if (json_array_size(list))
    json_object_set_new(out, "Uploads", list);
  else
    json_decref(list);
  if (json_array_size(w.prefixes))
    json_object_set_new(out, "CommonPrefixes", w.prefixes);
  else
    json_decref(w.prefixes);
  free(w.next);
  free(next_key);
  free(next_id);
  aws_call_reply(call, out);
}
