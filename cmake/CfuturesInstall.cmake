# SPDX-License-Identifier: MIT
# What `cmake --install` puts where, in three components:
#   runtime        libcfutures.so.0 (and the file it links to), the licence (in Debian's layout: see below and
#                  cmake/CfuturesPackaging.cmake)
#   development    headers, the libcfutures.so link, libcfutures.a, cfutures.pc, the CMake package
#   serialization  <cfutures/serialization.hpp>, cfutures-serialization.pc, the CMake component
#                  find_package(cfutures COMPONENTS serialization): the only part that brings in Boost
#   mpi            libcfutures_mpi.so.0 and its link, <cfutures/mpi.h>, <cfutures/mpi_pool.hpp>, cfutures-mpi.pc,
#                  find_package(cfutures COMPONENTS mpi) (mpi/CMakeLists.txt; built only where MPI is found)
# Documentation (man pages, HTML) is installed by docs/CMakeLists.txt into `development`.

set(_cf_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/cfutures)

# Debian's layout, which the .deb packages need (cmake/CfuturesPackaging.cmake): the licence goes to
# /usr/share/doc/<package>/copyright instead of <docdir>/LICENSE, and the shared library is not executable
# (mode 0644, Debian policy 8.1). By default it follows GNUInstallDirs, which picks Debian's multiarch libdir
# (lib/x86_64-linux-gnu) only for an install into /usr on Debian and its derivatives; -D sets it either way.
if(NOT DEFINED CFUTURES_DEBIAN_LAYOUT)
  if(CMAKE_LIBRARY_ARCHITECTURE AND CMAKE_INSTALL_LIBDIR STREQUAL "lib/${CMAKE_LIBRARY_ARCHITECTURE}")
    set(CFUTURES_DEBIAN_LAYOUT ON)
  else()
    set(CFUTURES_DEBIAN_LAYOUT OFF)
  endif()
endif()
set(_cf_library_permissions)
if(CFUTURES_DEBIAN_LAYOUT)
  set(_cf_library_permissions PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
set(_cf_targets cfutures)
if(TARGET cfutures_static)
  list(APPEND _cf_targets cfutures_static)
endif()

install(TARGETS ${_cf_targets} EXPORT cfuturesTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ${_cf_library_permissions}
    COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY include/cfutures DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  PATTERN serialization.hpp EXCLUDE PATTERN mpi.h EXCLUDE PATTERN mpi_pool.hpp EXCLUDE)
install(EXPORT cfuturesTargets NAMESPACE cfutures:: DESTINATION ${_cf_cmake_dir} COMPONENT development)

install(TARGETS cfutures_serialization EXPORT cfuturesSerializationTargets COMPONENT serialization)
install(FILES include/cfutures/serialization.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cfutures
  COMPONENT serialization)
install(EXPORT cfuturesSerializationTargets NAMESPACE cfutures:: FILE cfutures-serialization-targets.cmake
  DESTINATION ${_cf_cmake_dir} COMPONENT serialization)

configure_package_config_file(cmake/cfuturesConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cfuturesConfig.cmake
  INSTALL_DESTINATION ${_cf_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cfuturesConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cfuturesConfig.cmake ${PROJECT_BINARY_DIR}/cfuturesConfigVersion.cmake
  DESTINATION ${_cf_cmake_dir} COMPONENT development)

# join_paths keeps absolute install dirs absolute and makes relative ones relative to the prefix.
function(cf_join_paths out base path)
  if(IS_ABSOLUTE "${path}")
    set(${out} "${path}" PARENT_SCOPE)
  else()
    set(${out} "${base}/${path}" PARENT_SCOPE)
  endif()
endfunction()
# The prefix is found from the .pc file's own place, so that `cmake --install --prefix X` (chosen after configure)
# yields a file that points into X.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CF_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _cf_pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _cf_pc_up "${_cf_pc_up}")
  set(CF_PC_PREFIX "\${pcfiledir}/${_cf_pc_up}")
endif()
cf_join_paths(CF_PC_LIBDIR "\${exec_prefix}" "${CMAKE_INSTALL_LIBDIR}")
cf_join_paths(CF_PC_INCLUDEDIR "\${prefix}" "${CMAKE_INSTALL_INCLUDEDIR}")
# The Boost.Serialization library as the linker is to find it (Debian ships no .pc file for Boost).
set(CF_PC_BOOST_SERIALIZATION "-lboost_serialization")
foreach(_pc cfutures cfutures-serialization)
  configure_file(pkgconfig/${_pc}.pc.in ${PROJECT_BINARY_DIR}/${_pc}.pc @ONLY)
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/cfutures.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/cfutures-serialization.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT serialization)
if(NOT CFUTURES_DEBIAN_LAYOUT)
  install(FILES LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)
endif()
