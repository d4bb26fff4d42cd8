# keel_add_test(name SOURCES a.cc ... [LIBS lib ...] [LABELS label ...])
# A GoogleTest executable whose tests ctest discovers one by one, with the given labels.
function(keel_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  keel_warnings(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gmock GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${T_LABELS}")
endfunction()

# keel_add_unit_test(name SOURCES ... [LIBS ...] [LABELS ...]): as keel_add_test, labelled "unit"
# too: the tests that need no other process, which the sanitizer build runs (target
# keel_unit_tests builds them all).
function(keel_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  keel_add_test(${name} SOURCES ${T_SOURCES} LIBS ${T_LIBS} LABELS unit ${T_LABELS})
  add_dependencies(keel_unit_tests ${name})
endfunction()

add_custom_target(keel_unit_tests)
