/*
 * legacy.c — DynamoDB's legacy (pre-expression) parameters, translated into
 * the same trees the expression parser builds, so that one evaluator serves
 * both: Expected, KeyConditions, QueryFilter and ScanFilter (with
 * ConditionalOperator) become conditions; AttributeUpdates becomes an update.
 *
 * As in DynamoDB, a request may not mix a legacy parameter with an
 * expression parameter, and comparison operators take exactly the number of
 * values they need (AWS's messages for both).
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

static ddb_node *path(const char *name) {
  ddb_node *n = ddb_node_new(DN_PATH, 0);
  if (!n)
    return NULL;
  n->path = calloc(1, sizeof(*n->path));
  if (!n->path || !(n->path[0].name = strdup(name))) {
    ddb_node_free(n);
    return NULL;
  }
  n->path[0].index = -1;
  n->plen = 1;
  return n;
}

static ddb_node *value(const json_t *v, ddb_error *e) {
  json_t *c = NULL;
  if (ddb_value_check(&c, v, e) < 0)
    return NULL;
  ddb_node *n = ddb_node_new(DN_VALUE, 0);
  if (!n) {
    json_decref(c);
    return NULL;
  }
  n->value = c;
  return n;
}

static const struct {
  const char *name;
  int values; /* -1: one or more */
} OPS[] = {{"EQ", 1},          {"NE", 1},       {"LE", 1},     {"LT", 1},       {"GE", 1},
           {"GT", 1},          {"NOT_NULL", 0}, {"NULL", 0},   {"CONTAINS", 1}, {"NOT_CONTAINS", 1},
           {"BEGINS_WITH", 1}, {"IN", -1},      {"BETWEEN", 2}};

/* One attribute's condition {ComparisonOperator, AttributeValueList}. */
static ddb_node *condition(const char *attr, const json_t *c, ddb_error *e) {
  const char *op = jsonutil_string(c, "ComparisonOperator");
  json_t *list = json_object_get(c, "AttributeValueList");
  size_t nv = json_array_size(list);
  int found = -1;
  for (size_t i = 0; op && i < sizeof(OPS) / sizeof(OPS[0]); i++)
    if (strcmp(OPS[i].name, op) == 0)
      found = (int)i;
  if (found < 0) {
    ddb_invalid(e,
                "1 validation error detected: Value '%s' at 'comparisonOperator' failed to "
                "satisfy constraint: Member must satisfy enum value set",
                op ? op : "null");
    return NULL;
  }
  if ((OPS[found].values >= 0 && nv != (size_t)OPS[found].values) ||
      (OPS[found].values < 0 && nv == 0)) {
    ddb_invalid(e,
                "One or more parameter values were invalid: Invalid number of argument(s) for "
                "the %s ComparisonOperator",
                op);
    return NULL;
  }
  ddb_node *n = NULL;
  if (strcmp(op, "NULL") == 0 || strcmp(op, "NOT_NULL") == 0) {
    n = ddb_node_new(DN_FUNC, op[0] == 'N' && op[1] == 'U' ? DDB_F_ATTRIBUTE_NOT_EXISTS
                                                           : DDB_F_ATTRIBUTE_EXISTS);
    if (ddb_node_add(n, path(attr)) < 0)
      goto fail;
    return n;
  }
  static const char *const cmp[] = {"EQ", "NE", "LT", "LE", "GT", "GE"};
  static const int cmp_op[] = {DDB_EQ, DDB_NE, DDB_LT, DDB_LE, DDB_GT, DDB_GE};
  for (int i = 0; i < 6; i++)
    if (strcmp(op, cmp[i]) == 0)
      n = ddb_node_new(DN_CMP, cmp_op[i]);
  if (!n && strcmp(op, "IN") == 0)
    n = ddb_node_new(DN_IN, 0);
  if (!n && strcmp(op, "BETWEEN") == 0)
    n = ddb_node_new(DN_BETWEEN, 0);
  if (!n && strcmp(op, "BEGINS_WITH") == 0)
    n = ddb_node_new(DN_FUNC, DDB_F_BEGINS_WITH);
  if (!n)
    n = ddb_node_new(DN_FUNC, DDB_F_CONTAINS);
  if (ddb_node_add(n, path(attr)) < 0)
    goto fail;
  for (size_t i = 0; i < nv; i++)
    if (ddb_node_add(n, value(json_array_get(list, i), e)) < 0)
      goto fail;
  if (strcmp(op, "NOT_CONTAINS") == 0) {
    ddb_node *not = ddb_node_new(DN_NOT, 0);
    if (ddb_node_add(not, n) < 0) {
      ddb_fail(e, "InternalServerError", "out of memory");
      return NULL;
    }
    return not ;
  }
  return n;
fail:
  ddb_node_free(n);
  if (!e->code)
    ddb_fail(e, "InternalServerError", "out of memory");
  return NULL;
}

/* Expected's own form: {Value, Exists} (or the comparison form above). */
static ddb_node *expected(const char *attr, const json_t *c, ddb_error *e) {
  if (json_object_get(c, "ComparisonOperator"))
    return condition(attr, c, e);
  json_t *v = json_object_get(c, "Value"), *exists = json_object_get(c, "Exists");
  if (exists && json_is_false(exists)) {
    if (v) {
      ddb_invalid(e,
                  "One or more parameter values were invalid: Value cannot be used when "
                  "Exists is false for Attribute: %s",
                  attr);
      return NULL;
    }
    ddb_node *n = ddb_node_new(DN_FUNC, DDB_F_ATTRIBUTE_NOT_EXISTS);
    return ddb_node_add(n, path(attr)) < 0 ? (ddb_node_free(n), NULL) : n;
  }
  if (!v) {
    ddb_invalid(e,
                "One or more parameter values were invalid: Value must be provided when Exists "
                "is %s for Attribute: %s",
                exists ? "true" : "null", attr);
    return NULL;
  }
  ddb_node *n = ddb_node_new(DN_CMP, DDB_EQ);
  if (ddb_node_add(n, path(attr)) < 0 || ddb_node_add(n, value(v, e)) < 0) {
    ddb_node_free(n);
    return NULL;
  }
  return n;
}

int ddb_legacy_condition(ddb_node **out, const json_t *in, const char *param, ddb_error *e) {
  const json_t *map = json_object_get(in, param);
  const char *cop = jsonutil_string(in, "ConditionalOperator");
  *out = NULL;
  if (!map)
    return 0;
  /* Key conditions are always ANDed. */
  int or = cop && strcmp(cop, "OR") == 0 && strcmp(param, "KeyConditions") != 0;
  ddb_node *all = NULL;
  const char *attr;
  json_t *c;
  json_object_foreach((json_t *)map, attr, c) {
    ddb_node *one = strcmp(param, "Expected") == 0 ? expected(attr, c, e) : condition(attr, c, e);
    if (!one) {
      ddb_node_free(all);
      return -1;
    }
    if (!all) {
      all = one;
      continue;
    }
    ddb_node *j = ddb_node_new(or ? DN_OR : DN_AND, 0);
    if (ddb_node_add(j, all) < 0 || ddb_node_add(j, one) < 0) {
      if (!j)
        ddb_node_free(one);
      ddb_node_free(j);
      return ddb_fail(e, "InternalServerError", "out of memory");
    }
    all = j;
  }
  *out = all;
  return 0;
}

int ddb_legacy_update(ddb_node **out, const json_t *in, ddb_error *e) {
  const json_t *map = json_object_get(in, "AttributeUpdates");
  *out = NULL;
  if (!map)
    return 0;
  ddb_node *list = ddb_node_new(DN_LIST, 0);
  const char *attr;
  json_t *u;
  json_object_foreach((json_t *)map, attr, u) {
    const char *action = jsonutil_string(u, "Action");
    json_t *v = json_object_get(u, "Value");
    if (!action)
      action = "PUT";
    ddb_node *act = NULL;
    if (strcmp(action, "PUT") == 0) {
      if (!v) {
        ddb_invalid(e, "One or more parameter values were invalid: Only DELETE action is allowed "
                       "when no attribute value is specified");
        goto fail;
      }
      act = ddb_node_new(DN_SET, 0);
    } else if (strcmp(action, "DELETE") == 0) {
      act = ddb_node_new(v ? DN_DELETE : DN_REMOVE, 0);
    } else if (strcmp(action, "ADD") == 0) {
      if (!v) {
        ddb_invalid(e, "One or more parameter values were invalid: Only DELETE action is allowed "
                       "when no attribute value is specified");
        goto fail;
      }
      act = ddb_node_new(DN_ADD, 0);
    } else {
      ddb_invalid(e,
                  "1 validation error detected: Value '%s' at 'attributeUpdates.%s.member."
                  "action' failed to satisfy constraint: Member must satisfy enum value set: "
                  "[ADD, PUT, DELETE]",
                  action, attr);
      goto fail;
    }
    if (ddb_node_add(list, act) < 0 || ddb_node_add(act, path(attr)) < 0 ||
        (v && ddb_node_add(act, value(v, e)) < 0))
      goto fail;
  }
  *out = list;
  return 0;
fail:
  ddb_node_free(list);
  if (!e->code)
    ddb_fail(e, "InternalServerError", "out of memory");
  return -1;
}

int ddb_legacy_check_mix(const json_t *in, const char *const *legacy, const char *const *modern,
                         ddb_error *e) {
  for (const char *const *l = legacy; *l; l++) {
    if (!json_object_get(in, *l))
      continue;
    for (const char *const *m = modern; *m; m++)
      if (json_object_get(in, *m))
        return ddb_invalid(e,
                           "Can not use both expression and non-expression parameters in the same "
                           "request: Non-expression parameters: {%s} Expression parameters: {%s}",
                           *l, *m);
  }
  return 0;
}
