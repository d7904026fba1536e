#!/bin/sh
# /lambda-entrypoint.sh of airgap-test/lambda-python: as in AWS's Python base
# image, the runtime client runs with the handler ("module.function") as its
# argument.
exec /usr/bin/python3 /var/runtime/bootstrap "$@"
