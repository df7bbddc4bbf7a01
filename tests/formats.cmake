# Non-GoogleTest tests of the formats area: a short libFuzzer run of the GGUF reader (built with
# clang in its own folder under the build tree; skipped when clang is missing). Label "fuzz".
add_test(NAME gguf_fuzz_smoke
         COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR} -DBIN=${CMAKE_CURRENT_BINARY_DIR}/gguf_fuzz
                 -DSECONDS=20 -P ${PROJECT_SOURCE_DIR}/fuzz/run_smoke.cmake)
set_tests_properties(gguf_fuzz_smoke PROPERTIES LABELS "fuzz" SKIP_RETURN_CODE 77 TIMEOUT 300)
