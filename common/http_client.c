/*
 * http_client.c — HTTP client over libcurl (see http_client.h).
 *
 * Each thread keeps one easy handle between calls (reset before each), so any
 * thread may call at any time once http_client_global_init has run: a fresh
 * handle per call made its own internal multi handle at every request, with
 * a wake-up socketpair (a socketpair, four fcntl and two closes per request).
 * A call made while the thread's handle is busy (from a streaming callback)
 * gets a handle of its own. The handles share one connection cache (a curl
 * share guarded by mutexes): opening a TCP connection per request cost the
 * queue's agents about 40% of their CPU. A buffered response body grows in a
 * buffer that refuses to pass max_response (curl's dynbuf idea), so a peer can
 * never make us allocate without bound; a streamed body goes straight to the
 * caller's callback. Response headers are collected into a JSON object keyed
 * by lower-cased name, reset at every status line so that interim responses
 * (100 Continue) never leak into the final one.
 *
 * airgap never goes through an HTTP proxy: its peers (the queue, emulators,
 * the Docker engine) are reached directly, and a proxy taken from the
 * environment would send loopback traffic off the machine.
 */
#include "common/http_client.h"
#include "common/error.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_CLIENT_DEFAULT_MAX_RESPONSE (16u * 1024 * 1024)
#define HTTP_CLIENT_DEFAULT_CONNECT_MS 10000L
#define HTTP_CLIENT_MAX_HEADERS 256
#define HTTP_CLIENT_MAX_HEADER_NAME 256
/* Idle connections the process-wide cache keeps. libcurl's default (5, then 4
 * per single-handle transfer) is counted against the shared cache, so a sixth
 * concurrent caller closed someone else's connection on every request: an
 * agent with many slots, or a queue benchmark with 8 clients, reconnected
 * every time. */
#define HTTP_CLIENT_MAX_IDLE_CONNECTIONS 256L

typedef struct transfer {
  const http_client_request *req;
  char *body;
  size_t body_len;
  size_t body_cap;
  size_t max_body;
  json_t *headers;
  int too_big;   /* body or headers passed their cap */
  int canceled;  /* on_data asked to stop */
  int no_memory; /* allocation failed while receiving */
} transfer;

static CURLSH *connection_share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

/* The calling thread's kept handle (also in thread_handle_key, whose
 * destructor frees it when the thread ends) and whether a call is using it. */
static _Thread_local CURL *thread_handle;
static _Thread_local int thread_handle_busy;
static pthread_key_t thread_handle_key;
static int thread_handle_key_made;

static void thread_handle_free(void *handle) { curl_easy_cleanup(handle); }

/* A handle for one call: the thread's kept one, reset, or a new one when
 * that is busy or cannot be kept. *kept says which: release_handle() must
 * know. NULL when out of memory. */
static CURL *acquire_handle(int *kept) {
  *kept = 0;
  if (thread_handle_busy || !thread_handle_key_made)
    return curl_easy_init();
  if (thread_handle) {
    curl_easy_reset(thread_handle);
  } else {
    CURL *fresh = curl_easy_init();
    if (!fresh)
      return NULL;
    if (pthread_setspecific(thread_handle_key, fresh) != 0)
      return fresh;
    thread_handle = fresh;
  }
  thread_handle_busy = 1;
  *kept = 1;
  return thread_handle;
}

static void release_handle(CURL *curl, int kept) {
  if (kept)
    thread_handle_busy = 0;
  else if (curl)
    curl_easy_cleanup(curl);
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr) {
  (void)handle;
  (void)access;
  (void)userptr;
  pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr) {
  (void)handle;
  (void)userptr;
  pthread_mutex_unlock(&share_locks[data]);
}

int http_client_global_init(void) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return airgap_error_set(AIRGAP_ERROR, "cannot initialise libcurl");
  if (connection_share)
    return 0;
  if (!thread_handle_key_made)
    thread_handle_key_made = pthread_key_create(&thread_handle_key, thread_handle_free) == 0;
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&share_locks[i], NULL);
  CURLSH *share = curl_share_init();
  if (!share || curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
      curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK) {
    if (share)
      curl_share_cleanup(share);
    return 0; /* works without reuse, only slower */
  }
  connection_share = share;
  return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  transfer *t = userdata;
  size_t len = size * nmemb;
  if (t->req->on_data) {
    if (len > 0 && t->req->on_data(data, len, t->req->payload) != 0) {
      t->canceled = 1;
      return 0; /* anything but len aborts the transfer */
    }
    return len;
  }
  if (len > t->max_body - t->body_len) {
    t->too_big = 1;
    return 0;
  }
  if (t->body_len + len + 1 > t->body_cap) {
    size_t cap = t->body_cap ? t->body_cap : 4096;
    while (cap < t->body_len + len + 1)
      cap *= 2;
    if (cap > t->max_body + 1)
      cap = t->max_body + 1;
    char *grown = realloc(t->body, cap);
    if (!grown) {
      t->no_memory = 1;
      return 0;
    }
    t->body = grown;
    t->body_cap = cap;
  }
  memcpy(t->body + t->body_len, data, len);
  t->body_len += len;
  t->body[t->body_len] = '\0';
  return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
  transfer *t = userdata;
  size_t len = size * nmemb;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    /* A new status line: forget the headers of an interim response. */
    json_object_clear(t->headers);
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (!colon)
    return len; /* the blank line ending the headers, or junk we ignore */
  size_t name_len = (size_t)(colon - data);
  if (name_len == 0 || name_len >= HTTP_CLIENT_MAX_HEADER_NAME)
    return len;
  if (json_object_size(t->headers) >= HTTP_CLIENT_MAX_HEADERS) {
    t->too_big = 1;
    return 0;
  }
  char name[HTTP_CLIENT_MAX_HEADER_NAME];
  for (size_t i = 0; i < name_len; i++)
    name[i] = (char)tolower((unsigned char)data[i]);
  name[name_len] = '\0';
  const char *value = colon + 1;
  const char *end = data + len;
  while (value < end && (*value == ' ' || *value == '\t'))
    value++;
  while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  json_t *v = json_stringn(value, (size_t)(end - value));
  if (!v || json_object_set_new(t->headers, name, v) != 0) {
    /* json_stringn refuses invalid UTF-8: such a header is dropped, not fatal. */
    return len;
  }
  return len;
}

int http_client_send(http_client_response *out, const http_client_request *req) {
  int error = AIRGAP_ERROR;
  CURL *curl = NULL;
  int kept = 0;
  struct curl_slist *headers = NULL;
  transfer t = {0};
  const char *method = req->method ? req->method : "GET";

  memset(out, 0, sizeof(*out));
  if (!req->url)
    return airgap_error_set(AIRGAP_EINVALID, "HTTP request without a URL");
  t.req = req;
  t.max_body = req->max_response ? req->max_response : HTTP_CLIENT_DEFAULT_MAX_RESPONSE;
  t.headers = json_object();
  curl = acquire_handle(&kept);
  if (!t.headers || !curl) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory preparing a request to %s", req->url);
    goto cleanup;
  }
  if (connection_share) {
    curl_easy_setopt(curl, CURLOPT_SHARE, connection_share);
    curl_easy_setopt(curl, CURLOPT_MAXCONNECTS, HTTP_CLIENT_MAX_IDLE_CONNECTIONS);
  }

  /* curl waits a second for "100 Continue" before sending a large body; our
   * peers never need that handshake. */
  headers = curl_slist_append(NULL, "Expect:");
  for (size_t i = 0; headers && req->headers && req->headers[i]; i++) {
    struct curl_slist *more = curl_slist_append(headers, req->headers[i]);
    if (!more) {
      curl_slist_free_all(headers);
      headers = NULL;
    } else {
      headers = more;
    }
  }
  if (!headers) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory preparing a request to %s", req->url);
    goto cleanup;
  }

  curl_easy_setopt(curl, CURLOPT_URL, req->url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                               : HTTP_CLIENT_DEFAULT_CONNECT_MS);
  if (req->unix_socket)
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);

  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0 || req->body) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  }
  if (req->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
      strcmp(method, "PATCH") == 0) {
    /* Always send a Content-Length, even 0: some servers refuse a bodiless POST. */
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(req->body ? req->body_len : 0));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
  }

  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    out->unreached = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                     rc == CURLE_COULDNT_RESOLVE_PROXY;
    const char *via = req->unix_socket ? " via unix socket " : "";
    const char *sock = req->unix_socket ? req->unix_socket : "";
    if (t.canceled)
      error =
          airgap_error_set(AIRGAP_ECANCELED, "%s %s: stopped by the receiver", method, req->url);
    else if (t.too_big)
      error = airgap_error_set(AIRGAP_ETOOBIG,
                               "%s %s: response larger than the limit of %zu bytes (or more than "
                               "%d headers)",
                               method, req->url, t.max_body, HTTP_CLIENT_MAX_HEADERS);
    else if (t.no_memory)
      error = airgap_error_set(AIRGAP_ERROR, "%s %s: out of memory reading the response", method,
                               req->url);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
      error = airgap_error_set(AIRGAP_ETIMEOUT, "%s %s%s%s: timed out (%s)", method, req->url, via,
                               sock, curl_easy_strerror(rc));
    else
      error = airgap_error_set(AIRGAP_ERROR, "%s %s%s%s failed: %s; is the server running?", method,
                               req->url, via, sock, curl_easy_strerror(rc));
    goto cleanup;
  }

  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (!req->on_data && !t.body) {
    t.body = malloc(1);
    if (!t.body) {
      error = airgap_error_set(AIRGAP_ERROR, "out of memory");
      goto cleanup;
    }
    t.body[0] = '\0';
  }
  out->status = status;
  out->body = t.body;
  out->body_len = t.body_len;
  out->headers = t.headers;
  t.body = NULL;
  t.headers = NULL;
  error = 0;

cleanup:
  free(t.body);
  json_decref(t.headers);
  curl_slist_free_all(headers);
  release_handle(curl, kept);
  return error;
}

void http_client_response_free(http_client_response *resp) {
  if (!resp)
    return;
  free(resp->body);
  json_decref(resp->headers);
  resp->body = NULL;
  resp->body_len = 0;
  resp->headers = NULL;
}

int http_client_json(json_t **out_json, long *out_status, const char *method, const char *url,
                     const char *const *headers, json_t *body, long timeout_ms) {
  int error = AIRGAP_ERROR;
  char *text = NULL;
  const char **all = NULL;
  http_client_response resp = {0};
  int have_resp = 0;
  size_t extra = 0;

  while (headers && headers[extra])
    extra++;
  all = calloc(extra + 3, sizeof(*all));
  if (!all) {
    error = airgap_error_set(AIRGAP_ERROR, "out of memory");
    goto cleanup;
  }
  size_t n = 0;
  all[n++] = "Accept: application/json";
  if (body)
    all[n++] = "Content-Type: application/json";
  for (size_t i = 0; i < extra; i++)
    all[n++] = headers[i];
  all[n] = NULL;

  if (body) {
    text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
      error = airgap_error_set(AIRGAP_EINVALID, "cannot serialize the JSON body for %s", url);
      goto cleanup;
    }
  }
  http_client_request req = {
      .method = method ? method : (body ? "POST" : "GET"),
      .url = url,
      .headers = all,
      .body = text,
      .body_len = text ? strlen(text) : 0,
      .timeout_ms = timeout_ms,
  };
  error = http_client_send(&resp, &req);
  if (error < 0)
    goto cleanup;
  have_resp = 1;

  json_t *parsed = NULL;
  if (resp.body_len > 0) {
    json_error_t jerr;
    parsed = json_loadb(resp.body, resp.body_len, JSON_DECODE_ANY, &jerr);
    if (!parsed) {
      error = airgap_error_set(AIRGAP_EINVALID,
                               "%s %s: HTTP %ld reply is not JSON (%s at byte %d): %.120s",
                               req.method, url, resp.status, jerr.text, jerr.position, resp.body);
      goto cleanup;
    }
  }
  *out_json = parsed;
  *out_status = resp.status;
  error = 0;

cleanup:
  if (have_resp)
    http_client_response_free(&resp);
  free(text);
  free(all);
  return error;
}
