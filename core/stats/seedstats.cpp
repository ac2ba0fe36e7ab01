#include "stats/seedstats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace retort {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The continued fraction of the incomplete beta function (Lentz's method; Numerical Recipes
/// §6.4), converging for x < (a + 1) / (a + b + 2).
double betaFraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (std::abs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 500; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        if (std::abs(d) < tiny) d = tiny;
        if (std::abs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
        d = 1 + aa * d;
        c = 1 + aa / c;
        if (std::abs(d) < tiny) d = tiny;
        if (std::abs(c) < tiny) c = tiny;
        d = 1 / d;
        const double step = d * c;
        h *= step;
        if (std::abs(step - 1) < 1e-15) break;
    }
    return h;
}

/// The regularized incomplete beta function I_x(a, b).
double incompleteBeta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                  a * std::log(x) + b * std::log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * betaFraction(a, b, x) / a;
    return 1 - front * betaFraction(b, a, 1 - x) / b;
}

}  // namespace

double studentTCdf(double t, double df) {
    if (!(df > 0)) throw std::invalid_argument("t distribution: degrees of freedom must be > 0");
    if (std::isinf(t)) return t > 0 ? 1 : 0;
    const double x = df / (df + t * t);
    const double tail = 0.5 * incompleteBeta(df / 2, 0.5, x);  // P(T > |t|)
    return t >= 0 ? 1 - tail : tail;
}

double studentTQuantile(double p, double df) {
    if (!(p > 0 && p < 1)) throw std::invalid_argument("t quantile: p must be in (0, 1)");
    if (!(df > 0)) throw std::invalid_argument("t quantile: degrees of freedom must be > 0");
    if (p == 0.5) return 0;
    if (p < 0.5) return -studentTQuantile(1 - p, df);
    // Bracket, then bisect: the CDF is monotone.
    double lo = 0, hi = 1;
    while (studentTCdf(hi, df) < p) {
        lo = hi;
        hi *= 2;
        if (hi > 1e12) return std::numeric_limits<double>::infinity();
    }
    for (int i = 0; i < 200 && hi - lo > 1e-12 * std::max(1.0, hi); ++i) {
        const double mid = 0.5 * (lo + hi);
        (studentTCdf(mid, df) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

bool MeanInterval::hasInterval() const {
    return n >= 2 && std::isfinite(half);
}

MeanInterval meanInterval(const std::vector<double>& values, double level) {
    MeanInterval r;
    double sum = 0;
    for (double v : values)
        if (!std::isnan(v)) {
            ++r.n;
            sum += v;
        }
    r.mean = r.n ? sum / double(r.n) : kNaN;
    if (r.n < 2) {
        r.sd = r.half = kNaN;
        r.df = 0;
        return r;
    }
    double ss = 0;
    for (double v : values)
        if (!std::isnan(v)) ss += (v - r.mean) * (v - r.mean);
    r.sd = std::sqrt(ss / double(r.n - 1));
    r.df = double(r.n - 1);
    r.half = studentTQuantile(0.5 + level / 2, r.df) * r.sd / std::sqrt(double(r.n));
    return r;
}

bool Difference::withinNoise() const {
    if (kind == DifferenceKind::None || !std::isfinite(half)) return true;
    return low() <= 0 && high() >= 0;
}

Difference compareBySeed(const std::map<std::string, double>& candidate,
                         const std::map<std::string, double>& baseline, double level) {
    Difference d;
    std::vector<double> diffs, a, b;
    for (const auto& [seed, v] : candidate) {
        if (std::isnan(v)) continue;
        a.push_back(v);
        auto it = baseline.find(seed);
        if (it != baseline.end() && !std::isnan(it->second)) diffs.push_back(v - it->second);
    }
    for (const auto& [seed, v] : baseline)
        if (!std::isnan(v)) b.push_back(v);
    if (a.empty() || b.empty()) {
        d.mean = d.half = kNaN;
        return d;
    }
    if (diffs.size() >= 2) {
        const MeanInterval m = meanInterval(diffs, level);
        d.kind = DifferenceKind::Paired;
        d.n = m.n;
        d.mean = m.mean;
        d.half = m.half;
        d.df = m.df;
        return d;
    }
    const MeanInterval ma = meanInterval(a, level), mb = meanInterval(b, level);
    d.mean = ma.mean - mb.mean;
    d.n = std::min(ma.n, mb.n);
    if (ma.n < 2 || mb.n < 2) {
        d.half = kNaN;  // one value on a side: a difference, no interval
        return d;
    }
    const double va = ma.sd * ma.sd / double(ma.n), vb = mb.sd * mb.sd / double(mb.n);
    d.kind = DifferenceKind::Unpaired;
    if (va + vb == 0) {  // both sides constant: the difference is exact
        d.half = 0;
        d.df = double(ma.n + mb.n - 2);
        return d;
    }
    d.df = (va + vb) * (va + vb) / (va * va / double(ma.n - 1) + vb * vb / double(mb.n - 1));
    d.half = studentTQuantile(0.5 + level / 2, d.df) * std::sqrt(va + vb);
    return d;
}

}  // namespace retort
