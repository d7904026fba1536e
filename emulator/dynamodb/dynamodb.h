/*
 * dynamodb.h — what DynamoDB shares with the emulator's other services: its
 * streams, read in process (Lambda's DynamoDB event sources). Everything else
 * of the service is private to emulator/dynamodb/ (dynamodb_int.h).
 *
 * Thread safety: every function takes DynamoDB's own lock for its duration.
 */
#ifndef AIRGAP_EMULATOR_DYNAMODB_H
#define AIRGAP_EMULATOR_DYNAMODB_H

#include "emulator/service.h"

#include <jansson.h>

/* 1 when the account and Region have a stream with this ARN (enabled, or
 * disabled less than 24 hours ago), else 0. */
int dynamodb_stream_exists(emulator *emu, const char *account, const char *region, const char *arn);

/* Where a read of a stream's single shard starts: just past `after` (the
 * last sequence number a consumer processed) when it is a sequence number;
 * else at `from` (a sequence number); else at the stream's tip (`latest`)
 * or its oldest record kept. */
typedef struct dynamodb_stream_start {
  const char *after;
  const char *from;
  int latest;
} dynamodb_stream_start;

/* Reads the stream's records in order from start, each as GetRecords shows
 * it, handing each to fn (which owns it) until fn returns 0 or the shard's
 * end. shard_out receives the shard's id; started_out (may be NULL) the
 * sequence number the read started at, as text. Records older than 24 hours
 * are dropped first. fn runs under DynamoDB's lock: it must not call into
 * DynamoDB. 0, or AIRGAP_ENOTFOUND when there is no such stream (fn is then
 * not called). */
int dynamodb_stream_read(emulator *emu, const char *account, const char *region, const char *arn,
                         const dynamodb_stream_start *start, char shard_out[48],
                         char started_out[32], int (*fn)(json_t *record, void *payload),
                         void *payload);

#endif
