/*
 * sm_password.c — GetRandomPassword with every option AWS documents: length
 * 1..4096 (default 32), excluded characters, excluded classes (numbers,
 * punctuation, upper, lower), IncludeSpace, and RequireEachIncludedType
 * (default true: at least one character of each class still included).
 *
 * Characters are drawn uniformly (rejection sampling over RAND_bytes); one of
 * each required class is placed first and the whole is shuffled, so the
 * requirement does not fix any position.
 */
#include "common/jsonutil.h"
#include "emulator/secretsmanager/sm_int.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SM_MAX_PASSWORD 4096

/* A uniform index below n (n > 0). */
static size_t uniform(size_t n) {
  uint32_t limit = UINT32_MAX - (uint32_t)(((uint64_t)UINT32_MAX + 1) % n), v;
  do {
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
      v = (uint32_t)rand();
  } while (v >= limit);
  return v % n;
}

/* Copies the characters of set not in excluded into out; returns the count. */
static size_t keep(char *out, const char *set, const char *excluded) {
  size_t n = 0;
  for (const char *c = set; *c; c++)
    if (!strchr(excluded, *c))
      out[n++] = *c;
  out[n] = '\0';
  return n;
}

static int flag(json_t *input, const char *name, int dflt) {
  json_t *v = json_object_get(input, name);
  return v ? json_is_true(v) : dflt;
}

void sm_get_random_password(aws_call *call, json_t *input) {
  json_t *lenv = json_object_get(input, "PasswordLength");
  json_int_t length = lenv ? json_integer_value(lenv) : 32;
  const char *excluded = jsonutil_string(input, "ExcludeCharacters");
  if (!excluded)
    excluded = "";
  if (length < 1 || length > SM_MAX_PASSWORD) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "PasswordLength must be between 1 and %d.", SM_MAX_PASSWORD);
    return;
  }
  if (strlen(excluded) > 4096) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "ExcludeCharacters must be at most 4096 characters.");
    return;
  }
  static const char *const sets[] = {"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                     "0123456789", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"};
  int use[4] = {!flag(input, "ExcludeLowercase", 0), !flag(input, "ExcludeUppercase", 0),
                !flag(input, "ExcludeNumbers", 0), !flag(input, "ExcludePunctuation", 0)};
  char classes[4][40], all[140];
  size_t counts[4] = {0}, total = 0, required = 0;
  int require = flag(input, "RequireEachIncludedType", 1);
  for (int i = 0; i < 4; i++) {
    counts[i] = use[i] ? keep(classes[i], sets[i], excluded) : 0;
    memcpy(all + total, classes[i], counts[i]);
    total += counts[i];
    required += counts[i] > 0;
  }
  if (flag(input, "IncludeSpace", 0) && !strchr(excluded, ' '))
    all[total++] = ' ';
  all[total] = '\0';
  if (total == 0) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "The options exclude every character: there is nothing to build a password "
                  "from.");
    return;
  }
  if (require && (size_t)length < required) {
    aws_call_fail(call, 400, "InvalidParameterException",
                  "PasswordLength %lld is too short to include each of the %zu required character "
                  "types.",
                  (long long)length, required);
    return;
  }
  char *pw = malloc((size_t)length + 1);
  if (!pw) {
    aws_call_fail(call, 500, "InternalServiceError", "out of memory");
    return;
  }
  size_t n = 0;
  for (int i = 0; require && i < 4; i++)
    if (counts[i])
      pw[n++] = classes[i][uniform(counts[i])];
  while (n < (size_t)length)
    pw[n++] = all[uniform(total)];
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = uniform(i + 1);
    char t = pw[i];
    pw[i] = pw[j];
    pw[j] = t;
  }
  pw[n] = '\0';
  aws_call_reply(call, json_pack("{s:s}", "RandomPassword", pw));
  OPENSSL_cleanse(pw, n);
  free(pw);
}
