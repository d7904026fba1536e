/*
 * select_eval.c — S3 Select's values and the evaluation of a parsed query's
 * expressions over one record (select_sql.c builds them, select.c runs them).
 *
 * PartiQL's rules as S3 Select applies them: NULL and MISSING propagate
 * through operators and functions (MISSING IS NULL holds), logic is
 * three-valued and WHERE keeps a record only when it is TRUE; integers stay
 * integers (5 / 2 is 2) until they overflow, decimals stay exact with their
 * scale (1.50 * 2 is 3.00; GMP integers), floats are IEEE doubles. CSV fields
 * are strings: compared with or added to a number, a numeric string counts
 * as that number (a non-numeric one compares as unknown). Strings are UTF-8;
 * lengths and positions count code points.
 */
#include "emulator/s3/s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- values ---- */

void s3sel_value_clear(s3sel_value *v) {
  if (v->t == S3SEL_DEC)
    mpz_clear(v->d);
  if (v->t == S3SEL_STR)
    free(v->s);
  if (v->t == S3SEL_JSON)
    json_decref(v->j);
  memset(v, 0, sizeof(*v));
}

static int oom(s3sel_error *err) {
  s3sel_fail(err, "InternalError", "out of memory");
  return -1;
}

static int set_str(s3sel_value *v, const char *s, size_t len) {
  v->t = S3SEL_STR;
  v->s = malloc(len + 1);
  if (!v->s) {
    v->t = S3SEL_MISSING;
    return -1;
  }
  memcpy(v->s, s, len);
  v->s[len] = '\0';
  v->len = len;
  return 0;
}

static void copy(s3sel_value *dst, const s3sel_value *src) {
  *dst = *src;
  if (src->t == S3SEL_DEC) {
    mpz_init_set(dst->d, src->d);
  } else if (src->t == S3SEL_STR) {
    if (set_str(dst, src->s, src->len) < 0)
      dst->t = S3SEL_NULL;
  } else if (src->t == S3SEL_JSON) {
    json_incref(src->j);
  }
}

static void set_dec_ui(s3sel_value *v, long long i) {
  v->t = S3SEL_DEC;
  mpz_init(v->d);
  mpz_set_si(v->d, (long)i);
  if ((long long)(long)i != i) { /* long narrower than long long */
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", i);
    mpz_set_str(v->d, buf, 10);
  }
  v->scale = 0;
}

/* Decimal text ("-12.50", "3") into a decimal; "1e3" forms too. 0 or -1. */
static int dec_from_text(s3sel_value *v, const char *s, size_t len) {
  char digits[512];
  size_t n = 0;
  int scale = 0, after = 0, any = 0;
  size_t i = 0;
  if (i < len && (s[i] == '-' || s[i] == '+'))
    digits[n++] = s[i++] == '-' ? '-' : '+';
  for (; i < len && n < sizeof(digits) - 1; i++) {
    if (isdigit((unsigned char)s[i])) {
      digits[n++] = s[i];
      scale += after;
      any = 1;
    } else if (s[i] == '.' && !after) {
      after = 1;
    } else {
      break;
    }
  }
  long exp = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    char *end;
    char buf[32];
    size_t m = len - i - 1 < sizeof(buf) - 1 ? len - i - 1 : sizeof(buf) - 1;
    memcpy(buf, s + i + 1, m);
    buf[m] = '\0';
    errno = 0;
    exp = strtol(buf, &end, 10);
    if (end == buf || *end || errno || exp > 400 || exp < -400)
      return -1;
    i = len;
  }
  if (i != len || !any)
    return -1;
  digits[n] = '\0';
  v->t = S3SEL_DEC;
  mpz_init_set_str(v->d, digits[0] == '+' ? digits + 1 : digits, 10);
  v->scale = scale - (int)exp;
  if (v->scale < 0) {
    mpz_t p;
    mpz_init(p);
    mpz_ui_pow_ui(p, 10, (unsigned long)-v->scale);
    mpz_mul(v->d, v->d, p);
    mpz_clear(p);
    v->scale = 0;
  }
  return 0;
}

/* A number from text as S3 Select reads one: an integer, else an exact
 * decimal. 0, or -1 when the text is not a number. */
static int number_from_text(s3sel_value *v, const char *s, size_t len) {
  while (len && isspace((unsigned char)*s))
    s++, len--;
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  if (!len || len > 400)
    return -1;
  char buf[512];
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (strspn(buf + (buf[0] == '-' || buf[0] == '+'), "0123456789") ==
      len - (buf[0] == '-' || buf[0] == '+')) {
    char *end;
    errno = 0;
    long long i = strtoll(buf, &end, 10);
    if (!errno && !*end) {
      v->t = S3SEL_INT;
      v->i = i;
      return 0;
    }
  }
  return dec_from_text(v, buf, len);
}

/* The shortest text that reads back as d. */
static void float_text(char *out, size_t size, double d) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, d);
    if (strtod(out, NULL) == d)
      return;
  }
}

int s3sel_value_from_json(s3sel_value *out, json_t *j) {
  memset(out, 0, sizeof(*out));
  switch (json_typeof(j)) {
  case JSON_STRING: return set_str(out, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    out->t = S3SEL_INT;
    out->i = json_integer_value(j);
    return 0;
  case JSON_REAL: {
    /* JSON numbers with a fraction are Ion decimals: their shortest text. */
    char buf[64];
    float_text(buf, sizeof(buf), json_real_value(j));
    if (dec_from_text(out, buf, strlen(buf)) == 0)
      return 0;
    out->t = S3SEL_FLOAT;
    out->f = json_real_value(j);
    return 0;
  }
  case JSON_TRUE:
  case JSON_FALSE:
    out->t = S3SEL_BOOL;
    out->b = json_is_true(j);
    return 0;
  case JSON_NULL: out->t = S3SEL_NULL; return 0;
  default:
    out->t = S3SEL_JSON;
    out->j = json_incref(j);
    return 0;
  }
}

static void dec_text(dynbuf *out, const mpz_t d, int scale) {
  char *digits = mpz_get_str(NULL, 10, d);
  if (!digits) {
    dynbuf_puts(out, "0");
    return;
  }
  const char *p = digits;
  if (*p == '-') {
    dynbuf_puts(out, "-");
    p++;
  }
  size_t n = strlen(p);
  if (scale <= 0) {
    dynbuf_puts(out, p);
  } else if ((size_t)scale >= n) {
    dynbuf_puts(out, "0.");
    for (size_t i = n; i < (size_t)scale; i++)
      dynbuf_puts(out, "0");
    dynbuf_puts(out, p);
  } else {
    dynbuf_append(out, p, n - (size_t)scale);
    dynbuf_puts(out, ".");
    dynbuf_puts(out, p + n - (size_t)scale);
  }
  void (*freefn)(void *, size_t);
  mp_get_memory_functions(NULL, NULL, &freefn);
  freefn(digits, strlen(digits) + 1);
}

int s3sel_value_text(dynbuf *out, const s3sel_value *v) {
  char buf[64];
  switch (v->t) {
  case S3SEL_MISSING:
  case S3SEL_NULL: return 0;
  case S3SEL_BOOL: dynbuf_puts(out, v->b ? "true" : "false"); return 0;
  case S3SEL_INT: dynbuf_printf(out, "%lld", (long long)v->i); return 0;
  case S3SEL_DEC: dec_text(out, v->d, v->scale); return 0;
  case S3SEL_FLOAT:
    float_text(buf, sizeof(buf), v->f);
    dynbuf_puts(out, buf);
    return 0;
  case S3SEL_STR: dynbuf_append(out, v->s, v->len); return 0;
  case S3SEL_JSON: {
    char *text = json_dumps(v->j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
      return -1;
    dynbuf_puts(out, text);
    free(text);
    return 0;
  }
  }
  return 0;
}

int s3sel_value_json(dynbuf *out, const s3sel_value *v) {
  if (v->t == S3SEL_NULL || v->t == S3SEL_MISSING) {
    dynbuf_puts(out, "null");
    return 0;
  }
  if (v->t == S3SEL_STR) {
    json_t *s = json_stringn(v->s, v->len);
    char *text = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    if (!text)
      return -1;
    dynbuf_puts(out, text);
    free(text);
    return 0;
  }
  if (v->t == S3SEL_FLOAT && !isfinite(v->f)) {
    dynbuf_puts(out, "null");
    return 0;
  }
  return s3sel_value_text(out, v);
}

/* ---- numbers ---- */

static int is_num(const s3sel_value *v) {
  return v->t == S3SEL_INT || v->t == S3SEL_DEC || v->t == S3SEL_FLOAT;
}

/* A string operand met by a number: the number it spells, in tmp. Returns
 * v itself when it is not a string, tmp when converted, NULL when the
 * string is not numeric. */
static const s3sel_value *as_number(const s3sel_value *v, s3sel_value *tmp) {
  if (v->t != S3SEL_STR)
    return v;
  if (number_from_text(tmp, v->s, v->len) < 0)
    return NULL;
  return tmp;
}

static double to_double(const s3sel_value *v) {
  if (v->t == S3SEL_INT)
    return (double)v->i;
  if (v->t == S3SEL_FLOAT)
    return v->f;
  double d = mpz_get_d(v->d);
  return d / pow(10.0, v->scale);
}

/* v as a decimal with the given scale (>= v's) into z. */
static void to_scaled(mpz_t z, const s3sel_value *v, int scale) {
  if (v->t == S3SEL_INT) {
    s3sel_value t;
    set_dec_ui(&t, v->i);
    mpz_set(z, t.d);
    mpz_clear(t.d);
  } else {
    mpz_set(z, v->d);
  }
  int have = v->t == S3SEL_INT ? 0 : v->scale;
  if (scale > have) {
    mpz_t p;
    mpz_init(p);
    mpz_ui_pow_ui(p, 10, (unsigned long)(scale - have));
    mpz_mul(z, z, p);
    mpz_clear(p);
  }
}

static int num_cmp(const s3sel_value *a, const s3sel_value *b) {
  if (a->t == S3SEL_INT && b->t == S3SEL_INT)
    return (a->i > b->i) - (a->i < b->i);
  if (a->t == S3SEL_FLOAT || b->t == S3SEL_FLOAT) {
    double x = to_double(a), y = to_double(b);
    return (x > y) - (x < y);
  }
  int sa = a->t == S3SEL_DEC ? a->scale : 0, sb = b->t == S3SEL_DEC ? b->scale : 0;
  int s = sa > sb ? sa : sb;
  mpz_t x, y;
  mpz_inits(x, y, NULL);
  to_scaled(x, a, s);
  to_scaled(y, b, s);
  int c = mpz_cmp(x, y);
  mpz_clears(x, y, NULL);
  return (c > 0) - (c < 0);
}

/* Decimal division: exact when the quotient ends within 34 significant
 * digits, else rounded (half even) to 34, as Ion's decimal context does. */
static void dec_div(s3sel_value *out, const s3sel_value *a, const s3sel_value *b) {
  int sa = a->t == S3SEL_DEC ? a->scale : 0, sb = b->t == S3SEL_DEC ? b->scale : 0;
  mpz_t x, y, q, r, p;
  mpz_inits(x, y, q, r, p, NULL);
  to_scaled(x, a, sa);
  to_scaled(y, b, sb);
  /* x·10^-sa / y·10^-sb = (x / y)·10^(sb-sa); grow x until exact or 34 digits. */
  int scale = sa - sb;
  for (;;) {
    mpz_tdiv_qr(q, r, x, y);
    if (mpz_sgn(r) == 0 || mpz_sizeinbase(q, 10) >= 35)
      break;
    mpz_mul_ui(x, x, 10);
    scale++;
  }
  if (mpz_sgn(r) != 0) {
    /* round half even on the remainder */
    mpz_mul_ui(r, r, 2);
    mpz_abs(r, r);
    mpz_abs(p, y);
    int c = mpz_cmp(r, p);
    if (c > 0 || (c == 0 && mpz_odd_p(q)))
      mpz_sgn(x) * mpz_sgn(y) < 0 ? mpz_sub_ui(q, q, 1) : mpz_add_ui(q, q, 1);
  }
  while (scale < 0) {
    mpz_mul_ui(q, q, 10);
    scale++;
  }
  out->t = S3SEL_DEC;
  mpz_init_set(out->d, q);
  out->scale = scale;
  mpz_clears(x, y, q, r, p, NULL);
}

static int arith(int op, const s3sel_value *a0, const s3sel_value *b0, s3sel_value *out,
                 const s3sel_node *n, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  if (a0->t == S3SEL_MISSING || b0->t == S3SEL_MISSING)
    return 0;
  if (a0->t == S3SEL_NULL || b0->t == S3SEL_NULL) {
    out->t = S3SEL_NULL;
    return 0;
  }
  if (op == '|') {
    if (a0->t != S3SEL_STR || b0->t != S3SEL_STR)
      goto bad;
    out->t = S3SEL_STR;
    out->len = a0->len + b0->len;
    if (!(out->s = malloc(out->len + 1)))
      return oom(err);
    memcpy(out->s, a0->s, a0->len);
    memcpy(out->s + a0->len, b0->s, b0->len);
    out->s[out->len] = '\0';
    return 0;
  }
  s3sel_value ta = {0}, tb = {0};
  const s3sel_value *a = as_number(a0, &ta), *b = as_number(b0, &tb);
  int rc = 0;
  if (!a || !b || !is_num(a) || !is_num(b)) {
    s3sel_value_clear(&ta);
    s3sel_value_clear(&tb);
    goto bad;
  }
  int zero = b->t == S3SEL_INT ? b->i == 0 : b->t == S3SEL_FLOAT ? b->f == 0 : !mpz_sgn(b->d);
  if ((op == '/' || op == '%') && zero && b->t != S3SEL_FLOAT) {
    s3sel_fail(err, "EvaluatorDivisionByZero", "Division by zero at line 1, column %d.", n->col);
    rc = -1;
  } else if (a->t == S3SEL_FLOAT || b->t == S3SEL_FLOAT) {
    double x = to_double(a), y = to_double(b);
    out->t = S3SEL_FLOAT;
    out->f = op == '+'   ? x + y
             : op == '-' ? x - y
             : op == '*' ? x * y
             : op == '/' ? x / y
                         : fmod(x, y);
  } else if (a->t == S3SEL_INT && b->t == S3SEL_INT &&
             !(op == '/' && a->i == INT64_MIN && b->i == -1) && !(op == '%' && b->i == -1)) {
    int64_t r;
    int over = 0;
    switch (op) {
    case '+': over = __builtin_add_overflow(a->i, b->i, &r); break;
    case '-': over = __builtin_sub_overflow(a->i, b->i, &r); break;
    case '*': over = __builtin_mul_overflow(a->i, b->i, &r); break;
    case '/': r = a->i / b->i; break;
    default: r = a->i % b->i;
    }
    if (!over) {
      out->t = S3SEL_INT;
      out->i = r;
    } else {
      goto decimal;
    }
  } else {
  decimal:;
    int sa = a->t == S3SEL_DEC ? a->scale : 0, sb = b->t == S3SEL_DEC ? b->scale : 0;
    if (op == '/') {
      dec_div(out, a, b);
    } else {
      int s = op == '*' ? 0 : sa > sb ? sa : sb;
      mpz_t x, y;
      mpz_inits(x, y, NULL);
      to_scaled(x, a, op == '*' ? sa : s);
      to_scaled(y, b, op == '*' ? sb : s);
      out->t = S3SEL_DEC;
      mpz_init(out->d);
      if (op == '+')
        mpz_add(out->d, x, y);
      else if (op == '-')
        mpz_sub(out->d, x, y);
      else if (op == '*')
        mpz_mul(out->d, x, y);
      else
        mpz_tdiv_r(out->d, x, y);
      out->scale = op == '*' ? sa + sb : s;
      mpz_clears(x, y, NULL);
    }
  }
  s3sel_value_clear(&ta);
  s3sel_value_clear(&tb);
  return rc;
bad:
  s3sel_fail(err, "EvaluatorInvalidArguments",
             "Incorrect type of arguments in the expression at line 1, column %d.", n->col);
  return -1;
}

/* Compares a and b: -1, 0, 1, or 2 when they do not compare (unknown). */
static int compare(const s3sel_value *a, const s3sel_value *b) {
  if (is_num(a) || is_num(b)) {
    s3sel_value ta = {0}, tb = {0};
    const s3sel_value *x = as_number(a, &ta), *y = as_number(b, &tb);
    int c = x && y && is_num(x) && is_num(y) ? num_cmp(x, y) : 2;
    s3sel_value_clear(&ta);
    s3sel_value_clear(&tb);
    return c;
  }
  if (a->t == S3SEL_STR && b->t == S3SEL_STR) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c == 0)
      c = (a->len > b->len) - (a->len < b->len);
    return (c > 0) - (c < 0);
  }
  if (a->t == S3SEL_BOOL && b->t == S3SEL_BOOL)
    return (a->b > b->b) - (a->b < b->b);
  if (a->t == S3SEL_JSON && b->t == S3SEL_JSON)
    return json_equal(a->j, b->j) ? 0 : 2;
  return 2;
}

/* Truth of a value: 1 TRUE, 0 FALSE, -1 unknown. */
static int truth(const s3sel_value *v) { return v->t == S3SEL_BOOL ? v->b : -1; }

static void set_truth(s3sel_value *out, int t) {
  memset(out, 0, sizeof(*out));
  if (t < 0) {
    out->t = S3SEL_NULL;
  } else {
    out->t = S3SEL_BOOL;
    out->b = t;
  }
}

/* ---- strings ---- */

static size_t utf8_next(const char *s, size_t len, size_t i) {
  i++;
  while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
    i++;
  return i;
}

static size_t utf8_count(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i = utf8_next(s, len, i))
    n++;
  return n;
}

/* LIKE with % and _ (one code point) and an optional escape character. */
static int like(const char *s, size_t slen, const char *p, size_t plen, const char *esc,
                size_t esclen) {
  size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
  while (si < slen) {
    if (pi < plen) {
      int escaped = esclen && plen - pi >= esclen && memcmp(p + pi, esc, esclen) == 0;
      size_t lit = escaped ? pi + esclen : pi;
      if (!escaped && p[pi] == '%') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (!escaped && p[pi] == '_') {
        si = utf8_next(s, slen, si);
        pi++;
        continue;
      }
      if (lit < plen) {
        size_t cl = utf8_next(p, plen, lit) - lit;
        if (cl <= slen - si && memcmp(s + si, p + lit, cl) == 0) {
          si += cl;
          pi = lit + cl;
          continue;
        }
      }
    }
    if (star_p == (size_t)-1)
      return 0;
    pi = star_p;
    star_s = utf8_next(s, slen, star_s);
    si = star_s;
  }
  while (pi < plen && p[pi] == '%')
    pi++;
  return pi == plen;
}

/* ---- paths ---- */

static int name_is(const s3sel_step *st, const char *name) {
  return st->quoted ? strcmp(st->name, name) == 0 : strcasecmp(st->name, name) == 0;
}

static json_t *json_member(json_t *obj, const s3sel_step *st) {
  json_t *v = json_object_get(obj, st->name);
  if (v || st->quoted)
    return v;
  const char *k;
  json_object_foreach(obj, k, v) if (strcasecmp(k, st->name) == 0) return v;
  return NULL;
}

static int eval_path(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec,
                     s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  size_t i = 0;
  if (q->alias && n->path[0].kind == S3SEL_PATH_MEMBER &&
      strcasecmp(n->path[0].name, q->alias) == 0)
    i = 1;
  if (!rec->json) {
    if (i == n->npath) { /* the alias alone: the record as an object */
      json_t *o = json_object();
      for (size_t f = 0; o && f < rec->nfields; f++) {
        char name[32];
        snprintf(name, sizeof(name), "_%zu", f + 1);
        json_object_set_new(o, f < rec->nnames ? rec->names[f] : name,
                            json_stringn(rec->fields[f], rec->lens[f]));
      }
      if (!o)
        return oom(err);
      out->t = S3SEL_JSON;
      out->j = o;
      return 0;
    }
    const s3sel_step *st = &n->path[i];
    if (i + 1 != n->npath || st->kind != S3SEL_PATH_MEMBER)
      return 0; /* MISSING */
    const char *nm = st->name;
    if (!st->quoted && nm[0] == '_' && nm[1] && strspn(nm + 1, "0123456789") == strlen(nm + 1)) {
      unsigned long long col = strtoull(nm + 1, NULL, 10);
      if (col >= 1 && col <= rec->nfields)
        return set_str(out, rec->fields[col - 1], rec->lens[col - 1]) < 0 ? oom(err) : 0;
      return 0;
    }
    for (size_t f = 0; f < rec->nnames && f < rec->nfields; f++)
      if (name_is(st, rec->names[f]))
        return set_str(out, rec->fields[f], rec->lens[f]) < 0 ? oom(err) : 0;
    return 0;
  }
  json_t *cur = rec->json;
  for (; i < n->npath && cur; i++) {
    const s3sel_step *st = &n->path[i];
    if (st->kind == S3SEL_PATH_MEMBER)
      cur = json_is_object(cur) ? json_member(cur, st) : NULL;
    else if (st->kind == S3SEL_PATH_INDEX)
      cur = json_is_array(cur) && st->index >= 0 ? json_array_get(cur, (size_t)st->index) : NULL;
    else
      cur = NULL;
  }
  if (!cur)
    return 0;
  return s3sel_value_from_json(out, cur) < 0 ? oom(err) : 0;
}

/* ---- functions and casts ---- */

static int cast(const s3sel_node *n, s3sel_value *v, s3sel_error *err) {
  if (v->t == S3SEL_NULL || v->t == S3SEL_MISSING || (int)v->t == n->op)
    return 0;
  s3sel_value r = {0};
  const char *fail = NULL;
  switch (n->op) {
  case S3SEL_STR: {
    dynbuf b;
    dynbuf_init(&b, S3SEL_MAX_RECORD);
    s3sel_value_text(&b, v);
    size_t len;
    char *text = dynbuf_take(&b, &len);
    if (!text)
      return oom(err);
    r.t = S3SEL_STR;
    r.s = text;
    r.len = len;
    break;
  }
  case S3SEL_BOOL:
    if (v->t == S3SEL_STR && (strcasecmp(v->s, "true") == 0 || strcasecmp(v->s, "false") == 0)) {
      r.t = S3SEL_BOOL;
      r.b = strcasecmp(v->s, "true") == 0;
    } else if (is_num(v)) {
      r.t = S3SEL_BOOL;
      r.b = v->t == S3SEL_INT ? v->i != 0 : v->t == S3SEL_FLOAT ? v->f != 0 : mpz_sgn(v->d) != 0;
    } else {
      fail = "BOOL";
    }
    break;
  case S3SEL_FLOAT: {
    if (v->t == S3SEL_STR) {
      char *end;
      errno = 0;
      double d = strtod(v->s, &end);
      while (isspace((unsigned char)*end))
        end++;
      if (end == v->s || *end || errno == ERANGE)
        fail = "FLOAT";
      r.t = S3SEL_FLOAT;
      r.f = d;
    } else if (is_num(v)) {
      r.t = S3SEL_FLOAT;
      r.f = to_double(v);
    } else if (v->t == S3SEL_BOOL) {
      r.t = S3SEL_FLOAT;
      r.f = v->b;
    } else {
      fail = "FLOAT";
    }
    break;
  }
  case S3SEL_INT:
  case S3SEL_DEC: {
    s3sel_value num = {0};
    if (v->t == S3SEL_STR) {
      if (number_from_text(&num, v->s, v->len) < 0)
        fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    } else if (v->t == S3SEL_FLOAT) {
      char buf[64];
      float_text(buf, sizeof(buf), v->f);
      if (!isfinite(v->f) || dec_from_text(&num, buf, strlen(buf)) < 0)
        fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    } else if (v->t == S3SEL_BOOL) {
      num.t = S3SEL_INT;
      num.i = v->b;
    } else if (is_num(v)) {
      copy(&num, v);
    } else {
      fail = n->op == S3SEL_INT ? "INT" : "DECIMAL";
    }
    if (!fail && n->op == S3SEL_INT && num.t == S3SEL_DEC) {
      /* truncated toward zero; too large for 64 bits fails */
      mpz_t p;
      mpz_init(p);
      mpz_ui_pow_ui(p, 10, (unsigned long)num.scale);
      mpz_tdiv_q(num.d, num.d, p);
      mpz_clear(p);
      if (!mpz_fits_slong_p(num.d) || sizeof(long) < 8) {
        fail = "INT";
      } else {
        long x = mpz_get_si(num.d);
        s3sel_value_clear(&num);
        num.t = S3SEL_INT;
        num.i = x;
      }
    }
    if (!fail && n->op == S3SEL_DEC && num.t == S3SEL_INT) {
      int64_t x = num.i;
      set_dec_ui(&num, x);
    }
    if (fail)
      s3sel_value_clear(&num);
    else
      r = num;
    break;
  }
  default: fail = "type";
  }
  if (fail) {
    s3sel_value_clear(&r);
    s3sel_fail(err, "CastFailed",
               "Attempt to convert from one data type to another using CAST failed in the SQL "
               "expression at line 1, column %d.",
               n->col);
    return -1;
  }
  s3sel_value_clear(v);
  *v = r;
  return 0;
}

static int wrong_type(const s3sel_node *n, s3sel_error *err) {
  s3sel_fail(err, "IncorrectSqlFunctionArgumentType",
             "Incorrect type of arguments in function call at line 1, column %d.", n->col);
  return -1;
}

static int int_arg(const s3sel_value *v, int64_t *out) {
  s3sel_value t = {0};
  const s3sel_value *x = as_number(v, &t);
  int ok = x && x->t == S3SEL_INT;
  if (ok)
    *out = x->i;
  s3sel_value_clear(&t);
  return ok;
}

static int func(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec,
                s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  s3sel_value a[3] = {{0}};
  int rc = 0;
  if (strcmp(n->name, "COALESCE") == 0) {
    for (size_t i = 0; i < n->nargs; i++) {
      if (s3sel_eval(q, n->args[i], rec, out, err) < 0)
        return -1;
      if (out->t != S3SEL_NULL && out->t != S3SEL_MISSING)
        return 0;
      s3sel_value_clear(out);
    }
    out->t = S3SEL_NULL;
    return 0;
  }
  for (size_t i = 0; i < n->nargs && i < 3; i++)
    if (s3sel_eval(q, n->args[i], rec, &a[i], err) < 0)
      goto fail;
  if (strcmp(n->name, "NULLIF") == 0) {
    if (compare(&a[0], &a[1]) == 0)
      out->t = S3SEL_NULL;
    else
      copy(out, &a[0]);
    goto done;
  }
  for (size_t i = 0; i < n->nargs && i < 3; i++) {
    if (a[i].t == S3SEL_MISSING || a[i].t == S3SEL_NULL) {
      out->t = a[i].t;
      goto done;
    }
  }
  if (a[0].t != S3SEL_STR) {
    rc = wrong_type(n, err);
    goto done;
  }
  const char *s = a[0].s;
  size_t len = a[0].len;
  if (strcmp(n->name, "LOWER") == 0 || strcmp(n->name, "UPPER") == 0) {
    if (set_str(out, s, len) < 0) {
      rc = oom(err);
      goto done;
    }
    for (size_t i = 0; i < len; i++)
      out->s[i] =
          (char)(n->name[0] == 'L' ? tolower((unsigned char)s[i]) : toupper((unsigned char)s[i]));
  } else if (strstr(n->name, "LENGTH")) {
    out->t = S3SEL_INT;
    out->i = (int64_t)utf8_count(s, len);
  } else if (strcmp(n->name, "SUBSTRING") == 0) {
    int64_t start, count = INT64_MAX;
    if (!int_arg(&a[1], &start) || (n->nargs == 3 && !int_arg(&a[2], &count))) {
      rc = wrong_type(n, err);
      goto done;
    }
    if (count < 0) {
      s3sel_fail(err, "EvaluatorInvalidArguments",
                 "SUBSTRING's length cannot be negative at line 1, column %d.", n->col);
      rc = -1;
      goto done;
    }
    /* SQL: characters [start, start + count) of 1-based positions. */
    int64_t end = count == INT64_MAX || start > INT64_MAX - count ? INT64_MAX : start + count;
    size_t from = len, to = len, i = 0;
    int64_t pos = 1;
    for (; i <= len; i = i < len ? utf8_next(s, len, i) : len + 1, pos++) {
      if (pos == (start < 1 ? 1 : start) && from == len)
        from = i;
      if (pos == end) {
        to = i;
        break;
      }
      if (i == len)
        break;
    }
    if (end <= 1 || from > to)
      from = to = 0;
    if (set_str(out, s + from, to - from) < 0)
      rc = oom(err);
  } else if (strcmp(n->name, "TRIM") == 0) {
    const char *set = " ";
    size_t setlen = 1;
    if (n->nargs == 2) {
      if (a[1].t != S3SEL_STR) {
        rc = wrong_type(n, err);
        goto done;
      }
      set = a[1].s, setlen = a[1].len;
    }
    size_t b = 0, e = len;
    if (n->op != 'T')
      while (b < e && memchr(set, s[b], setlen))
        b++;
    if (n->op != 'L')
      while (e > b && memchr(set, s[e - 1], setlen))
        e--;
    if (set_str(out, s + b, e - b) < 0)
      rc = oom(err);
  }
done:
  for (size_t i = 0; i < 3; i++)
    s3sel_value_clear(&a[i]);
  return rc;
fail:
  for (size_t i = 0; i < 3; i++)
    s3sel_value_clear(&a[i]);
  return -1;
}

/* ---- aggregates ---- */

void s3sel_aggs_reset(s3sel_query *q) {
  for (size_t i = 0; i < q->naggs; i++) {
    q->aggs[i]->count = 0;
    s3sel_value_clear(&q->aggs[i]->acc);
  }
}

int s3sel_aggs_feed(s3sel_query *q, const s3sel_record *rec, s3sel_error *err) {
  for (size_t i = 0; i < q->naggs; i++) {
    s3sel_node *n = q->aggs[i];
    if (n->star) {
      n->count++;
      continue;
    }
    s3sel_value v;
    if (s3sel_eval(q, n->args[0], rec, &v, err) < 0)
      return -1;
    if (v.t == S3SEL_NULL || v.t == S3SEL_MISSING) {
      s3sel_value_clear(&v);
      continue;
    }
    int rc = 0;
    if (strcmp(n->name, "SUM") == 0 || strcmp(n->name, "AVG") == 0) {
      if (!n->count) {
        s3sel_value z = {.t = S3SEL_INT, .i = 0};
        rc = arith('+', &z, &v, &n->acc, n, err);
      } else {
        s3sel_value sum;
        rc = arith('+', &n->acc, &v, &sum, n, err);
        if (rc == 0) {
          s3sel_value_clear(&n->acc);
          n->acc = sum;
        }
      }
    } else if (strcmp(n->name, "MIN") == 0 || strcmp(n->name, "MAX") == 0) {
      int c = n->count ? compare(&v, &n->acc) : 0;
      if (!n->count || (c != 2 && (n->name[1] == 'I' ? c < 0 : c > 0))) {
        s3sel_value_clear(&n->acc);
        copy(&n->acc, &v);
      }
    }
    s3sel_value_clear(&v);
    if (rc < 0)
      return -1;
    n->count++;
  }
  return 0;
}

static int agg_result(const s3sel_node *n, s3sel_value *out, s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  if (strcmp(n->name, "COUNT") == 0) {
    out->t = S3SEL_INT;
    out->i = n->count;
    return 0;
  }
  if (!n->count) {
    out->t = S3SEL_NULL;
    return 0;
  }
  if (strcmp(n->name, "AVG") == 0) {
    if (n->acc.t == S3SEL_FLOAT) {
      out->t = S3SEL_FLOAT;
      out->f = n->acc.f / (double)n->count;
      return 0;
    }
    s3sel_value c = {.t = S3SEL_INT, .i = n->count};
    if (n->acc.t != S3SEL_INT && n->acc.t != S3SEL_DEC)
      return oom(err);
    dec_div(out, &n->acc, &c);
    return 0;
  }
  copy(out, &n->acc);
  return 0;
}

/* ---- evaluation ---- */

int s3sel_eval(const s3sel_query *q, const s3sel_node *n, const s3sel_record *rec, s3sel_value *out,
               s3sel_error *err) {
  memset(out, 0, sizeof(*out));
  s3sel_value a = {0}, b = {0}, c = {0};
  int rc = 0;
  switch (n->kind) {
  case S3SEL_N_LIT: copy(out, &n->lit); return 0;
  case S3SEL_N_PATH: return eval_path(q, n, rec, out, err);
  case S3SEL_N_AGG: return agg_result(n, out, err);
  case S3SEL_N_FUNC: return func(q, n, rec, out, err);
  case S3SEL_N_CAST:
    if (s3sel_eval(q, n->args[0], rec, out, err) < 0)
      return -1;
    if (cast(n, out, err) < 0) {
      s3sel_value_clear(out);
      return -1;
    }
    return 0;
  case S3SEL_N_NEG: {
    s3sel_value zero = {.t = S3SEL_INT, .i = 0};
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    rc = arith('-', &zero, &a, out, n, err);
    break;
  }
  case S3SEL_N_NOT: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int t = truth(&a);
    set_truth(out, t < 0 ? -1 : !t);
    break;
  }
  case S3SEL_N_AND:
  case S3SEL_N_OR: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int x = truth(&a), want = n->kind == S3SEL_N_OR;
    if (x == want) {
      set_truth(out, want);
      break;
    }
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    int y = truth(&b);
    set_truth(out, y == want ? want : (x < 0 || y < 0) ? -1 : !want);
    break;
  }
  case S3SEL_N_ARITH:
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    rc = arith(n->op, &a, &b, out, n, err);
    break;
  case S3SEL_N_CMP: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    if (s3sel_eval(q, n->args[1], rec, &b, err) < 0) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL) {
      out->t = a.t == S3SEL_MISSING || b.t == S3SEL_MISSING ? S3SEL_MISSING : S3SEL_NULL;
      break;
    }
    int cmp = compare(&a, &b);
    if (cmp == 2) {
      set_truth(out, n->op == '=' ? 0 : n->op == '!' ? 1 : -1);
      break;
    }
    int t = n->op == '='   ? cmp == 0
            : n->op == '!' ? cmp != 0
            : n->op == '<' ? cmp < 0
            : n->op == 'l' ? cmp <= 0
            : n->op == '>' ? cmp > 0
                           : cmp >= 0;
    set_truth(out, t);
    break;
  }
  case S3SEL_N_IS: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int t = n->op == 'M' ? a.t == S3SEL_MISSING : a.t <= S3SEL_NULL;
    set_truth(out, n->negate ? !t : t);
    break;
  }
  case S3SEL_N_BETWEEN: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0 ||
        s3sel_eval(q, n->args[1], rec, &b, err) < 0 ||
        s3sel_eval(q, n->args[2], rec, &c, err) < 0) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL || c.t <= S3SEL_NULL) {
      out->t = S3SEL_NULL;
      break;
    }
    int lo = compare(&a, &b), hi = compare(&a, &c);
    int t = lo == 2 || hi == 2 ? -1 : lo >= 0 && hi <= 0;
    set_truth(out, t < 0 ? -1 : n->negate ? !t : t);
    break;
  }
  case S3SEL_N_IN: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0)
      return -1;
    int found = 0, unknown = a.t <= S3SEL_NULL;
    for (size_t i = 1; i < n->nargs && !found && !unknown; i++) {
      if (s3sel_eval(q, n->args[i], rec, &b, err) < 0) {
        rc = -1;
        break;
      }
      int cmp = b.t <= S3SEL_NULL ? 2 : compare(&a, &b);
      found = cmp == 0;
      unknown |= b.t <= S3SEL_NULL;
      s3sel_value_clear(&b);
    }
    int t = found ? 1 : unknown ? -1 : 0;
    set_truth(out, t < 0 ? -1 : n->negate ? !t : t);
    break;
  }
  case S3SEL_N_LIKE: {
    if (s3sel_eval(q, n->args[0], rec, &a, err) < 0 ||
        s3sel_eval(q, n->args[1], rec, &b, err) < 0 ||
        (n->nargs == 3 && s3sel_eval(q, n->args[2], rec, &c, err) < 0)) {
      rc = -1;
      break;
    }
    if (a.t <= S3SEL_NULL || b.t <= S3SEL_NULL || (n->nargs == 3 && c.t <= S3SEL_NULL)) {
      out->t = S3SEL_NULL;
      break;
    }
    if (a.t != S3SEL_STR || b.t != S3SEL_STR || (n->nargs == 3 && c.t != S3SEL_STR)) {
      s3sel_fail(err, "LikeInvalidInputs",
                 "Invalid argument given to the LIKE clause in the SQL expression at line 1, "
                 "column %d.",
                 n->col);
      rc = -1;
      break;
    }
    if (n->nargs == 3 && (c.len == 0 || utf8_next(c.s, c.len, 0) != c.len)) {
      s3sel_fail(err, "EvaluatorLikePatternInvalidEscapeSequence",
                 "The LIKE ESCAPE must be a single character at line 1, column %d.", n->col);
      rc = -1;
      break;
    }
    int t = like(a.s, a.len, b.s, b.len, n->nargs == 3 ? c.s : NULL, n->nargs == 3 ? c.len : 0);
    set_truth(out, n->negate ? !t : t);
    break;
  }
  default: out->t = S3SEL_MISSING;
  }
  s3sel_value_clear(&a);
  s3sel_value_clear(&b);
  s3sel_value_clear(&c);
  return rc;
}

int s3sel_where(const s3sel_query *q, const s3sel_record *rec, s3sel_error *err) {
  if (!q->where)
    return 1;
  s3sel_value v;
  if (s3sel_eval(q, q->where, rec, &v, err) < 0)
    return -1;
  int t = truth(&v) == 1;
  s3sel_value_clear(&v);
  return t;
}

void s3sel_item_name(const s3sel_query *q, size_t i, char *out, size_t size) {
  const s3sel_item *it = &q->items[i];
  if (it->alias) {
    snprintf(out, size, "%s", it->alias);
    return;
  }
  const s3sel_node *n = it->expr;
  if (n->kind == S3SEL_N_PATH && n->path[n->npath - 1].kind == S3SEL_PATH_MEMBER &&
      !(n->npath == 1 && q->alias && strcasecmp(n->path[0].name, q->alias) == 0)) {
    snprintf(out, size, "%s", n->path[n->npath - 1].name);
    return;
  }
  snprintf(out, size, "_%zu", i + 1);
}
