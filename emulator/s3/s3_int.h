/*
 * s3_int.h — private to emulator/s3/: the S3 service's state, its store of
 * object bodies and the helpers its files share. Nothing outside emulator/s3/
 * includes it, except tests (the aws-chunked decoder's fuzz target).
 *
 * The files, one concept each:
 *   service.c    the operation table, create/reset/destroy, the common errors
 *   meta.c       the metadata tree: buckets → keys → versions, uploads
 *   store.c      where bodies live: memory (within a budget) or data files
 *   checksum.c   MD5 and the x-amz-checksum-* digests, integrity checks
 *   chunked.c    the aws-chunked body decoder
 *   ingest.c     reading a request body into the store, checked
 *   attrs.c      what an object or bucket carries besides bytes: stored
 *                headers, tags, ACLs
 *   bucket.c     buckets and their stored configurations
 *   object.c     PutObject, GetObject/HeadObject (conditions, ranges),
 *                deletes, object tagging and ACLs
 *   copy.c       CopyObject and the copy source UploadPartCopy shares
 *   list.c       ListObjects v1/v2, ListObjectVersions, ListMultipartUploads
 *   multipart.c  multipart uploads
 *   acl.c        bucket owners, ExpectedBucketOwner, access evaluation (opt-in)
 *   post.c       POST Object: browser form uploads, their policy and signature
 *   sse.c        server-side encryption: SSE-S3 default, bucket default,
 *                SSE-KMS, SSE-C key checks
 *   lock.c       Object Lock: bucket configuration, retention, legal hold
 *   cond.c       conditional writes and deletes (If-Match, If-None-Match)
 *   objattrs.c   GetObjectAttributes, partNumber on GET/HEAD
 *   validate.c   bucket configurations and tag sets checked as S3 checks
 *                them, GetBucketPolicyStatus
 *   cors.c       CORS from the bucket's rules: preflights, Access-Control-*
 *   archive.c    GLACIER and DEEP_ARCHIVE objects, RestoreObject
 *   lifecycle.c  x-amz-expiration: which lifecycle rule expires an object, when
 *   policycond.c bucket policy Conditions (under --s3-enforce-access)
 *   idconfig.c   inventory, analytics, metrics and Intelligent-Tiering
 *                configurations (several per bucket, by id)
 *   ownership.c  Object Ownership's BucketOwnerEnforced: ACLs disabled
 *   select_sql.c S3 Select's SQL: lexer and parser (bounded)
 *   select_value.c S3 Select's values, their text, arithmetic, comparison
 *   select_eval.c S3 Select's expression evaluation
 *   select_io.c  S3 Select's CSV and JSON records in and out
 *   select.c     SelectObjectContent: the request, the run, the event stream
 *
 * Locking: one mutex (s3_state.lock) guards all metadata; bodies are read and
 * written outside it. Functions marked "under the lock" expect the caller to
 * hold it. s3_unlock releases it and then removes the data files that were
 * doomed while it was held.
 */
#ifndef AIRGAP_EMULATOR_S3_INT_H
#define AIRGAP_EMULATOR_S3_INT_H

#include "common/dynbuf.h"
#include "emulator/service.h"

#include <gmp.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define S3_MAX_KEY 1024
/* Object bodies up to this size are kept in memory instead of a data file. */
#define S3_INLINE_MAX ((uint64_t)64 << 10)
/* ... as long as all in-memory bodies together stay under this. */
#define S3_INLINE_BUDGET ((uint64_t)32 << 20)
#define S3_MAX_PARTS 10000
#define S3_MIN_PART ((uint64_t)5 << 20)
#define S3_MAX_DELETE 1000
#define S3_MAX_TAGS 50 /* a bucket's */
#define S3_MAX_OBJECT_TAGS 10
#define S3_OWNER_ID "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
#define S3_OWNER_NAME "webfile"

/* Receives bytes (a decoded body, a file read in pieces); returns 0, or -1 to
 * stop. */
typedef int (*s3_bytes_fn)(void *payload, const char *data, size_t len);

/* ---- checksums (checksum.c) ---- */

typedef enum s3_checksum_algo {
  S3_CK_NONE,
  S3_CK_CRC32,
  S3_CK_CRC32C,
  S3_CK_SHA1,
  S3_CK_SHA256,
  S3_CK_CRC64NVME, /* newer than the model: its members travel as raw headers */
  S3_CK_COUNT,
} s3_checksum_algo;

/* Indexed by algo (entry 0, S3_CK_NONE, is NULL): the request header
 * (x-amz-checksum-crc32) and the output member (ChecksumCRC32). */
extern const char *const s3_checksum_headers[];
extern const char *const s3_checksum_members[];

/* "CRC32" etc. (case-insensitive) → algo; S3_CK_NONE when unknown. */
s3_checksum_algo s3_checksum_algo_from_name(const char *name);
/* "CRC32", "CRC32C", "SHA1", "SHA256". */
const char *s3_checksum_algo_name(s3_checksum_algo algo);

typedef struct s3_digest s3_digest;
/* MD5 always, plus the checksum algo (S3_CK_NONE: none). NULL when out of memory. */
s3_digest *s3_digest_new(s3_checksum_algo algo);
void s3_digest_update(s3_digest *dg, const void *data, size_t len);
/* Finishes: md5 (16 bytes) and the checksum's base64 text (size ≥ 64; "" for
 * none). */
void s3_digest_final(s3_digest *dg, unsigned char md5[16], char *checksum, size_t size);
void s3_digest_free(s3_digest *dg);

/* CRC32C (Castagnoli) of data, continuing from crc (0 to start). */
uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len);
/* CRC-64/NVME of data, continuing from crc (0 to start). */
uint64_t s3_crc64nvme(uint64_t crc, const void *data, size_t len);
/* Puts a checksum into an output: as its member, or (CRC64NVME, which the
 * model does not know) as the x-amz-checksum-crc64nvme header of call. */
void s3_checksum_output(aws_call *call, json_t *out, s3_checksum_algo algo, const char *value);
/* The x-amz-checksum-type header of an answer carrying a checksum. */
void s3_checksum_type_header(aws_call *call, int composite);

/* The first x-amz-checksum-* header of the request: its algo, and its value
 * in *value (borrowed; NULL with S3_CK_NONE when there is none). */
s3_checksum_algo s3_checksum_declared(aws_call *call, const char **value);
/* The request's checksum headers as S3 checks them before reading a body: one
 * x-amz-checksum-* header at most, its value base64 of the algorithm's
 * length, a known x-amz-sdk-checksum-algorithm that comes with its checksum
 * (a header, or a trailer when trailer_ok). 0, or -1 with the call failed
 * (400 InvalidRequest). */
int s3_checksum_headers_check(aws_call *call, int trailer_ok);

/* Compares a body's digests with what the client declared: content_md5 (the
 * base64 Content-MD5, or NULL) against md5, and expected (or NULL) against
 * checksum of algo. Returns 0, or -1 with the S3 error code (static) in *code
 * and its message in message. */
int s3_checksum_verify(const char **code, char *message, size_t size, const char *content_md5,
                       const unsigned char md5[16], s3_checksum_algo algo, const char *expected,
                       const char *checksum);

/* ---- the aws-chunked decoder (chunked.c) ----
 *
 * aws-chunked is what SDKs send for streaming uploads
 * (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER with trailing checksums):
 *   <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;…]\r\n[<trailer>\r\n]…\r\n
 * The decoder is incremental (fed from memory or a spilled file in pieces),
 * bounded (line length, trailer count, chunk size) and refuses malformed
 * framing with a message; with a checker (s3_chunked_verify) chunk and
 * trailer signatures are checked as they pass. */

#define S3_CHUNKED_MAX_LINE 4096
#define S3_CHUNKED_MAX_TRAILERS 16

typedef struct s3_chunked s3_chunked;

/* Returns NULL when out of memory. */
s3_chunked *s3_chunked_new(void);
void s3_chunked_free(s3_chunked *d);
/* Feeds len bytes; decoded data goes to sink. Returns 0, or -1 on malformed
 * input or a sink failure (see s3_chunked_error); after -1 the decoder refuses
 * everything. */
int s3_chunked_feed(s3_chunked *d, const char *data, size_t len, s3_bytes_fn sink, void *payload);
/* The body ended: returns 0 when the final chunk (and trailers) were seen. */
int s3_chunked_finish(s3_chunked *d);
/* What went wrong, "" when nothing. */
const char *s3_chunked_error(const s3_chunked *d);
/* A trailer's value by case-insensitive name (x-amz-checksum-crc32), NULL
 * when absent. Borrowed. */
const char *s3_chunked_trailer(const s3_chunked *d, const char *name);
/* Decoded bytes so far. */
uint64_t s3_chunked_decoded(const s3_chunked *d);
/* Receives the SHA-256 of each chunk's data (trailer 0) with its
 * ;chunk-signature= value, and at the end, when there are trailers, of the
 * trailer lines (trailer 1) with x-amz-trailer-signature; signature NULL
 * when absent. Returns 0, or -1 when it does not match. */
typedef int (*s3_chunk_sig_fn)(void *payload, int trailer, const unsigned char sha256[32],
                               const char *signature);
/* Checks signatures with fn from now on. 0, or -1 when out of memory. */
int s3_chunked_verify(s3_chunked *d, s3_chunk_sig_fn fn, void *payload);
/* 1 when decoding stopped on a signature that did not match. */
int s3_chunked_signature_failed(const s3_chunked *d);

/* ---- the metadata tree (meta.c) ---- */

/* A sorted array of pointers to records whose first member is their name
 * (char *): buckets by name, a bucket's keys by key. One binary search,
 * insert and remove serve both; listings walk it in order. */
typedef struct s3_index {
  void **items;
  size_t len, cap;
} s3_index;

/* Position of the first item whose name is >= name. */
size_t s3_index_lower(const s3_index *ix, const char *name);
/* The item named name, or NULL. Borrowed. */
void *s3_index_find(const s3_index *ix, const char *name);

typedef struct s3_version {
  char *version_id; /* "null" for unversioned writes */
  int delete_marker;
  uint64_t size;
  uint64_t file;  /* data file number; 0: in memory (data) or empty */
  char *data;     /* in-memory body of size bytes (<= S3_INLINE_MAX), owned; NULL when empty */
  char etag[48];  /* quoted */
  double mtime;   /* whole seconds */
  json_t *attrs;  /* output members: ContentType, Metadata, StorageClass, … */
  json_t *tags;   /* TagSet array or NULL */
  json_t *acl;    /* canned ACL string or AccessControlPolicy object, or NULL */
  char owner[16]; /* the writer's account (12 digits); "" for the bucket owner */
  s3_checksum_algo ck_algo;
  char checksum[96];
  int ck_composite;        /* the checksum is of the parts' checksums ("…-N") */
  int parts;               /* multipart: part count */
  uint64_t *part_sizes;    /* multipart: each part's size (parts entries), owned */
  double restore_expiry;   /* archive classes: a restored copy is readable until then */
  struct s3_version *next; /* older */
} s3_version;

typedef struct s3_key {
  char *key;            /* first member: s3_index */
  s3_version *versions; /* newest first; never empty */
} s3_key;

typedef struct s3_part {
  int present;
  uint64_t file, size;
  unsigned char md5[16];
  double mtime;
  s3_checksum_algo ck_algo; /* the checksum the part was sent with, if any */
  char *checksum;           /* its base64 value, owned (NULL with S3_CK_NONE) */
} s3_part;

typedef struct s3_upload {
  char id[48];
  char *key;
  double initiated;
  char initiator[16]; /* the account that created it (12 digits) */
  json_t *attrs, *tags, *acl;
  s3_checksum_algo ck_algo;
  int ck_full_object; /* x-amz-checksum-type FULL_OBJECT (else COMPOSITE) */
  s3_part *parts;     /* indexed by part number, S3_MAX_PARTS + 1 entries, lazily */
  struct s3_upload *next;
} s3_upload;

typedef struct s3_bucket {
  char *name; /* first member: s3_index */
  char region[32];
  double created;
  int versioning; /* 0 never enabled, 1 Enabled, 2 Suspended */
  s3_index keys;  /* s3_key, sorted by key bytes */
  s3_upload *uploads;
  json_t *configs; /* operation family → stored input value */
  json_t *acl;
  int object_lock;   /* Object Lock enabled (at creation or later) */
  json_t *completed; /* upload id → CompleteMultipartUpload output, for repeats */
} s3_bucket;

typedef struct s3_state {
  pthread_mutex_t lock;
  char *dir; /* the data files */
  atomic_uint_fast64_t next_file;
  s3_index buckets; /* s3_bucket, sorted by name */
  /* Data files of versions replaced or deleted under the lock, removed by
   * s3_unlock once the lock is released: an unlink can wait on the
   * filesystem's journal, and must not hold every other request up. */
  uint64_t *doomed;
  size_t ndoomed, capdoomed;
  atomic_uint_fast64_t inline_bytes; /* in-memory bodies, against S3_INLINE_BUDGET */
} s3_state;

/* Whole seconds (HTTP dates have no fraction), rounded up: see meta.c. */
double s3_now(void);
/* len-1 random letters and digits and a NUL into out (version and upload ids). */
void s3_random_id(char *out, size_t len);
/* The quoted ETag of an MD5 ("\"hex\"", or "\"hex-N\"" for N parts). */
void s3_etag(char *out, size_t size, const unsigned char md5[16], int parts);

/* Under the lock. */
s3_bucket *s3_bucket_find(const s3_state *st, const char *name);
/* Inserts b (owned by the state from then on); -1 when out of memory. */
int s3_bucket_insert(s3_state *st, s3_bucket *b);
/* Takes the bucket named out of the state (the caller frees it). */
void s3_bucket_remove(s3_state *st, const char *name);
/* Frees a bucket with everything in it, its data files at once. */
void s3_bucket_free(s3_state *st, s3_bucket *b);

s3_key *s3_key_find(const s3_bucket *b, const char *key);
/* Drops key from the bucket when it has no version left. */
void s3_key_remove_if_empty(s3_bucket *b, const char *key);

/* A new version for bucket b: id "null" or a random one per its versioning,
 * mtime now. NULL when out of memory. */
s3_version *s3_version_new(const s3_bucket *b);
/* Installs v as the newest version of key, applying the bucket's versioning:
 * unversioned and suspended buckets replace the "null" version. Takes v on
 * success; -1 when out of memory. */
int s3_version_install(s3_state *st, s3_bucket *b, const char *key, s3_version *v);

enum {
  S3_KEEP_DATA, /* the data file stays */
  S3_DROP_DATA, /* the data file is removed now */
  S3_DOOM_DATA, /* ... at s3_unlock (under the lock) */
};
void s3_version_free(s3_state *st, s3_version *v, int data);
/* Under the lock (the part files go at s3_unlock). */
void s3_upload_free(s3_state *st, s3_upload *u);

/* ---- bodies (store.c) ---- */

void s3_lock(s3_state *st);
/* Releases the lock, then removes the data files doomed while it was held. */
void s3_unlock(s3_state *st);

/* A new data file, open for writing: the descriptor, its number in *out; -1
 * with errno. */
int s3_data_create(s3_state *st, uint64_t *out);
/* A data file, open for reading; -1 with errno. */
int s3_data_open(const s3_state *st, uint64_t file);
/* Gives the open file fd (an unlinked O_TMPFILE file, or any file on the same
 * filesystem) a name as a new data file, in *out. -1 with errno. */
int s3_data_link(s3_state *st, int fd, uint64_t *out);
/* Removes a data file now (0: none). */
void s3_data_unlink(const s3_state *st, uint64_t file);
/* Under the lock: file is removed by the next s3_unlock (0: none). */
void s3_data_unlink_later(s3_state *st, uint64_t file);

/* Copies len bytes of in from offset to the end of out. 0, or -1 with errno. */
int s3_copy_range(int out, int in, uint64_t offset, uint64_t len);
/* Reads [offset, offset+len) of fd in pieces of up to piece bytes, handing
 * each to fn. 0, or -1 (read failure, early end, fn's -1). */
int s3_read_range(int fd, uint64_t offset, uint64_t len, size_t piece, s3_bytes_fn fn,
                  void *payload);

/* May one more body be kept in memory? (A soft cap: concurrent uploads may
 * overshoot it by one S3_INLINE_MAX each.) */
int s3_inline_room(s3_state *st);
/* Counts an in-memory body of size bytes against the budget. */
void s3_inline_add(s3_state *st, uint64_t size);
/* Frees an in-memory body of size bytes and returns it to the budget. */
void s3_inline_free(s3_state *st, char *data, uint64_t size);

/* Bytes [start, start+len) of v's body, for a new version or part: in memory
 * when v's body is in memory, inline_ok and the budget allows, else in a new
 * data file (a hard link when v's whole file). Sets *file and *data (owned;
 * both 0 for an empty range). Returns 0, or -1 with errno. Under the lock. */
int s3_body_clone(s3_state *st, const s3_version *v, uint64_t start, uint64_t len, int inline_ok,
                  uint64_t *file, char **data);
/* MD5 of a data file's first len bytes (0 or an empty file: of nothing). */
int s3_data_md5(const s3_state *st, uint64_t file, uint64_t len, unsigned char md5[16]);

/* ---- reading requests (ingest.c) ---- */

/* A request header (case-insensitive name), NULL when absent. Borrowed. */
const char *s3_header(aws_call *call, const char *name);
/* Walks a comma-separated header list ("a, b,c"): the next item with the
 * white space around it trimmed, empty items skipped. Returns 1 with
 * *item and *len, 0 at the end. *cursor starts at the list (may be NULL). */
int s3_list_next(const char **cursor, const char **item, size_t *len);

typedef struct s3_body {
  uint64_t file, size;
  char *data; /* the body in memory (owned) when it was kept inline; NULL otherwise */
  unsigned char md5[16];
  s3_checksum_algo ck_algo;
  char checksum[96];
} s3_body;

/* Reads the request body, checking Content-MD5 and the declared checksum,
 * into memory (out->data; inline_ok and at most S3_INLINE_MAX bytes) or a new
 * data file (out->file). An empty body has neither. Returns 0 (out owns what
 * it names), or -1 after answering the call. */
int s3_ingest(s3_state *st, aws_call *call, const json_t *input, int inline_ok, s3_body *out);
/* The checksum a write asks for: declared in an x-amz-checksum-* header
 * (*expected its value), announced as an aws-chunked trailer (*from_trailer),
 * or named by ChecksumAlgorithm / x-amz-sdk-checksum-algorithm; S3_CK_NONE. */
s3_checksum_algo s3_checksum_requested(aws_call *call, const json_t *input, const char **expected,
                                       int *from_trailer);
/* Checks Content-MD5 and an x-amz-checksum-* header against a request body
 * the protocol layer parsed (DeleteObjects: S3 requires an integrity header
 * there). Returns 0, or -1 after answering the call. */
int s3_verify_parsed_body(aws_call *call);

/* ---- attributes, tags, ACLs (attrs.c) ---- */

/* The stored attributes of an object from a put/create-upload/copy input. Owned. */
json_t *s3_attrs_from_input(const json_t *input);
/* 0 when the attributes a write sets are acceptable to S3: its user metadata
 * (x-amz-meta-*) fits 2 KB, the bytes of keys and values together, else
 * MetadataTooLarge; a WebsiteRedirectLocation starts with '/', http:// or
 * https://, else InvalidRedirectLocation. -1 with the call failed. */
#define S3_MAX_METADATA 2048
int s3_attrs_check(aws_call *call, const json_t *input);
/* The TagSet of an x-amz-tagging header (input's Tagging) in *out (owned, NULL
 * when absent). Returns 0, or -1 after answering the call. */
int s3_tags_from_input(aws_call *call, const json_t *input, json_t **out);
/* The ACL an input asks for: canned (ACL), x-amz-grant-* headers (the
 * caller's account owning it) or a policy document. Owned or NULL. */
json_t *s3_acl_from_input(aws_call *call, const json_t *input);
/* GetBucketAcl / GetObjectAcl output from what was stored; a canned ACL's
 * grants name account's canonical user. Owned. */
json_t *s3_acl_output(const json_t *acl, const char *account);
/* The canonical user of an account (Owner / Initiator members): the
 * default account 000000000000 (or NULL) has LocalStack's id and name,
 * every other one an id of its own (SHA-256 of the account id) and its
 * account id as display name. Owned. */
json_t *s3_owner_json(const char *account);
/* The same id alone (64 hex digits) into out (size >= 65). */
void s3_owner_id(char *out, size_t size, const char *account);

/* ---- buckets (bucket.c) ---- */

/* Under the lock: the bucket named; when there is none, releases the lock,
 * answers NoSuchBucket and returns NULL. */
s3_bucket *s3_bucket_get(aws_call *call, s3_state *st, const char *name);
/* Takes the lock and finds input's Bucket; on failure answers and unlocks. */
s3_bucket *s3_bucket_lock(aws_call *call, const json_t *input);

/* ---- objects (object.c, copy.c) ---- */

/* 1 when key is a usable object key, else 0 after answering the call. */
int s3_key_valid(aws_call *call, const char *key);
/* The version a request names (VersionId) or the current one; NULL with
 * *marker_only set when the current version is a delete marker. Answers
 * nothing. Under the lock. */
s3_version *s3_version_lookup(const s3_bucket *b, const char *key, const char *version_id,
                              int *marker_only);
/* Answers NoSuchVersion (version_id) or NoSuchKey. */
void s3_fail_lookup(aws_call *call, const char *key, const char *version_id);
/* 1 when version_id is shaped as S3's ("null" or S3_VERSION_ID_LEN letters,
 * digits, '.', '_', '-'); S3 refuses others with 400 InvalidArgument, which
 * s3_fail_bad_version_id sends, naming the parameter (versionId, …). */
#define S3_VERSION_ID_LEN 32
int s3_version_id_valid(const char *version_id);
void s3_fail_bad_version_id(aws_call *call, const char *argument, const char *version_id);
/* Does an If-Match / If-None-Match list ("\"a\", \"b\"", "*") name etag? */
int s3_etag_listed(const char *list, const char *etag);
/* HTTP conditions for GET/HEAD (prefix "") or a copy source (prefix
 * "CopySource"): input's IfMatch, IfNoneMatch, IfModifiedSince and
 * IfUnmodifiedSince against etag and mtime. Returns 0 (go on), 304 or 412. A
 * copy source answers 412 where a GET would answer 304. */
int s3_check_conditions(const json_t *input, const char *prefix, const char *etag, double mtime);
/* "bytes=a-b" / "bytes=a-" / "bytes=-n". Returns 1 with [*start, *end] for a
 * satisfiable range, 0 when there is no usable range (serve it all), -1 when
 * unsatisfiable (416). */
int s3_parse_range(const char *text, uint64_t size, uint64_t *start, uint64_t *end);
/* Finds the copy source (CopySource) under the lock and checks its
 * conditions: the version, with the lock held and the parsed source in
 * *src_bucket, *src_key, *src_version (owned; freed by the caller either
 * way). On failure answers the call and returns NULL (lock released). */
s3_version *s3_copy_source_lock(aws_call *call, const json_t *input, char **src_bucket,
                                char **src_key, char **src_version);

/* ---- errors every file answers (service.c) ---- */

void s3_fail_no_bucket(aws_call *call, const char *bucket);
void s3_fail_no_key(aws_call *call, const char *key);
void s3_fail_no_upload(aws_call *call, const char *id);
void s3_fail_malformed_xml(aws_call *call);
/* 412 PreconditionFailed naming the condition ("If-Match"). */
void s3_fail_precondition(aws_call *call, const char *condition);
/* 405 MethodNotAllowed for a request addressed to a delete marker, naming
 * the HTTP method and the resource type as S3 does. */
void s3_fail_delete_marker(aws_call *call);
void s3_fail_oom(aws_call *call);

/* ---- server-side encryption (sse.c) ---- */

/* The SSE-C headers of a request (prefix "" or "CopySource"): 0 when there
 * are none; 1 when they are valid, with the key's base64 MD5 in md5_out; -1
 * after answering the call (bad algorithm, key length or MD5). */
int s3_sse_customer_key(aws_call *call, const json_t *input, const char *prefix, char *md5_out,
                        size_t size);
/* Validates a write's encryption headers (x-amz-server-side-encryption,
 * SSE-C, the KMS key id); the SSE-C key MD5 in ssec_md5 ("" for none).
 * Returns 0, or -1 after answering the call. */
int s3_sse_check(aws_call *call, const json_t *input, char *ssec_md5, size_t size);
/* Sets attrs' encryption members for a new object: SSE-C (ssec_md5), the
 * request's x-amz-server-side-encryption, else bucket b's default, else
 * AES256. Under the lock. */
void s3_sse_apply(aws_call *call, const s3_bucket *b, const json_t *input, const char *ssec_md5,
                  json_t *attrs);
/* An SSE-KMS write's key (the request's, else bucket b's default) must be
 * an enabled symmetric key of the emulator's KMS in b's Region, when KMS is
 * served: 0, or -1 after answering S3's 400 "KMS.<KMS's code>" with KMS's
 * message. Not for SSE-C writes (ssec_md5 non-empty). Under the lock. */
int s3_sse_kms_check(aws_call *call, const s3_bucket *b, const json_t *input, const char *ssec_md5);
/* Copies the encryption members of attrs into an output. */
void s3_sse_output(json_t *out, const json_t *attrs);
/* A read of an object (GET, HEAD; prefix "CopySource" for a copy source)
 * must present the SSE-C key it was written with, and only then. Returns 0,
 * or -1 after answering the call (400 or 403, as S3 does). */
int s3_sse_read_check(aws_call *call, const json_t *attrs, const json_t *input, const char *prefix);
/* PutBucketEncryption's configuration as S3 validates it; 0 after answering. */
int s3_sse_config_valid(aws_call *call, const json_t *config);
/* What GetBucketEncryption answers for a bucket without one (SSE-S3). Owned. */
json_t *s3_sse_config_default(void);

/* ---- Object Lock (lock.c) ---- */

/* Validates a write's x-amz-object-lock-* headers. 0, or -1 after answering. */
int s3_lock_check_put(aws_call *call, const json_t *input);
/* Sets attrs' lock members for a new version of bucket b: the request's, or
 * the bucket's default retention. -1 after answering when the request asks
 * for a lock the bucket cannot hold. Under the lock. */
int s3_lock_apply(aws_call *call, const s3_bucket *b, const json_t *input, json_t *attrs);
/* 1 when v may not be deleted now (legal hold, COMPLIANCE, or GOVERNANCE
 * without bypass). */
int s3_lock_protects(const s3_version *v, int bypass);
/* Does the request bypass governance retention? */
int s3_lock_bypass(aws_call *call, const json_t *input);

/* ---- conditional writes (cond.c) ---- */

/* If-Match / If-None-Match of a write to key (PutObject,
 * CompleteMultipartUpload) or If-Match of a DeleteObject, read from the raw
 * headers (Debian's botocore model predates them). After a first check
 * passed, pass conflict = 1: a condition that fails now answers 409
 * ConditionalRequestConflict. Returns 0, or -1 after answering. Under the
 * lock (not released). */
int s3_write_conditions(aws_call *call, const s3_bucket *b, const char *key, int conflict);
/* The same for DeleteObject's If-Match. */
int s3_delete_conditions(aws_call *call, const s3_bucket *b, const char *key);

/* ---- parts of objects (objattrs.c) ---- */

/* Byte range [*start, *end] of part n of v (a whole single-part object is
 * part 1). Returns 0, or -1 after answering (InvalidArgument,
 * InvalidPartNumber). */
int s3_part_range(aws_call *call, const s3_version *v, json_int_t n, uint64_t *start,
                  uint64_t *end);

/* ---- validation (validate.c) ---- */

/* A bucket configuration (the input member named) as S3 validates it before
 * storing; may fill in what S3 generates (rule ids). 1, or 0 after
 * answering. */
int s3_config_valid(aws_call *call, const char *member, json_t *value, const json_t *input);
/* The checks that need the bucket and the state (replication needs
 * versioning, logging an existing target). Under the lock; 1, or 0 after
 * answering (the lock still held). */
int s3_config_valid_locked(aws_call *call, s3_state *st, const s3_bucket *b, const char *member,
                           const json_t *value);
/* A TagSet of at most max tags, keys unique, lengths within S3's limits. 1,
 * or 0 after answering. */
int s3_tags_valid(aws_call *call, const json_t *set, size_t max);
/* x-amz-tagging's set: 1 when free of duplicate keys and of characters S3
 * refuses in tags (which S3 answers as a malformed header, not InvalidTag). */
int s3_tags_header_valid(const json_t *set);
void s3_op_get_bucket_policy_status(aws_call *call, json_t *input);

/* ---- CORS (cors.c) ---- */

/* The Access-Control-* headers for a request with an Origin that one of b's
 * CORS rules allows, on whatever the call answers next; nothing otherwise.
 * Under the lock. */
void s3_cors_headers(aws_call *call, const s3_bucket *b);
/* OPTIONS (a CORS preflight; not in the model: the gateway routes it here
 * with input {"Bucket"}). */
void s3_op_cors_preflight(aws_call *call, json_t *input);

/* ---- archive storage classes (archive.c) ---- */

/* input's StorageClass, when present, is one S3 knows. 0, or -1 after
 * answering (InvalidStorageClass). */
int s3_storage_class_check(aws_call *call, const json_t *input);
/* A read of v's bytes (GET, or a copy source: copy_source 1) when v is
 * archived and not restored: -1 after answering 403 InvalidObjectState;
 * else 0. Under the lock. */
int s3_archive_read_check(aws_call *call, const s3_version *v, int copy_source);
/* The Restore member (x-amz-restore) of a GET/HEAD output for a restored v. */
void s3_archive_output(json_t *out, const s3_version *v);
void s3_op_restore_object(aws_call *call, json_t *input);

/* ---- lifecycle expiration as reads and writes report it (lifecycle.c) ---- */

/* The Expiration member (x-amz-expiration: expiry-date and rule-id) of an
 * answer about v, the current version of key, when an enabled rule of b's
 * lifecycle configuration expires it; nothing otherwise. Under the lock. */
void s3_lifecycle_output(json_t *out, const s3_bucket *b, const char *key, const s3_version *v);

/* Put/Get/Delete/List Bucket{Inventory,Analytics,Metrics,IntelligentTiering}
 * Configuration(s) (idconfig.c). */
void s3_op_idconfig(aws_call *call, json_t *input);

/* ---- listings (list.c) ---- */

/* Percent-encodes everything but unreserved characters and '/'
 * (encoding-type=url, x-amz-expiration's rule-id). Owned. */
char *s3_url_encode(const char *s);

/* input's member (MaxKeys, MaxUploads, MaxParts): 1000 when absent, else
 * clamped to [0, 1000]. */
int s3_max_keys(const json_t *input, const char *member);
/* A negative one is refused as S3 refuses it: 1, or 0 after answering. */
int s3_max_keys_valid(aws_call *call, const json_t *input, const char *member);

/* ---- operations (bucket.c, object.c, copy.c, list.c, multipart.c) ---- */

void s3_op_create_bucket(aws_call *call, json_t *input);
void s3_op_head_bucket(aws_call *call, json_t *input);
void s3_op_delete_bucket(aws_call *call, json_t *input);
void s3_op_list_buckets(aws_call *call, json_t *input);
void s3_op_get_bucket_location(aws_call *call, json_t *input);
void s3_op_put_bucket_versioning(aws_call *call, json_t *input);
void s3_op_get_bucket_versioning(aws_call *call, json_t *input);
void s3_op_put_bucket_acl(aws_call *call, json_t *input);
void s3_op_get_bucket_acl(aws_call *call, json_t *input);
/* Every stored bucket configuration (Put/Get/DeleteBucketPolicy, Cors, …). */
void s3_op_config(aws_call *call, json_t *input);

void s3_op_put_object(aws_call *call, json_t *input);
/* GetObject and HeadObject. */
void s3_op_get_object(aws_call *call, json_t *input);
void s3_op_delete_object(aws_call *call, json_t *input);
void s3_op_delete_objects(aws_call *call, json_t *input);
/* Put/Get/DeleteObjectTagging, Put/GetObjectAcl. */
void s3_op_object_subresource(aws_call *call, json_t *input);
void s3_op_copy_object(aws_call *call, json_t *input);

/* ---- POST Object (post.c) ----
 * The multipart/form-data parser, pure and bounded (fuzzed by
 * tests/fuzz/fuzz_s3_post.c): fields by name (case kept; looked up without
 * case), the file part as a slice of the body. */
#define S3_FORM_MAX_FIELDS 100
#define S3_FORM_MAX_FIELD (64u << 10) /* a field's value (the policy is the largest) */
typedef struct s3_form_field {
  char *name, *value; /* owned, NUL-terminated */
} s3_form_field;
typedef struct s3_form {
  s3_form_field fields[S3_FORM_MAX_FIELDS];
  size_t len;
  int has_file;
  const char *file; /* borrowed from the body */
  size_t file_len;
  char *filename, *file_type; /* owned, NULL when absent */
} s3_form;
/* Parses body by content_type's boundary. 0, or -1 with a message in error
 * (out is then empty). Fields after the file are ignored, as S3 does. */
int s3_form_parse(s3_form *out, const char *content_type, const char *body, size_t len, char *error,
                  size_t size);
/* A field's value by case-insensitive name; NULL when absent. Borrowed. */
const char *s3_form_get(const s3_form *f, const char *name);
void s3_form_free(s3_form *f);
/* ---- accounts and access control (acl.c) ---- */

/* 1 when a bucket policy document allows the public something: an Allow
 * without a Condition to Principal "*" or to everyone but a NotPrincipal
 * (GetBucketPolicyStatus, the public-access block). */
int s3_policy_public(const json_t *doc);
/* Records the caller's account as the owner of a new bucket (under the lock). */
void s3_acl_set_owner(aws_call *call, s3_bucket *b);
/* The account that owns b. Borrowed. */
const char *s3_acl_owner(const s3_bucket *b);
/* 1 when the caller's account owns b. */
int s3_acl_owned_by_caller(aws_call *call, const s3_bucket *b);
/* The policy document of input's x-amz-grant-* headers (GrantRead, …),
 * checked before by s3_acl_check_input; NULL when there are none. Owned. */
json_t *s3_acl_from_grant_headers(const json_t *input, const char *account);
/* Refuses a canned ACL with x-amz-grant-* headers, malformed grant headers,
 * unknown canned ACLs. 0, or -1 after answering. */
int s3_acl_check_input(aws_call *call, const json_t *input);
/* Does a request set a public ACL: a public canned one (public-read,
 * public-read-write, authenticated-read) or x-amz-grant-* headers naming
 * everyone or every signed caller? */
int s3_acl_input_public(const json_t *input);
/* Under the lock, for the bucket a request names: ExpectedBucketOwner and the
 * ACL headers always; ACLs, bucket policy and public-access block when the
 * emulator enforces access. 0, or -1 after unlocking and answering. */
int s3_access_check(aws_call *call, const json_t *input, s3_state *st, s3_bucket *b);

/* ---- Object Ownership (ownership.c) ---- */

/* 1 when b's ObjectOwnership is BucketOwnerEnforced (ACLs disabled). */
int s3_ownership_enforced(const s3_bucket *b);
/* 1 when acl (as s3_acl_from_input makes it; NULL: none) gives the bucket
 * owner owner_account full control and nobody anything else. */
int s3_ownership_acl_owner_only(const json_t *acl, const char *owner_account);
/* A write's ACL (input's ACL, x-amz-grant-*, AccessControlPolicy) on b: 0
 * when b accepts it, else -1 after answering AccessControlListNotSupported
 * (the lock still held). Under the lock. */
int s3_ownership_check_write(aws_call *call, const s3_bucket *b, const json_t *input);
/* Answers 400 InvalidBucketAclWithObjectOwnership. */
void s3_ownership_fail_bucket_acl(aws_call *call);
/* GetBucketAcl / GetObjectAcl output of acl stored on b (or one of its
 * objects): the bucket owner's full control alone when b is enforced. Owned. */
json_t *s3_ownership_acl_output(const s3_bucket *b, const json_t *acl);
/* The account that owns version v of b: its writer, unless ACLs are
 * disabled or the bucket prefers its owner for writes that grant it full
 * control (then the bucket owner). Borrowed. */
const char *s3_object_owner(const s3_bucket *b, const s3_version *v);
/* An object's ACL as GetObjectAcl answers it (owner, grants). Owned. */
json_t *s3_object_acl_output(const s3_bucket *b, const s3_version *v);

/* The TagSet of an x-amz-tagging header's text (NULL when absent or not
 * valid). Owned. */
json_t *s3_tags_parse_header(const char *text);

/* A bucket policy statement's Condition (NULL: none) holds for the call
 * (policycond.c); existing_tags is the TagSet of the object the request
 * names (NULL: none), for s3:ExistingObjectTag/<key>. */
int s3_policy_condition_holds(const json_t *condition, aws_call *call, const json_t *input,
                              const json_t *existing_tags);

/* POST /<bucket> with a form (input: {"Bucket"}). */
void s3_op_post_object(aws_call *call, json_t *input);

/* ListObjects and ListObjectsV2. */
void s3_op_list_objects(aws_call *call, json_t *input);
void s3_op_list_object_versions(aws_call *call, json_t *input);
void s3_op_list_uploads(aws_call *call, json_t *input);
/* An upload's Initiator (who created it) or Owner (who will own the object:
 * the initiator, or the bucket owner when ACLs are disabled) as
 * ListMultipartUploads and ListParts name them. Owned. */
json_t *s3_upload_party_json(const s3_bucket *b, const s3_upload *u, int initiator);

void s3_op_create_multipart(aws_call *call, json_t *input);
void s3_op_upload_part(aws_call *call, json_t *input);
void s3_op_upload_part_copy(aws_call *call, json_t *input);
void s3_op_complete_multipart(aws_call *call, json_t *input);
void s3_op_abort_multipart(aws_call *call, json_t *input);

void s3_op_put_object_lock_config(aws_call *call, json_t *input);
void s3_op_get_object_lock_config(aws_call *call, json_t *input);
void s3_op_get_object_attributes(aws_call *call, json_t *input);
void s3_op_put_object_retention(aws_call *call, json_t *input);
void s3_op_get_object_retention(aws_call *call, json_t *input);
void s3_op_put_object_legal_hold(aws_call *call, json_t *input);
void s3_op_get_object_legal_hold(aws_call *call, json_t *input);
void s3_op_list_parts(aws_call *call, json_t *input);
void s3_op_select_object_content(aws_call *call, json_t *input);

/* ---- S3 Select (select_*.c, select.c) ----
 *
 * SelectObjectContent runs one SQL statement of S3 Select's dialect over an
 * object's CSV or JSON records. The parser is bounded (expression length,
 * nesting, node count) and fuzzed (tests/fuzz/fuzz_s3_select.c). Values are
 * PartiQL's as S3 Select keeps them: integers (int64), exact decimals (a GMP
 * integer and a scale, as Ion keeps 1.50), floats, strings,
 * booleans, NULL and MISSING, and JSON structures. */
#define S3SEL_MAX_EXPRESSION (256u << 10) /* AWS's limit on the SQL text */
#define S3SEL_MAX_DEPTH 64                /* nesting of expressions */
#define S3SEL_MAX_NODES 10000
#define S3SEL_MAX_RECORD (1u << 20) /* AWS's maxCharsPerRecord */

typedef enum s3sel_type {
  S3SEL_MISSING,
  S3SEL_NULL,
  S3SEL_BOOL,
  S3SEL_INT,
  S3SEL_DEC,
  S3SEL_FLOAT,
  S3SEL_STR,
  S3SEL_JSON, /* an object or array (j) */
} s3sel_type;

typedef struct s3sel_value {
  s3sel_type t;
  int b;
  int64_t i;
  double f;
  mpz_t d; /* S3SEL_DEC only (initialised then): d × 10^-scale */
  int scale;
  char *s; /* S3SEL_STR: owned, NUL-terminated, len bytes */
  size_t len;
  json_t *j; /* S3SEL_JSON: a reference */
} s3sel_value;

/* An error as S3 Select names it: code (static) and message. */
typedef struct s3sel_error {
  const char *code;
  char message[256];
} s3sel_error;

void s3sel_fail(s3sel_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct s3sel_query s3sel_query;
typedef struct s3sel_node s3sel_node;

/* A record being evaluated: CSV fields (with the header's names when
 * FileHeaderInfo is USE) or a JSON value. All borrowed. */
typedef struct s3sel_record {
  char **fields;
  size_t *lens;
  size_t nfields;
  char **names; /* NULL unless USE */
  size_t nnames;
  json_t *json; /* JSON input */
} s3sel_record;

/* select_sql.c: parses sql. 0 with *out (owned: s3sel_query_free), or -1
 * with err. */
int s3sel_parse(s3sel_query **out, const char *sql, size_t len, s3sel_error *err);
void s3sel_query_free(s3sel_query *q);

/* What the parser built, for select_eval.c and select.c. */
enum { S3SEL_PATH_MEMBER, S3SEL_PATH_INDEX, S3SEL_PATH_WILD };
typedef struct s3sel_step {
  int kind;
  char *name; /* MEMBER */
  int quoted; /* MEMBER: a "quoted" name is case-sensitive */
  long index; /* INDEX */
} s3sel_step;

typedef struct s3sel_item {
  s3sel_node *expr;
  char *alias; /* AS name, or NULL */
} s3sel_item;

enum {
  S3SEL_N_LIT,
  S3SEL_N_PATH,
  S3SEL_N_NEG,
  S3SEL_N_NOT,
  S3SEL_N_AND,
  S3SEL_N_OR,
  S3SEL_N_CMP,   /* op: '=', '!' (<>, !=), '<', 'l' (<=), '>', 'g' (>=) */
  S3SEL_N_ARITH, /* op: + - * / % and '|' (||) */
  S3SEL_N_LIKE,  /* args: value, pattern[, escape] */
  S3SEL_N_BETWEEN,
  S3SEL_N_IN,
  S3SEL_N_IS,   /* op: 'N' NULL, 'M' MISSING */
  S3SEL_N_FUNC, /* name: LOWER, UPPER, CHAR_LENGTH, SUBSTRING, TRIM, COALESCE, NULLIF */
  S3SEL_N_CAST, /* op: the s3sel_type to cast to */
  S3SEL_N_AGG,  /* name: COUNT, SUM, AVG, MIN, MAX; star for COUNT(*) */
};

struct s3sel_node {
  int kind, op, negate;
  int col; /* where it starts in the SQL (1-based), for messages */
  s3sel_value lit;
  s3sel_node **args;
  size_t nargs;
  s3sel_step *path;
  size_t npath;
  char name[16];
  int star;
  size_t slot; /* AGG: its index in the query's aggs */
  /* AGG state */
  int64_t count;
  s3sel_value acc;
};

struct s3sel_query {
  int star; /* SELECT * */
  s3sel_item *items;
  size_t nitems;
  s3sel_step *from; /* after S3Object */
  size_t nfrom;
  char *alias; /* FROM S3Object[...] alias; NULL: none */
  s3sel_node *where;
  int64_t limit; /* -1: none */
  int aggregate; /* the select list holds aggregates */
  size_t naggs;
  s3sel_node **aggs; /* the aggregate calls, by slot */
  s3sel_node **all;  /* every node, for freeing */
  size_t nall;
};

/* select_eval.c */
void s3sel_value_clear(s3sel_value *v);
/* Evaluates n for rec. 0 with *out (clear it), or -1 with err. */
int s3sel_eval(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec, s3sel_value *out,
               s3sel_error *err);
/* WHERE holds (TRUE) for rec: 1, 0, or -1 with err. */
int s3sel_where(const s3sel_query *q, const s3sel_record *rec, s3sel_error *err);
/* Aggregates: reset, feed one record, then evaluate items (aggregate calls
 * answer their result). */
void s3sel_aggs_reset(s3sel_query *q);
int s3sel_aggs_feed(s3sel_query *q, const s3sel_record *rec, s3sel_error *err);
/* The value as text (numbers as S3 prints them); appended to out. */
int s3sel_value_text(dynbuf *out, const s3sel_value *v);
/* The value as JSON text (strings quoted and escaped) appended to out. */
int s3sel_value_json(dynbuf *out, const s3sel_value *v);
/* A JSON value (from the input) as a value. 0, or -1 out of memory. */
int s3sel_value_from_json(s3sel_value *out, json_t *j);
/* The name a select item answers under in JSON output: its alias, its
 * path's last name, or _N (position, 1-based). Into out. */
void s3sel_item_name(const s3sel_query *q, size_t i, char *out, size_t size);

/* select_value.c: the helpers select_eval.c shares. */
int s3sel_set_str(s3sel_value *v, const char *s, size_t len);
void s3sel_copy(s3sel_value *dst, const s3sel_value *src);
void s3sel_set_dec_ui(s3sel_value *v, long long i);
int s3sel_dec_from_text(s3sel_value *v, const char *s, size_t len);
int s3sel_number_from_text(s3sel_value *v, const char *s, size_t len);
void s3sel_float_text(char *out, size_t size, double d);
int s3sel_is_num(const s3sel_value *v);
const s3sel_value *s3sel_as_number(const s3sel_value *v, s3sel_value *tmp);
double s3sel_to_double(const s3sel_value *v);
void s3sel_dec_div(s3sel_value *out, const s3sel_value *a, const s3sel_value *b);
int s3sel_arith(int op, const s3sel_value *a0, const s3sel_value *b0, s3sel_value *out,
                const s3sel_node *n, s3sel_error *err);
int s3sel_compare(const s3sel_value *a, const s3sel_value *b);
int s3sel_oom(s3sel_error *err);
void s3sel_set_truth(s3sel_value *out, int t);
int s3sel_truth(const s3sel_value *v);

/* select_io.c: the CSV reader's options and one record's fields. */
typedef struct s3sel_csv {
  char fd, qc, qe, comment; /* comment 0: none */
  char rd[3];
  int allow_quoted_rd;
} s3sel_csv;
typedef struct s3sel_fields {
  char *data; /* the fields' bytes, each NUL-terminated */
  size_t used, cap, start;
  size_t *offs, *lens;
  char **ptrs; /* into data, valid after a record is read */
  size_t n, capn;
} s3sel_fields;
void s3sel_fields_free(s3sel_fields *f);
/* The next record of buf from *pos into f (its first byte's offset in
 * *start): 1, 0 at the end, or -1 with err (CSVParsingError, …). */
int s3sel_csv_next(const s3sel_csv *o, const char *buf, size_t len, size_t *pos, s3sel_fields *f,
                   size_t *start, s3sel_error *err);

/* The writer of result records (CSV or JSON lines). */
typedef struct s3sel_out {
  int json, always; /* JSON output; CSV QuoteFields ALWAYS */
  char fd, qc, qe;
  char rd[3];
  size_t count; /* members written in the current JSON record */
} s3sel_out;
void s3sel_out_begin(dynbuf *out, const s3sel_out *o);
/* One value of the current record: index 0, 1, … (CSV) or its name (JSON;
 * MISSING values are left out). 0, or -1 out of memory. */
int s3sel_out_value(dynbuf *out, s3sel_out *o, size_t index, const char *name,
                    const s3sel_value *v);
void s3sel_out_end(dynbuf *out, s3sel_out *o);

#endif
