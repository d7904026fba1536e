/*
 * zipload.c — libzip, loaded when the first deployment package arrives
 * (dlopen), not when the emulator starts: `airgap emulator` keeps its start
 * time and idle memory when Lambda is served but unused (DESIGN.md). The
 * header still gives the types and prototypes; only the symbols are looked
 * up here, once, under pthread_once.
 */
#include "common/error.h"
#include "emulator/lambda/lambda_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static lambda_zip_api api;
static int loaded;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  static const char *const NAMES[] = {"libzip.so.5", "libzip.so.4", "libzip.so"};
  void *h = NULL;
  for (size_t i = 0; !h && i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
    h = dlopen(NAMES[i], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(why, sizeof(why), "libzip is not installed (%s)", dlerror());
    return;
  }
#define SYM(field, name)                                                                           \
  do {                                                                                             \
    *(void **)&api.field = dlsym(h, name);                                                         \
    if (!api.field) {                                                                              \
      snprintf(why, sizeof(why), "libzip lacks %s", name);                                         \
      return;                                                                                      \
    }                                                                                              \
  } while (0)
  SYM(error_init, "zip_error_init");
  SYM(error_fini, "zip_error_fini");
  SYM(source_buffer_create, "zip_source_buffer_create");
  SYM(source_free, "zip_source_free");
  SYM(open_from_source, "zip_open_from_source");
  SYM(get_num_entries, "zip_get_num_entries");
  SYM(stat_index, "zip_stat_index");
  SYM(file_get_external_attributes, "zip_file_get_external_attributes");
  SYM(fopen_index, "zip_fopen_index");
  SYM(fread, "zip_fread");
  SYM(fclose, "zip_fclose");
  SYM(discard, "zip_discard");
#undef SYM
  /* The handle stays open for the life of the process, like a linked library. */
  loaded = 1;
}

const lambda_zip_api *lambda_zip(void) {
  pthread_once(&once, load);
  if (!loaded) {
    airgap_error_set(AIRGAP_ERROR, "Lambda cannot read deployment packages: %s", why);
    return NULL;
  }
  return &api;
}
