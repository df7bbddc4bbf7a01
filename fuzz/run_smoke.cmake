# ctest driver for the GGUF fuzz smoke test (cmake -DSRC=<source dir> -DBIN=<work dir>
# -DSECONDS=20 -P run_smoke.cmake): configures and builds the libFuzzer target with clang in its
# own build folder, writes the seed corpus and runs the fuzzer for SECONDS seconds.
# Exits with 77 (skipped) when clang or its fuzzer runtime is missing.
find_program(CLANGXX clang++)
find_program(CLANGC clang)
if(NOT CLANGXX OR NOT CLANGC)
  message("fuzz smoke: clang not found, skipping")
  cmake_language(EXIT 77)
endif()
if(NOT SECONDS)
  set(SECONDS 20)
endif()
set(build ${BIN}/fuzz-build)
find_program(NINJA ninja)
set(gen)
if(NINJA)
  set(gen -G Ninja)
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${build} ${gen} -DCMAKE_BUILD_TYPE=Release
                        -DCMAKE_CXX_COMPILER=${CLANGXX} -DCMAKE_C_COMPILER=${CLANGC}
                        -DOMNI_BUILD_FUZZ=ON -DOMNI_BUILD_TESTS=OFF -DOMNI_SANITIZE=OFF
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz smoke: configure failed:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} --target gguf_fuzz gguf_fuzz_seeds
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  if(out MATCHES "libclang_rt.fuzzer|cannot find -l.*fuzzer|fuzzer.*not found")
    message("fuzz smoke: clang has no libFuzzer runtime (libclang-rt-dev), skipping")
    cmake_language(EXIT 77)
  endif()
  message(FATAL_ERROR "fuzz smoke: build failed:\n${out}")
endif()
file(REMOVE_RECURSE ${BIN}/fuzz-seeds ${BIN}/fuzz-corpus)
file(MAKE_DIRECTORY ${BIN}/fuzz-corpus)
execute_process(COMMAND ${build}/fuzz/gguf_fuzz_seeds ${BIN}/fuzz-seeds RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz smoke: seed generator failed")
endif()
execute_process(COMMAND ${build}/fuzz/gguf_fuzz -max_total_time=${SECONDS} -max_len=4096 -timeout=10
                        -rss_limit_mb=2048 -print_final_stats=1 ${BIN}/fuzz-corpus ${BIN}/fuzz-seeds
                WORKING_DIRECTORY ${BIN}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" runs "${out}")
message("fuzz smoke: ${runs}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz smoke: the fuzzer found a crash (exit ${rc}); crash-* files are in ${BIN}\n${out}")
endif()
