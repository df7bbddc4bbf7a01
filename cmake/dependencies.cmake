# Dependencies, all from Debian 12 packages installed by scripts/setup.sh. Each becomes an omni:: target.
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

function(omni_pkg target module)
  pkg_check_modules(${target}_PC REQUIRED IMPORTED_TARGET ${module})
  add_library(omni::${target} INTERFACE IMPORTED GLOBAL)
  target_link_libraries(omni::${target} INTERFACE PkgConfig::${target}_PC)
endfunction()

omni_pkg(pcre2 libpcre2-8)
omni_pkg(sndfile sndfile)
omni_pkg(soxr soxr)
omni_pkg(sqlite3 sqlite3)
omni_pkg(curl libcurl)
omni_pkg(crypto libcrypto)   # OpenSSL SHA-256 (omni pull)
omni_pkg(mosquitto libmosquitto)
omni_pkg(webp libwebp)
omni_pkg(yamlcpp yaml-cpp)
omni_pkg(stb stb)
omni_pkg(zlib zlib)

# espeak-ng ships no .pc file on Debian 12.
find_library(ESPEAK_NG_LIB espeak-ng REQUIRED)
find_path(ESPEAK_NG_INCLUDE espeak-ng/speak_lib.h REQUIRED)
add_library(omni::espeak INTERFACE IMPORTED GLOBAL)
target_link_libraries(omni::espeak INTERFACE ${ESPEAK_NG_LIB})
target_include_directories(omni::espeak INTERFACE ${ESPEAK_NG_INCLUDE})

find_library(READLINE_LIB readline REQUIRED)
add_library(omni::readline INTERFACE IMPORTED GLOBAL)
target_link_libraries(omni::readline INTERFACE ${READLINE_LIB})

# stb_image (libstb-dev) is header-only: /usr/include/stb/stb_image.h.
find_path(STB_INCLUDE stb_image.h PATH_SUFFIXES stb REQUIRED)

find_package(Boost 1.74 REQUIRED)
add_library(omni::boost INTERFACE IMPORTED GLOBAL)
target_link_libraries(omni::boost INTERFACE Boost::boost)
target_compile_definitions(omni::boost INTERFACE BOOST_BEAST_USE_STD_STRING_VIEW)

# Every layer sees nlohmann::json and stb's include directory.
add_library(omni::json ALIAS nlohmann_json::nlohmann_json)
link_libraries(nlohmann_json::nlohmann_json)
include_directories(SYSTEM ${STB_INCLUDE})
