/*
 * error.h — airgap's error convention, shared by every module.
 *
 * Functions return int: 0 on success, one of the named negative codes below for
 * failures a caller is expected to handle, -1 (AIRGAP_ERROR) for everything else.
 * Where a failure happens, the code records a human-readable message with
 * airgap_error_set(); callers pass the code up unchanged and the outermost layer
 * (usually the CLI) prints airgap_error_last(). The message is thread-local.
 */
#ifndef AIRGAP_COMMON_ERROR_H
#define AIRGAP_COMMON_ERROR_H

#include <stdarg.h>

enum {
  AIRGAP_OK = 0,
  AIRGAP_ERROR = -1,     /* generic failure; see airgap_error_last() */
  AIRGAP_ENOTFOUND = -2, /* the named thing does not exist */
  AIRGAP_EEXISTS = -3,   /* the thing to create exists already */
  AIRGAP_EINVALID = -4,  /* malformed or out-of-range input */
  AIRGAP_ETOOBIG = -5,   /* input exceeds an explicit limit */
  AIRGAP_EAUTH = -6,     /* missing or wrong credentials */
  AIRGAP_EBUSY = -7,     /* locked or in use; retry later */
  AIRGAP_ETIMEOUT = -8,  /* a deadline passed */
  AIRGAP_ECANCELED = -9, /* stopped on request */
};

/* Records the message for the current thread and returns `code`, so that
 * `return airgap_error_set(AIRGAP_EINVALID, "bad %s", x);` reads naturally.
 * An argument may be airgap_error_last() itself, to add context to the
 * message below: `airgap_error_set(e, "cannot start: %s", airgap_error_last())`. */
int airgap_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int airgap_error_setv(int code, const char *fmt, va_list ap);

/* Like airgap_error_set, appending ": strerror(errno)" for the current errno. */
int airgap_error_set_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" when none). Borrowed: valid
 * until the next airgap_error_* call on this thread. */
const char *airgap_error_last(void);

/* Forgets the last message of this thread. */
void airgap_error_clear(void);

/* A short name for a code ("not found", "exists", ...). Static string. */
const char *airgap_error_name(int code);

#endif
