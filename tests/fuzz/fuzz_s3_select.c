/*
 * fuzz_s3_select.c — fuzz target for S3 Select's SQL parser
 * (emulator/s3/select_sql.c) and its evaluator (select_eval.c,
 * select_value.c) and CSV reader (select_io.c), which read untrusted SQL and
 * object bytes.
 *
 * An input is the SQL, a NUL byte, then CSV data (first line a header). The
 * parser must never crash and either build a query or name an error; a
 * query is then run over the CSV records (WHERE, the select list, the
 * aggregates), whose errors must come with a code. With clang and
 * -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise fuzz_driver.c runs
 * the seeds below and deterministic mutations briefly as a test.
 */
#include "emulator/s3/s3_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void run(s3sel_query *q, const char *csv, size_t len) {
  s3sel_csv o = {.fd = ',', .qc = '"', .qe = '"', .comment = '#', .rd = "\n"};
  s3sel_fields names = {0}, f = {0};
  size_t pos = 0, start;
  s3sel_error err = {0};
  s3sel_aggs_reset(q);
  int rc = s3sel_csv_next(&o, csv, len, &pos, &names, &start, &err);
  for (int n = 0; rc >= 0 && n < 64; n++) {
    rc = s3sel_csv_next(&o, csv, len, &pos, &f, &start, &err);
    if (rc <= 0)
      break;
    s3sel_record rec = {
        .fields = f.ptrs, .lens = f.lens, .nfields = f.n, .names = names.ptrs, .nnames = names.n};
    int w = s3sel_where(q, &rec, &err);
    if (w < 0)
      break;
    if (q->aggregate) {
      if (s3sel_aggs_feed(q, &rec, &err) < 0)
        break;
      continue;
    }
    for (size_t i = 0; w && i < q->nitems; i++) {
      s3sel_value v;
      if (s3sel_eval(q, q->items[i].expr, &rec, &v, &err) < 0)
        break;
      dynbuf b;
      dynbuf_init(&b, 1 << 20);
      s3sel_value_text(&b, &v);
      s3sel_value_json(&b, &v);
      dynbuf_free(&b);
      s3sel_value_clear(&v);
    }
  }
  if (rc < 0 && !err.code)
    abort();
  s3sel_aggs_reset(q);
  s3sel_fields_free(&names);
  s3sel_fields_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *nul = memchr(data, '\0', size);
  size_t sql_len = nul ? (size_t)(nul - (const char *)data) : size;
  /* Each part in a buffer of its own size, so that ASan sees any overread. */
  char *sql = malloc(sql_len + 1);
  size_t csv_len = nul ? size - sql_len - 1 : 0;
  char *csv = malloc(csv_len ? csv_len : 1);
  if (!sql || !csv)
    abort();
  memcpy(sql, data, sql_len);
  sql[sql_len] = '\0';
  if (csv_len)
    memcpy(csv, nul + 1, csv_len);
  s3sel_query *q = NULL;
  s3sel_error err = {0};
  if (s3sel_parse(&q, sql, sql_len, &err) == 0) {
    if (!q || err.code)
      abort();
    run(q, csv, csv_len);
    s3sel_query_free(q);
  } else if (!err.code || !err.message[0]) {
    abort();
  }
  free(sql);
  free(csv);
  return 0;
}

const char fuzz_target_name[] = "fuzz_s3_select";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("()'\",.*[]=<>-+|% \n");
const int fuzz_mutations_per_seed = 4000;

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("SELECT * FROM S3Object\0a,b\n1,2\n"),
    FUZZ_LITERAL("SELECT s.a, CAST(s.b AS DECIMAL) * 1.5 AS x FROM S3Object s WHERE s.a LIKE "
                 "'%1!%' ESCAPE '!' AND s.b BETWEEN 1 AND 10\0a,b\n\"1%\",2.25\n3,x\n"),
    FUZZ_LITERAL("SELECT COUNT(*), SUM(CAST(b AS INT)), AVG(CAST(b AS FLOAT)), MIN(a), MAX(a) "
                 "FROM S3Object WHERE a IN ('1', '3') OR b IS NULL\0a,b\n1,2\n3,4\n"),
    FUZZ_LITERAL("SELECT UPPER(a), LOWER(b), CHAR_LENGTH(a), SUBSTRING(a FROM 2 FOR 3), "
                 "TRIM(LEADING 'x' FROM b), COALESCE(c, a), NULLIF(a, b) FROM S3Object LIMIT 2"
                 "\0a,b\nxyz,xxb\n"),
    FUZZ_LITERAL("SELECT s._1 || s._2, -s._1 / 0 FROM S3Object[*] AS s WHERE NOT s._3 IS MISSING"
                 "\0h\n9223372036854775807,1,#\n"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
