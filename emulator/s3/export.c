/*
 * export.c — what S3 offers the emulator's other services (s3.h): reading
 * an object's body in process. The metadata is looked up under the lock and
 * the body copied (in memory) or its data file opened there; the file is
 * read after the lock is released (an open descriptor survives a concurrent
 * overwrite, which only unlinks the file).
 */
#include "common/error.h"
#include "emulator/s3/s3.h"
#include "emulator/s3/s3_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int s3_available(emulator *emu) { return emulator_service_state(emu, "s3") != NULL; }

static int fail(const char **code, const char *c, int error, const char *message) {
  if (code)
    *code = c;
  return airgap_error_set(error, "%s", message);
}

int s3_object_read(char **out, size_t *len, emulator *emu, const char *bucket, const char *key,
                   const char *version_id, size_t limit, const char **code) {
  s3_state *st = emulator_service_state(emu, "s3");
  if (!st)
    return fail(code, "NoSuchBucket", AIRGAP_ENOTFOUND, "S3 is not served by this emulator");
  if (!bucket || !key)
    return fail(code, "NoSuchKey", AIRGAP_ENOTFOUND, "The specified key does not exist.");
  s3_lock(st);
  s3_bucket *b = s3_bucket_find(st, bucket);
  if (!b) {
    s3_unlock(st);
    return fail(code, "NoSuchBucket", AIRGAP_ENOTFOUND, "The specified bucket does not exist");
  }
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key, version_id, &marker_only);
  if (!v || v->delete_marker) {
    s3_unlock(st);
    if (version_id && !v)
      return fail(code, "NoSuchVersion", AIRGAP_ENOTFOUND, "The specified version does not exist.");
    return fail(code, "NoSuchKey", AIRGAP_ENOTFOUND, "The specified key does not exist.");
  }
  const char *sc = json_string_value(json_object_get(v->attrs, "StorageClass"));
  if (sc && (strcmp(sc, "GLACIER") == 0 || strcmp(sc, "DEEP_ARCHIVE") == 0) &&
      v->restore_expiry < (double)time(NULL)) {
    s3_unlock(st);
    return fail(code, "InvalidObjectState", AIRGAP_EINVALID,
                "The operation is not valid for the object's storage class");
  }
  if (json_object_get(v->attrs, "SSECustomerAlgorithm")) {
    s3_unlock(st);
    return fail(code, "InvalidRequest", AIRGAP_EINVALID,
                "The object was stored using a form of Server Side Encryption. The correct "
                "parameters must be provided to retrieve the object.");
  }
  uint64_t size = v->size;
  if (size > limit) {
    s3_unlock(st);
    if (code)
      *code = "EntityTooLarge";
    return airgap_error_set(AIRGAP_ETOOBIG, "the object is %llu bytes, more than %zu",
                            (unsigned long long)size, limit);
  }
  char *data = malloc((size_t)size + 1);
  int fd = -1;
  if (data && size) {
    if (v->data)
      memcpy(data, v->data, (size_t)size);
    else
      fd = s3_data_open(st, v->file);
  }
  int in_memory = v->data != NULL || size == 0;
  s3_unlock(st);
  if (!data) {
    if (fd >= 0)
      close(fd);
    return fail(code, "InternalError", AIRGAP_ERROR, "out of memory");
  }
  if (!in_memory) {
    size_t got = 0;
    while (fd >= 0 && got < size) {
      ssize_t r = pread(fd, data + got, (size_t)size - got, (off_t)got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      got += (size_t)r;
    }
    if (fd >= 0)
      close(fd);
    if (got != size) {
      free(data);
      return fail(code, "InternalError", AIRGAP_ERROR, "cannot read the object's data file");
    }
  }
  data[size] = '\0';
  *out = data;
  *len = (size_t)size;
  if (code)
    *code = NULL;
  return 0;
}
