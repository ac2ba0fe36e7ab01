#include "export/dataexport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace retort {

Json runJson(const RunRecord& r) {
    Json j = {{"id", r.id},         {"name", r.name}, {"status", statusName(r.status)},
              {"params", r.params}, {"spec", r.spec}, {"results", r.results}};
    if (!r.error.empty()) j["error"] = r.error;
    return j;
}

Json runsJson(const std::string& project, const std::vector<RunRecord>& runs) {
    Json j = {{"project", project}, {"runs", Json::array()}};
    for (const auto& r : runs) j["runs"].push_back(runJson(r));
    return j;
}

std::string csvCell(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string shellQuote(const std::string& s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789-_./=:+@") == std::string::npos)
        return s;
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

namespace {

/// A spec's leaves by dotted key (lists as one value); the name and the sweep left out.
void flatten(const Json& j, const std::string& prefix, std::map<std::string, Json>& out) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
        if (prefix.empty() && (it.key() == "name" || it.key() == "sweep")) continue;
        if (it.value().is_object() && !it.value().empty())
            flatten(it.value(), key, out);
        else
            out[key] = it.value();
    }
}

/// A model in a few words: "mlp 128-64", "cnn c32-64 h128", "torchscript FILE", "run 3".
std::string architectureText(const Json& m) {
    if (!m.is_object()) return "";
    if (m.contains("torchscript")) return "torchscript " + m.value("torchscript", std::string());
    if (m.contains("run"))
        return "run " + m["run"].dump() +
               (m.value("model", std::string("student")) == "teacher" ? " (its teacher)" : "");
    auto widths = [&](const char* k) {
        std::string w;
        if (m.contains(k) && m[k].is_array())
            for (const auto& v : m[k]) w += (w.empty() ? "" : "-") + v.dump();
        return w;
    };
    std::string text = m.value("arch", std::string("?"));
    if (!widths("channels").empty()) text += " c" + widths("channels");
    if (!widths("hidden").empty())
        text += (m.value("arch", "") == "cnn" ? " h" : " ") + widths("hidden");
    return text;
}

}  // namespace

std::string runsCsv(const std::vector<RunRecord>& runs) {
    // Columns: every spec key whose value differs anywhere in the project (so a mixed project's
    // fixed values are not blank), the swept keys, the architectures, every scalar result.
    std::vector<std::map<std::string, Json>> leaves(runs.size());
    std::set<std::string> allKeys, results;
    for (size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].spec.is_object()) flatten(runs[i].spec, "", leaves[i]);
        for (const auto& [k, v] : leaves[i]) allKeys.insert(k);
        for (auto it = runs[i].params.begin(); it != runs[i].params.end(); ++it)
            allKeys.insert(it.key());
        for (auto it = runs[i].results.begin(); it != runs[i].results.end(); ++it)
            if (!it.value().is_object() && !it.value().is_array()) results.insert(it.key());
    }
    auto valueOf = [&](size_t i, const std::string& k) -> Json {
        if (auto it = leaves[i].find(k); it != leaves[i].end()) return it->second;
        if (runs[i].params.contains(k)) return runs[i].params[k];
        return Json();
    };
    std::vector<std::string> keys;
    for (const auto& k : allKeys) {
        bool differs = false, swept = false;
        for (size_t i = 0; i < runs.size(); ++i) {
            swept = swept || runs[i].params.contains(k);
            differs = differs || valueOf(i, k) != valueOf(0, k);
        }
        if (differs || swept) keys.push_back(k);
    }
    std::ostringstream os;
    os << "id,name,status";
    for (const auto& k : keys) os << "," << csvCell(k);
    os << ",student_architecture,teacher_architecture";
    for (const auto& k : results) os << "," << csvCell(k);
    os << ",error\n";
    for (size_t i = 0; i < runs.size(); ++i) {
        const RunRecord& r = runs[i];
        os << r.id << "," << csvCell(r.name) << "," << statusName(r.status);
        for (const auto& k : keys) {
            const Json v = valueOf(i, k);
            os << "," << (v.is_null() ? "" : csvCell(formatValue(v)));
        }
        os << "," << csvCell(architectureText(r.spec.value("student", Json())));
        os << "," << csvCell(architectureText(r.spec.value("teacher", Json())));
        for (const auto& k : results) {
            const Json& v = r.results.contains(k) ? r.results[k] : Json();
            os << ","
               << (v.is_null() ? "" : csvCell(v.is_string() ? v.get<std::string>() : v.dump()));
        }
        os << "," << csvCell(r.error) << "\n";
    }
    return os.str();
}

namespace {

/// Metrics of one run ordered by metric name, then epoch.
std::vector<MetricPoint> sortedMetrics(const ProjectStore& store, int64_t run) {
    auto points = store.metrics(run);
    std::stable_sort(points.begin(), points.end(), [](const MetricPoint& a, const MetricPoint& b) {
        return a.name != b.name ? a.name < b.name : a.epoch < b.epoch;
    });
    return points;
}

}  // namespace

std::string metricsCsv(const ProjectStore& store, const std::vector<RunRecord>& runs) {
    std::ostringstream os;
    os << "run,metric,step,value\n";
    // Values in the shortest text that reads back to the same double.
    for (const auto& r : runs)
        for (const auto& m : sortedMetrics(store, r.id))
            os << r.id << "," << csvCell(m.name) << "," << m.epoch << "," << Json(m.value).dump()
               << "\n";
    return os.str();
}

Json metricsJson(const ProjectStore& store, const std::vector<RunRecord>& runs) {
    Json all = Json::array();
    for (const auto& r : runs)
        for (const auto& m : sortedMetrics(store, r.id))
            all.push_back(
                {{"run", r.id}, {"metric", m.name}, {"step", m.epoch}, {"value", m.value}});
    return {{"project", store.path()}, {"metrics", all}};
}

void writeFileAtomic(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp-" + std::to_string(getpid());
    {
        std::ofstream f(tmp, std::ios::binary);
        if (!f) throw std::runtime_error(path + ": cannot write (" + std::strerror(errno) + ")");
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f.flush()) {
            f.close();
            std::remove(tmp.c_str());
            throw std::runtime_error(path + ": write failed (disk full?)");
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": cannot write (" + std::strerror(e) + ")");
    }
}

void writeExport(const std::string& path, const std::string& bytes, const std::string& project) {
    namespace fs = std::filesystem;
    if (path.empty()) throw std::runtime_error("--out: an empty file name");
    if (path == "-") {
        std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        std::cout.flush();
        if (!std::cout) throw std::runtime_error("standard output: write failed");
        return;
    }
    std::error_code ec;
    // The file a write would change: a symlink's target (existing or not).
    fs::path target = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec) target = fs::absolute(path);
    const std::string shown =
        path == target.string() ? path : path + " (-> " + target.string() + ")";
    auto refuse = [&](const std::string& why) {
        throw std::runtime_error(shown + ": " + why + "; nothing was written");
    };
    // The project and its side files, by identity and by name.
    const fs::path projectPath = fs::weakly_canonical(fs::absolute(project, ec), ec);
    struct stat out {};
    const bool exists = ::stat(target.c_str(), &out) == 0;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        const fs::path p = projectPath.string() + suffix;
        struct stat ps {};
        const bool same = target == p || (exists && ::stat(p.c_str(), &ps) == 0 &&
                                          ps.st_dev == out.st_dev && ps.st_ino == out.st_ino);
        if (same)
            refuse(*suffix ? std::string("is the project's SQLite ") + (suffix + 1) + " file"
                           : std::string("is the project being exported"));
    }
    if (exists && S_ISDIR(out.st_mode)) refuse("is a folder; give a file name");
    if (exists && S_ISREG(out.st_mode)) {
        std::ifstream in(target, std::ios::binary);
        char head[16] = {};
        in.read(head, sizeof head);
        if (in.gcount() == 16 && std::memcmp(head, "SQLite format 3", 16) == 0)
            refuse("is an SQLite database (a Retort project?), not overwritten by an export");
    }
    if (exists && !S_ISREG(out.st_mode)) {
        // A device or a pipe: written as it is, never replaced by a regular file.
        std::ofstream f(target, std::ios::binary);
        if (!f) throw std::runtime_error(shown + ": cannot write (" + std::strerror(errno) + ")");
        f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!f.flush()) throw std::runtime_error(shown + ": write failed");
        return;
    }
    writeFileAtomic(target.string(), bytes);
}

}  // namespace retort
