#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace retort {

/// One candidate on the accuracy-versus-size plane.
struct ParetoPoint {
    double size = 0;      ///< bytes (smaller is better)
    double accuracy = 0;  ///< selection accuracy (larger is better): see selectionAccuracy
};

/// The accuracy runs are compared and chosen by (best run, Pareto front): the final model's
/// validation accuracy, never its test accuracy, except for a run without a validation split,
/// where it is test accuracy and @p onTest (when given) is set true. Empty when the results have
/// neither.
std::optional<double> selectionAccuracy(const nlohmann::json& results, bool* onTest = nullptr);

/// For each point, whether it is on the Pareto front: no other point is at most as large and
/// at least as accurate while strictly better in one of the two. Equal points are all kept.
std::vector<bool> paretoFront(const std::vector<ParetoPoint>& points);

/// How a run compressed its student, from its spec: "label-only" (lambda 0, dense fp32),
/// "distilled" (lambda > 0, dense fp32), "pruned", "quantized" or "pruned + quantized".
std::string compressionMethod(const nlohmann::json& spec);

}  // namespace retort
