/*
 * federated.c — STS for identities from other providers: AssumeRoleWithSAML
 * and AssumeRoleWithWebIdentity.
 *
 * As with every credential in the emulator, nothing is verified
 * cryptographically (no IdP metadata, no JWKS to fetch in an air gap), but the
 * documents are read as AWS reads them, so that what the answer reports comes
 * from the request: the SAML assertion is base64 XML, parsed with expat
 * (namespace-aware; no external entities are ever loaded) for its Issuer,
 * NameID, audience and the RoleSessionName attribute; the web identity token
 * is a JWT whose payload gives sub, aud and iss (an expired exp is refused as
 * AWS refuses it). Malformed documents get AWS's InvalidIdentityToken. Both
 * may ask for a source identity and session tags (SAML attributes, token
 * claims, as the IAM guide names them), which the session keeps and carries
 * into the sessions it chains to (sts_chain_session); an assertion's
 * SessionNotOnOrAfter ends the session early.
 */
#include "emulator/sts/sts_int.h"

#include "common/codec.h"
#include "common/jsonutil.h"
#include "emulator/protocol/protocol.h"

#include <expat.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- SAML ---- */

/* The local name of an expat namespace-qualified name ("uri local"), when its
 * namespace is SAML 2.0's assertion namespace; NULL otherwise. */
static const char *saml_local(const XML_Char *name) {
  size_t n = strlen(SAML_NS);
  if (strncmp(name, SAML_NS, n) != 0 || name[n] != ' ')
    return NULL;
  return name + n + 1;
}

static const char *attr_of(const XML_Char **attrs, const char *name) {
  for (size_t i = 0; attrs[i]; i += 2)
    if (!strcmp(attrs[i], name))
      return attrs[i + 1];
  return NULL;
}

static void capture(saml_doc *d, char *field) {
  if (field[0]) /* the first one wins */
    return;
  d->text = field;
  d->text_len = 0;
}

static void XMLCALL saml_start(void *payload, const XML_Char *name, const XML_Char **attrs) {
  saml_doc *d = payload;
  d->depth++;
  d->text = NULL;
  const char *local = saml_local(name);
  if (!local)
    return;
  if (!strcmp(local, "Assertion"))
    d->saw_assertion = 1;
  else if (!strcmp(local, "Issuer"))
    capture(d, d->issuer);
  else if (!strcmp(local, "NameID")) {
    const char *format = attr_of(attrs, "Format");
    if (!d->name_id[0] && format)
      snprintf(d->format, sizeof(d->format), "%s", format);
    capture(d, d->name_id);
  } else if (!strcmp(local, "Audience"))
    capture(d, d->audience);
  else if (!strcmp(local, "SubjectConfirmationData")) {
    const char *recipient = attr_of(attrs, "Recipient");
    if (recipient && !d->audience[0])
      snprintf(d->audience, sizeof(d->audience), "%s", recipient);
  } else if (!strcmp(local, "AuthnStatement")) {
    const char *after = attr_of(attrs, "SessionNotOnOrAfter");
    if (after && !d->not_after[0])
      snprintf(d->not_after, sizeof(d->not_after), "%s", after);
  } else if (!strcmp(local, "Attribute")) {
    const char *n = attr_of(attrs, "Name");
    size_t pre = strlen(SAML_ATTRIBUTES);
    d->attribute = SAML_OTHER;
    if (!n || strncmp(n, SAML_ATTRIBUTES, pre) != 0)
      return;
    if (!strcmp(n + pre, "RoleSessionName"))
      d->attribute = SAML_SESSION;
    else if (!strcmp(n + pre, "SourceIdentity"))
      d->attribute = SAML_SOURCE;
    else if (!strcmp(n + pre, "TransitiveTagKeys"))
      d->attribute = SAML_TRANSITIVE;
    else if (!strncmp(n + pre, "PrincipalTag:", 13) && n[pre + 13]) {
      if (d->tags == SAML_MAX_TAGS) {
        d->too_many = 1;
        return;
      }
      snprintf(d->tag_keys[d->tags], SAML_FIELD, "%s", n + pre + 13);
      d->tag_values[d->tags++][0] = '\0';
      d->attribute = SAML_TAG;
    }
  } else if (!strcmp(local, "AttributeValue")) {
    if (d->attribute == SAML_SESSION)
      capture(d, d->session);
    else if (d->attribute == SAML_SOURCE)
      capture(d, d->source);
    else if (d->attribute == SAML_TAG)
      capture(d, d->tag_values[d->tags - 1]);
    else if (d->attribute == SAML_TRANSITIVE && d->transitive_count < SAML_MAX_TAGS) {
      d->transitive[d->transitive_count][0] = '\0';
      capture(d, d->transitive[d->transitive_count++]);
    } else if (d->attribute == SAML_TRANSITIVE)
      d->too_many = 1;
  }
}

static void XMLCALL saml_end(void *payload, const XML_Char *name) {
  saml_doc *d = payload;
  const char *local = saml_local(name);
  if (local && !strcmp(local, "Attribute"))
    d->attribute = SAML_OTHER;
  d->text = NULL;
  d->depth--;
}

static void XMLCALL saml_text(void *payload, const XML_Char *s, int len) {
  saml_doc *d = payload;
  if (!d->text || len <= 0)
    return;
  size_t room = SAML_FIELD - 1 - d->text_len;
  size_t n = (size_t)len < room ? (size_t)len : room;
  memcpy(d->text + d->text_len, s, n);
  d->text_len += n;
  d->text[d->text_len] = '\0';
}

/* Trims white space around s in place. */
static void trim(char *s) {
  size_t n = strlen(s), start = strspn(s, " \t\r\n");
  while (n > start && strchr(" \t\r\n", s[n - 1]))
    n--;
  memmove(s, s + start, n - start);
  s[n - start] = '\0';
}

int sts_saml_read(saml_doc *d, const char *b64, const char **why) {
  unsigned char *xml = NULL;
  size_t len = 0;
  memset(d, 0, sizeof(*d));
  if (codec_base64_decode(&xml, &len, b64, strlen(b64)) != 0) {
    *why = "Invalid base64 SAMLResponse";
    return -1;
  }
  XML_Parser p = XML_ParserCreateNS(NULL, ' ');
  int ok = 0;
  if (p) {
    XML_SetUserData(p, d);
    XML_SetElementHandler(p, saml_start, saml_end);
    XML_SetCharacterDataHandler(p, saml_text);
    ok = XML_Parse(p, (const char *)xml, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
  }
  free(xml);
  if (!ok || !d->saw_assertion) {
    *why = ok ? "Invalid SAML response: it holds no SAML 2.0 Assertion"
              : "Invalid SAML response: the assertion is not well-formed XML";
    return -1;
  }
  trim(d->issuer);
  trim(d->name_id);
  trim(d->audience);
  trim(d->session);
  trim(d->source);
  for (size_t i = 0; i < d->tags; i++)
    trim(d->tag_values[i]);
  for (size_t i = 0; i < d->transitive_count; i++)
    trim(d->transitive[i]);
  return 0;
}

/* A SourceIdentity as AWS takes one: 2-64 characters of [\w+=,.@-]. */
static int source_identity_ok(const char *s, size_t n) {
  return n >= 2 && n <= 64 &&
         strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") == n;
}

/* The session a SAML assertion or web-identity token starts: its tags,
 * transitive keys and source identity (all taken), or NULL in *out when it
 * has none. -1 with bad in *why when bad is set (or out of memory). */
static int session_make(json_t **out, const char **why, const char *bad, json_t *tags, json_t *keys,
                        json_t *source) {
  json_t *session = bad ? NULL : json_object();
  if (!session || !tags || !keys) {
    json_decref(session);
    json_decref(tags);
    json_decref(keys);
    json_decref(source);
    *why = bad;
    return -1;
  }
  if (json_array_size(tags))
    json_object_set(session, "Tags", tags);
  if (json_array_size(keys))
    json_object_set(session, "TransitiveTagKeys", keys);
  if (source)
    json_object_set_new(session, "SourceIdentity", source);
  json_decref(tags);
  json_decref(keys);
  if (!json_object_size(session)) {
    json_decref(session);
    session = NULL;
  }
  *out = session;
  return 0;
}

int sts_saml_session(const saml_doc *d, json_t **out, const char **why) {
  const char *bad = NULL;
  size_t sn = strlen(d->source);
  if (sn && !source_identity_ok(d->source, sn))
    bad = "SourceIdentity must be 2-64 characters of [\\w+=,.@-]";
  if (d->too_many)
    bad = "at most 50 PrincipalTag attributes and 50 TransitiveTagKeys values are allowed";
  json_t *tags = json_array(), *keys = json_array();
  for (size_t i = 0; i < d->tags; i++) {
    if (strlen(d->tag_keys[i]) > 128 || strlen(d->tag_values[i]) > 256)
      bad = "a PrincipalTag key has at most 128 characters, its value at most 256";
    for (size_t j = 0; j < i; j++)
      if (!strcasecmp(d->tag_keys[i], d->tag_keys[j]))
        bad = "PrincipalTag keys are case-insensitive and may not repeat";
    json_array_append_new(
        tags, json_pack("{s:s, s:s}", "Key", d->tag_keys[i], "Value", d->tag_values[i]));
  }
  for (size_t i = 0; i < d->transitive_count; i++) {
    int tagged = 0;
    for (size_t j = 0; j < d->tags; j++)
      tagged |= !strcasecmp(d->transitive[i], d->tag_keys[j]);
    if (!tagged)
      bad = "each TransitiveTagKeys value names a PrincipalTag attribute";
    json_array_append_new(keys, json_string(d->transitive[i]));
  }
  return session_make(out, why, bad, tags, keys, sn ? json_string(d->source) : NULL);
}

/* arn:<partition>:iam:…:saml-provider/<name>; *name_out points into arn.
 * What stands for the account is not checked: no provider is looked up (as
 * with roles IAM does not know, the assertion is trusted), so the
 * arn:aws:iam:<account>:saml-provider/… of LocalStack's and moto's fixtures
 * passes too. */
static int principal_arn(aws_call *call, const char *arn, const char **name_out) {
  char partition[16];
  int used = 0;
  size_t n = arn ? strlen(arn) : 0;
  const char *at = NULL;
  if (n >= 20 && n <= 2048 && sscanf(arn, "arn:%15[a-z-]:iam:%n", partition, &used) == 1 &&
      used > 0)
    at = strstr(arn + used - 1, ":saml-provider/");
  if (!at || !at[15] || strchr(at + 15, ':')) {
    aws_call_fail(call, 400, "ValidationError",
                  "%.200s is invalid: PrincipalArn must be a SAML provider ARN "
                  "(arn:aws:iam::<account>:saml-provider/<name>)",
                  arn ? arn : "");
    return -1;
  }
  *name_out = at + 15;
  return 0;
}

void sts_assume_role_with_saml(aws_call *call, json_t *input) {
  const char *role_arn = jsonutil_string(input, "RoleArn");
  const char *principal = jsonutil_string(input, "PrincipalArn");
  const char *assertion = jsonutil_string(input, "SAMLAssertion");
  const char *provider = NULL;
  char account[13], partition[16];
  saml_doc *d = NULL;
  json_t *context = NULL;
  if (sts_role_arn(call, role_arn, account, partition) < 0 ||
      principal_arn(call, principal, &provider) < 0 || sts_check_policy(call, input) < 0)
    return;
  size_t alen = assertion ? strlen(assertion) : 0;
  if (alen < 4 || alen > 100000) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy "
                  "constraint: Member must have length between 4 and 100000");
    return;
  }
  long duration = sts_duration(call, input, 3600, STS_ROLE_MAX_DURATION);
  if (duration < 0)
    return;
  d = malloc(sizeof(*d));
  if (!d) {
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return;
  }
  const char *why = NULL;
  if (sts_saml_read(d, assertion, &why) < 0) {
    aws_call_fail(call, 0, "InvalidIdentityTokenException", "%s", why);
    goto cleanup;
  }
  if (!d->session[0]) {
    aws_call_fail(call, 0, "InvalidIdentityTokenException",
                  "RoleSessionName is required in AuthnResponse (attribute %s)",
                  SAML_ROLE_SESSION_NAME);
    goto cleanup;
  }
  if (!d->name_id[0]) {
    aws_call_fail(call, 0, "InvalidIdentityTokenException",
                  "Subject (NameID) is required in AuthnResponse");
    goto cleanup;
  }
  if (sts_check_session_name(call, "roleSessionName", d->session) < 0)
    goto cleanup;
  if (sts_saml_session(d, &context, &why) < 0) {
    if (why)
      aws_call_fail(call, 0, "InvalidIdentityTokenException", "Invalid SAML attributes: %s", why);
    else
      aws_call_fail(call, 500, "InternalFailure", "out of memory");
    goto cleanup;
  }
  /* The session ends at the assertion's SessionNotOnOrAfter when that comes
   * first (one that has passed is not held against it: nothing checks an
   * assertion's times here, as nothing checks its signature). */
  double not_after = 0;
  time_t now = time(NULL);
  if (d->not_after[0] && aws_timestamp_parse(&not_after, d->not_after) == 0 &&
      not_after > (double)now && not_after < (double)(now + duration))
    duration = (long)(not_after - (double)now);
  /* NameQualifier: BASE64(SHA1(Issuer + account + "/" + provider name)), as
   * AWS documents it, so a user is identified the same way across calls. */
  size_t qlen = strlen(d->issuer) + 12 + 1 + strlen(provider);
  char *q = malloc(qlen + 1);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (!q) {
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    goto cleanup;
  }
  snprintf(q, qlen + 1, "%s%s/%s", d->issuer, account, provider);
  EVP_Digest(q, qlen, digest, &dlen, EVP_sha1(), NULL);
  free(q);
  char *qualifier = codec_base64_encode(digest, dlen);
  const char *type = d->format;
  if (!strcmp(type, "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"))
    type = "transient";
  else if (!strcmp(type, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"))
    type = "persistent";
  else if (!type[0])
    type = "unspecified";
  json_t *extra = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Subject", d->name_id, "SubjectType", type,
                            "Issuer", d->issuer, "Audience",
                            d->audience[0] ? d->audience : "https://signin.aws.amazon.com/saml",
                            "NameQualifier", qualifier ? qualifier : "");
  free(qualifier);
  if (!extra) {
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    goto cleanup;
  }
  if (json_object_get(context, "SourceIdentity"))
    json_object_set(extra, "SourceIdentity", json_object_get(context, "SourceIdentity"));
  if (sts_packed_size(call, input, 0, json_object_get(context, "Tags"), extra) < 0) {
    json_decref(extra);
    goto cleanup;
  }
  sts_reply_assumed(call, role_arn, account, partition, d->session, duration, extra, context);
  context = NULL; /* taken */
cleanup:
  json_decref(context);
  free(d);
}

/* ---- web identity (OpenID Connect JWTs) ---- */

json_t *sts_jwt_payload(const char *token) {
  const char *dot1 = strchr(token, '.');
  const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  if (!dot1 || !dot2 || dot1 == token || dot2 == dot1 + 1 || strchr(dot2 + 1, '.'))
    return NULL;
  size_t n = (size_t)(dot2 - dot1 - 1);
  char *b64 = malloc(n + 4);
  if (!b64)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    char c = dot1[1 + i];
    b64[i] = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (n % 4)
    b64[n++] = '=';
  unsigned char *raw = NULL;
  size_t len = 0;
  json_t *payload = NULL;
  if (codec_base64_decode(&raw, &len, b64, n) == 0)
    payload = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
  free(b64);
  free(raw);
  if (!json_is_object(payload)) {
    json_decref(payload);
    return NULL;
  }
  return payload;
}

int sts_jwt_session(const json_t *claims, json_t **out, const char **why) {
  const json_t *source = json_object_get(claims, "https://aws.amazon.com/source_identity");
  const json_t *tags_claim = json_object_get(claims, "https://aws.amazon.com/tags");
  const json_t *principal = json_object_get(tags_claim, "principal_tags");
  const json_t *transitive = json_object_get(tags_claim, "transitive_tag_keys");
  const char *bad = NULL;
  size_t sn = json_string_length(source);
  if (source && (!json_is_string(source) || !source_identity_ok(json_string_value(source), sn)))
    bad = "source_identity must be 2-64 characters of [\\w+=,.@-]";
  if (tags_claim && (!json_is_object(tags_claim) || (principal && !json_is_object(principal)) ||
                     (transitive && !json_is_array(transitive)) ||
                     json_object_size(principal) > 50 || json_array_size(transitive) > 50))
    bad = "the tags claim must be {\"principal_tags\": {key: [value]}, "
          "\"transitive_tag_keys\": [key]} with at most 50 of each";
  json_t *tags = json_array(), *keys = json_array();
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)principal, key, value) {
    const json_t *v =
        json_is_array(value) && json_array_size(value) == 1 ? json_array_get(value, 0) : value;
    if (!json_is_string(v) || !*key || strlen(key) > 128 || json_string_length(v) > 256)
      bad = "each principal tag is a key of 1-128 characters and one value of at most 256";
    else
      json_array_append_new(tags, json_pack("{s:s, s:O}", "Key", key, "Value", v));
  }
  size_t i;
  json_array_foreach(transitive, i, value) {
    if (!json_is_string(value) || !json_object_get(principal, json_string_value(value)))
      bad = "each transitive tag key names one of the principal tags";
    else
      json_array_append(keys, value);
  }
  return session_make(out, why, bad, tags, keys, source ? json_incref((json_t *)source) : NULL);
}

void sts_assume_role_with_web_identity(aws_call *call, json_t *input) {
  const char *role_arn = jsonutil_string(input, "RoleArn");
  const char *session = jsonutil_string(input, "RoleSessionName");
  const char *token = jsonutil_string(input, "WebIdentityToken");
  const char *provider_id = jsonutil_string(input, "ProviderId");
  char account[13], partition[16];
  if (sts_role_arn(call, role_arn, account, partition) < 0 ||
      sts_check_session_name(call, "roleSessionName", session) < 0 ||
      sts_check_policy(call, input) < 0)
    return;
  size_t tlen = token ? strlen(token) : 0;
  if (tlen < 4 || tlen > 20000) {
    aws_call_fail(call, 400, "ValidationError",
                  "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
                  "constraint: Member must have length between 4 and 20000");
    return;
  }
  long duration = sts_duration(call, input, 3600, STS_ROLE_MAX_DURATION);
  if (duration < 0)
    return;
  json_t *claims = sts_jwt_payload(token);
  const char *sub = jsonutil_string(claims, "sub");
  const char *iss = jsonutil_string(claims, "iss");
  json_t *aud = json_object_get(claims, "aud");
  const char *audience =
      json_is_array(aud) ? json_string_value(json_array_get(aud, 0)) : json_string_value(aud);
  if (!sub || !iss || !audience) {
    aws_call_fail(call, 0, "InvalidIdentityTokenException",
                  "The web identity token that was passed could not be validated by AWS: %s",
                  claims ? "it must carry the sub, aud and iss claims"
                         : "it is not a JWT (three base64url parts, a JSON payload)");
    json_decref(claims);
    return;
  }
  json_t *exp = json_object_get(claims, "exp");
  time_t now = time(NULL);
  if (json_is_number(exp) && json_number_value(exp) < (double)now) {
    aws_call_fail(call, 0, "ExpiredTokenException",
                  "Token expired: current date/time %lld must be before the expiration date/time "
                  "%lld",
                  (long long)now, (long long)json_number_value(exp));
    json_decref(claims);
    return;
  }
  /* Provider: the ProviderId of OAuth 2.0 providers; for OpenID Connect the
   * IAM OIDC provider's ARN, named after the issuer without its scheme. */
  char *provider = NULL;
  if (provider_id) {
    provider = strdup(provider_id);
  } else {
    const char *host = strstr(iss, "://") ? strstr(iss, "://") + 3 : iss;
    size_t n = strlen(host) + 64;
    provider = malloc(n);
    if (provider)
      snprintf(provider, n, "arn:%s:iam::%s:oidc-provider/%s", partition, account, host);
  }
  json_t *context = NULL;
  const char *why = NULL;
  if (sts_jwt_session(claims, &context, &why) < 0) {
    if (why)
      aws_call_fail(call, 0, "InvalidIdentityTokenException",
                    "The web identity token's claims are invalid: %s", why);
    else
      aws_call_fail(call, 500, "InternalFailure", "out of memory");
    free(provider);
    json_decref(claims);
    return;
  }
  json_t *extra = provider ? json_pack("{s:s, s:s, s:s}", "SubjectFromWebIdentityToken", sub,
                                       "Provider", provider, "Audience", audience)
                           : NULL;
  free(provider);
  json_decref(claims);
  if (!extra) {
    json_decref(context);
    aws_call_fail(call, 500, "InternalFailure", "out of memory");
    return;
  }
  if (json_object_get(context, "SourceIdentity"))
    json_object_set(extra, "SourceIdentity", json_object_get(context, "SourceIdentity"));
  /* The token's tags take room in the packed policy, as request tags do. */
  if (sts_packed_size(call, input, 0, json_object_get(context, "Tags"), extra) < 0) {
    json_decref(extra);
    json_decref(context);
    return;
  }
  sts_reply_assumed(call, role_arn, account, partition, session, duration, extra, context);
}
