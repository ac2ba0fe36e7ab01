#include "stats/configurations.h"

#include "export/dataexport.h"
#include "spec/experimentspec.h"
#include "stats/pareto.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace retort {

namespace {

/// A JSON pointer's value, or null.
const Json* at(const Json& j, const std::string& dotted) {
    const Json* p = &j;
    size_t start = 0;
    while (true) {
        const size_t dot = dotted.find('.', start);
        const std::string part = dotted.substr(start, dot - start);
        if (!p->is_object() || !p->contains(part)) return nullptr;
        p = &(*p)[part];
        if (dot == std::string::npos) return p;
        start = dot + 1;
    }
}

bool isSeedKey(const std::string& k) {
    for (const auto& s : seedKeys())
        if (k == s) return true;
    return false;
}

/// A value as run names show it: 0 not 0.0, 0.075 not 0.07500000000000001.
std::string valueText(const Json& v) {
    return formatValue(v);
}

Json number(double v) {
    return std::isfinite(v) ? Json(v) : Json();
}

const char* kindName(DifferenceKind k) {
    switch (k) {
        case DifferenceKind::Paired:
            return "paired";
        case DifferenceKind::Unpaired:
            return "unpaired";
        case DifferenceKind::None:
            break;
    }
    return "none";
}

}  // namespace

const std::vector<std::string>& seedKeys() {
    static const std::vector<std::string> keys = {"seed", "data.seed", "teacher.seed"};
    return keys;
}

std::string seedLabel(const Json& spec) {
    std::string out;
    for (const auto& k : seedKeys())
        if (const Json* v = at(spec, k)) out += (out.empty() ? "" : " ") + k + "=" + valueText(*v);
    return out;
}

namespace {
Json withoutSeeds(const Json& full) {
    Json spec = full;
    for (const auto& k : seedKeys())
        if (at(spec, k)) setDotted(spec, k, nullptr);  // null erases
    if (spec.is_object()) spec.erase("name");
    return spec;
}
}  // namespace

std::string configurationKey(const Json& spec) {
    return withoutSeeds(spec).dump();
}

std::vector<Configuration> groupConfigurations(const std::vector<RunRecord>& runs,
                                               bool completedOnly) {
    std::vector<Configuration> out;
    std::map<std::string, size_t> byKey;
    std::map<std::string, int> labels;
    for (const auto& r : runs) {
        if (completedOnly && r.status != RunStatus::Completed) continue;
        const Json spec = withoutSeeds(r.spec);
        // Runs on two versions of a data split were tested on two test sets: never one
        // configuration (results without the key predate it: version 1).
        const int split = r.results.is_object() && r.results.contains("data_split_version") &&
                                  r.results["data_split_version"].is_number_integer()
                              ? r.results["data_split_version"].get<int>()
                              : 1;
        const std::string key = spec.dump() + (split == 1 ? "" : "|split " + std::to_string(split));
        auto it = byKey.find(key);
        if (it == byKey.end()) {
            Configuration c;
            c.key = key;
            c.spec = spec;
            if (r.params.is_object())
                for (auto p = r.params.begin(); p != r.params.end(); ++p)
                    if (!isSeedKey(p.key()))
                        c.label +=
                            (c.label.empty() ? "" : ", ") + p.key() + "=" + valueText(p.value());
            if (c.label.empty()) c.label = r.spec.value("name", r.name);
            if (const int seen = labels[c.label]++; seen > 0)
                c.label += " #" + std::to_string(seen + 1);
            it = byKey.emplace(key, out.size()).first;
            out.push_back(std::move(c));
        }
        out[it->second].runs.push_back(r.id);
        out[it->second].seeds.push_back(seedLabel(r.spec));
    }
    // The seed keys that vary among these runs: the ones worth showing.
    std::map<std::string, std::set<std::string>> values;
    for (const auto& r : runs) {
        if (completedOnly && r.status != RunStatus::Completed) continue;
        for (const auto& k : seedKeys()) {
            const Json* v = at(r.spec, k);
            values[k].insert(v ? valueText(*v) : std::string());
        }
    }
    std::vector<std::string> varying;
    for (const auto& k : seedKeys())
        if (values[k].size() > 1) varying.push_back(k);
    if (varying.empty()) varying.push_back("seed");
    std::map<int64_t, const RunRecord*> byId;
    for (const auto& r : runs) byId[r.id] = &r;
    for (auto& c : out)
        for (int64_t id : c.runs) {
            std::string label;
            for (const auto& k : varying)
                if (const Json* v = at(byId.at(id)->spec, k))
                    label += (label.empty() ? "" : " ") + k + "=" + valueText(*v);
            c.shownSeeds.push_back(label);
        }
    return out;
}

bool languageModelRuns(const std::vector<RunRecord>& runs) {
    bool any = false;
    for (const auto& r : runs) {
        if (r.status != RunStatus::Completed || !r.results.contains("compressed_size_bytes"))
            continue;
        if (r.results.value("task", std::string()) != "language_model") return false;
        any = true;
    }
    return any;
}

bool lowerIsBetter(const std::string& metric) {
    for (const char* k : {"perplexity", "loss", "bytes", "seconds"})
        if (metric.find(k) != std::string::npos) return true;
    return false;
}

bool fractionMetric(const std::string& metric) {
    for (const char* k : {"accuracy", "macro_f1", "sparsity", "share"})
        if (metric.find(k) != std::string::npos) return true;
    return false;
}

std::vector<ConfigurationPoint> configurationFront(const std::vector<Configuration>& configurations,
                                                   const std::vector<RunRecord>& runs) {
    std::map<int64_t, const RunRecord*> byId;
    for (const auto& r : runs) byId[r.id] = &r;
    const bool perplexity = languageModelRuns(runs);
    std::vector<ConfigurationPoint> out;
    // Each point's selection score (larger is better: a perplexity negated) by seed label.
    std::vector<std::map<std::string, double>> scores;
    for (size_t i = 0; i < configurations.size(); ++i) {
        const Configuration& conf = configurations[i];
        ConfigurationPoint p;
        p.configuration = i;
        p.perplexity = perplexity;
        std::vector<double> accuracies;
        std::map<std::string, double> bySeed;
        double sizes = 0;
        int64_t sized = 0;
        for (size_t k = 0; k < conf.runs.size(); ++k) {
            auto it = byId.find(conf.runs[k]);
            if (it == byId.end()) continue;
            const Json& res = it->second->results;
            bool onTest = false;
            const auto a = selectionValue(res, perplexity, &onTest);
            const auto s = res.find("compressed_size_bytes");
            if (!a || s == res.end() || !s->is_number()) continue;
            accuracies.push_back(*a);
            bySeed[k < conf.seeds.size() ? conf.seeds[k] : std::to_string(k)] =
                perplexity ? -*a : *a;
            p.onTest = p.onTest || onTest;
            sizes += s->get<double>();
            ++sized;
        }
        if (sized == 0) continue;
        p.value = meanInterval(accuracies);
        p.size = sizes / double(sized);
        out.push_back(p);
        scores.push_back(std::move(bySeed));
    }
    // The configurations' own intervals, larger-is-better (a perplexity's negated, flipped),
    // for a pair where one side has a single run.
    std::vector<IntervalPoint> points;
    std::vector<double> sizes;
    for (const auto& p : out) {
        const bool interval = p.value.hasInterval();
        const double mean = p.value.mean, low = interval ? p.value.low() : mean,
                     high = interval ? p.value.high() : mean;
        points.push_back(perplexity ? IntervalPoint{p.size, -mean, -high, -low}
                                    : IntervalPoint{p.size, mean, low, high});
        sizes.push_back(p.size);
    }
    // Pairs are judged by their difference, as compare and the Findings judge them: paired by
    // seed where they share seeds, else Welch's.
    std::map<std::pair<size_t, size_t>, int64_t> seeds;
    auto judge = [&](size_t j, size_t i) {
        const Difference d = compareBySeed(scores[j], scores[i]);  // j − i, larger is better
        seeds[{j, i}] = d.n;
        const bool smaller = sizes[j] < sizes[i];
        if (d.kind == DifferenceKind::None) return dominanceOfMeans(points[j], points[i]);
        if (d.constant())  // the same difference on every seed: no interval, never beyond noise
            return (smaller ? d.mean >= 0 : d.mean > 0) ? Dominance::Possible : Dominance::None;
        if (d.low() > 0) return Dominance::BeyondNoise;
        return (smaller ? d.high() >= 0 : d.high() > 0) ? Dominance::Possible : Dominance::None;
    };
    std::vector<std::optional<size_t>> by;
    const auto status = paretoFrontBy(sizes, judge, &by);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i].status = status[i];
        if (by[i]) {
            out[i].by = out[*by[i]].configuration;
            out[i].bySeeds = seeds[{*by[i], i}];
        }
    }
    return out;
}

Comparison compareConfigurations(const std::vector<RunRecord>& runs,
                                 const std::vector<std::string>& metrics,
                                 const std::string& baseline) {
    Comparison c;
    c.configurations = groupConfigurations(runs);
    c.metrics = metrics;
    if (c.configurations.empty()) throw std::invalid_argument("no completed runs to compare");
    std::map<int64_t, const RunRecord*> byId;
    for (const auto& r : runs) byId[r.id] = &r;

    bool found = false;
    if (!baseline.empty()) {
        const bool digits = baseline.find_first_not_of("0123456789") == std::string::npos;
        for (size_t i = 0; i < c.configurations.size() && !found; ++i) {
            const auto& conf = c.configurations[i];
            bool match = conf.label == baseline;
            if (digits)
                for (int64_t id : conf.runs) match = match || std::to_string(id) == baseline;
            if (match) {
                c.baseline = i;
                c.baselineReason = "asked for";
                found = true;
            }
        }
        if (!found)
            throw std::invalid_argument("--baseline " + baseline +
                                        ": no completed run or configuration of that name");
    } else {
        size_t most = 0;
        for (size_t i = 0; i < c.configurations.size(); ++i) {
            const auto& conf = c.configurations[i];
            if (compressionMethod(conf.spec) == "label-only" && conf.runs.size() > most) {
                most = conf.runs.size();
                c.baseline = i;
                found = true;
            }
        }
        c.baselineReason = found ? "label-only (no distillation, teacher-layer start, "
                                   "pretraining, pruning or quantization)"
                                 : "the first configuration (none is label-only)";
        if (!found) c.baseline = 0;
    }

    auto valuesOf = [&](const Configuration& conf, const std::string& metric) {
        std::map<std::string, double> bySeed;
        for (size_t k = 0; k < conf.runs.size(); ++k) {
            const Json& res = byId.at(conf.runs[k])->results;
            auto it = res.find(metric);
            if (it != res.end() && it->is_number()) bySeed[conf.seeds[k]] = it->get<double>();
        }
        return bySeed;
    };
    c.values.resize(c.configurations.size());
    for (size_t i = 0; i < c.configurations.size(); ++i)
        for (const auto& m : metrics) {
            const auto mine = valuesOf(c.configurations[i], m);
            std::vector<double> v;
            for (const auto& [s, x] : mine) v.push_back(x);
            ConfigurationMetric cm;
            cm.value = meanInterval(v);
            if (i != c.baseline)
                cm.difference = compareBySeed(mine, valuesOf(c.configurations[c.baseline], m));
            else
                cm.difference.mean = cm.difference.half = std::nan("");
            c.values[i].push_back(cm);
        }
    // Each metric's differences to the baseline are one family: Holm over those tested.
    c.comparisons.assign(metrics.size(), 0);
    for (size_t m = 0; m < metrics.size(); ++m) {
        std::vector<double> p;
        for (size_t i = 0; i < c.configurations.size(); ++i)
            p.push_back(i == c.baseline ? std::nan("") : c.values[i][m].difference.p);
        const auto adjusted = holmAdjust(p);
        for (size_t i = 0; i < c.configurations.size(); ++i) {
            c.values[i][m].difference.pAdjusted = adjusted[i];
            c.comparisons[m] += std::isfinite(adjusted[i]) ? 1 : 0;
        }
    }
    return c;
}

Json comparisonJson(const Comparison& c) {
    Json out = {{"metrics", c.metrics},
                {"baseline",
                 {{"index", c.baseline},
                  {"label", c.configurations[c.baseline].label},
                  {"reason", c.baselineReason}}}};
    Json comparisons = Json::object();
    for (size_t m = 0; m < c.metrics.size(); ++m) comparisons[c.metrics[m]] = c.comparisons.at(m);
    out["comparisons"] = comparisons;
    Json confs = Json::array();
    for (size_t i = 0; i < c.configurations.size(); ++i) {
        const auto& conf = c.configurations[i];
        Json j = {{"label", conf.label},
                  {"runs", conf.runs},
                  {"seeds", conf.seeds},
                  {"baseline", i == c.baseline},
                  {"spec", conf.spec}};
        for (size_t m = 0; m < c.metrics.size(); ++m) {
            const auto& cm = c.values[i][m];
            Json v = {{"n", cm.value.n},
                      {"mean", number(cm.value.mean)},
                      {"sd", number(cm.value.sd)},
                      {"ci_low", number(cm.value.hasInterval() ? cm.value.low() : NAN)},
                      {"ci_high", number(cm.value.hasInterval() ? cm.value.high() : NAN)}};
            if (i != c.baseline) {
                const auto& d = cm.difference;
                v["difference"] = {{"kind", kindName(d.kind)},
                                   {"n", d.n},
                                   {"mean", number(d.mean)},
                                   {"ci_low", number(d.low())},
                                   {"ci_high", number(d.high())},
                                   {"p", number(d.p)},
                                   {"p_adjusted", number(d.pAdjusted)},
                                   {"within_noise", !d.beyondNoise()}};
            }
            j[c.metrics[m]] = v;
        }
        confs.push_back(j);
    }
    out["configurations"] = confs;
    return out;
}

std::string comparisonCsv(const Comparison& c) {
    auto cell = [](double v) {
        if (!std::isfinite(v)) return std::string();
        std::ostringstream o;
        o.precision(10);
        o << v;
        return o.str();
    };
    std::string out = "configuration,baseline,n,runs,seeds";
    for (const auto& m : c.metrics)
        for (const char* f :
             {"mean", "sd", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "diff_kind",
              "diff_p", "diff_p_adjusted", "comparisons", "within_noise"})
            out += "," + m + "_" + f;
    out += "\n";
    for (size_t i = 0; i < c.configurations.size(); ++i) {
        const auto& conf = c.configurations[i];
        std::string runs, seeds;
        for (size_t k = 0; k < conf.runs.size(); ++k) {
            runs += (k ? " " : "") + std::to_string(conf.runs[k]);
            seeds += (k ? "; " : "") + conf.seeds[k];
        }
        out += csvCell(conf.label) + "," + (i == c.baseline ? "1" : "0") + "," +
               std::to_string(conf.runs.size()) + "," + csvCell(runs) + "," + csvCell(seeds);
        for (size_t m = 0; m < c.metrics.size(); ++m) {
            const auto& v = c.values[i][m];
            const auto& d = v.difference;
            const bool base = i == c.baseline;
            out += "," + cell(v.value.mean) + "," + cell(v.value.sd) + "," +
                   cell(v.value.hasInterval() ? v.value.low() : NAN) + "," +
                   cell(v.value.hasInterval() ? v.value.high() : NAN) + "," +
                   (base ? "" : cell(d.mean)) + "," + (base ? "" : cell(d.low())) + "," +
                   (base ? "" : cell(d.high())) + "," + (base ? "" : kindName(d.kind)) + "," +
                   (base ? "" : cell(d.p)) + "," + (base ? "" : cell(d.pAdjusted)) + "," +
                   (base ? "" : std::to_string(c.comparisons.at(m))) + "," +
                   (base              ? ""
                    : d.beyondNoise() ? "0"
                                      : "1");
        }
        out += "\n";
    }
    return out;
}

std::string comparisonText(const Comparison& c, size_t metric) {
    const std::string& name = c.metrics.at(metric);
    const bool bytes = name.find("bytes") != std::string::npos;
    auto fmt = [&](double v, bool sign = false) {
        std::ostringstream o;
        if (sign && v >= 0) o << "+";
        o << std::fixed << std::setprecision(bytes ? 0 : 4) << v;
        return o.str();
    };
    size_t width = 13;
    for (const auto& conf : c.configurations) width = std::max(width, conf.label.size() + 11);
    std::ostringstream o;
    const int64_t m = c.comparisons.at(metric);
    o << name << (lowerIsBetter(name) && !bytes ? " (lower is better)" : "")
      << ", mean ± 95 % interval over seeds; difference to the baseline ("
      << c.configurations[c.baseline].label << ": " << c.baselineReason << ")\n"
      << "difference: its raw 95 % interval and t-test p; verdicts by p Holm-adjusted over " << m
      << (m == 1 ? " comparison" : " comparisons")
      << " with the baseline, within noise unless below 0.05\n";
    o << std::left << std::setw(int(width)) << "configuration" << std::right << std::setw(4) << "n"
      << "  " << std::left << std::setw(22) << "mean"
      << "difference\n";
    for (size_t i = 0; i < c.configurations.size(); ++i) {
        const auto& v = c.values[i][metric];
        std::string label = c.configurations[i].label + (i == c.baseline ? " (baseline)" : "");
        std::string mean = v.value.n == 0          ? "-"
                           : v.value.hasInterval() ? fmt(v.value.mean) + " ± " + fmt(v.value.half)
                                                   : fmt(v.value.mean);
        std::string diff;
        if (i != c.baseline && v.value.n > 0) {
            const auto& d = v.difference;
            if (!std::isfinite(d.mean)) {
                diff = "-";
            } else if (d.kind == DifferenceKind::None) {
                diff = fmt(d.mean, true) + " (one seed: no interval)";
            } else if (d.constant()) {
                const bool paired = d.kind == DifferenceKind::Paired;
                diff = fmt(d.mean, true) + (paired ? " paired, " : " unpaired, ") +
                       (paired && d.mean == 0 ? "identical on every seed"
                        : paired              ? "the same on every seed: no interval"
                                              : "each side the same on every seed: no interval");
            } else {
                diff = fmt(d.mean, true) + " [" + fmt(d.low(), true) + ", " + fmt(d.high(), true) +
                       "] " + (d.kind == DifferenceKind::Paired ? "paired" : "unpaired") + ", p " +
                       pValueText(d.p) + ", adjusted p " + pValueText(d.pAdjusted) +
                       (d.beyondNoise() ? "" : ", within noise");
            }
        }
        o << std::left << std::setw(int(width)) << label << std::right << std::setw(4) << v.value.n
          << "  " << std::left << std::setw(22) << mean << diff << "\n";
    }
    return o.str();
}

std::vector<std::string> defaultComparisonMetrics(const std::vector<RunRecord>& runs) {
    if (languageModelRuns(runs))
        return {"val_perplexity", "test_perplexity", "val_accuracy", "test_accuracy",
                "compressed_size_bytes"};
    bool f1 = false;
    for (const auto& r : runs)
        if (r.results.contains("test_macro_f1") && r.results["test_macro_f1"].is_number())
            f1 = true;
    std::vector<std::string> m = {"val_accuracy", "test_accuracy"};
    if (f1) m.insert(m.end(), {"val_macro_f1", "test_macro_f1"});
    m.push_back("compressed_size_bytes");
    return m;
}

}  // namespace retort
