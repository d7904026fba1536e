/* service_sqs.c — SQS; placeholder table until the SQS handlers land. */
#include "emulator/services.h"

const aws_service aws_service_sqs = {.name = "sqs", .model_name = "sqs"};
