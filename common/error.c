/*
 * error.c — thread-local last-error message (see error.h).
 *
 * A fixed buffer per thread: recording an error must never itself fail or
 * allocate, since it runs on out-of-memory paths too.
 */
#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ERROR_MESSAGE_MAX 1024

static _Thread_local char last_message[ERROR_MESSAGE_MAX];

/* Formats into a scratch buffer and copies it over: an argument may be
 * airgap_error_last() itself ("%s: %s", what, airgap_error_last()), and
 * vsnprintf into the buffer it reads from is undefined behaviour. */
int airgap_error_setv(int code, const char *fmt, va_list ap) {
  char scratch[ERROR_MESSAGE_MAX];
  vsnprintf(scratch, sizeof(scratch), fmt, ap);
  memcpy(last_message, scratch, strlen(scratch) + 1);
  return code;
}

int airgap_error_set(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  airgap_error_setv(code, fmt, ap);
  va_end(ap);
  return code;
}

int airgap_error_set_errno(int code, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  airgap_error_setv(code, fmt, ap);
  va_end(ap);
  size_t used = strlen(last_message);
  if (used + 1 < sizeof(last_message))
    snprintf(last_message + used, sizeof(last_message) - used, ": %s", strerror(saved));
  errno = saved;
  return code;
}

const char *airgap_error_last(void) { return last_message; }

void airgap_error_clear(void) { last_message[0] = '\0'; }

const char *airgap_error_name(int code) {
  switch (code) {
  case AIRGAP_OK: return "ok";
  case AIRGAP_ENOTFOUND: return "not found";
  case AIRGAP_EEXISTS: return "exists";
  case AIRGAP_EINVALID: return "invalid";
  case AIRGAP_ETOOBIG: return "too big";
  case AIRGAP_EAUTH: return "unauthorized";
  case AIRGAP_EBUSY: return "busy";
  case AIRGAP_ETIMEOUT: return "timeout";
  case AIRGAP_ECANCELED: return "canceled";
  default: return "error";
  }
}
