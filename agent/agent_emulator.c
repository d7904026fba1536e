/*
 * agent_emulator.c — where the job's emulator comes from, and when it is up.
 *
 * A job's emulator is not part of the supervisor: it is the sandbox
 * container's one process, confined like the job (agent_int.h,
 * agent_emulator_sandbox_config), because its parsers are reachable by the
 * job through localhost:4566 and a memory bug there must not be host root.
 * The supervisor only needs the executable to bind in — the slim `airgap`,
 * which carries the emulator and no libcurl — and to know when it answers,
 * before the job's script starts (agent_netns_wait_listening probes from
 * inside the namespace, so nothing is ever published on the host).
 */
#include "agent/agent_int.h"
#include "common/error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMULATOR_NAME "airgap"

/* dir/rel into out when it names an executable; 0 or AIRGAP_ENOTFOUND. */
static int try_exe(char *out, size_t size, const char *dir, size_t dir_len, const char *rel) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof(path), "%.*s/%s", (int)dir_len, dir, rel);
  if (n < 0 || (size_t)n >= sizeof(path) || access(path, X_OK) != 0)
    return AIRGAP_ENOTFOUND;
  char real[PATH_MAX];
  if (!realpath(path, real) || strlen(real) >= size)
    return AIRGAP_ENOTFOUND;
  memcpy(out, real, strlen(real) + 1);
  return 0;
}

int agent_emulator_exe(char *out, size_t size, const char *hint) {
  const char *env = getenv("AIRGAP_EMULATOR_BIN");
  if (env && *env) {
    if (env[0] != '/' || access(env, X_OK) != 0)
      return airgap_error_set(
          AIRGAP_ENOTFOUND, "AIRGAP_EMULATOR_BIN=%s is not an absolute path to an executable", env);
    return try_exe(out, size, "", 0, env[0] == '/' ? env + 1 : env) == 0
               ? 0
               : airgap_error_set(AIRGAP_ENOTFOUND, "cannot resolve AIRGAP_EMULATOR_BIN=%s", env);
  }
  const char *slash = hint ? strrchr(hint, '/') : NULL;
  if (slash && hint[0] == '/' &&
      try_exe(out, size, hint, (size_t)(slash - hint), EMULATOR_NAME) == 0)
    return 0;
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len > 0) {
    self[len] = '\0';
    slash = strrchr(self, '/');
    if (slash &&
        (try_exe(out, size, self, (size_t)(slash - self), EMULATOR_NAME) == 0 ||
         try_exe(out, size, self, (size_t)(slash - self), "../../bin/" EMULATOR_NAME) == 0))
      return 0;
  }
  return airgap_error_set(AIRGAP_ENOTFOUND,
                          "cannot find the `airgap` executable that runs each job's emulator "
                          "(looked next to %s and to this program); set AIRGAP_EMULATOR_BIN",
                          hint ? hint : "airgap-pause");
}
