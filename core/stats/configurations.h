#pragma once

// Runs grouped into configurations: runs whose specs differ only in their seeds (`seed`,
// `data.seed`, `teacher.seed`) and name are one configuration, measured n times. For each
// configuration and metric: n, mean, standard deviation and 95 % interval; against a baseline
// configuration, the difference paired by seed (stats/seedstats.h). What the CLI's `compare`
// and `list --group`, the grouped export and the report's Findings are made of.

#include "stats/pareto.h"
#include "stats/seedstats.h"
#include "store/projectstore.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace retort {

/// The spec keys that say which seeds a run used, not what it is.
const std::vector<std::string>& seedKeys();

/// One configuration: its completed runs.
struct Configuration {
    std::string key;                 ///< the spec without seeds and name, serialized: the identity
    Json spec;                       ///< that spec (seeds and name removed)
    std::string label;               ///< its swept values without seeds ("lambda=0.9, T=4")
    std::vector<int64_t> runs;       ///< completed runs, by id
    std::vector<std::string> seeds;  ///< each run's seed label ("seed=2"), in the runs' order
    /// Each run's seed label with only the seed keys that vary among the runs grouped (all
    /// fixed: `seed`), for tables: "seed=2" where the full label is "seed=2 data.seed=1
    /// teacher.seed=1". Pairing uses the full labels.
    std::vector<std::string> shownSeeds;
};

/// A spec's configuration identity: the spec without its seed keys and name, serialized. Runs
/// of one configuration (any status) share it.
std::string configurationKey(const Json& spec);

/// The seed label of a run's spec: its seed keys and values ("seed=1" or "seed=1 data.seed=3").
std::string seedLabel(const Json& spec);

/// The completed runs of @p runs (with @p completedOnly false, runs of any status) grouped by
/// configuration, in order of their first run.
std::vector<Configuration> groupConfigurations(const std::vector<RunRecord>& runs,
                                               bool completedOnly = true);

/// One metric of one configuration.
struct ConfigurationMetric {
    MeanInterval value;     ///< over its runs (runs without the metric are left out)
    Difference difference;  ///< against the baseline (kind None for the baseline itself)
};

/// The comparison of every configuration with a baseline on some metrics.
struct Comparison {
    std::vector<Configuration> configurations;
    size_t baseline = 0;               ///< index into configurations
    std::string baselineReason;        ///< why it is the baseline (asked for, label-only, first)
    std::vector<std::string> metrics;  ///< result keys compared
    /// [configuration][metric]; each difference's pAdjusted is Holm's over its metric's family
    std::vector<std::vector<ConfigurationMetric>> values;
    /// [metric] how many comparisons with the baseline were tested (differences with a p): the
    /// family each metric's p-values are Holm-adjusted over
    std::vector<int64_t> comparisons;
};

/// Whether @p runs are language models: some completed run has a compressed size and every
/// such run is of task language_model. They are compared, placed and chosen by perplexity
/// (lower is better) instead of accuracy.
bool languageModelRuns(const std::vector<RunRecord>& runs);

/// Whether a smaller value of result @p metric is the better one: perplexities, losses, sizes.
bool lowerIsBetter(const std::string& metric);

/// Whether result @p metric is a fraction shown in per cent (accuracy, macro-F1, sparsity),
/// its differences in percentage points; else a plain number (perplexity) or bytes.
bool fractionMetric(const std::string& metric);

/// A configuration on the quality-versus-size plane, where runs are chosen: its mean selection
/// value (validation accuracy, or validation perplexity for language models; test for runs
/// without a validation split) with the 95 % interval, its mean compressed size, and its place
/// against the front of means, with the configuration that settled it.
struct ConfigurationPoint {
    size_t configuration = 0;  ///< index into the configurations given
    MeanInterval value;        ///< selection value over the runs that have one
    double size = 0;           ///< mean compressed size in bytes
    bool onTest = false;       ///< some run had no validation split: its test value was used
    bool perplexity = false;   ///< value is a perplexity (lower is better), not an accuracy
    FrontStatus status = FrontStatus::Front;
    /// Dominated: the configuration (index into the configurations given) that is better beyond
    /// noise at most this size; Undecided: one that could be better; empty on the front.
    std::optional<size_t> by;
    /// The seeds that decision rests on: pairs of a paired difference, else the fewer runs of
    /// the two (0 on the front).
    int64_t bySeeds = 0;
};

/// The configurations of @p configurations that have a selection value and a compressed
/// size, placed against the Pareto front of means. Two configurations are judged as their
/// differences are (compareBySeed on the selection value): a smaller or equal one dominates
/// another when the difference's interval lies wholly on its side of 0 (paired by seed where
/// they share seeds, else Welch's), could when the interval reaches its side (a constant
/// difference, without an interval, is never beyond noise); with one run on a side, by the
/// configurations' own intervals (paretoFrontOfMeans). @p runs: the records (by id) the
/// configurations were grouped from.
std::vector<ConfigurationPoint> configurationFront(const std::vector<Configuration>& configurations,
                                                   const std::vector<RunRecord>& runs);

/// Compares the configurations of @p runs on @p metrics. @p baseline picks the baseline: a
/// run id ("7") or a configuration's label; empty: the plain label-only configuration
/// (compressionMethod "label-only": no distillation of logits or features, no teacher-layer
/// start or pretraining, no pruning or quantization) with the most runs, else the first. Each
/// metric's differences to the baseline are one family: their p-values are Holm-adjusted over
/// the configurations that have one (Comparison::comparisons). Throws std::invalid_argument
/// when @p baseline names nothing, or when no run is completed.
Comparison compareConfigurations(const std::vector<RunRecord>& runs,
                                 const std::vector<std::string>& metrics,
                                 const std::string& baseline = "");

/// The comparison as JSON: {"metrics", "baseline": {"index", "label", "reason"},
/// "comparisons": {"<metric>": m}, "configurations": [{"label", "runs", "seeds", "spec",
/// "<metric>": {"n", "mean", "sd", "ci_low", "ci_high", "difference": {"kind", "n", "mean",
/// "ci_low", "ci_high", "p", "p_adjusted", "within_noise"}}}]}: the raw 95 % interval, the
/// t-test's p and its Holm-adjusted p over the metric's m comparisons; "within_noise" is the
/// verdict (not beyondNoise). NaN as null.
Json comparisonJson(const Comparison& c);

/// The comparison as CSV: one row per configuration (label, baseline, n, runs, seeds) and per
/// metric its mean, sd, interval and the difference to the baseline with its raw interval,
/// kind, p, Holm-adjusted p, the number of comparisons adjusted over and whether it is within
/// noise (the verdict).
std::string comparisonCsv(const Comparison& c);

/// The comparison of one metric as a plain-text table, for a terminal: the number of
/// comparisons made (always, 0 included), then a row per configuration with n, mean ±
/// half-width, and the difference to the baseline with its raw interval, p and Holm-adjusted
/// p, "within noise" unless the adjusted p is below 0.05, "one seed" where there is no
/// interval and "no interval" where every seed gives the same difference.
std::string comparisonText(const Comparison& c, size_t metric);

/// The metrics worth comparing for these runs: validation and test accuracy, macro-F1 where
/// the runs have it, compressed size; for language models validation and test perplexity
/// first, then next-token accuracy and size.
std::vector<std::string> defaultComparisonMetrics(const std::vector<RunRecord>& runs);

}  // namespace retort
