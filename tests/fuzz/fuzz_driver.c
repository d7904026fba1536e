/*
 * fuzz_driver.c — runs a fuzz target without libFuzzer: every seed the target
 * lists plus any files named on the command line, then a fixed number of
 * deterministic mutations of each (bit flips, byte changes, truncations,
 * syntax characters, duplicated slices). Deterministic so that a failure
 * reproduces, bounded so that the test stays brief.
 */
#include "tests/fuzz/fuzz_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (1 << 16)

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void run_mutations(const uint8_t *seed, size_t len) {
  static uint8_t buf[FUZZ_MAX_INPUT];
  if (len > FUZZ_MAX_INPUT / 2)
    len = FUZZ_MAX_INPUT / 2;
  LLVMFuzzerTestOneInput(seed, len);
  for (int i = 0; i < fuzz_mutations_per_seed; i++) {
    memcpy(buf, seed, len);
    size_t n = len;
    int edits = 1 + (int)(next() % 4);
    for (int e = 0; e < edits && n > 1; e++) {
      size_t at = (size_t)(next() % n);
      switch (next() % 5) {
      case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
      case 1: buf[at] = (uint8_t)next(); break;
      case 2: n = at; break;
      case 3: {
        buf[at] = (uint8_t)fuzz_alphabet.data[next() % fuzz_alphabet.len];
        break;
      }
      case 4: {
        size_t slice = 1 + (size_t)(next() % 16);
        if (at + slice <= n && n + slice <= FUZZ_MAX_INPUT) {
          memmove(buf + at + slice, buf + at, n - at);
          n += slice;
        }
        break;
      }
      }
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
}

/* `--write-seeds DIR`: writes the seeds as files, the starting corpus of a
 * libFuzzer run (it never sees fuzz_seeds, and from nothing it rarely finds
 * its way into a JSON or XML parser that is not instrumented). */
static int write_seeds(const char *dir) {
  for (size_t i = 0; i < fuzz_seed_count; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%02zu", dir, i);
    FILE *f = fopen(path, "wb");
    const fuzz_seed *seed = &fuzz_seeds[i];
    size_t len = seed->len ? seed->len : strlen(seed->data);
    if (!f || fwrite(seed->data, 1, len, f) != len || fclose(f) != 0) {
      fprintf(stderr, "%s: cannot write %s\n", fuzz_target_name, path);
      return 1;
    }
  }
  printf("%s: %zu seeds written to %s\n", fuzz_target_name, fuzz_seed_count, dir);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
    return write_seeds(argv[2]);
  for (size_t i = 0; i < fuzz_seed_count; i++) {
    const fuzz_seed *seed = &fuzz_seeds[i];
    run_mutations((const uint8_t *)seed->data, seed->len ? seed->len : strlen(seed->data));
  }
  for (int a = 1; a < argc; a++) {
    FILE *f = fopen(argv[a], "rb");
    if (!f) {
      fprintf(stderr, "%s: cannot open %s\n", fuzz_target_name, argv[a]);
      return 1;
    }
    static uint8_t data[FUZZ_MAX_INPUT];
    size_t len = fread(data, 1, sizeof(data), f);
    fclose(f);
    run_mutations(data, len);
  }
  printf("%s: %zu inputs x %d mutations, no crash\n", fuzz_target_name,
         fuzz_seed_count + (size_t)(argc - 1), fuzz_mutations_per_seed);
  return 0;
}
