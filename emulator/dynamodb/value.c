/*
 * value.c — DynamoDB attribute values: validation of what clients send (with
 * AWS's messages), equality and ordering, item size, and key bytes.
 *
 * Values stay in the JSON protocol's form ({"S": …}, {"N": "1.5"}, …) so a
 * stored item is answered without conversion. Numbers are canonicalised on
 * the way in (number.c), so equal numbers are equal strings and equality
 * needs no arithmetic; ordering of numbers goes through GMP. B values are
 * the base64 text the protocol layer hands over; their bytes are decoded
 * only where order matters (keys, < and >, begins_with).
 */
#include "emulator/dynamodb/dynamodb_int.h"
#include "common/codec.h"

#include <stdlib.h>
#include <string.h>

static const char *const TYPES[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

const char *ddb_value_type(const json_t *v) {
  if (!json_is_object(v) || json_object_size(v) != 1)
    return NULL;
  for (size_t i = 0; i < NTYPES; i++)
    if (json_object_get(v, TYPES[i]))
      return TYPES[i];
  return NULL;
}

json_t *ddb_value_payload(const json_t *v) {
  const char *t = ddb_value_type(v);
  return t ? json_object_get(v, t) : NULL;
}

json_t *ddb_number_value(const char *text) { return json_pack("{s:s}", "N", text); }

static int check_depth(json_t **out, const json_t *v, ddb_error *e, int depth);

static const char *set_word(const char *t) {
  return t[0] == 'S' ? "string" : t[0] == 'N' ? "number" : "binary";
}

/* Checks a set's members (strings) and, for NS, canonicalises them. */
static int check_set(json_t **out, const char *t, const json_t *arr, ddb_error *e) {
  if (!json_is_array(arr))
    return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
  if (json_array_size(arr) == 0)
    return ddb_invalid(e, "One or more parameter values were invalid: An %s set  may not be empty",
                       set_word(t));
  json_t *res = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(arr, i, m) {
    const char *s = json_string_value(m);
    if (!s) {
      json_decref(res);
      return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
    }
    if (t[0] == 'N') {
      char *c = NULL;
      if (ddb_num_canonical(&c, s, e) < 0) {
        json_decref(res);
        return -1;
      }
      json_array_append_new(res, json_string(c));
      free(c);
    } else {
      json_array_append_new(res, json_string(s));
    }
  }
  for (size_t a = 0; a < json_array_size(res); a++)
    for (size_t b = a + 1; b < json_array_size(res); b++)
      if (strcmp(json_string_value(json_array_get(res, a)),
                 json_string_value(json_array_get(res, b))) == 0) {
        ddb_invalid(e,
                    "One or more parameter values were invalid: Input collection contains "
                    "duplicates: %.200s",
                    json_string_value(json_array_get(res, a)));
        json_decref(res);
        return -1;
      }
  *out = json_pack("{s:o}", t, res);
  return 0;
}

static int check_depth(json_t **out, const json_t *v, ddb_error *e, int depth) {
  if (depth > DDB_MAX_DEPTH)
    return ddb_invalid(e,
                       "Nesting Levels have exceeded supported limits: Attribute value nested "
                       "more than %d levels",
                       DDB_MAX_DEPTH);
  if (!json_is_object(v))
    return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
  size_t set = 0;
  for (size_t i = 0; i < NTYPES; i++)
    set += json_object_get(v, TYPES[i]) != NULL;
  if (set == 0)
    return ddb_invalid(e, "Supplied AttributeValue is empty, must contain exactly one of the "
                          "supported datatypes");
  if (set > 1)
    return ddb_invalid(e, "Supplied AttributeValue has more than one datatypes set, must contain "
                          "exactly one of the supported datatypes");
  const char *t = ddb_value_type(v);
  if (!t) /* members the protocol layer would have dropped: be strict */
    return ddb_invalid(e, "Supplied AttributeValue is empty, must contain exactly one of the "
                          "supported datatypes");
  json_t *p = json_object_get(v, t);
  if (strcmp(t, "N") == 0) {
    char *c = NULL;
    if (!json_is_string(p))
      return ddb_fail(e, "SerializationException", "NUMBER_VALUE cannot be converted to String");
    if (ddb_num_canonical(&c, json_string_value(p), e) < 0)
      return -1;
    *out = ddb_number_value(c);
    free(c);
    return 0;
  }
  if (strcmp(t, "S") == 0 || strcmp(t, "B") == 0) {
    if (!json_is_string(p))
      return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
    *out = json_deep_copy(v);
    return 0;
  }
  if (strcmp(t, "BOOL") == 0) {
    if (!json_is_boolean(p))
      return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
    *out = json_deep_copy(v);
    return 0;
  }
  if (strcmp(t, "NULL") == 0) {
    if (!json_is_true(p))
      return ddb_invalid(e, "One or more parameter values were invalid: Null attribute value "
                            "types must have the value of true");
    *out = json_deep_copy(v);
    return 0;
  }
  if (t[1] == 'S')
    return check_set(out, t, p, e);
  if (strcmp(t, "L") == 0) {
    if (!json_is_array(p))
      return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
    json_t *res = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(p, i, m) {
      json_t *c = NULL;
      if (check_depth(&c, m, e, depth + 1) < 0) {
        json_decref(res);
        return -1;
      }
      json_array_append_new(res, c);
    }
    *out = json_pack("{s:o}", "L", res);
    return 0;
  }
  /* M */
  if (!json_is_object(p))
    return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
  json_t *res = json_object();
  const char *k;
  json_t *m;
  json_object_foreach(p, k, m) {
    json_t *c = NULL;
    if (check_depth(&c, m, e, depth + 1) < 0) {
      json_decref(res);
      return -1;
    }
    json_object_set_new(res, k, c);
  }
  *out = json_pack("{s:o}", "M", res);
  return 0;
}

int ddb_value_check(json_t **out, const json_t *v, ddb_error *e) {
  return check_depth(out, v, e, 0);
}

int ddb_item_check(json_t **out, const json_t *item, ddb_error *e) {
  if (!json_is_object(item))
    return ddb_fail(e, "SerializationException", "Unexpected value type in payload");
  json_t *res = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)item, k, v) {
    json_t *c = NULL;
    if (check_depth(&c, v, e, 1) < 0) {
      json_decref(res);
      return -1;
    }
    json_object_set_new(res, k, c);
  }
  *out = res;
  return 0;
}

static int string_in(const json_t *arr, const char *s) {
  size_t i;
  json_t *m;
  json_array_foreach(arr, i, m) if (strcmp(json_string_value(m), s) == 0) return 1;
  return 0;
}

int ddb_value_equal(const json_t *a, const json_t *b) {
  const char *ta = ddb_value_type(a), *tb = ddb_value_type(b);
  if (!ta || !tb || strcmp(ta, tb) != 0)
    return 0;
  json_t *pa = json_object_get(a, ta), *pb = json_object_get(b, tb);
  if (strcmp(ta, "SS") == 0 || strcmp(ta, "NS") == 0 || strcmp(ta, "BS") == 0)
    goto set;
  if (strcmp(ta, "L") == 0) {
    if (json_array_size(pa) != json_array_size(pb))
      return 0;
    for (size_t i = 0; i < json_array_size(pa); i++)
      if (!ddb_value_equal(json_array_get(pa, i), json_array_get(pb, i)))
        return 0;
    return 1;
  }
  if (strcmp(ta, "M") == 0) {
    if (json_object_size(pa) != json_object_size(pb))
      return 0;
    const char *k;
    json_t *v;
    json_object_foreach(pa, k, v) {
      if (!ddb_value_equal(v, json_object_get(pb, k)))
        return 0;
    }
    return 1;
  }
  /* Canonical scalars: S, N, B, BOOL, NULL. */
  return json_equal(pa, pb);
set:
  if (json_array_size(pa) != json_array_size(pb))
    return 0;
  for (size_t i = 0; i < json_array_size(pa); i++)
    if (!string_in(pb, json_string_value(json_array_get(pa, i))))
      return 0;
  return 1;
}

int ddb_key_bytes(ddb_bytes *out, const json_t *v, char type) {
  char t[2] = {type, 0};
  const char *s = json_string_value(json_object_get(v, t));
  if (!s || json_object_size(v) != 1)
    return -1;
  out->p = NULL;
  out->len = 0;
  if (type == 'S') {
    out->len = strlen(s);
    out->p = malloc(out->len + 1);
    if (!out->p)
      return -1;
    memcpy(out->p, s, out->len + 1);
    return 0;
  }
  if (type == 'B') {
    unsigned char *d = NULL;
    size_t n = 0;
    if (codec_base64_decode(&d, &n, s, strlen(s)) < 0)
      return -1;
    out->p = d;
    out->len = n;
    return 0;
  }
  ddb_num n;
  ddb_error e = {0};
  ddb_num_init(&n);
  int rc = ddb_num_parse(&n, s, &e);
  if (rc == 0)
    rc = ddb_num_sortable(&out->p, &out->len, &n);
  ddb_num_clear(&n);
  return rc;
}

int ddb_bytes_cmp(const ddb_bytes *a, const ddb_bytes *b) {
  size_t n = a->len < b->len ? a->len : b->len;
  int c = n ? memcmp(a->p, b->p, n) : 0;
  if (c)
    return c < 0 ? -1 : 1;
  return a->len < b->len ? -1 : a->len > b->len;
}

int ddb_bytes_prefix(const ddb_bytes *b, const ddb_bytes *prefix) {
  return b->len >= prefix->len && (prefix->len == 0 || memcmp(b->p, prefix->p, prefix->len) == 0);
}

void ddb_bytes_free(ddb_bytes *b) {
  free(b->p);
  b->p = NULL;
  b->len = 0;
}

int ddb_value_order(int *out, const json_t *a, const json_t *b) {
  const char *ta = ddb_value_type(a), *tb = ddb_value_type(b);
  if (!ta || !tb || strcmp(ta, tb) != 0 || ta[1] != '\0' || ta[0] == 'L' || ta[0] == 'M')
    return -1;
  if (ta[0] == 'N') {
    *out = ddb_num_text_cmp(json_string_value(json_object_get(a, "N")),
                            json_string_value(json_object_get(b, "N")));
    return 0;
  }
  ddb_bytes x, y;
  if (ddb_key_bytes(&x, a, ta[0]) < 0)
    return -1;
  if (ddb_key_bytes(&y, b, ta[0]) < 0) {
    ddb_bytes_free(&x);
    return -1;
  }
  *out = ddb_bytes_cmp(&x, &y);
  ddb_bytes_free(&x);
  ddb_bytes_free(&y);
  return 0;
}

/* Bytes of a number: one per two significant digits, plus one. */
static size_t number_size(const char *s) {
  size_t digits = 0, lead = 1, zeros = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      continue;
    if (*s == '0' && lead)
      continue;
    lead = 0;
    if (*s == '0') {
      zeros++;
    } else {
      digits += zeros + 1;
      zeros = 0;
    }
  }
  return (digits + 1) / 2 + 1;
}

static size_t binary_size(const char *b64) {
  size_t n = strlen(b64), pad = 0;
  if (n >= 1 && b64[n - 1] == '=')
    pad++;
  if (n >= 2 && b64[n - 2] == '=')
    pad++;
  return n / 4 * 3 - pad;
}

static size_t value_size(const json_t *v) {
  const char *t = ddb_value_type(v);
  json_t *p = t ? json_object_get(v, t) : NULL;
  if (!t)
    return 0;
  if (strcmp(t, "S") == 0)
    return json_string_length(p);
  if (strcmp(t, "N") == 0)
    return number_size(json_string_value(p));
  if (strcmp(t, "B") == 0)
    return binary_size(json_string_value(p));
  if (strcmp(t, "BOOL") == 0 || strcmp(t, "NULL") == 0)
    return 1;
  size_t total = 0, i;
  json_t *m;
  if (strcmp(t, "SS") == 0 || strcmp(t, "NS") == 0 || strcmp(t, "BS") == 0) {
    json_array_foreach(p, i, m) {
      const char *s = json_string_value(m);
      total += t[0] == 'S' ? strlen(s) : t[0] == 'N' ? number_size(s) : binary_size(s);
    }
    return total;
  }
  total = 3;
  if (strcmp(t, "L") == 0) {
    json_array_foreach(p, i, m) total += 1 + value_size(m);
    return total;
  }
  const char *k;
  json_object_foreach(p, k, m) total += 1 + strlen(k) + value_size(m);
  return total;
}

size_t ddb_item_size(const json_t *item) {
  size_t total = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)item, k, v) total += strlen(k) + value_size(v);
  return total;
}
