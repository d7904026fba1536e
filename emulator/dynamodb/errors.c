/*
 * errors.c — the DynamoDB service's error record (ddb_error): code, AWS-style
 * message and optional extra body members, filled where a failure is found
 * and turned into the JSON protocol's error answer by service.c.
 */
#include "emulator/dynamodb/dynamodb_int.h"

#include <stdarg.h>
#include <stdio.h>

static int failv(ddb_error *e, const char *code, const char *fmt, va_list ap) {
  if (!e)
    return -1;
  e->code = code;
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
  return -1;
}

int ddb_fail(ddb_error *e, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(e, code, fmt, ap);
  va_end(ap);
  return -1;
}

int ddb_invalid(ddb_error *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(e, "ValidationException", fmt, ap);
  va_end(ap);
  return -1;
}

void ddb_error_clear(ddb_error *e) {
  json_decref(e->fields);
  e->fields = NULL;
  e->code = NULL;
  e->message[0] = '\0';
}
