# S3 tests, included from tests/emulator/CMakeLists.txt.
#
# End-to-end tests drive `airgap emulator` with real clients: Debian's boto3
# (plus curl and raw HTTP for presigned URLs, aws-chunked bodies, virtual
# hosts, CORS and conditional requests), the aws CLI v2 (multipart upload of
# 50 MB, sync, ls, rm --recursive) and the AWS SDK for JavaScript v3 from
# tests/js (stream uploads as aws-chunked with a CRC32 trailer).
airgap_e2e_test(e2e_s3_boto3
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/e2e_s3_boto3.py
  TIMEOUT 600 LABELS emulator s3)
airgap_e2e_test(e2e_s3_cli
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/e2e_s3_cli.py
  TIMEOUT 600 LABELS emulator s3)
find_program(AIRGAP_S3_NODE node)
if(AIRGAP_S3_NODE)
  airgap_e2e_test(e2e_s3_js
    COMMAND ${AIRGAP_S3_NODE} --test ${CMAKE_SOURCE_DIR}/tests/js/s3.test.mjs
    TIMEOUT 300 LABELS emulator s3)
endif()

# The aws-chunked decoder's fuzz target (tests/fuzz/fuzz_s3_chunked.c): a
# brief deterministic run here; with clang and -DAIRGAP_LIBFUZZER=ON also a
# libFuzzer binary (not registered): fuzz_s3_chunked_libfuzzer -max_total_time=60
airgap_unit_test(fuzz_s3_chunked
  SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_s3_chunked.c
          ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_driver.c
  LIBS airgap_emulator
  LABELS emulator s3 fuzz)
if(AIRGAP_LIBFUZZER AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_s3_chunked_libfuzzer ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_s3_chunked.c)
  target_compile_definitions(fuzz_s3_chunked_libfuzzer PRIVATE AIRGAP_LIBFUZZER)
  target_compile_options(fuzz_s3_chunked_libfuzzer PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_s3_chunked_libfuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_s3_chunked_libfuzzer PRIVATE airgap_emulator)
endif()
