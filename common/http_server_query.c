/*
 * http_server_query.c — query strings, percent-decoding and routing for
 * common/http_server (see http_server.h). Pure functions over the public
 * request API: nothing here touches libmicrohttpd.
 */
#include "common/http_server.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- query strings */

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *http_percent_decode(const char *src, size_t len, int plus_as_space, int reject_nul,
                          size_t *out_len) {
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = src[i];
    if (c == '%') {
      if (i + 2 >= len) {
        free(out);
        return NULL;
      }
      int hi = hex_value(src[i + 1]), lo = hex_value(src[i + 2]);
      if (hi < 0 || lo < 0) {
        free(out);
        return NULL;
      }
      c = (char)(hi * 16 + lo);
      if (c == '\0' && reject_nul) {
        free(out);
        return NULL;
      }
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    } else if (c == '\0' && reject_nul) {
      free(out);
      return NULL;
    }
    out[o++] = c;
  }
  out[o] = '\0';
  if (out_len)
    *out_len = o;
  return out;
}

void http_query_free(http_query_pair *pairs, size_t count) {
  if (!pairs)
    return;
  for (size_t i = 0; i < count; i++) {
    free(pairs[i].name);
    free(pairs[i].value);
  }
  free(pairs);
}

int http_query_parse(http_query_pair **out, size_t *count, const char *raw, size_t len,
                     size_t max_pairs) {
  return http_query_parse_flags(out, count, raw, len, max_pairs, 0);
}

int http_query_parse_flags(http_query_pair **out, size_t *count, const char *raw, size_t len,
                           size_t max_pairs, int flags) {
  int keep_nul = (flags & HTTP_QUERY_KEEP_NUL) != 0;
  http_query_pair *pairs = NULL;
  size_t n = 0, cap = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *start = raw + pos;
    const char *amp = memchr(start, '&', len - pos);
    size_t piece = amp ? (size_t)(amp - start) : len - pos;
    pos += piece + 1;
    if (piece == 0)
      continue;
    if (n == max_pairs) {
      http_query_free(pairs, n);
      return airgap_error_set(AIRGAP_ETOOBIG, "more than %zu parameters", max_pairs);
    }
    if (n == cap) {
      size_t grown_cap = cap ? cap * 2 : 8;
      http_query_pair *grown = realloc(pairs, grown_cap * sizeof(*pairs));
      if (!grown) {
        http_query_free(pairs, n);
        return airgap_error_set(AIRGAP_ERROR, "out of memory");
      }
      pairs = grown;
      cap = grown_cap;
    }
    const char *eq = memchr(start, '=', piece);
    size_t name_len = eq ? (size_t)(eq - start) : piece;
    size_t value_len = 0;
    char *name = http_percent_decode(start, name_len, 1, 1, NULL);
    char *value = eq ? http_percent_decode(eq + 1, piece - name_len - 1, 1, !keep_nul, &value_len)
                     : strdup("");
    if (!name || !value) {
      free(name);
      free(value);
      http_query_free(pairs, n);
      /* Say which: a bad escape, or a %00 where none may stand. */
      int bad_escape = 0;
      for (size_t i = 0; i < piece && !bad_escape; i++)
        if (start[i] == '%')
          bad_escape = i + 2 >= piece || hex_value(start[i + 1]) < 0 || hex_value(start[i + 2]) < 0;
      return airgap_error_set(
          AIRGAP_EINVALID,
          bad_escape ? "malformed query string: bad percent-escape near '%.*s'"
                     : "malformed query string: a NUL character (percent-escape %%00) in '%.*s'",
          (int)(piece > 40 ? 40 : piece), start);
    }
    pairs[n].name = name;
    pairs[n].value = value;
    pairs[n].value_len = value_len;
    n++;
  }
  *out = pairs;
  *count = n;
  return 0;
}

const char *http_query_get(const http_query_pair *pairs, size_t count, const char *name) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(pairs[i].name, name) == 0)
      return pairs[i].value;
  return NULL;
}

/* ------------------------------------------------------------------- routing */

static int route_matches(const char *pattern, http_request *req) {
  size_t index = 0;
  const char *p = pattern;
  while (*p == '/')
    p++;
  while (*p) {
    const char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == 2 && p[0] == '*' && p[1] == '*')
      return 1;
    const char *segment = http_request_segment(req, index);
    if (!segment)
      return 0;
    if (!(len == 1 && p[0] == '*') && (strlen(segment) != len || memcmp(segment, p, len) != 0))
      return 0;
    index++;
    if (!end)
      break;
    p = end + 1;
  }
  return http_request_segment(req, index) == NULL;
}

void http_router_dispatch(const http_route *routes, size_t count, http_request *req,
                          void *payload) {
  int path_matched = 0;
  for (size_t i = 0; i < count; i++) {
    if (!route_matches(routes[i].pattern, req))
      continue;
    path_matched = 1;
    if (!routes[i].method || strcmp(routes[i].method, http_request_method(req)) == 0 ||
        (strcmp(http_request_method(req), "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
      routes[i].handler(req, payload);
      return;
    }
  }
  if (path_matched)
    http_request_respond_error(req, 405, "method not allowed for this path");
  else
    http_request_respond_error(req, 404, "no such endpoint");
}
