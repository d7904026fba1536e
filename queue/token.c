/*
 * token.c — API tokens.
 *
 * A token reads "aq_<id>_<secret>": 16 hex digits naming the row, 64 hex
 * digits (256 random bits) of secret. Only SHA-256(secret) is stored, so a
 * copy of the database does not hand out working tokens, and the lookup by id
 * followed by CRYPTO_memcmp of the hashes takes the same time whichever byte of
 * the secret is wrong. Tokens are printed once, when created. Random ids come
 * from ids.c. A server keeps the rows it read for two seconds (a
 * queue_token_cache): reading the store was the largest part of a request's
 * cost after the transaction itself.
 */
#include "queue/queue_int.h"
#include "queue/server_int.h"
#include "common/clock.h"
#include "common/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_PREFIX "aq_"
#define TOKEN_ID_BYTES 8
#define TOKEN_SECRET_BYTES 32
#define TOKEN_LEN (3 + 2 * TOKEN_ID_BYTES + 1 + 2 * TOKEN_SECRET_BYTES)

static int is_lower_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}

static int sha256(unsigned char out[32], const char *data, size_t len) {
  unsigned int n = 0;
  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
    return airgap_error_set(AIRGAP_ERROR, "SHA-256 failed");
  return 0;
}

void queue_token_cache_init(queue_token_cache *cache) {
  memset(cache, 0, sizeof(*cache));
  pthread_mutex_init(&cache->mu, NULL);
}

void queue_token_cache_destroy(queue_token_cache *cache) { pthread_mutex_destroy(&cache->mu); }

/* The cached row of id, when fresh: 1 and *out_role, want filled. */
static int cache_get(char **out_role, unsigned char want[32], queue_token_cache *cache,
                     const char *id) {
  int found = 0;
  uint64_t now = clock_monotonic_ms();
  pthread_mutex_lock(&cache->mu);
  for (size_t i = 0; i < QUEUE_TOKEN_CACHE_SLOTS && !found; i++) {
    struct queue_token_cached *e = &cache->slot[i];
    if (e->until > now && strcmp(e->id, id) == 0 && (*out_role = strdup(e->role))) {
      memcpy(want, e->hash, 32);
      found = 1;
    }
  }
  pthread_mutex_unlock(&cache->mu);
  return found;
}

/* Keeps a row read from the store, in the free or the oldest slot. */
static void cache_put(queue_token_cache *cache, const char *id, const char *role,
                      const unsigned char hash[32]) {
  if (strlen(role) >= sizeof(cache->slot[0].role))
    return;
  uint64_t now = clock_monotonic_ms();
  pthread_mutex_lock(&cache->mu);
  struct queue_token_cached *e = &cache->slot[0];
  for (size_t i = 0; i < QUEUE_TOKEN_CACHE_SLOTS; i++) {
    struct queue_token_cached *c = &cache->slot[i];
    if (strcmp(c->id, id) == 0 || c->until <= now) {
      e = c;
      break;
    }
    if (c->until < e->until)
      e = c;
  }
  snprintf(e->id, sizeof(e->id), "%s", id);
  snprintf(e->role, sizeof(e->role), "%s", role);
  memcpy(e->hash, hash, 32);
  e->until = now + QUEUE_TOKEN_CACHE_MS;
  pthread_mutex_unlock(&cache->mu);
}

int queue_token_verify(char **out_role, queue_store *store, const char *token) {
  return queue_token_verify_cached(out_role, store, NULL, token);
}

int queue_token_verify_cached(char **out_role, queue_store *store, queue_token_cache *cache,
                              const char *token) {
  char id[2 * TOKEN_ID_BYTES + 1];
  unsigned char want[32], got[32];
  char *role = NULL;
  if (!token || strlen(token) != TOKEN_LEN || strncmp(token, TOKEN_PREFIX, 3) != 0 ||
      token[3 + 2 * TOKEN_ID_BYTES] != '_' || !is_lower_hex(token + 3, 2 * TOKEN_ID_BYTES) ||
      !is_lower_hex(token + 4 + 2 * TOKEN_ID_BYTES, 2 * TOKEN_SECRET_BYTES))
    return airgap_error_set(AIRGAP_EAUTH, "malformed token");
  memcpy(id, token + 3, 2 * TOKEN_ID_BYTES);
  id[2 * TOKEN_ID_BYTES] = '\0';
  int error = sha256(got, token + 4 + 2 * TOKEN_ID_BYTES, 2 * TOKEN_SECRET_BYTES);
  if (error < 0)
    return error;
  if (!cache || !cache_get(&role, want, cache, id)) {
    error = queue_store_token_get(&role, want, store, id);
    if (error == AIRGAP_ENOTFOUND)
      return airgap_error_set(AIRGAP_EAUTH, "unknown token");
    if (error < 0)
      return error;
    if (cache)
      cache_put(cache, id, role, want);
  }
  if (CRYPTO_memcmp(want, got, sizeof(want)) != 0) {
    free(role);
    return airgap_error_set(AIRGAP_EAUTH, "wrong token");
  }
  *out_role = role;
  return 0;
}

/* Makes a token of role in store (open) and hands it to *out. */
static int token_make(char **out, queue_store *store, const char *role) {
  char id[2 * TOKEN_ID_BYTES + 1], secret[2 * TOKEN_SECRET_BYTES + 1];
  unsigned char hash[32];
  char *token = NULL;
  int error;
  if ((error = queue_random_hex(id, TOKEN_ID_BYTES)) < 0 ||
      (error = queue_random_hex(secret, TOKEN_SECRET_BYTES)) < 0 ||
      (error = sha256(hash, secret, strlen(secret))) < 0 ||
      (error = queue_store_token_add(store, id, role, hash, queue_now_ms())) < 0)
    goto cleanup;
  token = malloc(TOKEN_LEN + 1);
  if (!token) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  snprintf(token, TOKEN_LEN + 1, TOKEN_PREFIX "%s_%s", id, secret);
  *out = token;
cleanup:
  OPENSSL_cleanse(secret, sizeof(secret));
  return error;
}

static int role_check(const char *role) {
  if (!role ||
      (strcmp(role, "agent") != 0 && strcmp(role, "client") != 0 && strcmp(role, "viewer") != 0))
    return airgap_error_set(AIRGAP_EINVALID, "unknown token role '%s': use agent, client or viewer",
                            role ? role : "");
  return 0;
}

int queue_token_create(char **out, const char *data_dir, const char *role) {
  queue_store *store = NULL;
  int error = role_check(role);
  if (error < 0)
    return error;
  if (data_dir &&
      (strncmp(data_dir, "postgres://", 11) == 0 || strncmp(data_dir, "postgresql://", 13) == 0))
    error = queue_store_open_pg(&store, data_dir, 1);
  else
    error = queue_store_open_sqlite(&store, data_dir, 0);
  if (error == 0)
    error = token_make(out, store, role);
  queue_store_close(store);
  return error;
}

int queue_server_token_create(char **out, queue_server *server, const char *role) {
  int error = role_check(role);
  return error < 0 ? error : token_make(out, server->store, role);
}
