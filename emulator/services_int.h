/*
 * services_int.h — private to the core: the table of services the emulator
 * can serve. Each service folder (emulator/<name>/) defines one aws_service
 * (service.h); services.c lists them in emulator_service_table.
 */
#ifndef AIRGAP_EMULATOR_SERVICES_INT_H
#define AIRGAP_EMULATOR_SERVICES_INT_H

#include "emulator/service.h"

#include <stddef.h>

extern const aws_service aws_service_sts;
extern const aws_service aws_service_sqs;
extern const aws_service aws_service_s3;
extern const aws_service aws_service_kms;
extern const aws_service aws_service_secretsmanager;
extern const aws_service aws_service_ssm;
extern const aws_service aws_service_dynamodb;
extern const aws_service aws_service_dynamodbstreams;
extern const aws_service aws_service_kinesis;
extern const aws_service aws_service_lambda;
extern const aws_service aws_service_sns;
extern const aws_service aws_service_events;
extern const aws_service aws_service_scheduler;
extern const aws_service aws_service_iam;
extern const aws_service aws_service_logs;

/* Every service with handlers, in health-report order. */
extern const aws_service *const emulator_service_table[];
extern const size_t emulator_service_count;

#endif
