#include "spec/specvalidator.h"

#include "data/dataset.h"
#include "data/tokenizer.h"
#include "models/archivecheck.h"
#include "models/modelzoo.h"
#include "store/projectstore.h"
#include "train/environment.h"

#include <torch/script.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

namespace retort {

namespace {}  // namespace

/// Probe results, keyed by the options and the files' stamps (path, size, mtime): a file that
/// changes on disk is probed again, and so is one whose error was cached. Entries are never
/// erased, so pointers into the maps stay valid.
struct SpecValidator::Cache {
    std::mutex mutex;
    std::map<std::string, std::pair<DataShape, std::string>> probes;
    /// TorchScript teachers by file stamp and input shape: output classes, or the error.
    std::map<std::string, std::pair<int64_t, std::string>> scripts;
    std::set<std::string> pending;  // being probed in the background
    /// The pieces of tokenizers the project holds, by key (only those found; 0: unreadable).
    std::map<std::string, int64_t> vocab;
};

SpecValidator::SpecValidator(const ProjectStore* store)
    : m_store(store), m_cache(std::make_shared<Cache>()) {}

SpecValidator::~SpecValidator() = default;

namespace {

std::pair<DataShape, std::string> probeDataNow(const DataOptions& data, Task task) {
    std::pair<DataShape, std::string> probe;
    try {
        probe.first = probeData(data, task);
    } catch (const std::exception& e) {
        probe.second = e.what();
    }
    return probe;
}

/// Loads the module and runs one zero sample through it: its classes, or why it is unusable.
std::pair<int64_t, std::string> probeScriptNow(const std::string& path,
                                               const std::vector<int64_t>& sampleShape) {
    try {
        torch::NoGradGuard guard;
        auto module = loadTorchScript(readArchiveFile(path), path, torch::kCPU);
        module.eval();
        std::vector<int64_t> in{1};
        in.insert(in.end(), sampleShape.begin(), sampleShape.end());
        auto y = module.forward({torch::zeros(in)});
        if (!y.isTensor()) throw std::runtime_error("its forward does not return a tensor");
        auto ys = y.toTensor().sizes().vec();
        if (ys.size() != 2 || ys[0] != 1)
            throw std::runtime_error("for input " + shapeText(in) + " it returns " + shapeText(ys) +
                                     ", not [1, classes]");
        return {ys[1], ""};
    } catch (const ArchiveError& e) {
        // A damaged file: refused before LibTorch parses it.
        return {0, path + ": not a usable TorchScript module (" + e.what() + ")"};
    } catch (const c10::Error& e) {
        return {0, path + ": not a usable TorchScript module (" +
                       std::string(e.what_without_backtrace()) + ")"};
    } catch (const std::exception& e) {
        return {0, path + ": " + e.what()};
    }
}

}  // namespace

std::optional<DataShape> SpecValidator::dataShape(const DataOptions& data, Task task,
                                                  std::string& error) {
    const DataShape* probed = probedShape(data, task, error);
    if (!probed) return std::nullopt;
    DataShape shape = *probed;
    if (!m_store || shape.tokenizer_key.empty()) return shape;
    Cache& c = *m_cache;
    int64_t pieces = -1;  // -1: not looked up yet; 0: stored but unreadable
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        if (auto it = c.vocab.find(shape.tokenizer_key); it != c.vocab.end()) pieces = it->second;
    }
    if (pieces < 0) {
        // Only a tokenizer found is remembered: one the project lacks may come with its next run.
        std::optional<std::string> model;
        try {
            model = m_store->tokenizer(shape.tokenizer_key);
        } catch (const std::exception&) {
            // a project that cannot be read now: the size asked for, as without one
        }
        if (model) {
            try {
                pieces = Tokenizer::fromModel(*model, data.tokenizer).vocabSize();
            } catch (const std::exception&) {
                pieces = 0;  // the run trains it again: the size asked for is the best guess
            }
            std::lock_guard<std::mutex> lock(c.mutex);
            c.vocab.emplace(shape.tokenizer_key, pieces);
        }
    }
    if (pieces > 0) shape.vocab = pieces;
    return shape;
}

const DataShape* SpecValidator::probedShape(const DataOptions& data, Task task,
                                            std::string& error) {
    // Keyed by every data key as the registry writes them (a new data key counts without
    // being listed here), by whether the task reads labels and by the files' stamps.
    ExperimentSpec withData;
    withData.data = data;
    const std::string key = withData.toJson()["data"].dump() + "|" + dataStamp(data) +
                            (readsLabels(data, task) ? "" : "|no labels");
    Cache& c = *m_cache;
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        auto it = c.probes.find(key);
        if (it != c.probes.end()) {
            error = it->second.second;
            return error.empty() ? &it->second.first : nullptr;
        }
        if (m_scheduler) {
            if (c.pending.insert(key).second) {
                std::shared_ptr<Cache> cache = m_cache;
                m_scheduler([cache, data, task, key] {
                    auto probe = probeDataNow(data, task);
                    std::lock_guard<std::mutex> l(cache->mutex);
                    cache->probes.emplace(key, std::move(probe));
                    cache->pending.erase(key);
                });
            }
            error = "checking " +
                    (data.path.empty() ? std::string(choiceName(data.format)) : data.path) +
                    " in the background…";
            return nullptr;
        }
    }
    auto probe = probeDataNow(data, task);  // outside the lock: it may take a while
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.probes.emplace(key, std::move(probe)).first;
    error = it->second.second;
    return error.empty() ? &it->second.first : nullptr;
}

int64_t SpecValidator::probeScript(const std::string& path, const std::vector<int64_t>& sampleShape,
                                   std::vector<SpecIssue>& out) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        out.push_back({"teacher.torchscript", path + ": no such file"});
        return 0;
    }
    // Each module file is loaded and probed once per content stamp and input shape, not once
    // per sweep point and edit.
    const std::string key = fileStamp({path}) + "|" + shapeText(sampleShape);
    Cache& c = *m_cache;
    std::pair<int64_t, std::string> result;
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        auto it = c.scripts.find(key);
        if (it == c.scripts.end() && m_scheduler) {
            if (c.pending.insert(key).second) {
                std::shared_ptr<Cache> cache = m_cache;
                m_scheduler([cache, path, sampleShape, key] {
                    auto probe = probeScriptNow(path, sampleShape);
                    std::lock_guard<std::mutex> l(cache->mutex);
                    cache->scripts.emplace(key, std::move(probe));
                    cache->pending.erase(key);
                });
            }
            out.push_back({"teacher.torchscript", "checking " + path + " in the background…"});
            return 0;
        }
        if (it != c.scripts.end()) result = it->second;
    }
    if (result.first == 0 && result.second.empty()) {
        result = probeScriptNow(path, sampleShape);
        std::lock_guard<std::mutex> lock(c.mutex);
        c.scripts.emplace(key, result);
    }
    if (!result.second.empty()) out.push_back({"teacher.torchscript", result.second});
    return result.first;
}

namespace {

/// prune.per_layer and quantize.per_layer name the student's linear and conv layers (text
/// models are checked at run time); under structured pruning only layers whose units another
/// layer reads can lose units.
void checkPerLayer(const ExperimentSpec& spec, const DataShape& shape,
                   std::vector<SpecIssue>& out) {
    if (isTextArch(spec.student.arch) || isTextData(spec.data.format)) return;
    std::vector<std::string> linear, conv, layers;
    try {
        for (const auto& l : describeModel(spec.student, shape).layers) {
            if (l.type == "conv2d") conv.push_back(l.name);
            if (l.type == "linear") linear.push_back(l.name);
            if (l.type == "conv2d" || l.type == "linear") layers.push_back(l.name);
        }
    } catch (const std::invalid_argument&) {
        return;  // said by checkZoo
    }
    auto has = [](const std::vector<std::string>& v, const std::string& n) {
        return std::find(v.begin(), v.end(), n) != v.end();
    };
    std::string known;
    for (const auto& l : layers) known += (known.empty() ? "" : ", ") + l;
    auto check = [&](const std::string& key, const auto& map) {
        for (const auto& entry : map)
            if (!layers.empty() && !has(layers, entry.first))
                out.push_back(
                    {key + "." + entry.first,
                     "'" + entry.first + "' is not a layer of the student (" + known + ")"});
    };
    if (spec.quantize) check("quantize.per_layer", spec.quantize->per_layer);
    if (!spec.prune) return;
    check("prune.per_layer", spec.prune->per_layer);
    const PruneStructure st = spec.prune->structure;
    for (const auto& entry : spec.prune->per_layer) {
        const std::string& n = entry.first;
        const std::string key = "prune.per_layer." + n;
        if (st == PruneStructure::Neurons && !linear.empty() && n == linear.back())
            out.push_back({key, "'" + n + "' gives the classes: its units cannot be pruned"});
        else if (st == PruneStructure::Neurons && has(conv, n))
            out.push_back(
                {key, "'" + n + "' is a convolution: neurons prunes fully connected units"});
        else if (st == PruneStructure::Channels && has(linear, n))
            out.push_back({key, "'" + n + "' is fully connected: channels prunes convolutions"});
    }
}

}  // namespace

std::vector<SpecIssue> SpecValidator::validate(const ExperimentSpec& spec, bool readData) {
    std::vector<SpecIssue> out = checkRanges(spec);
    if (spec.device.rfind("cuda", 0) == 0 &&
        std::none_of(out.begin(), out.end(),
                     [](const SpecIssue& i) { return i.key == "device"; })) {
        try {
            resolveDevice(spec.device);
        } catch (const std::invalid_argument& e) {
            out.push_back({"device", e.what()});
        }
    }
    bool dataOk = readData && std::none_of(out.begin(), out.end(), [](const SpecIssue& i) {
                      return i.key.rfind("data.", 0) == 0;
                  });
    if (!dataOk) return out;
    std::string err;
    const std::optional<DataShape> probed = dataShape(spec.data, spec.task, err);
    if (!probed) {
        out.push_back({"data.path", err});
        return out;
    }
    const DataShape taskData = taskShape(*probed, spec.task);
    const DataShape* shape = &taskData;
    const int64_t classes = shape->classes;

    auto checkZoo = [&](const std::string& key, const ModelOptions& m) -> int64_t {
        if (m.classes > 0 && m.classes != classes)
            out.push_back({key + ".classes", "is " + std::to_string(m.classes) +
                                                 " but the data has " + std::to_string(classes) +
                                                 " classes"});
        // A text model on features (or the reverse), heads that do not divide d_model: said
        // once, by checkRanges, which names the model's key (the model cannot be described).
        const auto said = [&](const SpecIssue& i) {
            for (const char* k : {".arch", ".heads", ".d_model", ".layer_heads", ".layer_ffn"})
                if (i.key == key + k) return true;
            return false;
        };
        if (isTextArch(m.arch) != isTextData(spec.data.format) ||
            std::any_of(out.begin(), out.end(), said))
            return m.classes > 0 ? m.classes : classes;
        try {
            describeModel(m, *shape);
        } catch (const std::invalid_argument& e) {
            out.push_back({key + ".arch", e.what()});
        }
        return m.classes > 0 ? m.classes : classes;
    };
    const int64_t studentClasses = checkZoo("student", spec.student);
    checkPerLayer(spec, *shape, out);

    if (spec.teacher) {
        const auto& t = *spec.teacher;
        int64_t teacherClasses = 0;
        std::vector<int64_t> teacherInput = shape->sample_shape;
        if (t.kind == TeacherOptions::Kind::Zoo) {
            teacherClasses = checkZoo("teacher", t.model);
        } else if (t.kind == TeacherOptions::Kind::TorchScript && !t.torchscript.empty()) {
            teacherClasses = probeScript(t.torchscript, shape->sample_shape, out);
        } else if (t.kind == TeacherOptions::Kind::Run && t.run > 0) {
            std::optional<RunRecord> r = m_store ? m_store->run(t.run) : std::nullopt;
            if (!r) {
                out.push_back({"teacher.run", "the project has no run " + std::to_string(t.run)});
            } else if (r->status != RunStatus::Completed) {
                out.push_back({"teacher.run", "run " + std::to_string(t.run) + " is " +
                                                  statusName(r->status) + ", not completed"});
            } else if (t.run_model == RunModel::Teacher &&
                       (!r->results.contains("teacher_key") ||
                        !m_store->teacher(r->results["teacher_key"].get<std::string>()))) {
                out.push_back(
                    {"teacher.model", "run " + std::to_string(t.run) +
                                          " has no stored zoo teacher to reuse (a "
                                          "TorchScript teacher is loaded from its file)"});
            } else {
                teacherClasses = r->results.value("classes", int64_t(0));
                teacherInput = r->results.value("input_shape", std::vector<int64_t>{});
                if (teacherInput != shape->sample_shape)
                    out.push_back({"teacher.run", "run " + std::to_string(t.run) + " takes input " +
                                                      shapeText(teacherInput) + ", the data has " +
                                                      shapeText(shape->sample_shape)});
            }
        }
        // A language model's classes are its tokenizer's pieces: say vocabulary, and what to
        // change.
        const bool lm = shape->language_model;
        auto count = [lm](int64_t n) { return std::to_string(n) + (lm ? " pieces" : " classes"); };
        const std::string what = lm ? "predicts a vocabulary of " : "has ";
        const std::string fix =
            lm ? " (a language-model teacher needs the same data and data.tokenizer settings)" : "";
        if (teacherClasses > 0 && teacherClasses != studentClasses)
            out.push_back({"teacher", what + count(teacherClasses) + ", the student " +
                                          count(studentClasses) + fix});
        else if (teacherClasses > 0 && teacherClasses != classes)
            out.push_back({"teacher", what + count(teacherClasses) + ", the data's " +
                                          (lm ? "tokenizer " : "") + count(classes) + fix});
    }
    return out;
}

std::vector<RunPoint> SpecValidator::plan(const Json& specJson) {
    std::vector<SpecIssue> issues;
    std::vector<RunPoint> points = expandSweep(specJson, issues);
    // Per (key, message): in how many points it occurs and the names of those points.
    std::vector<std::pair<SpecIssue, std::vector<std::string>>> seen;
    auto note = [&](const SpecIssue& i, const RunPoint& p) {
        for (auto& s : seen)
            if (s.first.key == i.key && s.first.message == i.message) {
                s.second.push_back(p.name);
                return;
            }
        seen.push_back({i, {p.name}});
    };
    // A data key the document got wrong (an unknown format, say) left its default in the
    // points: reading data by that default would only add misleading issues.
    const bool readData = std::none_of(issues.begin(), issues.end(), [](const SpecIssue& i) {
        return i.key.rfind("data.", 0) == 0;
    });
    for (const auto& p : points)
        for (const auto& i : validate(p.spec, readData)) note(i, p);
    for (auto& [issue, where] : seen) {
        SpecIssue i = issue;
        if (points.size() > 1 && where.size() < points.size()) {
            i.message += " (in " + where.front();
            if (where.size() > 1) i.message += " and " + std::to_string(where.size() - 1) + " more";
            i.message += ")";
        }
        issues.push_back(i);
    }
    // The same structural issue repeats for every point: keep each once.
    std::vector<SpecIssue> unique;
    for (const auto& i : issues)
        if (std::none_of(unique.begin(), unique.end(), [&](const SpecIssue& u) {
                return u.key == i.key && u.message == i.message;
            }))
            unique.push_back(i);
    if (!unique.empty()) throw SpecError(unique);
    return points;
}

}  // namespace retort
