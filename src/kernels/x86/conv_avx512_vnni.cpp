// Compiled with -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512vnni
// (see src/CMakeLists.txt); the header says how it works. The unit tests
// compile this file a second time with TINYQ_EMULATE_AVX512 defined, on
// SIMDe's portable AVX-512 intrinsics (tests/unit/emulated_avx512_vnni.cpp),
// so that the algorithm is checked on every machine, not only on VNNI ones.
#ifdef TINYQ_EMULATE_AVX512
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define TINYQ_VNNI_NAMESPACE avx512_vnni_emulated
#else
#include <immintrin.h>
#define TINYQ_VNNI_NAMESPACE avx512_vnni
#endif

#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/conv_epilogue_avx2.h"
#include "kernels/x86/conv_layout.h"

namespace tinyq::kernels::x86::TINYQ_VNNI_NAMESPACE {
namespace {

constexpr int kParts = 4;  // a block: 4 parts of 8 positions = two vectors of 16 int32 lanes
constexpr int kQuad = 4;   // input channels per int32 lane

// 16 positions x 4 channels from two parts of 8 positions each.
inline __m512i load_two_parts(const std::uint8_t* x, std::int64_t first, std::int64_t second) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + first * kQuad));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + second * kQuad));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// One panel (8 output channels) x one block (32 positions): per tap quad, two
// loads, 8 weight broadcasts and 16 vpdpbusd. Accumulators start at the bias.
// kPairedParts: parts 0-1 and 2-3 are adjacent in the row (rows of a
// multiple of 16 outputs), so each vector is one 64-byte load.
template <bool kPairedParts>
inline void micro_vnni(const std::vector<std::int64_t>& offsets, const std::uint8_t* x, const std::int64_t (&part)[kParts],
                       const std::int8_t* w, const std::int32_t* bias, __m512i (&out)[kVnniPanel][2]) {
  __m512i acc[kVnniPanel][2];  // locals until the end, as in conv_avx2's micro-kernels
  for (int r = 0; r < kVnniPanel; ++r) acc[r][0] = acc[r][1] = _mm512_set1_epi32(bias[r]);
  for (const std::int64_t offset : offsets) {
    const std::uint8_t* xj = x + offset * kQuad;
    __m512i x0, x1;
    if constexpr (kPairedParts) {
      x0 = _mm512_loadu_si512(xj + part[0] * kQuad);
      x1 = _mm512_loadu_si512(xj + part[2] * kQuad);
    } else {
      x0 = load_two_parts(xj, part[0], part[1]);
      x1 = load_two_parts(xj, part[2], part[3]);
    }
    for (int r = 0; r < kVnniPanel; ++r) {
      std::int32_t quad;
      std::memcpy(&quad, w + r * kQuad, sizeof quad);
      const __m512i wv = _mm512_set1_epi32(quad);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv);
    }
    w += kVnniPanel * kQuad;
  }
  for (int r = 0; r < kVnniPanel; ++r) out[r][0] = acc[r][0], out[r][1] = acc[r][1];
}

template <typename TX>
constexpr std::uint8_t u8_code(std::int32_t value) {
  return static_cast<std::uint8_t>(std::is_signed_v<TX> ? value + 128 : value);
}

}  // namespace

template <typename TX, typename TY>
void qlinear_conv(const Conv2DParams& p, const PackedConvVnni& packed, const TX* x, TY* y) {
  const PaddedShape s = padded_shape(p);
  const std::int64_t quads = (p.in_channels + kQuad - 1) / kQuad;
  std::uint8_t* padded = scratch<std::uint8_t>(padded_elements(s, quads, kQuad));
  std::vector<std::int64_t> local_offsets;
  const std::vector<std::int64_t>& offsets = offsets_for(p, quads, packed, local_offsets);
  const std::int64_t plane = p.out_h * p.out_w, panel_stride = packed.tap_quads * kVnniPanel * kQuad;
  const std::int64_t panels = round_up(packed.out_channels, kVnniPanel) / kVnniPanel;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    const TX* image = x + n * p.in_channels * p.in_h * p.in_w;
    TY* out = y + n * packed.out_channels * plane;
    fill_padded<std::uint8_t, kQuad>(
        p, quads, s, padded, packed.x_code,
        [&](std::uint8_t* dst, std::int64_t u, std::int64_t ih, std::int64_t iw, std::int64_t count, std::int64_t step) {
          const TX* rows[kQuad];
          unit_rows<kQuad>(p, image, u, ih, iw, rows);
          write_quads<TX>(dst, rows, packed.x_code, count, step);
        });
    for_each_block<kParts>(p.out_h, p.out_w, s.cols, [&](const Block<kParts>& block) {
      std::int64_t part[kParts];
      for (int i = 0; i < kParts; ++i) part[i] = block.x_offset[i] - block.x_offset[0];
      const Block<2> halves[2] = {half_of(block, 0), half_of(block, 1)};
      const bool paired = part[1] == part[0] + 8 && part[3] == part[2] + 8;
      for (std::int64_t q = 0; q < panels; ++q) {
        __m512i acc[kVnniPanel][2];
        const std::int8_t* w = packed.weights.data() + q * panel_stride;
        const std::int32_t* bias = packed.requant.bias.data() + q * kVnniPanel;
        if (paired) micro_vnni<true>(offsets, padded + block.x_offset[0] * kQuad, part, w, bias, acc);
        else micro_vnni<false>(offsets, padded + block.x_offset[0] * kQuad, part, w, bias, acc);
        for (int r = 0; r < kVnniPanel; ++r) {
          const std::int64_t oc = q * kVnniPanel + r;
          if (oc >= packed.out_channels) break;
          for (int h = 0; h < 2; ++h)
            requantize_store<TY>(packed.requant, oc, _mm512_castsi512_si256(acc[r][h]), _mm512_extracti64x4_epi64(acc[r][h], 1),
                                 halves[h], out + oc * plane);
        }
      }
    });
  }
}

template void qlinear_conv<std::uint8_t, std::uint8_t>(const Conv2DParams&, const PackedConvVnni&, const std::uint8_t*, std::uint8_t*);
template void qlinear_conv<std::uint8_t, std::int8_t>(const Conv2DParams&, const PackedConvVnni&, const std::uint8_t*, std::int8_t*);
template void qlinear_conv<std::int8_t, std::uint8_t>(const Conv2DParams&, const PackedConvVnni&, const std::int8_t*, std::uint8_t*);
template void qlinear_conv<std::int8_t, std::int8_t>(const Conv2DParams&, const PackedConvVnni&, const std::int8_t*, std::int8_t*);

}  // namespace tinyq::kernels::x86::TINYQ_VNNI_NAMESPACE
