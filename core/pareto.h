#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace retort {

/// One candidate on the accuracy-versus-size plane.
struct ParetoPoint {
    double size = 0;      ///< bytes (smaller is better)
    double accuracy = 0;  ///< test accuracy (larger is better)
};

/// For each point, whether it is on the Pareto front: no other point is at most as large and
/// at least as accurate while strictly better in one of the two. Equal points are all kept.
std::vector<bool> paretoFront(const std::vector<ParetoPoint>& points);

/// How a run compressed its student, from its spec: "label-only" (lambda 0, dense fp32),
/// "distilled" (lambda > 0, dense fp32), "pruned", "quantized" or "pruned + quantized".
std::string compressionMethod(const nlohmann::json& spec);

}  // namespace retort
