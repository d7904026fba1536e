/*
 * event_stream.h — AWS's event stream framing (`application/vnd.amazon.eventstream`),
 * the binary messages that streaming operations answer with: S3 SelectObjectContent,
 * Lambda InvokeWithResponseStream, Kinesis SubscribeToShard.
 *
 * One message: a prelude (total length and headers length, both 32-bit big-endian,
 * then the CRC32 of those 8 bytes), the headers, the payload, and the CRC32 of
 * everything before it. A header is a 1-byte name length, the name, a 1-byte value
 * type and the value. The encoder writes string headers only (type 7), which is
 * all the responses above use; the decoder reads every type, for tests and for
 * clients that send event streams.
 */
#ifndef AIRGAP_EMULATOR_EVENT_STREAM_H
#define AIRGAP_EMULATOR_EVENT_STREAM_H

#include "common/dynbuf.h"

#include <stddef.h>
#include <stdint.h>

/* AWS's limits: a message of at most 16 MiB, headers of at most 128 KiB. */
#define EVENT_STREAM_MAX_MESSAGE (16u * 1024 * 1024)
#define EVENT_STREAM_MAX_HEADERS (128u * 1024)
/* Prelude (12 bytes) plus the trailing CRC (4): the size of an empty message. */
#define EVENT_STREAM_OVERHEAD 16u
/* How many headers the decoder keeps; a message with more is refused. */
#define EVENT_STREAM_MAX_HEADER_COUNT 32

/* Header value types, as numbered on the wire. */
typedef enum event_stream_type {
  EVENT_STREAM_BOOL_TRUE = 0,
  EVENT_STREAM_BOOL_FALSE = 1,
  EVENT_STREAM_BYTE = 2,
  EVENT_STREAM_SHORT = 3,
  EVENT_STREAM_INT = 4,
  EVENT_STREAM_LONG = 5,
  EVENT_STREAM_BYTES = 6,
  EVENT_STREAM_STRING = 7,
  EVENT_STREAM_TIMESTAMP = 8,
  EVENT_STREAM_UUID = 9,
} event_stream_type;

/* A string header to encode. Both strings are borrowed; names are at most 255 bytes,
 * values at most 32,767. */
typedef struct event_stream_header {
  const char *name;
  const char *value;
} event_stream_header;

/* Appends one message. Returns 0, or AIRGAP_ETOOBIG (a header or the message passes a
 * limit above) or AIRGAP_EINVALID (a NULL or empty name) with nothing appended; a
 * dynbuf that fails to grow is reported by dynbuf_failed() as usual. */
int event_stream_message_append(dynbuf *out, const event_stream_header *headers, size_t count,
                                const void *payload, size_t len);

/* A `:message-type: event` message with `:event-type` and, when content_type is not
 * NULL, `:content-type` (e.g. "application/octet-stream", "text/xml"). */
int event_stream_event_append(dynbuf *out, const char *event_type, const char *content_type,
                              const void *payload, size_t len);

/* A modeled error: `:message-type: exception` with `:exception-type` (the error shape's
 * name) and `:content-type`; the payload is the error's serialized members. */
int event_stream_exception_append(dynbuf *out, const char *exception_type, const char *content_type,
                                  const void *payload, size_t len);

/* An unmodeled error that ends a stream: `:message-type: error` with `:error-code` and
 * `:error-message`, no payload. */
int event_stream_error_append(dynbuf *out, const char *error_code, const char *error_message);

/* One decoded header. name and bytes point into the decoded buffer (borrowed);
 * name is not NUL-terminated. For numbers and timestamps (milliseconds) the value is in
 * number, for booleans in number (1/0), for bytes, strings and UUIDs in bytes/len. */
typedef struct event_stream_decoded_header {
  const char *name;
  size_t name_len;
  event_stream_type type;
  int64_t number;
  const unsigned char *bytes;
  size_t len;
} event_stream_decoded_header;

typedef struct event_stream_message {
  event_stream_decoded_header headers[EVENT_STREAM_MAX_HEADER_COUNT];
  size_t header_count;
  const unsigned char *payload; /* borrowed, into the decoded buffer */
  size_t payload_len;
  size_t total_len; /* bytes of the buffer this message took */
} event_stream_message;

/* Decodes the message at the start of data. Returns 0 and fills *out; AIRGAP_EBUSY
 * when data holds only part of a message (read more and call again; *out untouched);
 * AIRGAP_EINVALID for a malformed message (lengths, CRCs, header types, limits), with
 * the reason in airgap_error_last(). */
int event_stream_message_decode(event_stream_message *out, const void *data, size_t len);

/* The value of the string header called name, NUL-terminated into buf (truncated to
 * bufsize - 1), or NULL when the message has no such string header. */
const char *event_stream_header_string(const event_stream_message *msg, const char *name, char *buf,
                                       size_t bufsize);

#endif
