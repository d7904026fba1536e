/*
 * json_arena.c — per-thread bump arenas behind jansson's allocation hooks
 * (see json_arena.h).
 *
 * Shape: one address range is reserved at init (PROT_NONE, nothing
 * committed) and cut into fixed slots; a thread claims a slot the first time
 * it enters an arena and gives it back when it exits. The free hook needs
 * only one range check to tell an arena pointer (ignored) from a malloc one
 * (freed), whichever thread frees it, so trees may be released anywhere.
 * An allocation that does not fit in the slot's remaining space comes from
 * malloc: a huge request is served correctly, only without the arena's gain.
 * Memory a big request touched beyond ARENA_KEEP is given back at reset, so
 * an idle emulator holds at most ARENA_KEEP per thread that used an arena.
 *
 * Under AddressSanitizer everything not handed out is poisoned, with a red
 * zone after every allocation, so a use after json_arena_reset() or past
 * an allocation's end is reported as it would be for malloc'd memory.
 */
#include "common/json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE 16
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_REDZONE 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_SLOTS 64                    /* threads with an arena at once */
#define ARENA_SLOT_SIZE ((size_t)8 << 20) /* per thread: a 5 MiB PutRecords fits */
#define ARENA_KEEP ((size_t)1 << 20)      /* kept touched across resets */
#define ARENA_ALIGN 16                    /* malloc's alignment on x86-64 */

static char *arena_base; /* set once, before the hooks are installed */
static size_t arena_size;
static _Atomic uint64_t slots_taken; /* bit i: slot i has a thread */
static pthread_key_t slot_key;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

typedef struct arena {
  char *start, *cur, *end;
  char *touched; /* the highest address handed out since the slot was taken */
  int slot;      /* -1: none yet (or none to be had) */
  int active;
} arena;

static _Thread_local arena self = {.slot = -1};

static void *arena_malloc(size_t n) {
  arena *a = &self;
  if (a->active) {
    size_t left = (size_t)(a->end - a->cur);
    size_t need = ((n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1)) + ARENA_REDZONE;
    if (n < left && need <= left) {
      char *p = a->cur;
      a->cur += need;
      if (a->cur > a->touched)
        a->touched = a->cur;
      UNPOISON(p, n);
      return p;
    }
  }
  return malloc(n);
}

static void arena_free(void *p) {
  /* One unsigned comparison: below the base wraps around to a large value. */
  if ((uintptr_t)p - (uintptr_t)arena_base < arena_size)
    return;
  free(p);
}

/* Thread exit: the slot goes back, its memory uncommitted. */
static void slot_release(void *value) {
  int slot = (int)(intptr_t)value - 1;
  char *start = arena_base + (size_t)slot * ARENA_SLOT_SIZE;
  madvise(start, ARENA_SLOT_SIZE, MADV_DONTNEED);
  POISON(start, ARENA_SLOT_SIZE);
  atomic_fetch_and(&slots_taken, ~((uint64_t)1 << slot));
}

static void init(void) {
  if (pthread_key_create(&slot_key, slot_release) != 0)
    return;
  size_t size = (size_t)ARENA_SLOTS * ARENA_SLOT_SIZE;
  void *base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base != MAP_FAILED) {
    arena_base = base;
    arena_size = size;
  }
  json_set_alloc_funcs(arena_malloc, arena_free);
}

void json_arena_init(void) { pthread_once(&init_once, init); }

static int slot_claim(arena *a) {
  uint64_t taken = atomic_load(&slots_taken);
  int slot;
  do {
    if (taken == UINT64_MAX)
      return -1;
    slot = __builtin_ctzll(~taken);
  } while (!atomic_compare_exchange_weak(&slots_taken, &taken, taken | ((uint64_t)1 << slot)));
  char *start = arena_base + (size_t)slot * ARENA_SLOT_SIZE;
  if (mprotect(start, ARENA_SLOT_SIZE, PROT_READ | PROT_WRITE) != 0 ||
      pthread_setspecific(slot_key, (void *)(intptr_t)(slot + 1)) != 0) {
    atomic_fetch_and(&slots_taken, ~((uint64_t)1 << slot));
    return -1;
  }
  POISON(start, ARENA_SLOT_SIZE);
  a->slot = slot;
  a->start = a->cur = a->touched = start;
  a->end = start + ARENA_SLOT_SIZE;
  return 0;
}

int json_arena_enter(void) {
  arena *a = &self;
  if (a->slot < 0 && (!arena_base || slot_claim(a) < 0))
    return -1;
  a->active = 1;
  return 0;
}

void json_arena_leave(void) { self.active = 0; }

void json_arena_reset(void) {
  arena *a = &self;
  a->active = 0;
  if (a->slot < 0)
    return;
  POISON(a->start, (size_t)(a->cur - a->start));
  if ((size_t)(a->touched - a->start) > ARENA_KEEP) {
    madvise(a->start + ARENA_KEEP, (size_t)(a->touched - a->start) - ARENA_KEEP, MADV_DONTNEED);
    a->touched = a->start + ARENA_KEEP;
  }
  a->cur = a->start;
}

size_t json_arena_used(void) { return self.slot < 0 ? 0 : (size_t)(self.cur - self.start); }

int json_arena_owns(const void *p) {
  return arena_base && (uintptr_t)p - (uintptr_t)arena_base < arena_size;
}
