// The key registry (speckeys.h), flattened from the sections' field tables (specfields.cpp), and
// what is derived from it for people: the key reference as Markdown, text and JSON.

#include "spec/speckeys.h"

#include "spec/specfields.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <variant>

namespace retort {

std::string jsonTypeName(const Json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "a list";
    return "an object";
}

namespace {

using namespace specfields;

// ---------------------------------------------------------------- the flat registry

std::string resolve(const std::string& prefix, const std::string& k) {
    if (!k.empty() && k[0] == '.') return prefix.empty() ? k.substr(1) : prefix + k;
    return k;
}

template <class S>
void addFields(std::vector<SpecKey>& out, const std::vector<Field<S>>& fields,
               const std::string& prefix, const S& defaults,
               const std::vector<KeyCondition>& extra = {},
               std::function<void(SpecKey&)> adjust = {}) {
    for (const auto& f : fields) {
        SpecKey k = f.key;
        k.key = prefix.empty() ? f.key.key : prefix + "." + f.key.key;
        k.type = typeOf(f.member);
        k.default_value = valueOf(defaults, f.member);
        if (k.section.empty()) k.section = prefix.substr(0, prefix.find('.'));
        for (auto& c : k.when) c.key = resolve(prefix, c.key);
        if (!k.label_key.empty()) k.label_key = resolve(prefix, k.label_key);
        k.when.insert(k.when.begin(), extra.begin(), extra.end());
        if (adjust) adjust(k);
        out.push_back(std::move(k));
    }
}

SpecKey sectionKey(const char* name, const char* label, const char* help, bool sweepable = true) {
    SpecKey k = key(name, label, help).type(KeyType::Section).k;
    k.section = std::string(name).substr(0, std::string(name).find('.'));
    k.sweepable = sweepable;
    return k;
}

std::vector<SpecKey> buildRegistry() {
    std::vector<SpecKey> out;
    addFields(out, topFields(), "", ExperimentSpec{});
    addFields(out, dataFields(), "data", DataOptions{});
    addFields(out, tokenizerFields(), "data.tokenizer", TokenizerOptions{},
              {{"data.format", {"text", "wordnet"}}});
    {
        SpecKey t = sectionKey("teacher", "Source",
                               "the model to distill from: a zoo architecture (trained first "
                               "with `teacher.train`, or frozen at init), a TorchScript file "
                               "(`torchscript`) or a completed run (`run`); absent: no teacher");
        out.push_back(t);
    }
    const std::vector<KeyCondition> zoo = {{"teacher", {"zoo"}}};
    addFields(out, modelFields(), "teacher", ModelOptions{}, zoo);
    {
        std::vector<SpecKey> tf;
        addFields(tf, teacherFields(), "teacher", TeacherOptions{});
        out.push_back(tf[0]);  // teacher.seed
        SpecKey train = sectionKey("teacher.train", "Teacher epochs",
                                   "the zoo teacher's own training, with train's keys and "
                                   "defaults and nothing taken from the student's train; "
                                   "absent: the teacher is frozen at its initialization");
        train.when = zoo;
        out.push_back(train);
        // Every teacher.train key has a field of its own (labelled as the teacher's), enabled
        // while the teacher trains; its epochs are the "Teacher epochs" field above.
        addFields(out, trainFields(), "teacher.train", TrainOptions{},
                  {{"teacher", {"zoo"}}, {"teacher.train", {"present"}}}, [](SpecKey& k) {
                      if (k.key == "teacher.train.epochs") {
                          k.in_editor = false;
                      } else if (!k.label.empty()) {
                          k.label[0] = char(std::tolower(static_cast<unsigned char>(k.label[0])));
                          k.label = "Teacher " + k.label;
                      }
                  });
        SpecKey pre = sectionKey("teacher.pretrain", "Teacher pretraining",
                                 "pretraining of a transformer or bilstm teacher on unlabelled "
                                 "text before `teacher.train` (masked LM; next-token prediction "
                                 "for a language model's decoder), stored once in the project "
                                 "and reused; absent: none");
        pre.when = zoo;
        out.push_back(pre);
        addFields(out, pretrainFields(), "teacher.pretrain", PretrainOptions{},
                  {{"teacher", {"zoo"}}, {"teacher.pretrain", {"present"}}});
        out.push_back(tf[4]);  // teacher.pretrained
        out.push_back(tf[1]);  // teacher.torchscript
        SpecKey input =
            key("input", "Teacher input",
                "what the TorchScript module takes: `normalized` (Retort's normalized "
                "features), `raw` (the features as read), or {\"mean\": …, \"std\": …} "
                "(raw features standardized per channel or for all)")
                .choices({choiceName(TeacherInput::Normalized), choiceName(TeacherInput::Raw)})
                .note("or {\"mean\": m, \"std\": s}")
                .defaultValue(choiceName(TeacherOptions{}.input))
                .when("teacher", {"torchscript"})
                .k;
        input.key = "teacher.input";
        input.section = "teacher";
        out.push_back(input);
        out.push_back(tf[2]);  // teacher.run
        out.push_back(tf[3]);  // teacher.model
    }
    addFields(out, modelFields(), "student", ModelOptions{});
    addFields(out, studentFields(), "student", ExperimentSpec{});
    {
        SpecKey pre = sectionKey("student.pretrain", "Student pretraining",
                                 "pretraining of a transformer or bilstm student on unlabelled "
                                 "text before `train` (masked LM; next-token prediction for a "
                                 "language model's decoder), per student seed, stored once in "
                                 "the project; absent: none");
        pre.when = {{"student.arch", {"transformer", "bilstm"}}};
        out.push_back(pre);
        addFields(out, pretrainFields(), "student.pretrain", PretrainOptions{},
                  {{"student.pretrain", {"present"}}});
    }
    addFields(out, distillFields(), "distill", DistillOptions{});
    {
        SpecKey f = sectionKey("distill.features", "Feature distillation",
                               "transformer teacher and student: match hidden states and "
                               "attention maps layer by layer (TinyBERT); absent: logits only");
        f.when = {{"teacher", {"zoo", "run"}}};
        out.push_back(f);
    }
    addFields(out, featureFields(), "distill.features", FeatureOptions{},
              {{"distill.features", {"present"}}});
    out.push_back(
        sectionKey("prune", "Pruning",
                   "pruning during or after training: weights, units or n:m; absent: none"));
    addFields(out, pruneFields(), "prune", PruneOptions{}, {{"prune", {"present"}}});
    out.push_back(sectionKey(
        "quantize", "Weights",
        "symmetric weight quantization: after training, trained with it, or GPTQ; absent: fp32"));
    addFields(out, quantizeFields(), "quantize", QuantizeOptions{}, {{"quantize", {"present"}}});
    addFields(out, trainFields(), "train", TrainOptions{});
    {
        SpecKey s = sectionKey("sweep", "Sweep",
                               "dotted keys to lists of values (their grid), or a list of such "
                               "objects (the union of their grids)",
                               false);
        s.in_editor = false;
        out.push_back(s);
    }
    return out;
}

}  // namespace

const std::vector<SpecKey>& specKeys() {
    static const std::vector<SpecKey> keys = buildRegistry();
    return keys;
}

const std::vector<SpecSection>& specSections() {
    static const std::vector<SpecSection> s = {{"", "Experiment"},
                                               {"data", "Data"},
                                               {"teacher", "Teacher"},
                                               {"student", "Student"},
                                               {"distill", "Distillation"},
                                               {"prune", "Pruning"},
                                               {"quantize", "Quantization"},
                                               {"train", "Training"},
                                               {"sweep", "Sweep"}};
    return s;
}

const SpecKey* findSpecKey(const std::string& dotted) {
    static const std::map<std::string, const SpecKey*> byName = [] {
        std::map<std::string, const SpecKey*> m;
        for (const auto& k : specKeys()) m[k.key] = &k;
        return m;
    }();
    const auto it = byName.find(dotted);
    return it == byName.end() ? nullptr : it->second;
}

std::string conditionValue(const Json& effective, const std::string& k) {
    const Json* v = findDotted(effective, k);
    if (k == "teacher") {
        if (!v || v->is_null()) return "none";
        if (v->is_object() && v->contains("torchscript")) return "torchscript";
        if (v->is_object() && v->contains("run")) return "run";
        return "zoo";
    }
    const SpecKey* info = findSpecKey(k);
    if (info && info->type == KeyType::Section) return v && v->is_object() ? "present" : "absent";
    if (!v) return "";
    return v->is_string() ? v->get<std::string>() : v->dump();
}

bool keyApplies(const SpecKey& key, const Json& effective, bool shown) {
    for (const auto& c : key.when) {
        if (c.editor_only && !shown) continue;
        const std::string v = conditionValue(effective, c.key);
        const bool in = std::find(c.values.begin(), c.values.end(), v) != c.values.end();
        if (in == c.negate) return false;
    }
    return true;
}

std::string numberText(double d) {
    if (std::floor(d) == d && std::abs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    std::ostringstream os;
    os << d;
    return os.str();
}

std::string choiceText(const std::vector<Json>& choices, const char* last) {
    std::string s;
    for (size_t i = 0; i < choices.size(); ++i) {
        const Json& c = choices[i];
        const std::string text = c.is_string() ? "'" + c.get<std::string>() + "'" : c.dump();
        s += i == 0 ? text : (i + 1 == choices.size() && last ? last : ", ") + text;
    }
    return s;
}

std::string allowedText(const SpecKey& k) {
    if (!k.choices.empty()) return choiceText(k.choices, nullptr);
    if (k.min && k.max)
        return std::string(k.min_exclusive ? "(" : "[") + numberText(*k.min) + ", " +
               numberText(*k.max) + (k.max_exclusive ? ")" : "]");
    if (k.min) return std::string(k.min_exclusive ? "> " : "≥ ") + numberText(*k.min);
    if (k.max) return std::string(k.max_exclusive ? "< " : "≤ ") + numberText(*k.max);
    return "";
}

namespace {

std::string typeText(KeyType t) {
    switch (t) {
        case KeyType::String:
            return "string";
        case KeyType::Integer:
            return "integer";
        case KeyType::Number:
            return "number";
        case KeyType::Boolean:
            return "boolean";
        case KeyType::IntegerList:
            return "list of integers";
        case KeyType::NumberList:
            return "number or list";
        case KeyType::NumberMap:
            return "object of numbers";
        case KeyType::IntegerMap:
            return "object of integers";
        case KeyType::Section:
            return "object";
    }
    return "";
}

std::string defaultText(const SpecKey& k) {
    if (k.type == KeyType::Section) return k.key == "sweep" ? "none" : "absent";
    if (k.default_value.is_null()) return "—";
    if (k.default_value.is_array() && k.default_value.empty()) return "`[]`";
    if (k.default_value.is_object() && k.default_value.empty()) return "`{}`";
    return "`" +
           (k.default_value.is_string() ? k.default_value.get<std::string>()
                                        : k.default_value.dump()) +
           "`";
}

std::string whenText(const SpecKey& k) {
    std::string s;
    for (const auto& c : k.when) {
        if (c.values.size() == 1 && c.values[0] == "present") continue;  // said by the section
        if (c.editor_only) continue;  // the key applies; only the editor hides its field
        std::string v;
        for (const auto& x : c.values) v += (v.empty() ? "" : "|") + x;
        s += (s.empty() ? "" : ", ") + c.key + (c.negate ? " ≠ " : " = ") + v;
    }
    return s;
}

std::string mdEscape(std::string s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

}  // namespace

std::string specKeysMarkdown() {
    std::string s =
        "| key | type | default | allowed | sweep | when | meaning |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n";
    for (const auto& k : specKeys()) {
        std::string allowed = allowedText(k);
        if (!k.note.empty()) allowed += (allowed.empty() ? "" : "; ") + k.note;
        s += "| `" + k.key + "` | " + typeText(k.type) + " | " + mdEscape(defaultText(k)) + " | " +
             mdEscape(allowed) + " | " + (k.sweepable ? "yes" : "no") + " | " +
             mdEscape(whenText(k)) + " | " + mdEscape(k.help) + " |\n";
    }
    return s;
}

std::string specKeysText() {
    std::string s;
    for (const auto& k : specKeys()) {
        s += k.key + "  (" + typeText(k.type) + ", default " + defaultText(k);
        const std::string allowed = allowedText(k);
        if (!allowed.empty()) s += ", allowed " + allowed;
        if (!k.note.empty()) s += "; " + k.note;
        if (!k.sweepable) s += ", not sweepable";
        s += ")\n";
        if (!k.when.empty() && !whenText(k).empty()) s += "    when " + whenText(k) + "\n";
        s += "    " + k.help + "\n";
    }
    return s;
}

Json specKeysJson() {
    Json out = Json::array();
    for (const auto& k : specKeys()) {
        Json j = {{"key", k.key},
                  {"type", typeText(k.type)},
                  {"default", k.default_value},
                  {"sweepable", k.sweepable},
                  {"help", k.help},
                  {"section", k.section}};
        if (!k.choices.empty()) j["choices"] = k.choices;
        if (k.min) j[k.min_exclusive ? "exclusive_min" : "min"] = *k.min;
        if (k.max) j[k.max_exclusive ? "exclusive_max" : "max"] = *k.max;
        if (!k.note.empty()) j["note"] = k.note;
        if (!k.when.empty()) {
            j["when"] = Json::array();
            for (const auto& c : k.when)
                j["when"].push_back({{"key", c.key},
                                     {"values", c.values},
                                     {"negate", c.negate},
                                     {"editor_only", c.editor_only}});
        }
        out.push_back(j);
    }
    return out;
}

}  // namespace retort
