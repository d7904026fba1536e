/*
 * service_s3.c — the S3 service: buckets, objects (with versions), multipart
 * uploads and bucket configurations, on the rest-xml protocol layer.
 *
 * The protocol layer parses every request into the operation's input (URI
 * labels, headers, query, XML bodies) and serializes outputs; object bodies
 * never pass through it. Request bodies are read here from the HTTP request
 * (in memory, or the unlinked file the server spilled a large body to),
 * decoded when aws-chunked, digested (MD5 for the ETag and Content-MD5,
 * plus the requested CRC32/CRC32C/SHA-1/SHA-256 checksum) and kept.
 *
 * Where a body is kept depends on its size. Small object bodies (up to
 * S3_INLINE_MAX, 64 KiB) stay in memory with their version: CI workloads put
 * and get many small objects, and a file per object costs an inode create,
 * write and close per PUT, an unlink per overwrite and an open per GET — most
 * of a small request's time. Larger bodies, and every multipart part, are
 * written to a data file and GetObject answers with the file itself (sent
 * with sendfile, ranges included), so a 1 GB upload costs a file, not 1 GB
 * of RAM. In-memory bodies together are capped (S3_INLINE_BUDGET, 32 MiB):
 * past that, small bodies go to files too, so no workload — a million small
 * objects included — grows the emulator's memory by more than that.
 *
 * Data files live in a private directory under the emulator's data dir, one
 * per object version or uploaded part, named by a counter, and are never
 * modified after they are written: CopyObject hard-links them, an overwrite
 * unlinks the old one (a GET already streaming it keeps its open file).
 * In-memory bodies are immutable too; a GET copies the bytes it sends while
 * holding the lock, so an overwrite can free them at any time.
 *
 * One mutex guards all metadata; reading and writing bodies happens outside
 * it. Bucket names form one namespace across accounts, as in AWS.
 */
#include "common/error.h"

#include "common/jsonutil.h"
#include "common/http_server.h"
#include "common/log.h"
#include "emulator/protocol/protocol.h"
#include "emulator/s3_chunked.h"
#include "emulator/service.h"
#include "common/codec.h"
#include "common/fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S3_MAX_KEY 1024
/* Object bodies up to this size are kept in memory instead of a data file. */
#define S3_INLINE_MAX ((uint64_t)64 << 10)
/* ... as long as all in-memory bodies together stay under this. */
#define S3_INLINE_BUDGET ((uint64_t)32 << 20)
#define S3_MAX_PARTS 10000
#define S3_MIN_PART ((uint64_t)5 << 20)
#define S3_MAX_DELETE 1000
#define S3_MAX_TAGS 50
#define S3_OWNER_ID "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
#define S3_OWNER_NAME "webfile"

typedef struct s3_version {
  char *version_id; /* "null" for unversioned writes */
  int delete_marker;
  uint64_t size;
  uint64_t file; /* data file number; 0: in memory (data) or empty */
  char *data;    /* in-memory body of size bytes (<= S3_INLINE_MAX), owned; NULL when empty */
  char etag[48]; /* quoted */
  double mtime;  /* whole seconds */
  json_t *attrs; /* output members: ContentType, Metadata, StorageClass, … */
  json_t *tags;  /* TagSet array or NULL */
  json_t *acl;   /* canned ACL string or AccessControlPolicy object, or NULL */
  s3_checksum_algo ck_algo;
  char checksum[96];
  int parts;               /* multipart: part count */
  struct s3_version *next; /* older */
} s3_version;

typedef struct s3_key {
  char *key;
  s3_version *versions; /* newest first; never empty */
} s3_key;

typedef struct s3_part {
  int present;
  uint64_t file, size;
  unsigned char md5[16];
  double mtime;
} s3_part;

typedef struct s3_upload {
  char id[48];
  char *key;
  double initiated;
  json_t *attrs, *tags, *acl;
  s3_checksum_algo ck_algo;
  s3_part *parts; /* indexed by part number, S3_MAX_PARTS + 1 entries, lazily */
  struct s3_upload *next;
} s3_upload;

typedef struct s3_bucket {
  char *name;
  char region[32];
  double created;
  int versioning; /* 0 never enabled, 1 Enabled, 2 Suspended */
  s3_key **keys;  /* sorted by key bytes */
  size_t nkeys, capkeys;
  s3_upload *uploads;
  json_t *configs; /* operation family → stored input value */
  json_t *acl;
} s3_bucket;

typedef struct s3_state {
  pthread_mutex_t lock;
  char *dir;
  atomic_uint_fast64_t next_file;
  s3_bucket **buckets; /* sorted by name */
  size_t nbuckets, capbuckets;
  /* Data files of versions replaced or deleted under the lock, removed by
   * state_unlock once the lock is released: an unlink can wait on the
   * filesystem's journal, and must not hold every other request up. */
  uint64_t *doomed;
  size_t ndoomed, capdoomed;
  atomic_uint_fast64_t inline_bytes; /* in-memory bodies, against S3_INLINE_BUDGET */
} s3_state;

/* ---- small helpers ---- */

/* Whole seconds (HTTP dates have no fraction), rounded up so that an object
 * never looks older than a file written in the same second before it was
 * uploaded (aws s3 sync compares the two). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (ts.tv_nsec > 0 ? 1 : 0);
}

static const char *hdr(aws_call *call, const char *name) {
  return http_request_header(aws_call_http(call), name);
}

static void random_id(char *out, size_t len) {
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

static void md5_etag(char *out, size_t size, const unsigned char md5[16], int parts) {
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + i * 2, 3, "%02x", md5[i]);
  if (parts)
    snprintf(out, size, "\"%s-%d\"", hex, parts);
  else
    snprintf(out, size, "\"%s\"", hex);
}

static json_t *owner_json(void) {
  return json_pack("{s:s, s:s}", "DisplayName", S3_OWNER_NAME, "ID", S3_OWNER_ID);
}

/* Percent-encodes everything but unreserved characters and '/'
 * (encoding-type=url). Owned. */
static char *url_encode(const char *s) {
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
  char *e = url_encode(key);
  json_t *j = e ? json_string(e) : NULL;
  free(e);
  return j;
}

/* ---- errors ---- */

static void fail_no_bucket(aws_call *call, const char *bucket) {
  aws_call_fail_fields(call, 404, "NoSuchBucket", json_pack("{s:s}", "BucketName", bucket),
                       "The specified bucket does not exist");
}

static void fail_no_key(aws_call *call, const char *key) {
  aws_call_fail_fields(call, 404, "NoSuchKey", json_pack("{s:s}", "Key", key),
                       "The specified key does not exist.");
}

static void fail_no_upload(aws_call *call, const char *id) {
  aws_call_fail_fields(call, 404, "NoSuchUpload", json_pack("{s:s}", "UploadId", id ? id : ""),
                       "The specified upload does not exist. The upload ID may be invalid, or "
                       "the upload may have been aborted or completed.");
}

/* ---- data files ---- */

static void data_path(const s3_state *st, uint64_t file, char *buf, size_t size) {
  snprintf(buf, size, "%s/%" PRIu64, st->dir, file);
}

static void data_unlink(const s3_state *st, uint64_t file) {
  if (!file)
    return;
  char path[4096];
  data_path(st, file, path, sizeof(path));
  if (unlink(path) < 0 && errno != ENOENT)
    log_warn("s3", "cannot remove the data file %s: %s", path, strerror(errno));
}

/* May one more body be kept in memory? (A soft cap: concurrent uploads may
 * overshoot it by one S3_INLINE_MAX each.) */
static int inline_room(s3_state *st) {
  return atomic_load(&st->inline_bytes) + S3_INLINE_MAX <= S3_INLINE_BUDGET;
}

/* Frees an in-memory body of size bytes and returns it to the budget. */
static void inline_free(s3_state *st, char *data, uint64_t size) {
  if (!data)
    return;
  free(data);
  atomic_fetch_sub(&st->inline_bytes, size);
}

/* Under the lock: file is removed by the next state_unlock. */
static void data_unlink_later(s3_state *st, uint64_t file) {
  if (!file)
    return;
  if (st->ndoomed == st->capdoomed) {
    size_t cap = st->capdoomed ? st->capdoomed * 2 : 16;
    uint64_t *grown = realloc(st->doomed, cap * sizeof(*grown));
    if (!grown) {
      data_unlink(st, file); /* out of memory: now, under the lock */
      return;
    }
    st->doomed = grown;
    st->capdoomed = cap;
  }
  st->doomed[st->ndoomed++] = file;
}

/* Releases the lock, then removes the data files doomed while it was held. */
static void state_unlock(s3_state *st) {
  uint64_t *doomed = NULL;
  size_t n = st->ndoomed;
  if (n) {
    doomed = st->doomed;
    st->doomed = NULL;
    st->ndoomed = st->capdoomed = 0;
  }
  pthread_mutex_unlock(&st->lock);
  for (size_t i = 0; i < n; i++)
    data_unlink(st, doomed[i]);
  free(doomed);
}

static int data_create(s3_state *st, uint64_t *out) {
  uint64_t file = atomic_fetch_add(&st->next_file, 1);
  char path[4096];
  data_path(st, file, path, sizeof(path));
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0)
    *out = file;
  return fd;
}

static int data_open(const s3_state *st, uint64_t file) {
  char path[4096];
  data_path(st, file, path, sizeof(path));
  return open(path, O_RDONLY | O_CLOEXEC);
}

/* Copies len bytes of in from offset to the end of out. */
static int copy_range(int out, int in, uint64_t offset, uint64_t len) {
  off_t off = (off_t)offset;
  while (len > 0) {
    ssize_t n = copy_file_range(in, &off, out, NULL, len > (1u << 30) ? (1u << 30) : len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n > 0) {
      len -= (uint64_t)n;
      continue;
    }
    if (n == 0)
      return -1;
    /* Fallback (EXDEV, ENOSYS, …): read and write. */
    char buf[65536];
    while (len > 0) {
      ssize_t r = pread(in, buf, len > sizeof(buf) ? sizeof(buf) : len, off);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0 || fs_write_all(out, buf, (size_t)r) < 0)
        return -1;
      off += r;
      len -= (uint64_t)r;
    }
  }
  return 0;
}

/* ---- metadata ---- */

/* remove_data: 0 keeps the data file, 1 removes it now, 2 after the lock
 * (state_unlock; the caller holds the lock). */
static void version_free(s3_state *st, s3_version *v, int remove_data) {
  if (!v)
    return;
  if (remove_data == 2)
    data_unlink_later(st, v->file);
  else if (remove_data)
    data_unlink(st, v->file);
  inline_free(st, v->data, v->size);
  free(v->version_id);
  json_decref(v->attrs);
  json_decref(v->tags);
  json_decref(v->acl);
  free(v);
}

/* Under the lock (the part files go at state_unlock). */
static void upload_free(s3_state *st, s3_upload *u) {
  if (!u)
    return;
  if (u->parts)
    for (size_t i = 0; i <= S3_MAX_PARTS; i++)
      if (u->parts[i].present)
        data_unlink_later(st, u->parts[i].file);
  free(u->parts);
  free(u->key);
  json_decref(u->attrs);
  json_decref(u->tags);
  json_decref(u->acl);
  free(u);
}

static void bucket_free(s3_state *st, s3_bucket *b) {
  if (!b)
    return;
  for (size_t i = 0; i < b->nkeys; i++) {
    s3_version *v = b->keys[i]->versions;
    while (v) {
      s3_version *next = v->next;
      version_free(st, v, 1);
      v = next;
    }
    free(b->keys[i]->key);
    free(b->keys[i]);
  }
  free(b->keys);
  while (b->uploads) {
    s3_upload *next = b->uploads->next;
    upload_free(st, b->uploads);
    b->uploads = next;
  }
  json_decref(b->configs);
  json_decref(b->acl);
  free(b->name);
  free(b);
}

/* Index of the first bucket whose name is >= name. */
static size_t bucket_lower(const s3_state *st, const char *name) {
  size_t lo = 0, hi = st->nbuckets;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(st->buckets[mid]->name, name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static s3_bucket *bucket_find(const s3_state *st, const char *name) {
  if (!name)
    return NULL;
  size_t i = bucket_lower(st, name);
  return i < st->nbuckets && strcmp(st->buckets[i]->name, name) == 0 ? st->buckets[i] : NULL;
}

static size_t key_lower(const s3_bucket *b, const char *key) {
  size_t lo = 0, hi = b->nkeys;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(b->keys[mid]->key, key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static s3_key *key_find(const s3_bucket *b, const char *key) {
  size_t i = key_lower(b, key);
  return i < b->nkeys && strcmp(b->keys[i]->key, key) == 0 ? b->keys[i] : NULL;
}

static void key_remove_if_empty(const s3_state *st, s3_bucket *b, const char *key) {
  (void)st;
  size_t i = key_lower(b, key);
  if (i >= b->nkeys || strcmp(b->keys[i]->key, key) != 0 || b->keys[i]->versions)
    return;
  free(b->keys[i]->key);
  free(b->keys[i]);
  memmove(&b->keys[i], &b->keys[i + 1], (b->nkeys - i - 1) * sizeof(b->keys[0]));
  b->nkeys--;
}

/* Installs v as the newest version of key, applying the bucket's versioning:
 * unversioned and suspended buckets replace the "null" version. Takes v. */
static int version_install(s3_state *st, s3_bucket *b, const char *key, s3_version *v) {
  s3_key *k = key_find(b, key);
  if (!k) {
    if (b->nkeys == b->capkeys) {
      size_t cap = b->capkeys ? b->capkeys * 2 : 16;
      s3_key **keys = realloc(b->keys, cap * sizeof(*keys));
      if (!keys)
        return -1;
      b->keys = keys;
      b->capkeys = cap;
    }
    k = calloc(1, sizeof(*k));
    if (!k || !(k->key = strdup(key))) {
      free(k);
      return -1;
    }
    size_t i = key_lower(b, key);
    memmove(&b->keys[i + 1], &b->keys[i], (b->nkeys - i) * sizeof(b->keys[0]));
    b->keys[i] = k;
    b->nkeys++;
  }
  if (b->versioning != 1) {
    for (s3_version **pv = &k->versions; *pv; pv = &(*pv)->next) {
      if (strcmp((*pv)->version_id, "null") == 0) {
        s3_version *old = *pv;
        *pv = old->next;
        version_free(st, old, 2);
        break;
      }
    }
  }
  v->next = k->versions;
  k->versions = v;
  return 0;
}

static s3_version *version_new(const s3_bucket *b) {
  s3_version *v = calloc(1, sizeof(*v));
  if (!v)
    return NULL;
  char id[33] = "null"; /* unversioned writes need no random id (nor its getrandom call) */
  if (b->versioning == 1)
    random_id(id, sizeof(id));
  v->version_id = strdup(id);
  if (!v->version_id) {
    free(v);
    return NULL;
  }
  v->mtime = now_s();
  return v;
}

/* ---- request attributes ---- */

static const char *const attr_members[] = {"CacheControl",
                                           "ContentDisposition",
                                           "ContentEncoding",
                                           "ContentLanguage",
                                           "ContentType",
                                           "Expires",
                                           "Metadata",
                                           "StorageClass",
                                           "WebsiteRedirectLocation",
                                           "ServerSideEncryption",
                                           "SSEKMSKeyId",
                                           "BucketKeyEnabled",
                                           NULL};

/* The stored attributes of an object from a put/create-upload/copy input. */
static json_t *attrs_from_input(const json_t *input) {
  json_t *attrs = json_object();
  for (size_t i = 0; attr_members[i]; i++) {
    json_t *v = json_object_get(input, attr_members[i]);
    if (v)
      json_object_set(attrs, attr_members[i], v);
  }
  /* aws-chunked is transfer framing, not a content encoding of the object. */
  const char *enc = json_string_value(json_object_get(attrs, "ContentEncoding"));
  if (enc) {
    dynbuf b;
    dynbuf_init(&b, 4096);
    for (const char *p = enc; *p;) {
      size_t n = strcspn(p, ",");
      const char *s = p, *e = p + n;
      p = *e ? e + 1 : e;
      while (s < e && isspace((unsigned char)*s))
        s++;
      while (e > s && isspace((unsigned char)e[-1]))
        e--;
      if (e == s || ((size_t)(e - s) == 11 && strncasecmp(s, "aws-chunked", 11) == 0))
        continue;
      if (b.len)
        dynbuf_puts(&b, ",");
      dynbuf_append(&b, s, (size_t)(e - s));
    }
    char *clean = dynbuf_take(&b, NULL);
    if (clean && *clean)
      json_object_set_new(attrs, "ContentEncoding", json_string(clean));
    else
      json_object_del(attrs, "ContentEncoding");
    free(clean);
  }
  const char *sc = json_string_value(json_object_get(attrs, "StorageClass"));
  if (sc && strcmp(sc, "STANDARD") == 0)
    json_object_del(attrs, "StorageClass");
  return attrs;
}

/* "k1=v1&k2=v2" (x-amz-tagging) → TagSet; NULL with *bad set when malformed. */
static json_t *tags_from_header(const char *text, int *bad) {
  *bad = 0;
  if (!text)
    return NULL;
  http_query_pair *pairs = NULL;
  size_t count = 0;
  if (http_query_parse(&pairs, &count, text, strlen(text), S3_MAX_TAGS + 1) < 0 ||
      count > S3_MAX_TAGS) {
    http_query_free(pairs, count);
    *bad = 1;
    return NULL;
  }
  json_t *set = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *tag = json_pack("{s:s, s:s}", "Key", pairs[i].name, "Value", pairs[i].value);
    if (!tag) {
      *bad = 1;
      break;
    }
    json_array_append_new(set, tag);
  }
  http_query_free(pairs, count);
  if (*bad) {
    json_decref(set);
    return NULL;
  }
  return set;
}

/* The ACL an input asks for: canned (ACL) or a policy document. */
static json_t *acl_from_input(const json_t *input) {
  json_t *policy = json_object_get(input, "AccessControlPolicy");
  if (policy)
    return json_incref(policy);
  json_t *canned = json_object_get(input, "ACL");
  return canned ? json_incref(canned) : NULL;
}

static json_t *grant(const char *type, const char *who, const char *perm) {
  json_t *grantee = json_pack("{s:s}", "Type", type);
  if (strcmp(type, "Group") == 0) {
    json_object_set_new(grantee, "URI", json_string(who));
  } else {
    json_object_set_new(grantee, "ID", json_string(S3_OWNER_ID));
    json_object_set_new(grantee, "DisplayName", json_string(S3_OWNER_NAME));
  }
  return json_pack("{s:o, s:s}", "Grantee", grantee, "Permission", perm);
}

/* GetBucketAcl / GetObjectAcl output from what was stored. */
static json_t *acl_output(const json_t *acl) {
  if (json_is_object(acl))
    return json_deep_copy(acl);
  const char *canned = json_is_string(acl) ? json_string_value(acl) : "private";
  json_t *grants = json_array();
  json_array_append_new(grants, grant("CanonicalUser", NULL, "FULL_CONTROL"));
  static const char all[] = "http://acs.amazonaws.com/groups/global/AllUsers";
  static const char auth[] = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
  if (strcmp(canned, "public-read") == 0 || strcmp(canned, "public-read-write") == 0)
    json_array_append_new(grants, grant("Group", all, "READ"));
  if (strcmp(canned, "public-read-write") == 0)
    json_array_append_new(grants, grant("Group", all, "WRITE"));
  if (strcmp(canned, "authenticated-read") == 0)
    json_array_append_new(grants, grant("Group", auth, "READ"));
  return json_pack("{s:o, s:o}", "Owner", owner_json(), "Grants", grants);
}

/* ---- reading request bodies ---- */

typedef struct ingest_result {
  uint64_t file, size;
  char *data; /* the body in memory (owned) when it was kept inline; NULL otherwise */
  unsigned char md5[16];
  s3_checksum_algo ck_algo;
  char checksum[96];
} ingest_result;

/* Where decoded body bytes go: memory while the body may stay inline and
 * fits, else a data file created on the first byte that does not fit. */
typedef struct ingest_sink {
  s3_state *st;
  s3_digest *dg;
  uint64_t size;
  int inline_ok; /* the caller keeps small bodies in memory */
  char *mem;     /* inline bytes so far (size of them) */
  size_t mem_cap;
  int fd; /* -1 until the body goes to a data file */
  uint64_t file;
  int create_errno; /* the data file could not be created */
  int adopt;        /* digest only: the spilled request body becomes the data file */
} ingest_sink;

/* Makes the request body the server spilled (an unlinked O_TMPFILE file in
 * the emulator's data dir, the parent of ours) the object's data file, instead
 * of writing the same bytes again: linked into place through /proc/self/fd
 * (how an O_TMPFILE file gets a name without privileges), else copied in the
 * kernel (another filesystem, no /proc, a named spill file). Sets s->file. */
static int sink_adopt(ingest_sink *s, int body_fd) {
  uint64_t file = atomic_fetch_add(&s->st->next_file, 1);
  char path[4096], proc[64];
  data_path(s->st, file, path, sizeof(path));
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", body_fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
    s->file = file;
    return 0;
  }
  s->fd = data_create(s->st, &s->file);
  if (s->fd < 0) {
    s->create_errno = errno;
    return -1;
  }
  return copy_range(s->fd, body_fd, 0, s->size);
}

/* Moves the body to a new data file. */
static int sink_spill(ingest_sink *s) {
  s->fd = data_create(s->st, &s->file);
  if (s->fd < 0) {
    s->create_errno = errno;
    return -1;
  }
  if (s->size && fs_write_all(s->fd, s->mem, (size_t)s->size) < 0)
    return -1;
  free(s->mem);
  s->mem = NULL;
  s->mem_cap = 0;
  return 0;
}

static int sink_write(void *payload, const char *data, size_t len) {
  ingest_sink *s = payload;
  if (len == 0)
    return 0;
  s3_digest_update(s->dg, data, len);
  if (s->adopt) {
    s->size += len;
    return 0;
  }
  if (s->fd < 0 && s->inline_ok && s->size + len <= S3_INLINE_MAX) {
    if (s->size + len > s->mem_cap) {
      size_t cap = s->mem_cap ? s->mem_cap : 4096;
      while (cap < s->size + len)
        cap *= 2;
      if (cap > S3_INLINE_MAX)
        cap = S3_INLINE_MAX;
      char *grown = realloc(s->mem, cap);
      if (!grown)
        return -1;
      s->mem = grown;
      s->mem_cap = cap;
    }
    memcpy(s->mem + s->size, data, len);
    s->size += len;
    return 0;
  }
  if (s->fd < 0 && sink_spill(s) < 0)
    return -1;
  s->size += len;
  return fs_write_all(s->fd, data, len);
}

static const char *const checksum_headers[] = {NULL, "x-amz-checksum-crc32",
                                               "x-amz-checksum-crc32c", "x-amz-checksum-sha1",
                                               "x-amz-checksum-sha256"};
static const char *const checksum_members[] = {NULL, "ChecksumCRC32", "ChecksumCRC32C",
                                               "ChecksumSHA1", "ChecksumSHA256"};

static int has_token(const char *list, const char *token) {
  size_t n = strlen(token);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t len = strcspn(p, ",");
    size_t l = len;
    while (l && p[l - 1] == ' ')
      l--;
    if (l == n && strncasecmp(p, token, n) == 0)
      return 1;
    p += len;
  }
  return 0;
}

/* Reads the request body, checking Content-MD5 and the declared checksum,
 * into memory (res->data; inline_ok and at most S3_INLINE_MAX bytes) or a new
 * data file (res->file). An empty body has neither. Returns 0 (res owns what
 * it names), or -1 after answering the call. */
static int ingest(s3_state *st, aws_call *call, const json_t *input, int inline_ok,
                  ingest_result *res) {
  http_request *req = aws_call_http(call);
  memset(res, 0, sizeof(*res));
  const char *sha = hdr(call, "x-amz-content-sha256");
  const char *cenc = hdr(call, "Content-Encoding");
  int chunked = (sha && strncmp(sha, "STREAMING-", 10) == 0) || has_token(cenc, "aws-chunked");
  /* Which checksum: declared in a header, announced as a trailer, or asked for. */
  s3_checksum_algo algo = S3_CK_NONE;
  const char *expected = NULL;
  int from_trailer = 0;
  for (int a = S3_CK_CRC32; a <= S3_CK_SHA256; a++)
    if ((expected = hdr(call, checksum_headers[a])) != NULL) {
      algo = (s3_checksum_algo)a;
      break;
    }
  const char *trailer = hdr(call, "x-amz-trailer");
  if (algo == S3_CK_NONE && trailer && chunked) {
    for (int a = S3_CK_CRC32; a <= S3_CK_SHA256; a++)
      if (has_token(trailer, checksum_headers[a])) {
        algo = (s3_checksum_algo)a;
        from_trailer = 1;
      }
  }
  if (algo == S3_CK_NONE) {
    const char *asked = jsonutil_string(input, "ChecksumAlgorithm");
    if (!asked)
      asked = hdr(call, "x-amz-sdk-checksum-algorithm");
    algo = s3_checksum_algo_from_name(asked);
  }
  s3_digest *dg = s3_digest_new(algo);
  s3_chunked *dec = chunked ? s3_chunked_new() : NULL;
  char *buf = NULL;
  const char *code = NULL;
  char message[512] = "";
  int status = 400;
  inline_ok = inline_ok && inline_room(st);
  ingest_sink sink = {.st = st, .dg = dg, .inline_ok = inline_ok, .fd = -1};
  if (!dg || (chunked && !dec)) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "out of memory");
    goto done;
  }
  size_t mem_len = 0;
  const char *mem = http_request_body(req, &mem_len);
  /* A body known to stay inline gets its exact buffer up front. */
  if (inline_ok && mem && !dec && mem_len > 0 && mem_len <= S3_INLINE_MAX) {
    if (!(sink.mem = malloc(mem_len))) {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message), "out of memory");
      goto done;
    }
    sink.mem_cap = mem_len;
  }
  int rc = 0;
  if (mem) {
    rc = dec ? s3_chunked_feed(dec, mem, mem_len, sink_write, &sink)
             : sink_write(&sink, mem, mem_len);
  } else {
    int body_fd = http_request_body_fd(req);
    uint64_t total = http_request_body_size(req), off = 0;
    size_t cap = 1 << 18;
    buf = malloc(cap);
    if (!buf || body_fd < 0) {
      rc = -1;
    }
    /* A plain body that will not stay in memory is only read for its digests;
     * the spilled file then becomes the data file. */
    sink.adopt = !dec && (!inline_ok || total > S3_INLINE_MAX);
    while (rc == 0 && off < total) {
      ssize_t n = pread(body_fd, buf, cap, (off_t)off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        rc = -1;
        break;
      }
      off += (uint64_t)n;
      rc = dec ? s3_chunked_feed(dec, buf, (size_t)n, sink_write, &sink)
               : sink_write(&sink, buf, (size_t)n);
    }
    if (rc == 0 && sink.adopt && sink.size)
      rc = sink_adopt(&sink, body_fd);
  }
  if (rc == 0 && dec)
    rc = s3_chunked_finish(dec);
  if (rc < 0) {
    if (sink.create_errno) {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message),
               "Cannot create a data file in %s: %s; check that the emulator's data directory is "
               "writable",
               st->dir, strerror(sink.create_errno));
    } else if (dec && *s3_chunked_error(dec)) {
      code = "IncompleteBody";
      snprintf(message, sizeof(message), "The aws-chunked request body is malformed: %s",
               s3_chunked_error(dec));
    } else {
      code = "InternalError", status = 500;
      snprintf(message, sizeof(message), "Cannot store the request body: %s", strerror(errno));
    }
    goto done;
  }
  const char *decoded_len = hdr(call, "x-amz-decoded-content-length");
  if (dec && decoded_len) {
    char *end = NULL;
    unsigned long long want = strtoull(decoded_len, &end, 10);
    if (!end || *end || want != sink.size) {
      code = "IncompleteBody";
      snprintf(message, sizeof(message),
               "The decoded body has %" PRIu64 " bytes; x-amz-decoded-content-length says %.40s.",
               sink.size, decoded_len);
      goto done;
    }
  }
  if (from_trailer) {
    expected = s3_chunked_trailer(dec, checksum_headers[algo]);
    if (!expected) {
      code = "InvalidRequest";
      snprintf(message, sizeof(message), "The announced trailer %s is missing.",
               checksum_headers[algo]);
      goto done;
    }
  }
  s3_digest_final(dg, res->md5, res->checksum, sizeof(res->checksum));
  const char *content_md5 = jsonutil_string(input, "ContentMD5");
  if (!content_md5)
    content_md5 = hdr(call, "Content-MD5");
  if (content_md5) {
    unsigned char *want = NULL;
    size_t want_len = 0;
    if (codec_base64_decode(&want, &want_len, content_md5, strlen(content_md5)) < 0 ||
        want_len != 16) {
      free(want);
      code = "InvalidDigest";
      snprintf(message, sizeof(message), "The Content-MD5 you specified was invalid.");
      goto done;
    }
    int same = memcmp(want, res->md5, 16) == 0;
    free(want);
    if (!same) {
      code = "BadDigest";
      snprintf(message, sizeof(message),
               "The Content-MD5 you specified did not match what we received.");
      goto done;
    }
  }
  if (expected && strcmp(expected, res->checksum) != 0) {
    code = "BadDigest";
    snprintf(message, sizeof(message),
             "The %s you specified did not match the calculated checksum.",
             s3_checksum_algo_name(algo));
    goto done;
  }
done:
  if (sink.fd >= 0 && close(sink.fd) < 0 && !code) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "Cannot write a data file: %s", strerror(errno));
  }
  free(buf);
  s3_digest_free(dg);
  s3_chunked_free(dec);
  if (code) {
    data_unlink(st, sink.file);
    free(sink.mem);
    aws_call_fail(call, status, code, "%s", message);
    return -1;
  }
  res->size = sink.size;
  res->ck_algo = algo;
  res->file = sink.file;
  if (sink.size && !sink.file) {
    /* Growth may have left slack: keep exactly the body. */
    char *exact = sink.mem_cap > sink.size ? realloc(sink.mem, (size_t)sink.size) : NULL;
    res->data = exact ? exact : sink.mem;
    atomic_fetch_add(&st->inline_bytes, sink.size);
  } else {
    free(sink.mem);
  }
  return 0;
}

/* ---- conditions and ranges ---- */

/* Does an If-Match / If-None-Match list ("\"a\", \"b\"", "*") name etag? */
static int etag_listed(const char *list, const char *etag) {
  const char *e = etag;
  size_t elen = strlen(e);
  if (elen >= 2 && e[0] == '"') {
    e++;
    elen -= 2;
  }
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t n = strcspn(p, ",");
    const char *s = p;
    size_t l = n;
    p += n;
    while (l && s[l - 1] == ' ')
      l--;
    if (l >= 2 && s[0] == 'W' && s[1] == '/')
      s += 2, l -= 2;
    if (l >= 2 && s[0] == '"' && s[l - 1] == '"')
      s++, l -= 2;
    if ((l == 1 && s[0] == '*') || (l == elen && strncmp(s, e, l) == 0))
      return 1;
  }
  return 0;
}

/* HTTP conditions for GET/HEAD (prefix "") or a copy source (prefix
 * "CopySource"). Returns 0 (go on), 304 or 412. A copy source answers 412
 * where a GET would answer 304. */
static int check_conditions(const json_t *input, const char *prefix, const char *etag,
                            double mtime) {
  char name[64];
  snprintf(name, sizeof(name), "%sIfMatch", prefix);
  const char *if_match = jsonutil_string(input, name);
  snprintf(name, sizeof(name), "%sIfNoneMatch", prefix);
  const char *if_none = jsonutil_string(input, name);
  double t;
  snprintf(name, sizeof(name), "%sIfUnmodifiedSince", prefix);
  int has_unmod = aws_timestamp_value(&t, json_object_get(input, name)) == 0;
  double unmod = t;
  snprintf(name, sizeof(name), "%sIfModifiedSince", prefix);
  int has_mod = aws_timestamp_value(&t, json_object_get(input, name)) == 0;
  double mod = t;
  int not_modified = *prefix ? 412 : 304;
  if (if_match && !etag_listed(if_match, etag))
    return 412;
  if (!if_match && has_unmod && mtime > unmod)
    return 412;
  if (if_none && etag_listed(if_none, etag))
    return not_modified;
  if (!if_none && has_mod && mtime <= mod)
    return not_modified;
  return 0;
}

/* "bytes=a-b" / "bytes=a-" / "bytes=-n". Returns 1 with [*start, *end] for a
 * satisfiable range, 0 when there is no usable range (serve it all), -1 when
 * unsatisfiable (416). */
static int parse_range(const char *text, uint64_t size, uint64_t *start, uint64_t *end) {
  if (!text || strncmp(text, "bytes=", 6) != 0)
    return 0;
  const char *p = text + 6;
  if (strchr(p, ','))
    return 0; /* multiple ranges: S3 serves the whole object */
  char *e1 = NULL, *e2 = NULL;
  if (*p == '-') {
    if (!isdigit((unsigned char)p[1]))
      return 0;
    errno = 0;
    unsigned long long n = strtoull(p + 1, &e1, 10);
    if (*e1 || errno)
      return 0;
    if (n == 0 || size == 0)
      return -1;
    *start = n >= size ? 0 : size - n;
    *end = size - 1;
    return 1;
  }
  if (!isdigit((unsigned char)*p))
    return 0;
  errno = 0;
  unsigned long long a = strtoull(p, &e1, 10);
  if (*e1 != '-' || errno)
    return 0;
  unsigned long long b = UINT64_MAX;
  if (e1[1]) {
    if (!isdigit((unsigned char)e1[1]))
      return 0;
    b = strtoull(e1 + 1, &e2, 10);
    if (*e2 || errno)
      return 0;
    if (b < a)
      return 0;
  }
  if (a >= size)
    return -1;
  *start = a;
  *end = b >= size ? size - 1 : b;
  return 1;
}

/* ---- buckets ---- */

static int bucket_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n < 3 || n > 63)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.' ||
          c == '_'))
      return 0;
  }
  if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
    return 0;
  if (strstr(name, ".."))
    return 0;
  return 1;
}

static void op_create_bucket(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *name = jsonutil_string(input, "Bucket");
  if (!name || !bucket_name_valid(name)) {
    aws_call_fail_fields(call, 400, "InvalidBucketName",
                         json_pack("{s:s}", "BucketName", name ? name : ""),
                         "The specified bucket is not valid.");
    return;
  }
  const char *constraint = json_string_value(
      json_object_get(json_object_get(input, "CreateBucketConfiguration"), "LocationConstraint"));
  int constraint_ok = constraint && *constraint && strlen(constraint) < 32;
  for (const char *c = constraint; constraint_ok && *c; c++)
    if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
      constraint_ok = 0;
  if (constraint && !constraint_ok) {
    aws_call_fail(call, 400, "InvalidLocationConstraint",
                  "The specified location-constraint is not valid");
    return;
  }
  pthread_mutex_lock(&st->lock);
  if (bucket_find(st, name)) {
    state_unlock(st);
    aws_call_fail_fields(call, 409, "BucketAlreadyOwnedByYou",
                         json_pack("{s:s}", "BucketName", name),
                         "Your previous request to create the named bucket succeeded and you "
                         "already own it.");
    return;
  }
  s3_bucket *b = calloc(1, sizeof(*b));
  int ok = b && (b->name = strdup(name)) && (b->configs = json_object());
  if (ok && st->nbuckets == st->capbuckets) {
    size_t cap = st->capbuckets ? st->capbuckets * 2 : 16;
    s3_bucket **arr = realloc(st->buckets, cap * sizeof(*arr));
    if (arr) {
      st->buckets = arr;
      st->capbuckets = cap;
    } else {
      ok = 0;
    }
  }
  if (!ok) {
    state_unlock(st);
    bucket_free(st, b);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  snprintf(b->region, sizeof(b->region), "%s", constraint ? constraint : "us-east-1");
  b->created = now_s();
  b->acl = acl_from_input(input);
  size_t i = bucket_lower(st, name);
  memmove(&st->buckets[i + 1], &st->buckets[i], (st->nbuckets - i) * sizeof(st->buckets[0]));
  st->buckets[i] = b;
  st->nbuckets++;
  state_unlock(st);
  char location[80];
  snprintf(location, sizeof(location), "/%s", name);
  aws_call_reply(call, json_pack("{s:s}", "Location", location));
}

static void op_head_bucket(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *name = jsonutil_string(input, "Bucket");
  pthread_mutex_lock(&st->lock);
  s3_bucket *b = bucket_find(st, name);
  int found = b != NULL;
  if (b)
    aws_call_header(call, "x-amz-bucket-region", b->region);
  state_unlock(st);
  if (!found)
    fail_no_bucket(call, name);
  else
    aws_call_reply(call, NULL);
}

static void op_delete_bucket(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *name = jsonutil_string(input, "Bucket");
  pthread_mutex_lock(&st->lock);
  s3_bucket *b = bucket_find(st, name);
  if (!b) {
    state_unlock(st);
    fail_no_bucket(call, name);
    return;
  }
  if (b->nkeys > 0) {
    state_unlock(st);
    aws_call_fail_fields(call, 409, "BucketNotEmpty", json_pack("{s:s}", "BucketName", name),
                         "The bucket you tried to delete is not empty");
    return;
  }
  size_t i = bucket_lower(st, name);
  memmove(&st->buckets[i], &st->buckets[i + 1], (st->nbuckets - i - 1) * sizeof(st->buckets[0]));
  st->nbuckets--;
  bucket_free(st, b);
  state_unlock(st);
  aws_call_reply(call, NULL);
}

static void op_list_buckets(aws_call *call, json_t *input) {
  (void)input;
  s3_state *st = aws_call_state(call);
  json_t *list = json_array();
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < st->nbuckets; i++)
    json_array_append_new(list,
                          json_pack("{s:s, s:o}", "Name", st->buckets[i]->name, "CreationDate",
                                    aws_timestamp_json(st->buckets[i]->created)));
  state_unlock(st);
  aws_call_reply(call, json_pack("{s:o, s:o}", "Buckets", list, "Owner", owner_json()));
}

/* Looks the bucket up under the lock; on failure answers and unlocks. */
static s3_bucket *lock_bucket(aws_call *call, const json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *name = jsonutil_string(input, "Bucket");
  pthread_mutex_lock(&st->lock);
  s3_bucket *b = bucket_find(st, name);
  if (!b) {
    state_unlock(st);
    fail_no_bucket(call, name ? name : "");
  }
  return b;
}

static void op_get_bucket_location(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  /* S3 answers with the constraint as the root element's text (empty for
   * us-east-1), which the model cannot express; clients parse it specially. */
  char body[256];
  snprintf(body, sizeof(body),
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s</LocationConstraint>",
           strcmp(b->region, "us-east-1") != 0 ? b->region : "");
  state_unlock(st);
  aws_call_reply_data(call, NULL, 200, body, strlen(body));
}

static void op_put_bucket_versioning(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *status = json_string_value(
      json_object_get(json_object_get(input, "VersioningConfiguration"), "Status"));
  if (!status || (strcmp(status, "Enabled") != 0 && strcmp(status, "Suspended") != 0)) {
    aws_call_fail(call, 400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
    return;
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  b->versioning = strcmp(status, "Enabled") == 0 ? 1 : 2;
  state_unlock(st);
  aws_call_reply(call, NULL);
}

static void op_get_bucket_versioning(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *out = json_object();
  if (b->versioning)
    json_object_set_new(out, "Status", json_string(b->versioning == 1 ? "Enabled" : "Suspended"));
  state_unlock(st);
  aws_call_reply(call, out);
}

static void op_put_bucket_acl(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *acl = acl_from_input(input);
  if (acl) {
    json_decref(b->acl);
    b->acl = acl;
  }
  state_unlock(st);
  aws_call_reply(call, NULL);
}

static void op_get_bucket_acl(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *out = acl_output(b->acl);
  state_unlock(st);
  aws_call_reply(call, out);
}

/* Bucket configurations stored as sent and returned as stored. */
typedef struct config_kind {
  const char *put, *get, *del;
  const char *member;    /* input member holding the configuration */
  const char *wrap;      /* output member to put it in; NULL: its members are the output */
  const char *not_found; /* error when absent; NULL: empty output */
  const char *message;
} config_kind;

static const config_kind config_kinds[] = {
    {"PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "Policy", "Policy",
     "NoSuchBucketPolicy", "The bucket policy does not exist"},
    {"PutBucketCors", "GetBucketCors", "DeleteBucketCors", "CORSConfiguration", NULL,
     "NoSuchCORSConfiguration", "The CORS configuration does not exist"},
    {"PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle",
     "LifecycleConfiguration", NULL, "NoSuchLifecycleConfiguration",
     "The lifecycle configuration does not exist"},
    {"PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption",
     "ServerSideEncryptionConfiguration", "ServerSideEncryptionConfiguration",
     "ServerSideEncryptionConfigurationNotFoundError",
     "The server side encryption configuration was not found"},
    {"PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration", NULL,
     "NotificationConfiguration", NULL, NULL, NULL},
    {"PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging", "Tagging", NULL, "NoSuchTagSet",
     "The TagSet does not exist"},
    {"PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite", "WebsiteConfiguration", NULL,
     "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration"},
    {"PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls",
     "OwnershipControls", "OwnershipControls", "OwnershipControlsNotFoundError",
     "The bucket ownership controls were not found"},
    {"PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
     "PublicAccessBlockConfiguration", "PublicAccessBlockConfiguration",
     "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"},
    {"PutBucketAccelerateConfiguration", "GetBucketAccelerateConfiguration", NULL,
     "AccelerateConfiguration", NULL, NULL, NULL},
    {"PutBucketLogging", "GetBucketLogging", NULL, "BucketLoggingStatus", NULL, NULL, NULL},
    {"PutBucketRequestPayment", "GetBucketRequestPayment", NULL, "RequestPaymentConfiguration",
     NULL, NULL, NULL},
    {"PutBucketReplication", "GetBucketReplication", "DeleteBucketReplication",
     "ReplicationConfiguration", "ReplicationConfiguration",
     "ReplicationConfigurationNotFoundError", "The replication configuration was not found"},
    {"PutObjectLockConfiguration", "GetObjectLockConfiguration", NULL, "ObjectLockConfiguration",
     "ObjectLockConfiguration", "ObjectLockConfigurationNotFoundError",
     "Object Lock configuration does not exist for this bucket"},
};

static void op_config(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  const config_kind *kind = NULL;
  int action = 0; /* 0 put, 1 get, 2 delete */
  for (size_t i = 0; i < sizeof(config_kinds) / sizeof(config_kinds[0]) && !kind; i++) {
    const config_kind *k = &config_kinds[i];
    if (strcmp(op, k->put) == 0)
      kind = k, action = 0;
    else if (strcmp(op, k->get) == 0)
      kind = k, action = 1;
    else if (k->del && strcmp(op, k->del) == 0)
      kind = k, action = 2;
  }
  if (!kind) {
    aws_call_fail(call, 501, "NotImplemented", "%s is not implemented.", op);
    return;
  }
  json_t *value = json_object_get(input, kind->member);
  if (action == 0 && !value) {
    aws_call_fail(call, 400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
    return;
  }
  if (action == 0 && strcmp(kind->member, "Policy") == 0) {
    json_error_t jerr;
    json_t *doc = json_loads(json_string_value(value), 0, &jerr);
    if (!json_is_object(doc)) {
      json_decref(doc);
      aws_call_fail(call, 400, "MalformedPolicy", "Policies must be valid JSON: %s", jerr.text);
      return;
    }
    json_decref(doc);
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *out = NULL;
  if (action == 0) {
    json_object_set(b->configs, kind->member, value);
  } else if (action == 2) {
    json_object_del(b->configs, kind->member);
  } else {
    json_t *stored = json_object_get(b->configs, kind->member);
    if (!stored && kind->not_found) {
      state_unlock(st);
      aws_call_fail_fields(
          call, 404, kind->not_found,
          json_pack("{s:s}", "BucketName", b ? jsonutil_string(input, "Bucket") : ""), "%s",
          kind->message);
      return;
    }
    if (!stored && strcmp(kind->member, "RequestPaymentConfiguration") == 0)
      out = json_pack("{s:s}", "Payer", "BucketOwner");
    else if (!stored)
      out = json_object();
    else if (kind->wrap)
      out = json_pack("{s:O}", kind->wrap, stored);
    else
      out = json_deep_copy(stored);
  }
  state_unlock(st);
  aws_call_reply(call, out);
}

/* ---- objects ---- */

static int key_valid(aws_call *call, const char *key) {
  if (!key || !*key) {
    aws_call_fail(call, 400, "InvalidArgument", "An object key must not be empty.");
    return 0;
  }
  if (strlen(key) > S3_MAX_KEY) {
    aws_call_fail_fields(call, 400, "KeyTooLongError", json_pack("{s:s}", "Key", ""),
                         "Your key is too long");
    return 0;
  }
  return 1;
}

/* PutObject output members for a stored version. */
static json_t *write_output(const s3_bucket *b, const s3_version *v) {
  json_t *out = json_pack("{s:s}", "ETag", v->etag);
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  if (v->ck_algo != S3_CK_NONE)
    json_object_set_new(out, checksum_members[v->ck_algo], json_string(v->checksum));
  json_t *sse = json_object_get(v->attrs, "ServerSideEncryption");
  if (sse)
    json_object_set(out, "ServerSideEncryption", sse);
  return out;
}

static void op_put_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *bucket = jsonutil_string(input, "Bucket"), *key = jsonutil_string(input, "Key");
  if (!key_valid(call, key))
    return;
  pthread_mutex_lock(&st->lock);
  int exists = bucket_find(st, bucket) != NULL;
  state_unlock(st);
  if (!exists) {
    fail_no_bucket(call, bucket ? bucket : "");
    return;
  }
  int bad_tags = 0;
  json_t *tags = tags_from_header(jsonutil_string(input, "Tagging"), &bad_tags);
  if (bad_tags) {
    aws_call_fail(call, 400, "InvalidArgument", "The x-amz-tagging header is not valid.");
    return;
  }
  ingest_result r;
  if (ingest(st, call, input, 1, &r) < 0) {
    json_decref(tags);
    return;
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b) {
    data_unlink(st, r.file);
    inline_free(st, r.data, r.size);
    json_decref(tags);
    return;
  }
  s3_version *v = version_new(b);
  if (!v) {
    state_unlock(st);
    data_unlink(st, r.file);
    inline_free(st, r.data, r.size);
    json_decref(tags);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  v->file = r.file;
  v->data = r.data;
  v->size = r.size;
  md5_etag(v->etag, sizeof(v->etag), r.md5, 0);
  v->attrs = attrs_from_input(input);
  v->tags = tags;
  v->acl = acl_from_input(input);
  v->ck_algo = r.ck_algo;
  memcpy(v->checksum, r.checksum, sizeof(v->checksum));
  if (version_install(st, b, key, v) < 0) {
    state_unlock(st);
    version_free(st, v, 1);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  json_t *out = write_output(b, v);
  state_unlock(st);
  aws_call_reply(call, out);
}

/* The version a request names (VersionId) or the current one. Sets *status
 * and answers nothing; the caller answers. */
static s3_version *version_lookup(const s3_bucket *b, const char *key, const char *version_id,
                                  int *marker_only) {
  *marker_only = 0;
  s3_key *k = key_find(b, key);
  if (!k)
    return NULL;
  if (!version_id) {
    if (k->versions->delete_marker) {
      *marker_only = 1;
      return NULL;
    }
    return k->versions;
  }
  for (s3_version *v = k->versions; v; v = v->next)
    if (strcmp(v->version_id, version_id) == 0)
      return v;
  return NULL;
}

static void fail_lookup(aws_call *call, const char *key, const char *version_id) {
  if (version_id)
    aws_call_fail_fields(call, 404, "NoSuchVersion",
                         json_pack("{s:s, s:s}", "Key", key, "VersionId", version_id),
                         "The specified version does not exist.");
  else
    fail_no_key(call, key);
}

/* GetObject / HeadObject output for a version. */
static json_t *object_output(const s3_bucket *b, const s3_version *v, const json_t *input) {
  json_t *out = json_deep_copy(v->attrs);
  json_object_set_new(out, "ETag", json_string(v->etag));
  json_object_set_new(out, "LastModified", aws_timestamp_json(v->mtime));
  json_object_set_new(out, "AcceptRanges", json_string("bytes"));
  if (!json_object_get(out, "ContentType"))
    json_object_set_new(out, "ContentType", json_string("binary/octet-stream"));
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  if (v->tags && json_array_size(v->tags))
    json_object_set_new(out, "TagCount", json_integer((json_int_t)json_array_size(v->tags)));
  if (v->parts && json_object_get(input, "PartNumber"))
    json_object_set_new(out, "PartsCount", json_integer(v->parts));
  const char *mode = jsonutil_string(input, "ChecksumMode");
  if (v->ck_algo != S3_CK_NONE && mode && strcasecmp(mode, "ENABLED") == 0)
    json_object_set_new(out, checksum_members[v->ck_algo], json_string(v->checksum));
  static const char *const overrides[][2] = {
      {"ResponseCacheControl", "CacheControl"},
      {"ResponseContentDisposition", "ContentDisposition"},
      {"ResponseContentEncoding", "ContentEncoding"},
      {"ResponseContentLanguage", "ContentLanguage"},
      {"ResponseContentType", "ContentType"},
      {"ResponseExpires", "Expires"},
  };
  for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
    json_t *o = json_object_get(input, overrides[i][0]);
    if (o)
      json_object_set(out, overrides[i][1], o);
  }
  return out;
}

static void op_get_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key"),
             *version_id = jsonutil_string(input, "VersionId");
  int head = strcmp(aws_call_operation(call), "HeadObject") == 0;
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  int marker_only = 0;
  s3_version *v = version_lookup(b, key ? key : "", version_id, &marker_only);
  if (marker_only) {
    /* The current version is a delete marker: 404 that says so. */
    s3_key *k = key_find(b, key ? key : "");
    aws_call_header(call, "x-amz-delete-marker", "true");
    if (k)
      aws_call_header(call, "x-amz-version-id", k->versions->version_id);
  }
  if (!v) {
    state_unlock(st);
    fail_lookup(call, key ? key : "", version_id);
    return;
  }
  if (v->delete_marker) {
    aws_call_header(call, "x-amz-delete-marker", "true");
    aws_call_header(call, "x-amz-version-id", v->version_id);
    state_unlock(st);
    aws_call_fail(call, 405, "MethodNotAllowed",
                  "The specified method is not allowed against this resource.");
    return;
  }
  json_t *out = object_output(b, v, input);
  int cond = check_conditions(input, "", v->etag, v->mtime);
  uint64_t size = v->size, start = 0, end = size ? size - 1 : 0;
  int ranged = parse_range(jsonutil_string(input, "Range"), size, &start, &end);
  int fd = -1;
  char *copy = NULL; /* an in-memory body, copied: an overwrite may free it once we unlock */
  if (!cond && v->file) {
    fd = data_open(st, v->file);
    if (fd < 0) {
      state_unlock(st);
      json_decref(out);
      aws_call_fail(call, 500, "InternalError", "Cannot open the object's data file: %s",
                    strerror(errno));
      return;
    }
  } else if (!cond && v->data) {
    copy = malloc((size_t)size);
    if (!copy) {
      state_unlock(st);
      json_decref(out);
      aws_call_fail(call, 500, "InternalError", "out of memory");
      return;
    }
    memcpy(copy, v->data, (size_t)size);
  }
  state_unlock(st);
  if (cond == 412) {
    json_decref(out);
    if (fd >= 0)
      close(fd);
    free(copy);
    aws_call_fail_fields(
        call, 412, "PreconditionFailed",
        json_pack("{s:s}", "Condition",
                  jsonutil_string(input, "IfMatch") ? "If-Match" : "If-Unmodified-Since"),
        "At least one of the pre-conditions you specified did not hold");
    return;
  }
  if (cond == 304) {
    json_t *slim = json_pack("{s:O, s:O}", "ETag", json_object_get(out, "ETag"), "LastModified",
                             json_object_get(out, "LastModified"));
    json_decref(out);
    aws_call_reply_fd(call, slim, 304, -1, 0, 0);
    return;
  }
  if (ranged < 0 && !head) {
    json_decref(out);
    if (fd >= 0)
      close(fd);
    free(copy);
    char actual[32];
    snprintf(actual, sizeof(actual), "%" PRIu64, size);
    aws_call_fail_fields(call, 416, "InvalidRange",
                         json_pack("{s:s, s:s}", "RangeRequested", jsonutil_string(input, "Range"),
                                   "ActualObjectSize", actual),
                         "The requested range is not satisfiable");
    return;
  }
  int status = 200;
  if (ranged > 0) {
    /* A checksum covers the whole object: not sent with part of it. */
    if (v->ck_algo != S3_CK_NONE)
      json_object_del(out, checksum_members[v->ck_algo]);
    char cr[96];
    snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, size);
    json_object_set_new(out, "ContentRange", json_string(cr));
    status = 206;
  } else {
    start = 0;
    end = size ? size - 1 : 0;
  }
  uint64_t len = size ? end - start + 1 : 0;
  json_object_set_new(out, "ContentLength", json_integer((json_int_t)len));
  if (copy) {
    aws_call_reply_data(call, out, status, copy + start, (size_t)len);
    free(copy);
    return;
  }
  aws_call_reply_fd(call, out, status, fd, start, len);
}

/* Removes a version or adds a delete marker, per the bucket's versioning.
 * Fills *out with the DeleteObject output members. Under the lock. */
static int delete_one(s3_state *st, s3_bucket *b, const char *key, const char *version_id,
                      json_t *out) {
  s3_key *k = key_find(b, key);
  if (version_id) {
    if (!k)
      return 0;
    for (s3_version **pv = &k->versions; *pv; pv = &(*pv)->next) {
      if (strcmp((*pv)->version_id, version_id) == 0) {
        s3_version *v = *pv;
        *pv = v->next;
        if (v->delete_marker)
          json_object_set_new(out, "DeleteMarker", json_true());
        version_free(st, v, 2);
        break;
      }
    }
    json_object_set_new(out, "VersionId", json_string(version_id));
    key_remove_if_empty(st, b, key);
    return 0;
  }
  if (!b->versioning) {
    if (k) {
      while (k->versions) {
        s3_version *v = k->versions;
        k->versions = v->next;
        version_free(st, v, 2);
      }
      key_remove_if_empty(st, b, key);
    }
    return 0;
  }
  s3_version *marker = version_new(b);
  if (!marker)
    return -1;
  marker->delete_marker = 1;
  marker->attrs = json_object();
  if (version_install(st, b, key, marker) < 0) {
    version_free(st, marker, 0);
    return -1;
  }
  json_object_set_new(out, "DeleteMarker", json_true());
  json_object_set_new(out, "VersionId", json_string(marker->version_id));
  return 0;
}

static void op_delete_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key");
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *out = json_object();
  int rc = delete_one(st, b, key ? key : "", jsonutil_string(input, "VersionId"), out);
  state_unlock(st);
  if (rc < 0) {
    json_decref(out);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  aws_call_reply(call, out);
}

/* Checks Content-MD5 and an x-amz-checksum-* header against a request body
 * the protocol layer parsed (DeleteObjects: S3 requires an integrity header
 * there). Returns 0, or -1 after answering the call. */
static int verify_small_body(aws_call *call) {
  size_t len = 0;
  const char *body = http_request_body(aws_call_http(call), &len);
  s3_checksum_algo algo = S3_CK_NONE;
  const char *expected = NULL;
  for (int a = S3_CK_CRC32; a <= S3_CK_SHA256 && !expected; a++)
    if ((expected = hdr(call, checksum_headers[a])) != NULL)
      algo = (s3_checksum_algo)a;
  const char *content_md5 = hdr(call, "Content-MD5");
  if (!body || (!expected && !content_md5))
    return 0;
  s3_digest *dg = s3_digest_new(algo);
  if (!dg) {
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return -1;
  }
  unsigned char md5[16];
  char checksum[96];
  s3_digest_update(dg, body, len);
  s3_digest_final(dg, md5, checksum, sizeof(checksum));
  s3_digest_free(dg);
  if (content_md5) {
    unsigned char *want = NULL;
    size_t want_len = 0;
    int ok = codec_base64_decode(&want, &want_len, content_md5, strlen(content_md5)) == 0 &&
             want_len == 16;
    int same = ok && memcmp(want, md5, 16) == 0;
    free(want);
    if (!ok || !same) {
      aws_call_fail(call, 400, ok ? "BadDigest" : "InvalidDigest",
                    ok ? "The Content-MD5 you specified did not match what we received."
                       : "The Content-MD5 you specified was invalid.");
      return -1;
    }
  }
  if (expected && strcmp(expected, checksum) != 0) {
    aws_call_fail(call, 400, "BadDigest",
                  "The %s you specified did not match the calculated checksum.",
                  s3_checksum_algo_name(algo));
    return -1;
  }
  return 0;
}

static void op_delete_objects(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  if (verify_small_body(call) < 0)
    return;
  json_t *objects = json_object_get(json_object_get(input, "Delete"), "Objects");
  int quiet = json_is_true(json_object_get(json_object_get(input, "Delete"), "Quiet"));
  if (!json_is_array(objects) || json_array_size(objects) == 0 ||
      json_array_size(objects) > S3_MAX_DELETE) {
    aws_call_fail(call, 400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
    return;
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *deleted = json_array(), *errors = json_array();
  size_t i;
  json_t *item;
  json_array_foreach(objects, i, item) {
    const char *key = jsonutil_string(item, "Key");
    const char *vid = jsonutil_string(item, "VersionId");
    json_t *res = json_object();
    if (!key || !*key || strlen(key) > S3_MAX_KEY) {
      json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "Key", key ? key : "", "Code",
                                              "InvalidArgument", "Message", "Invalid key"));
      json_decref(res);
      continue;
    }
    if (delete_one(st, b, key, vid, res) < 0) {
      json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "Key", key, "Code",
                                              "InternalError", "Message", "out of memory"));
      json_decref(res);
      continue;
    }
    if (quiet) {
      json_decref(res);
      continue;
    }
    json_t *d = json_pack("{s:s}", "Key", key);
    if (vid)
      json_object_set_new(d, "VersionId", json_string(vid));
    if (json_is_true(json_object_get(res, "DeleteMarker"))) {
      json_object_set_new(d, "DeleteMarker", json_true());
      json_object_set(d, "DeleteMarkerVersionId", json_object_get(res, "VersionId"));
    }
    json_array_append_new(deleted, d);
    json_decref(res);
  }
  state_unlock(st);
  json_t *out = json_object();
  if (json_array_size(deleted))
    json_object_set_new(out, "Deleted", deleted);
  else
    json_decref(deleted);
  if (json_array_size(errors))
    json_object_set_new(out, "Errors", errors);
  else
    json_decref(errors);
  aws_call_reply(call, out);
}

/* "bucket/key[?versionId=v]" (URL-encoded, optional leading '/'). */
static int parse_copy_source(const char *src, char **bucket, char **key, char **version) {
  *bucket = *key = *version = NULL;
  if (!src)
    return -1;
  if (*src == '/')
    src++;
  size_t plen = strcspn(src, "?");
  if (src[plen] == '?' && strncmp(src + plen + 1, "versionId=", 10) == 0) {
    *version = http_percent_decode(src + plen + 11, strlen(src + plen + 11), 0, 1, NULL);
    if (!*version)
      return -1;
  }
  char *path = http_percent_decode(src, plen, 0, 1, NULL);
  if (!path)
    goto fail;
  char *slash = strchr(path, '/');
  if (!slash || slash == path || !slash[1]) {
    free(path);
    goto fail;
  }
  *slash = '\0';
  *bucket = strdup(path);
  *key = strdup(slash + 1);
  free(path);
  if (!*bucket || !*key)
    goto fail;
  return 0;
fail:
  free(*bucket);
  free(*key);
  free(*version);
  *bucket = *key = *version = NULL;
  return -1;
}

/* Finds the copy source under the lock, checks its conditions. On failure
 * answers the call and returns NULL (lock released). */
static s3_version *lock_copy_source(aws_call *call, const json_t *input, char **src_bucket,
                                    char **src_key, char **src_version) {
  s3_state *st = aws_call_state(call);
  if (parse_copy_source(jsonutil_string(input, "CopySource"), src_bucket, src_key, src_version) <
      0) {
    aws_call_fail(call, 400, "InvalidArgument",
                  "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
    return NULL;
  }
  pthread_mutex_lock(&st->lock);
  s3_bucket *sb = bucket_find(st, *src_bucket);
  if (!sb) {
    state_unlock(st);
    fail_no_bucket(call, *src_bucket);
    return NULL;
  }
  int marker_only = 0;
  s3_version *sv = version_lookup(sb, *src_key, *src_version, &marker_only);
  if (!sv || sv->delete_marker) {
    state_unlock(st);
    if (sv)
      aws_call_fail(call, 400, "InvalidRequest",
                    "The source of a copy request may not specifically refer to a delete marker "
                    "by version id.");
    else
      fail_lookup(call, *src_key, *src_version);
    return NULL;
  }
  if (check_conditions(input, "CopySource", sv->etag, sv->mtime)) {
    state_unlock(st);
    aws_call_fail_fields(call, 412, "PreconditionFailed",
                         json_pack("{s:s}", "Condition", "x-amz-copy-source-If-Match"),
                         "At least one of the pre-conditions you specified did not hold");
    return NULL;
  }
  return sv;
}

/* A new data file holding bytes [start, start+len) of src's. Hard link for a
 * whole file. Returns the file number (0 for empty) or -1. Under the lock. */
static int64_t data_clone(s3_state *st, uint64_t src, uint64_t start, uint64_t len, uint64_t size) {
  if (!src || len == 0)
    return 0;
  if (start == 0 && len == size) {
    uint64_t file = atomic_fetch_add(&st->next_file, 1);
    char from[4096], to[4096];
    data_path(st, src, from, sizeof(from));
    data_path(st, file, to, sizeof(to));
    if (link(from, to) == 0)
      return (int64_t)file;
  }
  uint64_t file = 0;
  int out = data_create(st, &file);
  if (out < 0)
    return -1;
  int in = data_open(st, src);
  int rc = in < 0 ? -1 : copy_range(out, in, start, len);
  if (in >= 0)
    close(in);
  if (close(out) < 0)
    rc = -1;
  if (rc < 0) {
    data_unlink(st, file);
    return -1;
  }
  return (int64_t)file;
}

/* Bytes [start, start+len) of v's body, for a new version or part: in memory
 * when v's body is in memory, inline_ok and the budget allows, else in a new data file (a hard
 * link when v's whole file). Sets *file and *data (owned; both 0 for an
 * empty range). Returns 0, or -1 with errno. Under the lock. */
static int body_clone(s3_state *st, const s3_version *v, uint64_t start, uint64_t len,
                      int inline_ok, uint64_t *file, char **data) {
  *file = 0;
  *data = NULL;
  if (len == 0)
    return 0;
  if (!v->data) {
    int64_t f = data_clone(st, v->file, start, len, v->size);
    if (f < 0)
      return -1;
    *file = (uint64_t)f;
    return 0;
  }
  if (inline_ok && inline_room(st)) {
    if (!(*data = malloc((size_t)len)))
      return -1;
    memcpy(*data, v->data + start, (size_t)len);
    atomic_fetch_add(&st->inline_bytes, len);
    return 0;
  }
  uint64_t f = 0;
  int fd = data_create(st, &f);
  if (fd < 0)
    return -1;
  int rc = fs_write_all(fd, v->data + start, (size_t)len);
  if (close(fd) < 0)
    rc = -1;
  if (rc < 0) {
    int saved = errno;
    data_unlink(st, f);
    errno = saved;
    return -1;
  }
  *file = f;
  return 0;
}

static void op_copy_object(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *bucket = jsonutil_string(input, "Bucket"), *key = jsonutil_string(input, "Key");
  if (!key_valid(call, key))
    return;
  char *sbucket = NULL, *skey = NULL, *sversion = NULL;
  int bad_tags = 0;
  json_t *tags = NULL;
  const char *tdir = jsonutil_string(input, "TaggingDirective");
  if (tdir && strcmp(tdir, "REPLACE") == 0) {
    tags = tags_from_header(jsonutil_string(input, "Tagging"), &bad_tags);
    if (bad_tags) {
      aws_call_fail(call, 400, "InvalidArgument", "The x-amz-tagging header is not valid.");
      return;
    }
  }
  s3_version *sv = lock_copy_source(call, input, &sbucket, &skey, &sversion);
  if (!sv)
    goto cleanup;
  const char *directive = jsonutil_string(input, "MetadataDirective");
  int replace = directive && strcmp(directive, "REPLACE") == 0;
  s3_bucket *b = bucket_find(st, bucket);
  if (!b) {
    state_unlock(st);
    fail_no_bucket(call, bucket ? bucket : "");
    goto cleanup;
  }
  if (!replace && strcmp(sbucket, bucket) == 0 && strcmp(skey, key) == 0 && !sversion &&
      !json_object_get(input, "StorageClass") && !json_object_get(input, "ServerSideEncryption")) {
    state_unlock(st);
    aws_call_fail(call, 400, "InvalidRequest",
                  "This copy request is illegal because it is trying to copy an object to itself "
                  "without changing the object's metadata, storage class, website redirect "
                  "location or encryption attributes.");
    goto cleanup;
  }
  uint64_t file = 0;
  char *data = NULL;
  int cloned = body_clone(st, sv, 0, sv->size, 1, &file, &data);
  s3_version *v = cloned < 0 ? NULL : version_new(b);
  if (!v) {
    int saved = errno;
    uint64_t size = sv->size; /* sv may go once the lock is released */
    state_unlock(st);
    data_unlink(st, file);
    inline_free(st, data, size);
    aws_call_fail(call, 500, "InternalError", "Cannot copy the object's data: %s", strerror(saved));
    goto cleanup;
  }
  v->file = file;
  v->data = data;
  v->size = sv->size;
  memcpy(v->etag, sv->etag, sizeof(v->etag));
  v->parts = sv->parts;
  v->ck_algo = sv->ck_algo;
  memcpy(v->checksum, sv->checksum, sizeof(v->checksum));
  if (replace) {
    v->attrs = attrs_from_input(input);
  } else {
    v->attrs = json_deep_copy(sv->attrs);
    json_t *sc = json_object_get(input, "StorageClass");
    if (sc && strcmp(json_string_value(sc), "STANDARD") != 0)
      json_object_set(v->attrs, "StorageClass", sc);
    else if (sc)
      json_object_del(v->attrs, "StorageClass");
  }
  v->tags = tdir && strcmp(tdir, "REPLACE") == 0 ? json_incref(tags) : json_incref(sv->tags);
  v->acl = acl_from_input(input);
  const char *copied_version = sversion ? sversion : sv->version_id;
  json_t *out = json_object();
  s3_bucket *sb = bucket_find(st, sbucket);
  if (sb && sb->versioning)
    json_object_set_new(out, "CopySourceVersionId", json_string(copied_version));
  if (version_install(st, b, key, v) < 0) {
    state_unlock(st);
    version_free(st, v, 1);
    json_decref(out);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    goto cleanup;
  }
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  json_t *result =
      json_pack("{s:s, s:o}", "ETag", v->etag, "LastModified", aws_timestamp_json(v->mtime));
  if (v->ck_algo != S3_CK_NONE)
    json_object_set_new(result, checksum_members[v->ck_algo], json_string(v->checksum));
  json_object_set_new(out, "CopyObjectResult", result);
  state_unlock(st);
  aws_call_reply(call, out);
cleanup:
  json_decref(tags);
  free(sbucket);
  free(skey);
  free(sversion);
}

/* Object sub-resources: tagging and ACL. */
static void op_object_subresource(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *op = aws_call_operation(call);
  const char *key = jsonutil_string(input, "Key"), *vid = jsonutil_string(input, "VersionId");
  if (strcmp(op, "PutObjectTagging") == 0) {
    json_t *set = json_object_get(json_object_get(input, "Tagging"), "TagSet");
    if (!json_is_array(set) || json_array_size(set) > S3_MAX_TAGS) {
      aws_call_fail(call, 400, json_is_array(set) ? "BadRequest" : "MalformedXML",
                    "Object tags cannot be greater than %d", S3_MAX_TAGS);
      return;
    }
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  int marker_only = 0;
  s3_version *v = version_lookup(b, key ? key : "", vid, &marker_only);
  if (!v || v->delete_marker) {
    state_unlock(st);
    if (v)
      aws_call_fail(call, 405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.");
    else
      fail_lookup(call, key ? key : "", vid);
    return;
  }
  json_t *out = json_object();
  if (strcmp(op, "PutObjectTagging") == 0) {
    json_decref(v->tags);
    v->tags = json_deep_copy(json_object_get(json_object_get(input, "Tagging"), "TagSet"));
  } else if (strcmp(op, "GetObjectTagging") == 0) {
    json_object_set_new(out, "TagSet", v->tags ? json_deep_copy(v->tags) : json_array());
  } else if (strcmp(op, "DeleteObjectTagging") == 0) {
    json_decref(v->tags);
    v->tags = NULL;
  } else if (strcmp(op, "PutObjectAcl") == 0) {
    json_t *acl = acl_from_input(input);
    if (acl) {
      json_decref(v->acl);
      v->acl = acl;
    }
  } else {
    json_decref(out);
    out = acl_output(v->acl);
  }
  if (b->versioning && strcmp(op, "GetObjectAcl") != 0 && strcmp(op, "PutObjectAcl") != 0)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  state_unlock(st);
  aws_call_reply(call, out);
}

/* ---- listing ---- */

static int max_keys_of(const json_t *input, const char *member) {
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

static json_t *content_item(const s3_key *k, const s3_version *v, int url, int owner) {
  json_t *sc = json_object_get(v->attrs, "StorageClass");
  json_t *item =
      json_pack("{s:o, s:o, s:s, s:I, s:s}", "Key", key_json(k->key, url), "LastModified",
                aws_timestamp_json(v->mtime), "ETag", v->etag, "Size", (json_int_t)v->size,
                "StorageClass", sc ? json_string_value(sc) : "STANDARD");
  if (owner)
    json_object_set_new(item, "Owner", owner_json());
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
  for (size_t i = key_lower(b, from); i < b->nkeys; i++) {
    const s3_key *k = b->keys[i];
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
    json_array_append_new(w->contents, content_item(k, k->versions, w->url, w->owner));
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

static void set_str(json_t *out, const char *member, const char *value, int url) {
  if (value)
    json_object_set_new(out, member, key_json(value, url));
}

static void op_list_objects(aws_call *call, json_t *input) {
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
  w.delimiter = jsonutil_string(input, "Delimiter");
  w.after = v2 ? (token ? token : jsonutil_string(input, "StartAfter"))
               : jsonutil_string(input, "Marker");
  w.max = max_keys_of(input, "MaxKeys");
  w.url = url;
  w.owner = v2 ? json_is_true(json_object_get(input, "FetchOwner")) : 1;
  w.contents = json_array();
  w.prefixes = json_array();
  s3_bucket *b = lock_bucket(call, input);
  if (!b) {
    json_decref(w.contents);
    json_decref(w.prefixes);
    free(token);
    return;
  }
  list_current(b, &w);
  json_t *out = json_pack("{s:s, s:s, s:i, s:b}", "Name", b->name, "Prefix", "", "MaxKeys", w.max,
                          "IsTruncated", w.truncated);
  state_unlock(st);
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

static void op_list_object_versions(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  int url = 0;
  if (encoding_url(call, input, &url) < 0)
    return;
  const char *key_marker = jsonutil_string(input, "KeyMarker");
  const char *vid_marker = jsonutil_string(input, "VersionIdMarker");
  list_walk w = {0};
  w.prefix = jsonutil_string(input, "Prefix");
  w.delimiter = jsonutil_string(input, "Delimiter");
  w.max = max_keys_of(input, "MaxKeys");
  w.url = url;
  w.prefixes = json_array();
  json_t *versions = json_array(), *markers = json_array();
  char *next_key = NULL, *next_vid = NULL;
  s3_bucket *b = lock_bucket(call, input);
  if (!b) {
    json_decref(w.prefixes);
    json_decref(versions);
    json_decref(markers);
    return;
  }
  const char *from = w.prefix ? w.prefix : "";
  if (key_marker && strcmp(key_marker, from) > 0)
    from = key_marker;
  size_t plen = w.prefix ? strlen(w.prefix) : 0;
  int full = 0;
  for (size_t i = key_lower(b, from); i < b->nkeys && !full; i++) {
    const s3_key *k = b->keys[i];
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
      json_t *item = json_pack("{s:o, s:s, s:b, s:o, s:o}", "Key", key_json(k->key, url),
                               "VersionId", v->version_id, "IsLatest", v == k->versions,
                               "LastModified", aws_timestamp_json(v->mtime), "Owner", owner_json());
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
  state_unlock(st);
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

/* ---- multipart uploads ---- */

static s3_upload *upload_find(const s3_bucket *b, const char *id, const char *key) {
  for (s3_upload *u = b->uploads; u; u = u->next)
    if (id && strcmp(u->id, id) == 0 && (!key || strcmp(u->key, key) == 0))
      return u;
  return NULL;
}

static void op_create_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *key = jsonutil_string(input, "Key");
  if (!key_valid(call, key))
    return;
  int bad_tags = 0;
  json_t *tags = tags_from_header(jsonutil_string(input, "Tagging"), &bad_tags);
  if (bad_tags) {
    aws_call_fail(call, 400, "InvalidArgument", "The x-amz-tagging header is not valid.");
    return;
  }
  s3_bucket *b = lock_bucket(call, input);
  if (!b) {
    json_decref(tags);
    return;
  }
  s3_upload *u = calloc(1, sizeof(*u));
  if (!u || !(u->key = strdup(key))) {
    state_unlock(st);
    free(u);
    json_decref(tags);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  random_id(u->id, 41);
  u->initiated = now_s();
  u->attrs = attrs_from_input(input);
  u->tags = tags;
  u->acl = acl_from_input(input);
  u->ck_algo = s3_checksum_algo_from_name(jsonutil_string(input, "ChecksumAlgorithm"));
  u->next = b->uploads;
  b->uploads = u;
  json_t *out = json_pack("{s:s, s:s, s:s}", "Bucket", b->name, "Key", key, "UploadId", u->id);
  if (u->ck_algo != S3_CK_NONE)
    json_object_set_new(out, "ChecksumAlgorithm", json_string(s3_checksum_algo_name(u->ck_algo)));
  state_unlock(st);
  aws_call_reply(call, out);
}

/* Checks bucket, upload and part number; under the lock on success. */
static s3_upload *lock_upload(aws_call *call, const json_t *input, s3_bucket **out_bucket) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return NULL;
  s3_upload *u = upload_find(b, jsonutil_string(input, "UploadId"), jsonutil_string(input, "Key"));
  if (!u) {
    state_unlock(st);
    fail_no_upload(call, jsonutil_string(input, "UploadId"));
    return NULL;
  }
  *out_bucket = b;
  return u;
}

static int part_number_of(aws_call *call, const json_t *input) {
  json_t *n = json_object_get(input, "PartNumber");
  json_int_t num = json_is_integer(n) ? json_integer_value(n) : 0;
  if (num < 1 || num > S3_MAX_PARTS) {
    aws_call_fail_fields(
        call, 400, "InvalidArgument", json_pack("{s:s}", "ArgumentName", "partNumber"),
        "Part number must be an integer between 1 and %d, inclusive", S3_MAX_PARTS);
    return -1;
  }
  return (int)num;
}

/* Records a part's data file in an upload (replacing an earlier one). Under the lock. */
static int part_install(s3_state *st, s3_upload *u, int num, uint64_t file, uint64_t size,
                        const unsigned char md5[16]) {
  if (!u->parts) {
    u->parts = calloc(S3_MAX_PARTS + 1, sizeof(*u->parts));
    if (!u->parts)
      return -1;
  }
  s3_part *p = &u->parts[num];
  if (p->present)
    data_unlink_later(st, p->file);
  p->present = 1;
  p->file = file;
  p->size = size;
  memcpy(p->md5, md5, 16);
  p->mtime = now_s();
  return 0;
}

static void op_upload_part(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  int num = part_number_of(call, input);
  if (num < 0)
    return;
  s3_bucket *b = NULL;
  if (!lock_upload(call, input, &b))
    return;
  state_unlock(st);
  ingest_result r;
  if (ingest(st, call, input, 0, &r) < 0) /* parts always go to files */
    return;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u) {
    data_unlink(st, r.file);
    return;
  }
  if (part_install(st, u, num, r.file, r.size, r.md5) < 0) {
    state_unlock(st);
    data_unlink(st, r.file);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  state_unlock(st);
  char etag[48];
  md5_etag(etag, sizeof(etag), r.md5, 0);
  json_t *out = json_pack("{s:s}", "ETag", etag);
  if (r.ck_algo != S3_CK_NONE)
    json_object_set_new(out, checksum_members[r.ck_algo], json_string(r.checksum));
  aws_call_reply(call, out);
}

/* MD5 of a data file's bytes [start, start+len). */
static int md5_of_file(const s3_state *st, uint64_t file, uint64_t start, uint64_t len,
                       unsigned char md5[16]) {
  s3_digest *dg = s3_digest_new(S3_CK_NONE);
  if (!dg)
    return -1;
  int rc = 0;
  if (file && len) {
    int fd = data_open(st, file);
    char *buf = malloc(1 << 16);
    rc = fd < 0 || !buf ? -1 : 0;
    uint64_t off = start, end = start + len;
    while (rc == 0 && off < end) {
      uint64_t want = end - off < (1 << 16) ? end - off : (1 << 16);
      ssize_t n = pread(fd, buf, want, (off_t)off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        rc = -1;
        break;
      }
      s3_digest_update(dg, buf, (size_t)n);
      off += (uint64_t)n;
    }
    free(buf);
    if (fd >= 0)
      close(fd);
  }
  char unused[96];
  s3_digest_final(dg, md5, unused, sizeof(unused));
  s3_digest_free(dg);
  return rc;
}

static void op_upload_part_copy(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  int num = part_number_of(call, input);
  if (num < 0)
    return;
  char *sbucket = NULL, *skey = NULL, *sversion = NULL;
  s3_version *sv = lock_copy_source(call, input, &sbucket, &skey, &sversion);
  if (!sv)
    goto cleanup;
  uint64_t start = 0, len = sv->size;
  const char *range = jsonutil_string(input, "CopySourceRange");
  if (range) {
    uint64_t a = 0, z = 0;
    if (parse_range(range, sv->size, &a, &z) != 1 || strchr(range + 6, '-') == range + 6) {
      state_unlock(st);
      aws_call_fail(call, 400, "InvalidArgument",
                    "The x-amz-copy-source-range value must be of the form bytes=first-last "
                    "where first and last are the zero-based offsets of the first and last bytes "
                    "to copy");
      goto cleanup;
    }
    start = a;
    len = z - a + 1;
  }
  s3_bucket *b = bucket_find(st, jsonutil_string(input, "Bucket"));
  s3_upload *u =
      b ? upload_find(b, jsonutil_string(input, "UploadId"), jsonutil_string(input, "Key")) : NULL;
  if (!u) {
    state_unlock(st);
    if (!b)
      fail_no_bucket(call,
                     jsonutil_string(input, "Bucket") ? jsonutil_string(input, "Bucket") : "");
    else
      fail_no_upload(call, jsonutil_string(input, "UploadId"));
    goto cleanup;
  }
  uint64_t file = 0;
  char *unused = NULL; /* parts always go to files */
  unsigned char md5[16];
  if (body_clone(st, sv, start, len, 0, &file, &unused) < 0 ||
      md5_of_file(st, file, 0, len, md5) < 0 || part_install(st, u, num, file, len, md5) < 0) {
    int saved = errno;
    state_unlock(st);
    data_unlink(st, file);
    aws_call_fail(call, 500, "InternalError", "Cannot copy the part's data: %s", strerror(saved));
    goto cleanup;
  }
  char etag[48];
  md5_etag(etag, sizeof(etag), md5, 0);
  json_t *out = json_pack("{s:{s:s, s:o}}", "CopyPartResult", "ETag", etag, "LastModified",
                          aws_timestamp_json(u->parts[num].mtime));
  s3_bucket *sb = bucket_find(st, sbucket);
  if (sb && sb->versioning)
    json_object_set_new(out, "CopySourceVersionId", json_string(sv->version_id));
  state_unlock(st);
  aws_call_reply(call, out);
cleanup:
  free(sbucket);
  free(skey);
  free(sversion);
}

static void unlink_upload(s3_bucket *b, s3_upload *u) {
  for (s3_upload **pu = &b->uploads; *pu; pu = &(*pu)->next)
    if (*pu == u) {
      *pu = u->next;
      return;
    }
}

static void op_complete_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  json_t *parts = json_object_get(json_object_get(input, "MultipartUpload"), "Parts");
  if (!json_is_array(parts) || json_array_size(parts) == 0 ||
      json_array_size(parts) > S3_MAX_PARTS) {
    aws_call_fail(call, 400, "MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema");
    return;
  }
  s3_bucket *b = NULL;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u)
    return;
  const char *code = NULL;
  char message[256] = "";
  json_t *fields = NULL;
  int last = 0;
  size_t count = json_array_size(parts), i;
  json_t *item;
  json_array_foreach(parts, i, item) {
    json_int_t num = json_integer_value(json_object_get(item, "PartNumber"));
    const char *etag = jsonutil_string(item, "ETag");
    if (num <= last) {
      code = "InvalidPartOrder";
      snprintf(message, sizeof(message),
               "The list of parts was not in ascending order. Parts "
               "must be ordered by part number.");
      break;
    }
    last = (int)num;
    s3_part *p = num <= S3_MAX_PARTS && u->parts ? &u->parts[num] : NULL;
    char want[48];
    if (p && p->present)
      md5_etag(want, sizeof(want), p->md5, 0);
    if (!p || !p->present || !etag || !etag_listed(etag, want)) {
      code = "InvalidPart";
      snprintf(message, sizeof(message),
               "One or more of the specified parts could not be found. The part may not have "
               "been uploaded, or the specified entity tag may not match the part's entity tag.");
      fields = json_pack("{s:I, s:s}", "PartNumber", num, "ETag", etag ? etag : "");
      break;
    }
  }
  /* Sizes are checked once every listed part is known to exist. */
  json_array_foreach(parts, i, item) {
    if (code)
      break;
    json_int_t num = json_integer_value(json_object_get(item, "PartNumber"));
    const char *etag = jsonutil_string(item, "ETag");
    const s3_part *p = &u->parts[num];
    if (i + 1 < count && p->size < S3_MIN_PART) {
      code = "EntityTooSmall";
      snprintf(message, sizeof(message),
               "Your proposed upload is smaller than the minimum allowed object size.");
      char sz[32];
      snprintf(sz, sizeof(sz), "%" PRIu64, p->size);
      fields = json_pack("{s:s, s:s, s:I, s:s}", "ProposedSize", sz, "MinSizeAllowed", "5242880",
                         "PartNumber", num, "ETag", etag);
      break;
    }
  }
  if (code) {
    state_unlock(st);
    aws_call_fail_fields(call, 400, code, fields, "%s", message);
    return;
  }
  /* Concatenate the parts into the object's data file. */
  uint64_t file = 0, size = 0;
  int out_fd = data_create(st, &file);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  int rc = out_fd < 0 || !md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1 ? -1 : 0;
  json_array_foreach(parts, i, item) {
    if (rc < 0)
      break;
    s3_part *p = &u->parts[json_integer_value(json_object_get(item, "PartNumber"))];
    EVP_DigestUpdate(md, p->md5, 16);
    if (p->size) {
      int in = data_open(st, p->file);
      rc = in < 0 ? -1 : copy_range(out_fd, in, 0, p->size);
      if (in >= 0)
        close(in);
    }
    size += p->size;
  }
  if (out_fd >= 0 && close(out_fd) < 0)
    rc = -1;
  unsigned char md5[16];
  unsigned int mdlen = 0;
  if (rc == 0)
    EVP_DigestFinal_ex(md, md5, &mdlen);
  EVP_MD_CTX_free(md);
  s3_version *v = rc == 0 ? version_new(b) : NULL;
  if (!v) {
    state_unlock(st);
    if (file)
      data_unlink(st, file);
    aws_call_fail(call, 500, "InternalError", "Cannot assemble the object: %s", strerror(errno));
    return;
  }
  if (size == 0) {
    data_unlink(st, file);
    file = 0;
  }
  v->file = file;
  v->size = size;
  v->parts = (int)count;
  md5_etag(v->etag, sizeof(v->etag), md5, (int)count);
  v->attrs = json_incref(u->attrs);
  v->tags = json_incref(u->tags);
  v->acl = json_incref(u->acl);
  char *key = strdup(u->key);
  if (!key || version_install(st, b, u->key, v) < 0) {
    state_unlock(st);
    free(key);
    version_free(st, v, 1);
    aws_call_fail(call, 500, "InternalError", "out of memory");
    return;
  }
  unlink_upload(b, u);
  upload_free(st, u);
  char location[2048];
  snprintf(location, sizeof(location), "%s/%s/%s", aws_call_endpoint(call), b->name, key);
  json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "Location", location, "Bucket", b->name, "Key",
                          key, "ETag", v->etag);
  if (b->versioning)
    json_object_set_new(out, "VersionId", json_string(v->version_id));
  state_unlock(st);
  free(key);
  aws_call_reply(call, out);
}

static void op_abort_multipart(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = NULL;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u)
    return;
  unlink_upload(b, u);
  upload_free(st, u);
  state_unlock(st);
  aws_call_reply(call, NULL);
}

static void op_list_parts(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3_bucket *b = NULL;
  s3_upload *u = lock_upload(call, input, &b);
  if (!u)
    return;
  int max = max_keys_of(input, "MaxParts");
  json_int_t marker = json_integer_value(json_object_get(input, "PartNumberMarker"));
  json_t *list = json_array();
  int truncated = 0, next = 0;
  for (int n = marker > 0 && marker <= S3_MAX_PARTS ? (int)marker + 1 : 1;
       u->parts && n <= S3_MAX_PARTS; n++) {
    s3_part *p = &u->parts[n];
    if (!p->present)
      continue;
    if ((int)json_array_size(list) >= max) {
      truncated = 1;
      break;
    }
    char etag[48];
    md5_etag(etag, sizeof(etag), p->md5, 0);
    json_array_append_new(list, json_pack("{s:i, s:o, s:s, s:I}", "PartNumber", n, "LastModified",
                                          aws_timestamp_json(p->mtime), "ETag", etag, "Size",
                                          (json_int_t)p->size));
    next = n;
  }
  json_t *out = json_pack("{s:s, s:s, s:s, s:I, s:i, s:i, s:b, s:o, s:o, s:s}", "Bucket", b->name,
                          "Key", u->key, "UploadId", u->id, "PartNumberMarker",
                          (json_int_t)(marker > 0 ? marker : 0), "NextPartNumberMarker", next,
                          "MaxParts", max, "IsTruncated", truncated, "Owner", owner_json(),
                          "Initiator", owner_json(), "StorageClass", "STANDARD");
  state_unlock(st);
  if (json_array_size(list))
    json_object_set_new(out, "Parts", list);
  else
    json_decref(list);
  aws_call_reply(call, out);
}

static void op_list_uploads(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  const char *prefix = jsonutil_string(input, "Prefix");
  int max = max_keys_of(input, "MaxUploads");
  s3_bucket *b = lock_bucket(call, input);
  if (!b)
    return;
  json_t *list = json_array();
  int truncated = 0;
  for (s3_upload *u = b->uploads; u; u = u->next) {
    if (prefix && strncmp(u->key, prefix, strlen(prefix)) != 0)
      continue;
    if ((int)json_array_size(list) >= max) {
      truncated = 1;
      break;
    }
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:o, s:s, s:o, s:o}", "UploadId", u->id, "Key", u->key,
                        "Initiated", aws_timestamp_json(u->initiated), "StorageClass", "STANDARD",
                        "Owner", owner_json(), "Initiator", owner_json()));
  }
  json_t *out =
      json_pack("{s:s, s:i, s:b}", "Bucket", b->name, "MaxUploads", max, "IsTruncated", truncated);
  state_unlock(st);
  if (prefix)
    json_object_set_new(out, "Prefix", json_string(prefix));
  if (json_array_size(list))
    json_object_set_new(out, "Uploads", list);
  else
    json_decref(list);
  aws_call_reply(call, out);
}

/* ---- service ---- */

static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

static int s3_create(void **state, emulator *emu) {
  s3_state *st = calloc(1, sizeof(*st));
  if (!st)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  char tmpl[4096];
  snprintf(tmpl, sizeof(tmpl), "%s/airgap-s3-XXXXXX", emulator_data_dir(emu));
  if (!mkdtemp(tmpl)) {
    int rc = airgap_error_set_errno(AIRGAP_ERROR,
                                    "cannot create the S3 data directory under %s; check that "
                                    "the emulator's data directory is writable",
                                    emulator_data_dir(emu));
    free(st);
    return rc;
  }
  st->dir = strdup(tmpl);
  if (!st->dir) {
    rmdir(tmpl);
    free(st);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  atomic_init(&st->next_file, 1);
  atomic_init(&st->inline_bytes, 0);
  pthread_mutex_init(&st->lock, NULL);
  *state = st;
  return 0;
}

static void s3_reset(void *state) {
  s3_state *st = state;
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; i < st->nbuckets; i++)
    bucket_free(st, st->buckets[i]);
  st->nbuckets = 0;
  state_unlock(st);
}

static void s3_destroy(void *state) {
  s3_state *st = state;
  if (!st)
    return;
  s3_reset(st);
  free(st->buckets);
  free(st->doomed); /* empty after the reset's state_unlock */
  remove_dir(st->dir);
  free(st->dir);
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static const aws_operation s3_operations[] = {
    {"AbortMultipartUpload", op_abort_multipart},
    {"CompleteMultipartUpload", op_complete_multipart},
    {"CopyObject", op_copy_object},
    {"CreateBucket", op_create_bucket},
    {"CreateMultipartUpload", op_create_multipart},
    {"DeleteBucket", op_delete_bucket},
    {"DeleteBucketCors", op_config},
    {"DeleteBucketEncryption", op_config},
    {"DeleteBucketLifecycle", op_config},
    {"DeleteBucketOwnershipControls", op_config},
    {"DeleteBucketPolicy", op_config},
    {"DeleteBucketReplication", op_config},
    {"DeleteBucketTagging", op_config},
    {"DeleteBucketWebsite", op_config},
    {"DeleteObject", op_delete_object},
    {"DeleteObjectTagging", op_object_subresource},
    {"DeleteObjects", op_delete_objects},
    {"DeletePublicAccessBlock", op_config},
    {"GetBucketAccelerateConfiguration", op_config},
    {"GetBucketAcl", op_get_bucket_acl},
    {"GetBucketCors", op_config},
    {"GetBucketEncryption", op_config},
    {"GetBucketLifecycleConfiguration", op_config},
    {"GetBucketLocation", op_get_bucket_location},
    {"GetBucketLogging", op_config},
    {"GetBucketNotificationConfiguration", op_config},
    {"GetBucketOwnershipControls", op_config},
    {"GetBucketPolicy", op_config},
    {"GetBucketReplication", op_config},
    {"GetBucketRequestPayment", op_config},
    {"GetBucketTagging", op_config},
    {"GetBucketVersioning", op_get_bucket_versioning},
    {"GetBucketWebsite", op_config},
    {"GetObject", op_get_object},
    {"GetObjectAcl", op_object_subresource},
    {"GetObjectLockConfiguration", op_config},
    {"GetObjectTagging", op_object_subresource},
    {"GetPublicAccessBlock", op_config},
    {"HeadBucket", op_head_bucket},
    {"HeadObject", op_get_object},
    {"ListBuckets", op_list_buckets},
    {"ListMultipartUploads", op_list_uploads},
    {"ListObjectVersions", op_list_object_versions},
    {"ListObjects", op_list_objects},
    {"ListObjectsV2", op_list_objects},
    {"ListParts", op_list_parts},
    {"PutBucketAccelerateConfiguration", op_config},
    {"PutBucketAcl", op_put_bucket_acl},
    {"PutBucketCors", op_config},
    {"PutBucketEncryption", op_config},
    {"PutBucketLifecycleConfiguration", op_config},
    {"PutBucketLogging", op_config},
    {"PutBucketNotificationConfiguration", op_config},
    {"PutBucketOwnershipControls", op_config},
    {"PutBucketPolicy", op_config},
    {"PutBucketReplication", op_config},
    {"PutBucketRequestPayment", op_config},
    {"PutBucketTagging", op_config},
    {"PutBucketVersioning", op_put_bucket_versioning},
    {"PutBucketWebsite", op_config},
    {"PutObject", op_put_object},
    {"PutObjectAcl", op_object_subresource},
    {"PutObjectLockConfiguration", op_config},
    {"PutObjectTagging", op_object_subresource},
    {"PutPublicAccessBlock", op_config},
    {"UploadPart", op_upload_part},
    {"UploadPartCopy", op_upload_part_copy},
};

const aws_service aws_service_s3 = {
    .name = "s3",
    .model_name = "s3",
    .operations = s3_operations,
    .operation_count = sizeof(s3_operations) / sizeof(s3_operations[0]),
    .create = s3_create,
    .reset = s3_reset,
    .shutdown = NULL,
    .destroy = s3_destroy,
};
