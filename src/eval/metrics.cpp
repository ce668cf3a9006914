#include "eval/metrics.h"

#include <algorithm>

#include "core/error.h"

namespace tinyq::eval {

double eembc_class_auc(const Tensor& scores, const std::vector<std::uint8_t>& labels, std::int64_t cls) {
  constexpr int kThresholds = 101;
  const std::int64_t k = scores.shape()[1];
  const auto p = scores.data<float>();
  std::int64_t positives = 0;
  for (auto l : labels) positives += l == cls;
  const auto negatives = static_cast<std::int64_t>(labels.size()) - positives;
  std::vector<double> tpr(kThresholds), fpr(kThresholds);
  tpr[0] = fpr[0] = 1.0;
  for (int t = 1; t < kThresholds; ++t) {
    // The reference builds thresholds with np.arange(0.0, 1.01, .01): t * 0.01 in double.
    const double threshold = t * 0.01;
    std::int64_t tp = 0, fp = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (static_cast<double>(p[i * k + cls]) > threshold) (labels[i] == cls ? tp : fp)++;
    tpr[t] = positives ? static_cast<double>(tp) / positives : 0.0;
    fpr[t] = negatives ? static_cast<double>(fp) / negatives : 0.0;
  }
  double auc = 0;
  for (int t = 0; t + 1 < kThresholds; ++t) auc += 0.5 * (tpr[t] + tpr[t + 1]) * (fpr[t] - fpr[t + 1]);
  return auc;
}

ClassificationScores score_classification(const Tensor& scores, const std::vector<std::uint8_t>& labels) {
  if (scores.shape().size() != 2 || scores.shape()[0] != static_cast<std::int64_t>(labels.size()))
    throw Error("scores " + shape_to_string(scores.shape()) + " do not match " + std::to_string(labels.size()) + " labels");
  const std::int64_t k = scores.shape()[1];
  ClassificationScores s;
  s.total = static_cast<std::int64_t>(labels.size());
  s.confusion.assign(k, std::vector<std::int64_t>(k, 0));
  const auto p = scores.data<float>();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= k) throw Error("label " + std::to_string(labels[i]) + " is outside the model's " + std::to_string(k) + " classes");
    // First maximum wins, as numpy.argmax does.
    const auto row = p.subspan(i * k, k);
    const auto predicted = std::max_element(row.begin(), row.end()) - row.begin();
    s.confusion[labels[i]][predicted]++;
    s.correct += predicted == labels[i];
  }
  s.accuracy = s.total ? static_cast<double>(s.correct) / s.total : 0.0;
  for (std::int64_t c = 0; c < k; ++c) {
    std::int64_t n = 0;
    for (auto v : s.confusion[c]) n += v;
    s.per_class.push_back(n ? static_cast<double>(s.confusion[c][c]) / n : 0.0);
    s.per_class_auc.push_back(eembc_class_auc(scores, labels, c));
  }
  for (double a : s.per_class_auc) s.auc += a / k;
  return s;
}

}  // namespace tinyq::eval
