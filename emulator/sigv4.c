/*
 * sigv4.c — checks the signature of a request the way AWS does, for the
 * emulator's opt-in strict mode (`--s3-verify-signatures`,
 * S3_SKIP_SIGNATURE_VALIDATION=0). By default the emulator accepts every
 * signature, as LocalStack does; this file is only reached when asked.
 *
 * Four shapes are verified: SigV4 in the Authorization header
 * (AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…), SigV4
 * presigned URLs (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature), SigV2 headers
 * ("AWS AK:base64") and SigV2 presigned URLs (AWSAccessKeyId, Expires,
 * Signature). The canonical request is rebuilt from the raw request: the path
 * and query are decoded and re-encoded (RFC 3986 unreserved characters kept),
 * so that clients that encode more or less than AWS's rules still match. The
 * payload hash is the one the client declares in x-amz-content-sha256
 * (S3 signs it; whether the body matches it is the body reader's business).
 * aws-chunked chunk signatures are not checked here.
 *
 * Assumptions: the secret of an access key is "test" (LocalStack's test
 * credentials) unless the emulator issued the key itself (STS, IAM), in which
 * case the credential table holds its secret (and STS's session token and
 * expiry), checked as AWS checks them; AWS-shaped keys (AKIA…, ASIA…) the
 * emulator never issued are unknown (InvalidAccessKeyId). Every
 * buffer is bounded (AUTH_MAX); HMAC and SHA-256 come from libcrypto.
 */
#include "emulator/sigv4.h"

#include "common/codec.h"
#include "common/dynbuf.h"
#include "common/error.h"
#include "emulator/emulator_int.h"
#include "emulator/service.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AUTH_MAX (64u << 10)    /* a canonical request or string to sign */
#define AUTH_MAX_PAIRS 1000     /* query parameters */
#define AUTH_MAX_SKEW 900.0     /* seconds: AWS's 15 minutes */
#define AUTH_MAX_EXPIRES 604800 /* a presigned V4 URL lives a week at most */

typedef struct pair {
  char *name, *value; /* decoded, owned */
} pair;

typedef struct query {
  pair *items;
  size_t len;
} query;

static void query_free(query *q) {
  for (size_t i = 0; i < q->len; i++) {
    free(q->items[i].name);
    free(q->items[i].value);
  }
  free(q->items);
  q->items = NULL;
  q->len = 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..len) ('+' stays '+': S3 signs it as %2B). Owned. */
static char *uri_decode(const char *s, size_t len) {
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int h, l;
    if (s[i] == '%' && i + 2 < len && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
        (l = hexval((unsigned char)s[i + 2])) >= 0) {
      out[o++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

/* AWS's URI encoding: unreserved characters as they are, the rest %XX. */
static void uri_encode(dynbuf *b, const char *s, int keep_slash) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      dynbuf_append(b, (const char *)&c, 1);
    else
      dynbuf_printf(b, "%%%02X", c);
  }
}

static int pair_cmp(const void *a, const void *b) {
  const pair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

/* Splits a raw query string into decoded pairs. -1 when out of memory or
 * past AUTH_MAX_PAIRS. */
static int query_parse(query *q, const char *raw) {
  memset(q, 0, sizeof(*q));
  if (!raw || !*raw)
    return 0;
  size_t cap = 1;
  for (const char *c = raw; *c; c++)
    cap += *c == '&';
  if (cap > AUTH_MAX_PAIRS)
    return -1;
  q->items = calloc(cap, sizeof(pair));
  if (!q->items)
    return -1;
  const char *p = raw;
  while (*p) {
    size_t len = strcspn(p, "&");
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t nlen = eq ? (size_t)(eq - p) : len;
      pair *it = &q->items[q->len];
      it->name = uri_decode(p, nlen);
      it->value = eq ? uri_decode(eq + 1, len - nlen - 1) : strdup("");
      q->len++;
      if (!it->name || !it->value) {
        query_free(q);
        return -1;
      }
    }
    p += len;
    if (*p == '&')
      p++;
  }
  return 0;
}

static const char *query_get(const query *q, const char *name) {
  for (size_t i = 0; i < q->len; i++)
    if (strcmp(q->items[i].name, name) == 0)
      return q->items[i].value;
  return NULL;
}

/* The session token a request carries (header or presigned query), or NULL. */
static const char *request_token(const aws_http_in *in, const query *q) {
  const char *t = in->header(in->ctx, "X-Amz-Security-Token");
  if (!t)
    t = query_get(q, "X-Amz-Security-Token");
  if (!t)
    t = query_get(q, "x-amz-security-token");
  return t;
}

static void sha256_hex(char out[65], const char *data, size_t len) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  codec_hex_encode(out, md, 32);
}

static void hmac(const EVP_MD *md, unsigned char *out, unsigned int *out_len, const void *key,
                 size_t key_len, const char *data) {
  HMAC(md, key, (int)key_len, (const unsigned char *)data, strlen(data), out, out_len);
}

/* "20260102T030405Z" → seconds; -1 when malformed. */
static double parse_amz_date(const char *s) {
  struct tm tm = {0};
  if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
    return -1;
  for (int i = 0; i < 15; i++)
    if (i != 8 && !isdigit((unsigned char)s[i]))
      return -1;
  tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
  tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
  tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
  tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
  tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
  tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return -1;
  return (double)timegm(&tm);
}

static void format_amz_date(char out[17], double t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* The secret of access_key into out (AUTH_SECRET_MAX bytes). Keys the
 * emulator issued (STS, IAM) have their own secret, and STS's also a session
 * token, which must come with the request (token; checked only when
 * check_token is set) and must not have expired. Other keys have the secret
 * "test", except keys shaped like AWS's own (AKIA…/ASIA…, 20 characters):
 * AWS would not know one the emulator never issued (or an IAM key deleted or
 * made inactive). 0, or AIRGAP_EINVALID with InvalidAccessKeyId,
 * InvalidToken or ExpiredToken in err. */
#define AUTH_SECRET_MAX 128
static int secret_of(aws_error *err, emulator *emu, const char *access_key, const char *token,
                     int check_token, double now, char out[AUTH_SECRET_MAX]) {
  json_t *issued = emulator_credentials_get(emu, access_key);
  if (!issued) {
    if (strlen(access_key) == 20 &&
        (!strncmp(access_key, "AKIA", 4) || !strncmp(access_key, "ASIA", 4))) {
      aws_error_set(err, 403, "InvalidAccessKeyId",
                    "The AWS Access Key Id you provided does not exist in our records.");
      err->fields = json_pack("{s:s}", "AWSAccessKeyId", access_key);
      return AIRGAP_EINVALID;
    }
    snprintf(out, AUTH_SECRET_MAX, "test");
    return 0;
  }
  const char *secret = json_string_value(json_object_get(issued, "SecretAccessKey"));
  const char *want = json_string_value(json_object_get(issued, "SessionToken"));
  double expires = json_number_value(json_object_get(issued, "Expiration"));
  int rc = 0;
  if (want && check_token && (!token || strcmp(token, want) != 0)) {
    aws_error_set(err, 400, "InvalidToken",
                  "The provided token is malformed or otherwise invalid.");
    rc = AIRGAP_EINVALID;
  } else if (want && expires > 0 && now >= expires) {
    aws_error_set(err, 400, "ExpiredToken", "The provided token has expired.");
    rc = AIRGAP_EINVALID;
  } else {
    snprintf(out, AUTH_SECRET_MAX, "%s", secret ? secret : "");
  }
  json_decref(issued);
  return rc;
}

static int fail_malformed(aws_error *err, const char *region, const char *msg) {
  aws_error_set(err, 400, "AuthorizationHeaderMalformed",
                "The authorization header is malformed; %s", msg);
  if (region)
    err->fields = json_pack("{s:s}", "Region", region);
  return AIRGAP_EINVALID;
}

static int fail_skewed(aws_error *err, double request_time, double now) {
  char rt[17], st[17];
  format_amz_date(rt, request_time);
  format_amz_date(st, now);
  aws_error_set(err, 403, "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.");
  err->fields = json_pack("{s:s, s:s, s:s}", "RequestTime", rt, "ServerTime", st,
                          "MaxAllowedSkewMilliseconds", "900000");
  return AIRGAP_EINVALID;
}

static int fail_expired(aws_error *err, const char *expires, double expiry, double now) {
  char ex[32], st[32];
  aws_timestamp_format(ex, sizeof(ex), expiry, "iso8601");
  aws_timestamp_format(st, sizeof(st), now, "iso8601");
  aws_error_set(err, 403, "AccessDenied", "Request has expired");
  err->fields = json_pack("{s:s, s:s, s:s}", "X-Amz-Expires", expires ? expires : "", "Expires", ex,
                          "ServerTime", st);
  return AIRGAP_EINVALID;
}

static int fail_mismatch(aws_error *err, const char *access_key, const char *sts,
                         const char *provided, const char *canonical) {
  aws_error_set(err, 403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method.");
  err->fields = json_pack("{s:s, s:s, s:s}", "AWSAccessKeyId", access_key, "StringToSign", sts,
                          "SignatureProvided", provided);
  if (canonical)
    json_object_set_new(err->fields, "CanonicalRequest", json_string(canonical));
  return AIRGAP_EINVALID;
}

/* ---- SigV4 ---- */

typedef struct v4 {
  char access_key[129], date[9], region[32], service[32];
  char signed_headers[2048];
  char signature[65];
  char amz_date[17];
} v4;

/* "AK/20260102/us-east-1/s3/aws4_request" into v. 0, or -1. */
static int parse_scope(v4 *v, const char *cred, size_t len) {
  const char *parts[5];
  size_t lens[5], n = 0;
  const char *p = cred, *end = cred + len;
  while (n < 5 && p <= end) {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t l = slash ? (size_t)(slash - p) : (size_t)(end - p);
    parts[n] = p;
    lens[n++] = l;
    if (!slash)
      break;
    p = slash + 1;
  }
  if (n != 5 || p + lens[4] != end || lens[0] == 0 || lens[0] >= sizeof(v->access_key) ||
      lens[1] != 8 || lens[2] == 0 || lens[2] >= sizeof(v->region) || lens[3] == 0 ||
      lens[3] >= sizeof(v->service) || lens[4] != 12 || memcmp(parts[4], "aws4_request", 12) != 0)
    return -1;
  snprintf(v->access_key, sizeof(v->access_key), "%.*s", (int)lens[0], parts[0]);
  snprintf(v->date, sizeof(v->date), "%.*s", (int)lens[1], parts[1]);
  snprintf(v->region, sizeof(v->region), "%.*s", (int)lens[2], parts[2]);
  snprintf(v->service, sizeof(v->service), "%.*s", (int)lens[3], parts[3]);
  return 0;
}

/* The value of "Name=" in an Authorization header's comma list; len in *len. */
static const char *auth_field(const char *auth, const char *name, size_t *len) {
  size_t nlen = strlen(name);
  const char *p = auth;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t l = strcspn(p, ",");
    if (l > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
      *len = l - nlen - 1;
      while (*len > 0 && p[nlen + *len] == ' ')
        (*len)--;
      return p + nlen + 1;
    }
    p += l;
  }
  return NULL;
}

/* A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces
 * collapsed. */
static void canonical_value(dynbuf *b, const char *v) {
  while (*v == ' ' || *v == '\t')
    v++;
  int space = 0;
  for (; *v; v++) {
    if (*v == ' ' || *v == '\t') {
      space = 1;
      continue;
    }
    if (space)
      dynbuf_append(b, " ", 1);
    space = 0;
    dynbuf_append(b, v, 1);
  }
}

static int verify_v4(aws_error *err, emulator *emu, const aws_http_in *in, const query *q,
                     const v4 *v, int presigned, double now) {
  int rc = AIRGAP_EINVALID;
  dynbuf creq, sts;
  dynbuf_init(&creq, AUTH_MAX);
  dynbuf_init(&sts, AUTH_MAX);
  char *path = NULL, *canonical = NULL, *to_sign = NULL;
  char secret[AUTH_SECRET_MAX];
  if (secret_of(err, emu, v->access_key, request_token(in, q), 1, now, secret) < 0)
    goto cleanup;
  /* Canonical request. */
  dynbuf_printf(&creq, "%s\n", in->method);
  path = uri_decode(in->path, strlen(in->path));
  if (!path)
    goto oom;
  uri_encode(&creq, path, 1);
  dynbuf_append(&creq, "\n", 1);
  size_t n = 0;
  if (q->len) {
    pair *copy = malloc(q->len * sizeof(pair));
    if (!copy)
      goto oom;
    for (size_t i = 0; i < q->len; i++)
      if (!presigned || strcmp(q->items[i].name, "X-Amz-Signature") != 0)
        copy[n++] = q->items[i];
    qsort(copy, n, sizeof(pair), pair_cmp);
    for (size_t i = 0; i < n; i++) {
      if (i)
        dynbuf_append(&creq, "&", 1);
      uri_encode(&creq, copy[i].name, 0);
      dynbuf_append(&creq, "=", 1);
      uri_encode(&creq, copy[i].value, 0);
    }
    free(copy);
  }
  dynbuf_append(&creq, "\n", 1);
  const char *h = v->signed_headers;
  int saw_host = 0;
  while (*h) {
    size_t len = strcspn(h, ";");
    char name[256];
    if (len == 0 || len >= sizeof(name)) {
      fail_malformed(err, v->region, "the SignedHeaders list is not valid.");
      goto cleanup;
    }
    memcpy(name, h, len);
    name[len] = '\0';
    for (size_t i = 0; i < len; i++)
      name[i] = (char)tolower((unsigned char)name[i]);
    saw_host |= strcmp(name, "host") == 0;
    const char *value = in->header(in->ctx, name);
    dynbuf_printf(&creq, "%s:", name);
    if (value)
      canonical_value(&creq, value);
    dynbuf_append(&creq, "\n", 1);
    h += len;
    if (*h == ';')
      h++;
  }
  if (!saw_host) {
    aws_error_set(err, 400, "AccessDenied",
                  "There were headers present in the request which were not signed: host");
    goto cleanup;
  }
  dynbuf_printf(&creq, "\n%s\n", v->signed_headers);
  const char *payload = in->header(in->ctx, "x-amz-content-sha256");
  if (presigned)
    payload = query_get(q, "X-Amz-Content-Sha256") ? query_get(q, "X-Amz-Content-Sha256")
                                                   : "UNSIGNED-PAYLOAD";
  else if (!payload) {
    aws_error_set(err, 400, "InvalidRequest",
                  "Missing required header for this request: x-amz-content-sha256");
    goto cleanup;
  }
  dynbuf_puts(&creq, payload);
  canonical = dynbuf_take(&creq, NULL);
  if (!canonical)
    goto oom;
  /* String to sign. */
  char hash[65];
  sha256_hex(hash, canonical, strlen(canonical));
  dynbuf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", v->amz_date, v->date,
                v->region, v->service, hash);
  to_sign = dynbuf_take(&sts, NULL);
  if (!to_sign)
    goto oom;
  /* The signing key: HMAC chain from "AWS4" + secret. */
  unsigned char key[EVP_MAX_MD_SIZE], next[EVP_MAX_MD_SIZE];
  unsigned int klen = 0;
  char first[256];
  int flen = snprintf(first, sizeof(first), "AWS4%s", secret);
  hmac(EVP_sha256(), key, &klen, first, (size_t)flen, v->date);
  const char *steps[] = {v->region, v->service, "aws4_request", to_sign};
  for (size_t i = 0; i < 4; i++) {
    unsigned int nlen = 0;
    hmac(EVP_sha256(), next, &nlen, key, klen, steps[i]);
    memcpy(key, next, nlen);
    klen = nlen;
  }
  char expected[65];
  codec_hex_encode(expected, key, 32);
  if (strcmp(expected, v->signature) != 0) {
    fail_mismatch(err, v->access_key, to_sign, v->signature, canonical);
    goto cleanup;
  }
  (void)now;
  rc = 0;
  goto cleanup;
oom:
  aws_error_set(err, 500, "InternalError", "out of memory while checking the signature");
cleanup:
  dynbuf_free(&creq);
  dynbuf_free(&sts);
  free(path);
  free(canonical);
  free(to_sign);
  return rc;
}

static int check_v4_header(aws_error *err, emulator *emu, const aws_http_in *in, const query *q,
                           const char *auth, double now) {
  v4 v;
  memset(&v, 0, sizeof(v));
  const char *rest = auth + strlen("AWS4-HMAC-SHA256");
  size_t clen = 0, slen = 0, glen = 0;
  const char *cred = auth_field(rest, "Credential", &clen);
  const char *sh = auth_field(rest, "SignedHeaders", &slen);
  const char *sig = auth_field(rest, "Signature", &glen);
  if (!cred || parse_scope(&v, cred, clen) < 0)
    return fail_malformed(err, NULL,
                          "the Credential is mal-formed; expecting "
                          "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  if (!sh || slen == 0 || slen >= sizeof(v.signed_headers) || !sig || glen != 64)
    return fail_malformed(err, v.region,
                          "the authorization header requires 'Credential', 'SignedHeaders' and "
                          "'Signature' parameters.");
  memcpy(v.signed_headers, sh, slen);
  memcpy(v.signature, sig, 64);
  const char *date = in->header(in->ctx, "x-amz-date");
  double t = parse_amz_date(date);
  if (t < 0) {
    const char *d = in->header(in->ctx, "Date");
    if (!d || aws_timestamp_parse(&t, d) < 0) {
      aws_error_set(err, 403, "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header");
      return AIRGAP_EINVALID;
    }
    format_amz_date(v.amz_date, t);
  } else {
    memcpy(v.amz_date, date, 16);
  }
  if (strncmp(v.amz_date, v.date, 8) != 0)
    return fail_malformed(err, v.region,
                          "the date in the Credential scope does not match the request date.");
  if (t < now - AUTH_MAX_SKEW || t > now + AUTH_MAX_SKEW)
    return fail_skewed(err, t, now);
  return verify_v4(err, emu, in, q, &v, 0, now);
}

static int check_v4_query(aws_error *err, emulator *emu, const aws_http_in *in, const query *q,
                          double now) {
  v4 v;
  memset(&v, 0, sizeof(v));
  const char *algo = query_get(q, "X-Amz-Algorithm");
  const char *cred = query_get(q, "X-Amz-Credential");
  const char *date = query_get(q, "X-Amz-Date");
  const char *expires = query_get(q, "X-Amz-Expires");
  const char *sh = query_get(q, "X-Amz-SignedHeaders");
  const char *sig = query_get(q, "X-Amz-Signature");
  if (!algo || strcmp(algo, "AWS4-HMAC-SHA256") != 0) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    return AIRGAP_EINVALID;
  }
  if (!cred || !date || !expires || !sh || !sig) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                  "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                  "X-Amz-Expires parameters.");
    return AIRGAP_EINVALID;
  }
  if (parse_scope(&v, cred, strlen(cred)) < 0) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                  "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
    return AIRGAP_EINVALID;
  }
  char *end = NULL;
  long ex = strtol(expires, &end, 10);
  if (!*expires || *end || ex < 0) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "X-Amz-Expires should be a number");
    return AIRGAP_EINVALID;
  }
  if (ex > AUTH_MAX_EXPIRES) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "X-Amz-Expires must be less than a week (in seconds) that is 604800");
    return AIRGAP_EINVALID;
  }
  double t = parse_amz_date(date);
  if (t < 0) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    return AIRGAP_EINVALID;
  }
  if (t > now + AUTH_MAX_SKEW) {
    aws_error_set(err, 403, "AccessDenied", "Request is not valid yet");
    return AIRGAP_EINVALID;
  }
  if (now > t + (double)ex)
    return fail_expired(err, expires, t + (double)ex, now);
  if (strlen(sh) >= sizeof(v.signed_headers) || strlen(sig) != 64) {
    aws_error_set(err, 400, "AuthorizationQueryParametersError",
                  "The X-Amz-SignedHeaders or X-Amz-Signature parameter is not valid.");
    return AIRGAP_EINVALID;
  }
  memcpy(v.signed_headers, sh, strlen(sh) + 1);
  memcpy(v.signature, sig, 65);
  memcpy(v.amz_date, date, 17);
  return verify_v4(err, emu, in, q, &v, 1, now);
}

/* ---- SigV2 ---- */

/* The sub-resources SigV2 signs (sorted, as the canonical resource lists them). */
static const char *const v2_subresources[] = {"acl",
                                              "cors",
                                              "delete",
                                              "lifecycle",
                                              "location",
                                              "logging",
                                              "notification",
                                              "partNumber",
                                              "policy",
                                              "requestPayment",
                                              "response-cache-control",
                                              "response-content-disposition",
                                              "response-content-encoding",
                                              "response-content-language",
                                              "response-content-type",
                                              "response-expires",
                                              "restore",
                                              "tagging",
                                              "torrent",
                                              "uploadId",
                                              "uploads",
                                              "versionId",
                                              "versioning",
                                              "versions",
                                              "website"};

typedef struct amz_collect {
  dynbuf *b;
  pair items[64];
  size_t len;
  int overflow;
} amz_collect;

static int collect_amz(const char *name, const char *value, void *payload) {
  amz_collect *c = payload;
  if (strncasecmp(name, "x-amz-", 6) != 0)
    return 0;
  if (c->len == sizeof(c->items) / sizeof(c->items[0])) {
    c->overflow = 1;
    return 0;
  }
  c->items[c->len].name = (char *)name;
  c->items[c->len].value = (char *)value;
  c->len++;
  return 0;
}

static int pair_case_cmp(const void *a, const void *b) {
  return strcasecmp(((const pair *)a)->name, ((const pair *)b)->name);
}

static int check_v2_once(aws_error *err, const aws_http_in *in, const query *q,
                         const char *vhost_bucket, const char *access_key, const char *secret,
                         const char *provided, const char *date_line, int slash) {
  int rc = AIRGAP_EINVALID;
  dynbuf b;
  dynbuf_init(&b, AUTH_MAX);
  char *sts = NULL;
  const char *md5 = in->header(in->ctx, "Content-MD5");
  const char *type = in->header(in->ctx, "Content-Type");
  dynbuf_printf(&b, "%s\n%s\n%s\n%s\n", in->method, md5 ? md5 : "", type ? type : "", date_line);
  amz_collect c = {.b = &b};
  in->headers_foreach(in->ctx, collect_amz, &c);
  qsort(c.items, c.len, sizeof(pair), pair_case_cmp);
  for (size_t i = 0; i < c.len; i++) {
    for (const char *n = c.items[i].name; *n; n++) {
      char l = (char)tolower((unsigned char)*n);
      dynbuf_append(&b, &l, 1);
    }
    dynbuf_append(&b, ":", 1);
    canonical_value(&b, c.items[i].value);
    dynbuf_append(&b, "\n", 1);
  }
  if (vhost_bucket[0])
    dynbuf_printf(&b, "/%s", vhost_bucket);
  dynbuf_puts(&b, in->path);
  if (slash)
    dynbuf_append(&b, "/", 1);
  int first = 1;
  for (size_t s = 0; s < sizeof(v2_subresources) / sizeof(v2_subresources[0]); s++)
    for (size_t i = 0; i < q->len; i++)
      if (strcmp(q->items[i].name, v2_subresources[s]) == 0) {
        dynbuf_printf(&b, "%s%s", first ? "?" : "&", q->items[i].name);
        if (q->items[i].value[0])
          dynbuf_printf(&b, "=%s", q->items[i].value);
        first = 0;
        break;
      }
  sts = dynbuf_take(&b, NULL);
  if (!sts) {
    aws_error_set(err, 500, "InternalError", "out of memory while checking the signature");
    goto cleanup;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mlen = 0;
  hmac(EVP_sha1(), mac, &mlen, secret, strlen(secret), sts);
  char *expected = codec_base64_encode(mac, mlen);
  if (!expected) {
    aws_error_set(err, 500, "InternalError", "out of memory while checking the signature");
    goto cleanup;
  }
  int same = strcmp(expected, provided) == 0;
  free(expected);
  if (!same) {
    fail_mismatch(err, access_key, sts, provided, NULL);
    goto cleanup;
  }
  rc = 0;
cleanup:
  dynbuf_free(&b);
  free(sts);
  return rc;
}

static int check_v2(aws_error *err, emulator *emu, const aws_http_in *in, const query *q,
                    const char *vhost_bucket, const char *access_key, const char *provided,
                    const char *date_line, double now) {
  char secret[AUTH_SECRET_MAX];
  if (secret_of(err, emu, access_key, request_token(in, q), 1, now, secret) < 0)
    return AIRGAP_EINVALID;
  int rc = check_v2_once(err, in, q, vhost_bucket, access_key, secret, provided, date_line, 0);
  /* botocore signs a bucket's own operations (path "/bucket") as "/bucket/",
   * the resource of the virtual-host form; S3 accepts both. */
  const char *p = in->path;
  if (rc < 0 && !vhost_bucket[0] && p[0] == '/' && p[1] && !strchr(p + 1, '/')) {
    aws_error retry = {0};
    if (check_v2_once(&retry, in, q, vhost_bucket, access_key, secret, provided, date_line, 1) ==
        0) {
      aws_error_clear(err);
      rc = 0;
    }
    aws_error_clear(&retry);
  }
  return rc;
}

int emulator_sigv4_verify(aws_error *err, emulator *emu, const aws_http_in *in,
                          const char *vhost_path, double now) {
  char vhost_bucket[256] = "";
  if (vhost_path) {
    size_t blen = strlen(vhost_path) - strlen(in->path);
    if (blen > 1 && blen <= sizeof(vhost_bucket))
      snprintf(vhost_bucket, sizeof(vhost_bucket), "%.*s", (int)(blen - 1), vhost_path + 1);
  }
  query q;
  if (query_parse(&q, in->query) < 0) {
    aws_error_set(err, 400, "InvalidArgument", "The query string has too many parameters.");
    return AIRGAP_EINVALID;
  }
  int rc = 0;
  const char *auth = in->header(in->ctx, "Authorization");
  if (auth && strncmp(auth, "AWS4-HMAC-SHA256 ", 17) == 0) {
    rc = check_v4_header(err, emu, in, &q, auth, now);
  } else if (auth && strncmp(auth, "AWS ", 4) == 0) {
    const char *colon = strchr(auth + 4, ':');
    char ak[129];
    if (!colon || colon == auth + 4 || (size_t)(colon - auth - 4) >= sizeof(ak) || !colon[1]) {
      aws_error_set(err, 400, "InvalidArgument",
                    "AWS authorization header is invalid.  Expected "
                    "AwsAccessKeyId:signature");
      rc = AIRGAP_EINVALID;
      goto cleanup;
    }
    snprintf(ak, sizeof(ak), "%.*s", (int)(colon - auth - 4), auth + 4);
    const char *date = in->header(in->ctx, "Date");
    const char *amz = in->header(in->ctx, "x-amz-date");
    double t = -1;
    if ((amz && aws_timestamp_parse(&t, amz) < 0) ||
        (!amz && (!date || aws_timestamp_parse(&t, date) < 0))) {
      aws_error_set(err, 403, "AccessDenied",
                    "AWS authentication requires a valid Date or x-amz-date header");
      rc = AIRGAP_EINVALID;
      goto cleanup;
    }
    if (t < now - AUTH_MAX_SKEW || t > now + AUTH_MAX_SKEW) {
      rc = fail_skewed(err, t, now);
      goto cleanup;
    }
    /* With x-amz-date the Date line is empty: x-amz-date is signed with the
     * other x-amz-* headers. */
    rc = check_v2(err, emu, in, &q, vhost_bucket, ak, colon + 1, amz ? "" : date, now);
  } else if (auth) {
    aws_error_set(err, 400, "InvalidArgument", "Unsupported Authorization Type");
    err->fields = json_pack("{s:s, s:s}", "ArgumentName", "Authorization", "ArgumentValue", auth);
    rc = AIRGAP_EINVALID;
  } else if (query_get(&q, "X-Amz-Algorithm") || query_get(&q, "X-Amz-Credential") ||
             query_get(&q, "X-Amz-Signature")) {
    rc = check_v4_query(err, emu, in, &q, now);
  } else if (query_get(&q, "AWSAccessKeyId") || query_get(&q, "Signature")) {
    const char *ak = query_get(&q, "AWSAccessKeyId");
    const char *sig = query_get(&q, "Signature");
    const char *expires = query_get(&q, "Expires");
    char *end = NULL;
    long long ex = expires ? strtoll(expires, &end, 10) : -1;
    if (!ak || !sig || !expires || !*expires || *end || ex < 0) {
      aws_error_set(err, 403, "AccessDenied",
                    "Query-string authentication requires the Signature, Expires and "
                    "AWSAccessKeyId parameters");
      rc = AIRGAP_EINVALID;
      goto cleanup;
    }
    if (now > (double)ex) {
      rc = fail_expired(err, NULL, (double)ex, now);
      goto cleanup;
    }
    rc = check_v2(err, emu, in, &q, vhost_bucket, ak, sig, expires, now);
  }
cleanup:
  query_free(&q);
  return rc;
}

int emulator_sigv4_enabled(const emulator *emu) { return emu->s3_verify_signatures; }

int emulator_sigv4_chunk_signer(emulator_chunk_signer *out, emulator *emu,
                                const char *authorization, const char *amz_date) {
  if (!emu->s3_verify_signatures || !authorization || !amz_date || strlen(amz_date) != 16 ||
      strncmp(authorization, "AWS4-HMAC-SHA256", 16) != 0)
    return 0;
  const char *rest = authorization + 16;
  size_t clen = 0, glen = 0;
  const char *cred = auth_field(rest, "Credential", &clen);
  const char *sig = auth_field(rest, "Signature", &glen);
  v4 v;
  memset(&v, 0, sizeof(v));
  if (!cred || parse_scope(&v, cred, clen) < 0 || !sig || glen != 64)
    return 0;
  /* The headers' own signature was checked already (with the token); the
   * chunks are signed with the same key. */
  char secret[AUTH_SECRET_MAX];
  aws_error unused = {0};
  int rc = secret_of(&unused, emu, v.access_key, NULL, 0, (double)time(NULL), secret);
  aws_error_clear(&unused);
  if (rc < 0)
    return 0;
  emulator_chunk_signer s;
  memset(&s, 0, sizeof(s));
  unsigned char key[EVP_MAX_MD_SIZE], next[EVP_MAX_MD_SIZE];
  unsigned int klen = 0;
  char first[256];
  int flen = snprintf(first, sizeof(first), "AWS4%s", secret);
  hmac(EVP_sha256(), key, &klen, first, (size_t)flen, v.date);
  const char *steps[] = {v.region, v.service, "aws4_request"};
  for (size_t i = 0; i < 3; i++) {
    unsigned int nlen = 0;
    hmac(EVP_sha256(), next, &nlen, key, klen, steps[i]);
    memcpy(key, next, nlen);
    klen = nlen;
  }
  memcpy(s.key, key, 32);
  snprintf(s.scope, sizeof(s.scope), "%s/%s/%s/aws4_request", v.date, v.region, v.service);
  memcpy(s.amz_date, amz_date, 16);
  memcpy(s.prev, sig, 64);
  *out = s;
  return 1;
}

int emulator_sigv4_chunk_check(emulator_chunk_signer *s, int trailer,
                               const unsigned char sha256[32], const char *signature) {
  char hash[65], empty[65], to_sign[512], expected[65];
  codec_hex_encode(hash, sha256, 32);
  sha256_hex(empty, "", 0);
  if (trailer)
    snprintf(to_sign, sizeof(to_sign), "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", s->amz_date,
             s->scope, s->prev, hash);
  else
    snprintf(to_sign, sizeof(to_sign), "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", s->amz_date,
             s->scope, s->prev, empty, hash);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mlen = 0;
  hmac(EVP_sha256(), mac, &mlen, s->key, 32, to_sign);
  codec_hex_encode(expected, mac, 32);
  if (!signature || strcasecmp(expected, signature) != 0)
    return 0;
  memcpy(s->prev, expected, 65);
  return 1;
}

int emulator_s3_enforce_access(const emulator *emu) { return emu->s3_enforce_access; }

int emulator_sigv4_policy_verify(aws_error *err, emulator *emu, const char *policy,
                                 const char *credential, const char *access_key,
                                 const char *signature) {
  char expected[65], secret[AUTH_SECRET_MAX];
  /* The form's own token field is not passed here: only the key's existence
   * and expiry are checked. */
  double now = (double)time(NULL);
  if (credential) {
    v4 v;
    memset(&v, 0, sizeof(v));
    if (parse_scope(&v, credential, strlen(credential)) < 0) {
      aws_error_set(err, 400, "InvalidArgument",
                    "Error parsing the X-Amz-Credential parameter; the Credential is "
                    "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
      err->fields =
          json_pack("{s:s, s:s}", "ArgumentName", "x-amz-credential", "ArgumentValue", credential);
      return AIRGAP_EINVALID;
    }
    if (secret_of(err, emu, v.access_key, NULL, 0, now, secret) < 0)
      return AIRGAP_EINVALID;
    unsigned char key[EVP_MAX_MD_SIZE], next[EVP_MAX_MD_SIZE];
    unsigned int klen = 0;
    char first[256];
    int flen = snprintf(first, sizeof(first), "AWS4%s", secret);
    hmac(EVP_sha256(), key, &klen, first, (size_t)flen, v.date);
    const char *steps[] = {v.region, v.service, "aws4_request", policy};
    for (size_t i = 0; i < 4; i++) {
      unsigned int nlen = 0;
      hmac(EVP_sha256(), next, &nlen, key, klen, steps[i]);
      memcpy(key, next, nlen);
      klen = nlen;
    }
    codec_hex_encode(expected, key, 32);
    if (strcmp(expected, signature) != 0)
      return fail_mismatch(err, v.access_key, policy, signature, NULL);
    return 0;
  }
  if (secret_of(err, emu, access_key, NULL, 0, now, secret) < 0)
    return AIRGAP_EINVALID;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mlen = 0;
  hmac(EVP_sha1(), mac, &mlen, secret, strlen(secret), policy);
  char *b64 = codec_base64_encode(mac, mlen);
  if (!b64) {
    aws_error_set(err, 500, "InternalError", "out of memory while checking the signature");
    return AIRGAP_EINVALID;
  }
  int same = strcmp(b64, signature) == 0;
  free(b64);
  return same ? 0 : fail_mismatch(err, access_key, policy, signature, NULL);
}
