# Browser tests of the 3D console (tests/browser, playwright-core + Debian's headless chromium).
# A fixture builds the console from web/ into the build tree; each test starts its own `omni serve`.
find_program(OMNI_NODE node)
find_program(OMNI_CHROMIUM NAMES chromium chromium-browser PATHS /usr/bin)
set(_omni_browser_dir ${CMAKE_CURRENT_SOURCE_DIR}/browser)
set(_omni_web_src ${PROJECT_SOURCE_DIR}/web)
if(OMNI_NODE AND OMNI_CHROMIUM AND EXISTS ${_omni_browser_dir}/node_modules/playwright-core
   AND EXISTS ${_omni_web_src}/node_modules/vite)
  set(_omni_web_out ${CMAKE_CURRENT_BINARY_DIR}/browser/web-dist)
  add_test(NAME browser_build_console
           COMMAND ${OMNI_NODE} ${_omni_web_src}/node_modules/vite/bin/vite.js build --logLevel warn
                   --outDir ${_omni_web_out} --emptyOutDir
           WORKING_DIRECTORY ${_omni_web_src})
  set_tests_properties(browser_build_console PROPERTIES LABELS browser FIXTURES_SETUP omni_console TIMEOUT 180)
  foreach(name text_to_scene image_and_confirm microphone webgl_off reload_restores two_pages)
    add_test(NAME browser_${name} COMMAND ${OMNI_NODE} ${_omni_browser_dir}/run.mjs ${name}
             WORKING_DIRECTORY ${_omni_browser_dir})
    set_tests_properties(browser_${name} PROPERTIES
      LABELS browser FIXTURES_REQUIRED omni_console TIMEOUT 240 RESOURCE_LOCK omni_browser_cpu
      ENVIRONMENT "OMNI_CLI=$<TARGET_FILE:omni>;OMNI_WEB_DIR=${_omni_web_out};OMNI_TEST_DATA=${CMAKE_CURRENT_SOURCE_DIR}/data;OMNI_ARTIFACTS=${CMAKE_CURRENT_BINARY_DIR}/browser/artifacts;OMNI_CHROMIUM=${OMNI_CHROMIUM}")
  endforeach()
else()
  message(STATUS "browser tests skipped: need node, chromium, tests/browser/node_modules and web/node_modules (scripts/setup.sh)")
endif()
