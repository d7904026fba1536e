/*
 * test_dynamodb_expr.c — DynamoDB's expression parser and evaluator
 * (emulator/dynamodb/expr_parse.c, expr_eval.c) driven directly: what
 * parses, AWS's messages for what does not, placeholder bookkeeping,
 * condition semantics, update actions and projections on JSON items.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static json_t *js(const char *text) {
  json_error_t err;
  json_t *v = json_loads(text, 0, &err);
  if (!v)
    fail_msg("bad JSON in test: %s: %s", text, err.text);
  return v;
}

/* Parses text with the given placeholders; returns the node or NULL with the
 * message in msg. */
static ddb_node *parse(ddb_expr_kind kind, const char *text, const char *names, const char *values,
                       char *msg, size_t msg_size) {
  json_t *n = names ? js(names) : NULL, *v = values ? js(values) : NULL;
  ddb_expr_ctx ctx;
  ddb_error e = {0};
  ddb_node *node = NULL;
  msg[0] = '\0';
  if (ddb_expr_ctx_init(&ctx, n, v, &e) < 0 ||
      ddb_expr_parse(&node, kind,
                     kind == DDB_EXPR_UPDATE       ? "UpdateExpression"
                     : kind == DDB_EXPR_PROJECTION ? "ProjectionExpression"
                                                   : "ConditionExpression",
                     text, &ctx, &e) < 0 ||
      ddb_expr_check_unused(&ctx, &e) < 0) {
    snprintf(msg, msg_size, "%.*s", (int)(msg_size - 1), e.message);
    ddb_node_free(node);
    node = NULL;
  }
  ddb_expr_ctx_free(&ctx);
  json_decref(n);
  json_decref(v);
  return node;
}

static void expect_error(ddb_expr_kind kind, const char *text, const char *names,
                         const char *values, const char *want) {
  char msg[1024];
  ddb_node *n = parse(kind, text, names, values, msg, sizeof(msg));
  if (n)
    fail_msg("%s parsed, expected: %s", text, want);
  if (strcmp(msg, want) != 0)
    fail_msg("%s:\n got: %s\nwant: %s", text, msg, want);
}

static void test_dynamodb_expr_syntax_errors(void **state) {
  (void)state;
  const char *v = "{\":v\": {\"N\": \"1\"}}";
  expect_error(DDB_EXPR_CONDITION, "a = = :v", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\"");
  expect_error(DDB_EXPR_CONDITION, "a <", NULL, NULL,
               "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"<\"");
  expect_error(DDB_EXPR_CONDITION, "(a = :v", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\"");
  expect_error(DDB_EXPR_CONDITION, "a = :v extra", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"extra\", near: \":v extra\"");
  expect_error(DDB_EXPR_CONDITION, "", NULL, NULL,
               "Invalid ConditionExpression: The expression can not be empty;");
  expect_error(DDB_EXPR_CONDITION, "a BETWEEN :v", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\"");
  expect_error(DDB_EXPR_CONDITION, "nope(a)", NULL, NULL,
               "Invalid ConditionExpression: Invalid function name; function: nope");
  expect_error(DDB_EXPR_CONDITION, "begins_with(a)", NULL, NULL,
               "Invalid ConditionExpression: Incorrect number of operands for operator or "
               "function; operator or function: begins_with, number of operands: 1");
  expect_error(DDB_EXPR_CONDITION, "attribute_exists(:v)", NULL, v,
               "Invalid ConditionExpression: Incorrect operand type for operator or function; "
               "operator or function: attribute_exists, operand type: N");
  expect_error(DDB_EXPR_CONDITION, "a[x] = :v", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"x\", near: \"[x]\"");
  expect_error(DDB_EXPR_CONDITION, "a = :v $", NULL, v,
               "Invalid ConditionExpression: Syntax error; token: \"$\", near: \":v $\"");
  expect_error(DDB_EXPR_PROJECTION, "a,", NULL, NULL,
               "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"");
  expect_error(DDB_EXPR_UPDATE, "SET a = :v, REMOVE b", NULL, v,
               "Invalid UpdateExpression: Syntax error; token: \"b\", near: \"REMOVE b\"");
  expect_error(DDB_EXPR_UPDATE, "SET a = :v SET b = :v", NULL, v,
               "Invalid UpdateExpression: The \"SET\" section can only be used once in an update "
               "expression;");
  expect_error(DDB_EXPR_CONDITION, "size(a)", NULL, NULL,
               "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \")\"");
  expect_error(DDB_EXPR_CONDITION, "a = begins_with(a, b)", NULL, NULL,
               "Invalid ConditionExpression: The function is not allowed to be used this way in "
               "an expression; function: begins_with");
  expect_error(DDB_EXPR_UPDATE, "SET a = if_not_exists(b)", NULL, NULL,
               "Invalid UpdateExpression: Incorrect number of operands for operator or "
               "function; operator or function: if_not_exists, number of operands: 1");
  expect_error(DDB_EXPR_UPDATE, "SET a = size(b)", NULL, NULL,
               "Invalid UpdateExpression: The function is not allowed in an update expression; "
               "function: size");
  expect_error(DDB_EXPR_CONDITION, "a = list_append(:v, :v)", NULL, v,
               "Invalid ConditionExpression: The function is not allowed in a condition "
               "expression; function: list_append");
}

static void test_dynamodb_expr_placeholders(void **state) {
  (void)state;
  expect_error(DDB_EXPR_CONDITION, "#a = :v", "{\"#b\": \"x\"}", "{\":v\": {\"S\": \"x\"}}",
               "Invalid ConditionExpression: An expression attribute name used in the document "
               "path is not defined; attribute name: #a");
  expect_error(DDB_EXPR_CONDITION, "a = :w", NULL, "{\":v\": {\"S\": \"x\"}}",
               "Invalid ConditionExpression: An expression attribute value used in expression "
               "is not defined; attribute value: :w");
  expect_error(DDB_EXPR_CONDITION, "a = :v", "{\"#n\": \"x\"}", "{\":v\": {\"S\": \"x\"}}",
               "Value provided in ExpressionAttributeNames unused in expressions: keys: {#n}");
  expect_error(DDB_EXPR_CONDITION, "a = :v", NULL,
               "{\":v\": {\"S\": \"x\"}, \":u\": {\"S\": \"y\"}}",
               "Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}");
  json_t *names = js("{\"#n\": \"x\"}");
  ddb_expr_ctx ctx;
  ddb_error e = {0};
  assert_int_equal(ddb_expr_ctx_init(&ctx, names, NULL, &e), 0);
  assert_int_equal(ddb_expr_check_unused(&ctx, &e), -1);
  assert_string_equal(e.message,
                      "ExpressionAttributeNames can only be specified when using expressions");
  ddb_expr_ctx_free(&ctx);
  json_decref(names);
  expect_error(DDB_EXPR_CONDITION, "a = :v", NULL, "{}",
               "ExpressionAttributeValues must not be empty");
  expect_error(DDB_EXPR_CONDITION, "Status = :v", NULL, "{\":v\": {\"S\": \"x\"}}",
               "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
               "keyword: Status");
  expect_error(DDB_EXPR_CONDITION, "a.size = :v", NULL, "{\":v\": {\"S\": \"x\"}}",
               "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved "
               "keyword: size");
  expect_error(DDB_EXPR_CONDITION, "a = :v", NULL, "{\":v\": {\"N\": \"x1\"}}",
               "ExpressionAttributeValues contains invalid value: A value provided cannot be "
               "converted into a number for key :v");
  expect_error(DDB_EXPR_CONDITION, "a = :v", "{\"n\": \"x\"}", "{\":v\": {\"S\": \"x\"}}",
               "ExpressionAttributeNames contains invalid key: Syntax error; key: \"n\"");
  expect_error(DDB_EXPR_CONDITION, "a = :v", NULL,
               "{\":v\": {\"S\": \"x\"}, \"w\": {\"S\": \"y\"}}",
               "ExpressionAttributeValues contains invalid key: Syntax error; key: \"w\"");
  expect_error(DDB_EXPR_PROJECTION, "a.b[1], c, a.b", NULL, NULL,
               "Invalid ProjectionExpression: Two document paths overlap with each other; must "
               "remove or rewrite one of these paths; path one: [a, b, [1]], path two: [a, b]");
  char msg[256];
  ddb_node *n =
      parse(DDB_EXPR_CONDITION, "#s = :v AND #s.#x[3] <> :v", "{\"#s\": \"status\", \"#x\": \"x\"}",
            "{\":v\": {\"S\": \"x\"}}", msg, sizeof(msg));
  if (!n)
    fail_msg("%s", msg);
  ddb_node_free(n);
}

/* Evaluates a condition over an item. */
static int holds(const char *cond, const char *item, const char *values) {
  char msg[512];
  ddb_node *n = parse(DDB_EXPR_CONDITION, cond, NULL, values, msg, sizeof(msg));
  if (!n)
    fail_msg("%s: %s", cond, msg);
  json_t *it = js(item);
  ddb_error e = {0};
  int ok = -1;
  if (ddb_cond_eval(n, it, &ok, &e) < 0)
    fail_msg("%s: %s", cond, e.message);
  json_decref(it);
  ddb_node_free(n);
  return ok;
}

static void test_dynamodb_expr_conditions(void **state) {
  (void)state;
  const char *item =
      "{\"n\": {\"N\": \"10\"}, \"s\": {\"S\": \"hello\"}, \"b\": {\"B\": \"AAEC\"},"
      "\"ss\": {\"SS\": [\"x\", \"y\"]}, \"ns\": {\"NS\": [\"1\", \"2.5\"]},"
      "\"l\": {\"L\": [{\"S\": \"a\"}, {\"M\": {\"k\": {\"N\": \"1\"}}}]},"
      "\"m\": {\"M\": {\"deep\": {\"L\": [{\"N\": \"7\"}]}}}, \"t\": {\"BOOL\": true}}";
  const char *v =
      "{\":ten\": {\"N\": \"1E+1\"}, \":nine\": {\"N\": \"9.99\"}, \":he\": {\"S\": "
      "\"he\"}, \":x\": {\"S\": \"x\"}, \":two\": {\"N\": \"2.50\"}, \":seven\": {\"N\": "
      "\"7\"}, \":S\": {\"S\": \"S\"}, \":a\": {\"S\": \"a\"}, \":b0\": {\"B\": \"AA==\"},"
      "\":t\": {\"BOOL\": true}, \":five\": {\"N\": \"5\"}, \":one\": {\"N\": \"1\"}}";
  struct {
    const char *cond;
    int want;
  } cases[] = {
      {"n = :ten", 1},
      {"n <> :ten", 0},
      {"n > :nine", 1},
      {"n >= :ten AND n <= :ten", 1},
      {"n < :nine", 0},
      {"n BETWEEN :nine AND :ten", 1},
      {"n IN (:nine, :ten)", 1},
      {"s IN (:he, :x)", 0},
      {"begins_with(s, :he)", 1},
      {"begins_with(b, :b0)", 1},
      {"contains(s, :he)", 1},
      {"contains(ss, :x)", 1},
      {"contains(ns, :two)", 1},
      {"contains(l, :a)", 1},
      {"attribute_exists(m.deep[0])", 1},
      {"attribute_exists(m.deep[1])", 0},
      {"attribute_not_exists(nope)", 1},
      {"m.deep[0] = :seven", 1},
      {"l[1].k = :one", 1},
      {"attribute_type(s, :S)", 1},
      {"attribute_type(n, :S)", 0},
      {"size(s) = :five", 1},
      {"size(ss) < :five", 1},
      {"size(n) = :five", 0},
      {"nope = :ten", 0},
      {"nope <> :ten", 1},
      {"nope < :ten", 0},
      {"s > :ten", 0},
      {"t = :t", 1},
      {"NOT n = :ten OR s = :he", 0},
      {"NOT (n = :nine) AND (s = :x OR s > :he)", 1},
      {"n = :nine OR s = :he AND n = :ten", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    /* Each case uses a subset of the values: unused ones would be refused,
     * so build the map of those the condition names. */
    json_t *all = js(v), *used = json_object();
    const char *k;
    json_t *val;
    json_object_foreach(all, k, val) {
      const char *p = strstr(cases[i].cond, k);
      if (p && !(p[strlen(k)] >= 'a' && p[strlen(k)] <= 'z'))
        json_object_set(used, k, val);
    }
    char *vs = json_object_size(used) ? json_dumps(used, 0) : NULL;
    int got = holds(cases[i].cond, item, vs);
    if (got != cases[i].want)
      fail_msg("%s: got %d, want %d", cases[i].cond, got, cases[i].want);
    free(vs);
    json_decref(all);
    json_decref(used);
  }
}

static char *updated(const char *expr, const char *item, const char *values, char *msg,
                     size_t size) {
  ddb_node *n = parse(DDB_EXPR_UPDATE, expr, NULL, values, msg, size);
  if (!n)
    return NULL;
  json_t *it = js(item);
  ddb_error e = {0};
  const char *keys[2] = {"pk", NULL};
  char *out = NULL;
  if (ddb_update_apply(n, it, keys, &e) < 0)
    snprintf(msg, size, "%.*s", (int)(size - 1), e.message);
  else
    out = json_dumps(it, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(it);
  ddb_node_free(n);
  return out;
}

static void expect_update(const char *expr, const char *item, const char *values,
                          const char *want) {
  char msg[512];
  char *got = updated(expr, item, values, msg, sizeof(msg));
  if (!got)
    fail_msg("%s: %s", expr, msg);
  json_t *w = js(want);
  char *ws = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
  if (strcmp(got, ws) != 0)
    fail_msg("%s:\n got: %s\nwant: %s", expr, got, ws);
  free(got);
  free(ws);
  json_decref(w);
}

static void expect_update_error(const char *expr, const char *item, const char *values,
                                const char *want) {
  char msg[512];
  char *got = updated(expr, item, values, msg, sizeof(msg));
  if (got)
    fail_msg("%s succeeded: %s", expr, got);
  if (strcmp(msg, want) != 0)
    fail_msg("%s:\n got: %s\nwant: %s", expr, msg, want);
}

static void test_dynamodb_expr_updates(void **state) {
  (void)state;
  const char *item = "{\"pk\": {\"S\": \"k\"}, \"n\": {\"N\": \"1\"}, \"l\": {\"L\": [{\"N\": "
                     "\"0\"}, {\"N\": \"1\"}, {\"N\": \"2\"}]}, \"m\": {\"M\": {}}, \"ss\": "
                     "{\"SS\": [\"a\", \"b\"]}}";
  expect_update("SET n = n + :d, x = :d", item, "{\":d\": {\"N\": \"0.25\"}}",
                "{\"pk\": {\"S\": \"k\"}, \"n\": {\"N\": \"1.25\"}, \"x\": {\"N\": \"0.25\"}, "
                "\"l\": {\"L\": [{\"N\": \"0\"}, {\"N\": \"1\"}, {\"N\": \"2\"}]}, \"m\": {\"M\": "
                "{}}, \"ss\": {\"SS\": [\"a\", \"b\"]}}");
  /* Every SET operand reads the item before the update. */
  expect_update("SET n = :two, y = n", "{\"pk\": {\"S\": \"k\"}, \"n\": {\"N\": \"1\"}}",
                "{\":two\": {\"N\": \"2\"}}",
                "{\"pk\": {\"S\": \"k\"}, \"n\": {\"N\": \"2\"}, \"y\": {\"N\": \"1\"}}");
  expect_update("REMOVE l[0], l[2]",
                "{\"l\": {\"L\": [{\"N\": \"0\"}, {\"N\": \"1\"}, {\"N\": "
                "\"2\"}]}}",
                NULL, "{\"l\": {\"L\": [{\"N\": \"1\"}]}}");
  expect_update("SET l[9] = :v, m.k = :v", "{\"l\": {\"L\": []}, \"m\": {\"M\": {}}}",
                "{\":v\": {\"S\": \"x\"}}",
                "{\"l\": {\"L\": [{\"S\": \"x\"}]}, \"m\": {\"M\": {\"k\": {\"S\": \"x\"}}}}");
  expect_update("ADD ss :s, c :one DELETE ds :d",
                "{\"ss\": {\"SS\": [\"a\"]}, \"ds\": {\"NS\": [\"1\", \"2\"]}}",
                "{\":s\": {\"SS\": [\"a\", \"b\"]}, \":one\": {\"N\": \"1\"}, \":d\": {\"NS\": "
                "[\"1\", \"2\"]}}",
                "{\"ss\": {\"SS\": [\"a\", \"b\"]}, \"c\": {\"N\": \"1\"}}");
  expect_update("SET a = if_not_exists(a, :v), b = if_not_exists(n, :v)", "{\"n\": {\"N\": \"1\"}}",
                "{\":v\": {\"N\": \"5\"}}",
                "{\"n\": {\"N\": \"1\"}, \"a\": {\"N\": \"5\"}, \"b\": {\"N\": \"1\"}}");
  expect_update("SET l = list_append(:front, l)", "{\"l\": {\"L\": [{\"N\": \"1\"}]}}",
                "{\":front\": {\"L\": [{\"N\": \"0\"}]}}",
                "{\"l\": {\"L\": [{\"N\": \"0\"}, {\"N\": \"1\"}]}}");
  expect_update_error("SET pk = :v", item, "{\":v\": {\"S\": \"x\"}}",
                      "One or more parameter values were invalid: Cannot update attribute pk. "
                      "This attribute is part of the key");
  expect_update_error("SET m.a.b = :v", item, "{\":v\": {\"S\": \"x\"}}",
                      "The document path provided in the update expression is invalid for "
                      "update");
  expect_update_error("SET x = ss + :v", item, "{\":v\": {\"N\": \"1\"}}",
                      "An operand in the update expression has an incorrect data type");
  expect_update_error("SET x = nothing", item, NULL,
                      "The provided expression refers to an attribute that does not exist in the "
                      "item");
  expect_update_error("ADD n :v", item, "{\":v\": {\"S\": \"x\"}}",
                      "Invalid UpdateExpression: Incorrect operand type for operator or function; "
                      "operator: ADD, operand type: STRING");
  expect_update_error("SET n = n + :v", item, "{\":v\": {\"N\": \"1E+38\"}}",
                      "Number overflow. Attempting to store a number with magnitude larger than "
                      "supported range");
  char msg[512];
  assert_null(updated("SET a = :v REMOVE a.b", item, "{\":v\": {\"S\": \"x\"}}", msg, sizeof(msg)));
  assert_non_null(strstr(msg, "Two document paths overlap with each other"));
}

static void test_dynamodb_expr_projection(void **state) {
  (void)state;
  char msg[256];
  ddb_node *n = parse(DDB_EXPR_PROJECTION, "a, m.x, l[1], absent", NULL, NULL, msg, sizeof(msg));
  if (!n)
    fail_msg("%s", msg);
  json_t *item = js("{\"a\": {\"N\": \"1\"}, \"b\": {\"N\": \"2\"}, \"m\": {\"M\": {\"x\": {\"S\": "
                    "\"1\"}, \"y\": {\"S\": \"2\"}}}, \"l\": {\"L\": [{\"N\": \"0\"}, {\"N\": "
                    "\"1\"}]}}");
  json_t *got = ddb_project(n, item);
  json_t *want = js("{\"a\": {\"N\": \"1\"}, \"m\": {\"M\": {\"x\": {\"S\": \"1\"}}}, \"l\": "
                    "{\"L\": [{\"N\": \"1\"}]}}");
  assert_true(json_equal(got, want));
  json_decref(got);
  json_decref(want);
  json_decref(item);
  ddb_node_free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dynamodb_expr_syntax_errors),
      cmocka_unit_test(test_dynamodb_expr_placeholders),
      cmocka_unit_test(test_dynamodb_expr_conditions),
      cmocka_unit_test(test_dynamodb_expr_updates),
      cmocka_unit_test(test_dynamodb_expr_projection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
