/*
 * iam_eval.c — evaluation of one IAM policy document for one action on one
 * resource, as AWS's policy evaluation logic describes it: an explicit Deny
 * wins, else an Allow, else the implicit deny. Action/NotAction (service
 * prefix and action case-insensitive) and Resource/NotResource match with
 * the * and ? wildcards.
 *
 * Conditions are evaluated best effort against the context the caller gives
 * (SimulatePrincipalPolicy's ContextEntries): the String*, Numeric*, Bool,
 * Arn* and Null operators, their IfExists forms and the ForAnyValue: /
 * ForAllValues: set qualifiers. A key the context lacks makes its condition
 * false (and is reported as missing), except under IfExists, Null and
 * ForAllValues, as AWS documents. Date and IP address operators and policy
 * variables (${aws:username}) are not evaluated: a condition using them does
 * not match. The input is a document iam_check_document accepted, but
 * nothing here relies on that beyond its being a JSON object.
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int iam_wildcard(const char *p, const char *s, int nocase) {
  /* Iterative matcher with one backtrack point: linear enough for the
   * bounded patterns of a policy, and no recursion on hostile input. */
  const char *star = NULL, *resume = NULL;
  while (*s) {
    char pc = *p, sc = *s;
    if (nocase) {
      pc = (char)tolower((unsigned char)pc);
      sc = (char)tolower((unsigned char)sc);
    }
    if (*p == '*') {
      star = p++;
      resume = s;
    } else if (*p && (*p == '?' || pc == sc)) {
      p++;
      s++;
    } else if (star) {
      p = star + 1;
      s = ++resume;
    } else {
      return 0;
    }
  }
  while (*p == '*')
    p++;
  return *p == '\0';
}

/* 1 when any string of v (a string or a list) matches s. */
static int any_match(const json_t *v, const char *s, int nocase) {
  if (json_is_string(v))
    return iam_wildcard(json_string_value(v), s, nocase);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (json_is_string(e) && iam_wildcard(json_string_value(e), s, nocase))
      return 1;
  }
  return 0;
}

/* ---- conditions ---- */

typedef enum { OP_STRING, OP_NUMERIC, OP_BOOL, OP_ARN, OP_NULL, OP_UNKNOWN } op_family;

typedef struct cond_op {
  op_family family;
  int negate, nocase, like, if_exists;
  int cmp; /* numeric: 0 eq, -1 lt, -2 le, 1 gt, 2 ge */
} cond_op;

static cond_op parse_op(const char *name) {
  cond_op op = {OP_UNKNOWN, 0, 0, 0, 0, 0};
  char buf[128];
  size_t n = strlen(name);
  if (n >= sizeof(buf))
    return op;
  memcpy(buf, name, n + 1);
  if (n > 8 && !strcmp(buf + n - 8, "IfExists")) {
    op.if_exists = 1;
    buf[n - 8] = '\0';
  }
  static const struct {
    const char *name;
    op_family family;
    int negate, nocase, like, cmp;
  } ops[] = {
      {"StringEquals", OP_STRING, 0, 0, 0, 0},
      {"StringNotEquals", OP_STRING, 1, 0, 0, 0},
      {"StringEqualsIgnoreCase", OP_STRING, 0, 1, 0, 0},
      {"StringNotEqualsIgnoreCase", OP_STRING, 1, 1, 0, 0},
      {"StringLike", OP_STRING, 0, 0, 1, 0},
      {"StringNotLike", OP_STRING, 1, 0, 1, 0},
      {"NumericEquals", OP_NUMERIC, 0, 0, 0, 0},
      {"NumericNotEquals", OP_NUMERIC, 1, 0, 0, 0},
      {"NumericLessThan", OP_NUMERIC, 0, 0, 0, -1},
      {"NumericLessThanEquals", OP_NUMERIC, 0, 0, 0, -2},
      {"NumericGreaterThan", OP_NUMERIC, 0, 0, 0, 1},
      {"NumericGreaterThanEquals", OP_NUMERIC, 0, 0, 0, 2},
      {"Bool", OP_BOOL, 0, 1, 0, 0},
      {"ArnEquals", OP_ARN, 0, 0, 1, 0},
      {"ArnLike", OP_ARN, 0, 0, 1, 0},
      {"ArnNotEquals", OP_ARN, 1, 0, 1, 0},
      {"ArnNotLike", OP_ARN, 1, 0, 1, 0},
      {"Null", OP_NULL, 0, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    if (!strcmp(buf, ops[i].name)) {
      op.family = ops[i].family;
      op.negate = ops[i].negate;
      op.nocase = ops[i].nocase;
      op.like = ops[i].like;
      op.cmp = ops[i].cmp;
    }
  return op;
}

/* 1 when the context value matches the condition value (before negation). */
static int value_match(const cond_op *op, const char *want, const char *have) {
  switch (op->family) {
  case OP_STRING:
  case OP_ARN:
    if (op->like)
      return iam_wildcard(want, have, op->nocase);
    return op->nocase ? !strcasecmp(want, have) : !strcmp(want, have);
  case OP_BOOL: return !strcasecmp(want, have);
  case OP_NUMERIC: {
    char *e1 = NULL, *e2 = NULL;
    double w = strtod(want, &e1), h = strtod(have, &e2);
    if (!*want || !*have || *e1 || *e2)
      return 0;
    switch (op->cmp) {
    case -1: return h < w;
    case -2: return h <= w;
    case 1: return h > w;
    case 2: return h >= w;
    default: return h == w;
    }
  }
  default: return 0;
  }
}

/* A condition value as text (policies write numbers and booleans bare too). */
static const char *text_of(const json_t *v, char *buf, size_t n) {
  if (json_is_string(v))
    return json_string_value(v);
  if (json_is_boolean(v))
    return json_is_true(v) ? "true" : "false";
  if (json_is_integer(v)) {
    snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
  }
  if (json_is_real(v)) {
    snprintf(buf, n, "%.17g", json_real_value(v));
    return buf;
  }
  return NULL;
}

/* 1 when one context value matches one of wants (a value or a list). */
static int one_matches(const cond_op *op, const json_t *wants, const char *have) {
  char buf[64];
  size_t n = json_is_array(wants) ? json_array_size(wants) : 1;
  for (size_t i = 0; i < n; i++) {
    const char *w =
        text_of(json_is_array(wants) ? json_array_get(wants, i) : wants, buf, sizeof(buf));
    if (w && value_match(op, w, have))
      return 1;
  }
  return 0;
}

static void add_missing(json_t *missing, const char *key) {
  if (!missing)
    return;
  size_t i;
  json_t *e;
  json_array_foreach(missing, i, e) {
    if (!strcasecmp(json_string_value(e), key))
      return;
  }
  json_array_append_new(missing, json_string(key));
}

/* One operator block {key: values, …}: all keys must match. */
static int block_matches(const char *op_name, const json_t *block, const json_t *context,
                         json_t *missing) {
  int any_value = 0, all_values = 0;
  if (!strncmp(op_name, "ForAnyValue:", 12)) {
    any_value = 1;
    op_name += 12;
  } else if (!strncmp(op_name, "ForAllValues:", 13)) {
    all_values = 1;
    op_name += 13;
  }
  cond_op op = parse_op(op_name);
  if (op.family == OP_UNKNOWN || !json_is_object(block))
    return 0;
  const char *key;
  json_t *wants;
  json_object_foreach((json_t *)block, key, wants) {
    char lkey[256];
    size_t kn = strlen(key) < sizeof(lkey) - 1 ? strlen(key) : sizeof(lkey) - 1;
    for (size_t i = 0; i < kn; i++)
      lkey[i] = (char)tolower((unsigned char)key[i]);
    lkey[kn] = '\0';
    const json_t *haves = json_object_get(context, lkey);
    if (op.family == OP_NULL) {
      char buf[64];
      const char *w =
          text_of(json_is_array(wants) ? json_array_get(wants, 0) : wants, buf, sizeof(buf));
      int want_absent = w && !strcasecmp(w, "true");
      if (want_absent != (haves == NULL))
        return 0;
      continue;
    }
    if (!haves || json_array_size(haves) == 0) {
      if (op.if_exists || all_values)
        continue;
      add_missing(missing, key);
      return 0;
    }
    size_t i, matched = 0, n = json_array_size(haves);
    json_t *h;
    json_array_foreach(haves, i, h) {
      matched += one_matches(&op, wants, json_string_value(h)) ? 1 : 0;
    }
    int ok;
    if (all_values)
      ok = op.negate ? matched == 0 : matched == n;
    else if (any_value)
      ok = op.negate ? matched < n : matched > 0;
    else
      ok = op.negate ? matched == 0 : matched > 0;
    if (!ok)
      return 0;
  }
  return 1;
}

static int conditions_match(const json_t *cond, const json_t *context, json_t *missing) {
  if (!cond)
    return 1;
  const char *op;
  json_t *block;
  int ok = 1;
  /* Every block is evaluated (not only up to the first failure) so that all
   * missing keys are reported. */
  json_object_foreach((json_t *)cond, op, block) {
    if (!block_matches(op, block, context, missing))
      ok = 0;
  }
  return ok;
}

/* ---- statements ---- */

static int statement_applies(const json_t *s, const char *action, const char *resource,
                             const json_t *context, json_t *missing) {
  const json_t *a = json_object_get(s, "Action");
  const json_t *na = json_object_get(s, "NotAction");
  if (a ? !any_match(a, action, 1) : na ? any_match(na, action, 1) : 1)
    return 0;
  const json_t *r = json_object_get(s, "Resource");
  const json_t *nr = json_object_get(s, "NotResource");
  if (r ? !any_match(r, resource, 0) : nr ? any_match(nr, resource, 0) : 0)
    return 0;
  return conditions_match(json_object_get(s, "Condition"), context, missing);
}

iam_decision iam_eval_document(const json_t *doc, const char *action, const char *resource,
                               const json_t *context, json_t *missing, int *matched) {
  const json_t *stmts = json_object_get(doc, "Statement");
  size_t n = json_is_array(stmts) ? json_array_size(stmts) : (json_is_object(stmts) ? 1 : 0);
  int allow = -1;
  *matched = -1;
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
    if (!json_is_object(s) || !statement_applies(s, action, resource, context, missing))
      continue;
    const char *effect = jsonutil_string(s, "Effect");
    if (effect && !strcmp(effect, "Deny")) {
      *matched = (int)i;
      return IAM_EXPLICIT_DENY;
    }
    if (effect && !strcmp(effect, "Allow") && allow < 0)
      allow = (int)i;
  }
  *matched = allow;
  return allow >= 0 ? IAM_ALLOWED : IAM_IMPLICIT_DENY;
}

void iam_eval_context_keys(const json_t *doc, json_t *keys) {
  const json_t *stmts = json_object_get(doc, "Statement");
  size_t n = json_is_array(stmts) ? json_array_size(stmts) : (json_is_object(stmts) ? 1 : 0);
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_is_array(stmts) ? json_array_get(stmts, i) : stmts;
    const char *op;
    json_t *block;
    json_object_foreach(json_object_get(s, "Condition"), op, block) {
      const char *key;
      json_t *v;
      json_object_foreach(block, key, v) { add_missing(keys, key); }
    }
  }
}
