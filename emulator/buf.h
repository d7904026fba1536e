/*
 * buf.h — private growable byte buffer with a hard size limit (curl's dynbuf
 * idea), used by the emulator's serializers. Appending past the limit fails and
 * leaves the buffer marked as failed; every later append is a no-op, so callers
 * check once at the end with emu_buf_failed().
 */
#ifndef AIRGAP_EMULATOR_BUF_H
#define AIRGAP_EMULATOR_BUF_H

#include <stddef.h>

typedef struct emu_buf {
  char *data; /* NUL-terminated when non-NULL; owned */
  size_t len;
  size_t cap;
  size_t limit;
  int failed;
} emu_buf;

void emu_buf_init(emu_buf *b, size_t limit);
void emu_buf_append(emu_buf *b, const char *s, size_t n);
void emu_buf_puts(emu_buf *b, const char *s);
void emu_buf_printf(emu_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the five XML special characters (and control characters) escaped. */
void emu_buf_xml(emu_buf *b, const char *s, size_t n);
int emu_buf_failed(const emu_buf *b);
/* Hands the data over (owned; free()); the buffer is reset. Returns NULL when
 * failed (and frees what was there). An empty buffer gives "". */
char *emu_buf_take(emu_buf *b, size_t *len);
void emu_buf_free(emu_buf *b);

#endif
