#pragma once
// For the AVX-512 kernel files built twice (conv_avx512.cpp,
// winograd_avx512.cpp, conv_avx512_vnni.cpp): the real intrinsics in namespace avx512, or, where
// the *_emulated.cpp twin defines TINYQ_EMULATE_AVX512 first, SIMDe's
// portable versions of them (AVX2 only) in namespace avx512_emulated, so
// the same algorithm is tested on machines without AVX-512.
#ifdef TINYQ_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define TINYQ_AVX512_NAMESPACE avx512_emulated
#else
#include <immintrin.h>
#define TINYQ_AVX512_NAMESPACE avx512
#endif
