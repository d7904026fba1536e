/*
 * test_event_stream.c — unit tests of the event stream framing
 * (emulator/protocol/event_stream.c): AWS's published empty-message vector, round
 * trips of events, exceptions and errors, every header type the decoder reads,
 * partial input, corrupted CRCs and lengths, and the limits.
 */
#include "common/error.h"
#include "emulator/protocol/event_stream.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

/* From AWS's event stream test suite: a message with no headers and no payload. */
static const unsigned char empty_message[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
                                              0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff};

static void test_event_stream_empty_message_matches_aws_vector(void **state) {
  (void)state;
  dynbuf b;
  dynbuf_init(&b, 1024);
  assert_int_equal(event_stream_message_append(&b, NULL, 0, NULL, 0), 0);
  assert_int_equal(b.len, sizeof empty_message);
  assert_memory_equal(b.data, empty_message, sizeof empty_message);
  event_stream_message m;
  assert_int_equal(event_stream_message_decode(&m, empty_message, sizeof empty_message), 0);
  assert_int_equal(m.header_count, 0);
  assert_int_equal(m.payload_len, 0);
  assert_int_equal(m.total_len, 16);
  dynbuf_free(&b);
}

static void test_event_stream_event_round_trip(void **state) {
  (void)state;
  dynbuf b;
  dynbuf_init(&b, 1 << 20);
  assert_int_equal(event_stream_event_append(&b, "Records", "application/octet-stream", "a,b\n", 4),
                   0);
  assert_int_equal(event_stream_exception_append(&b, "InvalidQuery", "application/json", "{}", 2),
                   0);
  assert_int_equal(event_stream_error_append(&b, "InternalError", "went wrong"), 0);

  char buf[64];
  event_stream_message m;
  size_t off = 0;
  assert_int_equal(event_stream_message_decode(&m, b.data, b.len), 0);
  assert_string_equal(event_stream_header_string(&m, ":message-type", buf, sizeof buf), "event");
  assert_string_equal(event_stream_header_string(&m, ":event-type", buf, sizeof buf), "Records");
  assert_string_equal(event_stream_header_string(&m, ":content-type", buf, sizeof buf),
                      "application/octet-stream");
  assert_int_equal(m.payload_len, 4);
  assert_memory_equal(m.payload, "a,b\n", 4);
  off += m.total_len;

  assert_int_equal(event_stream_message_decode(&m, b.data + off, b.len - off), 0);
  assert_string_equal(event_stream_header_string(&m, ":message-type", buf, sizeof buf),
                      "exception");
  assert_string_equal(event_stream_header_string(&m, ":exception-type", buf, sizeof buf),
                      "InvalidQuery");
  off += m.total_len;

  assert_int_equal(event_stream_message_decode(&m, b.data + off, b.len - off), 0);
  assert_string_equal(event_stream_header_string(&m, ":error-code", buf, sizeof buf),
                      "InternalError");
  assert_string_equal(event_stream_header_string(&m, ":error-message", buf, sizeof buf),
                      "went wrong");
  assert_null(event_stream_header_string(&m, ":event-type", buf, sizeof buf));
  assert_int_equal(m.payload_len, 0);
  off += m.total_len;
  assert_int_equal(off, b.len);
  dynbuf_free(&b);
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Frames hand-written header bytes into a message with valid CRCs. */
static size_t frame(unsigned char *out, const unsigned char *headers, size_t hlen) {
  size_t total = 16 + hlen;
  put32(out, (uint32_t)total);
  put32(out + 4, (uint32_t)hlen);
  put32(out + 8, (uint32_t)crc32(0, out, 8));
  memcpy(out + 12, headers, hlen);
  put32(out + total - 4, (uint32_t)crc32(0, out, (uInt)(total - 4)));
  return total;
}

static void test_event_stream_decodes_every_header_type(void **state) {
  (void)state;
  static const unsigned char headers[] = {
      1,  't', 0,                                      /* true */
      1,  'f', 1,                                      /* false */
      1,  'b', 2,  0xff,                               /* byte -1 */
      1,  's', 3,  0x80, 0x00,                         /* short -32768 */
      1,  'i', 4,  0x00, 0x01, 0x00, 0x00,             /* int 65536 */
      1,  'l', 5,  0,    0,    0,    1,    0, 0, 0, 0, /* long 2^32 */
      1,  'y', 6,  0,    2,    0xde, 0xad,             /* bytes */
      1,  'u', 9,  1,    2,    3,    4,    5, 6, 7, 8,    9,    10,   11,   12,
      13, 14,  15, 16,   1,    'm',  8,    0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* timestamp ms */
  };
  unsigned char msg[256];
  size_t n = frame(msg, headers, sizeof headers);
  event_stream_message m;
  assert_int_equal(event_stream_message_decode(&m, msg, n), 0);
  assert_int_equal(m.header_count, 9);
  assert_int_equal(m.headers[0].number, 1);
  assert_int_equal(m.headers[1].number, 0);
  assert_int_equal(m.headers[2].number, -1);
  assert_int_equal(m.headers[3].number, -32768);
  assert_int_equal(m.headers[4].number, 65536);
  assert_int_equal(m.headers[5].number, 4294967296LL);
  assert_int_equal(m.headers[6].len, 2);
  assert_int_equal(m.headers[6].bytes[0], 0xde);
  assert_int_equal(m.headers[7].type, EVENT_STREAM_UUID);
  assert_int_equal(m.headers[7].bytes[15], 16);
  assert_int_equal(m.headers[8].number, 0x18bcfe56800LL);
}

static void test_event_stream_partial_and_corrupt_input(void **state) {
  (void)state;
  dynbuf b;
  dynbuf_init(&b, 1 << 16);
  assert_int_equal(event_stream_event_append(&b, "Stats", "text/xml", "<Stats/>", 8), 0);
  event_stream_message m;
  for (size_t cut = 0; cut < b.len; cut++)
    assert_int_equal(event_stream_message_decode(&m, b.data, cut), AIRGAP_EBUSY);

  /* Every single flipped bit is caught by one CRC or the other. */
  for (size_t i = 0; i < b.len; i++) {
    b.data[i] ^= 0x10;
    int rc = event_stream_message_decode(&m, b.data, b.len);
    assert_true(rc == AIRGAP_EINVALID || rc == AIRGAP_EBUSY);
    b.data[i] ^= 0x10;
  }
  assert_int_equal(event_stream_message_decode(&m, b.data, b.len), 0);

  /* Valid CRCs around a header that overruns its block, or an unknown type. */
  static const unsigned char overrun[] = {5, 'a', 'b'};
  static const unsigned char bad_type[] = {1, 'a', 42};
  static const unsigned char long_string[] = {1, 'a', 7, 0x10, 0x00, 'x'};
  unsigned char msg[64];
  assert_int_equal(event_stream_message_decode(&m, msg, frame(msg, overrun, sizeof overrun)),
                   AIRGAP_EINVALID);
  assert_int_equal(event_stream_message_decode(&m, msg, frame(msg, bad_type, sizeof bad_type)),
                   AIRGAP_EINVALID);
  assert_int_equal(
      event_stream_message_decode(&m, msg, frame(msg, long_string, sizeof long_string)),
      AIRGAP_EINVALID);
  dynbuf_free(&b);
}

static void test_event_stream_limits(void **state) {
  (void)state;
  dynbuf b;
  dynbuf_init(&b, 64u << 20);
  char *big = calloc(EVENT_STREAM_MAX_MESSAGE, 1);
  assert_non_null(big);
  assert_int_equal(event_stream_event_append(&b, "Records", NULL, big, EVENT_STREAM_MAX_MESSAGE),
                   AIRGAP_ETOOBIG);
  assert_int_equal(b.len, 0);
  char *name = calloc(300, 1);
  assert_non_null(name);
  memset(name, 'n', 299);
  event_stream_header h = {name, "v"};
  assert_int_equal(event_stream_message_append(&b, &h, 1, NULL, 0), AIRGAP_ETOOBIG);
  event_stream_header empty = {"", "v"};
  assert_int_equal(event_stream_message_append(&b, &empty, 1, NULL, 0), AIRGAP_EINVALID);
  assert_int_equal(b.len, 0);
  /* A message just at the limit is accepted. */
  assert_int_equal(event_stream_message_append(&b, NULL, 0, big,
                                               EVENT_STREAM_MAX_MESSAGE - EVENT_STREAM_OVERHEAD),
                   0);
  assert_int_equal(b.len, EVENT_STREAM_MAX_MESSAGE);
  free(name);
  free(big);
  dynbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_stream_empty_message_matches_aws_vector),
      cmocka_unit_test(test_event_stream_event_round_trip),
      cmocka_unit_test(test_event_stream_decodes_every_header_type),
      cmocka_unit_test(test_event_stream_partial_and_corrupt_input),
      cmocka_unit_test(test_event_stream_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
