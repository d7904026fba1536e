# SQS tests, included from tests/emulator/CMakeLists.txt.
#
# test_sqs: the SQS engine alone (emulator/sqs/engine.c built straight into
# the test, so it does not wait on the rest of the emulator), with a
# hand-turned clock. The end-to-end tests drive `airgap emulator` with real
# clients: Debian's boto3 and aws CLI v2 (query protocol) and the AWS SDK for
# JavaScript v3 from tests/js (JSON protocol).
airgap_unit_test(test_sqs
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sqs.c ${CMAKE_SOURCE_DIR}/emulator/sqs/engine.c
  LIBS airgap_common PkgConfig::JANSSON PkgConfig::LIBCRYPTO
  LABELS emulator sqs)
# fuzz_sqs: hostile operation inputs against one long-lived engine; a
# libFuzzer target under clang (-DAIRGAP_LIBFUZZER), a brief deterministic run here.
airgap_unit_test(fuzz_sqs
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_sqs.c ${CMAKE_SOURCE_DIR}/emulator/sqs/engine.c
  LIBS airgap_common PkgConfig::JANSSON PkgConfig::LIBCRYPTO
  LABELS emulator sqs fuzz)

airgap_e2e_test(e2e_sqs_boto3
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/e2e_sqs_boto3.py
  TIMEOUT 600 LABELS emulator sqs)
airgap_e2e_test(e2e_sqs_cli
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/e2e_sqs_cli.py
  TIMEOUT 300 LABELS emulator sqs)
# The SDK comes from `npm ci` in deploy/install-deps (tests/js/package-lock.json);
# without it this test fails (module not found) rather than passing unseen.
find_program(AIRGAP_SQS_NODE node)
if(AIRGAP_SQS_NODE)
  airgap_e2e_test(e2e_sqs_js
    COMMAND ${AIRGAP_SQS_NODE} --test ${CMAKE_SOURCE_DIR}/tests/js/sqs.test.mjs
    TIMEOUT 300 LABELS emulator sqs)
endif()
# With clang and -DAIRGAP_LIBFUZZER=ON also a libFuzzer binary (not registered):
#   build/.../fuzz_sqs_libfuzzer -max_total_time=60
if(AIRGAP_LIBFUZZER AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_sqs_libfuzzer ${CMAKE_CURRENT_LIST_DIR}/fuzz_sqs.c
    ${CMAKE_SOURCE_DIR}/emulator/sqs/engine.c)
  target_compile_definitions(fuzz_sqs_libfuzzer PRIVATE AIRGAP_LIBFUZZER)
  target_compile_options(fuzz_sqs_libfuzzer PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_sqs_libfuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_sqs_libfuzzer PRIVATE airgap_common PkgConfig::JANSSON
    PkgConfig::LIBCRYPTO)
endif()
