/*
 * agent_image.c — making sure a job's image is there, per the pull policy.
 *
 * common/docker.h has no pull call yet, so the pull is made here through the
 * same Engine API over the same unix socket (POST /images/create), reading
 * the engine's progress stream (one JSON object per line, an "error" member on
 * failure) with a bounded line buffer. Progress is summarised in the job's log
 * as agent lines, not copied byte for byte.
 */
#include "agent/agent_int.h"
#include "common/docker.h"
#include "common/error.h"
#include "common/http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULL_TIMEOUT_MS (30L * 60 * 1000)
#define PULL_LINE_MAX 8192

int agent_pull_policy_parse(agent_pull_policy *out, const char *text) {
  if (text && strcmp(text, "if-not-present") == 0)
    *out = AGENT_PULL_IF_NOT_PRESENT;
  else if (text && strcmp(text, "always") == 0)
    *out = AGENT_PULL_ALWAYS;
  else if (text && strcmp(text, "never") == 0)
    *out = AGENT_PULL_NEVER;
  else
    return airgap_error_set(AIRGAP_EINVALID,
                            "pull policy '%s' is not one of if-not-present, always, never",
                            text ? text : "");
  return 0;
}

typedef struct pull_stream {
  char line[PULL_LINE_MAX];
  size_t len;
  int overlong;
  char error[512];
  char last_status[256];
} pull_stream;

static void pull_line(pull_stream *p) {
  json_t *msg = json_loadb(p->line, p->len, 0, NULL);
  const char *error = json_string_value(json_object_get(msg, "error"));
  const char *status = json_string_value(json_object_get(msg, "status"));
  if (error && !p->error[0])
    snprintf(p->error, sizeof(p->error), "%s", error);
  else if (status)
    snprintf(p->last_status, sizeof(p->last_status), "%s", status);
  json_decref(msg);
}

static int pull_data(const char *data, size_t len, void *payload) {
  pull_stream *p = payload;
  for (size_t i = 0; i < len; i++) {
    if (data[i] == '\n') {
      if (!p->overlong && p->len)
        pull_line(p);
      p->len = 0;
      p->overlong = 0;
    } else if (p->len < sizeof(p->line)) {
      p->line[p->len++] = data[i];
    } else {
      p->overlong = 1; /* progress bars can be long; skip, never grow */
    }
  }
  return 0;
}

/* Splits "registry:5000/name:tag" or "name@sha256:…" into fromImage and tag. */
static void split_reference(char *name, const char **tag) {
  *tag = "latest";
  if (strchr(name, '@')) {
    *tag = NULL; /* a digest is part of fromImage */
    return;
  }
  char *slash = strrchr(name, '/');
  char *colon = strrchr(name, ':');
  if (colon && (!slash || colon > slash)) {
    *colon = '\0';
    *tag = colon + 1;
  }
}

static int image_pull(docker_client *docker, const char *image, agent_log *log) {
  int error = 0;
  char *name = strdup(image);
  char *q_name = NULL, *q_tag = NULL;
  pull_stream *p = calloc(1, sizeof(*p));
  http_client_response resp = {0};
  if (!name || !p) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  if ((error = docker_ping(docker)) < 0)
    goto cleanup;
  const char *tag = NULL;
  split_reference(name, &tag);
  q_name = curl_easy_escape(NULL, name, 0);
  q_tag = tag ? curl_easy_escape(NULL, tag, 0) : NULL;
  char url[2048];
  if ((size_t)snprintf(url, sizeof(url), "http://localhost/v%s/images/create?fromImage=%s%s%s",
                       docker_api_version(docker), q_name ? q_name : "", q_tag ? "&tag=" : "",
                       q_tag ? q_tag : "") >= sizeof(url)) {
    error = airgap_error_set(AIRGAP_EINVALID, "image name '%s' is too long", image);
    goto cleanup;
  }
  if (log)
    agent_log_note(log, "pulling image %s", image);
  http_client_request req = {.method = "POST",
                             .url = url,
                             .unix_socket = docker_client_socket(docker),
                             .timeout_ms = PULL_TIMEOUT_MS,
                             .on_data = pull_data,
                             .payload = p};
  if ((error = http_client_send(&resp, &req)) < 0)
    goto cleanup;
  if (p->len && !p->overlong)
    pull_line(p);
  if (resp.status == 404 || (resp.status == 200 && p->error[0])) {
    error = airgap_error_set(AIRGAP_ENOTFOUND, "cannot pull image %s: %s", image,
                             p->error[0] ? p->error : "not found");
  } else if (resp.status != 200) {
    error = airgap_error_set(AIRGAP_ERROR, "cannot pull image %s: HTTP %ld from the engine", image,
                             resp.status);
  } else if (log) {
    agent_log_note(log, "pulled image %s%s%s", image, p->last_status[0] ? ": " : "",
                   p->last_status);
  }

cleanup:
  http_client_response_free(&resp);
  curl_free(q_name);
  curl_free(q_tag);
  free(name);
  free(p);
  return error;
}

int agent_image_ensure(docker_client *docker, const char *image, agent_pull_policy policy,
                       agent_log *log) {
  if (policy != AGENT_PULL_ALWAYS) {
    json_t *info = NULL;
    int error = docker_image_inspect(&info, docker, image);
    json_decref(info);
    if (error == 0)
      return 0;
    if (error != AIRGAP_ENOTFOUND)
      return error;
    if (policy == AGENT_PULL_NEVER)
      return airgap_error_set(AIRGAP_ENOTFOUND,
                              "image %s is not present and the pull policy is never; "
                              "load or build it on this machine first",
                              image);
  }
  return image_pull(docker, image, log);
}

int agent_sandbox_image_ensure(docker_client *docker) {
  json_t *info = NULL;
  int error = docker_image_inspect(&info, docker, AGENT_SANDBOX_IMAGE);
  json_decref(info);
  if (error != AIRGAP_ENOTFOUND)
    return error;
  /* An empty tar archive: two zero blocks, padded to one 10 KiB record. */
  static const char empty_tar[10240];
  char url[256];
  snprintf(url, sizeof(url),
           "http://localhost/v%s/images/create?fromSrc=-&repo=airgap/sandbox&tag=%s",
           docker_api_version(docker), AIRGAP_VERSION);
  const char *headers[] = {"Content-Type: application/x-tar", NULL};
  http_client_request req = {.method = "POST",
                             .url = url,
                             .unix_socket = docker_client_socket(docker),
                             .headers = headers,
                             .body = empty_tar,
                             .body_len = sizeof(empty_tar),
                             .timeout_ms = 60000,
                             .max_response = 64 * 1024};
  http_client_response resp = {0};
  if ((error = http_client_send(&resp, &req)) < 0)
    return error;
  if (resp.status != 200 || (resp.body && strstr(resp.body, "\"error\"")))
    error = airgap_error_set(AIRGAP_ERROR, "cannot import the sandbox image %s: HTTP %ld: %.200s",
                             AGENT_SANDBOX_IMAGE, resp.status, resp.body ? resp.body : "");
  http_client_response_free(&resp);
  return error;
}
