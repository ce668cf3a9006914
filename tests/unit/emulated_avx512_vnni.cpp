// The x86-avx512-vnni convolution compiled a second time, on SIMDe's portable
// implementations of the AVX-512 intrinsics (namespace avx512_vnni_emulated),
// so that fast_kernels_test checks its algorithm on machines without
// AVX-512 VNNI as well. This file's flags: -mavx2 -mfma (tests/CMakeLists.txt).
#define TINYQ_EMULATE_AVX512 1
#include "kernels/x86/conv_avx512_vnni.cpp"  // NOLINT(bugprone-suspicious-include): built twice on purpose
