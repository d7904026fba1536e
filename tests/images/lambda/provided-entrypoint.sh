#!/bin/sh
# /lambda-entrypoint.sh of airgap-test/lambda-provided: as in AWS's provided
# images, the function's bootstrap is the runtime; the handler is its argument.
if [ -x "${LAMBDA_TASK_ROOT:-/var/task}/bootstrap" ]; then
  exec "${LAMBDA_TASK_ROOT:-/var/task}/bootstrap" "$@"
fi
if [ -x /opt/bootstrap ]; then exec /opt/bootstrap "$@"; fi
echo "lambda-entrypoint: no bootstrap in ${LAMBDA_TASK_ROOT:-/var/task} or /opt" >&2
exit 1
