# SPDX-License-Identifier: MIT
# Writes the Debian symbols file (deb-symbols(5)) of the libcfutures0 package from the library as built. It runs as
# a script after each link of libcfutures.so (cmake/CfuturesPackaging.cmake), so the file always matches the binary:
#
#   cmake -DNM=<nm> -DLIBRARY=<libcfutures.so.X.Y.Z> -DSONAME=<libcfutures.so.X> -DPACKAGE=<runtime package>
#         -DDEV_PACKAGE=<dev package> -DOUTPUT=<file> -P CfuturesDebSymbols.cmake
#
# Every symbol of a C version node (CFUTURES_<major>.<minor>, cmake/cfutures.map) gets a line of its own; the C++
# nodes (CFUTURES_CXX_*) get one "(symver)" line each, covering all their names at once: those names are mangled
# by the compiler and are not part of the checked ABI. The version after each name is the first release that had
# it, read from the node: a symbol of node CFUTURES_0.1 came with 0.1.0, whatever the current release is.

foreach(_var NM LIBRARY SONAME PACKAGE DEV_PACKAGE OUTPUT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "CfuturesDebSymbols.cmake: -D${_var}=... is missing")
  endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
  OUTPUT_VARIABLE _nm ERROR_VARIABLE _nm_error RESULT_VARIABLE _nm_status)
if(NOT _nm_status EQUAL 0)
  message(FATAL_ERROR "CfuturesDebSymbols.cmake: ${NM} -D ${LIBRARY} failed: ${_nm_error}")
endif()

# The release that introduced a node: CFUTURES_0.1 and CFUTURES_CXX_0.1 both mean 0.1.0.
function(cf_node_release node out)
  if(node MATCHES "_([0-9]+)\\.([0-9]+)$")
    set(${out} "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.0" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "CfuturesDebSymbols.cmake: cannot tell the release of version node '${node}'")
  endif()
endfunction()

set(_c_lines)
set(_cxx_nodes)
string(REPLACE "\n" ";" _nm_lines "${_nm}")
foreach(_line IN LISTS _nm_lines)
  # "<address> <type> <name>@@<node>" (the default version) or "...@<node>" (an older one); each node also shows up
  # as an absolute symbol of its own name, "<address> A <node>", which Debian lists as "<node>@<node>".
  if(_line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^@ ]+)@@?([A-Za-z0-9_.]+)$")
    set(_name "${CMAKE_MATCH_1}")
    set(_node "${CMAKE_MATCH_2}")
  elseif(_line MATCHES "^[0-9a-fA-F]* +A (CFUTURES_[A-Za-z0-9_.]+)$")
    set(_name "${CMAKE_MATCH_1}")
    set(_node "${CMAKE_MATCH_1}")
  else()
    continue()
  endif()
  cf_node_release("${_node}" _release)
  if(_node MATCHES "^CFUTURES_CXX_")
    list(APPEND _cxx_nodes "${_node}")
  else()
    list(APPEND _c_lines " ${_name}@${_node} ${_release}")
  endif()
endforeach()
if(NOT _c_lines)
  message(FATAL_ERROR "CfuturesDebSymbols.cmake: ${LIBRARY} exports no versioned C symbols")
endif()
list(SORT _c_lines)
list(REMOVE_DUPLICATES _cxx_nodes)

set(_text "${SONAME} ${PACKAGE} #MINVER#\n* Build-Depends-Package: ${DEV_PACKAGE}\n")
foreach(_node IN LISTS _cxx_nodes)
  cf_node_release("${_node}" _release)
  string(APPEND _text " (symver)${_node} ${_release}\n")
endforeach()
list(JOIN _c_lines "\n" _c_text)
string(APPEND _text "${_c_text}\n")

# Rewritten only when it changes, so that an unchanged library leaves the file (and its time stamp) alone.
set(_old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" _old)
endif()
if(NOT _old STREQUAL _text)
  file(WRITE "${OUTPUT}" "${_text}")
endif()
