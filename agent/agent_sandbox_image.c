/*
 * agent_sandbox_image.c — the image every sandbox runs: the slim `airgap`
 * executable (it carries the emulator) and exactly the shared libraries it
 * loads, imported locally with no registry involved.
 *
 * The image holds its files instead of binding them from the host, so the
 * sandbox sees nothing of the host's file system, and an agent that itself
 * runs in a container (deploy/, Kubernetes) works: the engine never needs a
 * host path that exists only inside the agent's container.
 *
 * The libraries are the ones the dynamic loader resolves for the executable:
 * it is run with LD_TRACE_LOADED_OBJECTS=1, which makes glibc's loader print
 * them and exit before main (what ldd does), and with the libraries the
 * emulator loads on demand (EMULATOR_ON_DEMAND_LIBRARIES) preloaded, so they
 * and theirs are listed too. The tag names the executable by
 * its size, modification time and inode, so a rebuilt airgap gets a new image
 * while an unchanged one costs one inspect per job.
 */
#include "agent/agent_int.h"
#include "common/docker.h"
#include "common/error.h"
#include "emulator/emulator.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRACE_OUTPUT_MAX (64 * 1024)
#define LIBRARIES_MAX 64
#define FILE_MAX (256u * 1024 * 1024)

int agent_sandbox_image_tag(char *out, size_t size, const char *exe) {
  struct stat st;
  if (stat(exe, &st) != 0)
    return airgap_error_set(AIRGAP_ENOTFOUND, "cannot stat the emulator executable %s: %s", exe,
                            strerror(errno));
  char key[PATH_MAX + 96];
  int n = snprintf(key, sizeof(key), "%s|%lld|%lld.%09ld|%llu", exe, (long long)st.st_size,
                   (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)key, (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1, digest);
  n = snprintf(out, size, "%s%02x%02x%02x%02x%02x%02x", AGENT_SANDBOX_IMAGE_PREFIX, digest[0],
               digest[1], digest[2], digest[3], digest[4], digest[5]);
  if (n < 0 || (size_t)n >= size)
    return airgap_error_set(AIRGAP_EINVALID, "sandbox image tag buffer too small");
  return 0;
}

/* What the loader prints for exe, NUL-terminated in *out (owned). */
static int trace_libraries(char **out, const char *exe) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return airgap_error_set(AIRGAP_ERROR, "pipe: %s", strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  /* the loader names preloads it cannot find on stderr, and goes on */
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  char *argv[] = {(char *)exe, NULL};
  char *envp[] = {"LD_TRACE_LOADED_OBJECTS=1", "LD_PRELOAD=" EMULATOR_ON_DEMAND_LIBRARIES, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, exe, &actions, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return airgap_error_set(AIRGAP_ERROR, "cannot run %s to list its libraries: %s", exe,
                            strerror(rc));
  }
  char *text = malloc(TRACE_OUTPUT_MAX + 1);
  size_t len = 0;
  ssize_t got = 0;
  while (
      text && len < TRACE_OUTPUT_MAX &&
      ((got = read(fds[0], text + len, TRACE_OUTPUT_MAX - len)) > 0 || (got < 0 && errno == EINTR)))
    if (got > 0)
      len += (size_t)got;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!text)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  text[len] = '\0';
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0 || len == TRACE_OUTPUT_MAX) {
    free(text);
    return airgap_error_set(AIRGAP_ERROR,
                            "cannot list the libraries of %s (is it a dynamically linked glibc "
                            "executable?)",
                            exe);
  }
  *out = text;
  return 0;
}

/* The absolute library paths in the loader's trace: "name => /path (0x…)" and
 * "/path (0x…)" lines; the vDSO has no path. Pointers into text. */
static int parse_libraries(const char **paths, size_t *count, char *text, const char *exe) {
  *count = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *path = strstr(line, "=> ");
    path = path ? path + 3 : line + strspn(line, " \t");
    if (strncmp(path, "not found", 9) == 0)
      return airgap_error_set(AIRGAP_ENOTFOUND, "%s needs a library that is not installed: %s", exe,
                              line + strspn(line, " \t"));
    if (path[0] != '/')
      continue;
    path[strcspn(path, " \t(")] = '\0';
    if (*count == LIBRARIES_MAX)
      return airgap_error_set(AIRGAP_ETOOBIG, "%s loads more than %d libraries", exe,
                              LIBRARIES_MAX);
    paths[(*count)++] = path;
  }
  return 0;
}

/* The contents of path (following symlinks) into *data. */
static int read_whole(void **data, size_t *len, const char *path) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > FILE_MAX) {
    int error = airgap_error_set(AIRGAP_ERROR, "cannot read %s for the sandbox image: %s", path,
                                 f ? "not a regular file of a sane size" : strerror(errno));
    if (f)
      fclose(f);
    return error;
  }
  *len = (size_t)st.st_size;
  *data = malloc(*len ? *len : 1);
  if (!*data || fread(*data, 1, *len, f) != *len) {
    fclose(f);
    free(*data);
    *data = NULL;
    return airgap_error_set(AIRGAP_ERROR, "cannot read %s for the sandbox image", path);
  }
  fclose(f);
  return 0;
}

static int image_build(docker_client *docker, const char *tag, const char *exe) {
  char *trace = NULL;
  const char *libs[LIBRARIES_MAX];
  size_t lib_count = 0;
  docker_archive_entry entries[LIBRARIES_MAX + 1];
  void *data[LIBRARIES_MAX + 1] = {0};
  size_t n = 0;
  int error = trace_libraries(&trace, exe);
  if (error < 0 || (error = parse_libraries(libs, &lib_count, trace, exe)) < 0)
    goto cleanup;
  memset(entries, 0, sizeof(entries));
  for (; n <= lib_count; n++) {
    const char *source = n == 0 ? exe : libs[n - 1];
    if ((error = read_whole(&data[n], &entries[n].len, source)) < 0)
      goto cleanup;
    entries[n].data = data[n];
    entries[n].mode = 0755;
    /* the executable at its fixed place; each library where the loader looks */
    entries[n].path = n == 0 ? AGENT_EMULATOR_EXE_IN_CONTAINER + 1 : source + 1;
  }
  error = docker_image_import_entries(docker, tag, entries, n);
cleanup:
  for (size_t i = 0; i < n; i++)
    free(data[i]);
  free(trace);
  return error;
}

int agent_sandbox_image_ensure(char *tag, size_t tag_size, docker_client *docker, const char *exe) {
  int error = agent_sandbox_image_tag(tag, tag_size, exe);
  if (error < 0)
    return error;
  json_t *info = NULL;
  error = docker_image_inspect(&info, docker, tag);
  json_decref(info);
  if (error != AIRGAP_ENOTFOUND)
    return error;
  return image_build(docker, tag, exe);
}
