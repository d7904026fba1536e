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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
