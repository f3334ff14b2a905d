# SPDX-License-Identifier: MIT
# Debian packages, made by CPack's DEB generator from the install components (cmake/CfuturesInstall.cmake):
#   libcfutures0     the `runtime` component: libcfutures.so.0 and the file it links to, the copyright file.
#                    Its Depends come from dpkg-shlibdeps; its control archive has the symbols, shlibs and triggers
#                    (ldconfig) files that Debian ships with every shared library.
#   libcfutures-dev  the `development` and `serialization` components: headers, the libcfutures.so link,
#                    libcfutures.a, cfutures.pc and cfutures-serialization.pc, the CMake package. It depends on
#                    libcfutures0 of the same version and suggests libboost-serialization-dev, which only the
#                    serialization part needs.
# Build them from a tree configured with CMAKE_INSTALL_PREFIX=/usr (scripts/package.sh does all of it, and runs
# lintian on the result): only then does GNUInstallDirs give Debian's multiarch libdir (lib/<triplet>) and does
# CFUTURES_DEBIAN_LAYOUT put the documentation where Debian wants it.

set(_cf_deb_runtime libcfutures${PROJECT_VERSION_MAJOR})
set(_cf_deb_dev libcfutures-dev)
set(_cf_deb_source libcfutures)
set(_cf_deb_dir ${PROJECT_BINARY_DIR}/debian)
set(CFUTURES_PACKAGE_MAINTAINER "libcfutures maintainers <maintainers@libcfutures.invalid>" CACHE STRING
  "Maintainer field of the Debian packages, and the signature of their changelog")

# --- Documentation: /usr/share/doc/<package>/copyright and changelog.gz ----------------------------------------
if(CFUTURES_DEBIAN_LAYOUT)
  # The copyright file in Debian's machine-readable format (DEP-5), made from LICENSE: its copyright line, and the
  # licence text with every line indented by one space and each empty line written as " .".
  file(READ ${PROJECT_SOURCE_DIR}/LICENSE _cf_license)
  if(NOT _cf_license MATCHES "Copyright \\([cC]\\) ([^\n]+)")
    message(FATAL_ERROR "LICENSE has no 'Copyright (c) ...' line")
  endif()
  set(_cf_copyright_holders "${CMAKE_MATCH_1}")
  string(FIND "${_cf_license}" "Permission is hereby granted" _cf_start)
  if(_cf_start LESS 0)
    message(FATAL_ERROR "LICENSE does not read like the MIT licence")
  endif()
  string(SUBSTRING "${_cf_license}" ${_cf_start} -1 _cf_license_text)
  string(STRIP "${_cf_license_text}" _cf_license_text)
  string(REGEX REPLACE "\n[ \t]*\n" "\n.\n" _cf_license_text "${_cf_license_text}")
  string(REPLACE "\n" "\n " _cf_license_text " ${_cf_license_text}")
  file(CONFIGURE OUTPUT ${_cf_deb_dir}/copyright @ONLY CONTENT
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${_cf_deb_source}
Upstream-Contact: ${CFUTURES_PACKAGE_MAINTAINER}

Files: *
Copyright: ${_cf_copyright_holders}
License: MIT
${_cf_license_text}
")

  # A one-entry changelog in Debian's format (the version has no Debian revision, so lintian takes the packages for
  # native ones and wants changelog.gz). Its date honours SOURCE_DATE_EPOCH, which scripts/package.sh sets from the
  # last commit, so that the packages of one commit come out the same.
  string(TIMESTAMP _cf_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
  file(CONFIGURE OUTPUT ${_cf_deb_dir}/changelog @ONLY CONTENT
"${_cf_deb_source} (${PROJECT_VERSION}) unstable; urgency=medium

  * Release ${PROJECT_VERSION}.

 -- ${CFUTURES_PACKAGE_MAINTAINER}  ${_cf_changelog_date}
")
  # gzip -n leaves out the file name and time, and -9 is what lintian expects.
  find_program(CFUTURES_GZIP gzip REQUIRED)
  execute_process(COMMAND ${CFUTURES_GZIP} -9nc ${_cf_deb_dir}/changelog
    OUTPUT_FILE ${_cf_deb_dir}/changelog.gz RESULT_VARIABLE _cf_gzip_status)
  if(NOT _cf_gzip_status EQUAL 0)
    message(FATAL_ERROR "gzip ${_cf_deb_dir}/changelog failed")
  endif()

  install(FILES ${_cf_deb_dir}/copyright ${_cf_deb_dir}/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_cf_deb_runtime} COMPONENT runtime)
  install(FILES ${_cf_deb_dir}/copyright ${_cf_deb_dir}/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_cf_deb_dev} COMPONENT development)
endif()

# --- Control files of libcfutures0 -------------------------------------------------------------------------------
# symbols: every exported C symbol with its version node, rewritten from the library after each link
# (cmake/CfuturesDebSymbols.cmake). shlibs: made by CPack (CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS below).
# triggers: dpkg runs ldconfig once after installing or removing packages, instead of a maintainer script.
set(_cf_deb_control)
get_target_property(_cf_deb_type cfutures TYPE)
if(_cf_deb_type STREQUAL "SHARED_LIBRARY")
  add_custom_command(TARGET cfutures POST_BUILD
    COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIBRARY=$<TARGET_FILE:cfutures>
      -DSONAME=$<TARGET_SONAME_FILE_NAME:cfutures> -DPACKAGE=${_cf_deb_runtime} -DDEV_PACKAGE=${_cf_deb_dev}
      -DOUTPUT=${_cf_deb_dir}/symbols -P ${CMAKE_CURRENT_LIST_DIR}/CfuturesDebSymbols.cmake
    VERBATIM)
  file(CONFIGURE OUTPUT ${_cf_deb_dir}/triggers CONTENT "activate-noawait ldconfig\n")
  set(_cf_deb_control ${_cf_deb_dir}/symbols ${_cf_deb_dir}/triggers)
endif()

# --- CPack --------------------------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${_cf_deb_source})
set(CPACK_PACKAGE_VENDOR "The libcfutures authors")
set(CPACK_PACKAGE_CONTACT "${CFUTURES_PACKAGE_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
# Each package has a synopsis of its own (the first line of its description); a common summary would be put in
# front of both.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# One package per component group: runtime alone, development and serialization together.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development serialization)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SOURCE ${_cf_deb_source})
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# shlibs: a program built against this release needs at least this release (it may use what the release added).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(_cf_deb_about [=[libcfutures brings Python's concurrent.futures to C and C++: futures, thread
pools and process pools, with wait, as_completed and map, behind a stable C
ABI and a C++17 API.]=])

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ${_cf_deb_runtime})
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${_cf_deb_control})
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "concurrent.futures for C and C++ - shared library
${_cf_deb_about}

This package contains the shared library, libcfutures.so.${PROJECT_VERSION_MAJOR}.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME ${_cf_deb_dev})
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${_cf_deb_runtime} (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS libboost-serialization-dev)
set(CPACK_DEBIAN_DEV_DESCRIPTION "concurrent.futures for C and C++ - development files
${_cf_deb_about}

This package contains the C and C++ headers, the static library, the
pkg-config files (cfutures, cfutures-serialization) and the CMake package
(find_package(cfutures)). Typed C++ process-pool tasks (the serialization
component, <cfutures/serialization.hpp>) also need libboost-serialization-dev.")

# A DEB made from a tree that does not install into /usr would put the library outside the multiarch libdir and
# the documentation where lintian objects: say so when cpack runs.
set(CPACK_CFUTURES_DEBIAN_LAYOUT ${CFUTURES_DEBIAN_LAYOUT})
file(CONFIGURE OUTPUT ${_cf_deb_dir}/CPackOptions.cmake @ONLY CONTENT [=[
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_CFUTURES_DEBIAN_LAYOUT)
  message(WARNING "This tree is not configured for Debian packages (CMAKE_INSTALL_PREFIX=/usr on Debian): "
    "the packages will not follow Debian's layout. scripts/package.sh makes them properly.")
endif()
]=])
set(CPACK_PROJECT_CONFIG_FILE ${_cf_deb_dir}/CPackOptions.cmake)

# `make package_source` (a tarball of the sources) leaves out git's data and the build trees.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/[.]git/" "/build/" "/build-[^/]*/" "/out/" "/_install/" "/bindings/rust/target/")

include(CPack)
cpack_add_component(runtime DISPLAY_NAME "Shared library")
cpack_add_component_group(dev DISPLAY_NAME "Development files")
cpack_add_component(development DISPLAY_NAME "Headers, static library, pkg-config and CMake files" GROUP dev)
cpack_add_component(serialization DISPLAY_NAME "Typed C++ process-pool tasks (Boost.Serialization)" GROUP dev)
