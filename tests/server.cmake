# Server compatibility tests through the official `openai` npm client (tests/node, node:test).
# scripts/setup.sh runs `npm install` there; without node_modules the test is skipped, not failed.
find_program(NODE_EXECUTABLE node)
if(NODE_EXECUTABLE)
  add_test(NAME node_openai_client
           COMMAND ${CMAKE_COMMAND} -E env OMNI_CLI=$<TARGET_FILE:omni> OMNI_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data
                   ${NODE_EXECUTABLE} --test --test-reporter=spec ${CMAKE_CURRENT_SOURCE_DIR}/node/)
  set_tests_properties(node_openai_client PROPERTIES LABELS "node" TIMEOUT 300
                       WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/node
                       SKIP_REGULAR_EXPRESSION "Cannot find package 'openai'")
endif()
