/*
 * token.c — the two formats Kinesis hands to clients and reads back:
 * sequence numbers and opaque tokens (shard iterators, ListShards
 * NextTokens). Both arrive from the network, so both parsers are strict,
 * bounded and fuzzed (tests/fuzz/fuzz_kinesis_token.c).
 *
 * A sequence number is 56 decimal digits, like AWS's: "49", the stream
 * counter (24 digits), the shard's index (10 digits) and the shard's creation
 * time in milliseconds (20 digits). Numbers therefore order by the counter,
 * and a number says which shard it belongs to, so AWS's "it encodes shardId-…"
 * check can be made.
 *
 * A token is the base64 of its '|'-separated fields followed by an
 * HMAC-SHA256 (first 16 bytes, hex) of those fields under a random key made
 * when the emulator starts: clients cannot forge positions, and tokens of a
 * previous emulator are refused.
 */
#include "common/codec.h"
#include "common/dynbuf.h"
#include "emulator/kinesis/kinesis_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_HEX 32 /* 16 bytes */

/* v in exactly width decimal digits, zero-padded (v fits: callers' widths
 * hold their type's largest value). */
static char *put_digits(char *p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

/* "49", the counter in 24 digits, the shard index in 10, the shard's
 * creation in 20: what snprintf("49%024llu%010u%020llu") writes, without
 * its format parsing (PutRecords formats one per record). */
void kin_seq_format(char out[KIN_SEQ_LEN + 1], uint64_t seq, const kin_shard *sh) {
  char *p = out;
  *p++ = '4';
  *p++ = '9';
  p = put_digits(p, seq, 24);
  p = put_digits(p, sh->index, 10);
  p = put_digits(p, sh->created_ms, 20);
  *p = '\0';
}

void kin_seq_set_counter(char seq_text[KIN_SEQ_LEN + 1], uint64_t seq) {
  put_digits(seq_text + 2, seq, 24);
}

int kin_u64_parse(uint64_t *out, const char *text) {
  size_t n = strlen(text);
  if (n == 0 || n > 32 || strspn(text, "0123456789") != n)
    return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int kin_seq_parse(uint64_t *seq, unsigned *shard_index, const char *text) {
  if (strlen(text) != KIN_SEQ_LEN || strspn(text, "0123456789") != KIN_SEQ_LEN ||
      strncmp(text, "49", 2) != 0)
    return -1;
  char counter[25], index[11];
  memcpy(counter, text + 2, 24);
  counter[24] = 0;
  memcpy(index, text + 26, 10);
  index[10] = 0;
  uint64_t c, i;
  if (kin_u64_parse(&c, counter) < 0 || kin_u64_parse(&i, index) < 0 || i > UINT32_MAX)
    return -1;
  *seq = c;
  *shard_index = (unsigned)i;
  return 0;
}

static void mac_hex(char out[MAC_HEX + 1], const kin_state *st, const char *data, size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), st->iterator_key, (int)sizeof(st->iterator_key), (const unsigned char *)data,
       len, md, &n);
  codec_hex_encode(out, md, MAC_HEX / 2);
}

char *kin_token_make(const kin_state *st, const char *const *fields, size_t n) {
  dynbuf b;
  dynbuf_init(&b, KIN_MAX_TOKEN / 2);
  for (size_t i = 0; i < n; i++) {
    if (i)
      dynbuf_append(&b, "|", 1);
    dynbuf_puts(&b, fields[i]);
  }
  char mac[MAC_HEX + 1];
  size_t len = 0;
  char *text = dynbuf_take(&b, &len);
  if (!text)
    return NULL;
  mac_hex(mac, st, text, len);
  dynbuf_init(&b, KIN_MAX_TOKEN / 2);
  dynbuf_append(&b, text, len);
  dynbuf_append(&b, "|", 1);
  dynbuf_append(&b, mac, MAC_HEX);
  free(text);
  text = dynbuf_take(&b, &len);
  char *out = text ? codec_base64_encode(text, len) : NULL;
  free(text);
  return out;
}

int kin_token_parse(char **buf, char **fields, size_t n, const kin_state *st, const char *text) {
  size_t len = strlen(text);
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  if (len == 0 || len > KIN_MAX_TOKEN || !codec_base64_valid(text, len) ||
      codec_base64_decode(&raw, &raw_len, text, len) < 0)
    return -1;
  if (memchr(raw, 0, raw_len) || raw_len < MAC_HEX + 1 || raw[raw_len - MAC_HEX - 1] != '|') {
    free(raw);
    return -1;
  }
  char mac[MAC_HEX + 1];
  size_t body = raw_len - MAC_HEX - 1;
  mac_hex(mac, st, (const char *)raw, body);
  if (CRYPTO_memcmp(mac, raw + body + 1, MAC_HEX) != 0) {
    free(raw);
    return -1;
  }
  raw[body] = 0;
  char *p = (char *)raw;
  for (size_t i = 0; i < n; i++) {
    fields[i] = p;
    char *bar = strchr(p, '|');
    if ((i + 1 < n) != (bar != NULL)) {
      free(raw);
      return -1;
    }
    if (bar) {
      *bar = 0;
      p = bar + 1;
    }
  }
  *buf = (char *)raw;
  return 0;
}

char *kin_iterator_make(const kin_state *st, const kin_stream *s, const kin_shard *sh,
                        uint64_t position, uint64_t issued_ms) {
  char created[24], pos[24], issued[24];
  snprintf(created, sizeof(created), "%llu", (unsigned long long)s->created_ms);
  snprintf(pos, sizeof(pos), "%llu", (unsigned long long)position);
  snprintf(issued, sizeof(issued), "%llu", (unsigned long long)issued_ms);
  const char *f[5] = {s->arn, created, sh->id, pos, issued};
  return kin_token_make(st, f, 5);
}

int kin_iterator_parse(kin_iterator *out, const kin_state *st, const char *text) {
  char *buf = NULL, *f[5];
  if (kin_token_parse(&buf, f, 5, st, text) < 0)
    return -1;
  kin_iterator it;
  int ok = strlen(f[0]) < sizeof(it.arn) && strlen(f[2]) < sizeof(it.shard) &&
           kin_u64_parse(&it.stream_created_ms, f[1]) == 0 &&
           kin_u64_parse(&it.position, f[3]) == 0 && kin_u64_parse(&it.issued_ms, f[4]) == 0;
  if (ok) {
    snprintf(it.arn, sizeof(it.arn), "%s", f[0]);
    snprintf(it.shard, sizeof(it.shard), "%s", f[2]);
    *out = it;
  }
  free(buf);
  return ok ? 0 : -1;
}
