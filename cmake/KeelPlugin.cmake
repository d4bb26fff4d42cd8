# keel_add_plugin(<target> SOURCES <file>... [LIBS <lib>...])
#
# Builds a keel plugin: a shared object named keel-<target>.so that exports only its descriptor
# (-fvisibility=hidden) and links keel's public headers (keel::api) plus the given libraries.
# Used in keel's own tree and, through find_package(keel), by plugins written outside it. It is
# installed to lib/keel/plugins, where keeld looks for plugins.
function(keel_add_plugin target)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  if(NOT P_SOURCES)
    message(FATAL_ERROR "keel_add_plugin(${target}): no SOURCES")
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE keel::api ${P_LIBS})
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(KEEL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # The descriptor is the one export. -fvisibility=hidden alone leaves libstdc++'s template
  # instances (declared with default visibility in its headers) exported; a version script hides
  # them, so two plugins never bind each other's copies.
  set(exports "${CMAKE_CURRENT_BINARY_DIR}/${target}.exports.map")
  file(WRITE "${exports}" "{\n  global: keel_plugin_descriptor;\n  local: *;\n};\n")
  target_link_options(${target} PRIVATE "-Wl,--version-script=${exports}")
  # A plugin with an unresolved symbol fails here, at link time, not when keeld loads it.
  if(NOT KEEL_SANITIZE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "keel-${target}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(KEEL_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${KEEL_PLUGIN_OUTPUT_DIR}")
  endif()
  if(NOT KEEL_PLUGIN_INSTALL_DIR)
    set(KEEL_PLUGIN_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/keel/plugins")
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${KEEL_PLUGIN_INSTALL_DIR}")
  if(TARGET keel_plugins)
    add_dependencies(keel_plugins ${target})
  endif()
endfunction()
