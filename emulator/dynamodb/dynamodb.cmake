# DynamoDB's build needs, included from emulator/CMakeLists.txt: its sources
# are picked up by the emulator's GLOB_RECURSE; numbers are GMP integers with a
# decimal exponent (emulator/dynamodb/number.c), so the library links GMP.
pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmp)
target_link_libraries(airgap_emulator PUBLIC PkgConfig::GMP)
