#include "experimentspec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
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

namespace {

std::string typeName(const Json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "a list";
    return "an object";
}

/// Reads the keys of one JSON object, recording wrong types and, at the end, unknown keys.
class ObjectReader {
public:
    ObjectReader(const Json& j, std::string prefix, std::vector<SpecIssue>& issues)
        : m_j(j), m_prefix(std::move(prefix)), m_issues(issues) {
        if (!m_j.is_object()) {
            m_issues.push_back(
                {m_prefix.empty() ? "" : m_prefix, "must be an object, not " + typeName(m_j)});
            m_ok = false;
        }
    }
    ~ObjectReader() {
        if (!m_ok) return;
        for (auto it = m_j.begin(); it != m_j.end(); ++it)
            if (!m_seen.count(it.key())) m_issues.push_back({key(it.key()), "unknown key"});
    }
    std::string key(const std::string& k) const {
        return m_prefix.empty() ? k : m_prefix + "." + k;
    }
    bool has(const std::string& k) {
        m_seen.insert(k);
        return m_ok && m_j.contains(k);
    }
    const Json& at(const std::string& k) const { return m_j.at(k); }

    void read(const std::string& k, std::string& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (v.is_string())
            out = v.get<std::string>();
        else
            wrongType(k, "a string", v);
    }
    void read(const std::string& k, int64_t& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (v.is_number_integer() || v.is_number_unsigned())
            out = v.get<int64_t>();
        else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
                 std::abs(v.get<double>()) < 9e15)
            out = static_cast<int64_t>(v.get<double>());
        else
            wrongType(k, "an integer", v);
    }
    void read(const std::string& k, double& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (v.is_number())
            out = v.get<double>();
        else
            wrongType(k, "a number", v);
    }
    void read(const std::string& k, std::vector<int64_t>& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (!v.is_array()) return wrongType(k, "a list of integers", v);
        std::vector<int64_t> r;
        for (const auto& e : v) {
            if (!(e.is_number_integer() || e.is_number_unsigned()))
                return wrongType(k, "a list of integers", v);
            r.push_back(e.get<int64_t>());
        }
        out = r;
    }
    void read(const std::string& k, std::optional<int64_t>& out) {
        if (!has(k)) return;
        int64_t v = 0;
        size_t before = m_issues.size();
        read(k, v);
        if (m_issues.size() == before) out = v;
    }
    void wrongType(const std::string& k, const std::string& want, const Json& got) {
        m_issues.push_back({key(k), "must be " + want + ", not " + typeName(got)});
    }
    std::vector<SpecIssue>& issues() { return m_issues; }

private:
    const Json& m_j;
    std::string m_prefix;
    std::vector<SpecIssue>& m_issues;
    std::set<std::string> m_seen;
    bool m_ok = true;
};

void readTrain(ObjectReader& r, TrainOptions& t) {
    r.read("epochs", t.epochs);
    r.read("batch_size", t.batch_size);
    r.read("optimizer", t.optimizer);
    r.read("lr", t.lr);
    r.read("momentum", t.momentum);
    r.read("weight_decay", t.weight_decay);
    r.read("lr_schedule", t.lr_schedule);
}

void readModel(ObjectReader& r, ModelOptions& m) {
    r.read("arch", m.arch);
    r.read("hidden", m.hidden);
    r.read("channels", m.channels);
    r.read("classes", m.classes);
}

Json trainJson(const TrainOptions& t) {
    return {{"epochs", t.epochs},          {"batch_size", t.batch_size},
            {"optimizer", t.optimizer},    {"lr", t.lr},
            {"momentum", t.momentum},      {"weight_decay", t.weight_decay},
            {"lr_schedule", t.lr_schedule}};
}

Json modelJson(const ModelOptions& m) {
    Json j = {{"arch", m.arch}};
    if (m.arch != "lenet5") j["hidden"] = m.hidden;
    if (m.arch == "cnn") j["channels"] = m.channels;
    if (m.classes) j["classes"] = m.classes;
    return j;
}

}  // namespace

ExperimentSpec ExperimentSpec::fromJson(const Json& j, std::vector<SpecIssue>& issues) {
    ExperimentSpec s;
    ObjectReader r(j, "", issues);
    r.read("name", s.name);
    r.read("seed", s.seed);
    r.read("device", s.device);
    r.read("threads", s.threads);
    if (r.has("data")) {
        ObjectReader d(r.at("data"), "data", issues);
        auto& o = s.data;
        d.read("format", o.format);
        if (o.format == "synthetic") o.path.clear();
        d.read("path", o.path);
        d.read("validation_fraction", o.validation_fraction);
        d.read("limit_train", o.limit_train);
        d.read("limit_test", o.limit_test);
        d.read("normalize", o.normalize);
        d.read("label_column", o.label_column);
        d.read("header", o.header);
        d.read("shape", o.shape);
        d.read("classes", o.classes);
        d.read("train_samples", o.train_samples);
        d.read("test_samples", o.test_samples);
        d.read("noise", o.noise);
    }
    if (r.has("teacher") && !r.at("teacher").is_null()) {
        const Json& tj = r.at("teacher");
        ObjectReader t(tj, "teacher", issues);
        TeacherOptions to;
        if (tj.is_object() && tj.contains("torchscript")) {
            to.kind = TeacherOptions::Kind::TorchScript;
            t.read("torchscript", to.torchscript);
            if (t.has("input")) {
                const Json& in = t.at("input");
                auto numbers = [&](const char* k, std::vector<double>& out) {
                    const Json& v = in.contains(k) ? in.at(k) : Json();
                    if (v.is_number()) {
                        out = {v.get<double>()};
                    } else if (v.is_array() && !v.empty() &&
                               std::all_of(v.begin(), v.end(),
                                           [](const Json& e) { return e.is_number(); })) {
                        out = v.get<std::vector<double>>();
                    } else {
                        issues.push_back(
                            {std::string("teacher.input.") + k,
                             "must be a number or a list of numbers, not " + typeName(v)});
                    }
                };
                if (in.is_string()) {
                    to.input = in.get<std::string>();
                } else if (in.is_object()) {
                    to.input = "explicit";
                    numbers("mean", to.input_mean);
                    numbers("std", to.input_std);
                    for (auto it = in.begin(); it != in.end(); ++it)
                        if (it.key() != "mean" && it.key() != "std")
                            issues.push_back({"teacher.input." + it.key(), "unknown key"});
                } else {
                    issues.push_back({"teacher.input",
                                      "must be \"normalized\", \"raw\" or {\"mean\": …, "
                                      "\"std\": …}, not " +
                                          typeName(in)});
                }
            }
        } else if (tj.is_object() && tj.contains("run")) {
            to.kind = TeacherOptions::Kind::Run;
            t.read("run", to.run);
            t.read("model", to.run_model);
        } else {
            readModel(t, to.model);
            t.read("seed", to.seed);
            if (t.has("train") && !t.at("train").is_null()) {
                // The teacher's train keys have their own defaults and take nothing from the
                // student's train: a sweep over train.* keeps one teacher.
                to.train = TrainOptions{};
                ObjectReader tt(t.at("train"), "teacher.train", issues);
                readTrain(tt, *to.train);
            }
        }
        s.teacher = to;
    }
    if (r.has("student")) {
        ObjectReader st(r.at("student"), "student", issues);
        readModel(st, s.student);
    }
    if (r.has("distill")) {
        ObjectReader d(r.at("distill"), "distill", issues);
        d.read("loss", s.distill.loss);
        d.read("temperature", s.distill.temperature);
        d.read("lambda", s.distill.lambda);
    }
    if (r.has("prune") && !r.at("prune").is_null()) {
        ObjectReader p(r.at("prune"), "prune", issues);
        PruneOptions po;
        p.read("method", po.method);
        p.read("scope", po.scope);
        p.read("sparsity", po.sparsity);
        p.read("schedule", po.schedule);
        p.read("begin_epoch", po.begin_epoch);
        p.read("end_epoch", po.end_epoch);
        p.read("updates_per_epoch", po.updates_per_epoch);
        s.prune = po;
    }
    if (r.has("quantize") && !r.at("quantize").is_null()) {
        ObjectReader q(r.at("quantize"), "quantize", issues);
        QuantizeOptions qo;
        q.read("bits", qo.bits);
        q.read("granularity", qo.granularity);
        s.quantize = qo;
    }
    if (r.has("train")) {
        ObjectReader t(r.at("train"), "train", issues);
        readTrain(t, s.train);
    }
    // Without a teacher there is nothing to distil from: lambda's default is then 0 (a lambda
    // the user wrote is still checked).
    const bool lambdaWritten = j.is_object() && j.contains("distill") && j["distill"].is_object() &&
                               j["distill"].contains("lambda");
    if (!s.teacher && !lambdaWritten) s.distill.lambda = 0.0;
    if (r.has("sweep")) s.sweep = r.at("sweep");
    return s;
}

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
    return out;
}

int64_t ExperimentSpec::pruneEndEpoch() const {
    if (!prune) return 0;
    if (prune->end_epoch > 0) return prune->end_epoch;
    return std::max<int64_t>(
        prune->begin_epoch,
        static_cast<int64_t>(std::ceil(0.6 * static_cast<double>(train.epochs))));
}

Json ExperimentSpec::toJson() const {
    Json j;
    j["name"] = name;
    j["seed"] = seed;
    j["device"] = device;
    j["threads"] = threads;
    Json d = {{"format", data.format},
              {"path", data.path},
              {"validation_fraction", data.validation_fraction},
              {"limit_train", data.limit_train},
              {"limit_test", data.limit_test},
              {"normalize", data.normalize}};
    if (data.format == "csv") {
        d["label_column"] = data.label_column;
        d["header"] = data.header;
        if (data.classes) d["classes"] = data.classes;
    }
    if (data.format == "synthetic") {
        d.erase("path");
        d["classes"] = data.classes;
        d["train_samples"] = data.train_samples;
        d["test_samples"] = data.test_samples;
        d["noise"] = data.noise;
    }
    if (!data.shape.empty()) d["shape"] = data.shape;
    j["data"] = d;
    if (teacher) {
        Json t;
        switch (teacher->kind) {
            case TeacherOptions::Kind::TorchScript:
                t = {{"torchscript", teacher->torchscript}};
                if (teacher->input == "explicit")
                    t["input"] = {{"mean", teacher->input_mean}, {"std", teacher->input_std}};
                else
                    t["input"] = teacher->input;
                break;
            case TeacherOptions::Kind::Run:
                t = {{"run", teacher->run}, {"model", teacher->run_model}};
                break;
            case TeacherOptions::Kind::Zoo:
                t = modelJson(teacher->model);
                if (teacher->seed) t["seed"] = *teacher->seed;
                if (teacher->train) t["train"] = trainJson(*teacher->train);
                break;
        }
        j["teacher"] = t;
    }
    j["student"] = modelJson(student);
    j["distill"] = {
        {"loss", distill.loss}, {"temperature", distill.temperature}, {"lambda", distill.lambda}};
    if (prune)
        j["prune"] = {{"method", prune->method},
                      {"scope", prune->scope},
                      {"sparsity", prune->sparsity},
                      {"schedule", prune->schedule},
                      {"begin_epoch", prune->begin_epoch},
                      {"end_epoch", pruneEndEpoch()},
                      {"updates_per_epoch", prune->updates_per_epoch}};
    if (quantize)
        j["quantize"] = {{"bits", quantize->bits}, {"granularity", quantize->granularity}};
    j["train"] = trainJson(train);
    if (!sweep.is_null()) j["sweep"] = sweep;
    return j;
}

namespace {

void oneOf(std::vector<SpecIssue>& out, const std::string& key, const std::string& v,
           std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
        if (v == a) return;
        list += list.empty() ? std::string("'") + a + "'" : std::string(", '") + a + "'";
    }
    out.push_back({key, "'" + v + "' is not one of " + list});
}

void checkTrain(std::vector<SpecIssue>& out, const std::string& p, const TrainOptions& t) {
    std::vector<SpecIssue> all;
    if (t.epochs < 1) all.push_back({p + ".epochs", "must be at least 1"});
    if (t.epochs > 100000) all.push_back({p + ".epochs", "must be at most 100000"});
    if (t.batch_size < 1) all.push_back({p + ".batch_size", "must be at least 1"});
    if ((!(t.lr > 0) || !std::isfinite(t.lr))) all.push_back({p + ".lr", "must be > 0"});
    if (!(t.momentum >= 0 && t.momentum < 1)) all.push_back({p + ".momentum", "must be in [0,1)"});
    if ((!(t.weight_decay >= 0) || !std::isfinite(t.weight_decay)))
        all.push_back({p + ".weight_decay", "must be >= 0"});
    oneOf(all, p + ".optimizer", t.optimizer, {"adam", "adamw", "sgd"});
    oneOf(all, p + ".lr_schedule", t.lr_schedule, {"constant", "cosine"});
    out.insert(out.end(), all.begin(), all.end());
}

void checkModel(std::vector<SpecIssue>& out, const std::string& p, const ModelOptions& m) {
    oneOf(out, p + ".arch", m.arch, {"mlp", "lenet5", "cnn"});
    for (int64_t w : m.hidden)
        if (w < 1 || w > 65536) out.push_back({p + ".hidden", "widths must be in [1, 65536]"});
    for (int64_t c : m.channels)
        if (c < 1 || c > 4096)
            out.push_back({p + ".channels", "channel counts must be in [1, 4096]"});
    if (m.arch == "cnn" && m.channels.empty())
        out.push_back({p + ".channels", "a cnn needs at least one conv block"});
    if (m.arch != "cnn" && !m.channels.empty())
        out.push_back({p + ".channels", "only a cnn takes channels"});
    if (m.arch == "lenet5" && !m.hidden.empty())
        out.push_back({p + ".hidden", "lenet5 has fixed layers and takes no hidden widths"});
    if (m.classes < 0) out.push_back({p + ".classes", "must be >= 1 (or 0 for the data's count)"});
}

}  // namespace

std::vector<SpecIssue> checkRanges(const ExperimentSpec& s) {
    std::vector<SpecIssue> out;
    if (s.name.empty()) out.push_back({"name", "must not be empty"});
    if (s.seed < 0) out.push_back({"seed", "must be >= 0"});
    if (s.threads < 0 || s.threads > 1024) out.push_back({"threads", "must be in [0, 1024]"});
    if (!(s.device == "auto" || s.device == "cpu" || s.device == "cuda" ||
          (s.device.rfind("cuda:", 0) == 0 && s.device.size() > 5 &&
           s.device.find_first_not_of("0123456789", 5) == std::string::npos)))
        out.push_back(
            {"device", "'" + s.device + "' is not one of 'auto', 'cpu', 'cuda', 'cuda:N'"});

    const auto& d = s.data;
    oneOf(out, "data.format", d.format, {"idx", "csv", "synthetic"});
    if (!(d.validation_fraction >= 0 && d.validation_fraction < 1))
        out.push_back({"data.validation_fraction", "must be in [0, 1)"});
    if (d.limit_train < 0) out.push_back({"data.limit_train", "must be >= 0 (0: all)"});
    if (d.limit_test < 0) out.push_back({"data.limit_test", "must be >= 0 (0: all)"});
    oneOf(out, "data.normalize", d.normalize, {"auto", "global", "per_feature", "none"});
    oneOf(out, "data.header", d.header, {"auto", "yes", "no"});
    if (d.label_column < 0) out.push_back({"data.label_column", "must be >= 0"});
    if (d.shape.size() > 3) out.push_back({"data.shape", "must have 1 to 3 dimensions"});
    for (int64_t e : d.shape)
        if (e < 1 || e > 65536) out.push_back({"data.shape", "dimensions must be in [1, 65536]"});
    if (d.format == "synthetic") {
        if (d.classes < 0 || d.classes == 1 || d.classes > 1000)
            out.push_back({"data.classes", "must be in [2, 1000] (0: 10)"});
        if (d.train_samples < 1 || d.train_samples > 10000000)
            out.push_back({"data.train_samples", "must be in [1, 10000000]"});
        if (d.test_samples < 1 || d.test_samples > 10000000)
            out.push_back({"data.test_samples", "must be in [1, 10000000]"});
        if (!(d.noise >= 0) || !std::isfinite(d.noise))
            out.push_back({"data.noise", "must be >= 0"});
    } else if (d.path.empty()) {
        out.push_back({"data.path", "must name the folder that holds the data files"});
    }

    checkModel(out, "student", s.student);
    if (s.teacher) {
        const auto& t = *s.teacher;
        if (t.kind == TeacherOptions::Kind::Zoo) {
            checkModel(out, "teacher", t.model);
            if (t.train) checkTrain(out, "teacher.train", *t.train);
            if (t.seed && *t.seed < 0) out.push_back({"teacher.seed", "must be >= 0"});
        } else if (t.kind == TeacherOptions::Kind::TorchScript && t.torchscript.empty()) {
            out.push_back({"teacher.torchscript", "must name a TorchScript file"});
        } else if (t.kind == TeacherOptions::Kind::TorchScript) {
            if (t.input != "explicit") oneOf(out, "teacher.input", t.input, {"normalized", "raw"});
            for (double v : t.input_std)
                if (!(v > 0) || !std::isfinite(v))
                    out.push_back({"teacher.input.std", "must be > 0"});
            for (double v : t.input_mean)
                if (!std::isfinite(v)) out.push_back({"teacher.input.mean", "must be finite"});
            if (t.input == "explicit" && t.input_mean.size() != t.input_std.size() &&
                t.input_mean.size() != 1 && t.input_std.size() != 1)
                out.push_back({"teacher.input", "mean and std must have the same length"});
        } else if (t.kind == TeacherOptions::Kind::Run && t.run < 1) {
            out.push_back({"teacher.run", "must be the id of a completed run"});
        } else if (t.kind == TeacherOptions::Kind::Run) {
            oneOf(out, "teacher.model", t.run_model, {"student", "teacher"});
        }
    }
    oneOf(out, "distill.loss", s.distill.loss, {"hinton"});
    if (!(s.distill.temperature > 0) || !std::isfinite(s.distill.temperature))
        out.push_back({"distill.temperature", "must be > 0"});
    if (!(s.distill.lambda >= 0 && s.distill.lambda <= 1))
        out.push_back({"distill.lambda", "must be in [0, 1]"});
    if (!s.teacher && s.distill.lambda > 0)
        out.push_back(
            {"distill.lambda", "must be 0 without a teacher (there is nothing to distill)"});

    if (s.prune) {
        const auto& p = *s.prune;
        oneOf(out, "prune.method", p.method, {"magnitude"});
        oneOf(out, "prune.scope", p.scope, {"global", "layer"});
        oneOf(out, "prune.schedule", p.schedule, {"agp", "one_shot"});
        if (!(p.sparsity >= 0 && p.sparsity < 1))
            out.push_back({"prune.sparsity", "must be in [0, 1)"});
        if (p.begin_epoch < 1 || p.begin_epoch > s.train.epochs)
            out.push_back({"prune.begin_epoch", "must be in [1, train.epochs]"});
        if (p.end_epoch != 0 && (p.end_epoch < p.begin_epoch || p.end_epoch > s.train.epochs))
            out.push_back(
                {"prune.end_epoch", "must be in [prune.begin_epoch, train.epochs] (0: default)"});
        if (p.updates_per_epoch < 1)
            out.push_back({"prune.updates_per_epoch", "must be at least 1"});
    }
    if (s.quantize) {
        if (s.quantize->bits != 4 && s.quantize->bits != 8)
            out.push_back({"quantize.bits", "must be 4 or 8"});
        oneOf(out, "quantize.granularity", s.quantize->granularity, {"per_channel", "per_tensor"});
    }
    checkTrain(out, "train", s.train);
    return out;
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
        issues.push_back({"", "the spec must be a JSON object, not " + typeName(specJson)});
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

    for (size_t gi = 0; gi < grids.size(); ++gi) {
        const Json& grid = grids[gi];
        std::string where = grids.size() > 1 ? "sweep[" + std::to_string(gi) + "]" : "sweep";
        if (!grid.is_object()) {
            issues.push_back(
                {where, "must be an object of dotted keys to lists, not " + typeName(grid)});
            continue;
        }
        std::vector<std::pair<std::string, std::vector<Json>>> axes;
        bool ok = true;
        for (auto it = grid.begin(); it != grid.end(); ++it) {
            if (it.key().empty() || it.key() == "sweep" || it.key().rfind("sweep.", 0) == 0) {
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
            size_t before = issues.size();
            p.spec = ExperimentSpec::fromJson(j, issues);
            for (size_t k = before; k < issues.size(); ++k)
                if (!p.params.empty()) issues[k].message += " (sweep point " + suffix + ")";
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
    return points;
}

}  // namespace retort
