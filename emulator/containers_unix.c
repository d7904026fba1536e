/*
 * containers_unix.c — the unix-socket plumbing of emulator/containers: connect
 * (path or abstract "@name"), write everything, read to the end with a bound,
 * and the channel's create request. Plain libc, so the slim `airgap`
 * executable talks to Docker and to its supervisor without libcurl.
 */
#include "common/codec.h"
#include "common/error.h"
#include "emulator/containers_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int containers_unix_connect(int *out, const char *path, long timeout_ms) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof(addr.sun_path))
    return airgap_error_set(AIRGAP_EINVALID, "unix socket path '%s' is empty or too long", path);
  memcpy(addr.sun_path, path, len);
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  if (path[0] == '@') {
    addr.sun_path[0] = '\0'; /* abstract: no trailing NUL in the name */
    addr_len--;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot make a unix socket");
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&addr, addr_len) < 0) {
    int code = errno == ENOENT || errno == ECONNREFUSED ? AIRGAP_ENOTFOUND : AIRGAP_ERROR;
    close(fd);
    return airgap_error_set_errno(code, "cannot connect to %s", path);
  }
  *out = fd;
  return 0;
}

int containers_write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return airgap_error_set_errno(AIRGAP_ERROR, "cannot send a request");
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int containers_read_all(char **out, size_t *out_len, int fd, size_t limit) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  for (;;) {
    if (len == cap) {
      if (cap >= limit) {
        free(buf);
        return airgap_error_set(AIRGAP_ETOOBIG, "the answer is larger than %zu bytes", limit);
      }
      cap = cap * 2 > limit ? limit : cap * 2;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) {
        free(buf);
        return airgap_error_set(AIRGAP_ERROR, "out of memory");
      }
      buf = bigger;
    }
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      free(buf);
      return airgap_error_set_errno(errno == EAGAIN ? AIRGAP_ETIMEOUT : AIRGAP_ERROR,
                                    "cannot read the answer");
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}

int containers_id_valid(const char *id) {
  size_t len = id ? strlen(id) : 0;
  if (len == 0 || len > 64)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return 1;
}

static json_t *string_array(const char *const *items, size_t count) {
  json_t *array = json_array();
  for (size_t i = 0; array && i < count; i++)
    json_array_append_new(array, json_string(items[i]));
  return array;
}

char *containers_request_encode(const emulator_container_spec *spec) {
  json_t *req =
      json_pack("{s:s, s:s, s:o}", "op", "create", "image", spec->image ? spec->image : "", "env",
                string_array(spec->env, spec->env_count));
  if (!req)
    return NULL;
  if (spec->cmd)
    json_object_set_new(req, "cmd", string_array(spec->cmd, spec->cmd_count));
  if (spec->entrypoint)
    json_object_set_new(req, "entrypoint", string_array(spec->entrypoint, spec->entrypoint_count));
  if (spec->working_dir)
    json_object_set_new(req, "working_dir", json_string(spec->working_dir));
  if (spec->memory > 0)
    json_object_set_new(req, "memory", json_integer(spec->memory));
  if (spec->tmpfs_mb > 0)
    json_object_set_new(req, "tmpfs_mb", json_integer(spec->tmpfs_mb));
  if (spec->code_tar) {
    char *code = codec_base64_encode(spec->code_tar, spec->code_tar_len);
    json_object_set_new(req, "code", code ? json_string(code) : json_null());
    free(code);
    json_object_set_new(req, "code_dir", json_string(spec->code_dir ? spec->code_dir : ""));
  }
  char *text = json_dumps(req, JSON_COMPACT);
  json_decref(req);
  return text;
}
