// Every fast kernel against its reference kernel (the executable spec):
// integer paths bit for bit, float within 1e-5 relative. Random geometries,
// zero points, per-channel scales and saturating multipliers from a seeded
// generator; a failure prints the case. Skipped, with a message, where the
// CPU lacks the ISA (the reference kernels are then what runs).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/reference/conv.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/pool.h"
#include "kernels/reference/quantized.h"
#include "kernels/x86/conv_avx2.h"
#include "kernels/x86/conv_avx512.h"
#include "kernels/x86/conv_avx512_vnni.h"
#include "kernels/x86/depthwise_avx2.h"
#include "kernels/x86/gemm_avx2.h"
#include "kernels/x86/pool_avx2.h"
#include "kernels/x86/quantized_avx2.h"
#include "kernels/x86/quantized_avx512.h"
#include "kernels/x86/statistics_avx2.h"
#include "kernels/x86/winograd_avx512.h"

namespace tinyq::kernels {
namespace {

#define REQUIRE_AVX2()                                                                                  \
  if (!cpu_features().avx2) GTEST_SKIP() << "this CPU has no AVX2+FMA: the x86-avx2 kernels never run here"
// The emulated build of the VNNI kernel (SIMDe) runs wherever AVX2 does; the
// real one needs the CPU's AVX-512 VNNI.
#define REQUIRE_AVX512_VNNI()                                                                                        \
  if (!use_avx512_vnni(KernelPolicy::auto_select))                                                                   \
  GTEST_SKIP() << "this CPU has no AVX-512 VNNI: the x86-avx512-vnni kernel never runs here (its emulated build is " \
                  "tested by EmulatedQLinearConvVnni)"

#define REQUIRE_AVX512()                                                                                       \
  if (!use_avx512(KernelPolicy::auto_select))                                                                 \
  GTEST_SKIP() << "this CPU has no AVX-512: the x86-avx512 kernels never run here (their emulated build is " \
                  "tested by EmulatedConvF32Avx512)"

// Which convolution run_f32 / run_q checks against the reference.
enum class FKernel { avx2, avx2_depthwise, avx512, avx512_emulated, winograd, winograd_emulated };
enum class QKernel { avx2, avx2_depthwise, avx512_vnni, avx512_vnni_emulated };

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t stride, std::int64_t dilation, std::int64_t pad_before,
                      std::int64_t pad_after) {
  return (in + pad_before + pad_after - (k - 1) * dilation - 1) / stride + 1;
}

// Builder for one convolution case; run_f32 / run_q compare fast with reference.
class FastConvTester {
 public:
  FastConvTester& batch(std::int64_t n) { p_.batch = n; return *this; }
  FastConvTester& channels(std::int64_t in, std::int64_t out) { p_.in_channels = in, p_.out_channels = out; return *this; }
  FastConvTester& input(std::int64_t h, std::int64_t w) { p_.in_h = h, p_.in_w = w; return *this; }
  FastConvTester& kernel(std::int64_t h, std::int64_t w) { p_.kernel_h = h, p_.kernel_w = w; return *this; }
  FastConvTester& stride(std::int64_t h, std::int64_t w) { p_.stride_h = h, p_.stride_w = w; return *this; }
  FastConvTester& dilation(std::int64_t d) { p_.dilation_h = p_.dilation_w = d; return *this; }
  FastConvTester& pads(std::int64_t top, std::int64_t left, std::int64_t bottom, std::int64_t right) {
    p_.pad_top = top, p_.pad_left = left, pad_bottom_ = bottom, pad_right_ = right;
    return *this;
  }
  FastConvTester& seed(unsigned s) { rng_.seed(s); return *this; }
  // One group per channel, one output channel per group (in = out channels).
  FastConvTester& depthwise() { p_.group = p_.out_channels = p_.in_channels; return *this; }

  std::string describe() const {
    std::ostringstream o;
    o << (p_.group > 1 ? "depthwise " : "") << "N" << p_.batch << " C" << p_.in_channels << "->" << p_.out_channels << " in " << p_.in_h << "x" << p_.in_w << " k "
      << p_.kernel_h << "x" << p_.kernel_w << " stride " << p_.stride_h << "," << p_.stride_w << " dil " << p_.dilation_h
      << " pads " << p_.pad_top << "," << p_.pad_left << "," << pad_bottom_ << "," << pad_right_;
    return o.str();
  }

  // The AVX-512 kernels must also equal the AVX2 one bit for bit (same
  // summation order).
  void run_f32(Activation act, FKernel kernel = FKernel::avx2) {
    Conv2DParams p = complete();
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> x(static_cast<std::size_t>(p.batch * p.in_channels * p.in_h * p.in_w));
    std::vector<float> w(static_cast<std::size_t>(p.out_channels * (p.in_channels / p.group) * p.kernel_h * p.kernel_w));
    std::vector<float> b(static_cast<std::size_t>(p.out_channels));
    for (auto& v : x) v = u(rng_);
    for (auto& v : w) v = u(rng_);
    for (auto& v : b) v = u(rng_);
    std::vector<float> ref(static_cast<std::size_t>(p.batch * p.out_channels * p.out_h * p.out_w)), fast(ref.size(), NAN);
    conv2d_f32(p, x, w, b, ref, act);
    // Relative to the size of the sum's terms, which bounds the rounding of any order.
    const double scale = static_cast<double>(p.in_channels / p.group * p.kernel_h * p.kernel_w);
    if (kernel == FKernel::winograd || kernel == FKernel::winograd_emulated) {
      ASSERT_TRUE(x86::winograd_applies(p)) << describe();
      const auto packed = x86::pack_winograd_f32(p, w, b, act);
      if (kernel == FKernel::winograd) x86::avx512::winograd_conv3x3_f32(p, packed, x.data(), nullptr, fast.data());
      else x86::avx512_emulated::winograd_conv3x3_f32(p, packed, x.data(), nullptr, fast.data());
      for (std::size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(fast[i], ref[i], 1e-5 * scale) << describe() << " at output " << i;
      if (kernel == FKernel::winograd) {  // the emulated build computes the same, bit for bit
        std::vector<float> emulated(ref.size(), NAN);
        x86::avx512_emulated::winograd_conv3x3_f32(p, packed, x.data(), nullptr, emulated.data());
        for (std::size_t i = 0; i < ref.size(); ++i)
          ASSERT_EQ(std::bit_cast<std::uint32_t>(fast[i]), std::bit_cast<std::uint32_t>(emulated[i])) << describe() << " at output " << i;
      }
      return;
    }
    // Packed with the sizes known (tap offsets computed once) or not.
    auto run_fast = [&](const Conv2DParams& packed_geometry, std::vector<float>& out) {
      if (kernel == FKernel::avx2_depthwise)
        return x86::depthwise_f32_avx2(p, x86::pack_depthwise_f32(packed_geometry, w, b, act), x.data(), out.data());
      const auto packed = x86::pack_conv_f32(packed_geometry, w, b, act);
      switch (kernel) {
        case FKernel::avx2: case FKernel::avx2_depthwise: return x86::conv2d_f32_avx2(p, packed, x.data(), out.data());
        case FKernel::avx512: return x86::avx512::conv2d_f32(p, packed, x.data(), out.data());
        case FKernel::avx512_emulated: return x86::avx512_emulated::conv2d_f32(p, packed, x.data(), out.data());
        case FKernel::winograd: case FKernel::winograd_emulated: break;  // handled above
      }
    };
    run_fast(p, fast);
    Conv2DParams unsized = p;
    unsized.in_h = unsized.in_w = unsized.out_h = unsized.out_w = 0;
    std::vector<float> fast_unsized(ref.size(), NAN);
    run_fast(unsized, fast_unsized);
    ASSERT_EQ(fast_unsized, fast) << describe();
    if (kernel == FKernel::avx512 || kernel == FKernel::avx512_emulated) {
      std::vector<float> avx2(ref.size(), NAN);
      x86::conv2d_f32_avx2(p, x86::pack_conv_f32(p, w, b, act), x.data(), avx2.data());
      for (std::size_t i = 0; i < ref.size(); ++i)
        ASSERT_EQ(std::bit_cast<std::uint32_t>(fast[i]), std::bit_cast<std::uint32_t>(avx2[i]))
            << describe() << " at output " << i << ": " << fast[i] << " vs the AVX2 kernel's " << avx2[i];
    }
    for (std::size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(fast[i], ref[i], 1e-5 * scale) << describe() << " at output " << i;
  }

  // TX activations, TW weights, TY outputs; per_channel weight scales; fixed: requant mode.
  template <typename TX, typename TW, typename TY>
  void run_q(bool per_channel, bool fixed, QKernel kernel = QKernel::avx2) {
    Conv2DParams p = complete();
    auto draw = [&](auto lo, auto hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); };
    std::vector<TX> x(static_cast<std::size_t>(p.batch * p.in_channels * p.in_h * p.in_w));
    std::vector<TW> w(static_cast<std::size_t>(p.out_channels * (p.in_channels / p.group) * p.kernel_h * p.kernel_w));
    for (auto& v : x) v = static_cast<TX>(draw(std::numeric_limits<TX>::min(), std::numeric_limits<TX>::max()));
    const std::int32_t x_zp = draw(std::numeric_limits<TX>::min(), std::numeric_limits<TX>::max());
    const std::size_t channels = per_channel ? static_cast<std::size_t>(p.out_channels) : 1;
    std::vector<std::int32_t> w_zp(channels), bias(static_cast<std::size_t>(p.out_channels));
    for (auto& v : w_zp) v = std::is_same_v<TW, std::int8_t> ? 0 : draw(0, 255);
    // The VNNI kernel takes w - w_zp as a signed byte: draw weights within
    // that reach of their channel's zero point (all of s8 when it is 0).
    const bool byte_weights = kernel != QKernel::avx2;
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::int32_t zp = w_zp[per_channel ? i / (w.size() / channels) : 0];
      const int lo = byte_weights ? std::max<int>(std::numeric_limits<TW>::min(), zp - 128) : std::numeric_limits<TW>::min();
      const int hi = byte_weights ? std::min<int>(std::numeric_limits<TW>::max(), zp + 127) : std::numeric_limits<TW>::max();
      w[i] = static_cast<TW>(draw(lo, hi));
    }
    for (auto& v : bias) v = draw(-20000, 20000);
    Requantizer r;
    r.mode = fixed ? kernels::RequantMode::fixed_point : kernels::RequantMode::float_multiplier;
    // Multipliers from tiny to large enough that many outputs saturate.
    // Every fourth channel's multiplier is near 1 (0.35 to 1): fixed-point
    // shifts of 31 and 32 on both sides of the epilogue's two routes.
    std::uniform_real_distribution<float> log_m(-18.f, -4.f), near_one(-1.5f, 0.f);
    for (std::size_t c = 0; c < channels; ++c) {
      const float m = std::exp2(c % 4 == 3 ? near_one(rng_) : log_m(rng_));
      r.multipliers.push_back(m);
      r.fixed.push_back(kernels::to_fixed_multiplier(m));
    }
    r.zero_point = draw(std::numeric_limits<TY>::min(), std::numeric_limits<TY>::max());
    r.qmin = std::numeric_limits<TY>::min();
    r.qmax = std::numeric_limits<TY>::max();

    const std::size_t outputs = static_cast<std::size_t>(p.batch * p.out_channels * p.out_h * p.out_w);
    std::vector<std::int32_t> acc(outputs);
    std::vector<TY> ref(outputs), fast(outputs);
    qlinear_conv_accumulate<TX, TW>(p, x, x_zp, w, w_zp, bias, acc);
    requantize_channels<TY>(p.batch, p.out_channels, p.out_h * p.out_w, acc, r, ref);
    // Packed with the sizes known (tap offsets computed once) or not.
    auto run_fast = [&](const Conv2DParams& packed_geometry, std::vector<TY>& out) {
      const std::span<const TW> weights(w);
      switch (kernel) {
        case QKernel::avx2:
          x86::qlinear_conv_avx2<TX, TY>(p, x86::pack_conv_q<TW>(packed_geometry, weights, w_zp, bias, x_zp, r), x.data(), out.data());
          return;
        case QKernel::avx2_depthwise:
          x86::qlinear_depthwise_avx2<TX, TY>(p, x86::pack_depthwise_q<TW>(packed_geometry, weights, w_zp, bias, x_zp, r), x.data(),
                                              out.data());
          return;
        case QKernel::avx512_vnni: {
          const auto packed = x86::pack_conv_q_vnni<TX, TW>(packed_geometry, weights, w_zp, bias, x_zp, r);
          ASSERT_TRUE(packed.has_value()) << "weights within a signed byte of their zero point were refused";
          x86::avx512_vnni::qlinear_conv<TX, TY>(p, *packed, x.data(), out.data());
          return;
        }
        case QKernel::avx512_vnni_emulated: {
          const auto packed = x86::pack_conv_q_vnni<TX, TW>(packed_geometry, weights, w_zp, bias, x_zp, r);
          ASSERT_TRUE(packed.has_value()) << "weights within a signed byte of their zero point were refused";
          x86::avx512_vnni_emulated::qlinear_conv<TX, TY>(p, *packed, x.data(), out.data());
          return;
        }
      }
    };
    run_fast(p, fast);
    Conv2DParams unsized = p;
    unsized.in_h = unsized.in_w = unsized.out_h = unsized.out_w = 0;
    std::vector<TY> fast_unsized(outputs);
    run_fast(unsized, fast_unsized);
    ASSERT_EQ(fast_unsized, fast) << describe();
    for (std::size_t i = 0; i < outputs; ++i)
      ASSERT_EQ(static_cast<int>(fast[i]), static_cast<int>(ref[i]))
          << describe() << (per_channel ? " per-channel" : " per-tensor") << (fixed ? " fixed" : " float")
          << " x_zp " << x_zp << " y_zp " << r.zero_point << " at output " << i << " (accumulator " << acc[i] << ")";
  }

 private:
  Conv2DParams complete() const {
    Conv2DParams p = p_;
    p.out_h = out_size(p.in_h, p.kernel_h, p.stride_h, p.dilation_h, p.pad_top, pad_bottom_);
    p.out_w = out_size(p.in_w, p.kernel_w, p.stride_w, p.dilation_w, p.pad_left, pad_right_);
    return p;
  }
  Conv2DParams p_;
  std::int64_t pad_bottom_ = 0, pad_right_ = 0;
  std::mt19937 rng_{1234};
};

// Named geometries: ResNet8's layers, odd channel counts (an unpaired input
// channel), narrow and wide rows (both block layouts and partial blocks),
// strides 2 and 3, dilation, asymmetric and large pads.
struct ConvCase {
  const char* name;
  std::int64_t n, cin, cout, h, w, kh, kw, sh, sw, dil, pt, pl, pb, pr;
};
const ConvCase kConvCases[] = {
    {"resnet8_first", 1, 3, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"resnet8_stage1", 2, 16, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"resnet8_stride2_same", 1, 16, 32, 32, 32, 3, 3, 2, 2, 1, 0, 0, 1, 1},
    {"resnet8_shortcut_1x1_stride2", 1, 32, 64, 16, 16, 1, 1, 2, 2, 1, 0, 0, 0, 0},
    {"resnet8_stage3", 1, 64, 64, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"dense_as_1x1", 3, 64, 10, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
    {"odd_channels_partial_panel", 1, 5, 7, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"wide_row_partial_block", 1, 4, 6, 5, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"narrow_odd_rows", 2, 3, 5, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"stride3_kernel5_asymmetric", 1, 6, 9, 23, 29, 5, 5, 3, 3, 1, 2, 1, 0, 2},
    {"stride2_by_1", 1, 3, 4, 12, 20, 3, 3, 2, 1, 1, 1, 0, 1, 1},
    {"wide_stride2_odd_width", 1, 5, 8, 6, 71, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {"dilation2", 1, 4, 8, 19, 21, 3, 3, 1, 1, 2, 2, 2, 2, 2},
    {"rectangular_kernel_big_pads", 1, 2, 3, 6, 18, 2, 4, 1, 2, 1, 3, 4, 2, 5},
    {"valid_no_padding", 1, 8, 12, 16, 16, 3, 3, 1, 1, 1, 0, 0, 0, 0},
};

FastConvTester tester_for(const ConvCase& c, unsigned seed) {
  return FastConvTester().batch(c.n).channels(c.cin, c.cout).input(c.h, c.w).kernel(c.kh, c.kw).stride(c.sh, c.sw)
      .dilation(c.dil).pads(c.pt, c.pl, c.pb, c.pr).seed(seed);
}

void check_every_f32_case(FKernel kernel) {
  unsigned seed = 1;
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE(c.name);
    tester_for(c, seed++).run_f32({}, kernel);
    tester_for(c, seed++).run_f32({Activation::Kind::relu}, kernel);
    tester_for(c, seed++).run_f32({Activation::Kind::clip, -0.25f, 0.5f}, kernel);
  }
}

TEST(FastConvF32, MatchesReferenceOnEveryCase) {
  REQUIRE_AVX2();
  check_every_f32_case(FKernel::avx2);
}

// Every named case x {u8/s8 activations and weights, outputs} x {per-tensor,
// per-channel} x {float, fixed-point requantization}, on one kernel.
void check_every_case(QKernel kernel) {
  unsigned seed = 100;
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE(c.name);
    for (bool per_channel : {false, true})
      for (bool fixed : {false, true}) {
        tester_for(c, seed++).run_q<std::uint8_t, std::int8_t, std::uint8_t>(per_channel, fixed, kernel);
        tester_for(c, seed++).run_q<std::uint8_t, std::uint8_t, std::uint8_t>(per_channel, fixed, kernel);
        tester_for(c, seed++).run_q<std::int8_t, std::int8_t, std::int8_t>(per_channel, fixed, kernel);
        tester_for(c, seed++).run_q<std::uint8_t, std::int8_t, std::int8_t>(per_channel, fixed, kernel);
        tester_for(c, seed++).run_q<std::int8_t, std::int8_t, std::uint8_t>(per_channel, fixed, kernel);
      }
  }
}

// 60 random geometries (channels 1-13, kernels 1-4, strides 1-3, dilation,
// pads) on an integer or a float kernel.
template <typename Kernel>
void check_random_geometries(Kernel kernel) {
  std::mt19937 rng(42);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 60; ++i) {
    const int k = pick(1, 4), s = pick(1, 3), d = pick(1, 2);
    ConvCase c{"random", pick(1, 2), pick(1, 12), pick(1, 13), pick(k * d, 24), pick(k * d, 40), k, pick(1, 4), s, pick(1, 3),
               d, pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)};
    if (c.pt >= c.kh * c.dil || c.pl >= c.kw * c.dil) c.pt = c.pl = 0;  // keep every output touching the image
    if (c.w < c.kw * c.dil) c.w = c.kw * c.dil;
    auto t = tester_for(c, static_cast<unsigned>(1000 + i));
    SCOPED_TRACE(t.describe());
    if constexpr (std::is_same_v<Kernel, FKernel>) {
      t.run_f32({Activation::Kind::relu}, kernel);
    } else {
      t.run_q<std::uint8_t, std::int8_t, std::uint8_t>(i % 2 == 0, i % 3 == 0, kernel);
      if (i % 4 == 1) tester_for(c, static_cast<unsigned>(3000 + i)).run_q<std::uint8_t, std::uint8_t, std::int8_t>(true, false, kernel);
    }
  }
}

TEST(FastConvF32Avx512, EqualsTheAvx2KernelAndMatchesTheReference) {
  REQUIRE_AVX512();
  check_every_f32_case(FKernel::avx512);
  check_random_geometries(FKernel::avx512);
}

TEST(EmulatedConvF32Avx512, EqualsTheAvx2KernelAndMatchesTheReference) {
  REQUIRE_AVX2();
  check_every_f32_case(FKernel::avx512_emulated);
  check_random_geometries(FKernel::avx512_emulated);
}

// Winograd F(2x2, 3x3): every geometry it takes (tile rows of 4, 8, 16 and
// 32 tiles; one or more blocks, a partial last block; partial weight panels;
// every pad from 0 to 2 on each side, so windows that start left of the image
// and run past it), each activation, within the reference's 1e-5.
void check_winograd_geometries(FKernel kernel) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const Activation activations[] = {{}, {Activation::Kind::relu}, {Activation::Kind::clip, -0.25f, 0.5f}};
  const std::int64_t widths[] = {8, 16, 32, 64};  // out_w: 4, 8, 16, 32 tiles a row
  for (int i = 0; i < 40; ++i) {
    const std::int64_t out_w = widths[i % 4], out_h = 2 * pick(1, i % 4 == 3 ? 5 : 12);
    const int pt = pick(0, 2), pb = pick(0, 2), pl = pick(0, 2), pr = pick(0, 2);
    auto t = FastConvTester()
                 .batch(pick(1, 2))
                 .channels(pick(1, 40), pick(1, 40))
                 .input(out_h + 2 - pt - pb, out_w + 2 - pl - pr)
                 .kernel(3, 3)
                 .pads(pt, pl, pb, pr)
                 .seed(static_cast<unsigned>(5000 + i));
    SCOPED_TRACE(t.describe());
    t.run_f32(activations[i % 3], kernel);
  }
  // ResNet8's three stride-1 layers.
  tester_for(kConvCases[1], 77).run_f32({Activation::Kind::relu}, kernel);
  tester_for(kConvCases[4], 78).run_f32({}, kernel);
  FastConvTester().channels(32, 32).input(16, 16).kernel(3, 3).pads(1, 1, 1, 1).seed(79).run_f32({}, kernel);
}

TEST(FastConvF32Winograd, MatchesReferenceAndItsEmulatedBuild) {
  REQUIRE_AVX512();
  check_winograd_geometries(FKernel::winograd);
}

TEST(EmulatedConvF32Winograd, MatchesReference) {
  REQUIRE_AVX2();
  check_winograd_geometries(FKernel::winograd_emulated);
}

TEST(FastConvF32Winograd, TakesOnlyTheGeometriesItComputes) {
  Conv2DParams p;
  p.in_channels = p.out_channels = 16, p.kernel_h = p.kernel_w = 3, p.pad_top = p.pad_left = 1;
  p.in_h = p.in_w = p.out_h = p.out_w = 32;
  EXPECT_TRUE(x86::winograd_applies(p));
  Conv2DParams q = p;
  q.out_w = q.in_w = 30;  // 15 tiles a row
  EXPECT_FALSE(x86::winograd_applies(q));
  q = p, q.out_h = q.in_h = 31;  // odd rows
  EXPECT_FALSE(x86::winograd_applies(q));
  q = p, q.stride_h = q.stride_w = 2, q.out_h = q.out_w = 16;
  EXPECT_FALSE(x86::winograd_applies(q));
  q = p, q.kernel_h = q.kernel_w = 1, q.pad_top = q.pad_left = 0;
  EXPECT_FALSE(x86::winograd_applies(q));
  q = p, q.in_h = q.in_w = q.out_h = q.out_w = 0;  // sizes unknown
  EXPECT_FALSE(x86::winograd_applies(q));
}

TEST(FastQLinearConv, BitExactForEveryTypeGranularityAndRequantMode) {
  REQUIRE_AVX2();
  check_every_case(QKernel::avx2);
}

TEST(FastQLinearConv, RandomGeometries) {
  REQUIRE_AVX2();
  check_random_geometries(QKernel::avx2);
  check_random_geometries(FKernel::avx2);
}

// Depthwise: named geometries (MobileNet's 3x3 stride 1 and 2, odd windows
// whose last tap pairs with nothing, wide and narrow rows) and random ones.
TEST(FastDepthwise, IntegerBitExactAndFloatWithinTheReference) {
  REQUIRE_AVX2();
  const ConvCase cases[] = {
      {"mobilenet_3x3", 1, 32, 32, 24, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"mobilenet_3x3_stride2_same", 2, 16, 16, 24, 24, 3, 3, 2, 2, 1, 0, 0, 1, 1},
      {"ds_cnn_3x3_rectangular", 1, 8, 8, 25, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"kernel_5x5_stride3_pads", 1, 5, 5, 23, 29, 5, 5, 3, 3, 1, 2, 1, 0, 2},
      {"kernel_2x4_dilation2", 1, 3, 3, 19, 41, 2, 4, 1, 2, 2, 1, 3, 2, 1},
      {"kernel_1x1", 1, 7, 7, 9, 11, 1, 1, 1, 1, 1, 0, 0, 0, 0},
  };
  unsigned seed = 500;
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    for (bool per_channel : {false, true})
      for (bool fixed : {false, true}) {
        tester_for(c, seed++).depthwise().run_q<std::uint8_t, std::int8_t, std::uint8_t>(per_channel, fixed, QKernel::avx2_depthwise);
        tester_for(c, seed++).depthwise().run_q<std::uint8_t, std::uint8_t, std::int8_t>(per_channel, fixed, QKernel::avx2_depthwise);
        tester_for(c, seed++).depthwise().run_q<std::int8_t, std::int8_t, std::int8_t>(per_channel, fixed, QKernel::avx2_depthwise);
      }
  }
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    tester_for(c, seed++).depthwise().run_f32({}, FKernel::avx2_depthwise);
    tester_for(c, seed++).depthwise().run_f32({Activation::Kind::clip, 0.f, 0.5f}, FKernel::avx2_depthwise);
  }
  std::mt19937 rng(77);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 40; ++i) {
    const int k = pick(1, 5), s = pick(1, 3), d = pick(1, 2);
    const std::int64_t ch = pick(1, 9);
    ConvCase c{"random", pick(1, 2), ch, ch, pick(k * d, 20), pick(k * d, 40), k, pick(1, 5), s, pick(1, 3), d,
               pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)};
    if (c.pt >= c.kh * c.dil || c.pl >= c.kw * c.dil) c.pt = c.pl = 0;
    if (c.w < c.kw * c.dil) c.w = c.kw * c.dil;
    auto t = tester_for(c, static_cast<unsigned>(4000 + i)).depthwise();
    SCOPED_TRACE(t.describe());
    t.run_q<std::uint8_t, std::int8_t, std::uint8_t>(i % 2 == 0, i % 3 == 0, QKernel::avx2_depthwise);
    tester_for(c, static_cast<unsigned>(5000 + i)).depthwise().run_f32({Activation::Kind::relu}, FKernel::avx2_depthwise);
  }
}

TEST(FastQLinearConvVnni, BitExactForEveryTypeGranularityAndRequantMode) {
  REQUIRE_AVX512_VNNI();
  check_every_case(QKernel::avx512_vnni);
  check_random_geometries(QKernel::avx512_vnni);
}

// Geometries for the VNNI kernel's 64-positions-at-a-time fill (rows of a
// multiple of 16 or, at stride 1, rows of 8 in pairs; strides 1 and 2): a
// plane that ends inside a 64-byte step (16 x 3), a quad with missing
// channels, odd left pads that swap the column phases, a 2x2 stride-2 kernel,
// wide pads; and two it must leave to the row writers (odd rows of 8, a
// dilated stride-2 kernel that reads only even phases).
const ConvCase kWideFillCases[] = {
    {"w16_h3_plane_tail", 2, 5, 8, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"w8_h6_row_pairs", 1, 7, 8, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"w8_h5_odd_rows", 1, 4, 8, 5, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {"w48_stride2_odd_left_pad", 1, 6, 8, 10, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1},
    {"w16_stride2_same", 2, 4, 8, 16, 16, 3, 3, 2, 2, 1, 0, 0, 1, 1},
    {"w32_stride2_kernel2", 1, 3, 4, 8, 32, 2, 2, 2, 2, 1, 0, 0, 0, 0},
    {"w16_kernel5_pads2", 1, 9, 6, 4, 16, 5, 5, 1, 1, 1, 2, 2, 2, 2},
    {"w32_stride2_dilation2", 1, 4, 4, 12, 32, 3, 3, 2, 2, 2, 2, 2, 2, 2},
};

void check_wide_fill_cases(QKernel kernel) {
  unsigned seed = 7000;
  for (const ConvCase& c : kWideFillCases) {
    SCOPED_TRACE(c.name);
    tester_for(c, seed++).run_q<std::uint8_t, std::int8_t, std::uint8_t>(false, false, kernel);
    tester_for(c, seed++).run_q<std::int8_t, std::int8_t, std::int8_t>(true, true, kernel);
  }
}

TEST(FastQLinearConvVnni, WideFillGeometries) {
  REQUIRE_AVX512_VNNI();
  check_wide_fill_cases(QKernel::avx512_vnni);
}

TEST(EmulatedQLinearConvVnni, WideFillGeometries) {
  REQUIRE_AVX2();
  check_wide_fill_cases(QKernel::avx512_vnni_emulated);
}

// The VNNI kernel's source on SIMDe's AVX-512 intrinsics: its blocking,
// packing, zero-point folding and stores checked on any AVX2 machine.
TEST(EmulatedQLinearConvVnni, BitExactForEveryTypeGranularityAndRequantMode) {
  REQUIRE_AVX2();
  check_every_case(QKernel::avx512_vnni_emulated);
  check_random_geometries(QKernel::avx512_vnni_emulated);
}

TEST(EmulatedQLinearConvVnni, RefusesWeightsBeyondASignedByteOfTheirZeroPoint) {
  REQUIRE_AVX2();
  Conv2DParams p;
  p.in_channels = 2, p.out_channels = 2, p.kernel_h = p.kernel_w = 1;
  Requantizer r;
  r.multipliers = {0.01f};
  const std::vector<std::int32_t> bias(2, 0);
  // u8 weights with zero point 0: 200 - 0 needs 9 bits; 127 fits.
  const std::vector<std::uint8_t> too_big{1, 2, 200, 3};
  const std::vector<std::uint8_t> fits{1, 2, 127, 3};
  EXPECT_FALSE((x86::pack_conv_q_vnni<std::uint8_t, std::uint8_t>(p, too_big, {{0}}, bias, 0, r)));
  EXPECT_TRUE((x86::pack_conv_q_vnni<std::uint8_t, std::uint8_t>(p, fits, {{0}}, bias, 0, r)));
  // With zero point 128 all of u8 fits: w - 128 in [-128, 127].
  const std::vector<std::uint8_t> extremes{0, 255, 128, 7};
  EXPECT_TRUE((x86::pack_conv_q_vnni<std::uint8_t, std::uint8_t>(p, extremes, {{128}}, bias, 0, r)));
}

TEST(FastQuantizeLinear, BitExactIncludingTiesNanAndSaturation) {
  REQUIRE_AVX2();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-400.f, 400.f);
  std::vector<float> x(1003);
  for (auto& v : x) v = u(rng);
  // Ties at the chosen scale (x / 0.5 = k + 0.5), specials, the clamp edges.
  const float special[] = {0.25f, 0.75f, -0.25f, -0.75f, 1.25f, NAN, INFINITY, -INFINITY, 127.75f, -64.25f, 0.f, -0.f};
  std::copy(std::begin(special), std::end(special), x.begin());
  for (std::int32_t zp : {0, 3, 128, 255}) {
    std::vector<std::uint8_t> ref(x.size()), fast(x.size());
    quantize_linear<std::uint8_t>(x, 0.5f, zp, ref);
    x86::quantize_linear_avx2<std::uint8_t>(x, 0.5f, zp, fast);
    EXPECT_EQ(fast, ref) << "u8 zero point " << zp;
  }
  for (std::int32_t zp : {-128, -5, 0, 127}) {
    std::vector<std::int8_t> ref(x.size()), fast(x.size());
    quantize_linear<std::int8_t>(x, 0.5f, zp, ref);
    x86::quantize_linear_avx2<std::int8_t>(x, 0.5f, zp, fast);
    EXPECT_EQ(fast, ref) << "s8 zero point " << zp;
  }
}

template <typename T>
using QAddKernel = void (*)(const QAddParams&, std::span<const T>, std::span<const T>, std::span<T>);

template <typename T>
void check_qlinear_add(std::mt19937& rng, QAddKernel<T> kernel) {
  std::uniform_int_distribution<int> q(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  std::uniform_real_distribution<float> s(0.001f, 0.2f);
  for (int trial = 0; trial < 50; ++trial) {
    QAddParams p;
    p.a_scale = s(rng), p.b_scale = s(rng), p.c_scale = s(rng) * (trial % 5 == 0 ? 0.05f : 1.f);  // some saturate
    p.a_zp = q(rng), p.b_zp = q(rng), p.c_zp = q(rng);
    p.qmin = std::numeric_limits<T>::min(), p.qmax = std::numeric_limits<T>::max();
    const std::size_t n = trial % 2 ? 517 : 15;  // odd lengths: a vector tail, or the tail alone
    std::vector<T> a(n), b(n), ref(n), fast(n);
    for (auto& v : a) v = static_cast<T>(q(rng));
    for (auto& v : b) v = static_cast<T>(q(rng));
    for (auto mode : {RequantMode::float_multiplier, RequantMode::fixed_point}) {
      p.mode = mode;
      ASSERT_TRUE(mode == RequantMode::float_multiplier || x86::qlinear_add_fixed_fits_avx2(p));
      qlinear_add<T>(p, a, b, ref);
      kernel(p, a, b, fast);
      ASSERT_EQ(fast, ref) << "trial " << trial << (mode == RequantMode::fixed_point ? " fixed" : " float") << " scales "
                           << p.a_scale << " " << p.b_scale << " " << p.c_scale;
    }
  }
}

TEST(FastQLinearAdd, BitExactInBothRequantModes) {
  REQUIRE_AVX2();
  std::mt19937 rng(11);
  check_qlinear_add<std::uint8_t>(rng, x86::qlinear_add_avx2<std::uint8_t>);
  check_qlinear_add<std::int8_t>(rng, x86::qlinear_add_avx2<std::int8_t>);
}

TEST(FastQLinearAddAvx512, BitExactInBothRequantModes) {
  REQUIRE_AVX512();
  std::mt19937 rng(11);
  check_qlinear_add<std::uint8_t>(rng, x86::qlinear_add_avx512<std::uint8_t>);
  check_qlinear_add<std::int8_t>(rng, x86::qlinear_add_avx512<std::int8_t>);
}

// Gemm / MatMul: every transpose combination, alpha and beta, C absent or
// broadcast as a row, a column or full, column counts around the 8-lane
// width; bit for bit (the same multiply, then add, per lane in k order).
TEST(FastGemm, BitExactWithTheReference) {
  REQUIRE_AVX2();
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (int trial = 0; trial < 48; ++trial) {
    GemmParams p;
    p.m = 1 + trial % 5, p.n = 1 + (trial * 7) % 19, p.k = 1 + (trial * 5) % 37;
    p.trans_a = trial % 2, p.trans_b = (trial / 2) % 2;
    p.alpha = trial % 3 ? 1.f : 0.75f, p.beta = trial % 4 ? 1.f : -0.5f;
    std::vector<float> a(p.m * p.k), b(p.k * p.n), c, ref(p.m * p.n), fast(p.m * p.n);
    for (auto& v : a) v = u(rng);
    for (auto& v : b) v = u(rng);
    switch (trial % 4) {
      case 0: break;                                                           // no C
      case 1: c.resize(p.n), p.c_stride_m = 0, p.c_stride_n = 1; break;        // a row
      case 2: c.resize(p.m), p.c_stride_m = 1, p.c_stride_n = 0; break;        // a column
      default: c.resize(p.m * p.n), p.c_stride_m = p.n, p.c_stride_n = 1; break;  // full
    }
    for (auto& v : c) v = u(rng);
    gemm_f32(p, a, b, c, ref);
    x86::gemm_f32_avx2(p, a, x86::pack_gemm_b(p, b), c, fast);
    ASSERT_EQ(fast, ref) << "trial " << trial << ": m " << p.m << " n " << p.n << " k " << p.k << " transA " << p.trans_a
                         << " transB " << p.trans_b;
  }
}

// QLinearMatMul's integer core: odd and even k, per-tensor and per-column
// zero points, u8 and s8 operands at their extremes; bit for bit.
template <typename TA, typename TB>
void check_qmatmul(std::mt19937& rng) {
  auto code = [&](auto t) { return std::uniform_int_distribution<int>(std::numeric_limits<decltype(t)>::min(), std::numeric_limits<decltype(t)>::max())(rng); };
  for (int trial = 0; trial < 24; ++trial) {
    const std::int64_t m = 1 + trial % 4, n = 1 + (trial * 5) % 21, k = 1 + (trial * 3) % 29;
    std::vector<TA> a(m * k);
    std::vector<TB> b(k * n);
    for (auto& v : a) v = static_cast<TA>(code(TA{}));
    for (auto& v : b) v = static_cast<TB>(code(TB{}));
    if (trial == 0) std::fill(a.begin(), a.end(), std::numeric_limits<TA>::min()), std::fill(b.begin(), b.end(), std::numeric_limits<TB>::max());
    std::vector<std::int32_t> b_zp(trial % 2 ? n : 1);
    for (auto& z : b_zp) z = code(TB{});
    const std::int32_t a_zp = code(TA{});
    std::vector<std::int32_t> ref(m * n), fast(m * n);
    qlinear_matmul_accumulate<TA, TB>(m, n, k, a, a_zp, b, b_zp, ref);
    x86::qlinear_matmul_accumulate_avx2<TA>(m, n, k, a, a_zp, x86::pack_qmatmul_b<TB>(k, n, b, b_zp), fast);
    ASSERT_EQ(fast, ref) << "trial " << trial << ": m " << m << " n " << n << " k " << k;
  }
}

TEST(FastQLinearMatMul, BitExactWithTheReference) {
  REQUIRE_AVX2();
  std::mt19937 rng(22);
  check_qmatmul<std::uint8_t, std::int8_t>(rng);
  check_qmatmul<std::uint8_t, std::uint8_t>(rng);
  check_qmatmul<std::int8_t, std::int8_t>(rng);
}

// DequantizeLinear per tensor and per channel (axis sizes and inner runs not
// multiples of 8), u8, s8 and s32; bit for bit.
template <typename T>
void check_dequantize(std::mt19937& rng) {
  std::uniform_int_distribution<int> code(-1000, 1000);
  for (int trial = 0; trial < 12; ++trial) {
    const std::int64_t axis_size = trial % 2 ? 1 + trial : 1, inner = 1 + (trial * 7) % 23, outer = 1 + trial % 3;
    std::vector<T> x(outer * axis_size * inner);
    for (auto& v : x) v = static_cast<T>(std::is_same_v<T, std::int32_t> ? code(rng) * 1000 : code(rng));
    std::vector<float> scales(axis_size);
    std::vector<std::int32_t> zps(axis_size);
    for (std::int64_t c = 0; c < axis_size; ++c) scales[c] = 0.01f * static_cast<float>(1 + (c * 13 + trial) % 17), zps[c] = code(rng) % 100;
    std::vector<float> ref(x.size()), fast(x.size());
    dequantize_linear<T>(x, scales, zps, axis_size, inner, ref);
    x86::dequantize_linear_avx2<T>(x, scales, zps, axis_size, inner, fast);
    ASSERT_EQ(fast, ref) << "trial " << trial;
  }
}

TEST(FastDequantizeLinear, BitExactPerTensorAndPerChannel) {
  REQUIRE_AVX2();
  std::mt19937 rng(23);
  check_dequantize<std::uint8_t>(rng);
  check_dequantize<std::int8_t>(rng);
  check_dequantize<std::int32_t>(rng);
}

// Global average pooling: float means within 1e-5 relative of the reference
// (8 partial sums: another order); the quantized kernel's plane sums exact.
TEST(FastGlobalAveragePool, FloatWithinTheReferenceAndIntegerSumsExact) {
  REQUIRE_AVX2();
  std::mt19937 rng(24);
  for (std::int64_t plane : {1, 7, 8, 31, 32, 33, 64, 100, 1024}) {
    const std::int64_t planes = 5;
    std::vector<float> x(planes * plane), ref(planes), fast(planes);
    std::uniform_real_distribution<float> u(0.f, 6.f);
    for (auto& v : x) v = u(rng);
    global_average_pool_f32(planes, plane, x, ref);
    x86::global_average_pool_f32_avx2(planes, plane, x, fast);
    for (std::int64_t i = 0; i < planes; ++i) EXPECT_NEAR(fast[i], ref[i], 1e-5 * std::abs(ref[i])) << "plane " << plane;
    std::vector<std::uint8_t> xu(planes * plane);
    std::vector<std::int8_t> xs(planes * plane);
    for (std::size_t i = 0; i < xu.size(); ++i) xu[i] = static_cast<std::uint8_t>(rng()), xs[i] = static_cast<std::int8_t>(rng());
    if (plane == 1024) std::fill(xu.begin(), xu.end(), 255), std::fill(xs.begin(), xs.end(), -128);  // the extremes
    std::vector<std::int32_t> su(planes), ss(planes);
    x86::plane_sums_avx2<std::uint8_t>(planes, plane, xu, su);
    x86::plane_sums_avx2<std::int8_t>(planes, plane, xs, ss);
    for (std::int64_t i = 0; i < planes; ++i) {
      std::int32_t eu = 0, es = 0;
      for (std::int64_t j = 0; j < plane; ++j) eu += xu[i * plane + j], es += xs[i * plane + j];
      EXPECT_EQ(su[i], eu) << "u8 plane " << plane;
      EXPECT_EQ(ss[i], es) << "s8 plane " << plane;
    }
  }
}

// Windowed pooling: 60 random geometries (windows 1-4, strides 1-3, pads
// 0-2 per side, with and without count_include_pad, rows wide enough for the
// 8-column vector path); float average and max (one NaN among the inputs)
// and the quantized max and average bit for bit.
std::vector<std::uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<std::uint32_t> b(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) b[i] = std::bit_cast<std::uint32_t>(v[i]);
  return b;
}

template <typename T>
void check_quantized_pools(const Pool2DParams& p, std::mt19937& rng, const std::string& where) {
  std::vector<T> x(p.batch * p.channels * p.in_h * p.in_w), ref(p.batch * p.channels * p.out_h * p.out_w), fast(ref.size());
  for (auto& v : x) v = static_cast<T>(rng());
  max_pool2d_quantized<T>(p, x, ref);
  x86::max_pool2d_quantized_avx2<T>(p, x, fast);
  ASSERT_EQ(fast, ref) << "max " << where;
  QAveragePoolParams q;
  q.pool = p;
  q.x_scale = 0.02f + 0.001f * static_cast<float>(rng() % 50), q.y_scale = 0.015f + 0.001f * static_cast<float>(rng() % 50);
  q.x_zero_point = static_cast<std::int32_t>(static_cast<T>(rng())), q.y_zero_point = static_cast<std::int32_t>(static_cast<T>(rng()));
  qlinear_average_pool2d<T>(q, x, ref);
  x86::qlinear_average_pool2d_avx2<T>(q, x, fast);
  ASSERT_EQ(fast, ref) << "average " << where;
}

TEST(FastPooling, BitExactWithTheReference) {
  REQUIRE_AVX2();
  std::mt19937 rng(25);
  auto pick = [&](int lo, int hi) { return static_cast<std::int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (int trial = 0; trial < 60; ++trial) {
    Pool2DParams p;
    p.batch = pick(1, 2), p.channels = pick(1, 3), p.kernel_h = pick(1, 4), p.kernel_w = pick(1, 4);
    p.stride_h = pick(1, 3), p.stride_w = pick(1, 3);
    p.pad_top = pick(0, p.kernel_h - 1), p.pad_left = pick(0, p.kernel_w - 1);
    p.pad_bottom = pick(0, p.kernel_h - 1), p.pad_right = pick(0, p.kernel_w - 1);
    p.in_h = pick(p.kernel_h, 12), p.in_w = pick(p.kernel_w + 16, 50);
    p.count_include_pad = trial % 2;
    p.out_h = (p.in_h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
    p.out_w = (p.in_w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
    std::ostringstream where;
    where << "trial " << trial << ": " << p.in_h << "x" << p.in_w << " window " << p.kernel_h << "x" << p.kernel_w << " stride "
          << p.stride_h << "," << p.stride_w << " pads " << p.pad_top << "," << p.pad_left << "," << p.pad_bottom << "," << p.pad_right;
    std::vector<float> x(p.batch * p.channels * p.in_h * p.in_w), ref(p.batch * p.channels * p.out_h * p.out_w), fast(ref.size());
    std::uniform_real_distribution<float> u(-3.f, 3.f);
    for (auto& v : x) v = u(rng);
    if (trial % 5 == 0) x[x.size() / 2] = std::numeric_limits<float>::quiet_NaN();
    average_pool2d_f32(p, x, ref);
    x86::average_pool2d_f32_avx2(p, x, fast);
    ASSERT_EQ(bits_of(fast), bits_of(ref)) << "average " << where.str();
    max_pool2d_f32(p, x, ref);
    x86::max_pool2d_f32_avx2(p, x, fast);
    ASSERT_EQ(bits_of(fast), bits_of(ref)) << "max " << where.str();
    check_quantized_pools<std::uint8_t>(p, rng, where.str());
    check_quantized_pools<std::int8_t>(p, rng, where.str());
  }
}

TEST(KernelPolicy, ParsesAndRefusesUnknownNames) {
  EXPECT_EQ(parse_kernel_policy("auto"), KernelPolicy::auto_select);
  EXPECT_EQ(parse_kernel_policy("avx2"), KernelPolicy::avx2_only);
  if (cpu_features().avx2) {
    EXPECT_EQ(parse_kernel_policy("avx512-emulated"), KernelPolicy::avx512_emulated);
    EXPECT_TRUE(use_avx512_emulated(KernelPolicy::avx512_emulated));
    EXPECT_FALSE(use_avx512(KernelPolicy::avx512_emulated));  // the real kernels are not what was asked for
  }
  EXPECT_EQ(parse_kernel_policy("reference"), KernelPolicy::reference);
  EXPECT_THROW(parse_kernel_policy("fast"), Error);
  EXPECT_FALSE(use_avx2(KernelPolicy::reference));
  EXPECT_FALSE(use_avx512(KernelPolicy::reference));
  EXPECT_FALSE(use_avx512(KernelPolicy::avx2_only));
  EXPECT_FALSE(use_avx512_vnni(KernelPolicy::avx2_only));
  EXPECT_EQ(use_avx2(KernelPolicy::avx2_only), cpu_features().avx2);
  // Each level needs the one below it.
  EXPECT_TRUE(!use_avx512_vnni(KernelPolicy::auto_select) || use_avx512(KernelPolicy::auto_select));
  EXPECT_TRUE(!use_avx512(KernelPolicy::auto_select) || use_avx2(KernelPolicy::auto_select));
}

}  // namespace
}  // namespace tinyq::kernels

namespace tinyq::kernels {
namespace {

TEST(FastStatistics, RangeAndHistogramEqualTheReference) {
  REQUIRE_AVX2();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 3.f);
  for (std::size_t n : {0u, 1u, 7u, 8u, 9u, 1000u, 4099u}) {
    std::vector<float> x(n);
    for (auto& v : x) v = normal(rng);
    const ValueRange a = value_range(x), b = x86::value_range_avx2(x);
    EXPECT_EQ(a.finite, b.finite);
    if (n) {
      EXPECT_EQ(a.min, b.min);
      EXPECT_EQ(a.max, b.max);
    }
    // Bin edges: values exactly on a boundary and past the last bin.
    if (n > 3) x[0] = 2.5f, x[1] = -2.5f, x[2] = 12.f;  // on a bin edge, and past the last bin (the observer keeps |x| * per_bin finite)
    std::vector<std::uint64_t> ha(2048), hb(2048);
    accumulate_abs_histogram(x, 2048 / 10.0, 2047, ha.data());
    x86::accumulate_abs_histogram_avx2(x, 2048 / 10.0, 2047, hb.data());
    EXPECT_EQ(ha, hb) << n << " values";
  }
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> x(37, 1.f);
    for (std::size_t at : {0u, 20u, 36u}) {
      auto y = x;
      y[at] = bad;
      EXPECT_FALSE(value_range(y).finite);
      EXPECT_FALSE(x86::value_range_avx2(y).finite) << "non-finite at " << at;
    }
  }
}

}  // namespace
}  // namespace tinyq::kernels
