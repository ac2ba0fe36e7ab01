#include "stats/pareto.h"

namespace retort {

std::optional<double> selectionAccuracy(const nlohmann::json& results, bool* onTest) {
    if (onTest) *onTest = false;
    if (!results.is_object()) return std::nullopt;
    auto number = [&](const char* k) -> std::optional<double> {
        auto it = results.find(k);
        if (it == results.end() || !it->is_number()) return std::nullopt;
        return it->get<double>();
    };
    if (auto v = number("val_accuracy")) return v;
    auto t = number("test_accuracy");
    if (t && onTest) *onTest = true;
    return t;
}

std::vector<bool> paretoFront(const std::vector<ParetoPoint>& points) {
    std::vector<bool> front(points.size(), true);
    for (size_t i = 0; i < points.size(); ++i)
        for (size_t j = 0; j < points.size() && front[i]; ++j) {
            const auto& a = points[i];
            const auto& b = points[j];
            if (b.size <= a.size && b.accuracy >= a.accuracy &&
                (b.size < a.size || b.accuracy > a.accuracy))
                front[i] = false;
        }
    return front;
}

std::string compressionMethod(const nlohmann::json& spec) {
    const bool pruned = spec.contains("prune") && spec["prune"].is_object() &&
                        spec["prune"].value("sparsity", 0.0) > 0;
    const bool quantized = spec.contains("quantize") && spec["quantize"].is_object();
    if (pruned && quantized) return "pruned + quantized";
    if (pruned) return "pruned";
    if (quantized) return "quantized";
    const bool distilled = spec.contains("teacher") && spec.contains("distill") &&
                           spec["distill"].value("lambda", 0.0) > 0;
    return distilled ? "distilled" : "label-only";
}

}  // namespace retort
