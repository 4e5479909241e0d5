# Project-wide CMake helpers. One function adds a service, so every binary is
# built the same way: a library of logic (linked by the binary, its unit tests
# and its benchmarks) plus a thin main.

set(EVC_WARNINGS -Wall -Wextra -Wno-unused-parameter)

# evc_add_library(NAME SOURCES... DEPS ...)
function(evc_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${EVC_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# evc_add_binary(NAME MAIN DEPS ...): a binary installed into build/bin.
function(evc_add_binary name main)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  add_executable(${name} ${main})
  target_compile_options(${name} PRIVATE ${EVC_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin)
endfunction()

# evc_add_test(NAME SOURCES... DEPS ... [LABELS ...]): a GoogleTest binary
# registered with ctest.
function(evc_add_test name)
  if(NOT EVC_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${EVC_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  set_property(GLOBAL APPEND PROPERTY EVC_SANITIZED_SUITE ${name})
  include(GoogleTest)
  # Each property gets one value: an empty LABELS would vanish from the list and
  # make the environment the label, and a value holding a ';' is split in two
  # by the generated set_tests_properties (so EVC_SOURCE_DIR goes through
  # ENVIRONMENT_MODIFICATION).
  set(properties ENVIRONMENT "EVC_BIN_DIR=${PROJECT_BINARY_DIR}/bin"
                 ENVIRONMENT_MODIFICATION "EVC_SOURCE_DIR=set:${PROJECT_SOURCE_DIR}")
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${name} PROPERTIES ${properties} DISCOVERY_TIMEOUT 30)
endfunction()

# evc_add_service(NAME [SOURCES ...] [DEPS ...] [MAIN file] [BINARIES binary main ...]):
# library evc_<NAME>_lib, the service's logic on evc_common and DEPS (linked by its
# binaries, unit tests and benchmarks), plus thin mains linking only that library:
# MAIN builds evc-<NAME>; BINARIES builds one binary per name/main pair (several
# binaries from one library, or a binary not named evc-<NAME>). A service whose logic
# all lives in common/ has no SOURCES, and its library only carries the DEPS.
function(evc_add_service name)
  cmake_parse_arguments(ARG "" "MAIN" "SOURCES;DEPS;BINARIES" ${ARGN})
  set(library evc_${name}_lib)
  if(ARG_SOURCES)
    evc_add_library(${library} SOURCES ${ARG_SOURCES} DEPS evc_common ${ARG_DEPS})
  else()
    add_library(${library} INTERFACE)
    target_link_libraries(${library} INTERFACE evc_common ${ARG_DEPS})
  endif()
  set(binaries ${ARG_BINARIES})
  if(ARG_MAIN)
    list(PREPEND binaries evc-${name} ${ARG_MAIN})
  endif()
  list(LENGTH binaries count)
  math(EXPR unpaired "${count} % 2")
  if(count EQUAL 0 OR unpaired)
    message(FATAL_ERROR "evc_add_service(${name}): give MAIN, or BINARIES as binary/main pairs")
  endif()
  while(binaries)
    list(POP_FRONT binaries binary main)
    evc_add_binary(${binary} ${main} DEPS ${library})
  endwhile()
endfunction()

# evc_add_fuzzer(NAME SOURCE file DEPS ...): a fuzz target for a decoder of outside
# bytes. SOURCE defines LLVMFuzzerTestOneInput. Seeds live in tests/fuzz/corpus/NAME/,
# inputs that once crashed it in tests/fuzz/regressions/NAME/ (both replayed on every run).
# Normal build: the target replays them (ctest fuzz_NAME, label fuzz). With EVC_FUZZ=ON
# (clang, see ./evc test): libFuzzer under ASan+UBSan, run for EVC_FUZZ_SECONDS.
set(EVC_FUZZ_SECONDS 20 CACHE STRING "how long ctest runs each libFuzzer target (EVC_FUZZ=ON)")
function(evc_add_fuzzer name)
  if(NOT EVC_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "SOURCE" "DEPS" ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set(regressions ${PROJECT_SOURCE_DIR}/tests/fuzz/regressions/${name})
  if(NOT IS_DIRECTORY ${corpus})
    message(FATAL_ERROR "fuzz target ${name}: seed corpus ${corpus} is missing")
  endif()
  if(EVC_FUZZ)
    add_executable(${name} ${ARG_SOURCE})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${ARG_SOURCE} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
  endif()
  target_compile_options(${name} PRIVATE ${EVC_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
  set_property(GLOBAL APPEND PROPERTY EVC_SANITIZED_SUITE ${name})
  add_test(NAME fuzz_${name}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/run_fuzzer.sh $<TARGET_FILE:${name}>
            ${corpus} ${regressions} ${PROJECT_BINARY_DIR}/fuzz-work/${name}
            $<IF:$<BOOL:${EVC_FUZZ}>,${EVC_FUZZ_SECONDS},0>)
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 600
    ENVIRONMENT "EVC_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
