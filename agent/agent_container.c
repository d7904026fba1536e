/*
 * agent_container.c — the Engine API bodies of a job's two containers.
 *
 * The sandbox owns the job's network namespace, and its one process is the
 * job's emulator, confined (see agent_container_sandbox_config), from the
 * airgap/sandbox image that holds the `airgap` executable and its libraries
 * (agent_sandbox_image.c); nothing of the host is bound in. The job container joins that namespace
 * (NetworkMode container:<sandbox>), so it sees the job's private emulator as localhost. It gets
 * the workspace as working directory, the mirror's object directories read-only at their host paths
 * (the snapshot's .git finds its objects through absolute alternates), limits, no-new-privileges
 * and no Docker socket. Both carry labels naming the agent and the job, which is how the agent
 * finds and removes whatever a crash left behind.
 *
 * Pure functions over jansson objects, so they are tested without Docker;
 * and the one file a job container binds beside its workspace, /etc/hosts
 * (agent_hosts_file).
 */
#include "agent/agent_int.h"
#include "common/error.h"
#include "emulator/containers.h"
#include "queue/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEMORY_MIN (6LL * 1024 * 1024) /* the engine refuses less */

int agent_memory_parse(int64_t *out, const char *text) {
  if (!text || !*text)
    return airgap_error_set(AIRGAP_EINVALID, "memory limit is empty");
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || end == text || text[0] == '-')
    return airgap_error_set(AIRGAP_EINVALID, "memory limit '%s' is not a size like 512m or 2g",
                            text);
  unsigned shift = 0;
  if (*end) {
    switch (*end | 0x20) {
    case 'b': shift = 0; break;
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default:
      return airgap_error_set(AIRGAP_EINVALID,
                              "memory limit '%s' has an unknown unit (use b, k, m, g or t)", text);
    }
    end++;
    if (*end && ((*end | 0x20) != 'b' || end[1] || shift == 0))
      return airgap_error_set(AIRGAP_EINVALID, "memory limit '%s' is not a size like 512m or 2g",
                              text);
  }
  if (value > (unsigned long long)INT64_MAX >> shift)
    return airgap_error_set(AIRGAP_EINVALID, "memory limit '%s' is too large", text);
  int64_t bytes = (int64_t)(value << shift);
  if (bytes < MEMORY_MIN)
    return airgap_error_set(AIRGAP_EINVALID, "memory limit '%s' is below Docker's minimum of 6m",
                            text);
  *out = bytes;
  return 0;
}

/* A path usable on the left or right of a bind ("src:dst:ro"). */
static int check_bind_path(const char *what, const char *path) {
  if (!path || path[0] != '/')
    return airgap_error_set(AIRGAP_EINVALID, "%s '%s' is not an absolute path", what,
                            path ? path : "");
  if (strpbrk(path, ":,\n"))
    return airgap_error_set(AIRGAP_EINVALID, "%s '%s' contains ':' or ','", what, path);
  return 0;
}

static int add_bind(json_t *binds, const char *src, const char *dst, int ro) {
  size_t len = strlen(src) + strlen(dst) + 8;
  char *text = malloc(len);
  if (!text)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  snprintf(text, len, "%s:%s%s", src, dst, ro ? ":ro" : "");
  json_array_append_new(binds, json_string(text));
  free(text);
  return 0;
}

/* A NULL job_id (a warm sandbox not yet given to a job) omits airgap.job. */
static json_t *labels_new(const char *agent_id, const char *job_id, const char *role) {
  json_t *labels = json_pack("{s:s, s:s}", "airgap.agent", agent_id, "airgap.role", role);
  if (labels && job_id)
    json_object_set_new(labels, "airgap.job", json_string(job_id));
  return labels;
}

static void env_set(json_t *env, const char *key, const char *value) {
  json_object_set_new(env, key, json_string(value ? value : ""));
}

int agent_container_job_config(json_t **out, const queue_spec *spec,
                               const agent_container_params *params) {
  int error = 0;
  json_t *config = NULL, *env = NULL, *env_list = NULL, *binds = NULL, *host = NULL;
  const char *mountpoint = spec->mountpoint ? spec->mountpoint : "/workspace";
  if ((error = queue_spec_mountpoint_check(mountpoint)) < 0 ||
      (error = check_bind_path("workspace", params->workspace)) < 0)
    goto cleanup;

  /* Defaults first; the spec's env and secrets may override any of them. */
  env = json_object();
  env_set(env, "CI", "true");
  env_set(env, "AIRGAP", "true");
  env_set(env, "AIRGAP_JOB_ID", params->job_id);
  env_set(env, "AIRGAP_COMMIT", params->commit);
  env_set(env, "AWS_ENDPOINT_URL", "http://localhost:4566");
  env_set(env, "AWS_ACCESS_KEY_ID", "test");
  env_set(env, "AWS_SECRET_ACCESS_KEY", "test");
  env_set(env, "AWS_DEFAULT_REGION", "us-east-1");
  env_set(env, "AWS_REGION", "us-east-1");
  for (size_t i = 0; i < spec->env_count; i++)
    env_set(env, spec->env[i].key, spec->env[i].value);
  for (size_t i = 0; i < spec->secret_count; i++)
    env_set(env, spec->secrets[i].key, spec->secrets[i].value);
  env_list = json_array();
  const char *key;
  json_t *value;
  json_object_foreach(env, key, value) {
    size_t len = strlen(key) + strlen(json_string_value(value)) + 2;
    char *pair = malloc(len);
    if (!pair) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    snprintf(pair, len, "%s=%s", key, json_string_value(value));
    json_array_append_new(env_list, json_string(pair));
    free(pair);
  }

  binds = json_array();
  if ((error = add_bind(binds, params->workspace, mountpoint, 0)) < 0)
    goto cleanup;
  for (size_t i = 0; i < params->ro_bind_count; i++) {
    if ((error = check_bind_path("mirror path", params->ro_binds[i])) < 0 ||
        (error = add_bind(binds, params->ro_binds[i], params->ro_binds[i], 1)) < 0)
      goto cleanup;
  }
  if (params->hosts_file && ((error = check_bind_path("hosts file", params->hosts_file)) < 0 ||
                             (error = add_bind(binds, params->hosts_file, "/etc/hosts", 1)) < 0))
    goto cleanup;

  size_t mode_len = strlen(params->sandbox_id) + 16;
  char *network_mode = malloc(mode_len);
  if (!network_mode) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  snprintf(network_mode, mode_len, "container:%s", params->sandbox_id);
  host = json_pack("{s:o, s:s, s:[s], s:I}", "Binds", binds, "NetworkMode", network_mode,
                   "SecurityOpt", "no-new-privileges:true", "PidsLimit",
                   (json_int_t)(spec->pids ? spec->pids : AGENT_DEFAULT_PIDS));
  free(network_mode);
  binds = NULL;
  if (!host) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if (spec->memory) {
    int64_t bytes = 0;
    if ((error = agent_memory_parse(&bytes, spec->memory)) < 0)
      goto cleanup;
    json_object_set_new(host, "Memory", json_integer(bytes));
    json_object_set_new(host, "MemorySwap", json_integer(bytes)); /* no swap on top */
  }
  if (spec->cpus > 0) {
    if (spec->cpus > 1024) {
      error = airgap_error_set(AIRGAP_EINVALID, "cpus %.2f is out of range", spec->cpus);
      goto cleanup;
    }
    json_object_set_new(host, "NanoCpus", json_integer((json_int_t)(spec->cpus * 1e9)));
  }

  config = json_pack("{s:s, s:[ss], s:[s], s:o, s:s, s:o, s:b, s:b, s:b, s:o}", "Image",
                     spec->image, "Entrypoint", "/bin/sh", "-c", "Cmd",
                     spec->script ? spec->script : "true", "Env", env_list, "WorkingDir",
                     mountpoint, "Labels", labels_new(params->agent_id, params->job_id, "job"),
                     "AttachStdout", 1, "AttachStderr", 1, "Tty", 0, "HostConfig", host);
  env_list = NULL;
  host = NULL;
  if (!config) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot build the job container's configuration");
    goto cleanup;
  }
  if (params->user && *params->user)
    json_object_set_new(config, "User", json_string(params->user));
  *out = config;
  config = NULL;

cleanup:
  json_decref(config);
  json_decref(env);
  json_decref(env_list);
  json_decref(binds);
  json_decref(host);
  return error;
}

int agent_emulator_sandbox_config(json_t **out, const agent_sandbox_params *params) {
  json_t *binds = NULL, *env = NULL, *config = NULL;
  int error = 0;
  const char *network = params->network;
  if (!network || !*network || strpbrk(network, ":/ "))
    return airgap_error_set(AIRGAP_EINVALID, "network '%s' is not bridge, none or a network name",
                            network ? network : "");
  if (params->services && strpbrk(params->services, "\n="))
    return airgap_error_set(AIRGAP_EINVALID, "services '%s' is not a comma-separated list",
                            params->services);
  binds = json_array();
  env = json_array();
  if (!binds || !env) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  /* The data directory is the only writable place: large S3 bodies spill
   * there (DATA_DIR), and TMPDIR points there too. */
  json_array_append_new(env, json_string("DATA_DIR=" AGENT_EMULATOR_DATA_DIR));
  json_array_append_new(env, json_string("TMPDIR=" AGENT_EMULATOR_DATA_DIR));
  json_array_append_new(env, json_string("LOCALSTACK_HOST=localhost:4566"));
  json_array_append_new(env, json_string("LS_LOG=warn"));
  json_array_append_new(env, json_string("AIRGAP_INIT_DIR="));
  json_array_append_new(env, json_string(EMULATOR_CONTAINERS_CHANNEL_ENV "=" AGENT_CHANNEL_NAME));
  /* The operator's Lambda settings (LocalStack's names), as the agent got
   * them: which images functions map to, keep-alive, limits. Where functions
   * run is not among them: the supervisor's channel decides that. */
  static const char *const lambda_settings[] = {"LAMBDA_RUNTIME_IMAGE_MAPPING",
                                                "LAMBDA_KEEPALIVE_MS",
                                                "LAMBDA_REMOVE_CONTAINERS",
                                                "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT",
                                                "LAMBDA_LIMITS_CONCURRENT_EXECUTIONS",
                                                "LAMBDA_RETRY_BASE_DELAY_SECONDS"};
  for (size_t i = 0; i < sizeof(lambda_settings) / sizeof(lambda_settings[0]); i++) {
    const char *value = getenv(lambda_settings[i]);
    char *text = NULL;
    if (value && *value && strlen(value) < 4096 &&
        asprintf(&text, "%s=%s", lambda_settings[i], value) >= 0) {
      json_array_append_new(env, json_string(text));
      free(text);
    }
  }
  if (params->services && *params->services) {
    size_t len = strlen(params->services) + sizeof("SERVICES=");
    char *text = malloc(len);
    if (!text) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    snprintf(text, len, "SERVICES=%s", params->services);
    json_array_append_new(env, json_string(text));
    free(text);
  }
  /* What the emulator serves, so that a sandbox started before its job is
   * known is adopted only by a job that asks for the same (adopt_sandbox). */
  json_t *labels = labels_new(params->agent_id, params->job_id, "sandbox");
  if (labels)
    json_object_set_new(labels, AGENT_LABEL_SERVICES,
                        json_string(params->services ? params->services : ""));
  char tmpfs_options[128];
  snprintf(tmpfs_options, sizeof(tmpfs_options),
           "rw,nosuid,nodev,noexec,size=%lld,mode=0700,uid=%d,gid=%d",
           (long long)AGENT_EMULATOR_DATA_BYTES, AGENT_EMULATOR_UID, AGENT_EMULATOR_UID);
  char user[32];
  snprintf(user, sizeof(user), "%d:%d", AGENT_EMULATOR_UID, AGENT_EMULATOR_UID);
  /* The emulator is this container's only process (no shell, no pause): not
   * root, no capabilities, no-new-privileges, the engine's default seccomp
   * profile (not overridden here), a read-only root, no IPC namespace shared
   * (IpcMode none: no writable /dev/shm), bounded memory, pids and log. It
   * listens on 127.0.0.1:4566 of the job's network namespace, which this
   * container owns. */
  config = json_pack(
      "{s:s, s:s, s:[s], s:[s, s, s], s:o, s:o, s:{s:o, s:s, s:[s], s:[s], s:b, s:s, s:I, s:I, "
      "s:I, s:{s:s}, s:{s:s, s:{s:s, s:s}}}}",
      "Image", params->image, "User", user, "Entrypoint", AGENT_EMULATOR_EXE_IN_CONTAINER, "Cmd",
      "emulator", "--listen", "127.0.0.1:4566", "Env", env, "Labels", labels, "HostConfig", "Binds",
      binds, "NetworkMode", network, "CapDrop", "ALL", "SecurityOpt", "no-new-privileges:true",
      "ReadonlyRootfs", 1, "IpcMode", "none", "Memory", (json_int_t)AGENT_EMULATOR_MEMORY,
      "MemorySwap", (json_int_t)AGENT_EMULATOR_MEMORY, "PidsLimit", (json_int_t)AGENT_EMULATOR_PIDS,
      "Tmpfs", AGENT_EMULATOR_DATA_DIR, tmpfs_options, "LogConfig", "Type", "json-file", "Config",
      "max-size", "1m", "max-file", "1");
  binds = NULL;
  env = NULL;
  if (!config) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot build the sandbox's configuration");
    goto cleanup;
  }
  if (agent_network_disabled(network))
    json_object_set_new(config, "NetworkDisabled", json_true());
  *out = config;
  config = NULL;
cleanup:
  json_decref(binds);
  json_decref(env);
  json_decref(config);
  return error;
}

int agent_network_disabled(const char *network) { return network && strcmp(network, "none") == 0; }

int agent_hosts_file(char *out, size_t size, const char *run_dir) {
  static const char content[] = AGENT_HOSTS_CONTENT;
  if (snprintf(out, size, "%s/hosts", run_dir) >= (int)size)
    return airgap_error_set(AIRGAP_EINVALID, "run directory path '%s' is too long", run_dir);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", out);
  int ok = write(fd, content, sizeof(content) - 1) == (ssize_t)sizeof(content) - 1;
  if (close(fd) < 0 || !ok)
    return airgap_error_set_errno(AIRGAP_ERROR, "cannot write %s", out);
  return 0;
}

char *agent_services_list(const queue_spec *spec) {
  size_t len = 1, used = 0;
  for (size_t i = 0; i < spec->service_count; i++)
    len += strlen(spec->services[i]) + 1;
  char *services = calloc(1, len);
  for (size_t i = 0; services && i < spec->service_count; i++)
    used += (size_t)snprintf(services + used, len - used, "%s%s", i ? "," : "", spec->services[i]);
  return services;
}

int agent_container_sandbox_config(json_t **out, const char *image, const char *network,
                                   const char *agent_id, const char *job_id) {
  agent_sandbox_params params = {
      .image = image, .network = network, .agent_id = agent_id, .job_id = job_id};
  return agent_emulator_sandbox_config(out, &params);
}
