/*
 * sigv4.h — private to emulator/: verification of AWS request signatures
 * (SigV4 and SigV2, in the Authorization header or a presigned URL's query),
 * used by the gateway when signature checks are switched on
 * (emulator_options.s3_verify_signatures). Not part of the public API.
 */
#ifndef AIRGAP_EMULATOR_SIGV4_H
#define AIRGAP_EMULATOR_SIGV4_H

#include "emulator/protocol/protocol.h"

typedef struct emulator emulator;

/* Verifies the signature of an S3 request. in->path is the path as the client
 * sent it (before any virtual-host rewrite); vhost_path is that rewrite
 * ("/<bucket>" + path, from aws_s3_vhost_path) or NULL, since SigV2 signs
 * "/bucket/key". An unsigned request passes
 * (it is anonymous; access control decides). The secret of every access key
 * is "test" (LocalStack's test credentials); keys STS issued are accepted as
 * signed, since the credential table keeps no secret. Returns 0, or
 * AIRGAP_EINVALID with the S3 error in err (AuthorizationHeaderMalformed,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied "Request has
 * expired", AuthorizationQueryParametersError). now: seconds since the epoch. */
int emulator_sigv4_verify(aws_error *err, emulator *emu, const aws_http_in *in,
                          const char *vhost_path, double now);

/* 1 when the emulator verifies signatures (services that check signatures of
 * their own, such as S3's POST forms, ask). */
int emulator_sigv4_enabled(const emulator *emu);

/* 1 when the emulator evaluates S3 access control (emulator_options
 * s3_enforce_access); here beside the signature switch, S3's other strict
 * mode, since services cannot read the emulator's options. */
int emulator_s3_enforce_access(const emulator *emu);

/* aws-chunked bodies signed chunk by chunk (x-amz-content-sha256:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): each chunk's signature
 * chains from the previous one, the first from the Authorization header's. */
typedef struct emulator_chunk_signer {
  unsigned char key[32]; /* the request's signing key */
  char scope[160];       /* date/region/service/aws4_request */
  char amz_date[17];
  char prev[65]; /* the previous signature (hex) */
} emulator_chunk_signer;

/* Prepares *out from a request's Authorization and x-amz-date headers.
 * Returns 1 when chunk signatures must be checked (signature checks on, a
 * SigV4 header, a known secret), else 0 (*out untouched). */
int emulator_sigv4_chunk_signer(emulator_chunk_signer *out, emulator *emu,
                                const char *authorization, const char *amz_date);
/* Checks the signature (64 hex digits) of the next chunk, whose data hashes
 * to sha256, or of the trailer (trailer 1: sha256 of its "name:value\n"
 * lines); advances the chain. 1 when it matches, 0 otherwise. */
int emulator_sigv4_chunk_check(emulator_chunk_signer *s, int trailer,
                               const unsigned char sha256[32], const char *signature);

/* Verifies the signature of an S3 POST form's policy (the base64 text as
 * sent): SigV4 when credential ("AK/date/region/service/aws4_request") is
 * given, else SigV2 with access_key. Returns 0, or AIRGAP_EINVALID with
 * SignatureDoesNotMatch or InvalidArgument in err. */
int emulator_sigv4_policy_verify(aws_error *err, emulator *emu, const char *policy,
                                 const char *credential, const char *access_key,
                                 const char *signature);

#endif
