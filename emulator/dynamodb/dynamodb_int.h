/*
 * dynamodb_int.h — private to emulator/dynamodb/: the pieces of the DynamoDB
 * service and the types they share. Nothing outside this folder (and its unit
 * tests) includes it.
 *
 * Values cross the service in the wire form of the JSON protocol: an
 * AttributeValue is a jansson object with one member named after its type
 * ({"S": "x"}, {"N": "1.5"}, {"B": "<base64>"}, {"SS": [...]}, {"M": {...}},
 * …). Numbers stay decimal strings end to end (canonicalised on the way in by
 * number.c, never converted to doubles).
 *
 * Locking: one mutex per service instance (ddb_state.lock) is held for the
 * whole of every operation, which makes every operation, batches and
 * transactions included, atomic and isolated at no extra cost.
 */
#ifndef AIRGAP_EMULATOR_DYNAMODB_INT_H
#define AIRGAP_EMULATOR_DYNAMODB_INT_H

#include <gmp.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors (every function below that can fail fills one) ---- */

typedef struct ddb_error {
  const char *code; /* "ValidationException", … (static) */
  char message[1024];
  json_t *fields; /* extra members for the error body (owned; may be NULL) */
} ddb_error;

/* Records code and message in e (replacing what was there). Returns -1. */
int ddb_fail(ddb_error *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shorthand for a ValidationException. Returns -1. */
int ddb_invalid(ddb_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ddb_error_clear(ddb_error *e);

/* ---- numbers (number.c): GMP integer × 10^exp ---- */

#define DDB_NUM_MAX_DIGITS 38
#define DDB_NUM_MAX_EXP 125  /* largest adjusted exponent (9.99…E+125) */
#define DDB_NUM_MIN_EXP -130 /* smallest adjusted exponent (1E-130) */

/* value = coef × 10^exp; canonical: coef has no trailing decimal zero, and
 * zero is coef 0, exp 0 (so "-0" is 0). */
typedef struct ddb_num {
  mpz_t coef;
  long exp;
} ddb_num;

void ddb_num_init(ddb_num *n);
void ddb_num_clear(ddb_num *n);
/* Parses text the way DynamoDB accepts it ([+-]digits[.digits][e[+-]digits],
 * at least one digit, no spaces, no NaN/Infinity) and checks precision and
 * range. On failure returns -1 with e filled with AWS's message and n left
 * unchanged. */
int ddb_num_parse(ddb_num *n, const char *text, ddb_error *e);
/* out = a + b (or a - b when negate_b), exact; fails like AWS when the
 * result needs more than 38 digits or leaves the range. out may alias. */
int ddb_num_add(ddb_num *out, const ddb_num *a, const ddb_num *b, int negate_b, ddb_error *e);
/* -1, 0, 1. */
int ddb_num_cmp(const ddb_num *a, const ddb_num *b);
/* The text DynamoDB answers with: plain notation, no exponent, no trailing
 * fractional zeros ("1E+2" → "100", "1.50" → "1.5", "-0" → "0"). Owned. */
char *ddb_num_text(const ddb_num *n);
/* Parse then text: the canonical form of a number string. Owned in *out. */
int ddb_num_canonical(char **out, const char *text, ddb_error *e);
/* Bytes whose memcmp order is the numeric order (for keys). Owned in *out. */
int ddb_num_sortable(unsigned char **out, size_t *len, const ddb_num *n);
/* Compares two canonical number strings numerically. */
int ddb_num_text_cmp(const char *a, const char *b);

#endif
