// The x86-avx512 Winograd convolution compiled a second time, on SIMDe's
// portable AVX-512 intrinsics (namespace avx512_emulated), with AVX2 only:
// `--kernels avx512-emulated` and fast_kernels_test run it on any AVX2 CPU
// (see conv_avx512_emulated.cpp).
#define TINYQ_EMULATE_AVX512 1
#include "kernels/x86/winograd_avx512.cpp"  // NOLINT(bugprone-suspicious-include): built twice on purpose
