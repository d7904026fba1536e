# Lambda's build needs, included from emulator/CMakeLists.txt: its sources are
# picked up by the emulator's GLOB_RECURSE; deployment packages are zips read
# with libzip (emulator/lambda/code.c).
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
target_link_libraries(airgap_emulator PUBLIC PkgConfig::LIBZIP)
