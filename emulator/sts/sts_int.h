/*
 * sts_int.h — private to emulator/sts/: what sts.c (the account-side
 * operations and the service table) shares with federated.c (the identity
 * provider operations, AssumeRoleWithSAML and AssumeRoleWithWebIdentity).
 */
#ifndef AIRGAP_EMULATOR_STS_INT_H
#define AIRGAP_EMULATOR_STS_INT_H

#include "emulator/service.h"

#include <jansson.h>

#define STS_MIN_DURATION 900
#define STS_ROLE_MAX_DURATION 43200     /* AssumeRole* */
#define STS_SESSION_MAX_DURATION 129600 /* GetSessionToken, GetFederationToken */
#define STS_ROOT_MAX_DURATION 3600      /* the same, asked with the root's keys */
#define STS_CHAINED_MAX_DURATION 3600   /* a role session assuming a role */
#define STS_MAX_POLICY 2048             /* an inline session policy, in characters */
/* The pattern of STS's free-text members (roleArn, …), as AWS quotes it. */
#define STS_TEXT_PATTERN                                                                           \
  "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"

/* Checks a member's text against its model constraints as AWS words the
 * failures ("N validation error(s) detected: Value '…' at '<member>' failed
 * to satisfy constraint: Member must satisfy regular expression pattern:
 * <pattern>; … Member must have length …", "Value null … must not be null"):
 * lengths [lo, hi] in code points; allowed lists the ASCII characters the
 * pattern admits besides letters and digits (a leading \1: any non-ASCII
 * character too, for \p{L} patterns), NULL the free-text class of ARNs,
 * STS_LATIN1 the class of policies (tab, LF, CR, U+0020-U+00FF).
 * Returns 0, or -1 after answering ValidationError (session.c). */
#define STS_LATIN1 "\2"
int sts_check_text(aws_call *call, const char *member, const char *value, size_t lo, size_t hi,
                   const char *allowed, const char *pattern);

/* DurationSeconds of input, dflt when absent; answers ValidationError and
 * returns -1 when outside [900, max]. */
long sts_duration(aws_call *call, json_t *input, long dflt, long max);

/* Checks the optional Policy (at most 2048 characters of JSON with a policy's
 * grammar) and PolicyArns (at most 10 policy ARNs); answers the error AWS
 * gives and returns -1 (session.c). */
int sts_check_policy(aws_call *call, json_t *input);

/* Checks the optional Tags, TransitiveTagKeys, ExternalId, SourceIdentity,
 * SerialNumber and TokenCode members; answers ValidationError and returns -1
 * (session.c). */
int sts_check_session(aws_call *call, json_t *input);

/* When input has a Policy, PolicyArns or Tags, or inherited holds tags (the
 * transitive tags a chained session carries in; may be NULL), sets out's
 * PackedPolicySize (percent of the packed limit); answers
 * PackedPolicyTooLarge and returns -1 past 100% (session.c). With always set
 * (GetFederationToken, which AWS answers with PackedPolicySize 0 when there
 * is nothing to pack), sets it either way. */
int sts_packed_size(aws_call *call, json_t *input, int always, const json_t *inherited,
                    json_t *out);

/* The session an AssumeRole call makes, from the caller's session (the
 * "Session" of its issued identity: caller may be NULL) and the request's
 * Tags, TransitiveTagKeys and SourceIdentity, as AWS chains sessions: the
 * caller's transitive tags and keys and its source identity carry over, a
 * request tag may not set a carried key again (InvalidParameterValue), nor
 * may a request change the source identity (ValidationError). *out (owned:
 * {"Tags", "TransitiveTagKeys", "SourceIdentity", "Carried": the tags carried
 * over}, NULL when empty) and
 * *inherited (borrowed from *out: the carried tags, NULL when none) are set
 * on success; -1 after answering the error (session.c). */
int sts_chain_session(aws_call *call, json_t *input, const json_t *caller, json_t **out,
                      const json_t **inherited);

/* Checks RoleArn (20-2048 characters, arn:<partition>:<service>:<region>:
 * <12 digits or empty>:role/<name>) and writes its account (the caller's when
 * empty) and partition; answers ValidationError and returns -1. */
int sts_role_arn(aws_call *call, const char *arn, char account[13], char partition[16]);

/* Checks a session name (2-64 of [\w+=,.@-]) for the named member. */
int sts_check_session_name(aws_call *call, const char *member, const char *name);

/* Answers an assumed-role request: new credentials for duration seconds
 * acting as role_arn's role (account, partition from sts_role_arn) under
 * session, remembered by the emulator with context (owned, may be NULL: what
 * sts_chain_session made); extra (owned, may be NULL) holds
 * operation-specific members merged into the output. */
void sts_reply_assumed(aws_call *call, const char *role_arn, const char *account,
                       const char *partition, const char *session, long duration, json_t *extra,
                       json_t *context);

/* ---- the identity providers' documents (federated.c), read without a call
 * so that tests/fuzz/fuzz_sts_documents.c can drive them ---- */

#define SAML_NS "urn:oasis:names:tc:SAML:2.0:assertion"
#define SAML_ATTRIBUTES "https://aws.amazon.com/SAML/Attributes/"
#define SAML_ROLE_SESSION_NAME SAML_ATTRIBUTES "RoleSessionName"
#define SAML_FIELD 1024  /* each value read from an assertion, in bytes */
#define SAML_MAX_TAGS 50 /* session tags (and transitive keys), as AssumeRole's */

/* What an assertion says, as read by the expat callbacks. */
typedef struct saml_doc {
  int depth;
  char issuer[SAML_FIELD], name_id[SAML_FIELD], format[SAML_FIELD];
  char audience[SAML_FIELD], session[SAML_FIELD], source[SAML_FIELD];
  char not_after[64]; /* AuthnStatement's SessionNotOnOrAfter */
  /* PrincipalTag:<key> attributes and the TransitiveTagKeys values. */
  char tag_keys[SAML_MAX_TAGS][SAML_FIELD], tag_values[SAML_MAX_TAGS][SAML_FIELD];
  char transitive[SAML_MAX_TAGS][SAML_FIELD];
  size_t tags, transitive_count, too_many;
  char *text; /* the buffer the current element's text goes to, or NULL */
  size_t text_len;
  /* Which AWS attribute the element is inside of (its values are read). */
  enum { SAML_OTHER, SAML_SESSION, SAML_SOURCE, SAML_TAG, SAML_TRANSITIVE } attribute;
  int saw_assertion;
} saml_doc;

/* Decodes and parses a base64 SAML response or assertion into d (expat,
 * namespace-aware, no DTDs or external entities; every value bounded by
 * SAML_FIELD, tags by SAML_MAX_TAGS). 0, or -1 with *why saying what is
 * wrong (a static string). */
int sts_saml_read(saml_doc *d, const char *b64, const char **why);
/* The session an assertion asks for (sts_chain_session's form; owned, NULL
 * when none) from its SourceIdentity, PrincipalTag:<key> and
 * TransitiveTagKeys attributes. 0, or -1 with *why (static; NULL when out of
 * memory). */
int sts_saml_session(const saml_doc *d, json_t **out, const char **why);
/* The JSON payload of a JWT (header.payload.signature, base64url): an owned
 * object, or NULL when token is not one. */
json_t *sts_jwt_payload(const char *token);
/* The session a token's claims ask for (https://aws.amazon.com/source_identity,
 * https://aws.amazon.com/tags), as sts_saml_session. */
int sts_jwt_session(const json_t *claims, json_t **out, const char **why);

void sts_assume_role_with_saml(aws_call *call, json_t *input);
void sts_assume_role_with_web_identity(aws_call *call, json_t *input);

#endif
