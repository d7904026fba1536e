/*
 * number.c — DynamoDB's number type, exact: a GMP integer times a power of
 * ten. DynamoDB numbers are decimals of up to 38 significant digits with an
 * adjusted exponent between -130 and +125; arithmetic (UpdateExpression's
 * + and -, ADD) and comparison must be exact, so no double ever holds one.
 *
 * Canonical form: the coefficient carries no trailing zero (they move into
 * the exponent) and zero is 0×10^0, so equal numbers have equal fields and
 * "1E+2", "100" and "100.00" all come back as "100", the way DynamoDB answers.
 * Inputs are checked on the way in with AWS's messages; because every stored
 * number is in range, aligning two exponents never needs more than a few
 * hundred digits (no unbounded work from a hostile "1e999999999").
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <stdlib.h>
#include <string.h>

#define MSG_NOT_NUMBER "A value provided cannot be converted into a number"
#define MSG_DIGITS "Attempting to store more than 38 significant digits in a Number"
#define MSG_OVERFLOW                                                                               \
  "Number overflow. Attempting to store a number with magnitude larger than supported range"
#define MSG_UNDERFLOW                                                                              \
  "Number underflow. Attempting to store a number with magnitude smaller than supported range"

void ddb_num_init(ddb_num *n) {
  mpz_init(n->coef);
  n->exp = 0;
}

void ddb_num_clear(ddb_num *n) { mpz_clear(n->coef); }

/* Decimal digits of |x| (x != 0). mpz_sizeinbase may answer one too many. */
static size_t digit_count(const mpz_t x) {
  size_t d = mpz_sizeinbase(x, 10);
  if (d > 1) {
    mpz_t p;
    mpz_init(p);
    mpz_ui_pow_ui(p, 10, d - 1);
    if (mpz_cmpabs(x, p) < 0)
      d--;
    mpz_clear(p);
  }
  return d;
}

/* Moves trailing zeros into the exponent and checks precision and range. */
static int normalize_check(ddb_num *n, const char *digits_msg, ddb_error *e) {
  if (mpz_sgn(n->coef) == 0) {
    n->exp = 0;
    return 0;
  }
  mpz_t ten;
  mpz_init_set_ui(ten, 10);
  n->exp += (long)mpz_remove(n->coef, n->coef, ten);
  mpz_clear(ten);
  size_t d = digit_count(n->coef);
  if (d > DDB_NUM_MAX_DIGITS)
    return ddb_invalid(e, "%s", digits_msg);
  long adjusted = n->exp + (long)d - 1;
  if (adjusted > DDB_NUM_MAX_EXP)
    return ddb_invalid(e, MSG_OVERFLOW);
  if (adjusted < DDB_NUM_MIN_EXP)
    return ddb_invalid(e, MSG_UNDERFLOW);
  return 0;
}

int ddb_num_parse(ddb_num *n, const char *text, ddb_error *e) {
  if (!text)
    return ddb_invalid(e, MSG_NOT_NUMBER);
  size_t len = strlen(text);
  char *digits = malloc(len + 1);
  if (!digits)
    return ddb_fail(e, "InternalServerError", "out of memory");
  const char *p = text;
  int negative = 0;
  if (*p == '+' || *p == '-')
    negative = *p++ == '-';
  size_t nd = 0, frac = 0;
  int seen_dot = 0;
  for (; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      digits[nd++] = *p;
      frac += (size_t)seen_dot;
    } else if (*p == '.' && !seen_dot) {
      seen_dot = 1;
    } else {
      break;
    }
  }
  long long exp10 = 0;
  int ok = nd > 0;
  if (ok && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    if (*p == '+' || *p == '-')
      eneg = *p++ == '-';
    if (*p < '0' || *p > '9')
      ok = 0;
    for (; *p >= '0' && *p <= '9'; p++)
      if (exp10 < 1000000000LL) /* saturates: far outside the range anyway */
        exp10 = exp10 * 10 + (*p - '0');
    if (eneg)
      exp10 = -exp10;
  }
  if (!ok || *p != '\0') {
    free(digits);
    return ddb_invalid(e, MSG_NOT_NUMBER);
  }
  /* Leading zeros are not significant; all zeros is zero, whatever the exponent. */
  size_t start = 0;
  while (start < nd && digits[start] == '0')
    start++;
  if (start == nd) {
    free(digits);
    mpz_set_ui(n->coef, 0);
    n->exp = 0;
    return 0;
  }
  /* Trailing zeros move into the exponent before the digits are counted. */
  size_t end = nd;
  while (end > start && digits[end - 1] == '0')
    end--;
  long long exp = exp10 - (long long)frac + (long long)(nd - end);
  size_t sig = end - start;
  if (sig > DDB_NUM_MAX_DIGITS) {
    free(digits);
    return ddb_invalid(e, MSG_DIGITS);
  }
  long long adjusted = exp + (long long)sig - 1;
  if (adjusted > DDB_NUM_MAX_EXP || adjusted < DDB_NUM_MIN_EXP) {
    free(digits);
    return ddb_invalid(e, adjusted > 0 ? MSG_OVERFLOW : MSG_UNDERFLOW);
  }
  digits[end] = '\0';
  mpz_set_str(n->coef, digits + start, 10);
  if (negative)
    mpz_neg(n->coef, n->coef);
  n->exp = (long)exp;
  free(digits);
  return 0;
}

/* x, y: a's and b's coefficients scaled to a common exponent (returned). */
static long align(mpz_t x, mpz_t y, const ddb_num *a, const ddb_num *b) {
  mpz_set(x, a->coef);
  mpz_set(y, b->coef);
  if (mpz_sgn(a->coef) == 0)
    return b->exp;
  if (mpz_sgn(b->coef) == 0)
    return a->exp;
  mpz_t p;
  mpz_init(p);
  long exp;
  if (a->exp > b->exp) {
    mpz_ui_pow_ui(p, 10, (unsigned long)(a->exp - b->exp));
    mpz_mul(x, x, p);
    exp = b->exp;
  } else {
    mpz_ui_pow_ui(p, 10, (unsigned long)(b->exp - a->exp));
    mpz_mul(y, y, p);
    exp = a->exp;
  }
  mpz_clear(p);
  return exp;
}

int ddb_num_add(ddb_num *out, const ddb_num *a, const ddb_num *b, int negate_b, ddb_error *e) {
  mpz_t x, y;
  mpz_inits(x, y, NULL);
  long exp = align(x, y, a, b);
  if (negate_b)
    mpz_sub(x, x, y);
  else
    mpz_add(x, x, y);
  ddb_num r;
  ddb_num_init(&r);
  mpz_swap(r.coef, x);
  r.exp = exp;
  mpz_clears(x, y, NULL);
  /* AWS reports a result that would need more than 38 digits as an overflow. */
  int rc = normalize_check(&r, MSG_OVERFLOW, e);
  if (rc == 0) {
    mpz_swap(out->coef, r.coef);
    out->exp = r.exp;
  }
  ddb_num_clear(&r);
  return rc;
}

int ddb_num_cmp(const ddb_num *a, const ddb_num *b) {
  int sa = mpz_sgn(a->coef), sb = mpz_sgn(b->coef);
  if (sa != sb)
    return sa < sb ? -1 : 1;
  if (sa == 0)
    return 0;
  /* Same sign: the adjusted exponent decides before any digit does. */
  long ea = a->exp + (long)digit_count(a->coef), eb = b->exp + (long)digit_count(b->coef);
  if (ea != eb)
    return (ea < eb) == (sa > 0) ? -1 : 1;
  mpz_t x, y;
  mpz_inits(x, y, NULL);
  align(x, y, a, b);
  int c = mpz_cmp(x, y);
  mpz_clears(x, y, NULL);
  return c < 0 ? -1 : c > 0;
}

char *ddb_num_text(const ddb_num *n) {
  char *digits = mpz_get_str(NULL, 10, n->coef);
  if (!digits)
    return NULL;
  int neg = digits[0] == '-';
  const char *d = digits + neg;
  size_t nd = strlen(d);
  size_t size = nd + (size_t)labs(n->exp) + 4;
  char *out = malloc(size);
  if (!out) {
    free(digits);
    return NULL;
  }
  char *w = out;
  if (neg)
    *w++ = '-';
  if (n->exp >= 0) {
    memcpy(w, d, nd);
    w += nd;
    memset(w, '0', (size_t)n->exp);
    w += n->exp;
  } else if ((size_t)-n->exp < nd) {
    size_t whole = nd - (size_t)-n->exp;
    memcpy(w, d, whole);
    w += whole;
    *w++ = '.';
    memcpy(w, d + whole, nd - whole);
    w += nd - whole;
  } else {
    size_t zeros = (size_t)-n->exp - nd;
    *w++ = '0';
    *w++ = '.';
    memset(w, '0', zeros);
    w += zeros;
    memcpy(w, d, nd);
    w += nd;
  }
  *w = '\0';
  free(digits);
  return out;
}

int ddb_num_canonical(char **out, const char *text, ddb_error *e) {
  ddb_num n;
  ddb_num_init(&n);
  int rc = ddb_num_parse(&n, text, e);
  char *s = rc == 0 ? ddb_num_text(&n) : NULL;
  ddb_num_clear(&n);
  if (rc < 0)
    return rc;
  if (!s)
    return ddb_fail(e, "InternalServerError", "out of memory");
  *out = s;
  return 0;
}

/* Sign byte, then the adjusted exponent (biased, 2 bytes) and the digits, all
 * complemented for negative numbers with a 0xFF terminator so that a shorter
 * negative (-1) sorts after a longer one with the same prefix (-1.2). */
int ddb_num_sortable(unsigned char **out, size_t *len, const ddb_num *n) {
  int sign = mpz_sgn(n->coef);
  char *digits = sign ? mpz_get_str(NULL, 10, n->coef) : NULL;
  const char *d = digits ? digits + (sign < 0) : "";
  size_t nd = strlen(d);
  unsigned char *b = malloc(nd + 4);
  if (!b) {
    free(digits);
    return -1;
  }
  size_t k = 0;
  b[k++] = (unsigned char)(sign < 0 ? 1 : sign == 0 ? 2 : 3);
  if (sign != 0) {
    unsigned v = (unsigned)(n->exp + (long)nd - 1 + 1000);
    unsigned char inv = sign < 0 ? 0xFF : 0;
    b[k++] = (unsigned char)((v >> 8) ^ inv);
    b[k++] = (unsigned char)((v & 0xFF) ^ inv);
    for (size_t i = 0; i < nd; i++)
      b[k++] = (unsigned char)((unsigned char)d[i] ^ inv);
    if (sign < 0)
      b[k++] = 0xFF;
  }
  free(digits);
  *out = b;
  *len = k;
  return 0;
}

int ddb_num_text_cmp(const char *a, const char *b) {
  ddb_num x, y;
  ddb_num_init(&x);
  ddb_num_init(&y);
  ddb_error e = {0};
  /* Stored numbers are valid; an invalid one sorts as zero. */
  ddb_num_parse(&x, a, &e);
  ddb_num_parse(&y, b, &e);
  int c = ddb_num_cmp(&x, &y);
  ddb_num_clear(&x);
  ddb_num_clear(&y);
  return c;
}
