#include "dataexport.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iomanip>
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

}  // namespace retort
