#pragma once
// Calibration: observe a tensor's float values over the calibration images in
// one streaming pass, then choose the range [min, max] to quantize.
//
// The observer keeps the exact min and max, per-batch moving averages of them,
// and a histogram of |x| with a fixed number of bins over [0, H), H the least
// power of two above every |x| seen. When a larger value arrives, H doubles
// and adjacent bins merge pairwise: with power-of-two limits that is exactly
// the histogram the values would have had at the coarser limit, so memory
// stays bounded, and observers fed parts of the data (threads, images) merge
// into the same histogram whatever the order or split.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tinyq::quant {

enum class CalibrationMethod { minmax, entropy, percentile, mse };

struct Range {
  float min = 0, max = 0;
};

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::minmax;
  bool moving_average = false;        // minmax: average per-batch min/max (ONNX Runtime's option)
  double averaging_constant = 0.01;   // weight of each new batch in the moving average
  double percentile = 99.999;         // percentile: share of |x| kept inside the range
  int bins = 2048;                    // histogram resolution
};

class TensorObserver {
 public:
  TensorObserver(std::string name, int bins, double averaging_constant = 0.01);
  // One batch of values; NaN or Inf is an Error naming the tensor.
  void observe(std::span<const float> values) {
    if (!values.empty()) record_batch(accumulate(values));
  }
  // The two halves of observe, for a batch that arrives in parts (an image at
  // a time): accumulate() takes values into min, max and the histogram and
  // returns their range; record_batch() moves the averages by one batch's range.
  Range accumulate(std::span<const float> values);
  void record_batch(Range batch);
  // Takes in what `other` accumulated (not its averages): the same min, max,
  // count and histogram as if its values had been accumulated here.
  void merge(const TensorObserver& other);

  const std::string& name() const { return name_; }
  float min() const { return min_; }
  float max() const { return max_; }
  Range moving_average() const { return {static_cast<float>(avg_min_), static_cast<float>(avg_max_)}; }
  const std::vector<std::uint64_t>& histogram() const { return histogram_; }
  double histogram_limit() const { return limit_; }  // H: the histogram covers |x| in [0, H); 0 while all are 0
  std::uint64_t count() const { return count_; }

 private:
  void grow_to(double limit);

  std::string name_;
  float min_ = 0, max_ = 0;
  double avg_min_ = 0, avg_max_ = 0, averaging_constant_ = 0.01;
  std::uint64_t count_ = 0, batches_ = 0;
  std::vector<std::uint64_t> histogram_;
  double limit_ = 0;
};

// The range the method chooses. `levels` is the number of quantization levels
// the range will be divided into (256 for 8 bits, 128 with reduce-range).
// Histogram methods choose a threshold t on |x|: non-negative tensors get
// [0, t], others [max(min, -t), min(max, t)].
Range choose_range(const TensorObserver& observer, const CalibrationOptions& options, int levels);

// The building blocks, exposed for tests: thresholds on |x| from a histogram
// whose bin i covers [i, i+1) * width.
double entropy_threshold(const std::vector<std::uint64_t>& histogram, double width, int target_bins);
double percentile_threshold(const std::vector<std::uint64_t>& histogram, double width, double percentile);
double mse_threshold(const std::vector<std::uint64_t>& histogram, double width, int levels);

}  // namespace tinyq::quant
