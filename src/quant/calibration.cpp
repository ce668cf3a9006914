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

void TensorObserver::grow_to(double limit) {
  if (limit_ == 0) {  // only bin 0 (exact zeros) can be filled: it is bin 0 at any limit
    limit_ = limit;
    return;
  }
  while (limit_ < limit) {
    const std::size_t n = histogram_.size();
    for (std::size_t i = 0; i < n / 2; ++i) histogram_[i] = histogram_[2 * i] + histogram_[2 * i + 1];
    std::fill(histogram_.begin() + static_cast<std::ptrdiff_t>(n / 2), histogram_.end(), 0);
    limit_ *= 2;
  }
}

Range TensorObserver::accumulate(std::span<const float> values) {
  if (values.empty()) return {min_, max_};
  const bool fast = kernels::cpu_features().avx2;
  const kernels::ValueRange range = fast ? kernels::x86::value_range_avx2(values) : kernels::value_range(values);
  if (!range.finite) throw Error("calibration: tensor '" + name_ + "' holds NaN or Inf; cannot choose a range");
  if (count_ == 0) min_ = range.min, max_ = range.max;
  else min_ = std::min(min_, range.min), max_ = std::max(max_, range.max);
  count_ += values.size();
  const double absmax = std::max(std::abs(static_cast<double>(range.min)), std::abs(static_cast<double>(range.max)));
  if (absmax > 0) {
    // The least power of two above absmax: absmax = m 2^e with m in [0.5, 1).
    int exponent = 0;
    std::frexp(absmax, &exponent);
    grow_to(std::ldexp(1.0, exponent));
  }
  if (limit_ == 0) {  // all zeros so far
    histogram_[0] += values.size();
    return {range.min, range.max};
  }
  // bins / H is exact (H a power of two) and so is |x| * bins / H in double,
  // so a bin index at limit 2H is exactly the one at H halved: merges are exact.
  const double per_bin = static_cast<double>(histogram_.size()) / limit_;
  if (fast) kernels::x86::accumulate_abs_histogram_avx2(values, per_bin, histogram_.size() - 1, histogram_.data());
  else kernels::accumulate_abs_histogram(values, per_bin, histogram_.size() - 1, histogram_.data());
  return {range.min, range.max};
}

void TensorObserver::record_batch(Range batch) {
  if (batches_ == 0) avg_min_ = batch.min, avg_max_ = batch.max;
  else {
    avg_min_ += (batch.min - avg_min_) * averaging_constant_;
    avg_max_ += (batch.max - avg_max_) * averaging_constant_;
  }
  ++batches_;
}

void TensorObserver::merge(const TensorObserver& other) {
  if (other.histogram_.size() != histogram_.size()) throw Error("calibration: cannot merge histograms of different sizes");
  if (other.count_ == 0) return;
  if (count_ == 0) min_ = other.min_, max_ = other.max_;
  else min_ = std::min(min_, other.min_), max_ = std::max(max_, other.max_);
  count_ += other.count_;
  grow_to(other.limit_);
  // Bring other's bins to this limit: 2^k of its bins make one of these.
  // (Past 63 doublings, e.g. values of 1e-30 merged with values of 1, every
  // bin is bin 0; the shift must not reach the width of the index.)
  int shift = 0;
  for (double l = other.limit_; l != 0 && l < limit_ && shift < 63; l *= 2) ++shift;
  for (std::size_t i = 0; i < other.histogram_.size(); ++i) histogram_[i >> shift] += other.histogram_[i];
}

double entropy_threshold(const std::vector<std::uint64_t>& counts, double width, int target_bins) {
  // TensorRT's KL-divergence calibration: for each candidate number of kept
  // bins i, P is the histogram clipped at i (outliers folded into the last
  // kept bin) and Q is P squeezed into target_bins levels and expanded back
  // uniformly over the bins that were non-empty (from the unclipped counts, as
  // TensorRT does); pick the i with least KL(P||Q).
  //
  // Written out, KL = sum_j (p_j/P) log((p_j/P) / (q_j/Q)) with P the total
  // count, Q = sum_{j<i} h_j, and q_j = S_l / nz_l (level l's count over its
  // non-empty bins) wherever h_j > 0. Below the last kept bin p_j = h_j, so
  //   sum_{j<i-1} h_j log h_j - (log P - log Q) sum_{j<i-1} h_j - sum_l S_l log(S_l / nz_l)
  // (the last bin's share of its level taken back out) gives those terms from
  // prefix sums with one logarithm per level: O(target_bins) per candidate
  // instead of O(i) logarithms. The last bin, which holds the outliers, is
  // added on its own; where Q has no mass for it, it is penalized heavily
  // (q = 1e-12) rather than infinitely.
  //
  // Bin 0 counts as bin 1 does (as NVIDIA's pytorch-quantization does): after
  // a ReLU it holds every exact zero, often half the values, and any level
  // that merged it with its neighbours would get a Q far from P. Left in, that
  // spike alone pins the choice to the last i that keeps bin 0 a level of its
  // own (i < 2 target_bins): a threshold set by the histogram's extent, not
  // by the data.
  std::vector<std::uint64_t> histogram = counts;
  if (histogram.size() > 1) histogram[0] = histogram[1];
  const int n = static_cast<int>(histogram.size());
  int last_nonzero = n - 1;
  while (last_nonzero > 0 && histogram[last_nonzero] == 0) --last_nonzero;
  if (last_nonzero + 1 <= target_bins) return (last_nonzero + 1) * width;
  // Prefix sums over bins [0, k): counts, non-empty bins, h log h.
  std::vector<double> count(n + 1, 0.0), h_log_h(n + 1, 0.0);
  std::vector<int> nonzero(n + 1, 0);
  for (int j = 0; j < n; ++j) {
    const double h = static_cast<double>(histogram[j]);
    count[j + 1] = count[j] + h;
    nonzero[j + 1] = nonzero[j] + (histogram[j] != 0);
    h_log_h[j + 1] = h_log_h[j] + (h > 0 ? h * std::log(h) : 0.0);
  }
  const double total = count[n];
  if (total == 0) return (last_nonzero + 1) * width;
  const double log_total = std::log(total);
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = last_nonzero + 1;
  for (int i = target_bins; i <= last_nonzero + 1; ++i) {
    const double q_total = count[i];
    if (q_total == 0) continue;
    const double log_ratio = log_total - std::log(q_total);  // log P - log Q
    double level_terms = 0, last_level_log_mean = 0;
    for (int level = 0; level < target_bins; ++level) {
      const int begin = static_cast<int>(static_cast<long long>(level) * i / target_bins);
      const int end = static_cast<int>(static_cast<long long>(level + 1) * i / target_bins);
      const double sum = count[end] - count[begin];
      if (sum == 0) continue;
      const double log_mean = std::log(sum / (nonzero[end] - nonzero[begin]));
      level_terms += sum * log_mean;
      if (level == target_bins - 1) last_level_log_mean = log_mean;  // the level holding bin i-1
    }
    const double h_last = static_cast<double>(histogram[i - 1]);
    // Bins below i-1: sum h_j (log h_j - log q_j - log P + log Q), divided by P.
    double kl = (h_log_h[i - 1] - (level_terms - h_last * last_level_log_mean) - log_ratio * count[i - 1]) / total;
    const double p_last = h_last + (total - count[i]);  // the last kept bin with the outliers folded in
    if (p_last > 0) {
      const double pj = p_last / total;
      const double qj = h_last > 0 ? std::exp(last_level_log_mean) / q_total : 1e-12;
      kl += pj * std::log(pj / qj);
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
  // inside round with uniform error (step^2 / 12), values beyond clip to t
  // (each counted at its bin's centre). In units of width/2 a bin centre is
  // the odd number k = 2j + 1 and t is m = 2i, so the clipped part is
  //   sum_{j>=i} h_j (k - m)^2 = sum h k^2 - 2m sum h k + m^2 sum h
  // over suffix sums, kept in exact integers: O(1) per candidate.
  using Wide = unsigned __int128;
  const int n = static_cast<int>(histogram.size());
  std::vector<Wide> h0(n + 1, 0), h1(n + 1, 0), h2(n + 1, 0);  // suffix sums of h, h k, h k^2 over bins [j, n)
  for (int j = n - 1; j >= 0; --j) {
    const Wide h = histogram[j], k = static_cast<Wide>(2 * j + 1);
    h0[j] = h0[j + 1] + h, h1[j] = h1[j + 1] + h * k, h2[j] = h2[j + 1] + h * k * k;
  }
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  for (int i = 1; i <= n; ++i) {
    const Wide m = static_cast<Wide>(2 * i);
    // k >= 2i + 1 > m for every clipped bin, so the sum of squares is >= 0 term by term.
    const Wide clipped_halves = h2[i] - 2 * m * h1[i] + m * m * h0[i];
    const double t = i * width, step = t / (levels - 1);
    const double inside = static_cast<double>(h0[0] - h0[i]);
    const double error = inside * step * step / 12.0 + static_cast<double>(clipped_halves) * (width * width / 4.0);
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
