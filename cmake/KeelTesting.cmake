# keel_add_unit_test(name SOURCES a.cc ... [LIBS lib ...] [LABELS extra ...])
# A GoogleTest executable whose tests ctest discovers one by one, labelled "unit" (the set the
# sanitizer build runs) plus any extra labels.
function(keel_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  keel_warnings(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit;${T_LABELS}")
  add_dependencies(keel_unit_tests ${name})
endfunction()

# keel_add_test(name SOURCES ... [LIBS ...] [LABELS ...]): as above, without the "unit" label
# (integration tests that start processes; not run under the sanitizers).
function(keel_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  keel_warnings(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()

add_custom_target(keel_unit_tests)
