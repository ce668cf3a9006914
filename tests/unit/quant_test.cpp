// Requantization, scales and calibrators against hand-derived values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "kernels/reference/quantized.h"
#include "kernels/requant.h"
#include "quant/calibration.h"
#include "quant/overrides.h"
#include "quant/qparams.h"

namespace tinyq::quant {
namespace {

using kernels::FixedMultiplier;
using kernels::from_fixed_multiplier;
using kernels::RequantMode;
using kernels::requantize_fixed;
using kernels::requantize_float;
using kernels::to_fixed_multiplier;

using ::testing::HasSubstr;

TEST(RequantFloat, TiesRoundHalfToEven) {
  // acc * 0.5: 5 -> 2.5 -> 2, 7 -> 3.5 -> 4, -5 -> -2.5 -> -2, -7 -> -3.5 -> -4 (zero point 0, s8 range).
  EXPECT_EQ(requantize_float(5, 0.5f, 0, -128, 127), 2);
  EXPECT_EQ(requantize_float(7, 0.5f, 0, -128, 127), 4);
  EXPECT_EQ(requantize_float(-5, 0.5f, 0, -128, 127), -2);
  EXPECT_EQ(requantize_float(-7, 0.5f, 0, -128, 127), -4);
  // The zero point is added after rounding: 2.5 + 10 -> 12, not 13.
  EXPECT_EQ(requantize_float(5, 0.5f, 10, 0, 255), 12);
}

TEST(RequantFloat, SaturatesToTheOutputType) {
  EXPECT_EQ(requantize_float(100000, 0.01f, 0, 0, 255), 255);      // 1000 -> 255
  EXPECT_EQ(requantize_float(-100000, 0.01f, 0, 0, 255), 0);       // -1000 -> 0
  EXPECT_EQ(requantize_float(-100000, 0.01f, -128, -128, 127), -128);
  EXPECT_EQ(requantize_float(254, 1.0f, 3, 0, 255), 255);          // 254 + 3 saturates
  EXPECT_EQ(requantize_float(std::numeric_limits<std::int32_t>::max(), 1.0f, 0, 0, 255), 255);
}

TEST(RequantFixed, MultiplierNormalization) {
  // 0.75 = 0.75 * 2^0: M0 = 0.75 * 2^31 = 1610612736, n = 31.
  auto m = to_fixed_multiplier(0.75);
  EXPECT_EQ(m.m0, 1610612736);
  EXPECT_EQ(m.shift, 31);
  // 1.0 = 0.5 * 2^1: M0 = 2^30, n = 30.
  m = to_fixed_multiplier(1.0);
  EXPECT_EQ(m.m0, 1 << 30);
  EXPECT_EQ(m.shift, 30);
  // A fraction that rounds up to 2^31 renormalizes to 2^30 with one less shift.
  m = to_fixed_multiplier(std::nextafter(1.0, 0.0));
  EXPECT_EQ(m.m0, 1 << 30);
  EXPECT_EQ(m.shift, 30);
  // Far below 2^-31: every result is the zero point.
  EXPECT_EQ(to_fixed_multiplier(1e-20).m0, 0);
  EXPECT_EQ(requantize_fixed(123456, to_fixed_multiplier(1e-20), 7, 0, 255), 7);
  EXPECT_THROW(to_fixed_multiplier(-1.0), Error);
  EXPECT_THROW(to_fixed_multiplier(std::nan("")), Error);
  // M0 * 2^-n reproduces the multiplier within 2^-31 relative, over many magnitudes.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> mantissa(0.5, 1.0);
  for (int i = 0; i < 2000; ++i) {
    const double real = std::ldexp(mantissa(rng), -(i % 30));
    const auto f = to_fixed_multiplier(real);
    EXPECT_GE(f.m0, 1 << 30);
    EXPECT_LE(std::abs(from_fixed_multiplier(f) - real) / real, std::ldexp(1.0, -31)) << real;
  }
}

TEST(RequantFixed, TiesRoundHalfUpAndSaturate) {
  const auto half = to_fixed_multiplier(0.5);
  EXPECT_EQ(requantize_fixed(5, half, 0, -128, 127), 3);    // 2.5 -> 3
  EXPECT_EQ(requantize_fixed(-5, half, 0, -128, 127), -2);  // -2.5 -> -2 (toward +inf)
  EXPECT_EQ(requantize_fixed(7, half, 0, -128, 127), 4);    // 3.5 -> 4
  EXPECT_EQ(requantize_fixed(4, half, 0, -128, 127), 2);    // exact
  EXPECT_EQ(requantize_fixed(1000, half, 0, -128, 127), 127);
  EXPECT_EQ(requantize_fixed(-1000, half, 10, 0, 255), 0);
  // The largest accumulator with the largest M0 does not overflow 64 bits.
  EXPECT_EQ(requantize_fixed(std::numeric_limits<std::int32_t>::max(), to_fixed_multiplier(0.99), 0, 0, 255), 255);
}

TEST(QParams, AsymmetricAndSymmetric) {
  // [-1, 3] in u8: scale 4/255, zero point round(0 + 1 / (4/255)) = round(63.75) = 64.
  auto p = params_for_range({-1.f, 3.f}, DType::u8, activation_int_range(DType::u8, false), false);
  EXPECT_FLOAT_EQ(p.scales[0], 4.f / 255.f);
  EXPECT_EQ(p.zero_points[0], 64);
  // A range that excludes 0 is widened to include it: [2, 4] -> [0, 4].
  p = params_for_range({2.f, 4.f}, DType::u8, activation_int_range(DType::u8, false), false);
  EXPECT_FLOAT_EQ(p.scales[0], 4.f / 255.f);
  EXPECT_EQ(p.zero_points[0], 0);
  // s8 symmetric weights [-0.5, 0.25]: scale 0.5 / 127, zero point 0.
  p = params_for_range({-0.5f, 0.25f}, DType::s8, weight_int_range(DType::s8, false), true);
  EXPECT_FLOAT_EQ(p.scales[0], 0.5f / 127.f);
  EXPECT_EQ(p.zero_points[0], 0);
  // reduce-range u8: [0, 127].
  p = params_for_range({0.f, 1.27f}, DType::u8, activation_int_range(DType::u8, true), false);
  EXPECT_FLOAT_EQ(p.scales[0], 0.01f);
}

TEST(QParams, ConstantTensorGetsASafeScale) {
  for (bool symmetric : {false, true}) {
    const auto p = params_for_range({0.f, 0.f}, DType::u8, activation_int_range(DType::u8, false), symmetric);
    EXPECT_EQ(p.scales[0], 1.f);
    EXPECT_TRUE(std::isfinite(p.scales[0]));
  }
  EXPECT_THROW(params_for_range({std::nanf(""), 1.f}, DType::u8, activation_int_range(DType::u8, false), false), Error);
}

TEST(QParams, WeightsAndBias) {
  // Two output channels: per-channel scales max|w| / 127.
  const auto w = Tensor::from<float>({2, 1, 1, 2}, std::vector<float>{1.27f, -0.5f, 0.1f, -0.254f});
  const auto p = weight_params(w, DType::s8, true, false);
  ASSERT_EQ(p.scales.size(), 2u);
  EXPECT_FLOAT_EQ(p.scales[0], 0.01f);
  EXPECT_FLOAT_EQ(p.scales[1], 0.002f);
  const auto q = quantize_weight(w, p);
  EXPECT_EQ(q.data<std::int8_t>()[0], 127);
  EXPECT_EQ(q.data<std::int8_t>()[1], -50);
  EXPECT_EQ(q.data<std::int8_t>()[3], -127);
  // Bias 0.5 at scale 0.5 * 0.01: 100; a huge bias clamps to int32.
  const auto b = quantize_bias(Tensor::from<float>({2}, std::vector<float>{0.5f, 1e12f}), 0.5f, p.scales);
  EXPECT_EQ(b.data<std::int32_t>()[0], 100);
  EXPECT_EQ(b.data<std::int32_t>()[1], std::numeric_limits<std::int32_t>::max());
}

TEST(QParams, FewerBitsNarrowTheCodes) {
  // 2-bit u8 activations: codes [0, 3]; [0, 3] -> scale 1, zero point 0.
  EXPECT_EQ(activation_int_range(DType::u8, false, 2).qmax, 3);
  auto p = params_for_range({0.f, 3.f}, DType::u8, activation_int_range(DType::u8, false, 2), false);
  EXPECT_FLOAT_EQ(p.scales[0], 1.f);
  EXPECT_EQ(p.zero_points[0], 0);
  // 4-bit s8 activations [-8, 7]; [-1, 2] -> scale 3/15 = 0.2, zero point round(-8 + 1/0.2) = -3.
  p = params_for_range({-1.f, 2.f}, DType::s8, activation_int_range(DType::s8, false, 4), false);
  EXPECT_FLOAT_EQ(p.scales[0], 0.2f);
  EXPECT_EQ(p.zero_points[0], -3);
  // 3-bit s8 weights are symmetric [-3, 3]: max|w| = 0.6 -> scale 0.2; -0.5 / 0.2 = -2.5 -> -2 (half to even).
  const auto w = Tensor::from<float>({1, 1, 1, 3}, std::vector<float>{0.6f, -0.5f, 0.1f});
  const auto wp = weight_params(w, DType::s8, false, false, 3);
  EXPECT_FLOAT_EQ(wp.scales[0], 0.2f);
  const auto q = quantize_weight(w, wp);
  EXPECT_EQ(q.data<std::int8_t>()[0], 3);
  EXPECT_EQ(q.data<std::int8_t>()[1], -2);
  EXPECT_EQ(q.data<std::int8_t>()[2], 0);
  EXPECT_THROW(activation_int_range(DType::u8, false, 1), Error);
  EXPECT_THROW(weight_int_range(DType::s8, false, 9), Error);
}

TEST(Overrides, ParseAndWriteBack) {
  const auto o = overrides_from_json(nlohmann::json::parse(R"({"layers": {"conv": {"bits": 4, "keep_float": false, "per_channel": true,
      "method": "entropy", "range_scale": 0.5}}, "tensors": {"input": [{"rmin": 0, "rmax": 255}]}})"), "t.json");
  const LayerOverride& l = o.layers.at("conv");
  EXPECT_EQ(l.weight_bits, 4);
  EXPECT_EQ(l.output.bits, 4);
  EXPECT_EQ(l.per_channel, true);
  EXPECT_EQ(l.output.method, CalibrationMethod::entropy);
  EXPECT_EQ(l.output.range_scale, 0.5);
  ASSERT_TRUE(o.tensors.at("input").range);
  EXPECT_EQ(o.tensors.at("input").range->max, 255.f);
  // What is written reads back to the same overrides.
  const auto again = overrides_from_json(overrides_to_json(o), "again");
  EXPECT_EQ(overrides_to_json(again), overrides_to_json(o));
}

TEST(Overrides, BadInputNamesTheField) {
  auto error_of = [](const char* text) {
    try {
      overrides_from_json(nlohmann::json::parse(text), "o.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of(R"({"layers": {"c": {"bits": 9}}})"), HasSubstr("o.json: layers.c.bits: bits must be 2..8"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"bits": 1}}})"), HasSubstr("bits must be 2..8"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"range_scale": 0}}})"), HasSubstr("layers.c.range_scale: must be positive"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"range_scale": -1}}})"), HasSubstr("must be positive"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"bitz": 4}}})"), HasSubstr("layers.c.bitz: unknown field"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"method": "best"}}})"), HasSubstr("unknown calibration method 'best'"));
  EXPECT_THAT(error_of(R"({"tensors": {"x": {"rmin": 1, "rmax": 2}}})"), HasSubstr("must contain 0"));
  EXPECT_THAT(error_of(R"({"tensors": {"x": {"rmin": 0}}})"), HasSubstr("rmin and rmax go together"));
  EXPECT_THAT(error_of(R"({"layers": {"c": {"keep_float": "yes"}}})"), HasSubstr("layers.c.keep_float: expected true or false"));
  EXPECT_THAT(error_of(R"([1, 2])"), HasSubstr("expected an object"));
}

TEST(Calibration, ObserverStreamsAndGrowsItsHistogram) {
  TensorObserver obs("t", 16, 0.5);
  obs.observe(std::vector<float>{0.f, 1.f});
  obs.observe(std::vector<float>{-0.5f, 3.f});
  EXPECT_EQ(obs.min(), -0.5f);
  EXPECT_EQ(obs.max(), 3.f);
  // Moving average with constant 0.5: min 0 -> -0.25, max 1 -> 2.
  EXPECT_FLOAT_EQ(obs.moving_average().min, -0.25f);
  EXPECT_FLOAT_EQ(obs.moving_average().max, 2.f);
  // The histogram covers [0, H), H the least power of two above max |x|:
  // first H = 2 (bins of 0.125): |0| -> bin 0, |1| -> bin 8. Then 3 arrives:
  // H = 4 (bins of 0.25), bins merge pairwise (8 -> 4), |-0.5| -> 2, |3| -> 12.
  EXPECT_DOUBLE_EQ(obs.histogram_limit(), 4.0);
  const auto& h = obs.histogram();
  EXPECT_EQ(h[0], 1u);
  EXPECT_EQ(h[2], 1u);
  EXPECT_EQ(h[4], 1u);
  EXPECT_EQ(h[12], 1u);
  EXPECT_EQ(obs.count(), 4u);
}

TEST(Calibration, ObserversMergeExactlyWhateverTheSplit) {
  // Values spanning several powers of two, some exactly on one (2.0, 8.0), a
  // run of zeros first: one observer of everything against the same values
  // split over three observers, accumulated in another order and merged.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-9.f, 9.f);
  std::vector<float> all(600, 0.f);
  for (std::size_t i = 50; i < all.size(); ++i) all[i] = u(rng) * (i < 300 ? 0.1f : 1.f);
  all[100] = 2.f, all[400] = -8.f;
  TensorObserver whole("t", 64);
  whole.accumulate(all);
  TensorObserver a("t", 64), b("t", 64), c("t", 64);
  const std::span<const float> v(all);
  c.accumulate(v.subspan(400));
  a.accumulate(v.subspan(0, 60));  // zeros and then small values
  b.accumulate(v.subspan(250, 150));
  a.accumulate(v.subspan(60, 190));
  TensorObserver merged("t", 64);
  merged.merge(c), merged.merge(a), merged.merge(b);
  EXPECT_EQ(merged.histogram(), whole.histogram());
  EXPECT_EQ(merged.histogram_limit(), whole.histogram_limit());
  EXPECT_EQ(merged.histogram_limit(), 16.0);  // 8 sits on a power of two: the next one covers it
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  // Values 2^100 times smaller than the others' limit all merge into bin 0.
  TensorObserver tiny("t", 64), large("t", 64);
  tiny.accumulate(std::vector<float>{1e-30f, -3e-30f});
  large.accumulate(std::vector<float>{1.f, 40.f});
  large.merge(tiny);
  EXPECT_EQ(large.histogram_limit(), 64.0);
  EXPECT_EQ(large.histogram()[0], 2u);
  EXPECT_EQ(large.histogram()[1], 1u);   // |1| at 64 bins over [0, 64)
  EXPECT_EQ(large.histogram()[40], 1u);
  EXPECT_EQ(large.count(), 4u);
  // Every value in the bin floor(|x| * 64 / 16).
  std::vector<std::uint64_t> expected(64, 0);
  for (float x : all) expected[static_cast<std::size_t>(std::abs(x) * 4.f)]++;
  EXPECT_EQ(whole.histogram(), expected);
}

TEST(Calibration, NanOrInfIsAnError) {
  TensorObserver obs("conv_out", 16);
  try {
    obs.observe(std::vector<float>{1.f, std::numeric_limits<float>::infinity()});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'conv_out'"));
  }
}

TEST(Calibration, PercentileThreshold) {
  // Counts 5, 3, 2 in unit bins: 50% is reached in bin 0 (t = 1), 90% in bin 2 (t = 3).
  const std::vector<std::uint64_t> h{5, 3, 2, 0};
  EXPECT_DOUBLE_EQ(percentile_threshold(h, 1.0, 50.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile_threshold(h, 1.0, 90.0), 3.0);
  EXPECT_DOUBLE_EQ(percentile_threshold(h, 0.5, 100.0), 1.5);
}

TEST(Calibration, MseThreshold) {
  // Two unit bins with counts a, b and 3 levels. Keeping one bin (t = 1, step
  // 0.5) costs a/48 + b * (1.5 - 1)^2; keeping both (t = 2, step 1) costs (a + b)/12.
  //   a=10, b=1: 0.458 vs 0.917 -> t = 1.    a=1, b=10: 2.52 vs 0.917 -> t = 2.
  EXPECT_DOUBLE_EQ(mse_threshold({10, 1}, 1.0, 3), 1.0);
  EXPECT_DOUBLE_EQ(mse_threshold({1, 10}, 1.0, 3), 2.0);
}

TEST(Calibration, EntropyThreshold) {
  // Histogram [4, 4, 0, 1], 2 target levels. Keeping 2 bins folds the outlier
  // in: P = [4, 5]/9 vs Q = [4, 4]/8, KL = 4/9 ln(8/9) + 5/9 ln(10/9) = 0.0062.
  // Keeping 3 puts mass in a bin Q leaves empty (huge KL). Keeping all 4:
  // Q = [4, 4, 0, 1] = P, KL = 0. So t = 4 bins.
  EXPECT_DOUBLE_EQ(entropy_threshold({4, 4, 0, 1}, 1.0, 2), 4.0);
  // Histogram [6, 2, 2, 6], 2 levels; bin 0 counts as bin 1: [2, 2, 2, 6].
  // Keeping 2 folds the outliers in: P = [2, 10]/12, Q = [2, 2]/4: KL = 0.2426.
  // Keeping 3: P = [2, 2, 8]/12, Q = [2, 2, 2]/6: KL = 2/6 ln .5 + 8/12 ln 2 = 0.2310.
  // Keeping 4: P = [2, 2, 2, 6]/12, Q = [2, 2, 4, 4]/12: KL = 2/12 ln .5 + 6/12 ln 1.5 = 0.0872, the least: t = 4.
  EXPECT_DOUBLE_EQ(entropy_threshold({6, 2, 2, 6}, 1.0, 2), 4.0);
  // [8, 8, 1, 1]: each level's bins are equal, so keeping all 4 gives Q = P
  // exactly (KL 0) while keeping 2 gives P = [8, 10]/18 vs Q = [8, 8]/16 (KL 0.0062): t = 4.
  EXPECT_DOUBLE_EQ(entropy_threshold({8, 8, 1, 1}, 1.0, 2), 4.0);
  // The zeros after a ReLU: [1000, 1, 1, 1, 1, 1, 1, 1]. Taken as they are,
  // every i >= 4 merges bin 0 with bin 1 (Q = 500.5 where P = 1) and loses to
  // i = 2 or 3; counted as bin 1, the histogram is flat and keeping all 8 is exact.
  EXPECT_DOUBLE_EQ(entropy_threshold({1000, 1, 1, 1, 1, 1, 1, 1}, 1.0, 2), 8.0);
}

// The searches written as their definitions, one candidate at a time: the
// library computes the same sums from prefix and suffix sums.
double kl_of_candidate(std::vector<std::uint64_t> h, int i, int target_bins) {
  h[0] = h[1];  // the zero spike set aside, as the library does
  std::vector<double> p(h.begin(), h.begin() + i), q(i, 0.0);
  for (std::size_t j = i; j < h.size(); ++j) p[i - 1] += static_cast<double>(h[j]);
  for (int level = 0; level < target_bins; ++level) {
    const int begin = level * i / target_bins, end = (level + 1) * i / target_bins;
    double sum = 0;
    int nonzero = 0;
    for (int j = begin; j < end; ++j) sum += static_cast<double>(h[j]), nonzero += h[j] != 0;
    for (int j = begin; j < end; ++j) q[j] = h[j] != 0 ? sum / nonzero : 0.0;
  }
  double p_sum = 0, q_sum = 0, kl = 0;
  for (int j = 0; j < i; ++j) p_sum += p[j], q_sum += q[j];
  for (int j = 0; j < i; ++j)
    if (p[j] > 0) kl += p[j] / p_sum * std::log((p[j] / p_sum) / (q[j] > 0 ? q[j] / q_sum : 1e-12));
  return kl;
}

double mse_of_candidate(const std::vector<std::uint64_t>& h, int i, int levels) {
  const double t = i, step = t / (levels - 1);
  double error = 0;
  for (std::size_t j = 0; j < h.size(); ++j)
    error += static_cast<double>(h[j]) * (static_cast<int>(j) < i ? step * step / 12.0 : (j + 0.5 - t) * (j + 0.5 - t));
  return error;
}

TEST(Calibration, ThresholdSearchesMatchTheirDefinitions) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    // Bell-shaped counts with empty bins and a sparse tail of outliers, 256 bins, 16 or 32 levels.
    const int n = 256, target = trial % 2 ? 16 : 32;
    std::vector<std::uint64_t> h(n, 0);
    std::normal_distribution<double> body(0, 20 + trial);
    for (int k = 0; k < 5000; ++k) h[std::min<int>(n - 1, static_cast<int>(std::abs(body(rng))))]++;
    for (int k = 0; k < 3; ++k) h[std::uniform_int_distribution<int>(100, n - 1)(rng)] += 1;
    int last = n - 1;
    while (h[last] == 0) --last;  // (bin 0 is never the last: the body fills bins 0 .. 40 at least)
    int best_kl = -1, best_mse = -1;
    double kl_min = 1e300, mse_min = 1e300;
    for (int i = target; i <= last + 1; ++i)
      if (const double kl = kl_of_candidate(h, i, target); kl < kl_min) kl_min = kl, best_kl = i;
    for (int i = 1; i <= n; ++i)
      if (const double e = mse_of_candidate(h, i, target); e < mse_min) mse_min = e, best_mse = i;
    const int got_kl = static_cast<int>(entropy_threshold(h, 1.0, target));
    const int got_mse = static_cast<int>(mse_threshold(h, 1.0, target));
    // The same candidate, or (rounding apart) one that is as good.
    EXPECT_NEAR(kl_of_candidate(h, got_kl, target), kl_min, 1e-12 * std::max(1.0, kl_min)) << "trial " << trial << ": " << got_kl << " vs " << best_kl;
    EXPECT_NEAR(mse_of_candidate(h, got_mse, target), mse_min, 1e-9 * mse_min) << "trial " << trial << ": " << got_mse << " vs " << best_mse;
    EXPECT_EQ(got_kl, best_kl) << "trial " << trial;
    EXPECT_EQ(got_mse, best_mse) << "trial " << trial;
  }
}

TEST(Calibration, ChooseRangeByMethod) {
  TensorObserver obs("relu", 64);
  std::vector<float> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 100) / 10.f;  // 0 .. 9.9
  v[0] = 640.f;                                                                         // one outlier
  obs.observe(v);
  CalibrationOptions o;
  EXPECT_EQ(choose_range(obs, o, 256).max, 640.f);  // minmax keeps the outlier
  o.method = CalibrationMethod::percentile;
  o.percentile = 99.0;
  const Range r = choose_range(obs, o, 256);
  EXPECT_EQ(r.min, 0.f);  // non-negative data: the range starts at 0
  EXPECT_LE(r.max, 20.f);
  TensorObserver empty("never", 16);
  EXPECT_THROW(choose_range(empty, o, 256), Error);
}

TEST(QuantizedKernels, QuantizeLinearDividesAndRoundsHalfToEven) {
  // x / 0.5: 1.25 -> 2.5 -> 2, 1.75 -> 3.5 -> 4; zero point 128; saturation at both ends.
  std::vector<std::uint8_t> y(5);
  kernels::quantize_linear<std::uint8_t>(std::vector<float>{1.25f, 1.75f, -1.25f, 1000.f, -1000.f}, 0.5f, 128, y);
  EXPECT_EQ(y, (std::vector<std::uint8_t>{130, 132, 126, 255, 0}));
}

TEST(QuantizedKernels, ConvAccumulatesExactlyWithZeroPoints) {
  // 1x1x2x2 u8 input (zp 10), one 2x2 s8 filter (zp 0), bias 5, no padding:
  //   acc = 5 + (12-10)*1 + (14-10)*(-2) + (10-10)*3 + (20-10)*4 = 5 + 2 - 8 + 0 + 40 = 39.
  kernels::Conv2DParams p;
  p.in_channels = p.out_channels = 1, p.in_h = p.in_w = 2, p.out_h = p.out_w = 1, p.kernel_h = p.kernel_w = 2;
  std::vector<std::int32_t> acc(1);
  kernels::qlinear_conv_accumulate<std::uint8_t, std::int8_t>(p, std::vector<std::uint8_t>{12, 14, 10, 20}, 10,
                                                              std::vector<std::int8_t>{1, -2, 3, 4}, std::vector<std::int32_t>{0},
                                                              std::vector<std::int32_t>{5}, acc);
  EXPECT_EQ(acc[0], 39);
  // Padding contributes nothing: a 3x3 window with pads 1 over a 1x1 input of x_zp + 3 and all-ones weights: 3.
  kernels::Conv2DParams q;
  q.in_channels = q.out_channels = 1, q.in_h = q.in_w = 1, q.out_h = q.out_w = 1, q.kernel_h = q.kernel_w = 3;
  q.pad_top = q.pad_left = 1;
  kernels::qlinear_conv_accumulate<std::uint8_t, std::int8_t>(q, std::vector<std::uint8_t>{13}, 10, std::vector<std::int8_t>(9, 1),
                                                              std::vector<std::int32_t>{0}, {}, acc);
  EXPECT_EQ(acc[0], 3);
}

TEST(QuantizedKernels, WindowedAveragePoolTfliteAndFloat) {
  // x [1,1,2,3] = [[1, 2, -3], [9, -6, 1]]; 2x2 windows, stride 1, padded
  // one row below and one column right (TFLite SAME): border windows are cut.
  kernels::QAveragePoolParams q;
  q.pool = {1, 1, 2, 3, 2, 3, 2, 2, 1, 1, 0, 0, 1, 1, false};
  q.x_scale = q.y_scale = 0.5f;
  const std::vector<std::int8_t> x{1, 2, -3, 9, -6, 1};
  std::vector<std::int8_t> y(6);
  // TFLite: sums 6/4, -6/4, -2/2, 3/2, -5/2, 1/1, rounded half away from zero.
  q.tflite = true;
  kernels::qlinear_average_pool2d<std::int8_t>(q, x, y);
  EXPECT_EQ(y, (std::vector<std::int8_t>{2, -2, -1, 2, -3, 1}));
  // Float (ONNX Runtime's form): the same averages quantized half to even: -2.5 -> -2.
  q.tflite = false;
  kernels::qlinear_average_pool2d<std::int8_t>(q, x, y);
  EXPECT_EQ(y, (std::vector<std::int8_t>{2, -2, -1, 2, -2, 1}));
}

TEST(QuantizedKernels, AddFollowsOnnxRuntimeFloatRule) {
  // sa = sb = sc = 1, zero points 0: c = a + b, saturated to u8.
  kernels::QAddParams p;
  std::vector<std::uint8_t> c(3);
  kernels::qlinear_add<std::uint8_t>(p, std::vector<std::uint8_t>{1, 200, 0}, std::vector<std::uint8_t>{2, 100, 0}, c);
  EXPECT_EQ(c, (std::vector<std::uint8_t>{3, 255, 0}));
  // sa = 1, sb = 1, sc = 2: (1 + 2)/2 = 1.5 -> 2 (half to even); (1 + 4)/2 = 2.5 -> 2; fixed mode rounds half up -> 3.
  p.c_scale = 2.f;
  kernels::qlinear_add<std::uint8_t>(p, std::vector<std::uint8_t>{1, 1, 0}, std::vector<std::uint8_t>{2, 4, 0}, c);
  EXPECT_EQ(c, (std::vector<std::uint8_t>{2, 2, 0}));
  p.mode = RequantMode::fixed_point;
  kernels::qlinear_add<std::uint8_t>(p, std::vector<std::uint8_t>{1, 1, 0}, std::vector<std::uint8_t>{2, 4, 0}, c);
  EXPECT_EQ(c, (std::vector<std::uint8_t>{2, 3, 0}));
}

}  // namespace
}  // namespace tinyq::quant
