/*
 * docker_logs.c — container logs (see docker.h).
 *
 * Logs of a container without a TTY arrive multiplexed: frames of an 8-byte
 * header (stream byte, three zero bytes, big-endian 32-bit length) and that
 * many payload bytes. The demultiplexer here is a small state machine fed with
 * whatever chunks curl delivers, so frames of any size stream through without
 * being buffered.
 */
#include "common/docker.h"
#include "common/docker_int.h"
#include "common/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- logs ---- */

/* The streamed body of a response is handed over before its status can be
 * looked at, so until the first frame header proves the body is a framed
 * stream, and after an impossible header, the bytes are also kept (bounded):
 * when the status turns out to be an error, they are the engine's message. */
#define DEMUX_KEEP_MAX 4096

typedef struct demux {
  docker_log_fn fn;
  void *payload;
  int raw; /* TTY: the stream is not framed */
  unsigned char header[8];
  size_t header_len;
  uint32_t remaining; /* payload bytes left in the current frame */
  int stream;
  int framed;  /* a valid frame header arrived */
  int invalid; /* an impossible frame header arrived */
  char sample[64];
  char kept[DEMUX_KEEP_MAX + 1];
  size_t kept_len;
} demux;

static void demux_keep(demux *d, const char *data, size_t len) {
  size_t room = DEMUX_KEEP_MAX - d->kept_len;
  if (len > room)
    len = room;
  memcpy(d->kept + d->kept_len, data, len);
  d->kept_len += len;
  d->kept[d->kept_len] = '\0';
}

static int demux_feed(const char *data, size_t len, void *payload) {
  demux *d = payload;
  if (d->raw)
    return d->fn(DOCKER_STREAM_STDOUT, data, len, d->payload);
  if (!d->framed || d->invalid)
    demux_keep(d, data, len);
  /* Not a frame stream: read on only while it may be an error body. */
  if (d->invalid)
    return d->kept_len >= DEMUX_KEEP_MAX;
  while (len > 0) {
    if (d->remaining == 0) {
      size_t take = sizeof(d->header) - d->header_len;
      if (take > len)
        take = len;
      memcpy(d->header + d->header_len, data, take);
      d->header_len += take;
      data += take;
      len -= take;
      if (d->header_len < sizeof(d->header))
        return 0;
      d->header_len = 0;
      unsigned char s = d->header[0];
      if (s > 2 || d->header[1] || d->header[2] || d->header[3]) {
        d->invalid = 1;
        snprintf(d->sample, sizeof(d->sample), "%.8s", (const char *)d->header);
        return d->framed || d->kept_len >= DEMUX_KEEP_MAX;
      }
      d->framed = 1;
      d->stream = s == 2 ? DOCKER_STREAM_STDERR : DOCKER_STREAM_STDOUT;
      d->remaining = (uint32_t)d->header[4] << 24 | (uint32_t)d->header[5] << 16 |
                     (uint32_t)d->header[6] << 8 | (uint32_t)d->header[7];
      continue;
    }
    size_t take = len < d->remaining ? len : d->remaining;
    if (d->fn(d->stream, data, take, d->payload) != 0)
      return 1;
    d->remaining -= (uint32_t)take;
    data += take;
    len -= take;
  }
  return 0;
}

int docker_container_logs(docker_client *client, const char *id, const docker_logs_options *options,
                          docker_log_fn fn, void *payload) {
  docker_logs_options none = {0};
  const docker_logs_options *o = options ? options : &none;
  json_t *info = NULL;
  int error = docker_container_inspect(&info, client, id);
  if (error < 0)
    return error;
  demux d = {.fn = fn,
             .payload = payload,
             .raw = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"))};
  json_decref(info);

  char path[DOCKER_REF_MAX + 128];
  snprintf(path, sizeof(path),
           "/containers/%s/logs?stdout=1&stderr=1&follow=%d&timestamps=%d&since=%ld", id,
           o->follow ? 1 : 0, o->timestamps ? 1 : 0, o->since > 0 ? o->since : 0L);
  docker_call call = {.method = "GET",
                      .path = path,
                      .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0,
                      .on_data = demux_feed,
                      .payload = &d};
  http_client_response resp = {0};
  error = docker_call_raw(&resp, client, &call, 1);
  if (error == AIRGAP_ECANCELED && d.invalid)
    return airgap_error_set(AIRGAP_EINVALID,
                            "docker: logs of %s: the engine sent a malformed stream frame "
                            "(header bytes '%s')",
                            id, d.sample);
  if (error < 0)
    return error;
  if (resp.status != 200) {
    /* The body was an error message, not frames (see demux). */
    if (!d.raw && !d.framed) {
      resp.body = d.kept;
      resp.body_len = d.kept_len;
    }
    error = docker_engine_error(&resp, resp.status == 404 ? AIRGAP_ENOTFOUND : AIRGAP_ERROR, "GET",
                                path);
    resp.body = NULL;
  } else if (d.invalid) {
    error = airgap_error_set(AIRGAP_EINVALID,
                             "docker: logs of %s: the engine sent a malformed stream frame "
                             "(header bytes '%s')",
                             id, d.sample);
  } else if (!d.raw && (d.header_len || d.remaining)) {
    error = airgap_error_set(AIRGAP_EINVALID, "docker: logs of %s: the stream ended mid-frame", id);
  }
  http_client_response_free(&resp);
  return error;
}
