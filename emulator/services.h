/*
 * services.h — the table of services the emulator can serve. Each service_*.c
 * defines one aws_service; the gateway lists them here.
 */
#ifndef AIRGAP_EMULATOR_SERVICES_H
#define AIRGAP_EMULATOR_SERVICES_H

#include "emulator/service.h"

extern const aws_service aws_service_sts;
extern const aws_service aws_service_sqs;

#endif
