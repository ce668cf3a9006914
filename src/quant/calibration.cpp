#include "quant/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/cpu_features.h"
#include "kernels/reference/statistics.h"
#include "kernels/x86/statistics_avx2.h"

namespace tinyq::quant {

TensorObserver::TensorObserver(std::string name, int bins, double averaging_constant)
    : name_(std::move(name)), averaging_constant_(averaging_constant), histogram_(static_cast<std::size_t>(bins), 0) {
  if (bins < 16) throw Error("calibration histogram needs at least 16 bins");
}

void TensorObserver::grow_to(double absmax) {
  if (limit_ == 0) {
    limit_ = absmax;
    return;
  }
  while (absmax > limit_) {
    const std::size_t n = histogram_.size();
    for (std::size_t i = 0; i < n / 2; ++i) histogram_[i] = histogram_[2 * i] + histogram_[2 * i + 1];
    std::fill(histogram_.begin() + static_cast<std::ptrdiff_t>(n / 2), histogram_.end(), 0);
    limit_ *= 2;
  }
}

void TensorObserver::observe(std::span<const float> values) {
  if (values.empty()) return;
  const bool fast = kernels::cpu_features().avx2;
  const kernels::ValueRange range = fast ? kernels::x86::value_range_avx2(values) : kernels::value_range(values);
  if (!range.finite) throw Error("calibration: tensor '" + name_ + "' holds NaN or Inf; cannot choose a range");
  const float lo = range.min, hi = range.max;
  if (count_ == 0) {
    min_ = lo, max_ = hi;
    avg_min_ = lo, avg_max_ = hi;
  } else {
    min_ = std::min(min_, lo), max_ = std::max(max_, hi);
    avg_min_ += (lo - avg_min_) * averaging_constant_;
    avg_max_ += (hi - avg_max_) * averaging_constant_;
  }
  count_ += values.size();
  ++batches_;
  const double absmax = std::max(std::abs(static_cast<double>(lo)), std::abs(static_cast<double>(hi)));
  if (absmax > 0) grow_to(absmax);
  if (limit_ == 0) {  // all zeros so far: they belong in bin 0 once a range exists
    histogram_[0] += values.size();
    return;
  }
  const double per_bin = static_cast<double>(histogram_.size()) / limit_;
  if (fast) kernels::x86::accumulate_abs_histogram_avx2(values, per_bin, histogram_.size() - 1, histogram_.data());
  else kernels::accumulate_abs_histogram(values, per_bin, histogram_.size() - 1, histogram_.data());
}

double entropy_threshold(const std::vector<std::uint64_t>& histogram, double width, int target_bins) {
  // TensorRT's KL-divergence calibration: for each candidate number of kept
  // bins i, P is the histogram clipped at i (outliers folded into the last
  // kept bin) and Q is P squeezed into target_bins levels and expanded back
  // uniformly over the bins that were non-empty; pick the i with least KL(P||Q).
  const int n = static_cast<int>(histogram.size());
  int last_nonzero = n - 1;
  while (last_nonzero > 0 && histogram[last_nonzero] == 0) --last_nonzero;
  if (last_nonzero + 1 <= target_bins) return (last_nonzero + 1) * width;
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = last_nonzero + 1;
  std::vector<double> p, q;
  for (int i = target_bins; i <= last_nonzero + 1; ++i) {
    p.assign(histogram.begin(), histogram.begin() + i);
    for (int j = i; j < n; ++j) p[i - 1] += static_cast<double>(histogram[j]);
    q.assign(i, 0.0);
    for (int level = 0; level < target_bins; ++level) {
      const int begin = static_cast<int>(static_cast<long long>(level) * i / target_bins);
      const int end = static_cast<int>(static_cast<long long>(level + 1) * i / target_bins);
      double sum = 0;
      int nonzero = 0;
      for (int j = begin; j < end; ++j) {
        sum += static_cast<double>(histogram[j]);  // Q is built from the unclipped counts, as TensorRT does
        nonzero += histogram[j] != 0;
      }
      for (int j = begin; j < end; ++j) q[j] = histogram[j] != 0 ? sum / nonzero : 0.0;
    }
    double p_sum = 0, q_sum = 0;
    for (int j = 0; j < i; ++j) p_sum += p[j], q_sum += q[j];
    if (p_sum == 0 || q_sum == 0) continue;
    double kl = 0;
    for (int j = 0; j < i; ++j) {
      if (p[j] == 0) continue;
      const double pj = p[j] / p_sum, qj = q[j] / q_sum;
      // An outlier bin Q has no mass for is heavily penalized rather than infinite.
      kl += pj * std::log(pj / (qj > 0 ? qj : 1e-12));
    }
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  return best_i * width;
}

double percentile_threshold(const std::vector<std::uint64_t>& histogram, double width, double percentile) {
  std::uint64_t total = 0;
  for (auto c : histogram) total += c;
  if (total == 0) return 0;
  const double wanted = total * percentile / 100.0;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < histogram.size(); ++i) {
    running += histogram[i];
    if (static_cast<double>(running) >= wanted) return (i + 1) * width;
  }
  return histogram.size() * width;
}

double mse_threshold(const std::vector<std::uint64_t>& histogram, double width, int levels) {
  // Expected squared error of quantizing with threshold t = i * width: values
  // inside round with uniform error (step^2 / 12), values beyond clip to t.
  const int n = static_cast<int>(histogram.size());
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  for (int i = 1; i <= n; ++i) {
    const double t = i * width, step = t / (levels - 1);
    double inside = 0, clipped = 0;
    for (int j = 0; j < i; ++j) inside += static_cast<double>(histogram[j]);
    for (int j = i; j < n; ++j) {
      const double centre = (j + 0.5) * width;
      clipped += static_cast<double>(histogram[j]) * (centre - t) * (centre - t);
    }
    const double error = inside * step * step / 12.0 + clipped;
    if (error < best) best = error, best_i = i;
  }
  return best_i * width;
}

Range choose_range(const TensorObserver& observer, const CalibrationOptions& options, int levels) {
  if (observer.count() == 0) throw Error("calibration: tensor '" + observer.name() + "' was never observed");
  if (options.method == CalibrationMethod::minmax)
    return options.moving_average ? observer.moving_average() : Range{observer.min(), observer.max()};
  const auto& hist = observer.histogram();
  const double width = observer.histogram_limit() / static_cast<double>(hist.size());
  if (width == 0) return {observer.min(), observer.max()};  // all zeros
  const bool non_negative = observer.min() >= 0;
  double t = 0;
  switch (options.method) {
    case CalibrationMethod::entropy:
      // Signed tensors spread the levels over [-t, t]: half of them per side.
      t = entropy_threshold(hist, width, non_negative ? levels : levels / 2);
      break;
    case CalibrationMethod::percentile: t = percentile_threshold(hist, width, options.percentile); break;
    case CalibrationMethod::mse: t = mse_threshold(hist, width, non_negative ? levels : levels / 2 + 1); break;
    default: break;
  }
  const auto tf = static_cast<float>(t);
  if (non_negative) return {0.f, std::min(observer.max(), tf)};
  return {std::max(observer.min(), -tf), std::min(observer.max(), tf)};
}

}  // namespace tinyq::quant
