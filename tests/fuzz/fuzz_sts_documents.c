/*
 * fuzz_sts_documents.c — fuzz target for the identity-provider documents STS
 * reads from any client (emulator/sts/federated.c): the SAML assertion of
 * AssumeRoleWithSAML (base64 XML, read with expat into bounded fields, its
 * session attributes turned into a session) and the JWT of
 * AssumeRoleWithWebIdentity (its payload and session claims).
 *
 * The first byte picks the reader: even, the rest is the assertion's XML
 * (base64-encoded here, as clients send it); odd, the rest is a JWT payload
 * (wrapped into header.payload.signature), and the rest is also tried as a
 * whole token. Readers must accept or refuse with a reason, never crash,
 * and what they accept must be a well-formed session. With clang and
 * -DAIRGAP_LIBFUZZER it is a libFuzzer target; otherwise fuzz_driver.c runs
 * the seeds below and deterministic mutations briefly.
 */
#include "common/codec.h"
#include "emulator/sts/sts_int.h"
#include "tests/fuzz/fuzz_driver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A session must be NULL or {"Tags": [{Key, Value}], "TransitiveTagKeys":
 * [strings], "SourceIdentity": string}, with nothing else. */
static void check_session(const json_t *session) {
  if (!session)
    return;
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)session, key, value) {
    if (!strcmp(key, "SourceIdentity")                              ? !json_is_string(value)
        : !strcmp(key, "Tags") || !strcmp(key, "TransitiveTagKeys") ? !json_is_array(value)
                                                                    : 1)
      abort();
  }
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(session, "Tags"), i, t) {
    if (!json_is_string(json_object_get(t, "Key")) || !json_is_string(json_object_get(t, "Value")))
      abort();
  }
}

static void saml(const uint8_t *data, size_t size) {
  char *b64 = codec_base64_encode(data, size);
  saml_doc *d = malloc(sizeof(*d));
  if (!b64 || !d)
    abort();
  const char *why = NULL;
  if (sts_saml_read(d, b64, &why) < 0) {
    if (!why)
      abort();
  } else {
    json_t *session = NULL;
    why = NULL;
    if (sts_saml_session(d, &session, &why) < 0 && !why)
      abort();
    check_session(session);
    json_decref(session);
  }
  free(d);
  free(b64);
}

static void jwt(const char *token) {
  json_t *claims = sts_jwt_payload(token);
  if (!claims)
    return;
  if (!json_is_object(claims))
    abort();
  json_t *session = NULL;
  const char *why = NULL;
  if (sts_jwt_session(claims, &session, &why) < 0 && !why)
    abort();
  check_session(session);
  json_decref(session);
  json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  if (data[0] % 2 == 0) {
    saml(data + 1, size - 1);
    return 0;
  }
  char *payload = codec_base64_encode(data + 1, size - 1);
  char *raw = malloc(size);
  if (!payload || !raw)
    abort();
  /* base64 to base64url, unpadded, between a header and a signature. */
  size_t n = strlen(payload);
  while (n && payload[n - 1] == '=')
    payload[--n] = '\0';
  for (size_t i = 0; i < n; i++)
    payload[i] = payload[i] == '+' ? '-' : payload[i] == '/' ? '_' : payload[i];
  char *token = malloc(n + 16);
  if (!token)
    abort();
  memcpy(token, "eyJ9.", 5);
  memcpy(token + 5, payload, n);
  memcpy(token + 5 + n, ".c2ln", 6);
  jwt(token);
  memcpy(raw, data + 1, size - 1);
  raw[size - 1] = '\0';
  jwt(raw);
  free(token);
  free(raw);
  free(payload);
  return 0;
}

const char fuzz_target_name[] = "fuzz_sts_documents";
const fuzz_seed fuzz_alphabet = FUZZ_LITERAL("<>/=\":{}[],'&;");
const int fuzz_mutations_per_seed = 3000;

const fuzz_seed fuzz_seeds[] = {
    FUZZ_LITERAL("\x00<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                 "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"><saml:Assertion>"
                 "<saml:Issuer>https://idp</saml:Issuer><saml:Subject><saml:NameID Format=\"x\">"
                 "a@b</saml:NameID></saml:Subject><saml:AuthnStatement "
                 "SessionNotOnOrAfter=\"2030-01-01T00:00:00Z\"/><saml:AttributeStatement>"
                 "<saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/"
                 "RoleSessionName\"><saml:AttributeValue>alice</saml:AttributeValue>"
                 "</saml:Attribute><saml:Attribute Name=\"https://aws.amazon.com/SAML/"
                 "Attributes/PrincipalTag:Dept\"><saml:AttributeValue>sales</saml:AttributeValue>"
                 "</saml:Attribute><saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/"
                 "TransitiveTagKeys\"><saml:AttributeValue>Dept</saml:AttributeValue>"
                 "</saml:Attribute><saml:Attribute Name=\"https://aws.amazon.com/SAML/Attributes/"
                 "SourceIdentity\"><saml:AttributeValue>alice</saml:AttributeValue>"
                 "</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"),
    FUZZ_LITERAL("\x01{\"sub\":\"u\",\"aud\":[\"a\"],\"iss\":\"https://i\",\"exp\":1e12,"
                 "\"https://aws.amazon.com/source_identity\":\"alice\","
                 "\"https://aws.amazon.com/tags\":{\"principal_tags\":{\"k\":[\"v\"],\"j\":\"w\"},"
                 "\"transitive_tag_keys\":[\"k\"]}}"),
    FUZZ_LITERAL("\x03eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.c2ln"),
};
const size_t fuzz_seed_count = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
