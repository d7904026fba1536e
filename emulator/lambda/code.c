/*
 * code.c — deployment packages: a zip is opened with libzip, every entry
 * checked, and the files rewritten as a tar archive (ustar, with a pax
 * header for names beyond ustar's fields, containers.h's writer) that the
 * Docker archive API extracts into /var/task.
 *
 * Hostile packages get AWS's InvalidParameterValueException and change
 * nothing: an archive libzip cannot read, an entry whose path is absolute or
 * climbs out with "..", a symlink whose target leaves the package, a name
 * given twice, an entry whose data does not match its declared size, more
 * than LAMBDA_MAX_ENTRIES entries, or more than LAMBDA_MAX_UNZIPPED bytes
 * unzipped (counted from what is actually inflated, so a lying header cannot
 * pass a bomb). Unix modes recorded in the zip are kept.
 */
#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "common/fs.h"
#include "emulator/containers.h"
#include "emulator/lambda/lambda_int.h"
#include "emulator/s3/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BAD_ZIP "Could not unzip uploaded file. Please check your file, then try to upload again."
#define TAR_OVERHEAD (64u * 1024 * 1024)

/* ---- checks ---- */

/* A relative path without empty, "." or ".." components (after dropping one
 * leading "./" and a trailing '/'). Returns its depth (components) or -1. */
static int path_depth(const char *p) {
  if (!*p || *p == '/' || strchr(p, '\\'))
    return -1;
  int depth = 0;
  const char *s = p;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
      return -1;
    depth++;
    if (!e)
      break;
    s = e + 1;
  }
  return depth;
}

/* A symlink at entry (depth components, the last being the link itself)
 * whose target stays inside the package. */
static int link_inside(int depth, const char *target) {
  if (!*target || *target == '/')
    return 0;
  int level = depth - 1; /* the link's directory */
  const char *s = target;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 2 && s[0] == '.' && s[1] == '.') {
      if (--level < 0)
        return 0;
    } else if (n > 0 && !(n == 1 && s[0] == '.')) {
      level++;
    }
    if (!e)
      break;
    s = e + 1;
  }
  return 1;
}

int lambda_zip_to_tar(char **tar, size_t *tar_len, const void *data, size_t len,
                      const char *prefix) {
  const lambda_zip_api *z = lambda_zip();
  if (!z)
    return AIRGAP_ERROR;
  zip_error_t ze;
  z->error_init(&ze);
  zip_t *za = NULL;
  json_t *seen = json_object();
  char *buf = NULL;
  int error = 0;
  dynbuf b;
  dynbuf_init(&b, LAMBDA_MAX_UNZIPPED + TAR_OVERHEAD);
  zip_source_t *src = len ? z->source_buffer_create(data, len, 0, &ze) : NULL;
  if (!src || !seen || !(za = z->open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze))) {
    z->source_free(src);
    error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
    goto cleanup;
  }
  zip_int64_t count = z->get_num_entries(za, 0);
  if (count < 0 || (zip_uint64_t)count > LAMBDA_MAX_ENTRIES) {
    error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
    goto cleanup;
  }
  unsigned long long total = 0;
  for (zip_int64_t i = 0; i < count; i++) {
    zip_stat_t sb;
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (z->stat_index(za, (zip_uint64_t)i, 0, &sb) < 0 || !(sb.valid & ZIP_STAT_NAME) ||
        !(sb.valid & ZIP_STAT_SIZE) ||
        z->file_get_external_attributes(za, (zip_uint64_t)i, 0, &opsys, &attr) < 0) {
      error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
      goto cleanup;
    }
    char name[4096];
    const char *raw = sb.name;
    if (strncmp(raw, "./", 2) == 0)
      raw += 2;
    size_t n = strlen(raw);
    if (n == 0 && sb.name[0] == '.')
      continue; /* "./" itself */
    if (n >= sizeof(name)) {
      error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
      goto cleanup;
    }
    memcpy(name, raw, n + 1);
    int is_dir = n > 0 && name[n - 1] == '/';
    if (is_dir)
      name[--n] = '\0';
    int depth = path_depth(name);
    if (depth < 0) {
      error = airgap_error_set(AIRGAP_EINVALID,
                               "The deployment package contains an entry with an unsafe path: "
                               "%.200s. " BAD_ZIP,
                               sb.name);
      goto cleanup;
    }
    if (json_object_get(seen, name)) {
      error = airgap_error_set(AIRGAP_EINVALID,
                               "The deployment package contains %.200s twice. " BAD_ZIP, name);
      goto cleanup;
    }
    json_object_set_new(seen, name, json_true());
    unsigned mode = opsys == ZIP_OPSYS_UNIX ? (attr >> 16) & 0xFFFF : 0;
    int is_link = (mode & S_IFMT) == S_IFLNK;
    if ((mode & S_IFMT) == S_IFDIR)
      is_dir = 1;
    unsigned perm = mode & 07777;
    char full[4200];
    snprintf(full, sizeof(full), "%s%s", prefix ? prefix : "", name);
    if (is_dir) {
      emulator_containers_tar_entry(&b, full, '5', perm ? perm : 0755, NULL, 0, NULL);
      continue;
    }
    if (sb.size > LAMBDA_MAX_UNZIPPED || total + sb.size > LAMBDA_MAX_UNZIPPED) {
      error = airgap_error_set(AIRGAP_ETOOBIG, "Unzipped size must be smaller than %llu bytes",
                               LAMBDA_MAX_UNZIPPED);
      goto cleanup;
    }
    /* Inflate one byte more than declared: a stream longer than its header
     * says is refused, not truncated. */
    free(buf);
    buf = malloc(sb.size + 1);
    zip_file_t *zf = buf ? z->fopen_index(za, (zip_uint64_t)i, 0) : NULL;
    if (!zf) {
      error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
      goto cleanup;
    }
    zip_uint64_t got = 0;
    for (;;) {
      zip_int64_t r = z->fread(zf, buf + got, sb.size + 1 - got);
      if (r <= 0) {
        if (r < 0)
          got = sb.size + 1; /* a read error counts as a mismatch */
        break;
      }
      got += (zip_uint64_t)r;
      if (got > sb.size)
        break;
    }
    z->fclose(zf);
    if (got != sb.size) {
      error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
      goto cleanup;
    }
    total += got;
    if (is_link) {
      char target[4096];
      if (got == 0 || got >= sizeof(target) || memchr(buf, '\0', got)) {
        error = airgap_error_set(AIRGAP_EINVALID, BAD_ZIP);
        goto cleanup;
      }
      memcpy(target, buf, got);
      target[got] = '\0';
      if (!link_inside(depth, target)) {
        error = airgap_error_set(AIRGAP_EINVALID,
                                 "The deployment package contains a symbolic link that points "
                                 "outside it: %.200s -> %.200s. " BAD_ZIP,
                                 name, target);
        goto cleanup;
      }
      emulator_containers_tar_entry(&b, full, '2', 0777, NULL, 0, target);
    } else {
      emulator_containers_tar_entry(&b, full, '0', perm ? perm : 0644, buf, got, NULL);
    }
  }
  emulator_containers_tar_end(&b);
  if (dynbuf_failed(&b)) {
    error = airgap_error_set(AIRGAP_ETOOBIG, "Unzipped size must be smaller than %llu bytes",
                             LAMBDA_MAX_UNZIPPED);
    goto cleanup;
  }
  *tar = dynbuf_take(&b, tar_len);
  if (!*tar)
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
cleanup:
  if (za)
    z->discard(za);
  z->error_fini(&ze);
  json_decref(seen);
  free(buf);
  dynbuf_free(&b);
  return error;
}

/* ---- storage ---- */

static int write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot create %s", path);
  int error = fs_write_all(fd, data, len);
  if (close(fd) < 0 && error == 0)
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", path);
  return error;
}

int lambda_code_store(json_t **out, lambda_state *st, const void *zip, size_t len,
                      const char *prefix) {
  char *tar = NULL;
  size_t tar_len = 0;
  int error = lambda_zip_to_tar(&tar, &tar_len, zip, len, prefix);
  if (error < 0)
    return error;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned dlen = 0;
  EVP_Digest(zip, len, digest, &dlen, EVP_sha256(), NULL);
  char *sha = codec_base64_encode(digest, dlen);
  uint64_t seq = __atomic_add_fetch(&st->code_seq, 1, __ATOMIC_RELAXED);
  char dir[4096], path[4200];
  snprintf(dir, sizeof(dir), "%s/%llu", st->code_root, (unsigned long long)seq);
  if (!sha)
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
  if (error == 0)
    error = fs_mkdir_p(dir, 0700);
  if (error == 0) {
    snprintf(path, sizeof(path), "%s/code.zip", dir);
    error = write_file(path, zip, len);
  }
  if (error == 0) {
    snprintf(path, sizeof(path), "%s/code.tar", dir);
    error = write_file(path, tar, tar_len);
  }
  if (error == 0) {
    *out = json_pack("{s:s, s:s, s:I}", "Dir", dir, "Sha", sha, "Size", (json_int_t)len);
    if (!*out)
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  if (error < 0) {
    json_t *tmp = json_pack("{s:s}", "Dir", dir);
    lambda_code_remove(tmp);
    json_decref(tmp);
  }
  free(tar);
  free(sha);
  return error;
}

/* Reads one stored tar, at most limit bytes. */
static int read_one(char **out, size_t *len, const json_t *code, size_t limit) {
  const char *dir = json_string_value(json_object_get(code, "Dir"));
  if (!dir)
    return airgap_error_set(AIRGAP_ENOTFOUND, "the function has no code package");
  char path[4200];
  snprintf(path, sizeof(path), "%s/code.tar", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) < 0) {
    if (fd >= 0)
      close(fd);
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot read %s", path);
  }
  if ((unsigned long long)sb.st_size > limit || sb.st_size < 1024) {
    close(fd);
    return airgap_error_set(AIRGAP_ETOOBIG,
                            "the unzipped code and layers are larger than the %u bytes airgap "
                            "can copy into a container",
                            EMULATOR_CONTAINERS_MAX_CODE);
  }
  char *data = malloc((size_t)sb.st_size + 1);
  size_t got = 0;
  while (data && got < (size_t)sb.st_size) {
    ssize_t r = read(fd, data + got, (size_t)sb.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (!data || got != (size_t)sb.st_size) {
    free(data);
    return airgap_error_set(AIRGAP_ERROR, "cannot read %s", path);
  }
  *out = data;
  *len = got;
  return 0;
}

int lambda_code_read_tar(char **out, size_t *len, const json_t *code) {
  /* Layers first (into /opt, in order, later ones winning), then the
   * function's own code (/var/task): one archive, the end blocks of all but
   * the last dropped. */
  dynbuf b;
  dynbuf_init(&b, EMULATOR_CONTAINERS_MAX_CODE);
  json_t *layers = json_object_get(code, "Layers");
  size_t n = json_array_size(layers);
  int error = 0;
  for (size_t i = 0; i <= n && error == 0; i++) {
    const json_t *part = i < n ? json_array_get(layers, i) : code;
    char *tar = NULL;
    size_t tlen = 0;
    error = read_one(&tar, &tlen, part, EMULATOR_CONTAINERS_MAX_CODE - b.len);
    if (error == 0)
      dynbuf_append(&b, tar, i < n ? tlen - 1024 : tlen);
    free(tar);
  }
  if (error == 0 && dynbuf_failed(&b))
    error = airgap_error_set(AIRGAP_ETOOBIG,
                             "the unzipped code and layers are larger than the %u bytes airgap "
                             "can copy into a container",
                             EMULATOR_CONTAINERS_MAX_CODE);
  if (error < 0) {
    dynbuf_free(&b);
    return error;
  }
  *out = dynbuf_take(&b, len);
  return *out ? 0 : airgap_error_set(AIRGAP_ERROR, "out of memory");
}

void lambda_code_remove(const json_t *code) {
  const char *dir = json_string_value(json_object_get(code, "Dir"));
  if (!dir)
    return;
  char path[4200];
  snprintf(path, sizeof(path), "%s/code.zip", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/code.tar", dir);
  unlink(path);
  rmdir(dir);
}

int lambda_code_from_input(json_t **out, lambda_state *st, aws_call *call, const json_t *code,
                           const char *package_type) {
  const char *zip64 = json_string_value(json_object_get(code, "ZipFile"));
  const char *image = json_string_value(json_object_get(code, "ImageUri"));
  const char *bucket = json_string_value(json_object_get(code, "S3Bucket"));
  int image_type = package_type && strcmp(package_type, "Image") == 0;
  if (image_type) {
    if (!image || zip64 || bucket) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Please provide ImageUri when creating a function with package type Image.");
      return -1;
    }
    *out = json_pack("{s:s, s:s, s:I}", "Image", image, "Sha", "", "Size", (json_int_t)0);
    if (*out) {
      /* AWS gives an image function the digest of its image; the URI's own
       * digest is what we know without Docker. */
      unsigned char d[EVP_MAX_MD_SIZE];
      unsigned dn = 0;
      char hex[2 * EVP_MAX_MD_SIZE + 1];
      EVP_Digest(image, strlen(image), d, &dn, EVP_sha256(), NULL);
      codec_hex_encode(hex, d, dn);
      json_object_set_new(*out, "Sha", json_string(hex));
    }
    return *out ? 0 : -1;
  }
  if (image) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Please don't provide ImageUri when updating a function with packageType Zip.");
    return -1;
  }
  const char *s3_key = json_string_value(json_object_get(code, "S3Key"));
  const char *s3_version = json_string_value(json_object_get(code, "S3ObjectVersion"));
  if (zip64 && (bucket || s3_key || s3_version)) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Please do not provide other FunctionCode parameters when providing a ZipFile.");
    return -1;
  }
  if (!zip64 && (!bucket || !s3_key)) {
    aws_call_fail(call, 400, "InvalidParameterValueException",
                  "Please provide a source for function code.");
    return -1;
  }
  unsigned char *zip = NULL;
  size_t len = 0;
  if (!zip64) {
    /* From the emulator's own S3, as Lambda reads it (up to the unzipped
     * limit: a package from S3 is not bound by the 50 MB upload limit). */
    char *data = NULL;
    const char *s3_code = NULL;
    int rc = s3_object_read(&data, &len, aws_call_emulator(call), bucket, s3_key, s3_version,
                            LAMBDA_MAX_UNZIPPED, &s3_code);
    if (rc == AIRGAP_ETOOBIG) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Unzipped size must be smaller than %llu bytes", LAMBDA_MAX_UNZIPPED);
      return -1;
    }
    if (rc < 0) {
      aws_call_fail(call, 400, "InvalidParameterValueException",
                    "Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s",
                    s3_code ? s3_code : "InternalError", airgap_error_last());
      return -1;
    }
    zip = (unsigned char *)data;
  } else {
    if (codec_base64_decode(&zip, &len, zip64, strlen(zip64)) < 0) {
      aws_call_fail(call, 400, "InvalidParameterValueException", BAD_ZIP);
      return -1;
    }
    if (len > LAMBDA_MAX_ZIP) {
      free(zip);
      aws_call_fail(call, 413, "RequestEntityTooLargeException",
                    "Request must be smaller than %u bytes for the %s operation",
                    LAMBDA_MAX_ZIP + LAMBDA_MAX_ZIP / 3, aws_call_operation(call));
      return -1;
    }
  }
  int error = lambda_code_store(
      out, st, zip, len, package_type && strcmp(package_type, "Layer") == 0 ? "opt/" : "var/task/");
  free(zip);
  if (error == AIRGAP_EINVALID || error == AIRGAP_ETOOBIG) {
    aws_call_fail(call, 400, "InvalidParameterValueException", "%s", airgap_error_last());
    return -1;
  }
  if (error < 0) {
    aws_call_fail(call, 500, "ServiceException", "%s", airgap_error_last());
    return -1;
  }
  return 0;
}
