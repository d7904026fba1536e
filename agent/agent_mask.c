/*
 * agent_mask.c — masks secret values in a log stream.
 *
 * Logs arrive in arbitrary chunks, so a secret may straddle two of them. The
 * masker holds back the longest suffix of the data seen so far that is a
 * prefix of some secret (never more than the longest secret minus one byte)
 * and emits everything before it, with whole matches replaced. Secrets are
 * few and short, so a direct scan beats building an automaton.
 */
#include "agent/agent_int.h"

#include <stdlib.h>
#include <string.h>

#define MASK_MIN_SECRET 3
#define MASK_TEXT "****"

struct agent_mask {
  char **secrets;
  size_t *lengths;
  size_t count;
  size_t longest;
  char *held; /* bytes that may begin a secret */
  size_t held_len;
  char *work; /* held + new data, scanned together */
  size_t work_cap;
};

agent_mask *agent_mask_new(const char *const *secrets, size_t count) {
  agent_mask *mask = calloc(1, sizeof(*mask));
  if (!mask)
    return NULL;
  mask->secrets = calloc(count ? count : 1, sizeof(char *));
  mask->lengths = calloc(count ? count : 1, sizeof(size_t));
  if (!mask->secrets || !mask->lengths)
    goto fail;
  for (size_t i = 0; i < count; i++) {
    size_t len = secrets[i] ? strlen(secrets[i]) : 0;
    if (len < MASK_MIN_SECRET)
      continue;
    if (!(mask->secrets[mask->count] = strdup(secrets[i])))
      goto fail;
    mask->lengths[mask->count++] = len;
    if (len > mask->longest)
      mask->longest = len;
  }
  mask->held = malloc(mask->longest + 1);
  if (!mask->held)
    goto fail;
  return mask;
fail:
  agent_mask_free(mask);
  return NULL;
}

void agent_mask_free(agent_mask *mask) {
  if (!mask)
    return;
  for (size_t i = 0; i < mask->count; i++)
    free(mask->secrets[i]);
  free(mask->secrets);
  free(mask->lengths);
  free(mask->held);
  free(mask->work);
  free(mask);
}

/* Length of the longest secret matching at data[pos..len), 0 if none. */
static size_t match_at(const agent_mask *mask, const char *data, size_t pos, size_t len) {
  size_t best = 0;
  for (size_t i = 0; i < mask->count; i++) {
    size_t n = mask->lengths[i];
    if (n <= len - pos && n > best && memcmp(data + pos, mask->secrets[i], n) == 0)
      best = n;
  }
  return best;
}

/* Whether data[pos..len) (shorter than some secret) is a prefix of a secret. */
static int prefix_at(const agent_mask *mask, const char *data, size_t pos, size_t len) {
  size_t rest = len - pos;
  for (size_t i = 0; i < mask->count; i++)
    if (mask->lengths[i] > rest && memcmp(data + pos, mask->secrets[i], rest) == 0)
      return 1;
  return 0;
}

typedef int (*emit_fn)(const char *data, size_t len, void *payload);

static int scan(agent_mask *mask, const char *data, size_t len, int final, emit_fn emit,
                void *payload) {
  size_t start = 0, pos = 0;
  while (pos < len) {
    size_t match = match_at(mask, data, pos, len);
    if (match) {
      int rc;
      if (pos > start && (rc = emit(data + start, pos - start, payload)) != 0)
        return rc;
      if ((rc = emit(MASK_TEXT, sizeof(MASK_TEXT) - 1, payload)) != 0)
        return rc;
      pos += match;
      start = pos;
      continue;
    }
    if (!final && len - pos < mask->longest && prefix_at(mask, data, pos, len))
      break; /* may complete with the next chunk */
    pos++;
  }
  int rc;
  if (pos > start && (rc = emit(data + start, pos - start, payload)) != 0)
    return rc;
  mask->held_len = len - pos;
  memmove(mask->held, data + pos, mask->held_len);
  return 0;
}

int agent_mask_write(agent_mask *mask, const char *data, size_t len, emit_fn emit, void *payload) {
  if (mask->count == 0)
    return len ? emit(data, len, payload) : 0;
  size_t need = mask->held_len + len;
  if (need > mask->work_cap) {
    char *grown = realloc(mask->work, need);
    if (!grown)
      return -1;
    mask->work = grown;
    mask->work_cap = need;
  }
  memcpy(mask->work, mask->held, mask->held_len);
  memcpy(mask->work + mask->held_len, data, len);
  return scan(mask, mask->work, need, 0, emit, payload);
}

int agent_mask_flush(agent_mask *mask, emit_fn emit, void *payload) {
  if (mask->held_len == 0)
    return 0;
  size_t len = mask->held_len;
  mask->held_len = 0;
  return scan(mask, mask->held, len, 1, emit, payload);
}
