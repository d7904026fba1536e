/*
 * services.c — the list of services with handlers. Adding a service is one
 * folder (emulator/<name>/) defining an aws_service plus one line here and in
 * services_int.h; routing, protocols and health pick it up from this table.
 */
#include "emulator/services_int.h"

const aws_service *const emulator_service_table[] = {
    &aws_service_sqs,
    &aws_service_sts,
    &aws_service_s3,
    &aws_service_kms,
    &aws_service_secretsmanager,
    &aws_service_ssm,
    &aws_service_dynamodb,
    &aws_service_dynamodbstreams,
    &aws_service_kinesis,
    &aws_service_lambda,
    &aws_service_sns,
    &aws_service_events,
    &aws_service_scheduler,
    &aws_service_iam,
    &aws_service_logs,
};
const size_t emulator_service_count =
    sizeof(emulator_service_table) / sizeof(emulator_service_table[0]);
