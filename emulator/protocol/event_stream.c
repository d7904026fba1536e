/*
 * event_stream.c — encoding and decoding of AWS's event stream messages (see
 * event_stream.h for the layout).
 *
 * The encoder sizes the message first and checks AWS's limits before it appends a
 * byte, so a refused message leaves the buffer as it was. The decoder trusts
 * nothing: it checks the prelude CRC before it believes the lengths, the message
 * CRC before it reads the headers, and every header against the end of the
 * header block. CRC32 comes from zlib, as S3's checksums do.
 */
#include "emulator/protocol/event_stream.h"

#include "common/error.h"

#include <string.h>
#include <zlib.h>

#define STRING_VALUE_MAX 32767u
#define NAME_MAX_LEN 255u

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc(uint32_t start, const unsigned char *p, size_t n) {
  return (uint32_t)crc32(start, p, (uInt)n);
}

int event_stream_message_append(dynbuf *out, const event_stream_header *headers, size_t count,
                                const void *payload, size_t len) {
  size_t headers_len = 0;
  for (size_t i = 0; i < count; i++) {
    if (!headers[i].name || !headers[i].name[0] || !headers[i].value)
      return airgap_error_set(AIRGAP_EINVALID, "event stream header %zu has no name or value", i);
    size_t name_len = strlen(headers[i].name);
    size_t value_len = strlen(headers[i].value);
    if (name_len > NAME_MAX_LEN || value_len > STRING_VALUE_MAX)
      return airgap_error_set(AIRGAP_ETOOBIG, "event stream header %s is too long",
                              headers[i].name);
    headers_len += 1 + name_len + 1 + 2 + value_len;
    if (headers_len > EVENT_STREAM_MAX_HEADERS)
      return airgap_error_set(AIRGAP_ETOOBIG, "event stream headers exceed %u bytes",
                              EVENT_STREAM_MAX_HEADERS);
  }
  if (len > EVENT_STREAM_MAX_MESSAGE - EVENT_STREAM_OVERHEAD - headers_len)
    return airgap_error_set(AIRGAP_ETOOBIG, "event stream message exceeds %u bytes",
                            EVENT_STREAM_MAX_MESSAGE);
  size_t total = EVENT_STREAM_OVERHEAD + headers_len + len;

  size_t start = out->len;
  unsigned char prelude[12];
  put_u32(prelude, (uint32_t)total);
  put_u32(prelude + 4, (uint32_t)headers_len);
  put_u32(prelude + 8, crc(0, prelude, 8));
  uint32_t message_crc = crc(0, prelude, 12);
  dynbuf_append(out, (const char *)prelude, sizeof prelude);
  for (size_t i = 0; i < count; i++) {
    unsigned char name_len = (unsigned char)strlen(headers[i].name);
    size_t value_len = strlen(headers[i].value);
    unsigned char type_and_len[3] = {EVENT_STREAM_STRING, (unsigned char)(value_len >> 8),
                                     (unsigned char)value_len};
    dynbuf_append(out, (const char *)&name_len, 1);
    dynbuf_append(out, headers[i].name, name_len);
    dynbuf_append(out, (const char *)type_and_len, sizeof type_and_len);
    dynbuf_append(out, headers[i].value, value_len);
  }
  if (len)
    dynbuf_append(out, payload, len);
  if (dynbuf_failed(out))
    return airgap_error_set(AIRGAP_ETOOBIG, "event stream output buffer is full");
  message_crc = crc(message_crc, (const unsigned char *)out->data + start + 12, total - 16);
  unsigned char trailer[4];
  put_u32(trailer, message_crc);
  dynbuf_append(out, (const char *)trailer, sizeof trailer);
  return dynbuf_failed(out) ? airgap_error_set(AIRGAP_ETOOBIG, "event stream output buffer is full")
                            : 0;
}

int event_stream_event_append(dynbuf *out, const char *event_type, const char *content_type,
                              const void *payload, size_t len) {
  event_stream_header headers[3] = {{":message-type", "event"}, {":event-type", event_type}};
  size_t count = 2;
  if (content_type)
    headers[count++] = (event_stream_header){":content-type", content_type};
  return event_stream_message_append(out, headers, count, payload, len);
}

int event_stream_exception_append(dynbuf *out, const char *exception_type, const char *content_type,
                                  const void *payload, size_t len) {
  event_stream_header headers[3] = {{":message-type", "exception"},
                                    {":exception-type", exception_type}};
  size_t count = 2;
  if (content_type)
    headers[count++] = (event_stream_header){":content-type", content_type};
  return event_stream_message_append(out, headers, count, payload, len);
}

int event_stream_error_append(dynbuf *out, const char *error_code, const char *error_message) {
  event_stream_header headers[3] = {
      {":message-type", "error"}, {":error-code", error_code}, {":error-message", error_message}};
  return event_stream_message_append(out, headers, 3, NULL, 0);
}

/* Reads one header at *pos of the block [0, end); fills h. */
static int decode_header(event_stream_decoded_header *h, const unsigned char *block, size_t end,
                         size_t *pos) {
  size_t p = *pos;
  size_t name_len = block[p++];
  if (name_len == 0 || name_len + 1 > end - p)
    return airgap_error_set(AIRGAP_EINVALID, "event stream header name overruns the headers");
  memset(h, 0, sizeof *h);
  h->name = (const char *)block + p;
  h->name_len = name_len;
  p += name_len;
  unsigned type = block[p++];
  size_t width = 0;
  switch (type) {
  case EVENT_STREAM_BOOL_TRUE:
  case EVENT_STREAM_BOOL_FALSE: h->number = type == EVENT_STREAM_BOOL_TRUE; break;
  case EVENT_STREAM_BYTE: width = 1; break;
  case EVENT_STREAM_SHORT: width = 2; break;
  case EVENT_STREAM_INT: width = 4; break;
  case EVENT_STREAM_LONG:
  case EVENT_STREAM_TIMESTAMP: width = 8; break;
  case EVENT_STREAM_UUID:
    if (end - p < 16)
      return airgap_error_set(AIRGAP_EINVALID, "event stream UUID header overruns the headers");
    h->bytes = block + p;
    h->len = 16;
    p += 16;
    break;
  case EVENT_STREAM_BYTES:
  case EVENT_STREAM_STRING: {
    if (end - p < 2)
      return airgap_error_set(AIRGAP_EINVALID, "event stream header length overruns the headers");
    size_t value_len = (size_t)block[p] << 8 | block[p + 1];
    p += 2;
    if (value_len > end - p)
      return airgap_error_set(AIRGAP_EINVALID, "event stream header value overruns the headers");
    h->bytes = block + p;
    h->len = value_len;
    p += value_len;
    break;
  }
  default: return airgap_error_set(AIRGAP_EINVALID, "event stream header type %u is unknown", type);
  }
  if (width) {
    if (end - p < width)
      return airgap_error_set(AIRGAP_EINVALID, "event stream number overruns the headers");
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
      v = v << 8 | block[p + i];
    /* Sign-extend the narrower integers, as the wire types are signed. */
    if (width < 8 && (v >> (width * 8 - 1)) & 1)
      v |= ~(uint64_t)0 << (width * 8);
    h->number = (int64_t)v;
    p += width;
  }
  h->type = (event_stream_type)type;
  *pos = p;
  return 0;
}

int event_stream_message_decode(event_stream_message *out, const void *data, size_t len) {
  const unsigned char *p = data;
  if (len < 12)
    return AIRGAP_EBUSY;
  uint32_t total = get_u32(p);
  uint32_t headers_len = get_u32(p + 4);
  if (get_u32(p + 8) != crc(0, p, 8))
    return airgap_error_set(AIRGAP_EINVALID, "event stream prelude CRC does not match");
  if (total < EVENT_STREAM_OVERHEAD || total > EVENT_STREAM_MAX_MESSAGE)
    return airgap_error_set(AIRGAP_EINVALID, "event stream message length %u is out of range",
                            total);
  if (headers_len > EVENT_STREAM_MAX_HEADERS || headers_len > total - EVENT_STREAM_OVERHEAD)
    return airgap_error_set(AIRGAP_EINVALID, "event stream headers length %u is out of range",
                            headers_len);
  if (len < total)
    return AIRGAP_EBUSY;
  if (get_u32(p + total - 4) != crc(0, p, total - 4))
    return airgap_error_set(AIRGAP_EINVALID, "event stream message CRC does not match");

  event_stream_message msg;
  msg.header_count = 0;
  const unsigned char *block = p + 12;
  size_t pos = 0;
  while (pos < headers_len) {
    if (msg.header_count == EVENT_STREAM_MAX_HEADER_COUNT)
      return airgap_error_set(AIRGAP_EINVALID, "event stream message has more than %d headers",
                              EVENT_STREAM_MAX_HEADER_COUNT);
    int rc = decode_header(&msg.headers[msg.header_count], block, headers_len, &pos);
    if (rc < 0)
      return rc;
    msg.header_count++;
  }
  msg.payload = block + headers_len;
  msg.payload_len = total - EVENT_STREAM_OVERHEAD - headers_len;
  msg.total_len = total;
  *out = msg;
  return 0;
}

const char *event_stream_header_string(const event_stream_message *msg, const char *name, char *buf,
                                       size_t bufsize) {
  size_t name_len = strlen(name);
  for (size_t i = 0; i < msg->header_count; i++) {
    const event_stream_decoded_header *h = &msg->headers[i];
    if (h->type != EVENT_STREAM_STRING || h->name_len != name_len ||
        memcmp(h->name, name, name_len) != 0)
      continue;
    if (bufsize == 0)
      return NULL;
    size_t n = h->len < bufsize - 1 ? h->len : bufsize - 1;
    memcpy(buf, h->bytes, n);
    buf[n] = '\0';
    return buf;
  }
  return NULL;
}
