/*
 * agent_int.h — the agent's internal modules, shared between its own .c files
 * only (never included from other components).
 */
#ifndef AIRGAP_AGENT_INT_H
#define AIRGAP_AGENT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- network namespaces (agent_netns.c) ---- */

/* Opens a TCP listening socket bound to host:port inside the network namespace
 * of process pid (the sandbox container's pause process). The socket keeps
 * living in that namespace; the caller's threads stay where they were (the
 * setns happens on a short-lived helper thread). *out gets the fd (owned).
 * Errors: AIRGAP_ENOTFOUND (no such process), -1 (setns/bind failed). */
int agent_netns_listen(int *out, pid_t pid, const char *host, uint16_t port);

/* ---- secret masking (agent_mask.c) ---- */

typedef struct agent_mask agent_mask;

/* Makes a streaming masker replacing every occurrence of each secret (at
 * least 3 bytes long; shorter ones are ignored as they would mask ordinary
 * text) with "****", also when a secret is split across chunks. Owned; free
 * with agent_mask_free. Returns NULL when out of memory. */
agent_mask *agent_mask_new(const char *const *secrets, size_t count);

/* Feeds len bytes; writes masked output that can no longer be part of a
 * secret to emit. Bytes that might start a secret are held back until the
 * next call or agent_mask_flush. Returns 0, or what emit returned if non-zero. */
int agent_mask_write(agent_mask *mask, const char *data, size_t len,
                     int (*emit)(const char *data, size_t len, void *payload), void *payload);
/* Emits whatever is held back (end of stream). */
int agent_mask_flush(agent_mask *mask, int (*emit)(const char *data, size_t len, void *payload),
                     void *payload);
void agent_mask_free(agent_mask *mask);

#endif
