#pragma once
// Scales and zero points from ranges, and the integer ranges of each scheme.
//   real = scale * (q - zero_point);  zero must be exactly representable, so
//   ranges are widened to include 0 (gemmlowp's argument: padding and ReLU
//   produce exact zeros).
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "quant/calibration.h"

namespace tinyq::quant {

struct IntRange {
  std::int32_t qmin = 0, qmax = 255;
};

struct QuantParams {
  DType dtype = DType::u8;
  std::vector<float> scales;              // one (per tensor) or one per channel (axis 0)
  std::vector<std::int32_t> zero_points;  // same count
};

// Activations: u8 [0, 255] or s8 [-128, 127]; reduce_range uses 7 bits
// ([0, 127] or [-64, 63]). Symmetric ranges have zero point 0.
// bits < 8 (an override, 2..7) narrows the range inside the 8-bit type:
// u8 [0, 2^b - 1], s8 [-2^(b-1), 2^(b-1) - 1]; reduce_range is then moot.
IntRange activation_int_range(DType dtype, bool reduce_range, int bits = 8);
// Weights: s8 symmetric [-127, 127] (the -128 code is unused, as in TFLite,
// so that the range is symmetric), or u8 [0, 255]; reduce_range halves them.
// bits < 8: s8 [-(2^(b-1) - 1), 2^(b-1) - 1], u8 [0, 2^b - 1].
IntRange weight_int_range(DType dtype, bool reduce_range, int bits = 8);
// The full range of the element type (what QuantizeLinear saturates to).
IntRange type_int_range(DType dtype);

// Asymmetric: scale = (max - min) / (qmax - qmin), zero_point = round(qmin - min / scale).
// Symmetric: scale = max|x| / ((qmax - qmin) / 2), zero_point 0 (u8: the middle code).
// A zero-width range (a constant-zero tensor) gets scale 1 and a zero point
// that represents 0 exactly: never a zero or non-finite scale.
QuantParams params_for_range(Range range, DType dtype, IntRange ints, bool symmetric);

// Weight quantization of a float tensor with output channels on axis 0.
QuantParams weight_params(const Tensor& weight, DType dtype, bool per_channel, bool reduce_range, int bits = 8);
Tensor quantize_weight(const Tensor& weight, const QuantParams& params);
// The f32 values quantized weights stand for: scale[c] * (q - zero_point[c]), channels on axis 0.
Tensor dequantize_weight(const Tensor& quantized, const QuantParams& params);
// int32 bias with scale x_scale * w_scale[c] (computed in float, as stored in the file).
Tensor quantize_bias(const Tensor& bias, float x_scale, const std::vector<float>& w_scales);

}  // namespace tinyq::quant
