// The x86-avx512 float convolution compiled a second time, on SIMDe's
// portable AVX-512 intrinsics (namespace avx512_emulated), so that
// fast_kernels_test checks it on machines without AVX-512 as well. This
// file's flags: -mavx2 -mfma (tests/CMakeLists.txt).
#define TINYQ_EMULATE_AVX512 1
#include "kernels/x86/conv_avx512.cpp"  // NOLINT(bugprone-suspicious-include): built twice on purpose
