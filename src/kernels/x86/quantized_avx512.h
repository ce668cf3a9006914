#pragma once
// AVX-512 version of QLinearAdd (kernels/reference/quantized.h), bit for bit
// equal to the reference and to quantized_avx2 (tested in
// tests/unit/fast_kernels_test.cpp): the same arithmetic on 16 lanes, the
// row's tail under a byte mask instead of a scalar loop. Compiled with
// -mavx512f -mavx512bw -mavx512vl: call only when use_avx512() is true.
#include <span>

#include "kernels/reference/quantized.h"

namespace tinyq::kernels::x86 {

// Both requantization modes; fixed mode only where
// qlinear_add_fixed_fits_avx2(p) (the same 32-bit lanes).
template <typename T>
void qlinear_add_avx512(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c);

}  // namespace tinyq::kernels::x86
