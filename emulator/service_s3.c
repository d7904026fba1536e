/*
 * service_s3.c — the S3 service: buckets, objects (with versions), multipart
 * uploads and bucket configurations, on the rest-xml protocol layer.
 *
 * The protocol layer parses every request into the operation's input (URI
 * labels, headers, query, XML bodies) and serializes outputs; object bodies
 * never pass through it. Request bodies are read here from the HTTP request
 * (in memory, or the unlinked file the server spilled a large body to),
 * decoded when aws-chunked, digested (MD5 for the ETag and Content-MD5,
 * plus the requested CRC32/CRC32C/SHA-1/SHA-256 checksum) and written to a
 * data file; GetObject answers with the data file itself (ranges included).
 * So memory holds metadata only: a 1 GB upload costs a file, not 1 GB of RAM.
 *
 * Data files live in a private directory under the emulator's data dir, one
 * per object version or uploaded part, named by a counter, and are never
 * modified after they are written: CopyObject hard-links them, an overwrite
 * unlinks the old one (a GET already streaming it keeps its open file).
 *
 * One mutex guards all metadata; reading and writing bodies happens outside
 * it. Bucket names form one namespace across accounts, as in AWS.
 */
#include "common/error.h"
#include "common/http_server.h"
#include "common/log.h"
#include "emulator/protocol.h"
#include "emulator/s3_chunked.h"
#include "emulator/service.h"
#include "emulator/services.h"

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
  uint64_t file; /* data file number; 0: empty body */
  char etag[48]; /* quoted */
  double mtime;  /* whole seconds */
  json_t *attrs; /* output members: ContentType, Metadata, StorageClass, … */
  json_t *tags;  /* TagSet array or NULL */
  json_t *acl;   /* canned ACL string or AccessControlPolicy object, or NULL */
  s3_checksum_algo ck_algo;
  char checksum[96];
  int parts; /* multipart: part count */
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
} s3_state;

/* ---- small helpers ---- */

static double now_s(void) { return (double)time(NULL); }

static const char *in_str(const json_t *input, const char *name) {
  return json_string_value(json_object_get(input, name));
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
  emu_buf b;
  emu_buf_init(&b, 64 << 10);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (isalnum(*c) || strchr("-._~/", *c))
      emu_buf_append(&b, (const char *)c, 1);
    else
      emu_buf_printf(&b, "%%%02X", *c);
  }
  return emu_buf_take(&b, NULL);
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

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
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
      if (r <= 0 || write_all(out, buf, (size_t)r) < 0)
        return -1;
      off += r;
      len -= (uint64_t)r;
    }
  }
  return 0;
}

/* ---- metadata ---- */

static void version_free(const s3_state *st, s3_version *v, int remove_data) {
  if (!v)
    return;
  if (remove_data)
    data_unlink(st, v->file);
  free(v->version_id);
  json_decref(v->attrs);
  json_decref(v->tags);
  json_decref(v->acl);
  free(v);
}

static void upload_free(const s3_state *st, s3_upload *u) {
  if (!u)
    return;
  if (u->parts)
    for (size_t i = 0; i <= S3_MAX_PARTS; i++)
      if (u->parts[i].present)
        data_unlink(st, u->parts[i].file);
  free(u->parts);
  free(u->key);
  json_decref(u->attrs);
  json_decref(u->tags);
  json_decref(u->acl);
  free(u);
}

static void bucket_free(const s3_state *st, s3_bucket *b) {
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
        version_free(st, old, 1);
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
  char id[33];
  random_id(id, sizeof(id));
  v->version_id = strdup(b->versioning == 1 ? id : "null");
  if (!v->version_id) {
    free(v);
    return NULL;
  }
  v->mtime = now_s();
  return v;
}

/* ---- request attributes ---- */

static const char *const attr_members[] = {
    "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage",
    "ContentType",  "Expires",            "Metadata",        "StorageClass",
    "WebsiteRedirectLocation", "ServerSideEncryption", "SSEKMSKeyId", "BucketKeyEnabled",
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
    emu_buf b;
    emu_buf_init(&b, 4096);
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
        emu_buf_puts(&b, ",");
      emu_buf_append(&b, s, (size_t)(e - s));
    }
    char *clean = emu_buf_take(&b, NULL);
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
  unsigned char md5[16];
  s3_checksum_algo ck_algo;
  char checksum[96];
} ingest_result;

typedef struct ingest_sink {
  int fd;
  s3_digest *dg;
  uint64_t size;
} ingest_sink;

static int sink_write(void *payload, const char *data, size_t len) {
  ingest_sink *s = payload;
  if (len == 0)
    return 0;
  s3_digest_update(s->dg, data, len);
  s->size += len;
  return write_all(s->fd, data, len);
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

/* Reads the request body into a new data file, checking Content-MD5 and the
 * declared checksum. Returns 0, or -1 after answering the call. */
static int ingest(s3_state *st, aws_call *call, const json_t *input, ingest_result *res) {
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
    const char *asked = in_str(input, "ChecksumAlgorithm");
    if (!asked)
      asked = hdr(call, "x-amz-sdk-checksum-algorithm");
    algo = s3_checksum_algo_from_name(asked);
  }
  s3_digest *dg = s3_digest_new(algo);
  s3_chunked *dec = chunked ? s3_chunked_new() : NULL;
  char *buf = NULL;
  int fd = -1;
  uint64_t file = 0;
  const char *code = NULL;
  char message[512] = "";
  int status = 400;
  if (!dg || (chunked && !dec)) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "out of memory");
    goto done;
  }
  fd = data_create(st, &file);
  if (fd < 0) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "Cannot create a data file in %s: %s", st->dir,
             strerror(errno));
    goto done;
  }
  ingest_sink sink = {fd, dg, 0};
  size_t mem_len = 0;
  const char *mem = http_request_body(req, &mem_len);
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
  }
  if (rc == 0 && dec)
    rc = s3_chunked_finish(dec);
  if (rc < 0) {
    if (dec && *s3_chunked_error(dec)) {
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
               "The decoded body has %" PRIu64
               " bytes; x-amz-decoded-content-length says %.40s.",
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
  const char *content_md5 = in_str(input, "ContentMD5");
  if (!content_md5)
    content_md5 = hdr(call, "Content-MD5");
  if (content_md5) {
    unsigned char *want = NULL;
    size_t want_len = 0;
    if (aws_base64_decode(&want, &want_len, content_md5, strlen(content_md5)) < 0 ||
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
  res->file = file;
  res->size = sink.size;
  res->ck_algo = algo;
done:
  if (fd >= 0 && close(fd) < 0 && !code) {
    code = "InternalError", status = 500;
    snprintf(message, sizeof(message), "Cannot write a data file: %s", strerror(errno));
  }
  if (code && file)
    data_unlink(st, file);
  free(buf);
  s3_digest_free(dg);
  s3_chunked_free(dec);
  if (code) {
    aws_call_fail(call, status, code, "%s", message);
    return -1;
  }
  if (res->size == 0) {
    data_unlink(st, file);
    res->file = 0;
  }
  return 0;
}
