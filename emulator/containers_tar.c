/*
 * containers_tar.c — the emulator's one tar writer (containers.h): the
 * format the Engine API takes for a container's files (Lambda code, layers)
 * and for an imported image (the Lambda sandbox's pause program).
 *
 * ustar headers, with a pax extended header before an entry whose name or
 * link target does not fit ustar's 100 bytes. Written here rather than with
 * libarchive because the slim `airgap` executable must not load it. The
 * archive grows in a dynbuf, whose limit bounds it: a write past the limit
 * marks the buffer failed and the caller reports it.
 */
#include "emulator/containers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void octal(char *field, size_t width, unsigned long long v) {
  snprintf(field, width, "%0*llo", (int)(width - 1), v);
}

static void tar_header(dynbuf *b, const char *name, char type, unsigned mode,
                       unsigned long long size, const char *link) {
  char h[512];
  memset(h, 0, sizeof(h));
  size_t n = strlen(name);
  /* A longer name went into a pax header already; any cut is fine here. */
  memcpy(h, n <= 100 ? name : name + n - 100, n <= 100 ? n : 100);
  octal(h + 100, 8, mode & 07777);
  octal(h + 108, 8, 0);
  octal(h + 116, 8, 0);
  octal(h + 124, 12, size);
  octal(h + 136, 12, 0);
  memset(h + 148, ' ', 8);
  h[156] = type;
  if (link)
    memcpy(h + 157, link, strlen(link) > 100 ? 100 : strlen(link));
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memcpy(h + 265, "root", 4);
  memcpy(h + 297, "root", 4);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof(h); i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  dynbuf_append(b, h, sizeof(h));
}

static void tar_pad(dynbuf *b, unsigned long long size) {
  static const char zeros[512];
  if (size % 512)
    dynbuf_append(b, zeros, 512 - size % 512);
}

/* One pax record "<len> key=value\n", where len counts the whole record. */
static void pax_record(dynbuf *rec, const char *key, const char *value) {
  size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
  size_t len = body + 1;
  char digits[24];
  for (;;) {
    int d = snprintf(digits, sizeof(digits), "%zu", len);
    if (body + (size_t)d == len)
      break;
    len = body + (size_t)d;
  }
  dynbuf_printf(rec, "%zu %s=%s\n", len, key, value);
}

void emulator_containers_tar_entry(dynbuf *b, const char *name, char type, unsigned mode,
                                   const void *data, size_t size, const char *link) {
  if (strlen(name) > 100 || (link && strlen(link) > 100)) {
    dynbuf rec;
    dynbuf_init(&rec, 64 * 1024);
    if (strlen(name) > 100)
      pax_record(&rec, "path", name);
    if (link && strlen(link) > 100)
      pax_record(&rec, "linkpath", link);
    size_t rlen = 0;
    char *r = dynbuf_take(&rec, &rlen);
    if (!r) {
      b->failed = 1;
      return;
    }
    tar_header(b, "pax", 'x', 0644, rlen, NULL);
    dynbuf_append(b, r, rlen);
    tar_pad(b, rlen);
    free(r);
  }
  tar_header(b, name, type, mode, size, link);
  if (size) {
    dynbuf_append(b, data, size);
    tar_pad(b, size);
  }
}

void emulator_containers_tar_end(dynbuf *b) {
  static const char end[1024];
  dynbuf_append(b, end, sizeof(end));
}
