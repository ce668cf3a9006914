// The x86-avx512 float convolution compiled a second time, on SIMDe's
// portable implementations of the AVX-512 intrinsics (namespace
// avx512_emulated), with AVX2 only (-mavx2 -mfma, src/CMakeLists.txt). It
// runs under `--kernels avx512-emulated` and in fast_kernels_test, so that
// the AVX-512 algorithm and its place in the runtime are checked on machines
// without AVX-512 as well.
#define TINYQ_EMULATE_AVX512 1
#include "kernels/x86/conv_avx512.cpp"  // NOLINT(bugprone-suspicious-include): built twice on purpose
