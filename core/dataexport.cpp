#include "dataexport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace retort {

Json runJson(const RunRecord& r) {
    Json j = {{"id", r.id},
              {"name", r.name},
              {"status", r.status},
              {"params", r.params},
              {"results", r.results}};
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

std::string runsCsv(const std::vector<RunRecord>& runs) {
    std::set<std::string> params, results;
    for (const auto& r : runs) {
        for (auto it = r.params.begin(); it != r.params.end(); ++it) params.insert(it.key());
        for (auto it = r.results.begin(); it != r.results.end(); ++it)
            if (!it.value().is_object() && !it.value().is_array()) results.insert(it.key());
    }
    std::ostringstream os;
    os << "id,name,status";
    for (const auto& p : params) os << "," << csvCell(p);
    for (const auto& k : results) os << "," << csvCell(k);
    os << ",error\n";
    for (const auto& r : runs) {
        os << r.id << "," << csvCell(r.name) << "," << r.status;
        for (const auto& p : params)
            os << "," << (r.params.contains(p) ? csvCell(formatValue(r.params[p])) : "");
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
