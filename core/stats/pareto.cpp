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

std::vector<FrontStatus> paretoFrontBy(const std::vector<double>& sizes,
                                       const std::function<Dominance(size_t j, size_t i)>& judge,
                                       std::vector<std::optional<size_t>>* by) {
    std::vector<FrontStatus> out(sizes.size(), FrontStatus::Front);
    if (by) by->assign(sizes.size(), std::nullopt);
    for (size_t i = 0; i < sizes.size(); ++i) {
        std::optional<size_t> maybe;
        for (size_t j = 0; j < sizes.size(); ++j) {
            if (j == i || sizes[j] > sizes[i]) continue;
            const Dominance d = judge(j, i);
            if (d == Dominance::BeyondNoise) {
                out[i] = FrontStatus::Dominated;
                maybe = j;
                break;
            }
            if (d == Dominance::Possible && !maybe) maybe = j;
        }
        if (out[i] != FrontStatus::Dominated && maybe) out[i] = FrontStatus::Undecided;
        if (by) (*by)[i] = maybe;
    }
    return out;
}

Dominance dominanceOfMeans(const IntervalPoint& y, const IntervalPoint& x) {
    // Surely better: y's worst is at least x's best, and y wins on one of the two.
    if (y.low >= x.high && (y.size < x.size || y.low > x.high)) return Dominance::BeyondNoise;
    // Possibly better: smaller and reaching x's interval, or as large and above it.
    if ((y.size < x.size && y.high >= x.low) || (y.size == x.size && y.high > x.low))
        return Dominance::Possible;
    return Dominance::None;
}

std::vector<FrontStatus> paretoFrontOfMeans(const std::vector<IntervalPoint>& points) {
    std::vector<double> sizes;
    for (const auto& p : points) sizes.push_back(p.size);
    return paretoFrontBy(
        sizes, [&](size_t j, size_t i) { return dominanceOfMeans(points[j], points[i]); });
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
    auto object = [&](const char* k) {
        return spec.is_object() && spec.contains(k) && spec[k].is_object() ? spec[k]
                                                                           : nlohmann::json();
    };
    const nlohmann::json prune = object("prune"), distill = object("distill"),
                         student = object("student");
    const bool pruned = prune.is_object() && prune.value("sparsity", 0.0) > 0;
    const bool quantized = object("quantize").is_object();
    if (pruned && quantized) return "pruned + quantized";
    if (pruned) return "pruned";
    if (quantized) return "quantized";
    const bool teacher = spec.is_object() && spec.contains("teacher") && !spec["teacher"].is_null();
    if (teacher && distill.is_object() && distill.value("lambda", 0.0) > 0) return "distilled";
    // lambda 0 still learns from the teacher when its hidden states and attention are matched.
    if (teacher && distill.is_object() && distill.contains("features") &&
        distill["features"].is_object())
        return "feature-distilled";
    if (student.is_object()) {
        const auto init = student.find("init");
        if (init != student.end() && *init == "teacher_layers") return "teacher-initialized";
        const auto pre = student.find("pretrained");
        if ((pre != student.end() && pre->is_number() && pre->get<double>() > 0) ||
            (student.contains("pretrain") && student["pretrain"].is_object()))
            return "pretrained";
    }
    return "label-only";
}

const std::vector<std::string>& compressionMethodNames() {
    static const std::vector<std::string> names = {
        "label-only", "pretrained", "teacher-initialized", "feature-distilled",
        "distilled",  "pruned",     "quantized",           "pruned + quantized"};
    return names;
}

}  // namespace retort
