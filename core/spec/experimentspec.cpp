#include "spec/experimentspec.h"

#include "spec/speckeys.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace retort {

SpecError::SpecError(std::vector<SpecIssue> issues)
    : std::runtime_error([&] {
          std::string s;
          for (const auto& i : issues) {
              if (!s.empty()) s += "\n";
              s += i.key.empty() ? i.message : i.key + ": " + i.message;
          }
          return s;
      }()),
      m_issues(std::move(issues)) {}

Json parseSpecText(const std::string& text, const std::string& file) {
    std::vector<SpecIssue> issues;
    struct Level {
        std::set<std::string> keys;
        std::string prefix;
    };
    std::vector<Level> stack;
    std::string lastKey;
    auto cb = [&](int depth, Json::parse_event_t event, Json& parsed) {
        (void)depth;
        switch (event) {
            case Json::parse_event_t::object_start:
            case Json::parse_event_t::array_start: {
                std::string prefix;
                if (!stack.empty())
                    prefix = stack.back().prefix + (lastKey.empty() ? "" : lastKey) +
                             (event == Json::parse_event_t::array_start ? "[]" : "");
                if (!prefix.empty() && event == Json::parse_event_t::object_start) prefix += ".";
                stack.push_back({{}, prefix});
                lastKey.clear();
                break;
            }
            case Json::parse_event_t::object_end:
            case Json::parse_event_t::array_end:
                if (!stack.empty()) stack.pop_back();
                lastKey.clear();
                break;
            case Json::parse_event_t::key: {
                const std::string k = parsed.get<std::string>();
                if (!stack.empty() && !stack.back().keys.insert(k).second)
                    issues.push_back({stack.back().prefix + k,
                                      file + ": the key appears twice in the same object (JSON "
                                             "keeps only the last one): remove one"});
                lastKey = k;
                break;
            }
            case Json::parse_event_t::value:
                if (!stack.empty() && !stack.back().prefix.empty() &&
                    stack.back().prefix.back() == ']')
                    lastKey.clear();
                break;
        }
        return true;
    };
    Json j;
    try {
        j = Json::parse(text, cb);
    } catch (const Json::parse_error& e) {
        // Where it went wrong, as an editor shows it.
        size_t line = 1, column = 1;
        for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        std::string what = e.what();
        if (const auto at = what.find("syntax error"); at != std::string::npos)
            what = what.substr(at);
        throw SpecError({{"", file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                  ": not valid JSON (" + what + ")"}});
    }
    if (!issues.empty()) throw SpecError(issues);
    return j;
}

Json readSpecFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SpecError({{"", path + ": cannot read the spec file"}});
    std::stringstream ss;
    ss << in.rdbuf();
    Json j = parseSpecText(ss.str(), path);
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path folder = fs::absolute(path, ec).parent_path();
    auto resolve = [&](Json& parent, const char* key) {
        if (!parent.is_object() || !parent.contains(key) || !parent[key].is_string()) return;
        const std::string p = parent[key].get<std::string>();
        if (p.empty() || fs::path(p).is_absolute()) return;
        parent[key] = (folder / p).lexically_normal().string();
    };
    if (j.is_object()) {
        if (j.contains("data")) resolve(j["data"], "path");
        if (j.contains("teacher")) resolve(j["teacher"], "torchscript");
    }
    return j;
}

std::vector<SpecIssue> ExperimentSpec::warnings() const {
    std::vector<SpecIssue> out;
    if (teacher && teacher->kind == TeacherOptions::Kind::Zoo && !teacher->train)
        out.push_back({"teacher.train",
                       "the teacher has no train section: it is a random network, frozen at its "
                       "initialization (useful for benchmarks; distilling from it teaches noise)"});
    if (prune && (train.finetune == Finetune::Head || train.finetune == Finetune::Bitfit))
        out.push_back(
            {"prune", std::string("train.finetune ") + choiceName(train.finetune) +
                          " freezes the weights pruning removes: they are cut once and never "
                          "retrained to recover (finetune full lets them)"});
    return out;
}

int64_t ExperimentSpec::pruneEndEpoch() const {
    if (!prune) return 0;
    if (prune->end_epoch > 0) return prune->end_epoch;
    return std::max<int64_t>(
        prune->begin_epoch,
        static_cast<int64_t>(std::ceil(0.6 * static_cast<double>(train.epochs))));
}

void setDotted(Json& j, const std::string& dottedKey, const Json& value) {
    Json* node = &j;
    std::stringstream ss(dottedKey);
    std::string part;
    std::vector<std::string> parts;
    while (std::getline(ss, part, '.')) parts.push_back(part);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        if (!node->contains(parts[i]) || !(*node)[parts[i]].is_object())
            (*node)[parts[i]] = Json::object();
        node = &(*node)[parts[i]];
    }
    if (value.is_null())
        node->erase(parts.back());
    else
        (*node)[parts.back()] = value;
}

const Json* findDotted(const Json& j, const std::string& dottedKey) {
    const Json* node = &j;
    std::stringstream ss(dottedKey);
    std::string part;
    while (std::getline(ss, part, '.')) {
        if (!node->is_object() || !node->contains(part)) return nullptr;
        node = &(*node)[part];
    }
    return node;
}

std::string formatValue(const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_float()) {
        std::ostringstream os;
        os << v.get<double>();
        return os.str();
    }
    if (v.is_object()) {  // {bits:8,granularity:per_tensor}: readable in run names and tables
        std::string r;
        for (auto it = v.begin(); it != v.end(); ++it)
            r += (r.empty() ? "" : ",") + it.key() + ":" + formatValue(it.value());
        return "{" + r + "}";
    }
    return v.dump();
}

std::vector<RunPoint> expandSweep(const Json& specJson, std::vector<SpecIssue>& issues) {
    std::vector<RunPoint> points;
    if (!specJson.is_object()) {
        issues.push_back({"", "the spec must be a JSON object, not " + jsonTypeName(specJson)});
        return points;
    }
    Json base = specJson;
    Json sweep = base.contains("sweep") ? base["sweep"] : Json();
    base.erase("sweep");

    std::vector<Json> grids;
    if (sweep.is_null())
        grids.push_back(Json::object());
    else if (sweep.is_object())
        grids.push_back(sweep);
    else if (sweep.is_array() && !sweep.empty()) {
        for (const auto& g : sweep) grids.push_back(g);
    } else {
        issues.push_back(
            {"sweep",
             "must be an object of dotted keys to lists, or a non-empty list of such objects"});
        return points;
    }

    // Count the runs first: a grid multiplies, and a spec of a few lines can ask for billions.
    double total = 0;
    for (const auto& g : grids) {
        if (!g.is_object()) continue;
        double n = 1;
        for (auto it = g.begin(); it != g.end(); ++it)
            n *= it.value().is_array() ? double(std::max<size_t>(1, it.value().size())) : 1.0;
        total += n;
    }
    if (total > double(kMaxSweepRuns)) {
        issues.push_back({"sweep", "expands to " +
                                       (total < 1e15 ? std::to_string(static_cast<long long>(total))
                                                     : std::string("more than 10^15")) +
                                       " runs; at most " + std::to_string(kMaxSweepRuns) +
                                       " per spec"});
        return points;
    }

    // Each point's own problems with the swept values that made it ("" without a sweep).
    std::vector<std::pair<SpecIssue, std::string>> pointIssues;
    for (size_t gi = 0; gi < grids.size(); ++gi) {
        const Json& grid = grids[gi];
        std::string where = grids.size() > 1 ? "sweep[" + std::to_string(gi) + "]" : "sweep";
        if (!grid.is_object()) {
            issues.push_back(
                {where, "must be an object of dotted keys to lists, not " + jsonTypeName(grid)});
            continue;
        }
        std::vector<std::pair<std::string, std::vector<Json>>> axes;
        bool ok = true;
        for (auto it = grid.begin(); it != grid.end(); ++it) {
            const SpecKey* known = findSpecKey(it.key());
            if (it.key().empty() || it.key() == "sweep" || it.key().rfind("sweep.", 0) == 0 ||
                (known && !known->sweepable)) {
                issues.push_back({where + "." + it.key(), "is not a key that can be swept"});
                ok = false;
                continue;
            }
            if (!it.value().is_array() || it.value().empty()) {
                issues.push_back({where + "." + it.key(), "must be a non-empty list of values"});
                ok = false;
                continue;
            }
            axes.push_back({it.key(), std::vector<Json>(it.value().begin(), it.value().end())});
        }
        if (!ok) continue;
        // Cartesian product, the first key varying slowest.
        std::vector<size_t> idx(axes.size(), 0);
        while (true) {
            RunPoint p;
            Json j = base;
            std::string suffix;
            for (size_t a = 0; a < axes.size(); ++a) {
                const Json& v = axes[a].second[idx[a]];
                setDotted(j, axes[a].first, v);
                p.params[axes[a].first] = v;
                std::string leaf = axes[a].first.substr(axes[a].first.rfind('.') + 1);
                if (!suffix.empty()) suffix += ",";
                suffix += leaf + "=" + formatValue(v);
            }
            std::vector<SpecIssue> own;
            p.spec = ExperimentSpec::fromJson(j, own);
            for (auto& i : own) pointIssues.push_back({std::move(i), suffix});
            p.name = suffix.empty() ? p.spec.name : p.spec.name + " [" + suffix + "]";
            p.spec.sweep = Json();
            points.push_back(std::move(p));
            size_t a = axes.size();
            while (a > 0) {
                --a;
                if (++idx[a] < axes[a].second.size()) break;
                idx[a] = 0;
                if (a == 0) {
                    a = SIZE_MAX;
                    break;
                }
            }
            if (axes.empty() || a == SIZE_MAX) break;
        }
    }
    // A problem every point has is the base spec's: said once. Others name their point.
    std::map<std::pair<std::string, std::string>, size_t> count;
    for (const auto& pi : pointIssues) ++count[{pi.first.key, pi.first.message}];
    std::set<std::pair<std::string, std::string>> said;
    std::vector<SpecIssue> once, named;
    for (const auto& [issue, suffix] : pointIssues) {
        const std::pair<std::string, std::string> k{issue.key, issue.message};
        if (suffix.empty() || count[k] >= points.size()) {
            if (said.insert(k).second) once.push_back(issue);
        } else {
            named.push_back({issue.key, issue.message + " (sweep point " + suffix + ")"});
        }
    }
    issues.insert(issues.end(), once.begin(), once.end());
    issues.insert(issues.end(), named.begin(), named.end());
    return points;
}

}  // namespace retort
