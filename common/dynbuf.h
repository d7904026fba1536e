/*
 * dynbuf.h — growable byte buffer with a hard size limit (curl's dynbuf
 * idea), used by the emulator's serializers and anything else that builds text from untrusted
 * parts. Appending past the limit fails and leaves the buffer marked as failed; every later append
 * is a no-op, so callers check once at the end with dynbuf_failed().
 */
#ifndef AIRGAP_COMMON_DYNBUF_H
#define AIRGAP_COMMON_DYNBUF_H

#include <stddef.h>

typedef struct dynbuf {
  char *data; /* NUL-terminated when non-NULL; owned */
  size_t len;
  size_t cap;
  size_t limit;
  int failed;
} dynbuf;

void dynbuf_init(dynbuf *b, size_t limit);
void dynbuf_append(dynbuf *b, const char *s, size_t n);
void dynbuf_puts(dynbuf *b, const char *s);
void dynbuf_printf(dynbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the five XML special characters (and control characters) escaped. */
void dynbuf_xml(dynbuf *b, const char *s, size_t n);
int dynbuf_failed(const dynbuf *b);
/* Hands the data over (owned; free()); the buffer is reset. Returns NULL when
 * failed (and frees what was there). An empty buffer gives "". */
char *dynbuf_take(dynbuf *b, size_t *len);
void dynbuf_free(dynbuf *b);

#endif
