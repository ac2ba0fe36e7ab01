# Run at every build (cmake -P, by the retort_revision target): writes OUT, a header defining
# RETORT_GIT_REVISION as SOURCE_DIR's commit (12 hex digits, "-dirty" when tracked files differ
# from it; "unknown" outside git), and rewrites it only when that changed. So a run's environment
# record names the commit it was built from even when CMake was configured commits ago, and a
# build with nothing new recompiles nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY "${SOURCE_DIR}"
                OUTPUT_VARIABLE revision
                OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE status
                ERROR_QUIET)
if(NOT status EQUAL 0 OR NOT revision)
    set(revision "unknown")
else()
    execute_process(COMMAND git diff --quiet HEAD --
                    WORKING_DIRECTORY "${SOURCE_DIR}"
                    RESULT_VARIABLE dirty
                    ERROR_QUIET)
    if(dirty EQUAL 1)
        string(APPEND revision "-dirty")
    endif()
endif()
set(content "#pragma once\n\n// Written at build time by cmake/gitrevision.cmake.\n#define RETORT_GIT_REVISION \"${revision}\"\n")
set(old "")
if(EXISTS "${OUT}")
    file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL content)
    file(WRITE "${OUT}" "${content}")
endif()
