/*
 * iam.h — IAM for the emulator's other services (STS): what a role that IAM
 * knows looks like when it is assumed. Services include this header, never
 * iam_int.h. Thread-safe.
 */
#ifndef AIRGAP_EMULATOR_IAM_H
#define AIRGAP_EMULATOR_IAM_H

typedef struct emulator emulator;

typedef struct iam_role_info {
  char role_id[32];          /* AROA… */
  long max_session_duration; /* seconds */
} iam_role_info;

/* Looks up role `name` of account in this emulator's IAM and records that it
 * was just used from region (GetRole's RoleLastUsed). Returns 0 with *out
 * filled, or -1 when IAM is not served or has no such role (STS then assumes
 * it anyway, as LocalStack does: nothing is enforced). */
int iam_role_assumed(iam_role_info *out, emulator *emu, const char *account, const char *name,
                     const char *region);

#endif
