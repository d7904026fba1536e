/*
 * init_hooks_int.h — private to emulator/: LocalStack's initialization hooks.
 *
 * Scripts under <dir>/boot.d, start.d, ready.d and shutdown.d run at those
 * stages of an emulator's life, in LocalStack's order (alphanumeric, a
 * folder's own scripts before its subfolders, depth first), each to its end
 * before the next; a failing script is marked ERROR and the next one runs.
 * `.sh` scripts must be executable (they are exec'd, so their shebang picks
 * the interpreter); `.py` scripts run with `python3` in their own process
 * (LocalStack runs them inside its interpreter). Scripts get
 * AWS_ENDPOINT_URL (this emulator), test credentials unless the environment
 * has some, and an `awslocal` (the aws CLI pointed at this emulator) on PATH,
 * so LocalStack's usual ready.d scripts run unchanged.
 */
#ifndef AIRGAP_EMULATOR_INIT_HOOKS_INT_H
#define AIRGAP_EMULATOR_INIT_HOOKS_INT_H

#include <jansson.h>
#include <stdint.h>

typedef enum init_stage {
  INIT_STAGE_BOOT,
  INIT_STAGE_START,
  INIT_STAGE_READY,
  INIT_STAGE_SHUTDOWN,
  INIT_STAGE_COUNT
} init_stage;

/* Limits on what a hooks folder may hold. */
#define INIT_HOOKS_MAX_SCRIPTS 256
#define INIT_HOOKS_MAX_DEPTH 8
/* A shutdown script gets this long before it is stopped, so that a hung
 * script cannot keep the emulator from exiting. */
#define INIT_HOOKS_SHUTDOWN_TIMEOUT_MS 10000

typedef struct init_hooks init_hooks;

/* Finds the scripts under dir (a missing stage folder has none); the awslocal
 * helper is written to a folder under work_dir. On success *out owns the
 * hooks (free with init_hooks_free). Errors: AIRGAP_EINVALID (dir is not a
 * readable folder, too many scripts or folders too deep; the message says
 * which), -1. */
int init_hooks_load(init_hooks **out, const char *dir, const char *work_dir);

/* The port scripts reach the emulator on (AWS_ENDPOINT_URL), once known. */
void init_hooks_set_port(init_hooks *hooks, uint16_t port);

/* Runs one stage's scripts in order and returns when the last one ended.
 * Accepts NULL (no hooks). */
void init_hooks_run(init_hooks *hooks, init_stage stage);

/* Runs the READY stage on a thread of its own, so the emulator serves while
 * the scripts call it. Accepts NULL. Errors: -1 (no thread). */
int init_hooks_run_ready(init_hooks *hooks);

/* Ends the READY thread: a running script is stopped (SIGTERM to its process
 * group, SIGKILL 2 s later), the scripts after it stay UNKNOWN. Accepts NULL. */
void init_hooks_cancel(init_hooks *hooks);

/* LocalStack's answer to GET /_localstack/init (stage NULL:
 * {"completed":{"BOOT":…,…},"scripts":[{"stage","name","state"}…]}) or
 * /_localstack/init/<stage> ({"completed":…,"scripts":[…]}). hooks NULL means
 * none: every stage but SHUTDOWN is complete. New reference; NULL for an
 * unknown stage name. */
json_t *init_hooks_report(init_hooks *hooks, const char *stage);

/* Stops what is still running (the READY thread, anything the scripts left
 * behind in their process groups) and removes the awslocal helper. Accepts
 * NULL. */
void init_hooks_free(init_hooks *hooks);

#endif
