# `cmake --install` lays down keeld, the plugins, the public headers and a CMake package, so an
# outside author writes find_package(keel) and keel_add_plugin(...).
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/framework/include/keel" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS keel_api EXPORT keelTargets)
install(EXPORT keelTargets NAMESPACE keel:: DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/keel")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/keelConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/keelConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/keel"
  PATH_VARS KEEL_PLUGIN_INSTALL_DIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/keelConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/keelConfig.cmake"
  "${PROJECT_BINARY_DIR}/keelConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/KeelPlugin.cmake"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/cmake/keel")
# The plugin folder exists even before any plugin is installed in it.
install(DIRECTORY DESTINATION "${KEEL_PLUGIN_INSTALL_DIR}")
