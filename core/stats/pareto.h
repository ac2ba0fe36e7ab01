#pragma once

#include <nlohmann/json.hpp>

#include <functional>
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

/// The perplexity language models are compared and chosen by (lower is better): validation,
/// else test with @p onTest set, as selectionAccuracy. Empty when the results have neither.
std::optional<double> selectionPerplexity(const nlohmann::json& results, bool* onTest = nullptr);

/// What runs are chosen by: selectionPerplexity for language models (@p perplexity), else
/// selectionAccuracy; as measured (for a perplexity, lower is better).
std::optional<double> selectionValue(const nlohmann::json& results, bool perplexity,
                                     bool* onTest = nullptr);

/// selectionValue made larger-is-better (a perplexity negated): what a best run maximizes and
/// what a ParetoPoint's accuracy holds.
std::optional<double> selectionScore(const nlohmann::json& results, bool perplexity,
                                     bool* onTest = nullptr);

/// For each point, whether it is on the Pareto front: no other point is at most as large and
/// at least as accurate while strictly better in one of the two. Equal points are all kept.
std::vector<bool> paretoFront(const std::vector<ParetoPoint>& points);

/// A configuration on the accuracy-versus-size plane: its mean accuracy over seeds with the
/// 95 % interval of that mean (low = high = mean for a single seed).
struct IntervalPoint {
    double size = 0;  ///< bytes (smaller is better); a configuration's mean
    double mean = 0;  ///< mean selection accuracy (larger is better)
    double low = 0;   ///< its interval's lower end
    double high = 0;  ///< its interval's upper end
};

/// Where a configuration stands against the Pareto front of means.
enum class FrontStatus {
    Front,      ///< no configuration at most as large can be as accurate within noise
    Undecided,  ///< one at most as large is more accurate on the mean, or could be within noise,
                ///< but none is more accurate beyond noise: the seeds cannot settle it
    Dominated,  ///< one at most as large is more accurate beyond noise (its interval lies
                ///< wholly above this one's), or with one seed on both sides, simply more
};

/// The Pareto front over configuration means, with their intervals taken seriously: a point is
/// Dominated when another at most as large has its whole interval above this one's (and is
/// smaller, or strictly above); Undecided when it is not dominated so but another at most as
/// large could be more accurate (a smaller one's interval reaches this one's; one as large
/// reaches above its lower end); else on the Front. With single values (low = high = mean) this is
/// paretoFront: nothing is Undecided.
std::vector<FrontStatus> paretoFrontOfMeans(const std::vector<IntervalPoint>& points);

/// How one configuration stands against another at most as large, for the front.
enum class Dominance {
    None,         ///< it is not better
    Possible,     ///< it could be better (or as good, being smaller): the seeds cannot settle it
    BeyondNoise,  ///< it is better beyond noise (or, single values, simply better or as good
                  ///< and smaller)
};

/// How @p y stands against @p x (y at most as large) by their own intervals: BeyondNoise when
/// y's interval lies wholly above x's (at or above when y is smaller), Possible when a smaller
/// y's interval reaches x's or one as large reaches above x's lower end, else None. Single
/// values (low = high = mean) make this the ordinary comparison.
Dominance dominanceOfMeans(const IntervalPoint& y, const IntervalPoint& x);

/// The Pareto front by a pairwise judgement: @p judge(j, i) says how point j stands against
/// point i; it is asked only where sizes[j] ≤ sizes[i], j ≠ i. A point is Dominated when some j
/// is BeyondNoise over it, Undecided when none is but some j is Possible, else on the Front.
/// @p by, when given, receives for each point the first such j (empty on the front).
std::vector<FrontStatus> paretoFrontBy(const std::vector<double>& sizes,
                                       const std::function<Dominance(size_t j, size_t i)>& judge,
                                       std::vector<std::optional<size_t>>* by = nullptr);

/// "front", "undecided" or "dominated".
const char* frontStatusName(FrontStatus s);

/// How a run compressed its student, from its spec: "pruned", "quantized" or "pruned +
/// quantized"; else (dense fp32) "distilled" (a teacher and lambda > 0), "feature-distilled"
/// (lambda 0 with `distill.features`: hidden states and attention only), "teacher-initialized"
/// (`student.init` teacher_layers), "pretrained" (`student.pretrained` or `student.pretrain`),
/// or "label-only": a plain student trained on the labels alone, the only automatic baseline.
std::string compressionMethod(const nlohmann::json& spec);

/// Every name compressionMethod gives, in the order plots list them.
const std::vector<std::string>& compressionMethodNames();

}  // namespace retort
