/*
 * fuzz_dynamodb_expr.c — fuzz target for DynamoDB's expression parser
 * (emulator/dynamodb/expr_parse.c) and, on expressions that parse, the
 * evaluator (conditions against an item, update actions on a copy of it,
 * projections).
 *
 * Input layout: byte 0 picks the expression kind (5: a PartiQL statement,
 * with parameters [1, "x"], parsed by partiql.c), the rest is the text. A fixed set of names (#a,
 * #b, #c) and values (:n, :s, :l, :ss, :m) is offered. Built as a libFuzzer target with clang
 * (-fsanitize=fuzzer); otherwise fuzz_driver.c runs it over the seeds below
 * with deterministic mutations on every test run.
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char NAMES[] = "{\"#a\": \"a\", \"#b\": \"status\", \"#c\": \"c\"}";
static const char VALUES[] =
    "{\":n\": {\"N\": \"1.5\"}, \":s\": {\"S\": \"x\"}, \":l\": {\"L\": [{\"N\": \"1\"}]},"
    "\":ss\": {\"SS\": [\"x\", \"y\"]}, \":m\": {\"M\": {\"k\": {\"BOOL\": true}}}}";
static const char ITEM[] =
    "{\"pk\": {\"S\": \"k\"}, \"a\": {\"N\": \"2\"}, \"status\": {\"S\": \"xy\"},"
    "\"c\": {\"L\": [{\"N\": \"1\"}, {\"M\": {\"d\": {\"SS\": [\"x\"]}}}]},"
    "\"e\": {\"M\": {\"f\": {\"L\": []}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 8192)
    return 0;
  static const ddb_expr_kind kinds[] = {DDB_EXPR_CONDITION, DDB_EXPR_KEY_CONDITION, DDB_EXPR_FILTER,
                                        DDB_EXPR_PROJECTION, DDB_EXPR_UPDATE};
  char *text = malloc(size);
  if (!text)
    return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  if (data[0] % 6 == 5) {
    json_t *params = json_loads("[{\"N\": \"1\"}, {\"S\": \"x\"}]", 0, NULL);
    ddb_pq_stmt st;
    ddb_error pe = {0};
    if (ddb_pq_parse(&st, text, params, &pe) == 0) {
      json_t *item = json_loads(ITEM, 0, NULL);
      int ok = 0;
      if (st.where)
        ddb_cond_eval(st.where, item, &ok, &pe);
      if (st.update) {
        const char *keys[2] = {"pk", NULL};
        ddb_update_apply(st.update, item, keys, &pe);
      }
      if (st.proj)
        json_decref(ddb_project(st.proj, item));
      json_decref(item);
      ddb_pq_free(&st);
    } else if (pe.code == NULL) {
      abort();
    }
    ddb_error_clear(&pe);
    json_decref(params);
    free(text);
    return 0;
  }
  ddb_expr_kind kind = kinds[data[0] % 6 % 5];
  json_t *names = json_loads(NAMES, 0, NULL), *values = json_loads(VALUES, 0, NULL);
  json_t *item = json_loads(ITEM, 0, NULL);
  ddb_expr_ctx ctx;
  ddb_error e = {0};
  ddb_node *n = NULL;
  if (ddb_expr_ctx_init(&ctx, names, values, &e) == 0 &&
      ddb_expr_parse(&n, kind, "Expression", text, &ctx, &e) == 0) {
    ddb_expr_check_unused(&ctx, &e);
    if (kind == DDB_EXPR_UPDATE) {
      const char *keys[2] = {"pk", NULL};
      ddb_update_apply(n, item, keys, &e);
    } else if (kind == DDB_EXPR_PROJECTION) {
      json_decref(ddb_project(n, item));
    } else {
      int ok = 0;
      ddb_cond_eval(n, item, &ok, &e);
    }
  } else if (e.code == NULL) {
    abort(); /* a failure must always say why */
  }
  ddb_node_free(n);
  ddb_expr_ctx_free(&ctx);
  ddb_error_clear(&e);
  json_decref(names);
  json_decref(values);
  json_decref(item);
  free(text);
  return 0;
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00#a = :n AND (begins_with(#b, :s) OR NOT contains(#b, :s))"),
    FUZZ_LITERAL("\x00#a BETWEEN :n AND :n OR #a IN (:n, :s, :l) AND size(c[1].d) > :n"),
    FUZZ_LITERAL("\x00"
                 "attribute_exists(c[0]) AND attribute_type(#a, :s) AND e.f <> :l"),
    FUZZ_LITERAL("\x01pk = :s AND begins_with(#a, :s)"),
    FUZZ_LITERAL("\x02#c[1].d = :ss OR attribute_not_exists(#c[5].x.y)"),
    FUZZ_LITERAL("\x03#a, #c[1].d, e.f[0], pk"),
    FUZZ_LITERAL("\x04SET #a = #a + :n, e.f = list_append(e.f, :l), g = if_not_exists(g, :m) "
                 "REMOVE #c[0] ADD h :n, #b2 :ss DELETE x :ss"),
    FUZZ_LITERAL("\x04SET #c[1].d = :ss, e.g = :n - #a"),
    FUZZ_LITERAL("\x05SELECT a, c[1].d FROM \"t\".\"i\" WHERE a = ? AND (status IN ['x', ?] "
                 "OR NOT begins_with(status, 'x')) AND e IS NOT MISSING"),
    FUZZ_LITERAL("\x05INSERT INTO t VALUE {'pk': 'it''s', 'n': -1.5e3, 's': <<1, 2>>, 'l': [TRUE, "
                 "NULL, {'m': <<'a'>>}]}"),
    FUZZ_LITERAL("\x05UPDATE t SET a = a + 1 SET l = list_append(l, [1]) REMOVE b WHERE pk = "
                 "'k' AND a BETWEEN 1 AND 3"),
    FUZZ_LITERAL("\x05"
                 "DELETE FROM t WHERE pk = 'k' AND attribute_exists(a)"),
    FUZZ_LITERAL("\x05UPDATE t SET a = if_not_exists(a, 0) - size(c) SET c[1].d = <<'z'>> WHERE "
                 "pk = 'k'"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const char fuzz_target_name[] = "fuzz_dynamodb_expr";
const fuzz_seed fuzz_alphabet =
    FUZZ_LITERAL("#:()[]{}.,=<>+-?'\" 0123456789abcANDORNOTBETWEENINSELECTWHERE");
const int fuzz_mutations_per_seed = 2000;
