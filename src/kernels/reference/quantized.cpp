#include "kernels/reference/quantized.h"

#include "core/error.h"
#include "kernels/reference/gemmlowp_fixed_point.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/reference/im2col.h"

namespace tinyq::kernels {

template <typename T>
void quantize_linear(std::span<const float> x, float scale, std::int32_t zero_point, std::span<T> y) {
  constexpr std::int32_t qmin = std::numeric_limits<T>::min(), qmax = std::numeric_limits<T>::max();
  const float lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
  for (std::size_t i = 0; i < x.size(); ++i) {
    float v = x[i] / scale;
    // Clamp before rounding, as MLAS does; NaN compares false and lands on lo.
    v = v >= lo ? (v <= hi ? v : hi) : lo;
    y[i] = static_cast<T>(static_cast<std::int32_t>(std::nearbyint(v)) + zero_point);
  }
}

template <typename T>
void dequantize_linear(std::span<const T> x, std::span<const float> scales, std::span<const std::int32_t> zero_points,
                       std::int64_t axis_size, std::int64_t inner, std::span<float> y) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t c = scales.size() > 1 ? static_cast<std::size_t>((static_cast<std::int64_t>(i) / inner) % axis_size) : 0;
    y[i] = static_cast<float>(static_cast<std::int32_t>(x[i]) - zero_points[c]) * scales[c];
  }
}

template <typename TX, typename TW>
void qlinear_conv_accumulate(const Conv2DParams& p, std::span<const TX> x, std::int32_t x_zero_point,
                             std::span<const TW> w, std::span<const std::int32_t> w_zero_points,
                             std::span<const std::int32_t> bias, std::span<std::int32_t> acc) {
  const std::int64_t in_per_group = p.in_channels / p.group, out_per_group = p.out_channels / p.group;
  const std::int64_t taps = in_per_group * p.kernel_h * p.kernel_w, plane = p.out_h * p.out_w;
  // Columns hold x - x_zp; padding is 0 there, exactly as padding with x_zp.
  // Both x - x_zp and w - w_zp lie in [-255, 255], so they are stored as int16
  // (their product still accumulates in int32), which vectorizes on plain SSE2.
  std::vector<std::int16_t> columns;
  for (std::int64_t n = 0; n < p.batch; ++n) {
    for (std::int64_t g = 0; g < p.group; ++g) {
      im2col(p, x.data() + n * p.in_channels * p.in_h * p.in_w, g * in_per_group, in_per_group, std::int16_t{0},
             [x_zero_point](TX v) { return static_cast<std::int16_t>(static_cast<std::int32_t>(v) - x_zero_point); }, columns);
      for (std::int64_t ocg = 0; ocg < out_per_group; ++ocg) {
        const std::int64_t oc = g * out_per_group + ocg;
        std::int32_t* out = acc.data() + (n * p.out_channels + oc) * plane;
        std::fill(out, out + plane, bias.empty() ? 0 : bias[oc]);
        const std::int32_t w_zp = w_zero_points[w_zero_points.size() > 1 ? oc : 0];
        const TW* wk = w.data() + oc * taps;
        for (std::int64_t k = 0; k < taps; ++k) {
          const auto wv = static_cast<std::int16_t>(static_cast<std::int32_t>(wk[k]) - w_zp);
          const std::int16_t* col = columns.data() + k * plane;
          for (std::int64_t i = 0; i < plane; ++i) out[i] += static_cast<std::int32_t>(wv) * col[i];
        }
      }
    }
  }
}

template <typename TY>
void requantize_channels(std::int64_t batch, std::int64_t channels, std::int64_t plane,
                         std::span<const std::int32_t> acc, const Requantizer& r, std::span<TY> y) {
  for (std::int64_t n = 0; n < batch; ++n)
    for (std::int64_t c = 0; c < channels; ++c) {
      const std::int64_t base = (n * channels + c) * plane;
      for (std::int64_t i = 0; i < plane; ++i)
        y[base + i] = static_cast<TY>(r.apply(acc[base + i], static_cast<std::size_t>(c)));
    }
}

template <typename TA, typename TB>
void qlinear_matmul_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, std::span<const TA> a, std::int32_t a_zp,
                               std::span<const TB> b, std::span<const std::int32_t> b_zp, std::span<std::int32_t> acc) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const std::int32_t bz = b_zp[b_zp.size() > 1 ? j : 0];
      std::int32_t sum = 0;
      for (std::int64_t t = 0; t < k; ++t)
        sum += (static_cast<std::int32_t>(a[i * k + t]) - a_zp) * (static_cast<std::int32_t>(b[t * n + j]) - bz);
      acc[i * n + j] = sum;
    }
}

template <typename T>
void qlinear_add(const QAddParams& p, std::span<const T> a, std::span<const T> b, std::span<T> c) {
  if (p.mode == kernels::RequantMode::float_multiplier) {
    const float ratio_a = p.a_scale / p.c_scale, ratio_b = p.b_scale / p.c_scale;
    // ONNX Runtime's constant term; its compiler contracts the inner sum into
    // a fused multiply-add, so this does too (checked bit for bit in the peer test).
    const float fixed = static_cast<float>(p.c_zp) - std::fma(ratio_a, static_cast<float>(p.a_zp), ratio_b * static_cast<float>(p.b_zp));
    for (std::size_t i = 0; i < c.size(); ++i) {
      const float v = std::fma(static_cast<float>(a[i]), ratio_a, std::fma(static_cast<float>(b[i]), ratio_b, fixed));
      const float r = std::nearbyint(v);
      c[i] = static_cast<T>(r < p.qmin ? p.qmin : (r > p.qmax ? p.qmax : static_cast<std::int32_t>(r)));
    }
    return;
  }
  if (p.mode == kernels::RequantMode::xnnpack) {
    // XNNPACK's qs8 add parameters (its scalar reference): both ratios to the
    // output scale in float; the larger one's binary exponent fixes a shift
    // that leaves it 21 to 22 bits wide.
    const float ratio_a = p.a_scale / p.c_scale, ratio_b = p.b_scale / p.c_scale;
    int exponent = 0;
    std::frexp(std::max(ratio_a, ratio_b), &exponent);  // value in [2^(e-1), 2^e): IEEE exponent e - 1
    const int shift = 20 - (exponent - 1);
    const auto ma = static_cast<std::int32_t>(std::nearbyint(std::ldexp(ratio_a, shift)));
    const auto mb = static_cast<std::int32_t>(std::nearbyint(std::ldexp(ratio_b, shift)));
    const std::int64_t bias = (std::int64_t{1} << (shift - 1)) - std::int64_t{ma} * p.a_zp - std::int64_t{mb} * p.b_zp;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::int64_t acc = bias + std::int64_t{a[i]} * ma + std::int64_t{b[i]} * mb;
      const std::int64_t y = (acc >> shift) + p.c_zp;  // arithmetic shift: floor
      c[i] = static_cast<T>(y < p.qmin ? p.qmin : (y > p.qmax ? p.qmax : y));
    }
    return;
  }
  if (p.mode == kernels::RequantMode::tflite) {
    // TFLite's int8 ADD (reference_integer_ops::Add and its Prepare): both
    // inputs are shifted left by 20 bits and scaled by s_in / (2 max(s_a, s_b))
    // each, summed, then scaled by 2 max(s_a, s_b) / (2^20 s_out); every
    // scaling is a gemmlowp multiply with its own rounding.
    constexpr int kLeftShift = 20;
    const double twice_max = 2 * std::max(p.a_scale, p.b_scale);
    const auto ma = kernels::to_fixed_multiplier(p.a_scale / twice_max);
    const auto mb = kernels::to_fixed_multiplier(p.b_scale / twice_max);
    const auto mc = kernels::to_fixed_multiplier(twice_max / ((1 << kLeftShift) * p.c_scale));
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::int32_t va = (static_cast<std::int32_t>(a[i]) - p.a_zp) * (1 << kLeftShift);
      const std::int32_t vb = (static_cast<std::int32_t>(b[i]) - p.b_zp) * (1 << kLeftShift);
      const std::int32_t sum =
          kernels::multiply_by_quantized_multiplier(va, ma) + kernels::multiply_by_quantized_multiplier(vb, mb);
      const std::int32_t y = kernels::multiply_by_quantized_multiplier(sum, mc) + p.c_zp;
      c[i] = static_cast<T>(kernels::saturate(y, p.qmin, p.qmax));
    }
    return;
  }
  // Fixed point: both ratios share one shift n chosen so that the larger
  // multiplier fits 31 bits; sums stay exact in 64 bits.
  const double ra = static_cast<double>(p.a_scale) / p.c_scale, rb = static_cast<double>(p.b_scale) / p.c_scale;
  int exponent = 0;
  std::frexp(std::max(ra, rb), &exponent);
  const int shift = std::min(62, 31 - exponent);
  const std::int64_t ma = std::llround(std::ldexp(ra, shift)), mb = std::llround(std::ldexp(rb, shift));
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::int64_t sum = (static_cast<std::int64_t>(a[i]) - p.a_zp) * ma + (static_cast<std::int64_t>(b[i]) - p.b_zp) * mb;
    const std::int64_t y = ((sum + (std::int64_t{1} << (shift - 1))) >> shift) + p.c_zp;
    c[i] = static_cast<T>(y < p.qmin ? p.qmin : (y > p.qmax ? p.qmax : y));
  }
}

template <typename T>
void qlinear_global_average_pool(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x,
                                 std::int32_t x_zp, const Requantizer& r, std::span<T> y) {
  if (r.mode == kernels::RequantMode::tflite || r.mode == kernels::RequantMode::xnnpack) {
    // TFLite's int8 AVERAGE_POOL_2D (input and output share scale and zero
    // point): the sum of the stored values divided by the count, rounded to
    // nearest with ties away from zero, in integer arithmetic.
    const auto count = static_cast<std::int32_t>(plane);
    for (std::int64_t i = 0; i < batch_channels; ++i) {
      std::int32_t acc = 0;
      for (std::int64_t j = 0; j < plane; ++j) acc += static_cast<std::int32_t>(x[i * plane + j]);
      acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
      y[i] = static_cast<T>(kernels::saturate(acc, r.qmin, r.qmax));
    }
    return;
  }
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    std::int32_t acc = -x_zp * static_cast<std::int32_t>(plane);
    for (std::int64_t j = 0; j < plane; ++j) acc += static_cast<std::int32_t>(x[i * plane + j]);
    y[i] = static_cast<T>(r.apply(acc, 0));
  }
}

void set_reference_softmax(QSoftmaxParams& p, double beta) {
  // beta * x_scale as a Q5.26 multiplier, capped below 2^31 (TFLite: a larger
  // one only makes every non-maximum input's exp round to 0).
  const double real = std::min(beta * p.x_scale * static_cast<double>(1 << 26), static_cast<double>((std::int64_t{1} << 31) - 1));
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);
  std::int64_t m = std::llround(fraction * static_cast<double>(std::int64_t{1} << 31));
  if (m == (std::int64_t{1} << 31)) m /= 2, ++exponent;
  if (exponent < 0 || exponent > 30)
    throw Error("softmax input scale " + std::to_string(p.x_scale) + " is outside what TFLite's reference int8 softmax handles");
  p.reference = true;
  p.beta_multiplier = static_cast<std::int32_t>(m);
  p.beta_left_shift = exponent;
  // The most negative difference whose scaled value still fits Q5.26.
  p.diff_min = -static_cast<std::int32_t>(std::floor(31.0 * static_cast<double>(std::int64_t{1} << 26) / static_cast<double>(std::int64_t{1} << exponent)));
}

template <typename T>
void tflite_reference_mean(std::int64_t batch_channels, std::int64_t plane, std::span<const T> x, std::int32_t x_zp,
                           const FixedMultiplier& multiplier, std::int32_t y_zp, std::span<T> y) {
  const auto count = static_cast<std::int32_t>(plane);
  for (std::int64_t i = 0; i < batch_channels; ++i) {
    std::int32_t acc = 0;
    for (std::int64_t j = 0; j < plane; ++j) acc += static_cast<std::int32_t>(x[i * plane + j]) - x_zp;
    acc = multiply_by_quantized_multiplier(acc, multiplier);
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    y[i] = static_cast<T>(saturate(acc + y_zp, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  }
}

template <typename T>
void qlinear_softmax(const QSoftmaxParams& p, std::int64_t row, std::span<const T> x, std::span<T> y) {
  const auto rows = static_cast<std::int64_t>(x.size()) / row;
  if (p.reference) {
    // The output is in units of 1/256 from the type's minimum (TFLite's int8
    // softmax output: scale 1/256, zero point -128; checked when prepared).
    constexpr int kDiffIntegerBits = 5, kSumIntegerBits = 12;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* in = x.data() + r * row;
      T* out = y.data() + r * row;
      std::int32_t max = in[0];
      for (std::int64_t j = 1; j < row; ++j) max = std::max<std::int32_t>(max, in[j]);
      auto exp_of = [&](std::int32_t diff) {  // exp(beta * x_scale * diff) in Q0.31
        const std::int32_t scaled = saturating_rounding_doubling_high_mul(diff * (1 << p.beta_left_shift), p.beta_multiplier);
        return gemmlowp::exp_on_negative_values(scaled, kDiffIntegerBits);
      };
      std::int32_t sum = 0;  // Q12.19
      for (std::int64_t j = 0; j < row; ++j) {
        const std::int32_t diff = static_cast<std::int32_t>(in[j]) - max;
        if (diff >= p.diff_min) sum += gemmlowp::rescale(exp_of(diff), 0, kSumIntegerBits);
      }
      int bits_over_unit = 0;
      const std::int32_t inverse = gemmlowp::reciprocal(sum, kSumIntegerBits, bits_over_unit);
      const int exponent = bits_over_unit + 31 - 8;
      for (std::int64_t j = 0; j < row; ++j) {
        const std::int32_t diff = static_cast<std::int32_t>(in[j]) - max;
        std::int32_t q = std::numeric_limits<T>::min();
        if (diff >= p.diff_min)
          q += rounding_divide_by_pot(saturating_rounding_doubling_high_mul(inverse, exp_of(diff)), exponent);
        out[j] = static_cast<T>(saturate(q, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
      }
    }
    return;
  }
  if (p.tflite) {
    // table[255 - d] = expf(-x_scale * d): indexed by 255 - max + x.
    float table[256];
    const float scale = -p.x_scale;  // beta = 1
    for (int d = 0; d <= 255; ++d) table[255 - d] = std::exp(scale * static_cast<float>(d));
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* in = x.data() + r * row;
      T* out = y.data() + r * row;
      std::int32_t max = in[0];
      for (std::int64_t j = 1; j < row; ++j) max = std::max<std::int32_t>(max, in[j]);
      const float* offset = table + 255 - max;
      float sum = 0.f;
      for (std::int64_t j = 0; j < row; ++j) sum += offset[in[j]];
      const float inverse = 1.0f / (sum * p.y_scale);
      for (std::int64_t j = 0; j < row; ++j) {
        const float scaled = offset[in[j]] * inverse;
        const auto q = static_cast<std::int32_t>(std::round(scaled)) + p.y_zp;
        out[j] = static_cast<T>(kernels::saturate(q, p.qmin, p.qmax));
      }
    }
    return;
  }
  std::vector<float> values(static_cast<std::size_t>(row));
  for (std::int64_t r = 0; r < rows; ++r) {
    float max = -INFINITY;
    for (std::int64_t j = 0; j < row; ++j) {
      values[j] = (static_cast<float>(x[r * row + j]) - static_cast<float>(p.x_zp)) * p.x_scale;
      max = std::max(max, values[j]);
    }
    float sum = 0.f;
    for (auto& v : values) sum += (v = std::exp(v - max));
    for (std::int64_t j = 0; j < row; ++j) {
      const float q = std::nearbyint(values[j] / sum / p.y_scale) + static_cast<float>(p.y_zp);
      y[r * row + j] = static_cast<T>(q < p.qmin ? p.qmin : (q > p.qmax ? p.qmax : static_cast<std::int32_t>(q)));
    }
  }
}

template <typename T>
void max_pool2d_quantized(const Pool2DParams& p, std::span<const T> x, std::span<T> y) {
  for (std::int64_t nc = 0; nc < p.batch * p.channels; ++nc)
    for (std::int64_t oh = 0; oh < p.out_h; ++oh)
      for (std::int64_t ow = 0; ow < p.out_w; ++ow) {
        const std::int64_t h0 = std::max<std::int64_t>(oh * p.stride_h - p.pad_top, 0);
        const std::int64_t w0 = std::max<std::int64_t>(ow * p.stride_w - p.pad_left, 0);
        const std::int64_t h1 = std::min(oh * p.stride_h - p.pad_top + p.kernel_h, p.in_h);
        const std::int64_t w1 = std::min(ow * p.stride_w - p.pad_left + p.kernel_w, p.in_w);
        T best = std::numeric_limits<T>::min();
        for (std::int64_t h = h0; h < h1; ++h)
          for (std::int64_t w = w0; w < w1; ++w) best = std::max(best, x[(nc * p.in_h + h) * p.in_w + w]);
        y[(nc * p.out_h + oh) * p.out_w + ow] = best;
      }
}

template <typename T>
void qlinear_average_pool2d(const QAveragePoolParams& q, std::span<const T> x, std::span<T> y) {
  const Pool2DParams& p = q.pool;
  const std::int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  for (std::int64_t nc = 0; nc < p.batch * p.channels; ++nc)
    for (std::int64_t oh = 0; oh < p.out_h; ++oh)
      for (std::int64_t ow = 0; ow < p.out_w; ++ow) {
        const std::int64_t top = oh * p.stride_h - p.pad_top, left = ow * p.stride_w - p.pad_left;
        const std::int64_t h0 = std::max<std::int64_t>(top, 0), w0 = std::max<std::int64_t>(left, 0);
        const std::int64_t h1 = std::min(top + p.kernel_h, p.in_h), w1 = std::min(left + p.kernel_w, p.in_w);
        std::int32_t sum = 0, count = 0;
        for (std::int64_t h = h0; h < h1; ++h)
          for (std::int64_t w = w0; w < w1; ++w) sum += x[(nc * p.in_h + h) * p.in_w + w], ++count;
        std::int32_t v;
        if (q.tflite) {
          v = count == 0 ? 0 : sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
        } else {
          // Padding counts as zeros (real value 0) when count_include_pad is set.
          const std::int64_t pad_h = std::min(top + p.kernel_h, p.in_h + p.pad_bottom) - std::max<std::int64_t>(top, -p.pad_top);
          const std::int64_t pad_w = std::min(left + p.kernel_w, p.in_w + p.pad_right) - std::max<std::int64_t>(left, -p.pad_left);
          const auto divisor = static_cast<float>(p.count_include_pad ? pad_h * pad_w : count);
          const float real = q.x_scale * static_cast<float>(sum - count * q.x_zero_point) / divisor;
          v = static_cast<std::int32_t>(std::nearbyint(real / q.y_scale)) + q.y_zero_point;
        }
        y[(nc * p.out_h + oh) * p.out_w + ow] = static_cast<T>(std::clamp(v, lo, hi));
      }
}

// The element types ONNX allows for these operators.
template void quantize_linear<std::uint8_t>(std::span<const float>, float, std::int32_t, std::span<std::uint8_t>);
template void quantize_linear<std::int8_t>(std::span<const float>, float, std::int32_t, std::span<std::int8_t>);
template void quantize_linear<std::int32_t>(std::span<const float>, float, std::int32_t, std::span<std::int32_t>);
template void dequantize_linear<std::uint8_t>(std::span<const std::uint8_t>, std::span<const float>, std::span<const std::int32_t>,
                                              std::int64_t, std::int64_t, std::span<float>);
template void dequantize_linear<std::int8_t>(std::span<const std::int8_t>, std::span<const float>, std::span<const std::int32_t>,
                                             std::int64_t, std::int64_t, std::span<float>);
template void dequantize_linear<std::int32_t>(std::span<const std::int32_t>, std::span<const float>, std::span<const std::int32_t>,
                                              std::int64_t, std::int64_t, std::span<float>);
#define TINYQ_CONV(TX, TW)                                                                                             \
  template void qlinear_conv_accumulate<TX, TW>(const Conv2DParams&, std::span<const TX>, std::int32_t,                \
                                                std::span<const TW>, std::span<const std::int32_t>,                     \
                                                std::span<const std::int32_t>, std::span<std::int32_t>);                \
  template void qlinear_matmul_accumulate<TX, TW>(std::int64_t, std::int64_t, std::int64_t, std::span<const TX>,       \
                                                  std::int32_t, std::span<const TW>, std::span<const std::int32_t>,     \
                                                  std::span<std::int32_t>);
TINYQ_CONV(std::uint8_t, std::uint8_t)
TINYQ_CONV(std::uint8_t, std::int8_t)
TINYQ_CONV(std::int8_t, std::int8_t)
#undef TINYQ_CONV
#define TINYQ_8BIT(T)                                                                                                  \
  template void requantize_channels<T>(std::int64_t, std::int64_t, std::int64_t, std::span<const std::int32_t>,        \
                                       const Requantizer&, std::span<T>);                                              \
  template void qlinear_add<T>(const QAddParams&, std::span<const T>, std::span<const T>, std::span<T>);               \
  template void qlinear_global_average_pool<T>(std::int64_t, std::int64_t, std::span<const T>, std::int32_t,           \
                                               const Requantizer&, std::span<T>);                                      \
  template void max_pool2d_quantized<T>(const Pool2DParams&, std::span<const T>, std::span<T>);                      \
  template void qlinear_average_pool2d<T>(const QAveragePoolParams&, std::span<const T>, std::span<T>);              \
  template void tflite_reference_mean<T>(std::int64_t, std::int64_t, std::span<const T>, std::int32_t,                \
                                         const FixedMultiplier&, std::int32_t, std::span<T>);                            \
  template void qlinear_softmax<T>(const QSoftmaxParams&, std::int64_t, std::span<const T>, std::span<T>);
TINYQ_8BIT(std::uint8_t)
TINYQ_8BIT(std::int8_t)
#undef TINYQ_8BIT

}  // namespace tinyq::kernels
