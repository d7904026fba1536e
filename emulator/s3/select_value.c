/*
 * select_value.c — S3 Select's values: NULL, MISSING, booleans, integers,
 * exact decimals (a GMP integer and a scale, as Ion keeps 1.50), floats,
 * strings and JSON structures; their text, their JSON, and the arithmetic
 * and comparisons select_eval.c applies (PartiQL's rules: NULL and MISSING
 * propagate, integers overflow into decimals, 5 / 2 is 2, decimal quotients
 * exact or rounded to 34 digits, numeric strings count as numbers next to a
 * number).
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

int s3sel_oom(s3sel_error *err) {
  s3sel_fail(err, "InternalError", "out of memory");
  return -1;
}

int s3sel_set_str(s3sel_value *v, const char *s, size_t len) {
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

void s3sel_copy(s3sel_value *dst, const s3sel_value *src) {
  *dst = *src;
  if (src->t == S3SEL_DEC) {
    mpz_init_set(dst->d, src->d);
  } else if (src->t == S3SEL_STR) {
    if (s3sel_set_str(dst, src->s, src->len) < 0)
      dst->t = S3SEL_NULL;
  } else if (src->t == S3SEL_JSON) {
    json_incref(src->j);
  }
}

void s3sel_set_dec_ui(s3sel_value *v, long long i) {
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
int s3sel_dec_from_text(s3sel_value *v, const char *s, size_t len) {
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
int s3sel_number_from_text(s3sel_value *v, const char *s, size_t len) {
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
  return s3sel_dec_from_text(v, buf, len);
}

/* The shortest text that reads back as d. */
void s3sel_float_text(char *out, size_t size, double d) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, d);
    if (strtod(out, NULL) == d)
      return;
  }
}

int s3sel_value_from_json(s3sel_value *out, json_t *j) {
  memset(out, 0, sizeof(*out));
  switch (json_typeof(j)) {
  case JSON_STRING: return s3sel_set_str(out, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    out->t = S3SEL_INT;
    out->i = json_integer_value(j);
    return 0;
  case JSON_REAL: {
    /* JSON numbers with a fraction are Ion decimals: their shortest text. */
    char buf[64];
    s3sel_float_text(buf, sizeof(buf), json_real_value(j));
    if (s3sel_dec_from_text(out, buf, strlen(buf)) == 0)
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
    s3sel_float_text(buf, sizeof(buf), v->f);
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

int s3sel_is_num(const s3sel_value *v) {
  return v->t == S3SEL_INT || v->t == S3SEL_DEC || v->t == S3SEL_FLOAT;
}

/* A string operand met by a number: the number it spells, in tmp. Returns
 * v itself when it is not a string, tmp when converted, NULL when the
 * string is not numeric. */
const s3sel_value *s3sel_as_number(const s3sel_value *v, s3sel_value *tmp) {
  if (v->t != S3SEL_STR)
    return v;
  if (s3sel_number_from_text(tmp, v->s, v->len) < 0)
    return NULL;
  return tmp;
}

double s3sel_to_double(const s3sel_value *v) {
  if (v->t == S3SEL_INT)
    return (double)v->i;
  if (v->t == S3SEL_FLOAT)
    return v->f;
  /* As text through strtod: one correctly rounded step, where the integer
   * divided by 10^scale would round twice. */
  char small[128];
  size_t size = mpz_sizeinbase(v->d, 10) + 16;
  char *text = size <= sizeof(small) ? small : malloc(size);
  if (!text)
    return NAN;
  mpz_get_str(text, 10, v->d);
  size_t len = strlen(text);
  snprintf(text + len, size - len, "e%d", -v->scale);
  double d = strtod(text, NULL);
  if (text != small)
    free(text);
  return d;
}

/* C's fmod, exactly, without libm (the emulator does not load it): both
 * operands as integers times a power of two, their remainder in GMP. */
static double exact_fmod(double x, double y) {
  if (isnan(x) || isnan(y) || isinf(x) || y == 0.0)
    return NAN;
  if (isinf(y) || x == 0.0)
    return x;
  int ex, ey;
  double fx = frexp(fabs(x), &ex), fy = frexp(fabs(y), &ey); /* [0.5, 1) */
  mpz_t mx, my;
  mpz_init_set_d(mx, ldexp(fx, 53)); /* exact: 53-bit significands */
  mpz_init_set_d(my, ldexp(fy, 53));
  ex -= 53;
  ey -= 53;
  int e = ex < ey ? ex : ey;
  mpz_mul_2exp(mx, mx, (mp_bitcnt_t)(ex - e));
  mpz_mul_2exp(my, my, (mp_bitcnt_t)(ey - e));
  mpz_tdiv_r(mx, mx, my);
  double r = ldexp(mpz_get_d(mx), e); /* below |y|: representable as is */
  mpz_clear(mx);
  mpz_clear(my);
  return x < 0 ? -r : r;
}

/* v as a decimal with the given scale (>= v's) into z. */
static void to_scaled(mpz_t z, const s3sel_value *v, int scale) {
  if (v->t == S3SEL_INT) {
    s3sel_value t;
    s3sel_set_dec_ui(&t, v->i);
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
    double x = s3sel_to_double(a), y = s3sel_to_double(b);
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
void s3sel_dec_div(s3sel_value *out, const s3sel_value *a, const s3sel_value *b) {
  int sa = a->t == S3SEL_DEC ? a->scale : 0, sb = b->t == S3SEL_DEC ? b->scale : 0;
  mpz_t x, y, q, r, p;
  mpz_inits(x, y, q, r, p, NULL);
  to_scaled(x, a, sa);
  to_scaled(y, b, sb);
  /* x·10^-sa / y·10^-sb = (x / y)·10^(sb-sa); grow x until exact or 34 digits. */
  int scale = sa - sb;
  mpz_ui_pow_ui(p, 10, 33); /* a quotient of 34 digits is enough */
  for (;;) {
    mpz_tdiv_qr(q, r, x, y);
    if (mpz_sgn(r) == 0 || mpz_cmpabs(q, p) >= 0)
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

int s3sel_arith(int op, const s3sel_value *a0, const s3sel_value *b0, s3sel_value *out,
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
      return s3sel_oom(err);
    memcpy(out->s, a0->s, a0->len);
    memcpy(out->s + a0->len, b0->s, b0->len);
    out->s[out->len] = '\0';
    return 0;
  }
  s3sel_value ta = {0}, tb = {0};
  const s3sel_value *a = s3sel_as_number(a0, &ta), *b = s3sel_as_number(b0, &tb);
  int rc = 0;
  if (!a || !b || !s3sel_is_num(a) || !s3sel_is_num(b)) {
    s3sel_value_clear(&ta);
    s3sel_value_clear(&tb);
    goto bad;
  }
  int zero = b->t == S3SEL_INT ? b->i == 0 : b->t == S3SEL_FLOAT ? b->f == 0 : !mpz_sgn(b->d);
  if ((op == '/' || op == '%') && zero && b->t != S3SEL_FLOAT) {
    s3sel_fail(err, "EvaluatorDivisionByZero", "Division by zero at line 1, column %d.", n->col);
    rc = -1;
  } else if (a->t == S3SEL_FLOAT || b->t == S3SEL_FLOAT) {
    double x = s3sel_to_double(a), y = s3sel_to_double(b);
    out->t = S3SEL_FLOAT;
    out->f = op == '+'   ? x + y
             : op == '-' ? x - y
             : op == '*' ? x * y
             : op == '/' ? x / y
                         : exact_fmod(x, y);
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
      s3sel_dec_div(out, a, b);
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
int s3sel_compare(const s3sel_value *a, const s3sel_value *b) {
  if (s3sel_is_num(a) || s3sel_is_num(b)) {
    s3sel_value ta = {0}, tb = {0};
    const s3sel_value *x = s3sel_as_number(a, &ta), *y = s3sel_as_number(b, &tb);
    int c = x && y && s3sel_is_num(x) && s3sel_is_num(y) ? num_cmp(x, y) : 2;
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
int s3sel_truth(const s3sel_value *v) { return v->t == S3SEL_BOOL ? v->b : -1; }

void s3sel_set_truth(s3sel_value *out, int t) {
  memset(out, 0, sizeof(*out));
  if (t < 0) {
    out->t = S3SEL_NULL;
  } else {
    out->t = S3SEL_BOOL;
    out->b = t;
  }
}
