# Installs web/'s npm packages from its lockfile (npm ci) when they are
# missing or older than the lockfile. Several build trees may build at once:
# a file lock keeps them from running npm in the same folder together.
# Usage: cmake -DNPM=... -DWEB=<web folder> -P web_deps.cmake
file(LOCK ${WEB}/.npm-ci.lock GUARD PROCESS TIMEOUT 600)
set(stamp ${WEB}/node_modules/.package-lock.json)
if(NOT EXISTS ${stamp} OR ${WEB}/package-lock.json IS_NEWER_THAN ${stamp})
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${WEB} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci in ${WEB} failed (${rc}); configure with -DAIRGAP_WEB_UI=OFF "
                        "to build without the web UI")
  endif()
endif()
