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

std::optional<double> selectionPerplexity(const nlohmann::json& results, bool* onTest) {
    if (onTest) *onTest = false;
    if (!results.is_object()) return std::nullopt;
    for (const char* k : {"val_perplexity", "test_perplexity"}) {
        auto it = results.find(k);
        if (it == results.end() || !it->is_number()) continue;
        if (onTest) *onTest = k[0] == 't';
        return it->get<double>();
    }
    return std::nullopt;
}

std::optional<double> selectionValue(const nlohmann::json& results, bool perplexity, bool* onTest) {
    return perplexity ? selectionPerplexity(results, onTest) : selectionAccuracy(results, onTest);
}

std::optional<double> selectionScore(const nlohmann::json& results, bool perplexity, bool* onTest) {
    const auto v = selectionValue(results, perplexity, onTest);
    return v && perplexity ? std::optional<double>(-*v) : v;
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

std::vector<FrontStatus> paretoFrontOfMeans(const std::vector<IntervalPoint>& points) {
    std::vector<FrontStatus> out(points.size(), FrontStatus::Front);
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& x = points[i];
        bool maybe = false;
        for (size_t j = 0; j < points.size(); ++j) {
            const auto& y = points[j];
            if (j == i || y.size > x.size) continue;
            // Surely better: y's worst is at least x's best, and y wins on one of the two.
            if (y.low >= x.high && (y.size < x.size || y.low > x.high)) {
                out[i] = FrontStatus::Dominated;
                break;
            }
            // Possibly better: smaller and reaching x's interval, or as large and above it.
            if ((y.size < x.size && y.high >= x.low) || (y.size == x.size && y.high > x.low))
                maybe = true;
        }
        if (out[i] != FrontStatus::Dominated && maybe) out[i] = FrontStatus::Undecided;
    }
    return out;
}

const char* frontStatusName(FrontStatus s) {
    switch (s) {
        case FrontStatus::Front:
            return "front";
        case FrontStatus::Undecided:
            return "undecided";
        case FrontStatus::Dominated:
            break;
    }
    return "dominated";
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
