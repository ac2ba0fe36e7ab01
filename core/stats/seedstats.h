#pragma once

// Statistics over seeds: the mean of a metric with its 95 % confidence interval (Student's t),
// and the difference between two configurations, paired by seed where the seeds match, else
// Welch's unpaired interval. Plain functions on numbers: the grouping of runs into
// configurations (stats/configurations.h) feeds them.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace retort {

/// The quantile of Student's t distribution with @p df degrees of freedom (df > 0, not
/// necessarily an integer: Welch's df is not) at probability @p p in (0, 1). Accurate to about
/// 1e-10, from the regularized incomplete beta function inverted by bisection.
double studentTQuantile(double p, double df);

/// Student's t distribution function P(T ≤ t) with @p df degrees of freedom.
double studentTCdf(double t, double df);

/// A mean and its confidence interval.
struct MeanInterval {
    int64_t n = 0;    ///< values
    double mean = 0;  ///< their mean (NaN when n = 0)
    double sd = 0;    ///< sample standard deviation, n − 1 in the denominator (NaN when n < 2)
    double half = 0;  ///< half-width of the interval: t(0.975, n − 1) · sd / √n (NaN, n < 2)
    double df = 0;    ///< the t distribution's degrees of freedom (n − 1)
    double low() const { return mean - half; }
    double high() const { return mean + half; }
    /// Whether it has an interval (n ≥ 2).
    bool hasInterval() const;
};

/// n, mean, standard deviation and the @p level confidence interval of the mean of @p values.
/// NaN values are skipped. Identical values give sd 0 and a zero-width interval.
MeanInterval meanInterval(const std::vector<double>& values, double level = 0.95);

/// How a difference between two configurations was computed.
enum class DifferenceKind {
    None,      ///< not computable: a side has no values, or one value each (no interval)
    Paired,    ///< by seed: the mean of the per-seed differences, t with n − 1 df
    Unpaired,  ///< Welch's t interval, for sides without (enough) matching seeds
};

/// The difference candidate − baseline of a metric's mean.
struct Difference {
    DifferenceKind kind = DifferenceKind::None;
    int64_t n = 0;    ///< pairs (paired) or the smaller side's count (unpaired)
    double mean = 0;  ///< mean difference (NaN when there is nothing to compare)
    double half = 0;  ///< half-width of its interval (NaN without one)
    double df = 0;    ///< degrees of freedom (Welch–Satterthwaite for unpaired)
    /// Two-sided p of the t-test that the difference is 0 (paired t, or Welch's): NaN without an
    /// interval or with a zero-width one.
    double p = std::numeric_limits<double>::quiet_NaN();
    /// p adjusted for the family of comparisons it was made in (Holm; compareConfigurations sets
    /// it over the configurations compared with the baseline on one metric); NaN: not adjusted.
    double pAdjusted = std::numeric_limits<double>::quiet_NaN();
    double level = 0.95;  ///< the interval's confidence level; verdicts are at 1 − level
    double low() const { return mean - half; }
    double high() const { return mean + half; }
    /// The interval has zero width: the same difference on every seed (paired), or each side the
    /// same value on every seed (unpaired). Nothing measures the noise: no interval to speak of.
    bool constant() const;
    /// No difference can be claimed from the interval: there is none, it has zero width
    /// (constant()), or it contains 0. The raw interval: see beyondNoise for the verdict.
    bool withinNoise() const;
    /// The verdict: the raw interval excludes 0 (not withinNoise) and the p-value, Holm-adjusted
    /// where pAdjusted is set, is below 1 − level.
    bool beyondNoise() const;
};

/// A p-value as the findings write it, with its relation: "= 0.035", "< 0.001" (NaN: "= –").
std::string pValueText(double p);

/// Holm's step-down adjustment of the p-values @p p of one family of tests: the i-th smallest of
/// m becomes max over j ≤ i of min(1, (m − j + 1) · p_(j)). Rejecting where the adjusted value is
/// below α keeps the chance of any false rejection at most α, whatever the tests' dependence.
/// NaN entries were not tested: they stay NaN and do not count in m.
std::vector<double> holmAdjust(const std::vector<double>& p);

/// The keys and values of a seed label: "seed=1 data.seed=2" → {seed: 1, data.seed: 2} (as
/// strings); a word without "=" is a value under the key "".
std::map<std::string, std::string> seedLabelValues(const std::string& label);

/// The difference of @p candidate from @p baseline, each a metric by seed label (any string
/// that says which seeds a run used, "seed=1 data.seed=2 teacher.seed=3" as seedLabel writes
/// it). Runs pair on the seed keys every label on both sides has (a run without a teacher has no
/// `teacher.seed`; its student and data seeds still pair with a distilled run's), a label that
/// two runs of one side share on those keys pairing with nothing. Paired over the matching seeds
/// when there are at least two of them; else Welch's unpaired interval when each side has two
/// values or more; else the difference of the means without an interval (kind None when a side
/// is empty). Either interval comes with its t-test's two-sided p.
Difference compareBySeed(const std::map<std::string, double>& candidate,
                         const std::map<std::string, double>& baseline, double level = 0.95);

}  // namespace retort
