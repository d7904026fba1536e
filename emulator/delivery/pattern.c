/*
 * pattern.c — the event-pattern language shared by SNS filter policies and
 * EventBridge rules: a check that refuses what AWS refuses (with its reason),
 * and matching of a JSON document against a checked pattern.
 *
 * Patterns are matched in their JSON form, walked recursively: they are small
 * (AWS caps them) while documents can be large, and a pattern's object keys
 * name the few document members to look at. A leaf array matches when any
 * of its matchers matches any of the document's values there (a document
 * array offers each element). "exists": false is the one matcher that
 * matches an absent member. Depth is bounded by DELIVERY_PATTERN_MAX_DEPTH in
 * the check, so matching cannot recurse deeper than that.
 */
#include "emulator/delivery/delivery_int.h"

#include "common/error.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SNS_MAX_KEYS 5
#define SNS_MAX_COMBINATIONS 150

typedef struct check_ctx {
  delivery_dialect dialect;
  char *reason;
  size_t reason_len;
  int keys;
} check_ctx;

static int fail(check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(check_ctx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (c->reason && c->reason_len)
    vsnprintf(c->reason, c->reason_len, fmt, ap);
  va_end(ap);
  return AIRGAP_EINVALID;
}

/* ---- CIDR ---- */

/* Parses "a.b.c.d/n" or an IPv6 prefix into addr (16 bytes) and bits. */
static int cidr_parse(const char *s, unsigned char addr[16], int *family, int *bits) {
  char buf[64];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  if (n == 0 || n >= sizeof(buf))
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  memset(addr, 0, 16);
  int max;
  if (inet_pton(AF_INET, buf, addr) == 1) {
    *family = AF_INET;
    max = 32;
  } else if (inet_pton(AF_INET6, buf, addr) == 1) {
    *family = AF_INET6;
    max = 128;
  } else {
    return -1;
  }
  if (!slash) {
    *bits = max;
    return 0;
  }
  const char *p = slash + 1;
  int v = 0, digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 4) {
    v = v * 10 + (*p++ - '0');
    digits++;
  }
  if (!digits || *p || v > max)
    return -1;
  *bits = v;
  return 0;
}

static int cidr_contains(const char *cidr, const char *ip) {
  unsigned char net[16], a[16];
  int fam, bits, fam2, bits2;
  if (cidr_parse(cidr, net, &fam, &bits) < 0 || strchr(ip, '/') ||
      cidr_parse(ip, a, &fam2, &bits2) < 0 || fam != fam2)
    return 0;
  for (int i = 0; i < bits; i++) {
    int byte = i / 8, mask = 0x80 >> (i % 8);
    if ((net[byte] & mask) != (a[byte] & mask))
      return 0;
  }
  return 1;
}

/* ---- checks ---- */

static int is_str_or_eic(const json_t *v, delivery_dialect d) {
  if (json_is_string(v))
    return 1;
  return d == DELIVERY_EVENTBRIDGE && json_is_object(v) && json_object_size(v) == 1 &&
         json_is_string(json_object_get(v, "equals-ignore-case"));
}

static int check_numeric(check_ctx *c, const json_t *arr) {
  size_t n = json_array_size(arr);
  if (!json_is_array(arr) || (n != 2 && n != 4))
    return fail(c, "Value of numeric must be an array with 2 or 4 elements.");
  int lower = 0, upper = 0, eq = 0;
  double lo = -INFINITY, hi = INFINITY;
  for (size_t i = 0; i < n; i += 2) {
    const char *op = json_string_value(json_array_get(arr, i));
    json_t *num = json_array_get(arr, i + 1);
    if (!op)
      return fail(c, "Value of numeric must be an array of operators and numbers.");
    if (!json_is_number(num))
      return fail(c, "Value of %s must be numeric", op);
    double v = json_number_value(num);
    if (fabs(v) > 1e9 && c->dialect != DELIVERY_EVENTBRIDGE)
      return fail(c, "Value of %s must be numeric and between -1.0E9 and 1.0E9", op);
    if (!strcmp(op, "=")) {
      eq++;
    } else if (!strcmp(op, ">") || !strcmp(op, ">=")) {
      lower++;
      lo = v;
    } else if (!strcmp(op, "<") || !strcmp(op, "<=")) {
      upper++;
      hi = v;
    } else {
      return fail(c, "Unrecognized numeric range operator: %.32s", op);
    }
  }
  if (eq && n != 2)
    return fail(c, "Value of numeric operator = must be a single value");
  if (lower > 1 || upper > 1)
    return fail(c, "Too many elements in numeric expression");
  if (n == 4 && !(lower == 1 && upper == 1))
    return fail(c, "Bad numeric range operator");
  if (n == 4 && (json_is_string(json_array_get(arr, 0)) &&
                 (json_string_value(json_array_get(arr, 0))[0] == '<')))
    return fail(c, "Bad numeric range operator");
  if (lo >= hi)
    return fail(c, "Bottom must be less than top");
  return 0;
}

static int check_anything_but(check_ctx *c, const json_t *v) {
  if (json_is_string(v) || json_is_number(v))
    return 0;
  if (json_is_array(v)) {
    if (json_array_size(v) == 0)
      return fail(c, "Empty arrays are not allowed");
    int strings = 0, numbers = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (json_is_string(e))
        strings++;
      else if (json_is_number(e))
        numbers++;
      else
        return fail(c, "Inside anything but list, start|null|boolean is not supported.");
    }
    if (strings && numbers)
      return fail(c, "Inside anything but list, mixed types are not supported.");
    return 0;
  }
  if (json_is_object(v) && json_object_size(v) == 1) {
    const char *op = json_object_iter_key(json_object_iter((json_t *)v));
    json_t *arg = json_object_get(v, op);
    int ok_op = !strcmp(op, "prefix") || !strcmp(op, "suffix") ||
                !strcmp(op, "equals-ignore-case") ||
                (c->dialect == DELIVERY_EVENTBRIDGE && !strcmp(op, "wildcard"));
    if (!ok_op)
      return fail(c, "Unsupported anything-but pattern: %.64s", op);
    if (json_is_string(arg))
      return json_string_length(arg) || !strcmp(op, "equals-ignore-case")
                 ? 0
                 : fail(c, "Null prefix/suffix not allowed");
    if (json_is_array(arg) && json_array_size(arg) > 0) {
      size_t i;
      json_t *e;
      json_array_foreach(arg, i, e) if (!json_is_string(e)) return fail(
          c, "Value of %s must be a string or an array of strings", op);
      return 0;
    }
    return fail(c, "Value of %s must be a string or an array of strings", op);
  }
  return fail(c, "Value of anything-but must be an array or single string/number value.");
}

static int check_matcher(check_ctx *c, const json_t *m) {
  if (json_is_string(m) || json_is_number(m))
    return 0;
  if (json_is_null(m) || json_is_boolean(m)) {
    if (c->dialect == DELIVERY_EVENTBRIDGE)
      return 0;
    return fail(c, "Match value must be String, number, true, false, or null");
  }
  if (json_is_array(m))
    return fail(c, "Match value must be String, number, true, false, or null");
  if (json_object_size(m) != 1)
    return fail(c, "Only one key allowed in match expression");
  const char *op = json_object_iter_key(json_object_iter((json_t *)m));
  json_t *v = json_object_get(m, op);
  if (!strcmp(op, "prefix") || !strcmp(op, "suffix")) {
    if (!is_str_or_eic(v, c->dialect))
      return fail(c, "%s match pattern must be a string", op);
    if (json_is_string(v) && json_string_length(v) == 0 && c->dialect != DELIVERY_EVENTBRIDGE)
      return fail(c, "Null prefix/suffix not allowed");
    return 0;
  }
  if (!strcmp(op, "anything-but"))
    return check_anything_but(c, v);
  if (!strcmp(op, "numeric"))
    return check_numeric(c, v);
  if (!strcmp(op, "exists")) {
    if (!json_is_boolean(v))
      return fail(c, "exists match pattern must be either true or false.");
    return 0;
  }
  if (!strcmp(op, "equals-ignore-case")) {
    if (!json_is_string(v))
      return fail(c, "equals-ignore-case match pattern must be a string");
    return 0;
  }
  if (!strcmp(op, "cidr")) {
    unsigned char a[16];
    int fam, bits;
    if (!json_is_string(v) || cidr_parse(json_string_value(v), a, &fam, &bits) < 0)
      return fail(c, "Malformed CIDR, one '/' required");
    return 0;
  }
  if (!strcmp(op, "wildcard") && c->dialect == DELIVERY_EVENTBRIDGE) {
    if (!json_is_string(v))
      return fail(c, "wildcard match pattern must be a string");
    if (strstr(json_string_value(v), "**"))
      return fail(c, "Consecutive wildcard characters at pos %zu",
                  (size_t)(strstr(json_string_value(v), "**") - json_string_value(v)) + 1);
    return 0;
  }
  return fail(c, "Unrecognized match type %.64s", op);
}

/* Checks an object; *combos receives its number of value combinations. */
static int check_object(check_ctx *c, const json_t *p, int depth, double *combos) {
  if (depth > DELIVERY_PATTERN_MAX_DEPTH)
    return fail(c, "Pattern nested too deep");
  if (!json_is_object(p))
    return fail(c, "Filter is not an object");
  double total = 1;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)p, key, v) {
    if (!strcmp(key, "$or")) {
      if (!json_is_array(v) || json_array_size(v) < 2)
        return fail(c, "Value of $or must be an array of at least two objects");
      double sum = 0;
      size_t i;
      json_t *alt;
      json_array_foreach(v, i, alt) {
        double sub = 1;
        if (!json_is_object(alt))
          return fail(c, "Value of $or must be an array of objects");
        if (check_object(c, alt, depth + 1, &sub) < 0)
          return AIRGAP_EINVALID;
        sum += sub;
      }
      total *= sum;
      continue;
    }
    if (json_is_object(v)) {
      if (c->dialect == DELIVERY_SNS_ATTRIBUTES)
        return fail(c, "Filter policy scope MessageAttributes does not support nested filter "
                       "policy");
      if (json_object_size(v) == 0)
        return fail(c, "Empty objects are not allowed");
      double sub = 1;
      if (check_object(c, v, depth + 1, &sub) < 0)
        return AIRGAP_EINVALID;
      total *= sub;
      continue;
    }
    if (!json_is_array(v))
      return fail(c, "Match value must be an array of match expressions (key %.64s)", key);
    if (json_array_size(v) == 0)
      return fail(c, "Empty arrays are not allowed");
    c->keys++;
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) if (check_matcher(c, m) < 0) return AIRGAP_EINVALID;
    total *= (double)json_array_size(v);
  }
  *combos = total;
  return 0;
}

int delivery_pattern_check(const json_t *pattern, delivery_dialect dialect, char *reason,
                           size_t reason_len) {
  check_ctx c = {dialect, reason, reason_len, 0};
  if (reason && reason_len)
    reason[0] = '\0';
  if (!json_is_object(pattern))
    return fail(&c, dialect == DELIVERY_EVENTBRIDGE ? "Filter is not an object"
                                                    : "Filter policy must be a JSON object");
  double combos = 1;
  if (check_object(&c, pattern, 0, &combos) < 0)
    return AIRGAP_EINVALID;
  if (dialect != DELIVERY_EVENTBRIDGE) {
    if (c.keys > SNS_MAX_KEYS)
      return fail(&c, "Filter policy can not have more than %d keys", SNS_MAX_KEYS);
    if (combos > SNS_MAX_COMBINATIONS)
      return fail(&c, "Filter policy is too complex");
  }
  return 0;
}

/* ---- matching ---- */

static int wildcard_match(const char *pat, const char *s) {
  /* Iterative glob with '*' only; "\\*" is a literal star. */
  const char *star = NULL, *resume = NULL;
  while (*s) {
    if (*pat == '\\' && pat[1] == '*' && *s == '*') {
      pat += 2;
      s++;
    } else if (*pat == '*') {
      star = ++pat;
      resume = s;
    } else if (*pat && *pat == *s) {
      pat++;
      s++;
    } else if (star) {
      pat = star;
      s = ++resume;
    } else {
      return 0;
    }
  }
  while (*pat == '*')
    pat++;
  return *pat == '\0';
}

static int has_prefix(const char *s, const char *p, int nocase) {
  size_t n = strlen(p);
  return strlen(s) >= n && (nocase ? strncasecmp(s, p, n) : strncmp(s, p, n)) == 0;
}

static int has_suffix(const char *s, const char *p, int nocase) {
  size_t n = strlen(p), l = strlen(s);
  return l >= n && (nocase ? strcasecmp(s + l - n, p) : strcmp(s + l - n, p)) == 0;
}

/* prefix/suffix argument: a string, or {"equals-ignore-case": s}. */
static int affix_match(const json_t *arg, const char *s, int suffix) {
  int nocase = json_is_object(arg);
  const char *p = nocase ? json_string_value(json_object_get(arg, "equals-ignore-case"))
                         : json_string_value(arg);
  if (!p)
    return 0;
  return suffix ? has_suffix(s, p, nocase) : has_prefix(s, p, nocase);
}

static int numbers_equal(double a, double b) { return a == b; }

static int numeric_match(const json_t *arr, double v) {
  for (size_t i = 0; i + 1 < json_array_size(arr); i += 2) {
    const char *op = json_string_value(json_array_get(arr, i));
    double x = json_number_value(json_array_get(arr, i + 1));
    if (!op)
      return 0;
    int ok = !strcmp(op, "=")    ? numbers_equal(v, x)
             : !strcmp(op, "<")  ? v < x
             : !strcmp(op, "<=") ? v <= x
             : !strcmp(op, ">")  ? v > x
             : !strcmp(op, ">=") ? v >= x
                                 : 0;
    if (!ok)
      return 0;
  }
  return 1;
}

static int literal_equal(const json_t *m, const json_t *v) {
  if (json_is_string(m))
    return json_is_string(v) && json_string_length(m) == json_string_length(v) &&
           memcmp(json_string_value(m), json_string_value(v), json_string_length(m)) == 0;
  if (json_is_number(m))
    return json_is_number(v) && numbers_equal(json_number_value(m), json_number_value(v));
  if (json_is_null(m))
    return json_is_null(v);
  if (json_is_boolean(m))
    return json_is_boolean(v) && json_is_true(m) == json_is_true(v);
  return 0;
}

static int anything_but_match(const json_t *arg, const json_t *v) {
  if (json_is_array(arg)) {
    size_t i;
    json_t *e;
    json_array_foreach(arg, i, e) if (literal_equal(e, v)) return 0;
    return 1;
  }
  if (json_is_object(arg)) {
    const char *op = json_object_iter_key(json_object_iter((json_t *)arg));
    json_t *a = json_object_get(arg, op);
    if (!json_is_string(v))
      return 0;
    const char *s = json_string_value(v);
    size_t n = json_is_array(a) ? json_array_size(a) : 1;
    for (size_t i = 0; i < n; i++) {
      const char *p = json_string_value(json_is_array(a) ? json_array_get(a, i) : a);
      if (!p)
        return 0;
      int hit = !strcmp(op, "prefix")               ? has_prefix(s, p, 0)
                : !strcmp(op, "suffix")             ? has_suffix(s, p, 0)
                : !strcmp(op, "equals-ignore-case") ? strcasecmp(s, p) == 0
                : !strcmp(op, "wildcard")           ? wildcard_match(p, s)
                                                    : 1;
      if (hit)
        return 0;
    }
    return 1;
  }
  return !literal_equal(arg, v);
}

/* One matcher against one present value (not an array). */
static int matcher_match(const json_t *m, const json_t *v) {
  if (!json_is_object(m))
    return literal_equal(m, v);
  const char *op = json_object_iter_key(json_object_iter((json_t *)m));
  json_t *arg = json_object_get(m, op);
  const char *s = json_string_value(v);
  if (!strcmp(op, "prefix"))
    return s && affix_match(arg, s, 0);
  if (!strcmp(op, "suffix"))
    return s && affix_match(arg, s, 1);
  if (!strcmp(op, "equals-ignore-case"))
    return s && json_is_string(arg) && strcasecmp(s, json_string_value(arg)) == 0;
  if (!strcmp(op, "wildcard"))
    return s && json_is_string(arg) && wildcard_match(json_string_value(arg), s);
  if (!strcmp(op, "numeric"))
    return json_is_number(v) && numeric_match(arg, json_number_value(v));
  if (!strcmp(op, "anything-but"))
    return anything_but_match(arg, v);
  if (!strcmp(op, "cidr"))
    return s && json_is_string(arg) && cidr_contains(json_string_value(arg), s);
  return 0;
}

/* A leaf: the matchers against the member's value(s); value NULL = absent. */
static int leaf_match(const json_t *matchers, const json_t *value) {
  size_t i;
  json_t *m;
  json_array_foreach(matchers, i, m) {
    json_t *ex = json_is_object(m) ? json_object_get(m, "exists") : NULL;
    if (ex && json_object_size(m) == 1) {
      /* An empty array counts as absent, as in EventBridge. */
      int present = value && !(json_is_array(value) && json_array_size(value) == 0);
      if (json_is_true(ex) == present)
        return 1;
      continue;
    }
    if (!value)
      continue;
    if (json_is_array(value)) {
      size_t j;
      json_t *e;
      json_array_foreach(value, j, e) if (matcher_match(m, e)) return 1;
    } else if (matcher_match(m, value)) {
      return 1;
    }
  }
  return 0;
}

static int object_match(const json_t *p, const json_t *doc);

/* A nested pattern against a member: an object, or an array of objects (any). */
static int nested_match(const json_t *p, const json_t *value) {
  if (json_is_array(value)) {
    size_t i;
    json_t *e;
    json_array_foreach(value, i, e) if (json_is_object(e) && object_match(p, e)) return 1;
    return 0;
  }
  return object_match(p, json_is_object(value) ? value : NULL);
}

static int object_match(const json_t *p, const json_t *doc) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)p, key, v) {
    if (!strcmp(key, "$or")) {
      int any = 0;
      size_t i;
      json_t *alt;
      json_array_foreach(v, i, alt) if (object_match(alt, doc)) {
        any = 1;
        break;
      }
      if (!any)
        return 0;
      continue;
    }
    json_t *value = doc ? json_object_get(doc, key) : NULL;
    int ok = json_is_object(v) ? nested_match(v, value) : leaf_match(v, value);
    if (!ok)
      return 0;
  }
  return 1;
}

int delivery_pattern_match(const json_t *pattern, const json_t *document) {
  if (!json_is_object(pattern))
    return 0;
  return object_match(pattern, json_is_object(document) ? document : NULL);
}
