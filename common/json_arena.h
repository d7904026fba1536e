/*
 * json_arena.h — per-thread bump allocation for short-lived jansson trees.
 *
 * A PutRecords of 500 records parses into ~5,000 jansson allocations that
 * all die together when the request ends; malloc and free of them were a
 * quarter of the emulator's CPU on that call. Between json_arena_enter() and
 * json_arena_leave() a thread's jansson allocations are carved from its own
 * arena instead; freeing them (json_decref) does nothing, and
 * json_arena_reset() drops them all at once.
 *
 * jansson's allocation hooks are process-wide, so json_arena_init()
 * installs hooks that behave exactly like malloc/free for every allocation
 * made outside an arena scope, in every thread: only the thread that entered
 * its arena allocates from it. Values from an arena must not outlive the next
 * json_arena_reset() of their thread: use it only for trees whose every
 * reference is known to be dropped by then (a request's parsed input, its
 * answer), never for anything stored. Nothing jansson hands out to be
 * released with free() (json_dumps) may be made inside a scope.
 */
#ifndef AIRGAP_COMMON_JSON_ARENA_H
#define AIRGAP_COMMON_JSON_ARENA_H

#include <stddef.h>

/* Installs the hooks (once per process; later calls do nothing). Call it
 * before the threads that use arenas start. Arenas are unavailable (enter
 * returns -1) when the address space for them cannot be reserved. */
void json_arena_init(void);

/* Routes this thread's jansson allocations into its arena until
 * json_arena_leave(). Returns 0, or -1 when this thread has no arena (none
 * reserved, or every slot taken by other threads): allocations then come
 * from malloc as usual, which is always correct. Scopes do not nest. */
int json_arena_enter(void);

/* Stops routing; what was allocated stays valid until json_arena_reset(). */
void json_arena_leave(void);

/* Drops everything allocated in this thread's arena (leaving the scope
 * first if still inside). The caller guarantees none of it is referenced. */
void json_arena_reset(void);

/* Bytes handed out by this thread's arena since its last reset (tests). */
size_t json_arena_used(void);

/* Whether p lies in any thread's arena (tests). */
int json_arena_owns(const void *p);

#endif
