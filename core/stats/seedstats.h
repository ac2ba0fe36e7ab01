#pragma once

// Statistics over seeds: the mean of a metric with its 95 % confidence interval (Student's t),
// and the difference between two configurations, paired by seed where the seeds match, else
// Welch's unpaired interval. Plain functions on numbers: the grouping of runs into
// configurations (stats/configurations.h) feeds them.

#include <cstdint>
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
    double low() const { return mean - half; }
    double high() const { return mean + half; }
    /// The interval contains 0 (or there is none): no difference can be claimed.
    bool withinNoise() const;
};

/// The difference of @p candidate from @p baseline, each a metric by seed label (any string
/// that says which seeds a run used). Paired over the seeds both have when there are at least
/// two of them; else Welch's unpaired interval when each side has two values or more; else the
/// difference of the means without an interval (kind None when a side is empty).
Difference compareBySeed(const std::map<std::string, double>& candidate,
                         const std::map<std::string, double>& baseline, double level = 0.95);

}  // namespace retort
