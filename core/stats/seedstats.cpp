#include "stats/seedstats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <set>
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

bool Difference::constant() const {
    return kind != DifferenceKind::None && half == 0;
}

bool Difference::withinNoise() const {
    if (kind == DifferenceKind::None || !std::isfinite(half) || constant()) return true;
    return low() <= 0 && high() >= 0;
}

bool Difference::beyondNoise() const {
    if (withinNoise()) return false;
    const double q = std::isfinite(pAdjusted) ? pAdjusted : p;
    return q < 1 - level;
}

std::string pValueText(double p) {
    if (!std::isfinite(p)) return "= \u2013";
    if (p < 0.001) return "< 0.001";
    char buf[32];
    std::snprintf(buf, sizeof buf, "= %.3f", p);
    return buf;
}

std::vector<double> holmAdjust(const std::vector<double>& p) {
    std::vector<size_t> tested;
    for (size_t i = 0; i < p.size(); ++i)
        if (std::isfinite(p[i])) tested.push_back(i);
    std::stable_sort(tested.begin(), tested.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
    std::vector<double> out(p.size(), kNaN);
    const size_t m = tested.size();
    double running = 0;
    for (size_t k = 0; k < m; ++k) {
        running = std::max(running, std::min(1.0, double(m - k) * p[tested[k]]));
        out[tested[k]] = running;
    }
    return out;
}

std::map<std::string, std::string> seedLabelValues(const std::string& label) {
    std::map<std::string, std::string> out;
    size_t start = 0;
    while (start < label.size()) {
        size_t end = label.find(' ', start);
        if (end == std::string::npos) end = label.size();
        const std::string word = label.substr(start, end - start);
        if (!word.empty()) {
            const size_t eq = word.find('=');
            if (eq == std::string::npos)
                out[""] = word;
            else
                out[word.substr(0, eq)] = word.substr(eq + 1);
        }
        start = end + 1;
    }
    return out;
}

namespace {

/// The two-sided p of a t statistic with @p df degrees of freedom.
double twoSidedP(double t, double df) {
    return std::min(1.0, 2 * studentTCdf(-std::abs(t), df));
}

/// The values of @p side by their labels cut to @p keys; labels that two values share once cut
/// are left out (ambiguous: they pair with nothing).
std::map<std::string, double> byKeys(const std::map<std::string, double>& side,
                                     const std::set<std::string>& keys) {
    std::map<std::string, double> out;
    std::set<std::string> twice;
    for (const auto& [label, v] : side) {
        if (std::isnan(v)) continue;
        std::string cut;
        for (const auto& [k, value] : seedLabelValues(label))
            if (keys.count(k)) cut += k + "=" + value + " ";
        if (!out.emplace(cut, v).second) twice.insert(cut);
    }
    for (const auto& t : twice) out.erase(t);
    return out;
}

}  // namespace

Difference compareBySeed(const std::map<std::string, double>& candidate,
                         const std::map<std::string, double>& baseline, double level) {
    Difference d;
    d.level = level;
    std::vector<double> diffs, a, b;
    // The seed keys every label on both sides has: the ones runs can pair on.
    std::set<std::string> keys;
    bool first = true;
    for (const auto* side : {&candidate, &baseline})
        for (const auto& [label, v] : *side) {
            if (std::isnan(v)) continue;
            std::set<std::string> mine;
            for (const auto& kv : seedLabelValues(label)) mine.insert(kv.first);
            if (first) {
                keys = mine;
                first = false;
            } else {
                std::set<std::string> both;
                std::set_intersection(keys.begin(), keys.end(), mine.begin(), mine.end(),
                                      std::inserter(both, both.begin()));
                keys.swap(both);
            }
        }
    for (const auto& [seed, v] : candidate)
        if (!std::isnan(v)) a.push_back(v);
    for (const auto& [seed, v] : baseline)
        if (!std::isnan(v)) b.push_back(v);
    if (!keys.empty()) {
        const auto cut = byKeys(baseline, keys);
        for (const auto& [seed, v] : byKeys(candidate, keys)) {
            auto it = cut.find(seed);
            if (it != cut.end()) diffs.push_back(v - it->second);
        }
    }
    if (a.empty() || b.empty()) {
        d.mean = d.half = kNaN;
        return d;
    }
    // A spread below this is rounding (0.87 − 0.82 and 0.85 − 0.80 differ in the last bit): the
    // same difference on every seed.
    double scale = 0;
    for (const auto* side : {&a, &b})
        for (double v : *side) scale = std::max(scale, std::abs(v));
    const double rounding = 1e-12 * scale;
    if (diffs.size() >= 2) {
        const MeanInterval m = meanInterval(diffs, level);
        d.kind = DifferenceKind::Paired;
        d.n = m.n;
        d.mean = std::abs(m.mean) <= rounding ? 0 : m.mean;
        d.df = m.df;
        if (m.sd <= rounding) {
            d.half = 0;  // constant(): no interval, no test
            return d;
        }
        d.half = m.half;
        d.p = twoSidedP(m.mean / (m.sd / std::sqrt(double(m.n))), m.df);
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
    if (std::sqrt(va + vb) <= rounding) {  // both sides constant: no interval, no test
        d.half = 0;
        d.df = double(ma.n + mb.n - 2);
        return d;
    }
    d.df = (va + vb) * (va + vb) / (va * va / double(ma.n - 1) + vb * vb / double(mb.n - 1));
    d.half = studentTQuantile(0.5 + level / 2, d.df) * std::sqrt(va + vb);
    d.p = twoSidedP(d.mean / std::sqrt(va + vb), d.df);
    return d;
}

}  // namespace retort
