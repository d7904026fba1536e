/*
 * dynbuf.c — the bounded growable buffer behind the emulator's XML and JSON
 * writers. Growth doubles up to a caller-given limit so a handler bug or a
 * hostile request can never make a serializer allocate without bound.
 */
#include "common/dynbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dynbuf_init(dynbuf *b, size_t limit) {
  memset(b, 0, sizeof(*b));
  b->limit = limit ? limit : (size_t)64 << 20;
}

static int grow(dynbuf *b, size_t extra) {
  if (b->failed)
    return -1;
  if (extra > b->limit || b->len + extra + 1 > b->limit) {
    b->failed = 1;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need)
    cap *= 2;
  if (cap > b->limit)
    cap = b->limit;
  char *data = realloc(b->data, cap);
  if (!data) {
    b->failed = 1;
    return -1;
  }
  b->data = data;
  b->cap = cap;
  return 0;
}

void dynbuf_append(dynbuf *b, const char *s, size_t n) {
  if (grow(b, n) < 0)
    return;
  if (n)
    memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void dynbuf_puts(dynbuf *b, const char *s) { dynbuf_append(b, s, strlen(s)); }

void dynbuf_printf(dynbuf *b, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if ((size_t)n < sizeof(small)) {
    dynbuf_append(b, small, (size_t)n);
    return;
  }
  if (grow(b, (size_t)n) < 0)
    return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void dynbuf_xml(dynbuf *b, const char *s, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *rep = NULL;
    switch (c) {
    case '&': rep = "&amp;"; break;
    case '<': rep = "&lt;"; break;
    case '>': rep = "&gt;"; break;
    case '"': rep = "&quot;"; break;
    case '\'': rep = "&apos;"; break;
    case '\r': rep = "&#xD;"; break;
    default:
      if (c < 0x20 && c != '\n' && c != '\t') {
        /* Not representable in XML 1.0, not even as a character reference
         * (parsers refuse &#x1;): sent as U+FFFD so the document still parses.
         * AWS refuses such characters on input in the first place. */
        rep = "\xEF\xBF\xBD";
      }
    }
    if (rep) {
      dynbuf_append(b, s + start, i - start);
      dynbuf_puts(b, rep);
      start = i + 1;
    }
  }
  dynbuf_append(b, s + start, n - start);
}

int dynbuf_failed(const dynbuf *b) { return b->failed; }

char *dynbuf_take(dynbuf *b, size_t *len) {
  if (b->failed) {
    dynbuf_free(b);
    return NULL;
  }
  char *data = b->data;
  size_t n = b->len;
  if (!data) {
    data = calloc(1, 1);
    n = 0;
  }
  size_t limit = b->limit;
  dynbuf_init(b, limit);
  if (len)
    *len = n;
  return data;
}

void dynbuf_free(dynbuf *b) {
  free(b->data);
  size_t limit = b->limit;
  dynbuf_init(b, limit);
}
