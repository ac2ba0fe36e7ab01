#include "stats/findings.h"

#include "store/resultcolumns.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace retort {

namespace {

std::string fixed(double v, int decimals) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(decimals) << v;
    return o.str();
}

/// "88.35 %".
std::string percent(double fraction) {
    return fixed(fraction * 100, 2) + " %";
}

/// "88.35 % ± 0.21 pt" (or "88.35 %" without an interval).
std::string percentInterval(const MeanInterval& m) {
    return m.hasInterval() ? percent(m.mean) + " ± " + fixed(m.half * 100, 2) + " pt"
                           : percent(m.mean);
}

std::string seedsText(int64_t n) {
    return n == 1 ? "one seed" : std::to_string(n) + " seeds";
}

/// How the findings read one compared metric: a fraction in per cent (accuracy, differences in
/// points) or a perplexity (a plain number, lower is better).
struct MetricText {
    bool perplexity = false;

    /// "88.35 % ± 0.21 pt", "98.35 ± 0.40" (or without the interval).
    std::string value(const MeanInterval& m) const {
        if (!perplexity) return percentInterval(m);
        return m.hasInterval() ? fixed(m.mean, 2) + " ± " + fixed(m.half, 2) : fixed(m.mean, 2);
    }
    /// "+0.31 pt [−0.20, +0.82]", "−5.04 [−6.10, −3.98]" (no interval: the mean alone).
    std::string difference(const Difference& d) const {
        if (!std::isfinite(d.mean)) return "no difference computable";
        auto sign = [&](double v) { return perplexity ? signedNumber(v) : signedPoints(v); };
        std::string s = sign(d.mean) + (perplexity ? "" : " pt");
        if (d.kind != DifferenceKind::None && !d.constant())
            s += " [" + sign(d.low()) + ", " + sign(d.high()) + "]";
        return s;
    }
    /// Whether a difference's mean is an improvement.
    bool better(const Difference& d) const { return perplexity ? d.mean < 0 : d.mean > 0; }
};

/// "+0.31 pt [−0.20, +0.82]", "+0.49 pt (no interval)".
std::string differenceText(const Difference& d) {
    return MetricText{}.difference(d);
}

/// How a difference was computed: "paired over 3 seeds", "unpaired (Welch), 3 and 2 seeds".
std::string howText(const Difference& d, int64_t mine, int64_t base) {
    switch (d.kind) {
        case DifferenceKind::Paired:
            return "paired over " + seedsText(d.n);
        case DifferenceKind::Unpaired:
            return "unpaired (Welch), " + std::to_string(mine) + " and " + std::to_string(base) +
                   " seeds";
        case DifferenceKind::None:
            break;
    }
    return mine <= 1 && base <= 1 ? "one seed each: no interval"
                                  : "too few seeds on one side: no interval";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

/// "1 comparison", "3 comparisons", "0 comparisons".
std::string comparisonsText(int64_t n) {
    return std::to_string(n) + (n == 1 ? " comparison" : " comparisons");
}

/// What the intervals do not cover: "The intervals cover only the student's seed (seed): every
/// run used one data split (data.seed) and one teacher (teacher.seed), …", or empty when the
/// data's and the teacher's seeds varied too (or no seed did).
std::string coverageNote(const Comparison& c) {
    std::map<std::string, std::set<std::string>> values;
    bool teacher = false;
    for (const auto& conf : c.configurations) {
        teacher = teacher || (conf.spec.contains("teacher") && !conf.spec["teacher"].is_null());
        for (const auto& label : conf.seeds) {
            const auto kv = seedLabelValues(label);
            for (const auto& k : seedKeys()) {
                // A run without teacher.seed has no zoo teacher: no teacher to vary.
                auto it = kv.find(k);
                if (it != kv.end() || k != "teacher.seed")
                    values[k].insert(it == kv.end() ? std::string() : it->second);
            }
        }
    }
    std::vector<std::string> varied, fixed, other, keys;
    // Per seed key: what varying it covers, what holding it fixed means, what else it could be.
    struct SeedWords {
        const char *key, *varied, *fixed, *other;
    };
    static const SeedWords words[] = {
        {"seed", "the student's seed (seed)", nullptr, nullptr},
        {"data.seed", "the data split (data.seed)", "one data split (data.seed)", "another split"},
        {"teacher.seed", "the teacher's seed (teacher.seed)", "one teacher (teacher.seed)",
         "another teacher"}};
    for (const SeedWords& w : words) {
        if (w.key == std::string("teacher.seed") && !teacher) continue;
        if (values[w.key].size() > 1) {
            varied.push_back(w.varied);
        } else if (w.fixed) {
            fixed.push_back(w.fixed);
            other.push_back(w.other);
            keys.push_back(w.key);
        }
    }
    if (varied.empty() || fixed.empty()) return {};
    return "The intervals cover only " + join(varied, " and ") + ": every run used " +
           join(fixed, " and ") + ", so they say nothing of how the results would vary with " +
           join(other, " or ") + " (sweep " + join(keys, " and ") + " to measure that).";
}

/// "16.8× smaller (23.6 KiB)", "the same size", "3.1 % larger (…)".
std::string sizeText(double size, double baseSize) {
    if (!(size > 0) || !(baseSize > 0)) return {};
    const double ratio = baseSize / size;
    if (std::abs(ratio - 1.0) < 0.005) return "the same size";
    return (ratio > 1 ? fixed(ratio, 1) + "× smaller"
                      : fixed((1 / ratio - 1) * 100, 1) + " % larger") +
           " (" + formatBytes(size) + ")";
}

}  // namespace

std::string configurationName(const Comparison& c, size_t i) {
    return "C" + std::to_string(i + 1) + " (" + c.configurations.at(i).label + ")";
}

std::string signedPoints(double fraction, int decimals) {
    const double pt = fraction * 100;
    const std::string digits = fixed(std::abs(pt), decimals);
    // "−0.00" would claim a sign the rounding took away.
    if (digits.find_first_not_of("0.") == std::string::npos) return "±" + digits;
    return (pt < 0 ? "\u2212" : "+") + digits;
}

std::string signedNumber(double value, int decimals) {
    const std::string digits = fixed(std::abs(value), decimals);
    if (digits.find_first_not_of("0.") == std::string::npos) return "±" + digits;
    return (value < 0 ? "\u2212" : "+") + digits;
}

Findings findings(const std::vector<RunRecord>& runs, const std::string& baseline) {
    Findings f;
    // Language models are judged by perplexity (lower is better), next-token accuracy beside.
    const bool lm = languageModelRuns(runs);
    const MetricText text{lm};
    const std::string measure = lm ? "test perplexity" : "test accuracy";
    std::vector<std::string> metrics =
        lm ? std::vector<std::string>{"test_perplexity", "val_perplexity"}
           : std::vector<std::string>{"test_accuracy", "val_accuracy"};
    const auto defaults = defaultComparisonMetrics(runs);
    const bool f1 = std::find(defaults.begin(), defaults.end(), "test_macro_f1") != defaults.end();
    if (f1) metrics.push_back("test_macro_f1");
    if (lm) metrics.push_back("test_accuracy");  // next-token accuracy
    metrics.push_back("compressed_size_bytes");
    f.comparison = compareConfigurations(runs, metrics, baseline);
    const Comparison& c = f.comparison;
    enum { Test, Val };
    const size_t size = metrics.size() - 1, macro = 2;
    const auto& confs = c.configurations;
    const auto& base = c.values[c.baseline];

    f.baseline = "Baseline: " + configurationName(c, c.baseline) + " \u2014 " + c.baselineReason +
                 "; " + seedsText(base[Test].value.n) + ", " + text.value(base[Test].value) + " " +
                 measure + (base[Test].value.hasInterval() ? " (95 % interval)" : "") + ", " +
                 formatBytes(base[size].value.mean) + ".";

    f.comparisons = c.comparisons.at(Test);
    std::vector<std::string> better, worse, noise, single, constant;
    std::set<size_t> fewSeeds;  // verdicts that rest on fewer than 3 seeds
    bool anySingle = base[Test].value.n < 2;
    for (size_t i = 0; i < confs.size(); ++i) {
        if (i == c.baseline) continue;
        const auto& v = c.values[i];
        if (v[Test].value.n == 0) continue;
        ConfigurationFinding cf;
        cf.configuration = i;
        const Difference& d = v[Test].difference;
        cf.interval = d.kind != DifferenceKind::None && !d.constant();
        anySingle = anySingle || v[Test].value.n < 2;
        // Decided by the p Holm-adjusted over the comparisons made, never by a raw interval.
        if (d.beyondNoise()) cf.verdict = text.better(d) ? 1 : -1;
        if (cf.interval && d.n < 3) fewSeeds.insert(i);
        // The same difference on every seed (a key that changes nothing here, e.g. T with λ 0,
        // or one that moves every seed alike) has no spread to measure noise by.
        const bool paired = d.kind == DifferenceKind::Paired;
        const std::string verdict =
            d.constant() && paired && d.mean == 0 ? "identical on every seed"
            : d.constant() && paired
                ? "the same difference on every seed (" + text.difference(d) + "): no interval"
            : d.constant()
                ? "each side the same on every seed (" + text.difference(d) + "): no interval"
            : !cf.interval   ? "not a finding"
            : cf.verdict > 0 ? "better beyond noise"
            : cf.verdict < 0 ? "worse beyond noise"
            : !d.withinNoise()
                ? "within noise after Holm's correction for " + comparisonsText(f.comparisons)
                : "within noise";
        cf.sentence =
            configurationName(c, i) + ": " + text.difference(d) + " " + measure + ", " +
            howText(d, v[Test].value.n, base[Test].value.n) +
            (cf.interval ? ", p " + pValueText(d.p) + ", Holm-adjusted p " + pValueText(d.pAdjusted)
                         : std::string()) +
            " \u2014 " + verdict;
        std::vector<std::string> also;
        if (std::isfinite(v[Val].difference.mean))
            also.push_back("validation " + text.difference(v[Val].difference));
        if ((f1 || lm) && std::isfinite(v[macro].difference.mean))
            also.push_back((lm ? "next-token accuracy " : "macro-F1 ") +
                           differenceText(v[macro].difference));
        const std::string sz = sizeText(v[size].value.mean, base[size].value.mean);
        if (!sz.empty()) also.push_back(sz);
        if (!also.empty()) cf.sentence += "; " + join(also, "; ");
        cf.sentence += ".";
        const std::string label = configurationName(c, i);
        (d.constant()     ? constant
         : !cf.interval   ? single
         : cf.verdict > 0 ? better
         : cf.verdict < 0 ? worse
                          : noise)
            .push_back(label);
        f.configurations.push_back(std::move(cf));
    }
    if (f.configurations.empty()) {
        f.summary = "One configuration only: nothing to compare it with (" +
                    comparisonsText(f.comparisons) + ").";
    } else {
        std::vector<std::string> parts;
        parts.push_back("Verdicts at the 5 % level, p Holm-adjusted over " +
                        comparisonsText(f.comparisons) + " with the baseline on " + measure + ".");
        if (!better.empty())
            parts.push_back("Better than the baseline beyond noise (" + measure +
                            "): " + join(better, "; ") + ".");
        else
            parts.push_back("No configuration beats the baseline beyond noise on " + measure + ".");
        if (!noise.empty()) parts.push_back("Within noise: " + join(noise, "; ") + ".");
        if (!worse.empty()) parts.push_back("Worse beyond noise: " + join(worse, "; ") + ".");
        if (!single.empty())
            parts.push_back("Without an interval (one seed): " + join(single, "; ") + ".");
        if (!constant.empty())
            parts.push_back("Without an interval (the same difference on every seed): " +
                            join(constant, "; ") + ".");
        f.summary = join(parts, " ");
    }

    // The front of means, on validation: where a researcher would choose.
    const auto points = configurationFront(confs, runs);
    std::vector<std::string> front, undecided, dominated;
    bool onTest = false;
    for (const auto& p : points) {
        onTest = onTest || p.onTest;
        std::string item = configurationName(c, p.configuration) + " at " + formatBytes(p.size) +
                           ", " + text.value(p.value) + (lm ? " perplexity" : "");
        if (p.by)  // the front's verdicts are paired differences too: name who settled them
            item += std::string(p.status == FrontStatus::Dominated ? ", beaten by C"
                                                                   : ", perhaps beaten by C") +
                    std::to_string(*p.by + 1);
        if (p.status == FrontStatus::Dominated && p.bySeeds < 3) fewSeeds.insert(p.configuration);
        (p.status == FrontStatus::Front       ? front
         : p.status == FrontStatus::Undecided ? undecided
                                              : dominated)
            .push_back(item);
    }
    const std::string quality = lm ? "perplexity" : "accuracy";
    const std::string basis =
        onTest ? "test " + quality + " (no validation split)" : "validation " + quality;
    if (!points.empty()) {
        f.front = "Pareto front of means (" + basis + " vs compressed size): " +
                  (front.empty() ? std::string("none decided") : join(front, "; ")) + ".";
        if (!undecided.empty())
            f.front +=
                std::string(lm ? " Undecided, a configuration as small or smaller is as good "
                                 "within noise: "
                               : " Undecided, a configuration as small or smaller is as accurate "
                                 "within noise: ") +
                join(undecided, "; ") + ".";
        if (!dominated.empty())
            f.front += " Dominated beyond noise: " + join(dominated, "; ") + ".";
    }

    // Teachers, by the key the runs stored for theirs.
    struct Teacher {
        double acc = NAN;
        int64_t params = 0;
        int runs = 0;
        bool trained = true;
    };
    std::map<std::string, Teacher> teachers;
    size_t completed = 0;
    for (const auto& r : runs) {
        if (r.status != RunStatus::Completed) continue;
        ++completed;
        const Json& res = r.results;
        if (!res.contains("teacher_key") || !res["teacher_key"].is_string()) continue;
        Teacher& t = teachers[res["teacher_key"].get<std::string>()];
        ++t.runs;
        const char* teacherMeasure = lm ? "teacher_test_perplexity" : "teacher_test_accuracy";
        if (res.contains(teacherMeasure) && res[teacherMeasure].is_number())
            t.acc = res[teacherMeasure].get<double>();
        if (res.contains("teacher_param_count") && res["teacher_param_count"].is_number())
            t.params = res["teacher_param_count"].get<int64_t>();
        t.trained = res.value("teacher_trained", true);
    }
    if (teachers.size() > 3) {
        std::vector<double> accs;
        for (const auto& [k, t] : teachers) accs.push_back(t.acc);
        f.teachers.push_back(std::to_string(teachers.size()) + " teachers (their seeds or data " +
                             "differ): " + text.value(meanInterval(accs)) + " " + measure + ".");
    } else {
        for (const auto& [k, t] : teachers) {
            const Json params = t.params;
            f.teachers.push_back(
                std::string(teachers.size() == 1 ? "Teacher" : "A teacher") + ": " +
                (!std::isfinite(t.acc) ? std::string("no")
                 : lm                  ? fixed(t.acc, 2)
                                       : percent(t.acc)) +
                " " + measure + ", " + humanResultText(&params, ResultKind::Count) + " parameters" +
                (t.trained ? "" : ", never trained (a random network)") + "; trained once, " +
                (size_t(t.runs) == completed && teachers.size() == 1
                     ? "shared by all " + std::to_string(t.runs) + " completed runs."
                     : "used by " + std::to_string(t.runs) + " run(s)."));
        }
    }

    if (anySingle)
        f.notes.push_back(
            "Configurations measured with one seed have no interval: their differences are "
            "not findings. Repeat them over seeds (the editor's Seeds field or a seed sweep).");
    if (onTest)
        f.notes.push_back("These runs have no validation split: the front was chosen on " +
                          measure + ", which makes the test figures optimistic.");
    if (const std::string cover = coverageNote(c); !cover.empty()) f.notes.push_back(cover);
    if (!fewSeeds.empty()) {
        std::vector<std::string> names;
        for (size_t i : fewSeeds) names.push_back(configurationName(c, i));
        f.notes.push_back(
            "Verdicts that rest on fewer than 3 seeds: " + join(names, "; ") +
            ". With 2 seeds a t interval has 1 degree of freedom (12.7 standard errors each "
            "side at 95 %) and with one there is none: such a verdict can turn with the next "
            "seed. Repeat them over 3 seeds or more.");
    }
    return f;
}

}  // namespace retort
