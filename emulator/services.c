/*
 * services.c — the list of services with handlers. Adding a service is one
 * service_<name>.c defining an aws_service plus one line here and in
 * services.h; routing, protocols and health pick it up from this table.
 */
#include "emulator/services.h"

const aws_service *const emulator_service_table[] = {
    &aws_service_sqs,
    &aws_service_sts,
    &aws_service_s3,
    &aws_service_dynamodb,
};
const size_t emulator_service_count =
    sizeof(emulator_service_table) / sizeof(emulator_service_table[0]);
