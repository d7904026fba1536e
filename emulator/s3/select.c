/*
 * select.c — SelectObjectContent: S3 Select over one object.
 *
 * The request is checked as S3 checks it (ExpressionType SQL, one input and
 * one output format, the CSV and JSON options' values, ScanRange), the SQL
 * parsed (select_sql.c) before the object is read, so that a bad request
 * answers an ordinary 400 error. The object is read like a GET (SSE-C key,
 * archive state), decompressed when CompressionType is GZIP (zlib, bounded
 * by S3SEL_MAX_INFLATED), and its records run through the query. The answer
 * is AWS's event stream (emulator/protocol/event_stream.h): Records events
 * of up to S3SEL_CHUNK bytes each, a Progress event when RequestProgress
 * asks for one, Stats, End. An error met while evaluating records (a CAST
 * that fails, say) ends the stream with an error message after the records
 * before it, as S3 does once it has started answering.
 *
 * Not emulated: Parquet input and BZIP2 (501 NotImplemented).
 */
#include "emulator/s3/s3_int.h"

#include "common/jsonutil.h"
#include "emulator/protocol/event_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define S3SEL_CHUNK (64u << 10)
#define S3SEL_MAX_INFLATED ((size_t)1 << 30)
#define S3SEL_MAX_OUTPUT (EVENT_STREAM_MAX_MESSAGE * 64u)

static void fail_param(aws_call *call, const char *code, const char *message) {
  aws_call_fail(call, 400, code, "%s", message);
}

/* A one-character option (RecordDelimiter may take two). 0, or -1. */
static int one_char(const json_t *obj, const char *member, const char *dflt, char *out,
                    size_t max) {
  const char *v = jsonutil_string(obj, member);
  if (!v)
    v = dflt;
  size_t n = strlen(v);
  if (n < 1 || n > max)
    return -1;
  memcpy(out, v, n);
  out[n] = '\0';
  return 0;
}

typedef struct select_run {
  s3sel_query *q;
  s3sel_out out;
  dynbuf records; /* the current Records payload */
  dynbuf stream;  /* the event stream */
  uint64_t returned;
  int64_t emitted;
  s3sel_error err;
} select_run;

static int flush_records(select_run *r, int force) {
  if (!r->records.len || (!force && r->records.len < S3SEL_CHUNK))
    return 0;
  r->returned += r->records.len;
  int rc = event_stream_event_append(&r->stream, "Records", "application/octet-stream",
                                     r->records.data, r->records.len);
  r->records.len = 0;
  if (r->records.data)
    r->records.data[0] = '\0';
  return rc < 0 || dynbuf_failed(&r->stream) ? -1 : 0;
}

/* One input record: WHERE, then its projection (or the aggregates). 1 when
 * LIMIT is reached, 0 to go on, -1 with r->err. */
static int one_record(select_run *r, const s3sel_record *rec) {
  s3sel_query *q = r->q;
  int w = s3sel_where(q, rec, &r->err);
  if (w <= 0)
    return w;
  if (q->aggregate)
    return s3sel_aggs_feed(q, rec, &r->err);
  if (q->limit >= 0 && r->emitted >= q->limit)
    return 1;
  if (q->star) {
    if (rec->json) {
      if (r->out.json && json_is_object(rec->json)) {
        char *text = json_dumps(rec->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
          goto oom;
        dynbuf_puts(&r->records, text);
        dynbuf_puts(&r->records, r->out.rd);
        free(text);
      } else {
        json_t *obj = json_is_object(rec->json) ? rec->json : NULL;
        const char *k;
        json_t *v;
        size_t i = 0;
        s3sel_out_begin(&r->records, &r->out);
        if (obj) {
          json_object_foreach(obj, k, v) {
            s3sel_value sv;
            if (s3sel_value_from_json(&sv, v) < 0)
              goto oom;
            int rc = s3sel_out_value(&r->records, &r->out, i++, k, &sv);
            s3sel_value_clear(&sv);
            if (rc < 0)
              goto oom;
          }
        } else {
          s3sel_value sv;
          if (s3sel_value_from_json(&sv, rec->json) < 0)
            goto oom;
          int rc = s3sel_out_value(&r->records, &r->out, 0, "_1", &sv);
          s3sel_value_clear(&sv);
          if (rc < 0)
            goto oom;
        }
        s3sel_out_end(&r->records, &r->out);
      }
    } else {
      s3sel_out_begin(&r->records, &r->out);
      for (size_t i = 0; i < rec->nfields; i++) {
        char name[32];
        snprintf(name, sizeof(name), "_%zu", i + 1);
        s3sel_value sv = {.t = S3SEL_STR, .s = rec->fields[i], .len = rec->lens[i]};
        if (s3sel_out_value(&r->records, &r->out, i, i < rec->nnames ? rec->names[i] : name, &sv) <
            0)
          goto oom;
      }
      s3sel_out_end(&r->records, &r->out);
    }
  } else {
    s3sel_out_begin(&r->records, &r->out);
    for (size_t i = 0; i < q->nitems; i++) {
      s3sel_value v;
      if (s3sel_eval(q, q->items[i].expr, rec, &v, &r->err) < 0)
        return -1;
      char name[256];
      s3sel_item_name(q, i, name, sizeof(name));
      int rc = s3sel_out_value(&r->records, &r->out, i, name, &v);
      s3sel_value_clear(&v);
      if (rc < 0)
        goto oom;
    }
    s3sel_out_end(&r->records, &r->out);
  }
  r->emitted++;
  if (dynbuf_failed(&r->records) || flush_records(r, 0) < 0)
    goto oom;
  return q->limit >= 0 && r->emitted >= q->limit;
oom:
  s3sel_fail(&r->err, "OverMaxRecordSize",
             "The length of a record in the input or result is greater than maxCharsPerRecord "
             "of 1 MB.");
  return -1;
}

static int in_range(uint64_t start, uint64_t lo, uint64_t hi) { return start >= lo && start <= hi; }

/* Runs the query over CSV data. */
static int run_csv(select_run *r, const s3sel_csv *o, const char *header_info, const char *data,
                   size_t len, uint64_t lo, uint64_t hi) {
  s3sel_fields f = {0}, names = {0};
  size_t pos = 0, start;
  int rc = 0;
  if (strcasecmp(header_info, "NONE") != 0) {
    rc = s3sel_csv_next(o, data, len, &pos, &names, &start, &r->err);
    if (rc < 0)
      goto out;
    rc = 0;
  }
  int use = strcasecmp(header_info, "USE") == 0;
  while ((rc = s3sel_csv_next(o, data, len, &pos, &f, &start, &r->err)) == 1) {
    if (!in_range(start, lo, hi)) {
      if (start > hi)
        break;
      continue;
    }
    s3sel_record rec = {.fields = f.ptrs,
                        .lens = f.lens,
                        .nfields = f.n,
                        .names = use ? names.ptrs : NULL,
                        .nnames = use ? names.n : 0};
    rc = one_record(r, &rec);
    if (rc != 0)
      break;
  }
out:
  s3sel_fields_free(&f);
  s3sel_fields_free(&names);
  return rc < 0 ? -1 : 0;
}

/* The records FROM S3Object[…] names in one top-level JSON value. */
static int from_walk(select_run *r, json_t *v, size_t step) {
  const s3sel_query *q = r->q;
  if (step == q->nfrom) {
    s3sel_record rec = {.json = v};
    return one_record(r, &rec);
  }
  const s3sel_step *st = &q->from[step];
  if (st->kind == S3SEL_PATH_WILD) {
    if (!json_is_array(v))
      return from_walk(r, v, step + 1);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      int rc = from_walk(r, e, step + 1);
      if (rc != 0)
        return rc;
    }
    return 0;
  }
  json_t *next = NULL;
  if (st->kind == S3SEL_PATH_INDEX && json_is_array(v) && st->index >= 0)
    next = json_array_get(v, (size_t)st->index);
  else if (st->kind == S3SEL_PATH_MEMBER && json_is_object(v))
    next = json_object_get(v, st->name);
  return next ? from_walk(r, next, step + 1) : 0;
}

static int run_json(select_run *r, int lines, const char *data, size_t len, uint64_t lo,
                    uint64_t hi) {
  size_t pos = 0;
  (void)lines;
  while (pos < len) {
    while (pos < len && strchr(" \t\r\n", data[pos]))
      pos++;
    if (pos >= len)
      break;
    json_error_t e;
    size_t start = pos;
    json_t *v = json_loadb(data + pos, len - pos,
                           JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v) {
      s3sel_fail(&r->err, "JSONParsingError",
                 "Encountered an error parsing the JSON file: %s. Check the file and try again.",
                 e.text);
      return -1;
    }
    pos += (size_t)e.position;
    if (pos == start) {
      json_decref(v);
      break;
    }
    int rc = 0;
    if (in_range(start, lo, hi))
      rc = from_walk(r, v, 0);
    json_decref(v);
    if (rc < 0)
      return -1;
    if (rc > 0 || start > hi)
      break;
  }
  return 0;
}

/* gunzip data into *out (malloc'd). 0, or -1. */
static int inflate_all(const char *data, size_t len, char **out, size_t *out_len) {
  z_stream zs = {0};
  if (inflateInit2(&zs, 15 + 32) != Z_OK)
    return -1;
  size_t cap = len * 4 + 4096, used = 0;
  char *buf = malloc(cap);
  int rc = buf ? Z_OK : Z_MEM_ERROR;
  zs.next_in = (Bytef *)data;
  zs.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
  while (rc == Z_OK) {
    if (used == cap) {
      if (cap >= S3SEL_MAX_INFLATED) {
        rc = Z_BUF_ERROR;
        break;
      }
      cap = cap * 2 > S3SEL_MAX_INFLATED ? S3SEL_MAX_INFLATED : cap * 2;
      char *more = realloc(buf, cap);
      if (!more) {
        rc = Z_MEM_ERROR;
        break;
      }
      buf = more;
    }
    zs.next_out = (Bytef *)buf + used;
    zs.avail_out = (uInt)(cap - used > UINT32_MAX ? UINT32_MAX : cap - used);
    rc = inflate(&zs, Z_NO_FLUSH);
    used = (size_t)((char *)zs.next_out - buf);
    /* concatenated gzip members, as gzip itself reads them */
    if (rc == Z_STREAM_END && zs.avail_in > 0) {
      inflateReset(&zs);
      rc = Z_OK;
    }
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    free(buf);
    return -1;
  }
  *out = buf;
  *out_len = used;
  return 0;
}

static void stats_xml(dynbuf *b, const char *root, uint64_t scanned, uint64_t processed,
                      uint64_t returned) {
  dynbuf_printf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><%s><BytesScanned>%llu</BytesScanned>"
                "<BytesProcessed>%llu</BytesProcessed><BytesReturned>%llu</BytesReturned></%s>",
                root, (unsigned long long)scanned, (unsigned long long)processed,
                (unsigned long long)returned, root);
}

/* Reads the request's options; answers and returns -1 when one is wrong. */
static int options(aws_call *call, const json_t *input, s3sel_csv *csv, const char **header_info,
                   int *json_in, int *lines, int *gzip, s3sel_out *out) {
  const char *etype = jsonutil_string(input, "ExpressionType");
  if (!etype || strcasecmp(etype, "SQL") != 0) {
    fail_param(call, "InvalidExpressionType",
               "The ExpressionType is invalid. Only SQL expressions are supported.");
    return -1;
  }
  const json_t *in = json_object_get(input, "InputSerialization");
  const json_t *ocsv = json_object_get(json_object_get(input, "OutputSerialization"), "CSV");
  const json_t *ojson = json_object_get(json_object_get(input, "OutputSerialization"), "JSON");
  const json_t *icsv = json_object_get(in, "CSV"), *ijson = json_object_get(in, "JSON");
  const json_t *parquet = json_object_get(in, "Parquet");
  if ((icsv != NULL) + (ijson != NULL) + (parquet != NULL) != 1) {
    fail_param(call, "ObjectSerializationConflict",
               "InputSerialization specifies more than one format (CSV, JSON, or Parquet), or "
               "OutputSerialization specifies more than one format (CSV or JSON). "
               "InputSerialization and OutputSerialization can only specify one format each.");
    return -1;
  }
  if ((ocsv != NULL) + (ojson != NULL) != 1) {
    fail_param(call, "ObjectSerializationConflict",
               "InputSerialization specifies more than one format (CSV, JSON, or Parquet), or "
               "OutputSerialization specifies more than one format (CSV or JSON). "
               "InputSerialization and OutputSerialization can only specify one format each.");
    return -1;
  }
  const char *ct = jsonutil_string(in, "CompressionType");
  if (parquet || (ct && strcasecmp(ct, "BZIP2") == 0)) {
    aws_call_fail(call, 501, "NotImplemented",
                  "airgap's emulator does not implement S3 Select over %s.",
                  parquet ? "Parquet objects" : "BZIP2-compressed objects");
    return -1;
  }
  if (ct && strcasecmp(ct, "NONE") != 0 && strcasecmp(ct, "GZIP") != 0) {
    fail_param(call, "InvalidCompressionFormat",
               "The file is not in a supported compression format. Only GZIP and BZIP2 are "
               "supported.");
    return -1;
  }
  *gzip = ct && strcasecmp(ct, "GZIP") == 0;
  *json_in = ijson != NULL;
  if (ijson) {
    const char *type = jsonutil_string(ijson, "Type");
    if (!type || (strcasecmp(type, "DOCUMENT") != 0 && strcasecmp(type, "LINES") != 0)) {
      fail_param(call, "InvalidJsonType",
                 "The JsonType is invalid. Only DOCUMENT and LINES are supported.");
      return -1;
    }
    *lines = strcasecmp(type, "LINES") == 0;
  } else {
    *header_info = jsonutil_string(icsv, "FileHeaderInfo");
    if (!*header_info)
      *header_info = "NONE";
    if (strcasecmp(*header_info, "USE") != 0 && strcasecmp(*header_info, "IGNORE") != 0 &&
        strcasecmp(*header_info, "NONE") != 0) {
      fail_param(call, "InvalidFileHeaderInfo",
                 "The FileHeaderInfo is invalid. Only NONE, USE, and IGNORE are supported.");
      return -1;
    }
    char c[3];
    const char *comments = jsonutil_string(icsv, "Comments");
    if (one_char(icsv, "FieldDelimiter", ",", c, 1) < 0 ||
        (csv->fd = c[0], one_char(icsv, "QuoteCharacter", "\"", c, 1) < 0) ||
        (csv->qc = c[0], one_char(icsv, "QuoteEscapeCharacter", "\"", c, 1) < 0) ||
        (csv->qe = c[0], one_char(icsv, "RecordDelimiter", "\n", csv->rd, 2) < 0) ||
        (comments && strlen(comments) > 1)) {
      fail_param(call, "InvalidRequestParameter",
                 "The value of a parameter in SelectRequest element is invalid. Check the "
                 "service API documentation and try again.");
      return -1;
    }
    csv->comment = comments ? comments[0] : '#';
    csv->allow_quoted_rd = json_is_true(json_object_get(icsv, "AllowQuotedRecordDelimiter"));
  }
  out->json = ojson != NULL;
  char c[3];
  if (ojson) {
    if (one_char(ojson, "RecordDelimiter", "\n", out->rd, 2) < 0)
      goto bad;
  } else {
    const char *qf = jsonutil_string(ocsv, "QuoteFields");
    if (qf && strcasecmp(qf, "ALWAYS") != 0 && strcasecmp(qf, "ASNEEDED") != 0) {
      fail_param(call, "InvalidQuoteFields",
                 "The QuoteFields is invalid. Only ALWAYS and ASNEEDED are supported.");
      return -1;
    }
    out->always = qf && strcasecmp(qf, "ALWAYS") == 0;
    if (one_char(ocsv, "FieldDelimiter", ",", c, 1) < 0 ||
        (out->fd = c[0], one_char(ocsv, "QuoteCharacter", "\"", c, 1) < 0) ||
        (out->qc = c[0], one_char(ocsv, "QuoteEscapeCharacter", "\"", c, 1) < 0) ||
        (out->qe = c[0], one_char(ocsv, "RecordDelimiter", "\n", out->rd, 2) < 0))
      goto bad;
  }
  return 0;
bad:
  fail_param(call, "InvalidRequestParameter",
             "The value of a parameter in SelectRequest element is invalid. Check the service "
             "API documentation and try again.");
  return -1;
}

void s3_op_select_object_content(aws_call *call, json_t *input) {
  s3_state *st = aws_call_state(call);
  s3sel_csv csv = {0};
  s3sel_out out = {0};
  const char *header_info = "NONE";
  int json_in = 0, lines = 0, gzip = 0;
  if (options(call, input, &csv, &header_info, &json_in, &lines, &gzip, &out) < 0)
    return;
  const json_t *range = json_object_get(input, "ScanRange");
  json_t *rs = json_object_get(range, "Start"), *re = json_object_get(range, "End");
  if (range && ((rs && json_integer_value(rs) < 0) || (re && json_integer_value(re) < 0) ||
                (rs && re && json_integer_value(rs) > json_integer_value(re)))) {
    fail_param(call, "InvalidRequestParameter",
               "The value of a parameter in ScanRange element is invalid. Check the service API "
               "documentation and try again.");
    return;
  }
  if (range && (gzip || (json_in && !lines))) {
    fail_param(call, "UnsupportedScanRangeInput",
               "Scan range queries are not supported on this type of object.");
    return;
  }
  const char *sql = jsonutil_string(input, "Expression");
  if (!sql || !*sql) {
    fail_param(call, "MissingRequiredParameter",
               "The SelectRequest entity is missing a required parameter. Check the service "
               "documentation and try again.");
    return;
  }
  select_run r = {0};
  if (s3sel_parse(&r.q, sql, strlen(sql), &r.err) < 0) {
    aws_call_fail(call, strcmp(r.err.code, "InternalError") == 0 ? 500 : 400, r.err.code, "%s",
                  r.err.message);
    return;
  }
  r.out = out;
  /* The object, read as GetObject reads it. */
  const char *key = jsonutil_string(input, "Key");
  s3_bucket *b = s3_bucket_lock(call, input);
  if (!b) {
    s3sel_query_free(r.q);
    return;
  }
  int marker_only = 0;
  s3_version *v = s3_version_lookup(b, key ? key : "", NULL, &marker_only);
  if (!v || v->delete_marker) {
    s3_unlock(st);
    s3_fail_no_key(call, key ? key : "");
    s3sel_query_free(r.q);
    return;
  }
  if (s3_sse_read_check(call, v->attrs, input, "") < 0 || s3_archive_read_check(call, v, 0) < 0) {
    s3_unlock(st);
    s3sel_query_free(r.q);
    return;
  }
  uint64_t size = v->size;
  char *copyv = NULL;
  int fd = -1;
  if (v->data && size) {
    copyv = malloc(size);
    if (copyv)
      memcpy(copyv, v->data, size);
  } else if (v->file) {
    fd = s3_data_open(st, v->file);
  }
  s3_unlock(st);
  if ((size && v && !copyv && fd < 0)) {
    s3sel_query_free(r.q);
    aws_call_fail(call, 500, "InternalError", "Cannot read the object: %s", strerror(errno));
    return;
  }
  void *map = NULL;
  const char *data = copyv;
  if (fd >= 0 && size) {
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      map = NULL;
      close(fd);
      s3sel_query_free(r.q);
      aws_call_fail(call, 500, "InternalError", "Cannot read the object: %s", strerror(errno));
      return;
    }
    data = map;
  }
  if (fd >= 0)
    close(fd);
  char *inflated = NULL;
  size_t len = size;
  if (gzip && size) {
    if (inflate_all(data, size, &inflated, &len) < 0) {
      if (map)
        munmap(map, size);
      free(copyv);
      s3sel_query_free(r.q);
      fail_param(call, "TruncatedInput",
                 "Object decompression failed. Check that the object is properly compressed "
                 "using the format specified in the request.");
      return;
    }
    data = inflated;
  }
  uint64_t lo = 0, hi = len ? len - 1 : 0;
  if (rs)
    lo = (uint64_t)json_integer_value(rs);
  if (re) {
    hi = (uint64_t)json_integer_value(re);
    if (!rs) /* End alone: the last End bytes */
      lo = hi >= len ? 0 : len - hi, hi = len ? len - 1 : 0;
  }
  dynbuf_init(&r.records, S3SEL_MAX_RECORD + S3SEL_CHUNK);
  dynbuf_init(&r.stream, S3SEL_MAX_OUTPUT);
  s3sel_aggs_reset(r.q);
  int rc = json_in ? run_json(&r, lines, data ? data : "", len, lo, hi)
                   : run_csv(&r, &csv, header_info, data ? data : "", len, lo, hi);
  if (rc == 0 && r.q->aggregate && (r.q->limit < 0 || r.q->limit > 0)) {
    s3sel_record none = {0};
    s3sel_out_begin(&r.records, &r.out);
    for (size_t i = 0; i < r.q->nitems && rc == 0; i++) {
      s3sel_value val;
      if (s3sel_eval(r.q, r.q->items[i].expr, &none, &val, &r.err) < 0) {
        rc = -1;
        break;
      }
      char name[256];
      s3sel_item_name(r.q, i, name, sizeof(name));
      if (s3sel_out_value(&r.records, &r.out, i, name, &val) < 0)
        rc = -1;
      s3sel_value_clear(&val);
    }
    s3sel_out_end(&r.records, &r.out);
  }
  if (flush_records(&r, 1) < 0 && rc == 0) {
    rc = -1;
    s3sel_fail(&r.err, "InternalError", "The result is too large.");
  }
  uint64_t scanned = range ? (hi >= lo ? hi - lo + 1 : 0) : size;
  uint64_t processed = range ? scanned : len;
  if (rc < 0) {
    event_stream_error_append(&r.stream, r.err.code ? r.err.code : "InternalError", r.err.message);
  } else {
    dynbuf x;
    dynbuf_init(&x, 4096);
    if (json_is_true(json_object_get(json_object_get(input, "RequestProgress"), "Enabled"))) {
      stats_xml(&x, "Progress", scanned, processed, r.returned);
      event_stream_event_append(&r.stream, "Progress", "text/xml", x.data, x.len);
      x.len = 0;
    }
    stats_xml(&x, "Stats", scanned, processed, r.returned);
    event_stream_event_append(&r.stream, "Stats", "text/xml", x.data, x.len);
    dynbuf_free(&x);
    event_stream_event_append(&r.stream, "End", NULL, NULL, 0);
  }
  if (map)
    munmap(map, size);
  free(copyv);
  free(inflated);
  dynbuf_free(&r.records);
  s3sel_aggs_reset(r.q);
  s3sel_query_free(r.q);
  if (dynbuf_failed(&r.stream)) {
    dynbuf_free(&r.stream);
    aws_call_fail(call, 500, "InternalError", "The result is too large.");
    return;
  }
  aws_call_header(call, "Content-Type", "application/octet-stream");
  aws_call_reply_data(call, NULL, 200, r.stream.data ? r.stream.data : "", r.stream.len);
  dynbuf_free(&r.stream);
}
