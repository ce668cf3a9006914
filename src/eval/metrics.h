#pragma once
// Classification scores as MLPerf Tiny reports them: top-1 accuracy,
// per-class accuracy, confusion matrix, and EEMBC's simplified ROC AUC.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tinyq::eval {

struct ClassificationScores {
  std::int64_t correct = 0, total = 0;
  double accuracy = 0;                              // fraction in [0, 1]
  std::vector<double> per_class;                    // accuracy of each true class
  std::vector<std::vector<std::int64_t>> confusion; // [true][predicted]
  std::vector<double> per_class_auc;
  double auc = 0;  // mean of per_class_auc
};

// `scores` is f32 [N, K] (probabilities for the AUC); labels in [0, K).
ClassificationScores score_classification(const Tensor& scores, const std::vector<std::uint8_t>& labels);

// EEMBC's AUC (eval_functions_eembc.calculate_auc in mlcommons/tiny): for each
// class, one-vs-rest TPR/FPR at thresholds 0.01, 0.02, ..., 1.00 with the
// strict test p > t, the point (1, 1) forced at threshold 0, and trapezoids
// between consecutive thresholds.
double eembc_class_auc(const Tensor& scores, const std::vector<std::uint8_t>& labels, std::int64_t cls);

}  // namespace tinyq::eval
