/*
 * fuzz_driver.h — what a fuzz target gives fuzz_driver.c, the driver that runs
 * it without libFuzzer (gcc builds, every test run): its seed inputs. With
 * clang and -fsanitize=fuzzer the same target file links against libFuzzer
 * instead and the seeds are ignored (pass a corpus directory there).
 */
#ifndef AIRGAP_TESTS_FUZZ_DRIVER_H
#define AIRGAP_TESTS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_seed {
  const char *data;
  size_t len; /* 0: strlen(data) */
} fuzz_seed;

/* Defined by the target. */
extern const fuzz_seed fuzz_seeds[];
extern const size_t fuzz_seed_count;
extern const char fuzz_target_name[];
/* Bytes that matter to the target's syntax, planted by one kind of mutation. */
extern const fuzz_seed fuzz_alphabet;
/* Mutations run per seed; keep the test brief. */
extern const int fuzz_mutations_per_seed;

/* A seed or alphabet from a string literal, embedded NULs included. */
#define FUZZ_LITERAL(s)                                                                            \
  { (s), sizeof(s) - 1 }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
