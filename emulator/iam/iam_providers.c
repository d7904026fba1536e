/*
 * iam_providers.c — identity providers: OpenID Connect providers (URL, client
 * ids, thumbprints) and SAML providers (the metadata document as sent), with
 * tags. STS's AssumeRoleWithWebIdentity and AssumeRoleWithSAML name them by
 * these ARNs.
 *
 * SAML metadata is read with expat for well-formedness and its validUntil
 * attribute (AWS refuses metadata it cannot parse); nothing is fetched or
 * verified, as everywhere in the emulator's air gap.
 */
#include "common/jsonutil.h"
#include "emulator/iam/iam_int.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAML_DEFAULT_VALIDITY (100.0 * 365 * 86400) /* AWS: 100 years when unspecified */

static json_t *by_arn(iam_ctx *c, const char *map, json_t *input, const char *member) {
  const char *arn = jsonutil_string(input, member);
  json_t *rec = arn ? json_object_get(iam_map(c, map), arn) : NULL;
  if (!rec) {
    if (!strcmp(map, "oidc"))
      iam_no_entity(c, "OpenIDConnect Provider not found for arn %.2048s", arn ? arn : "");
    else
      iam_no_entity(c, "Manifest not found for arn %.2048s", arn ? arn : "");
  }
  return rec;
}

/* ---- OpenID Connect ---- */

static int check_thumbprints(iam_ctx *c, json_t *list) {
  if (json_array_size(list) > 5) {
    iam_fail(c, 400, "InvalidInput", "Thumbprint list must contain fewer than 5 entries.");
    return -1;
  }
  size_t i;
  json_t *t;
  json_array_foreach(list, i, t) {
    const char *s = json_string_value(t);
    if (!s || strlen(s) != 40 || strspn(s, "0123456789abcdefABCDEF") != 40) {
      iam_fail(c, 400, "ValidationError",
               "1 validation error detected: Value '%.64s' at 'thumbprintList.%zu.member' failed "
               "to satisfy constraint: Member must have length 40",
               s ? s : "", i + 1);
      return -1;
    }
  }
  return 0;
}

static int check_client_id(iam_ctx *c, const char *id) {
  if (!id || !*id || strlen(id) > 255) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'clientID' failed to satisfy constraint: "
             "Member must have length between 1 and 255");
    return -1;
  }
  return 0;
}

IAM_HANDLER(iam_create_oidc_provider) {
  const char *url = jsonutil_string(input, "Url");
  size_t n = url ? strlen(url) : 0;
  if (n < 9 || n > 255 || strncmp(url, "https://", 8) != 0 || strpbrk(url, " \t\r\n"))
    return iam_fail(c, 400, "ValidationError", "Invalid Open ID Connect Provider URL");
  json_t *clients = json_object_get(input, "ClientIDList");
  json_t *thumbs = json_object_get(input, "ThumbprintList");
  if (json_array_size(clients) > 100)
    return iam_fail(c, 400, "LimitExceeded",
                    "Cannot exceed quota for ClientIdsPerOpenIdConnect"
                    "Provider: 100");
  size_t i;
  json_t *id;
  json_array_foreach(clients, i, id) {
    if (check_client_id(c, json_string_value(id)) < 0)
      return NULL;
  }
  if (check_thumbprints(c, thumbs) < 0)
    return NULL;
  /* AWS stores the URL without its scheme and a trailing slash. */
  char host[256];
  snprintf(host, sizeof(host), "%s", url + 8);
  size_t hn = strlen(host);
  if (hn && host[hn - 1] == '/')
    host[hn - 1] = '\0';
  char *arn = iam_arn(c, "oidc-provider/", "", host);
  json_t *map = iam_map(c, "oidc");
  if (!arn || json_object_get(map, arn)) {
    free(arn);
    return iam_fail(c, 409, "EntityAlreadyExists", "Provider with url %s already exists.", url);
  }
  json_t *rec = json_pack("{s:s, s:o, s:o, s:f}", "Url", host, "ClientIDList",
                          clients ? json_copy(clients) : json_array(), "ThumbprintList",
                          thumbs ? json_copy(thumbs) : json_array(), "CreateDate", iam_now());
  if (iam_tags_merge(c, rec, input) < 0) {
    free(arn);
    json_decref(rec);
    return NULL;
  }
  json_object_set_new(map, arn, rec);
  json_t *out = json_pack("{s:s}", "OpenIDConnectProviderArn", arn);
  if (json_object_get(rec, "Tags"))
    json_object_set(out, "Tags", json_object_get(rec, "Tags"));
  free(arn);
  return out;
}

IAM_HANDLER(iam_get_oidc_provider) {
  json_t *rec = by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
  return rec ? iam_public(rec) : NULL;
}

IAM_HANDLER(iam_delete_oidc_provider) {
  json_t *rec = by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
  if (rec)
    json_object_del(iam_map(c, "oidc"), jsonutil_string(input, "OpenIDConnectProviderArn"));
  return NULL;
}

IAM_HANDLER(iam_list_oidc_providers) {
  (void)input;
  json_t *list = json_array();
  const char *arn;
  json_t *rec;
  json_object_foreach(iam_map(c, "oidc"), arn, rec) {
    json_array_append_new(list, json_pack("{s:s}", "Arn", arn));
  }
  return json_pack("{s:o}", "OpenIDConnectProviderList", list);
}

static int client_at(const json_t *rec, const char *id) {
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(rec, "ClientIDList"), i, e) {
    if (!strcmp(json_string_value(e), id))
      return (int)i + 1;
  }
  return 0;
}

IAM_HANDLER(iam_add_client_id) {
  json_t *rec = by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
  const char *id = jsonutil_string(input, "ClientID");
  if (!rec || check_client_id(c, id) < 0 || client_at(rec, id))
    return NULL;
  json_array_append_new(json_object_get(rec, "ClientIDList"), json_string(id));
  return NULL;
}

IAM_HANDLER(iam_remove_client_id) {
  json_t *rec = by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
  const char *id = jsonutil_string(input, "ClientID");
  if (!rec || check_client_id(c, id) < 0)
    return NULL;
  int at = client_at(rec, id);
  if (at) /* removing an id that is not there succeeds, as in AWS */
    json_array_remove(json_object_get(rec, "ClientIDList"), (size_t)at - 1);
  return NULL;
}

IAM_HANDLER(iam_update_thumbprint) {
  json_t *rec = by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
  json_t *thumbs = json_object_get(input, "ThumbprintList");
  if (rec && check_thumbprints(c, thumbs) == 0)
    json_object_set(rec, "ThumbprintList", thumbs);
  return NULL;
}

/* ---- SAML ---- */

typedef struct saml_meta {
  int depth, entity;
  char valid_until[64];
} saml_meta;

static void XMLCALL meta_start(void *payload, const XML_Char *name, const XML_Char **attrs) {
  saml_meta *m = payload;
  const char *local = strrchr(name, ' ');
  local = local ? local + 1 : name;
  if (m->depth++ == 0 &&
      (!strcmp(local, "EntityDescriptor") || !strcmp(local, "EntitiesDescriptor"))) {
    m->entity = 1;
    for (size_t i = 0; attrs[i]; i += 2)
      if (!strcmp(attrs[i], "validUntil"))
        snprintf(m->valid_until, sizeof(m->valid_until), "%s", attrs[i + 1]);
  }
}

static void XMLCALL meta_end(void *payload, const XML_Char *name) {
  (void)name;
  ((saml_meta *)payload)->depth--;
}

/* Checks SAML metadata (well-formed XML whose root is an EntityDescriptor)
 * and writes when it is valid until. -1 after InvalidInput. */
static int saml_metadata(iam_ctx *c, const char *doc, double *valid_until) {
  size_t n = doc ? strlen(doc) : 0;
  if (n < 1000 || n > 10000000) {
    iam_fail(c, 400, "ValidationError",
             "1 validation error detected: Value at 'sAMLMetadataDocument' failed to satisfy "
             "constraint: Member must have length %s",
             n < 1000 ? "greater than or equal to 1000" : "less than or equal to 10000000");
    return -1;
  }
  saml_meta m = {0};
  XML_Parser p = XML_ParserCreateNS(NULL, ' ');
  int ok = 0;
  if (p) {
    XML_SetUserData(p, &m);
    XML_SetElementHandler(p, meta_start, meta_end);
    ok = XML_Parse(p, doc, (int)n, 1) == XML_STATUS_OK && m.entity;
    XML_ParserFree(p);
  }
  if (!ok) {
    iam_fail(c, 400, "InvalidInput", "Could not parse metadata");
    return -1;
  }
  struct tm tm = {0};
  const char *end = m.valid_until[0] ? strptime(m.valid_until, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  *valid_until = end ? (double)timegm(&tm) : iam_now() + SAML_DEFAULT_VALIDITY;
  return 0;
}

IAM_HANDLER(iam_create_saml_provider) {
  const char *name = jsonutil_string(input, "Name");
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 128 ||
      strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
    return iam_fail(c, 400, "ValidationError",
                    "1 validation error detected: Value '%.128s' at 'name' failed to satisfy "
                    "constraint: Member must satisfy regular expression pattern: [\\w._-]+",
                    name ? name : "");
  const char *doc = jsonutil_string(input, "SAMLMetadataDocument");
  double valid_until = 0;
  if (saml_metadata(c, doc, &valid_until) < 0)
    return NULL;
  char *arn = iam_arn(c, "saml-provider/", "", name);
  json_t *map = iam_map(c, "saml");
  if (json_object_get(map, arn)) {
    free(arn);
    return iam_fail(c, 409, "EntityAlreadyExists", "SAMLProvider named %s already exists", name);
  }
  json_t *rec = json_pack("{s:s, s:f, s:f}", "SAMLMetadataDocument", doc, "CreateDate", iam_now(),
                          "ValidUntil", valid_until);
  if (iam_tags_merge(c, rec, input) < 0) {
    free(arn);
    json_decref(rec);
    return NULL;
  }
  json_object_set_new(map, arn, rec);
  json_t *out = json_pack("{s:s}", "SAMLProviderArn", arn);
  if (json_object_get(rec, "Tags"))
    json_object_set(out, "Tags", json_object_get(rec, "Tags"));
  free(arn);
  return out;
}

IAM_HANDLER(iam_get_saml_provider) {
  json_t *rec = by_arn(c, "saml", input, "SAMLProviderArn");
  return rec ? iam_public(rec) : NULL;
}

IAM_HANDLER(iam_update_saml_provider) {
  json_t *rec = by_arn(c, "saml", input, "SAMLProviderArn");
  const char *doc = jsonutil_string(input, "SAMLMetadataDocument");
  double valid_until = 0;
  if (!rec || saml_metadata(c, doc, &valid_until) < 0)
    return NULL;
  json_object_set_new(rec, "SAMLMetadataDocument", json_string(doc));
  json_object_set_new(rec, "ValidUntil", json_real(valid_until));
  return json_pack("{s:s}", "SAMLProviderArn", jsonutil_string(input, "SAMLProviderArn"));
}

IAM_HANDLER(iam_delete_saml_provider) {
  if (by_arn(c, "saml", input, "SAMLProviderArn"))
    json_object_del(iam_map(c, "saml"), jsonutil_string(input, "SAMLProviderArn"));
  return NULL;
}

IAM_HANDLER(iam_list_saml_providers) {
  (void)input;
  json_t *list = json_array();
  const char *arn;
  json_t *rec;
  json_object_foreach(iam_map(c, "saml"), arn, rec) {
    json_array_append_new(list, json_pack("{s:s, s:O, s:O}", "Arn", arn, "ValidUntil",
                                          json_object_get(rec, "ValidUntil"), "CreateDate",
                                          json_object_get(rec, "CreateDate")));
  }
  return json_pack("{s:o}", "SAMLProviderList", list);
}

/* ---- tags (both kinds; the operation's name says which) ---- */

static json_t *tagged_provider(iam_ctx *c, json_t *input) {
  if (strstr(aws_call_operation(c->call), "SAML"))
    return by_arn(c, "saml", input, "SAMLProviderArn");
  return by_arn(c, "oidc", input, "OpenIDConnectProviderArn");
}

IAM_HANDLER(iam_tag_provider) {
  json_t *rec = tagged_provider(c, input);
  if (rec)
    iam_tags_merge(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_untag_provider) {
  json_t *rec = tagged_provider(c, input);
  if (rec)
    iam_tags_remove(c, rec, input);
  return NULL;
}

IAM_HANDLER(iam_list_provider_tags) {
  json_t *rec = tagged_provider(c, input);
  return rec ? iam_tags_page(c, rec, input) : NULL;
}
