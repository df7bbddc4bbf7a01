# Per-file instruction-set flags for the SIMD kernels: only these files are compiled for AVX2 /
# AVX-512; dispatch.cpp picks a table at run time, so the library still runs on any x86-64 CPU.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64")
  file(GLOB omni_avx2_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/kernels/x86/*_avx2.cpp)
  file(GLOB omni_avx512_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/kernels/x86/*_avx512.cpp)
  # *_avx512vbmi.cpp: AVX-512 kernels that also need VBMI and GFNI; used only when the CPU has both.
  file(GLOB omni_avx512vbmi_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/kernels/x86/*_avx512vbmi.cpp)
  set_source_files_properties(${omni_avx2_srcs} TARGET_DIRECTORY omni_kernels PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${omni_avx512_srcs} TARGET_DIRECTORY omni_kernels PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-Wno-uninitialized;-Wno-maybe-uninitialized")
  set_source_files_properties(${omni_avx512vbmi_srcs} TARGET_DIRECTORY omni_kernels PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512bw;-mavx512vl;-mavx512dq;-mavx512vnni;-mavx512bf16;-mavx512vbmi;-mgfni;-Wno-uninitialized;-Wno-maybe-uninitialized")
endif()
