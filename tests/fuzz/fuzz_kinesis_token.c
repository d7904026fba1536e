/*
 * fuzz_kinesis_token.c — fuzz target for the formats Kinesis reads back from
 * clients (emulator/kinesis/token.c, hashkey.c): opaque tokens (shard
 * iterators, NextTokens), sequence numbers and decimal hash keys.
 *
 * Input layout: byte 0 picks the parser, the rest is its text. 0: the text as
 * a token as a client sends it (MAC checked); 1: the text split at '|' into
 * fields and made into a genuine token, then parsed as an iterator, so the
 * field checks behind the MAC are reached; 2: a sequence number; 3: a hash
 * key. Built as a libFuzzer target with clang (-fsanitize=fuzzer); otherwise
 * fuzz_driver.c runs it over the seeds below with deterministic mutations.
 */
#include "emulator/kinesis/kinesis_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096)
    return 0;
  static kin_state st; /* only the iterator key is read: all zeros */
  char *text = malloc(size);
  if (!text)
    return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  switch (data[0] % 4) {
  case 0: {
    char *buf = NULL, *fields[5];
    if (kin_token_parse(&buf, fields, 5, &st, text) == 0)
      free(buf);
    kin_iterator it;
    kin_iterator_parse(&it, &st, text);
    break;
  }
  case 1: {
    const char *fields[8];
    size_t n = 0;
    char *p = text;
    while (n < 8) {
      fields[n++] = p;
      char *bar = strchr(p, '|');
      if (!bar)
        break;
      *bar = 0;
      p = bar + 1;
    }
    char *token = kin_token_make(&st, fields, n);
    if (token) {
      kin_iterator it;
      if (kin_iterator_parse(&it, &st, token) == 0 && n != 5)
        abort(); /* only five fields make an iterator */
      free(token);
    }
    break;
  }
  case 2: {
    uint64_t seq;
    unsigned index;
    if (kin_seq_parse(&seq, &index, text) == 0) {
      kin_shard sh = {.index = index};
      char back[KIN_SEQ_LEN + 1];
      kin_seq_format(back, seq, &sh);
      if (strncmp(back, text, 36) != 0)
        abort(); /* counter and shard index survive a round trip */
    }
    break;
  }
  default: {
    mpz_t h;
    mpz_init(h);
    if (kin_hash_parse(h, text) == 0) {
      json_t *back = kin_hash_json(h);
      if (strcmp(json_string_value(back), text) != 0)
        abort();
      json_decref(back);
    }
    mpz_clear(h);
    break;
  }
  }
  free(text);
  return 0;
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00YXJuOmF3czpraW5lc2lzfDF8c2hhcmRJZC0wMDAwMDAwMDAwMDB8MHwxfGFiY2Q="),
    FUZZ_LITERAL("\x01"
                 "arn:aws:kinesis:us-east-1:000000000000:stream/s|1700000000000|"
                 "shardId-000000000000|42|1700000000001"),
    FUZZ_LITERAL("\x01"
                 "a|18446744073709551615|b|18446744073709551616|0"),
    FUZZ_LITERAL("\x02"
                 "49000000000000000000000042000000000300000001700000000000"),
    FUZZ_LITERAL("\x02"
                 "49999999999999999999999999999999999999999999999999999999"),
    FUZZ_LITERAL("\x03"
                 "340282366920938463463374607431768211455"),
    FUZZ_LITERAL("\x03"
                 "340282366920938463463374607431768211456"),
    FUZZ_LITERAL("\x03"
                 "0"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const char fuzz_target_name[] = "fuzz_kinesis_token";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("|0123456789=+/AZaz-\x00");
const int fuzz_mutations_per_seed = 3000;
