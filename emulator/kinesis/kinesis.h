/*
 * kinesis.h — Kinesis Data Streams for the emulator's other services: read a
 * stream's shards and records in process, as a Lambda event source mapping
 * polls a stream (it needs no shard iterators: it keeps the last sequence
 * number it handled per shard, as Lambda's own poller does).
 *
 * The state is what emulator_service_state(emu, "kinesis") returns (NULL when
 * SERVICES leaves Kinesis out). Streams are named by ARN. Thread-safe.
 *
 * Errors: 0 on success; AIRGAP_ENOTFOUND when the stream (or shard) does not
 * exist or is not readable (CREATING, DELETING); AIRGAP_EINVALID for a
 * sequence number that is not this shard's; AIRGAP_ERROR when out of memory;
 * each with a message in airgap_error_last().
 */
#ifndef AIRGAP_EMULATOR_KINESIS_H
#define AIRGAP_EMULATOR_KINESIS_H

#include <jansson.h>
#include <stddef.h>

typedef struct kinesis_state kinesis_state;

/* The stream's shards, oldest first, as an array of
 * {"ShardId", "ParentShardId"?, "AdjacentParentShardId"?, "Closed": bool}
 * (owned: json_decref). A consumer that keeps order reads a child only after
 * its parents are closed and read to their end. */
int kinesis_stream_shards(json_t **out, kinesis_state *st, const char *stream_arn);

/* Up to limit records (1..10000) of a shard that follow after_seq (a sequence
 * number handed out earlier; NULL: from the oldest record kept, as
 * TRIM_HORIZON; "LATEST": none, only the position of the tip).
 * *out (owned) is {"Records": [{"SequenceNumber", "PartitionKey", "Data"
 * (base64), "ApproximateArrivalTimestamp" (seconds, real)}...],
 * "Position": the sequence number to pass as after_seq next time,
 * "EndOfShard": true when the shard is closed and every record was read}. */
int kinesis_shard_read(json_t **out, kinesis_state *st, const char *stream_arn,
                       const char *shard_id, const char *after_seq, size_t limit);

#endif
