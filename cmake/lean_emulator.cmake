# The `airgap` executable (the emulator) linked for start-up time and idle
# memory, as measured by tests/bench/emulator_bench.py (README, Benchmarks):
#  - the libraries it needs (libmicrohttpd, libcrypto, expat, jansson, zlib,
#    GMP) from their static archives: only the objects it uses, no symbol
#    lookups, no constructors of unused parts (libcrypto's shared library
#    alone is ~21,000 relocations at every start);
#  - libmicrohttpd's GnuTLS loaded only if TLS is ever used
#    (common/http_server_tls.c), so GnuTLS and the six libraries below it are
#    not loaded at all;
#  - no PIE: a position-independent executable with libcrypto inside carries
#    ~20,000 relative relocations, which write to ~100 pages at every start
#    (3.5 ms and 0.4 MiB of private memory measured). Shared libraries,
#    the heap, the stacks and mmap()s are still randomised.
# airgap-runner and the tests keep the shared libraries. With
# AIRGAP_LEAN_EMULATOR=OFF (or an archive missing) `airgap` links them too.
option(AIRGAP_LEAN_EMULATOR
       "Link airgap (the emulator) with static libraries, GnuTLS on demand, no PIE" ON)

function(airgap_lean_emulator target)
  if(NOT AIRGAP_LEAN_EMULATOR)
    return()
  endif()
  set(archives)
  foreach(lib microhttpd crypto expat jansson z gmp)
    find_library(AIRGAP_STATIC_${lib} NAMES lib${lib}.a)
    if(NOT AIRGAP_STATIC_${lib})
      message(STATUS "airgap: lib${lib}.a not found, `airgap` links the shared libraries")
      return()
    endif()
    list(APPEND archives ${AIRGAP_STATIC_${lib}})
  endforeach()
  pkg_check_modules(GNUTLS_HEADERS REQUIRED gnutls)
  add_library(airgap_http_tls OBJECT ${CMAKE_SOURCE_DIR}/common/http_server_tls.c)
  target_include_directories(airgap_http_tls PRIVATE ${GNUTLS_HEADERS_INCLUDE_DIRS})
  # The archives come before the shared libraries the components name, so
  # they resolve every symbol and --as-needed (cli/CMakeLists.txt) drops the
  # shared ones.
  target_link_libraries(${target} PRIVATE airgap_http_tls ${archives} ${CMAKE_DL_LIBS}
                        Threads::Threads)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
  target_link_options(${target} PRIVATE -no-pie)
endfunction()
