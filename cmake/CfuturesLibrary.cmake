# SPDX-License-Identifier: MIT
# The library targets: the sources compiled once (position-independent) into cfutures_objects, and from them
#   cfutures                  libcfutures.so.0 (or libcfutures.a when BUILD_SHARED_LIBS is OFF)
#   cfutures_static           libcfutures.a beside the shared library (CFUTURES_BUILD_STATIC)
#   cfutures_serialization    header-only: <cfutures/serialization.hpp> and Boost.Serialization, for typed C++
#                             process-pool tasks; the only target that carries Boost to its users
# Expects CF_LIBRARY_SOURCES.

add_library(cfutures_objects OBJECT ${CF_LIBRARY_SOURCES})
# One include style: <cfutures/...> for the public headers, "dir/file.hpp" from src/ for the internal ones,
# "capi/file.hpp" for the C ABI layer's own.
target_include_directories(cfutures_objects PRIVATE
  ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
target_compile_definitions(cfutures_objects PRIVATE CFUTURES_BUILDING)
target_compile_options(cfutures_objects PRIVATE
  $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-missing-field-initializers>)
# Boost.Interprocess is used inside the library only: no Boost header is reachable from a public one.
target_link_libraries(cfutures_objects PRIVATE Threads::Threads Boost::headers)
set_target_properties(cfutures_objects PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  C_VISIBILITY_PRESET hidden
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)

# What every flavour of the library gives its users: the headers, threads, C++17 for the C++ headers.
function(cf_library_interface target)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_link_libraries(${target} PUBLIC Threads::Threads)
endfunction()

add_library(cfutures $<TARGET_OBJECTS:cfutures_objects>)
add_library(cfutures::cfutures ALIAS cfutures)
cf_library_interface(cfutures)

get_target_property(_cf_type cfutures TYPE)
if(_cf_type STREQUAL "SHARED_LIBRARY")
  # Only the C ABI and namespace cf leave the library, in named version nodes (cmake/cfutures.map); the C++
  # standard library and Boost code compiled into it stay local.
  set(_cf_map ${PROJECT_SOURCE_DIR}/cmake/cfutures.map)
  set_target_properties(cfutures PROPERTIES
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    LINK_DEPENDS ${_cf_map})
  target_link_options(cfutures PRIVATE
    "LINKER:--version-script=${_cf_map}"
    "LINKER:--exclude-libs,ALL"
    "LINKER:--no-undefined"
    "LINKER:-z,relro"
    "LINKER:-z,now")
  if(CFUTURES_BUILD_STATIC)
    add_library(cfutures_static STATIC $<TARGET_OBJECTS:cfutures_objects>)
    add_library(cfutures::cfutures_static ALIAS cfutures_static)
    cf_library_interface(cfutures_static)
    set_target_properties(cfutures_static PROPERTIES OUTPUT_NAME cfutures)
  endif()
endif()

add_library(cfutures_serialization INTERFACE)
add_library(cfutures::serialization ALIAS cfutures_serialization)
set_target_properties(cfutures_serialization PROPERTIES EXPORT_NAME serialization)
target_link_libraries(cfutures_serialization INTERFACE cfutures Boost::serialization)
