// Weight packing of the x86 convolutions, and the helpers their kernels call
// that build or grow std::vectors. Compiled WITHOUT ISA flags on purpose:
// std::vector's members are instantiated wherever they are used, as weak
// symbols the linker keeps one copy of; instantiated in an AVX-512 file, that
// copy could be the program's and fault on other CPUs. Packing runs once per
// model, so nothing here needs to be fast. tests/tools/check_isa_symbols.py
// checks that the kernel files share no such code.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/conv_layout.h"
#include "kernels/x86/depthwise_avx2.h"
#include "kernels/x86/winograd_avx512.h"

namespace tinyq::kernels::x86 {
namespace {
constexpr std::int64_t kVnniQuad = 4;  // input channels per int32 lane in the VNNI layout
}  // namespace

void* scratch_buffer(std::size_t bytes) {
  // Grows to the largest layer once per thread; zeroed when it grows (a
  // block may read, and discard, the padding row past the last plane).
  thread_local std::vector<std::max_align_t> buffer;
  const std::size_t words = (bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
  if (buffer.size() < words) buffer.assign(words, std::max_align_t{});
  return buffer.data();
}

std::vector<std::int64_t> conv_tap_offsets(const Conv2DParams& p, std::int64_t units) { return tap_offsets(p, padded_shape(p), units); }

// The window's tap offsets in one channel's planes, padded to an even count:
// an odd window's last pair reads its one tap twice (the partner's weight is 0).
std::vector<std::int64_t> depthwise_tap_offsets(const Conv2DParams& p) {
  std::vector<std::int64_t> offsets = tap_offsets(p, padded_shape(p), 1);
  if (offsets.size() % 2) offsets.push_back(offsets.back());
  return offsets;
}

PackedConvF32 pack_conv_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                            Activation activation) {
  PackedConvF32 packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), geometry.in_channels);
  packed.out_channels = geometry.out_channels;
  packed.taps = geometry.in_channels * geometry.kernel_h * geometry.kernel_w;
  packed.activation = activation;
  const std::int64_t out_channels = packed.out_channels, taps = packed.taps;
  const std::int64_t panels = round_up(out_channels, kConvPanel) / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * taps * kConvPanel), 0.f);
  packed.bias.assign(static_cast<std::size_t>(panels * kConvPanel), 0.f);
  // Taps in (ic, kh, kw) order, the order of an OIHW weight and of tap_offsets.
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k)
      packed.weights[static_cast<std::size_t>((panel * taps + k) * kConvPanel + lane)] = weight[static_cast<std::size_t>(oc * taps + k)];
    if (!bias.empty()) packed.bias[static_cast<std::size_t>(oc)] = bias[static_cast<std::size_t>(oc)];
  }
  return packed;
}

bool winograd_applies(const Conv2DParams& g) {
  if (g.group != 1 || g.kernel_h != 3 || g.kernel_w != 3 || g.stride_h != 1 || g.stride_w != 1 || g.dilation_h != 1 ||
      g.dilation_w != 1 || !sizes_known(g) || g.out_h % 2 != 0 || g.out_w % 2 != 0)
    return false;
  const std::int64_t tiles_w = g.out_w / 2;
  return tiles_w % 16 == 0 || tiles_w == 8 || tiles_w == 4;
}

PackedWinogradF32 pack_winograd_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                                    Activation activation) {
  static constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  PackedWinogradF32 packed;
  packed.out_channels = geometry.out_channels;
  packed.panels = round_up(packed.out_channels, kWinogradPanel) / kWinogradPanel;
  packed.activation = activation;
  const std::int64_t cin = geometry.in_channels;
  packed.transformed_weights.assign(static_cast<std::size_t>(16 * packed.panels * cin * kWinogradPanel), 0.f);
  packed.bias.assign(static_cast<std::size_t>(packed.panels * kWinogradPanel), 0.f);
  for (std::int64_t oc = 0; oc < packed.out_channels; ++oc) {
    const std::int64_t panel = oc / kWinogradPanel, lane = oc % kWinogradPanel;
    for (std::int64_t c = 0; c < cin; ++c) {
      const float* g = weight.data() + (oc * cin + c) * 9;
      for (int xi = 0; xi < 4; ++xi)
        for (int nu = 0; nu < 4; ++nu) {
          double u = 0;  // (G g G^T)[xi][nu]
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) u += kG[xi][a] * static_cast<double>(g[a * 3 + b]) * kG[nu][b];
          const std::int64_t k = xi * 4 + nu;
          packed.transformed_weights[static_cast<std::size_t>(((k * packed.panels + panel) * cin + c) * kWinogradPanel + lane)] =
              static_cast<float>(u);
        }
    }
    if (!bias.empty()) packed.bias[static_cast<std::size_t>(oc)] = bias[static_cast<std::size_t>(oc)];
  }
  return packed;
}

ConvRequant make_conv_requant(std::int64_t padded_channels, std::span<const std::int32_t> bias,
                              std::span<const std::int64_t> weight_abs_sums, const Requantizer& requantizer) {
  ConvRequant r;
  r.mode = requantizer.mode;
  r.zero_point = requantizer.zero_point;
  r.qmin = requantizer.qmin;
  r.qmax = requantizer.qmax;
  const std::size_t padded = static_cast<std::size_t>(padded_channels);
  r.bias.assign(padded, 0);
  r.multipliers.assign(padded, 0.f);
  r.m0.assign(padded, 0);
  r.shift.assign(padded, 1);
  // x - x_zp lies in [-255, 255] for u8 and s8 alike.
  constexpr std::int64_t max_x = 255;
  for (std::size_t c = 0; c < weight_abs_sums.size(); ++c) {
    const std::int64_t bound = (bias.empty() ? 0 : std::abs(static_cast<std::int64_t>(bias[c]))) + weight_abs_sums[c] * max_x;
    if (!bias.empty()) r.bias[c] = bias[c];
    const std::size_t m = requantizer.multipliers.size() > 1 ? c : 0;
    r.multipliers[c] = requantizer.multipliers.at(m);
    if (requantizer.mode == kernels::RequantMode::fixed_point) {
      const kernels::FixedMultiplier fm = requantizer.fixed.at(m);
      // A zero multiplier maps everything to the zero point; shift 1 keeps the
      // rounding term (1 << (shift - 1)) defined and the product 0.
      r.m0[c] = fm.m0;
      r.shift[c] = fm.m0 == 0 ? 1 : fm.shift;
      if (static_cast<double>(bound) * kernels::from_fixed_multiplier(fm) >= std::ldexp(1.0, 30)) r.fixed_fits_int32 = false;
    }
    if (bound >= (std::int64_t{1} << 31))
      throw Error("quantized convolution: channel " + std::to_string(c) + " can overflow a 32-bit accumulator");
  }
  return r;
}

template <typename TW>
PackedConvQ pack_conv_q(const Conv2DParams& geometry, std::span<const TW> weight,
                        std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                        std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedConvQ packed;
  packed.geometry = geometry;
  if (sizes_known(geometry))
    packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), (geometry.in_channels + 1) / 2);
  packed.out_channels = geometry.out_channels;
  const std::int64_t out_channels = packed.out_channels, window = geometry.kernel_h * geometry.kernel_w;
  packed.taps = geometry.in_channels * window;
  const std::int64_t taps = packed.taps;
  // Tap k = (ic, kh, kw) goes to pair (ic / 2, kh, kw), element ic % 2: the
  // padded image interleaves channel pairs, so one 32-bit lane holds both.
  packed.tap_pairs = (geometry.in_channels + 1) / 2 * window;
  packed.x_zero_point = x_zero_point;
  const std::int64_t padded = round_up(out_channels, kConvPanel), panels = padded / kConvPanel;
  packed.weights.assign(static_cast<std::size_t>(panels * packed.tap_pairs * kConvPanel * 2), 0);
  std::vector<std::int64_t> abs_sums(static_cast<std::size_t>(out_channels), 0);
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? static_cast<std::size_t>(oc) : 0];
    const std::int64_t panel = oc / kConvPanel, lane = oc % kConvPanel;
    for (std::int64_t k = 0; k < taps; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(oc * taps + k)]) - w_zp;
      const std::int64_t ic = k / window, pair = (ic / 2) * window + k % window;
      packed.weights[static_cast<std::size_t>(((panel * packed.tap_pairs + pair) * kConvPanel + lane) * 2 + ic % 2)] =
          static_cast<std::int16_t>(wv);
      abs_sums[static_cast<std::size_t>(oc)] += std::abs(wv);
    }
  }
  packed.requant = make_conv_requant(padded, bias, abs_sums, requantizer);
  return packed;
}

template PackedConvQ pack_conv_q<std::uint8_t>(const Conv2DParams&, std::span<const std::uint8_t>,
                                               std::span<const std::int32_t>, std::span<const std::int32_t>,
                                               std::int32_t, const Requantizer&);
template PackedConvQ pack_conv_q<std::int8_t>(const Conv2DParams&, std::span<const std::int8_t>,
                                              std::span<const std::int32_t>, std::span<const std::int32_t>,
                                              std::int32_t, const Requantizer&);
PackedDepthwiseF32 pack_depthwise_f32(const Conv2DParams& geometry, std::span<const float> weight, std::span<const float> bias,
                                      Activation activation) {
  PackedDepthwiseF32 packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), 1);
  packed.channels = geometry.out_channels;
  packed.window = geometry.kernel_h * geometry.kernel_w;
  packed.weights.assign(weight.begin(), weight.end());
  packed.bias.assign(static_cast<std::size_t>(packed.channels), 0.f);
  if (!bias.empty()) std::copy(bias.begin(), bias.end(), packed.bias.begin());
  packed.activation = activation;
  return packed;
}

template <typename TW>
PackedDepthwiseQ pack_depthwise_q(const Conv2DParams& geometry, std::span<const TW> weight,
                                  std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                                  std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedDepthwiseQ packed;
  packed.geometry = geometry;
  if (sizes_known(geometry)) packed.tap_offsets = depthwise_tap_offsets(geometry);
  packed.channels = geometry.out_channels;
  const std::int64_t window = geometry.kernel_h * geometry.kernel_w;
  packed.tap_pairs = (window + 1) / 2;
  packed.x_zero_point = x_zero_point;
  packed.weights.assign(static_cast<std::size_t>(packed.channels * packed.tap_pairs * 2), 0);
  std::vector<std::int64_t> abs_sums(static_cast<std::size_t>(packed.channels), 0);
  for (std::int64_t c = 0; c < packed.channels; ++c) {
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? static_cast<std::size_t>(c) : 0];
    for (std::int64_t k = 0; k < window; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(c * window + k)]) - w_zp;
      packed.weights[static_cast<std::size_t>(c * packed.tap_pairs * 2 + k)] = static_cast<std::int16_t>(wv);
      abs_sums[static_cast<std::size_t>(c)] += std::abs(wv);
    }
  }
  packed.requant = make_conv_requant(packed.channels, bias, abs_sums, requantizer);
  return packed;
}

template PackedDepthwiseQ pack_depthwise_q<std::uint8_t>(const Conv2DParams&, std::span<const std::uint8_t>,
                                                         std::span<const std::int32_t>, std::span<const std::int32_t>,
                                                         std::int32_t, const Requantizer&);
template PackedDepthwiseQ pack_depthwise_q<std::int8_t>(const Conv2DParams&, std::span<const std::int8_t>,
                                                        std::span<const std::int32_t>, std::span<const std::int32_t>,
                                                        std::int32_t, const Requantizer&);
template <typename TX, typename TW>
std::optional<PackedConvVnni> pack_conv_q_vnni(const Conv2DParams& geometry, std::span<const TW> weight,
                                          std::span<const std::int32_t> w_zero_points, std::span<const std::int32_t> bias,
                                          std::int32_t x_zero_point, const Requantizer& requantizer) {
  PackedConvVnni packed;
  packed.geometry = geometry;
  const std::int64_t quads = (geometry.in_channels + kVnniQuad - 1) / kVnniQuad;
  if (sizes_known(geometry)) packed.tap_offsets = tap_offsets(geometry, padded_shape(geometry), quads);
  packed.out_channels = geometry.out_channels;
  const std::int64_t out_channels = packed.out_channels, window = geometry.kernel_h * geometry.kernel_w;
  const std::int64_t taps = geometry.in_channels * window;
  // Tap k = (ic, kh, kw) goes to quad (ic / 4, kh, kw), byte ic % 4, as the
  // padded image interleaves 4 channels per position.
  packed.tap_quads = quads * window;
  packed.x_code = static_cast<std::uint8_t>(std::is_signed_v<TX> ? x_zero_point + 128 : x_zero_point);
  const std::int64_t padded = round_up(out_channels, kVnniPanel);
  packed.weights.assign(static_cast<std::size_t>(padded / kVnniPanel * packed.tap_quads * kVnniPanel * kVnniQuad), 0);
  std::vector<std::int64_t> abs_sums(static_cast<std::size_t>(out_channels), 0), sums(abs_sums.size(), 0);
  for (std::int64_t oc = 0; oc < out_channels; ++oc) {
    const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? static_cast<std::size_t>(oc) : 0];
    const std::int64_t panel = oc / kVnniPanel, lane = oc % kVnniPanel;
    for (std::int64_t k = 0; k < taps; ++k) {
      const std::int32_t wv = static_cast<std::int32_t>(weight[static_cast<std::size_t>(oc * taps + k)]) - w_zp;
      if (wv < -128 || wv > 127) return std::nullopt;
      const std::int64_t ic = k / window, quad = (ic / kVnniQuad) * window + k % window;
      packed.weights[static_cast<std::size_t>(((panel * packed.tap_quads + quad) * kVnniPanel + lane) * kVnniQuad + ic % kVnniQuad)] =
          static_cast<std::int8_t>(wv);
      abs_sums[static_cast<std::size_t>(oc)] += std::abs(wv);
      sums[static_cast<std::size_t>(oc)] += wv;
    }
  }
  packed.requant = make_conv_requant(padded, bias, abs_sums, requantizer);
  // |bias - x_code * sum(w')| <= |bias| + 255 * sum|w'| < 2^31, which
  // make_conv_requant has just checked.
  for (std::size_t c = 0; c < sums.size(); ++c)
    packed.requant.bias[c] = static_cast<std::int32_t>(packed.requant.bias[c] - std::int64_t{packed.x_code} * sums[c]);
  return packed;
}

#define TINYQ_INSTANTIATE_VNNI_PACK(TX, TW)                                                                                  \
  template std::optional<PackedConvVnni> pack_conv_q_vnni<TX, TW>(const Conv2DParams&, std::span<const TW>,                  \
                                                                  std::span<const std::int32_t>, std::span<const std::int32_t>, \
                                                                  std::int32_t, const Requantizer&);
TINYQ_INSTANTIATE_VNNI_PACK(std::uint8_t, std::uint8_t)
TINYQ_INSTANTIATE_VNNI_PACK(std::uint8_t, std::int8_t)
TINYQ_INSTANTIATE_VNNI_PACK(std::int8_t, std::uint8_t)
TINYQ_INSTANTIATE_VNNI_PACK(std::int8_t, std::int8_t)
#undef TINYQ_INSTANTIATE_VNNI_PACK

}  // namespace tinyq::kernels::x86
