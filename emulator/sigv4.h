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
 * (it is anonymous; access control decides). Keys STS and IAM issued are
 * checked against their own secret (and STS's session token and expiry);
 * AWS-shaped keys (AKIA…/ASIA…) the emulator did not issue are unknown; every
 * other key's secret is "test" (LocalStack's test credentials). Returns 0, or
 * AIRGAP_EINVALID with the S3 error in err (AuthorizationHeaderMalformed,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AccessDenied "Request has
 * expired", AuthorizationQueryParametersError, InvalidAccessKeyId,
 * InvalidToken, ExpiredToken). now: seconds since the epoch. */
int emulator_sigv4_verify(aws_error *err, emulator *emu, const aws_http_in *in,
                          const char *vhost_path, double now);

/* 1 when the emulator verifies signatures (services that check signatures of
 * their own, such as S3's POST forms, ask). */
int emulator_sigv4_enabled(const emulator *emu);

/* 1 when the emulator evaluates S3 access control (emulator_options
 * s3_enforce_access); here beside the signature switch, S3's other strict
 * mode, since services cannot read the emulator's options. */
int emulator_s3_enforce_access(const emulator *emu);

/* Verifies the signature of an S3 POST form's policy (the base64 text as
 * sent): SigV4 when credential ("AK/date/region/service/aws4_request") is
 * given, else SigV2 with access_key. Returns 0, or AIRGAP_EINVALID with
 * SignatureDoesNotMatch or InvalidArgument in err. */
int emulator_sigv4_policy_verify(aws_error *err, emulator *emu, const char *policy,
                                 const char *credential, const char *access_key,
                                 const char *signature);

#endif
