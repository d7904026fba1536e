# Lambda's build needs, included from emulator/CMakeLists.txt: its sources are
# picked up by the emulator's GLOB_RECURSE. Deployment packages are zips read
# with libzip, which is dlopen()ed at the first package (emulator/lambda/
# zipload.c) so that an emulator that never sees one does not load it: only
# its header is needed here.
pkg_check_modules(LIBZIP REQUIRED libzip)
target_include_directories(airgap_emulator PRIVATE ${LIBZIP_INCLUDE_DIRS})
target_link_libraries(airgap_emulator PUBLIC ${CMAKE_DL_LIBS})
