#pragma once

// The findings of a project, in plain sentences generated from the numbers: each configuration
// against the baseline on test accuracy (test perplexity for language models, lower better) with
// the raw 95 % interval of the difference, the seeds it rests on, its p and its p Holm-adjusted
// over the comparisons made (how many, always said); "beyond noise" only where the adjusted p is
// below 0.05, never for the same difference on every seed; the Pareto front of means (chosen on
// validation, never on test; judged by the same paired differences), every configuration named;
// the teacher; notes on what the intervals cover and on verdicts resting on few seeds. What the
// report's Findings section says; plain text, for any front end to escape.

#include "stats/configurations.h"

#include <string>
#include <vector>

namespace retort {

/// One configuration's finding against the baseline.
struct ConfigurationFinding {
    size_t configuration = 0;  ///< index into Findings::comparison.configurations
    /// -1: worse beyond noise, 0: within noise or no interval, +1: better beyond noise (test
    /// accuracy; test perplexity, lower, for language models): by the difference's
    /// Holm-adjusted p over Findings::comparisons, at 5 %.
    int verdict = 0;
    /// The difference has an interval of some width (two seeds or more a side, not the same
    /// difference on every seed).
    bool interval = false;
    std::string sentence;  ///< "C2 (…): +0.31 pt [−0.20, +0.82] test accuracy, …"
};

/// What a project's runs say, as sentences.
struct Findings {
    Comparison comparison;  ///< the numbers the sentences come from
    std::string baseline;   ///< the baseline and its test accuracy with interval
    std::vector<ConfigurationFinding> configurations;  ///< every other configuration
    std::string summary;  ///< better / within noise / worse beyond noise, by label
    std::string front;    ///< the configurations on the front of means, and the undecided
    std::vector<std::string> teachers;  ///< one sentence per distinct teacher (or their mean)
    std::vector<std::string> notes;     ///< caveats: one seed, test used for choosing, …
    /// How many comparisons with the baseline were tested on the headline metric: the family
    /// the verdicts' p-values are Holm-adjusted over.
    int64_t comparisons = 0;
};

/// The findings of @p runs against @p baseline (as compareConfigurations takes it; empty: the
/// label-only configuration). Throws std::invalid_argument as compareConfigurations does.
Findings findings(const std::vector<RunRecord>& runs, const std::string& baseline = "");

/// How findings, plots and tables name configuration @p i: "C2 (distill.lambda=0.9)".
std::string configurationName(const Comparison& c, size_t i);

/// A fraction as signed percentage points with the Unicode minus: "+0.31", "−0.20".
std::string signedPoints(double fraction, int decimals = 2);

/// A plain difference (of perplexity) with the Unicode minus: "+1.20", "−5.04", "±0.00".
std::string signedNumber(double value, int decimals = 2);

}  // namespace retort
