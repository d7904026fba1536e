/*
 * select_io.c — S3 Select's records in and out: the CSV reader (field and
 * record delimiters, quote and quote-escape characters, comment lines,
 * quoted record delimiters only when AllowQuotedRecordDelimiter is TRUE)
 * and the CSV and JSON writers of result records.
 *
 * The reader works on the whole (decompressed) object in memory and hands
 * out one record at a time with the byte offset where it starts (ScanRange
 * keeps the records that start inside the range). A record is bounded by
 * S3SEL_MAX_RECORD (AWS's maxCharsPerRecord, 1 MB).
 */
#include "emulator/s3/s3_int.h"

#include <stdlib.h>
#include <string.h>

void s3sel_fields_free(s3sel_fields *f) {
  free(f->data);
  free(f->offs);
  free(f->ptrs);
  free(f->lens);
  memset(f, 0, sizeof(*f));
}

static int put_char(s3sel_fields *f, char c) {
  if (f->used + 1 >= f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 1024;
    char *d = realloc(f->data, cap);
    if (!d)
      return -1;
    f->data = d;
    f->cap = cap;
  }
  f->data[f->used++] = c;
  return 0;
}

static int end_field(s3sel_fields *f) {
  if (put_char(f, '\0') < 0)
    return -1;
  if (f->n == f->capn) {
    size_t capn = f->capn ? f->capn * 2 : 16;
    size_t *offs = realloc(f->offs, capn * sizeof(*offs));
    if (!offs)
      return -1;
    f->offs = offs;
    size_t *lens = realloc(f->lens, capn * sizeof(*lens));
    if (!lens)
      return -1;
    f->lens = lens;
    char **ptrs = realloc(f->ptrs, capn * sizeof(*ptrs));
    if (!ptrs)
      return -1;
    f->ptrs = ptrs;
    f->capn = capn;
  }
  f->lens[f->n] = f->used - 1 - f->start;
  f->offs[f->n++] = f->start;
  f->start = f->used;
  return 0;
}

static int at(const char *buf, size_t len, size_t i, const char *s, size_t n) {
  return n && i + n <= len && memcmp(buf + i, s, n) == 0;
}

int s3sel_csv_next(const s3sel_csv *o, const char *buf, size_t len, size_t *pos, s3sel_fields *f,
                   size_t *start, s3sel_error *err) {
  size_t rdl = strlen(o->rd);
  for (;;) {
    size_t i = *pos;
    if (i >= len)
      return 0;
    f->n = f->used = f->start = 0;
    *start = i;
    if (o->comment && buf[i] == o->comment) {
      while (i < len && !at(buf, len, i, o->rd, rdl))
        i++;
      *pos = i < len ? i + rdl : len;
      continue;
    }
    int quoted = 0, was_quoted = 0;
    for (;;) {
      if (f->used > S3SEL_MAX_RECORD) {
        s3sel_fail(err, "OverMaxRecordSize",
                   "The length of a record in the input or result is greater than "
                   "maxCharsPerRecord of 1 MB.");
        return -1;
      }
      if (i >= len) {
        if (quoted) {
          s3sel_fail(err, "CSVParsingError",
                     "Encountered an error parsing the CSV file: a quoted field is not closed. "
                     "Check the file and try again.");
          return -1;
        }
        break;
      }
      char c = buf[i];
      if (quoted) {
        if (c == o->qe && o->qe != o->qc && i + 1 < len && buf[i + 1] == o->qc) {
          if (put_char(f, o->qc) < 0)
            goto oom;
          i += 2;
        } else if (c == o->qc) {
          if (i + 1 < len && buf[i + 1] == o->qc) {
            if (put_char(f, o->qc) < 0)
              goto oom;
            i += 2;
          } else {
            quoted = 0;
            i++;
          }
        } else {
          if (at(buf, len, i, o->rd, rdl) && !o->allow_quoted_rd) {
            s3sel_fail(err, "CSVEscapingRecordDelimiter",
                       "A quoted record delimiter was found in the file. To allow quoted record "
                       "delimiters, set AllowQuotedRecordDelimiter to 'TRUE'.");
            return -1;
          }
          if (put_char(f, c) < 0)
            goto oom;
          i++;
        }
        continue;
      }
      if (at(buf, len, i, o->rd, rdl)) {
        i += rdl;
        break;
      }
      if (c == o->fd) {
        if (end_field(f) < 0)
          goto oom;
        was_quoted = 0;
        i++;
        continue;
      }
      if (c == o->qc && f->used == f->start && !was_quoted) {
        quoted = was_quoted = 1;
        i++;
        continue;
      }
      if (put_char(f, c) < 0)
        goto oom;
      i++;
    }
    *pos = i;
    /* With the default "\n" a CRLF file's \r goes with the delimiter. */
    if (o->rd[0] == '\n' && !o->rd[1] && f->used > f->start && f->data[f->used - 1] == '\r' &&
        !was_quoted)
      f->used--;
    if (f->n == 0 && f->used == f->start)
      continue; /* an empty line */
    if (end_field(f) < 0)
      goto oom;
    for (size_t k = 0; k < f->n; k++)
      f->ptrs[k] = f->data + f->offs[k];
    return 1;
  }
oom:
  s3sel_fail(err, "InternalError", "out of memory");
  return -1;
}

/* ---- writers ---- */

static void csv_field(dynbuf *out, const s3sel_out *o, const char *s, size_t len) {
  int quote = o->always;
  for (size_t i = 0; !quote && i < len; i++)
    quote = s[i] == o->fd || s[i] == o->qc || s[i] == '\n' || s[i] == '\r' ||
            strchr(o->rd, s[i]) != NULL;
  if (!quote) {
    dynbuf_append(out, s, len);
    return;
  }
  dynbuf_append(out, &o->qc, 1);
  for (size_t i = 0; i < len; i++) {
    if (s[i] == o->qc)
      dynbuf_append(out, &o->qe, 1);
    dynbuf_append(out, s + i, 1);
  }
  dynbuf_append(out, &o->qc, 1);
}

void s3sel_out_begin(dynbuf *out, const s3sel_out *o) {
  (void)o;
  (void)out;
}

int s3sel_out_value(dynbuf *out, s3sel_out *o, size_t index, const char *name,
                    const s3sel_value *v) {
  if (o->json) {
    if (v->t == S3SEL_MISSING)
      return 0;
    dynbuf_puts(out, o->count ? "," : "{");
    json_t *k = json_string(name);
    char *text = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;
    json_decref(k);
    if (!text)
      return -1;
    dynbuf_puts(out, text);
    free(text);
    dynbuf_puts(out, ":");
    o->count++;
    return s3sel_value_json(out, v);
  }
  if (index > 0)
    dynbuf_append(out, &o->fd, 1);
  dynbuf b;
  dynbuf_init(&b, S3SEL_MAX_RECORD);
  if (s3sel_value_text(&b, v) < 0) {
    dynbuf_free(&b);
    return -1;
  }
  size_t len;
  char *text = dynbuf_take(&b, &len);
  if (!text)
    return -1;
  csv_field(out, o, text, len);
  free(text);
  return 0;
}

void s3sel_out_end(dynbuf *out, s3sel_out *o) {
  if (o->json)
    dynbuf_puts(out, o->count ? "}" : "{}");
  dynbuf_puts(out, o->rd);
  o->count = 0;
}
