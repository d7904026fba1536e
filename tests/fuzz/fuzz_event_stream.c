/*
 * fuzz_event_stream.c — fuzz target for the event stream decoder
 * (emulator/protocol/event_stream.c): decodes messages back to back from the
 * input, and re-encodes what decoded with string headers only, checking that
 * the re-encoded message decodes to the same payload.
 */
#include "emulator/protocol/event_stream.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t off = 0;
  while (off < size) {
    event_stream_message m;
    if (event_stream_message_decode(&m, data + off, size - off) != 0)
      break;
    event_stream_header headers[EVENT_STREAM_MAX_HEADER_COUNT];
    char strings[EVENT_STREAM_MAX_HEADER_COUNT][2][64];
    size_t count = 0;
    for (size_t i = 0; i < m.header_count; i++) {
      if (m.headers[i].type != EVENT_STREAM_STRING || m.headers[i].name_len >= 64 ||
          m.headers[i].len >= 64 || memchr(m.headers[i].bytes, 0, m.headers[i].len) ||
          memchr(m.headers[i].name, 0, m.headers[i].name_len))
        continue;
      memcpy(strings[count][0], m.headers[i].name, m.headers[i].name_len);
      strings[count][0][m.headers[i].name_len] = 0;
      memcpy(strings[count][1], m.headers[i].bytes, m.headers[i].len);
      strings[count][1][m.headers[i].len] = 0;
      headers[count] = (event_stream_header){strings[count][0], strings[count][1]};
      count++;
    }
    dynbuf b;
    dynbuf_init(&b, EVENT_STREAM_MAX_MESSAGE + 1024);
    if (event_stream_message_append(&b, headers, count, m.payload, m.payload_len) == 0) {
      event_stream_message again;
      if (event_stream_message_decode(&again, b.data, b.len) != 0 ||
          again.payload_len != m.payload_len || again.header_count != count ||
          memcmp(again.payload, m.payload, m.payload_len) != 0)
        abort();
    }
    dynbuf_free(&b);
    off += m.total_len;
  }
  return 0;
}

/* Seeds: an empty message, an event with a payload, two messages back to back. */
const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"),
    FUZZ_LITERAL("\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"
                 "\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"),
    FUZZ_LITERAL("\x00\x00\x00\x1d\x00\x00\x00\x08\x00\x00\x00\x00\x01\x61\x07\x00\x01\x62"
                 "\x00\x00\x00\x00\x78\x00\x00\x00\x00"),
};
const size_t fuzz_seed_count = sizeof fuzz_seeds / sizeof fuzz_seeds[0];
const char fuzz_target_name[] = "fuzz_event_stream";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("\x00\x01\x07\x08\x09\x10\xff:");
const int fuzz_mutations_per_seed = 4000;
