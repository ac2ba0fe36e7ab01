// A spec from and to JSON, and its range checks, derived from the field tables of the key
// registry (specfields.h): each section is read, written and checked by one loop over its
// fields. What no table can say (the teacher's three forms, cross-field rules) is written here.

#include "spec/experimentspec.h"
#include "spec/specfields.h"
#include "spec/speckeys.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace retort {

using namespace specfields;

namespace {

/// Reads the keys of one JSON object, recording wrong types and, at the end, unknown keys.
class ObjectReader {
public:
    ObjectReader(const Json& j, std::string prefix, std::vector<SpecIssue>& issues)
        : m_j(j), m_prefix(std::move(prefix)), m_issues(issues) {
        if (!m_j.is_object()) {
            m_issues.push_back({m_prefix, "must be an object, not " + jsonTypeName(m_j)});
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
    void read(const std::string& k, bool& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (v.is_boolean())
            out = v.get<bool>();
        else
            wrongType(k, "true or false", v);
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
    /// An object of names to numbers (or whole numbers): each value read as its own key.
    template <class V>
    void read(const std::string& k, std::map<std::string, V>& out) {
        if (!has(k)) return;
        const Json& v = m_j.at(k);
        if (!v.is_object())
            return wrongType(k,
                             std::is_integral_v<V> ? "an object of layer names to integers"
                                                   : "an object of layer names to numbers",
                             v);
        ObjectReader inner(v, key(k), m_issues);
        std::map<std::string, V> r;
        for (auto it = v.begin(); it != v.end(); ++it) {
            V x{};
            const size_t before = m_issues.size();
            inner.read(it.key(), x);
            if (m_issues.size() == before) r[it.key()] = x;
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
    /// A choice by name; a name not in the table is reported with the allowed ones.
    template <class S>
    void read(const SpecKey& k, const ChoiceMember<S>& m, S& s) {
        std::string name;
        const size_t before = m_issues.size();
        read(k.key, name);
        if (m_issues.size() != before || !m_j.is_object() || !m_j.contains(k.key)) return;
        const auto it = std::find(m.names.begin(), m.names.end(), name);
        if (it != m.names.end() &&
            std::find(k.choices.begin(), k.choices.end(), Json(name)) != k.choices.end())
            m.set(s, static_cast<size_t>(it - m.names.begin()));
        else
            m_issues.push_back({key(k.key), "'" + name + "' is not one of " + allowedText(k)});
    }
    void wrongType(const std::string& k, const std::string& want, const Json& got) {
        m_issues.push_back({key(k), "must be " + want + ", not " + jsonTypeName(got)});
    }

private:
    const Json& m_j;
    std::string m_prefix;
    std::vector<SpecIssue>& m_issues;
    std::set<std::string> m_seen;
    bool m_ok = true;
};

/// Whether a field of the teacher's table belongs to the teacher form @p kind.
template <class S>
bool forTeacher(const Field<S>& f, const char* kind) {
    for (const auto& c : f.key.when)
        if (c.key == "teacher")
            return std::find(c.values.begin(), c.values.end(), kind) != c.values.end();
    return true;
}

template <class S>
void readFields(ObjectReader& r, S& s, const std::vector<Field<S>>& fields,
                const char* teacherKind = nullptr) {
    for (const auto& f : fields)
        if (!teacherKind || forTeacher(f, teacherKind))
            std::visit(
                [&](const auto& m) {
                    if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember<S>>)
                        r.read(f.key, m, s);
                    else
                        r.read(f.key.key, s.*m);
                },
                f.member);
}

/// A sibling condition (".format") holds in the section written so far.
bool siblingsAllow(const SpecKey& k, const Json& section) {
    for (const auto& c : k.when) {
        if (c.key.empty() || c.key[0] != '.') continue;
        const std::string sib = c.key.substr(1);
        const std::string v = section.contains(sib) && section[sib].is_string()
                                  ? section[sib].get<std::string>()
                                  : std::string();
        const bool in = std::find(c.values.begin(), c.values.end(), v) != c.values.end();
        if (in == c.negate) return false;
    }
    return true;
}

template <class S>
Json writeFields(const S& s, const std::vector<Field<S>>& fields,
                 const char* teacherKind = nullptr) {
    static const S defaults{};
    Json j = Json::object();
    for (const auto& f : fields) {
        if (teacherKind && !forTeacher(f, teacherKind)) continue;
        Json v = valueOf(s, f.member);
        if (v.is_null()) continue;
        if (f.key.omit_default && v == valueOf(defaults, f.member)) continue;
        if (!siblingsAllow(f.key, j)) continue;
        j[f.key.key] = std::move(v);
    }
    return j;
}

/// The registry's range and choices for one value; messages name the key and what is allowed.
void checkValue(std::vector<SpecIssue>& out, const std::string& name, const SpecKey& k,
                const Json& v, bool integer) {
    if (v.is_object()) {  // per-layer maps: the range or choices hold for every value
        for (auto it = v.begin(); it != v.end(); ++it)
            checkValue(out, name + "." + it.key(), k, it.value(), it.value().is_number_integer());
        return;
    }
    const std::string note = k.note.empty() ? "" : " (" + k.note + ")";
    if (!k.choices.empty()) {
        if (std::find(k.choices.begin(), k.choices.end(), v) != k.choices.end()) return;
        if (v.is_string()) {
            out.push_back({name, "'" + v.get<std::string>() + "' is not one of " + allowedText(k)});
        } else {
            out.push_back({name, "must be " + choiceText(k.choices, " or ")});
        }
        return;
    }
    if (!v.is_number() || (!k.min && !k.max)) return;
    const double d = v.get<double>();
    const bool lowOk = !k.min || (k.min_exclusive ? d > *k.min : d >= *k.min);
    const bool highOk = !k.max || (k.max_exclusive ? d < *k.max : d <= *k.max);
    if (lowOk && highOk && std::isfinite(d)) return;
    if (integer) {
        if (!lowOk) out.push_back({name, "must be at least " + numberText(*k.min) + note});
        if (!highOk) out.push_back({name, "must be at most " + numberText(*k.max) + note});
        return;
    }
    if (k.min && k.max)
        out.push_back({name, "must be in " + allowedText(k) + note});
    else if (k.min)
        out.push_back({name, std::string(k.min_exclusive ? "must be > " : "must be >= ") +
                                 numberText(*k.min) + note});
    else
        out.push_back({name, std::string(k.max_exclusive ? "must be < " : "must be <= ") +
                                 numberText(*k.max) + note});
}

template <class S>
void checkFields(std::vector<SpecIssue>& out, const std::string& prefix, const S& s,
                 const std::vector<Field<S>>& fields, const char* teacherKind = nullptr) {
    for (const auto& f : fields) {
        if (teacherKind && !forTeacher(f, teacherKind)) continue;
        const Json v = valueOf(s, f.member);
        if (v.is_null()) continue;
        checkValue(out, prefix.empty() ? f.key.key : prefix + "." + f.key.key, f.key, v,
                   typeOf(f.member) == KeyType::Integer);
    }
}

void checkModel(std::vector<SpecIssue>& out, const std::string& p, const ModelOptions& m) {
    checkFields(out, p, m, modelFields());
    for (int64_t w : m.hidden)
        if (w < 1 || w > 65536) out.push_back({p + ".hidden", "widths must be in [1, 65536]"});
    for (int64_t c : m.channels)
        if (c < 1 || c > 4096)
            out.push_back({p + ".channels", "channel counts must be in [1, 4096]"});
    if (m.arch == Arch::Cnn && m.channels.empty())
        out.push_back({p + ".channels", "a cnn needs at least one conv block"});
    if (m.arch != Arch::Cnn && !m.channels.empty())
        out.push_back({p + ".channels", "only a cnn takes channels"});
    if (m.arch == Arch::Lenet5 && !m.hidden.empty())
        out.push_back({p + ".hidden", "lenet5 has fixed layers and takes no hidden widths"});
    if (m.arch == Arch::Transformer && m.heads > 0 && m.d_model % m.heads != 0)
        out.push_back({p + ".heads", "must divide " + p + ".d_model (" + std::to_string(m.d_model) +
                                         " by " + std::to_string(m.heads) + ")"});
    auto perLayer = [&](const char* k, const std::vector<int64_t>& v, int64_t most) {
        if (v.empty()) return;
        if (m.arch == Arch::Transformer && int64_t(v.size()) != m.layers)
            out.push_back({p + "." + k, "has " + std::to_string(v.size()) + " entries for " +
                                            std::to_string(m.layers) + " layers"});
        for (int64_t e : v)
            if (e < 1 || e > most) {
                out.push_back(
                    {p + "." + k, "entries must be in [1, " + std::to_string(most) + "]"});
                break;
            }
    };
    perLayer("layer_heads", m.layer_heads, 256);
    perLayer("layer_ffn", m.layer_ffn, 262144);
    if (m.arch == Arch::Transformer && !m.hidden.empty())
        out.push_back({p + ".hidden", "a transformer takes no hidden widths (its ffn is `ffn`)"});
}

void readTeacherInput(const Json& in, TeacherOptions& to, std::vector<SpecIssue>& issues) {
    auto numbers = [&](const char* k, std::vector<double>& out) {
        const Json& v = in.contains(k) ? in.at(k) : Json();
        if (v.is_number()) {
            out = {v.get<double>()};
        } else if (v.is_array() && !v.empty() &&
                   std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_number(); })) {
            out = v.get<std::vector<double>>();
        } else {
            issues.push_back({std::string("teacher.input.") + k,
                              "must be a number or a list of numbers, not " + jsonTypeName(v)});
        }
    };
    if (in.is_string()) {
        const std::string name = in.get<std::string>();
        const std::optional<TeacherInput> v = choiceFromName<TeacherInput>(name);
        if (v && *v != TeacherInput::Explicit)
            to.input = *v;
        else
            issues.push_back({"teacher.input", "'" + name + "' is not one of " +
                                                   allowedText(*findSpecKey("teacher.input"))});
    } else if (in.is_object()) {
        to.input = TeacherInput::Explicit;
        numbers("mean", to.input_mean);
        numbers("std", to.input_std);
        for (auto it = in.begin(); it != in.end(); ++it)
            if (it.key() != "mean" && it.key() != "std")
                issues.push_back({"teacher.input." + it.key(), "unknown key"});
    } else {
        issues.push_back(
            {"teacher.input", "must be \"normalized\", \"raw\" or {\"mean\": …, \"std\": …}, not " +
                                  jsonTypeName(in)});
    }
}

}  // namespace

ExperimentSpec ExperimentSpec::fromJson(const Json& j, std::vector<SpecIssue>& issues) {
    ExperimentSpec s;
    ObjectReader r(j, "", issues);
    readFields(r, s, topFields());
    if (r.has("data")) {
        ObjectReader d(r.at("data"), "data", issues);
        readFields(d, s.data, dataFields());
        if (d.has("tokenizer")) {
            ObjectReader t(d.at("tokenizer"), "data.tokenizer", issues);
            readFields(t, s.data.tokenizer, tokenizerFields());
        }
        // Synthetic data has no folder unless one is written.
        const Json& dj = r.at("data");
        if (s.data.format == DataFormat::Synthetic && !(dj.is_object() && dj.contains("path")))
            s.data.path.clear();
    }
    if (r.has("teacher") && !r.at("teacher").is_null()) {
        const Json& tj = r.at("teacher");
        ObjectReader t(tj, "teacher", issues);
        TeacherOptions to;
        if (tj.is_object() && tj.contains("torchscript")) {
            to.kind = TeacherOptions::Kind::TorchScript;
            readFields(t, to, teacherFields(), "torchscript");
            if (t.has("input")) readTeacherInput(t.at("input"), to, issues);
        } else if (tj.is_object() && tj.contains("run")) {
            to.kind = TeacherOptions::Kind::Run;
            readFields(t, to, teacherFields(), "run");
        } else {
            readFields(t, to.model, modelFields());
            readFields(t, to, teacherFields(), "zoo");
            if (t.has("train") && !t.at("train").is_null()) {
                // The teacher's train keys have their own defaults and take nothing from the
                // student's train: a sweep over train.* keeps one teacher.
                to.train = TrainOptions{};
                ObjectReader tt(t.at("train"), "teacher.train", issues);
                readFields(tt, *to.train, trainFields());
            }
            if (t.has("pretrain") && !t.at("pretrain").is_null()) {
                to.pretrain = PretrainOptions{};
                ObjectReader tp(t.at("pretrain"), "teacher.pretrain", issues);
                readFields(tp, *to.pretrain, pretrainFields());
            }
        }
        s.teacher = to;
    }
    if (r.has("student")) {
        ObjectReader st(r.at("student"), "student", issues);
        readFields(st, s.student, modelFields());
        readFields(st, s, studentFields());
        if (st.has("pretrain") && !st.at("pretrain").is_null()) {
            s.student_pretrain = PretrainOptions{};
            ObjectReader sp(st.at("pretrain"), "student.pretrain", issues);
            readFields(sp, *s.student_pretrain, pretrainFields());
        }
    }
    if (r.has("distill")) {
        ObjectReader d(r.at("distill"), "distill", issues);
        readFields(d, s.distill, distillFields());
        if (d.has("features") && !d.at("features").is_null()) {
            ObjectReader f(d.at("features"), "distill.features", issues);
            s.distill.features = FeatureOptions{};
            readFields(f, *s.distill.features, featureFields());
        }
    }
    if (r.has("prune") && !r.at("prune").is_null()) {
        ObjectReader p(r.at("prune"), "prune", issues);
        s.prune = PruneOptions{};
        readFields(p, *s.prune, pruneFields());
    }
    if (r.has("quantize") && !r.at("quantize").is_null()) {
        ObjectReader q(r.at("quantize"), "quantize", issues);
        s.quantize = QuantizeOptions{};
        readFields(q, *s.quantize, quantizeFields());
    }
    if (r.has("train")) {
        ObjectReader t(r.at("train"), "train", issues);
        readFields(t, s.train, trainFields());
    }
    // Without a teacher there is nothing to distil from: lambda's default is then 0 (a lambda
    // the user wrote is still checked).
    const bool lambdaWritten = j.is_object() && j.contains("distill") && j["distill"].is_object() &&
                               j["distill"].contains("lambda");
    if (!s.teacher && !lambdaWritten) s.distill.lambda = 0.0;
    if (r.has("sweep")) s.sweep = r.at("sweep");
    return s;
}

Json ExperimentSpec::toJson() const {
    Json j = writeFields(*this, topFields());
    Json d = writeFields(data, dataFields());
    if (data.format == DataFormat::Synthetic)
        d["classes"] = data.classes;  // 0 (10 classes) included
    if (isTextData(data.format)) d["tokenizer"] = writeFields(data.tokenizer, tokenizerFields());
    j["data"] = d;
    if (teacher) {
        Json t;
        switch (teacher->kind) {
            case TeacherOptions::Kind::TorchScript:
                t = writeFields(*teacher, teacherFields(), "torchscript");
                if (teacher->input == TeacherInput::Explicit)
                    t["input"] = {{"mean", teacher->input_mean}, {"std", teacher->input_std}};
                else
                    t["input"] = choiceName(teacher->input);
                break;
            case TeacherOptions::Kind::Run:
                t = writeFields(*teacher, teacherFields(), "run");
                break;
            case TeacherOptions::Kind::Zoo:
                t = writeFields(teacher->model, modelFields());
                t.update(writeFields(*teacher, teacherFields(), "zoo"));
                if (teacher->train) t["train"] = writeFields(*teacher->train, trainFields());
                if (teacher->pretrain)
                    t["pretrain"] = writeFields(*teacher->pretrain, pretrainFields());
                break;
        }
        j["teacher"] = t;
    }
    j["student"] = writeFields(student, modelFields());
    j["student"].update(writeFields(*this, studentFields()));
    if (student_pretrain)
        j["student"]["pretrain"] = writeFields(*student_pretrain, pretrainFields());
    j["distill"] = writeFields(distill, distillFields());
    if (distill.features)
        j["distill"]["features"] = writeFields(*distill.features, featureFields());
    if (prune) {
        j["prune"] = writeFields(*prune, pruneFields());
        j["prune"]["end_epoch"] = pruneEndEpoch();
    }
    if (quantize) j["quantize"] = writeFields(*quantize, quantizeFields());
    j["train"] = writeFields(train, trainFields());
    if (!sweep.is_null()) j["sweep"] = sweep;
    return j;
}

/// Pretraining and fine-tuning modes: what model they fit and what they need first.
void checkFinetune(std::vector<SpecIssue>& out, const ExperimentSpec& s) {
    checkFields(out, "student", s, studentFields());
    auto encoder = [](Arch a) { return a == Arch::Transformer || a == Arch::Bilstm; };
    auto side = [&](const std::string& p, const ModelOptions& m,
                    const std::optional<PretrainOptions>& pre, int64_t pretrained,
                    const TrainOptions* train, bool otherStart) {
        if (pre) {
            checkFields(out, p + ".pretrain", *pre, pretrainFields());
            if (!encoder(m.arch))
                out.push_back(
                    {p + ".pretrain", "masked-LM pretraining needs a transformer or bilstm (a " +
                                          std::string(choiceName(m.arch)) +
                                          " has no contextual token states to predict from)"});
            if (!isTextData(s.data.format))
                out.push_back({p + ".pretrain", "needs text data (data.format text or wordnet)"});
            if (pretrained > 0)
                out.push_back({p + ".pretrained",
                               "a pretrained start and `pretrain` exclude each other: drop one"});
        }
        if (pretrained > 0 && !encoder(m.arch))
            out.push_back({p + ".pretrained", "needs a transformer or bilstm"});
        if (!train || train->finetune == Finetune::Full) return;
        const std::string key =
            (p == "teacher" ? "teacher.train" : "train") + std::string(".finetune");
        const char* mode = choiceName(train->finetune);
        if (!pre && pretrained == 0 && !otherStart)
            out.push_back({key, std::string(mode) + " fine-tunes a pretrained model: add " + p +
                                    ".pretrain or " + p + ".pretrained" +
                                    (p == "student" ? " (or student.init teacher_layers)" : "")});
        if (train->finetune == Finetune::Lora && m.arch != Arch::Transformer)
            out.push_back({key,
                           "lora adapts a transformer's attention and feed-forward layers, "
                           "not a " +
                               std::string(choiceName(m.arch))});
    };
    if (s.teacher && s.teacher->kind == TeacherOptions::Kind::Zoo) {
        const TeacherOptions& t = *s.teacher;
        side("teacher", t.model, t.pretrain, t.pretrained, t.train ? &*t.train : nullptr, false);
        if (!t.train && (t.pretrain || t.pretrained > 0))
            out.push_back({t.pretrain ? "teacher.pretrain" : "teacher.pretrained",
                           "a pretrained teacher needs teacher.train: pretraining leaves its "
                           "classifier untrained"});
    }
    side("student", s.student, s.student_pretrain, s.student_pretrained, &s.train,
         s.student_init == StudentInit::TeacherLayers);
    if (s.train.finetune == Finetune::Lora && s.prune)
        out.push_back({"prune",
                       "pruning during LoRA training would be undone by the merge: "
                       "fine-tune with lora, then prune that run's model "
                       "(teacher: {\"run\": N}), or use finetune full"});
    if (s.train.finetune == Finetune::Lora && s.quantize && s.quantize->mode == QuantMode::Qat)
        out.push_back({"quantize.mode",
                       "qat trains the base weights, which lora freezes: use ptq "
                       "or gptq (they act on the merged weights)"});
    if ((s.train.finetune == Finetune::Head || s.train.finetune == Finetune::Bitfit) &&
        s.quantize && s.quantize->mode == QuantMode::Qat)
        out.push_back({"quantize.mode",
                       std::string("qat trains the weights it quantizes, which train.finetune ") +
                           choiceName(s.train.finetune) +
                           " freezes: use ptq or gptq, or finetune full"});
}

/// A causal language model: a transformer decoder on text, distilled token by token; what the
/// engine does not do for one yet is refused here, naming the key.
void checkLanguageModel(std::vector<SpecIssue>& out, const ExperimentSpec& s) {
    const bool teacherZoo = s.teacher && s.teacher->kind == TeacherOptions::Kind::Zoo;
    if (s.task != Task::LanguageModel) {
        if (s.distill.divergence != Divergence::ForwardKl)
            out.push_back({"distill.divergence",
                           "compares next-token distributions: set task to "
                           "language_model (classifiers use hinton's KL)"});
        for (const auto& [key, m] :
             {std::pair<std::string, const ModelOptions*>{"student", &s.student},
              {"teacher", teacherZoo ? &s.teacher->model : nullptr}})
            if (m && m->tie_embeddings)
                out.push_back({key + ".tie_embeddings",
                               "ties a language model's output layer to its token table: set "
                               "task to language_model (a classifier's output predicts "
                               "classes, not tokens)"});
        if (s.data.stream)
            out.push_back({"data.stream",
                           "reads the file as one stream of tokens, for a language model: set "
                           "task to language_model (a classifier's samples are its lines)"});
        return;
    }
    if (!isTextData(s.data.format))
        out.push_back({"task", "language_model needs text data (data.format text or wordnet)"});
    if (s.data.stream && s.data.format != DataFormat::Text)
        out.push_back({"data.stream",
                       "reads a text file's lines as one stream: WordNet's glosses are samples "
                       "of a fixed split (set data.format to text, or leave stream out)"});
    const auto decoder = [&](const std::string& key, const ModelOptions& m) {
        if (m.arch != Arch::Transformer)
            out.push_back({key,
                           "a language model is a causal transformer: set it to transformer, "
                           "not " +
                               std::string(choiceName(m.arch))});
        if (m.classes != 0)
            out.push_back({key.substr(0, key.rfind('.')) + ".classes",
                           "a language model predicts the vocabulary: leave it 0"});
    };
    decoder("student.arch", s.student);
    if (s.teacher && s.teacher->kind == TeacherOptions::Kind::Zoo)
        decoder("teacher.arch", s.teacher->model);
    if (s.teacher && s.teacher->kind == TeacherOptions::Kind::TorchScript)
        out.push_back({"teacher.torchscript",
                       "a language model's teacher is a zoo decoder or a run's model"});
    const char* notYet = " is not available for language models yet";
    if (s.distill.features)
        out.push_back({"distill.features", std::string("feature distillation") + notYet});
    // A decoder pretrains on next tokens: no masking to set.
    const auto unmasked = [&](const std::string& key, const std::optional<PretrainOptions>& p) {
        if (p && p->mask_fraction != PretrainOptions{}.mask_fraction)
            out.push_back({key + ".mask_fraction",
                           "a language model pretrains on next tokens, not masked ones: leave "
                           "it out"});
    };
    unmasked("student.pretrain", s.student_pretrain);
    if (s.teacher) unmasked("teacher.pretrain", s.teacher->pretrain);
    if (s.prune && removesUnits(s.prune->structure))
        out.push_back({"prune.structure", std::string(choiceName(s.prune->structure)) + notYet +
                                              " (use unstructured or n:m)"});
}

std::vector<SpecIssue> checkRanges(const ExperimentSpec& s) {
    std::vector<SpecIssue> out;
    if (s.name.empty()) out.push_back({"name", "must not be empty"});
    checkFields(out, "", s, topFields());
    if (!(s.device == "auto" || s.device == "cpu" || s.device == "cuda" ||
          (s.device.rfind("cuda:", 0) == 0 && s.device.size() > 5 &&
           s.device.find_first_not_of("0123456789", 5) == std::string::npos)))
        out.push_back(
            {"device", "'" + s.device + "' is not one of 'auto', 'cpu', 'cuda', 'cuda:N'"});

    const auto& d = s.data;
    checkFields(out, "data", d, dataFields());
    if (d.shape.size() > 3) out.push_back({"data.shape", "must have 1 to 3 dimensions"});
    for (int64_t e : d.shape)
        if (e < 1 || e > 65536) out.push_back({"data.shape", "dimensions must be in [1, 65536]"});
    if (d.format == DataFormat::Synthetic) {
        if (d.classes < 0 || d.classes == 1 || d.classes > 1000)
            out.push_back({"data.classes", "must be in [2, 1000] (0: 10)"});
    } else if (d.path.empty()) {
        out.push_back({"data.path", d.format == DataFormat::Text
                                        ? "must name the training file"
                                        : "must name the folder that holds the data files"});
    }
    if (isTextData(d.format)) checkFields(out, "data.tokenizer", d.tokenizer, tokenizerFields());
    // Token ids and features do not mix: each side of the pair must fit the data.
    const auto archFits = [&](const std::string& key, Arch a) {
        if (isTextArch(a) && !isTextData(d.format))
            out.push_back({key, std::string(choiceName(a)) + " reads text: data.format must be "
                                                             "'text' or 'wordnet'"});
        if (!isTextArch(a) && isTextData(d.format))
            out.push_back({key, std::string(choiceName(a)) +
                                    " reads features, not text: use 'transformer', 'bilstm' or "
                                    "'embedding_bag'"});
    };
    archFits("student.arch", s.student.arch);
    if (s.teacher && s.teacher->kind == TeacherOptions::Kind::Zoo)
        archFits("teacher.arch", s.teacher->model.arch);

    checkModel(out, "student", s.student);
    if (s.teacher) {
        const auto& t = *s.teacher;
        if (t.kind == TeacherOptions::Kind::Zoo) {
            checkModel(out, "teacher", t.model);
            checkFields(out, "teacher", t, teacherFields(), "zoo");
            if (t.train) checkFields(out, "teacher.train", *t.train, trainFields());
        } else if (t.kind == TeacherOptions::Kind::TorchScript && isTextData(d.format)) {
            out.push_back({"teacher.torchscript",
                           "a TorchScript teacher takes features; text data needs a zoo teacher "
                           "or a run's model for now"});
        } else if (t.kind == TeacherOptions::Kind::TorchScript && t.torchscript.empty()) {
            out.push_back({"teacher.torchscript", "must name a TorchScript file"});
        } else if (t.kind == TeacherOptions::Kind::TorchScript) {
            for (double v : t.input_std)
                if (!(v > 0) || !std::isfinite(v))
                    out.push_back({"teacher.input.std", "must be > 0"});
            for (double v : t.input_mean)
                if (!std::isfinite(v)) out.push_back({"teacher.input.mean", "must be finite"});
            if (t.input == TeacherInput::Explicit && t.input_mean.size() != t.input_std.size() &&
                t.input_mean.size() != 1 && t.input_std.size() != 1)
                out.push_back({"teacher.input", "mean and std must have the same length"});
        } else if (t.kind == TeacherOptions::Kind::Run && t.run < 1) {
            out.push_back({"teacher.run", "must be the id of a completed run"});
        } else if (t.kind == TeacherOptions::Kind::Run) {
            checkFields(out, "teacher", t, teacherFields(), "run");
        }
    }
    checkFields(out, "distill", s.distill, distillFields());
    const bool zooTeacher = s.teacher && s.teacher->kind == TeacherOptions::Kind::Zoo;
    if (s.distill.features) {
        checkFields(out, "distill.features", *s.distill.features, featureFields());
        if (s.student.arch != Arch::Transformer)
            out.push_back({"distill.features", "needs a transformer student"});
        if (!s.teacher || s.teacher->kind == TeacherOptions::Kind::TorchScript)
            out.push_back({"distill.features", "needs a zoo teacher or a run's model"});
        else if (zooTeacher && s.teacher->model.arch != Arch::Transformer)
            out.push_back({"distill.features", "needs a transformer teacher"});
        else if (zooTeacher && s.distill.features->attention > 0 &&
                 s.teacher->model.heads != s.student.heads)
            out.push_back({"distill.features.attention",
                           "needs as many heads in the student as in the teacher (" +
                               std::to_string(s.teacher->model.heads) +
                               "); set it to 0 or "
                               "match student.heads"});
        if (zooTeacher && s.teacher->model.layers < s.student.layers)
            out.push_back({"distill.features", "the student has more layers than the teacher"});
    }
    if (s.student_init == StudentInit::TeacherLayers) {
        if (s.student.arch != Arch::Transformer)
            out.push_back({"student.init", "teacher_layers needs a transformer student"});
        if (!s.teacher || s.teacher->kind == TeacherOptions::Kind::TorchScript)
            out.push_back({"student.init", "teacher_layers needs a zoo teacher or a run's model"});
        else if (zooTeacher) {
            const ModelOptions& t = s.teacher->model;
            bool same = t.arch == Arch::Transformer && t.d_model == s.student.d_model &&
                        t.heads == s.student.heads;
            for (int64_t i = 0; same && i < s.student.layers; ++i)
                same = t.headsOf(size_t(i)) == s.student.headsOf(size_t(i)) &&
                       t.ffnOf(size_t(i)) == s.student.ffnOf(size_t(i));
            if (!same)
                out.push_back({"student.init",
                               "teacher_layers needs a transformer teacher of the student's "
                               "d_model, heads and ffn"});
            else if (t.layers < s.student.layers)
                out.push_back({"student.init", "the student has more layers than the teacher"});
        }
    }
    if (!s.teacher && s.distill.lambda > 0)
        out.push_back(
            {"distill.lambda", "must be 0 without a teacher (there is nothing to distill)"});

    if (s.prune) {
        const auto& p = *s.prune;
        checkFields(out, "prune", p, pruneFields());
        const bool oneShot = p.schedule == PruneSchedule::OneShot;
        if (p.begin_epoch < 1 || p.begin_epoch > s.train.epochs + (oneShot ? 1 : 0))
            out.push_back({"prune.begin_epoch",
                           oneShot ? "must be in [1, train.epochs + 1] (train.epochs + 1: after "
                                     "training, no fine-tuning)"
                                   : "must be in [1, train.epochs]"});
        const bool calibrated =
            p.method == PruneMethod::Wanda || p.method == PruneMethod::SparseGpt;
        const bool units = removesUnits(p.structure);
        if (p.structure == PruneStructure::NM && !oneShot)
            out.push_back({"prune.schedule", "n:m prunes once: set prune.schedule to one_shot"});
        if (calibrated && units)
            out.push_back({"prune.method", std::string(choiceName(p.method)) +
                                               " prunes single weights (unstructured or n:m); "
                                               "rank units by magnitude or taylor"});
        if (p.method == PruneMethod::Taylor && !units)
            out.push_back({"prune.method",
                           "taylor ranks whole units: set prune.structure to neurons, "
                           "channels, heads or ffn"});
        if (p.structure == PruneStructure::NM && p.n >= p.m)
            out.push_back({"prune.n", "must be smaller than prune.m"});
        if (calibrated && s.student.arch == Arch::Bilstm)
            out.push_back({"prune.method", std::string(choiceName(p.method)) +
                                               " calibrates linear layers: a bilstm's "
                                               "recurrent weights are not walked yet (use "
                                               "magnitude)"});
        const Arch a = s.student.arch;
        if ((p.structure == PruneStructure::Heads || p.structure == PruneStructure::Ffn) &&
            a != Arch::Transformer)
            out.push_back({"prune.structure", std::string(choiceName(p.structure)) +
                                                  " prunes a transformer student, not a " +
                                                  choiceName(a)});
        if (p.structure == PruneStructure::Neurons && a == Arch::Transformer)
            out.push_back({"prune.structure",
                           "a transformer's units are its attention heads (heads) and its "
                           "feed-forward neurons (ffn)"});
        if (p.structure == PruneStructure::Neurons && s.student.hidden.empty() &&
            a != Arch::Transformer && a != Arch::Bilstm)
            out.push_back({"prune.structure", "neurons needs hidden layers (student.hidden)"});
        if (p.structure == PruneStructure::Channels && s.student.arch != Arch::Cnn)
            out.push_back({"prune.structure", "channels needs a cnn student"});
        if (p.structure == PruneStructure::NM && !p.per_layer.empty())
            out.push_back({"prune.per_layer",
                           "n:m keeps n of every m in every layer: per-layer targets are for "
                           "unstructured and structured pruning"});
        if (p.end_epoch != 0 && (p.end_epoch < p.begin_epoch || p.end_epoch > s.train.epochs))
            out.push_back(
                {"prune.end_epoch", "must be in [prune.begin_epoch, train.epochs] (0: default)"});
    }
    if (s.quantize) {
        const auto& q = *s.quantize;
        checkFields(out, "quantize", q, quantizeFields());
        if (q.mode == QuantMode::Qat && q.qat_epochs > s.train.epochs)
            out.push_back({"quantize.qat_epochs", "must be at most train.epochs (" +
                                                      std::to_string(s.train.epochs) + ")"});
        if (q.group_size > 0 && q.granularity == QuantGranularity::PerTensor)
            out.push_back({"quantize.group_size",
                           "groups split channels: use granularity per_channel with it"});
        if (q.mode == QuantMode::Gptq && q.granularity == QuantGranularity::PerTensor)
            out.push_back({"quantize.granularity", "gptq quantizes per channel or by group"});
        if (q.mode == QuantMode::Qat)
            for (const auto& [layer, b] : q.per_layer)
                if (b == 32)
                    out.push_back({"quantize.per_layer." + layer,
                                   "qat trains every layer through its quantizer: 32 (fp32) is "
                                   "for ptq and gptq"});
        if (q.mode == QuantMode::Gptq && s.student.arch == Arch::Bilstm)
            out.push_back({"quantize.mode",
                           "gptq calibrates linear layers: a bilstm's recurrent "
                           "weights are not walked yet (use ptq or qat)"});
    }
    checkFields(out, "train", s.train, trainFields());
    checkFinetune(out, s);
    checkLanguageModel(out, s);
    return out;
}

}  // namespace retort
