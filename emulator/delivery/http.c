/*
 * http.c — deliveries to HTTP(S) subscribers, through libcurl loaded when the
 * first one is made (dlopen), not when the emulator starts: the `airgap`
 * executable does not link libcurl, so `airgap emulator` keeps its start time
 * and idle memory (DESIGN.md), and an emulator nobody subscribes an endpoint
 * to never loads it. curl's header gives the types and constants; only the
 * symbols are looked up here, once.
 */
#include "common/error.h"
#include "emulator/delivery/delivery_int.h"
#include "emulator/emulator.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIVERY_HTTP_TIMEOUT_MS 5000L
#define DELIVERY_HTTP_CONNECT_MS 2000L
#define DELIVERY_HTTP_MAX_HEADERS 32

static struct {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_perform)(CURL *);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
} curl;
static int loaded;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(why, sizeof(why), "libcurl is not installed (%s)", dlerror());
    return;
  }
#define SYM(field, name)                                                                           \
  do {                                                                                             \
    *(void **)&curl.field = dlsym(h, name);                                                        \
    if (!curl.field) {                                                                             \
      snprintf(why, sizeof(why), "libcurl lacks %s", name);                                        \
      return;                                                                                      \
    }                                                                                              \
  } while (0)
  SYM(global_init, "curl_global_init");
  SYM(easy_init, "curl_easy_init");
  SYM(easy_setopt, "curl_easy_setopt");
  SYM(easy_perform, "curl_easy_perform");
  SYM(easy_getinfo, "curl_easy_getinfo");
  SYM(easy_cleanup, "curl_easy_cleanup");
  SYM(easy_strerror, "curl_easy_strerror");
  SYM(slist_append, "curl_slist_append");
  SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
  if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(why, sizeof(why), "libcurl did not initialise");
    return;
  }
  loaded = 1;
}

/* What a subscriber answers does not matter, only its status. */
static size_t discard(char *data, size_t size, size_t n, void *payload) {
  (void)data, (void)payload;
  return size * n;
}

int delivery_http_post(const char *url, const char *body, size_t body_len, json_t *meta) {
  if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
    return airgap_error_set(AIRGAP_EINVALID, "not an HTTP(S) endpoint: %.200s", url);
  pthread_once(&once, load);
  if (!loaded)
    return airgap_error_set(AIRGAP_ERROR, "cannot deliver to %.200s: %s", url, why);
  struct curl_slist *list = NULL, *grown;
  size_t n = 0;
  const char *name;
  json_t *v;
  int error = 0;
  /* No "Expect: 100-continue" round trip before the body. */
  if (!(list = curl.slist_append(NULL, "Expect:")))
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  json_object_foreach(json_object_get(meta, "headers"), name, v) {
    if (n >= DELIVERY_HTTP_MAX_HEADERS || !json_is_string(v) || strpbrk(name, "\r\n:") ||
        strpbrk(json_string_value(v), "\r\n"))
      continue;
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s", name, json_string_value(v));
    if (!(grown = curl.slist_append(list, line))) {
      curl.slist_free_all(list);
      return airgap_error_set(AIRGAP_ERROR, "out of memory");
    }
    list = grown;
    n++;
  }
  CURL *h = curl.easy_init();
  if (!h) {
    curl.slist_free_all(list);
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  }
  curl.easy_setopt(h, CURLOPT_URL, url);
  curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  curl.easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
  curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, DELIVERY_HTTP_TIMEOUT_MS);
  curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, DELIVERY_HTTP_CONNECT_MS);
  curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl.easy_perform(h);
  long status = 0;
  if (rc != CURLE_OK)
    error = airgap_error_set(AIRGAP_ERROR, "POST %.200s failed: %s", url, curl.easy_strerror(rc));
  else if (curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 200 ||
           status > 299)
    error = airgap_error_set(AIRGAP_ERROR, "%.200s answered %ld", url, status);
  curl.easy_cleanup(h);
  curl.slist_free_all(list);
  return error;
}
