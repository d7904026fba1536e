/*
 * sns.h — what SNS shares with the emulator's other services: whether a
 * topic exists (S3 validates its notification destinations with it).
 * Everything else of the service is private to emulator/sns/ (sns_int.h).
 *
 * Thread safety: may be called from any thread.
 */
#ifndef AIRGAP_EMULATOR_SNS_H
#define AIRGAP_EMULATOR_SNS_H

typedef struct emulator emulator;

/* 1 when SNS runs in emu and has a topic of this ARN, else 0. */
int sns_topic_exists(emulator *emu, const char *topic_arn);

#endif
