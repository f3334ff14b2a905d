# SPDX-License-Identifier: MIT
# Turns a built plain-C test program's `--list` into a ctest file with one case per test function (run after
# each build of the program, from tests/CMakeLists.txt). Input: PROGRAM (its path), NAME (the program's name),
# OUTPUT (the file to write), TIMEOUT and LABELS (the cases' properties).
execute_process(COMMAND "${PROGRAM}" --list
                OUTPUT_VARIABLE names ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --list failed (${rc}):\n${errors}")
endif()
string(REPLACE "\n" ";" names "${names}")
set(content "# Written by tests/c/list_tests.cmake from `${NAME} --list`: one ctest case per test function.\n")
set(count 0)
foreach(test IN LISTS names)
  if(NOT test MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    if(NOT test STREQUAL "")
      message(FATAL_ERROR "${PROGRAM} --list printed \"${test}\", which is no test function's name")
    endif()
    continue()
  endif()
  set(case "c.${NAME}.${test}")
  string(APPEND content "add_test([=[${case}]=] [=[${PROGRAM}]=] [=[${test}]=])\n"
         "set_tests_properties([=[${case}]=] PROPERTIES TIMEOUT ${TIMEOUT} LABELS [=[${LABELS}]=] SKIP_RETURN_CODE 77)\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --list named no test")
endif()
# Rewritten only when it changes, so that an unchanged list leaves ctest's view alone.
file(WRITE "${OUTPUT}.new" "${content}")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
