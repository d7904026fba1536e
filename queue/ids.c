/*
 * ids.c — identifiers and the clock every part of the queue shares: random
 * hex ids from the OpenSSL CSPRNG (job ids, lease ids, token ids and
 * secrets: unguessable, since a lease id is what lets an agent act on a job),
 * the shape check made before an id reaches a store, and the wall clock in
 * milliseconds (stored times and lease expiry are compared across restarts,
 * so not a monotonic clock).
 */
#include "queue/store_int.h"
#include "common/clock.h"
#include "common/codec.h"
#include "common/error.h"

#include <openssl/rand.h>
#include <string.h>

int queue_random_hex(char *out, size_t bytes) {
  unsigned char raw[64];
  if (bytes > sizeof(raw))
    return airgap_error_set(AIRGAP_EINVALID, "queue_random_hex: %zu bytes is too many", bytes);
  if (RAND_bytes(raw, (int)bytes) != 1)
    return airgap_error_set(AIRGAP_ERROR, "cannot get random bytes from OpenSSL");
  codec_hex_encode(out, raw, bytes);
  return 0;
}

int queue_job_id_new(char out[QUEUE_JOB_ID_LEN + 1]) {
  return queue_random_hex(out, QUEUE_JOB_ID_LEN / 2);
}

int queue_job_id_valid(const char *id) {
  if (!id || strlen(id) != QUEUE_JOB_ID_LEN)
    return 0;
  for (size_t i = 0; i < QUEUE_JOB_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return 1;
}

int64_t queue_now_ms(void) { return (int64_t)clock_wall_ms(); }
