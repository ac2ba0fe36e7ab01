#pragma once

// Inside the spec module only: the sections' field tables behind the key registry. A field is a
// key's registry entry beside the struct member that holds its value. specfields.cpp defines the
// tables, speckeys.cpp the registry; specjson.cpp reads, writes and checks specs with them.

#include "spec/speckeys.h"

#include <functional>
#include <map>
#include <optional>
#include <variant>

namespace retort::specfields {

// ---------------------------------------------------------------- declaring keys

/// Builds one registry entry: `key("lr", "Learning rate", "...").range(0, {}, true)`.
struct KeyBuilder {
    SpecKey k;
    KeyBuilder& range(std::optional<double> lo, std::optional<double> hi, bool loOpen = false,
                      bool hiOpen = false) {
        k.min = lo;
        k.max = hi;
        k.min_exclusive = loOpen;
        k.max_exclusive = hiOpen;
        return *this;
    }
    KeyBuilder& choices(std::vector<Json> c) {
        k.choices = std::move(c);
        return *this;
    }
    KeyBuilder& note(std::string n) {
        k.note = std::move(n);
        return *this;
    }
    /// A condition; a key starting with "." is a sibling in the same section.
    KeyBuilder& when(std::string key, std::vector<std::string> values, bool negate = false) {
        k.when.push_back({std::move(key), std::move(values), negate});
        return *this;
    }
    /// A condition for the editor's field only (KeyCondition::editor_only).
    KeyBuilder& shownWhen(std::string key, std::vector<std::string> values, bool negate = false) {
        k.when.push_back({std::move(key), std::move(values), negate, true});
        return *this;
    }
    /// The editor's label by the value of @p key (a sibling when it starts with ".").
    KeyBuilder& labelBy(std::string key, std::map<std::string, std::string> labels) {
        k.label_key = std::move(key);
        k.labels = std::move(labels);
        return *this;
    }
    KeyBuilder& noSweep() {
        k.sweepable = false;
        return *this;
    }
    KeyBuilder& noField() {
        k.in_editor = false;
        return *this;
    }
    KeyBuilder& omitDefault() {
        k.omit_default = true;
        return *this;
    }
    KeyBuilder& spin(int decimals, double step) {
        k.decimals = decimals;
        k.step = step;
        return *this;
    }
    KeyBuilder& section(std::string s) {
        k.section = std::move(s);
        return *this;
    }
    KeyBuilder& type(KeyType t) {
        k.type = t;
        return *this;
    }
    KeyBuilder& defaultValue(Json v) {
        k.default_value = std::move(v);
        return *this;
    }
};

inline KeyBuilder key(const char* leaf, const char* label, const char* help) {
    KeyBuilder b;
    b.k.key = leaf;
    b.k.label = label;
    b.k.help = help;
    return b;
}

/// A choice member (an enum with a string table, specchoices.h), read and written by name.
template <class S>
struct ChoiceMember {
    std::function<size_t(const S&)> get;  ///< the enumerator's index
    std::function<void(S&, size_t)> set;  ///< sets the enumerator of that index
    std::vector<std::string> names;       ///< the enum's string table
};

/// Where a section's key keeps its value in the section's struct.
template <class S>
using Member =
    std::variant<std::string S::*, int64_t S::*, double S::*, bool S::*, std::vector<int64_t> S::*,
                 std::optional<int64_t> S::*, std::map<std::string, double> S::*,
                 std::map<std::string, int64_t> S::*, ChoiceMember<S>>;

template <class S>
struct Field {
    Member<S> member;
    SpecKey key;  ///< key.key is the leaf name; sibling conditions start with "."
};

template <class S>
Field<S> field(Member<S> m, KeyBuilder b) {
    return {m, std::move(b.k)};
}

/// A choice key: its allowed values are its enum's names unless the entry lists them.
template <class S, class E, std::enable_if_t<isChoice<E>, int> = 0>
Field<S> field(E S::*p, KeyBuilder b) {
    ChoiceMember<S> m{[p](const S& s) { return static_cast<size_t>(s.*p); },
                      [p](S& s, size_t i) { s.*p = static_cast<E>(i); }, choiceNames<E>()};
    if (b.k.choices.empty()) b.k.choices.assign(m.names.begin(), m.names.end());
    return {std::move(m), std::move(b.k)};
}

template <class T>
Json toJsonValue(const T& v) {
    return Json(v);
}
inline Json toJsonValue(const std::optional<int64_t>& v) {
    return v ? Json(*v) : Json();
}
template <class V>
Json toJsonValue(const std::map<std::string, V>& v) {
    Json j = Json::object();  // an empty map is {}, not null
    for (const auto& [k, x] : v) j[k] = x;
    return j;
}

template <class S>
Json valueOf(const S& s, const Member<S>& m) {
    return std::visit(
        [&](const auto& p) {
            if constexpr (std::is_same_v<std::decay_t<decltype(p)>, ChoiceMember<S>>)
                return Json(p.names.at(p.get(s)));
            else
                return toJsonValue(s.*p);
        },
        m);
}

template <class S>
KeyType typeOf(const Member<S>& m) {
    return std::visit(
        [](const auto& p) {
            if constexpr (std::is_same_v<std::decay_t<decltype(p)>, ChoiceMember<S>>) {
                return KeyType::String;
            } else {
                using T = std::decay_t<decltype(std::declval<S>().*p)>;
                if constexpr (std::is_same_v<T, std::string>) return KeyType::String;
                if constexpr (std::is_same_v<T, double>) return KeyType::Number;
                if constexpr (std::is_same_v<T, bool>) return KeyType::Boolean;
                if constexpr (std::is_same_v<T, std::vector<int64_t>>) return KeyType::IntegerList;
                if constexpr (std::is_same_v<T, std::map<std::string, double>>)
                    return KeyType::NumberMap;
                if constexpr (std::is_same_v<T, std::map<std::string, int64_t>>)
                    return KeyType::IntegerMap;
                return KeyType::Integer;
            }
        },
        m);
}

const std::vector<Field<ExperimentSpec>>& topFields();
const std::vector<Field<DataOptions>>& dataFields();
const std::vector<Field<ModelOptions>>& modelFields();
/// data.tokenizer's keys (text and wordnet data).
const std::vector<Field<TokenizerOptions>>& tokenizerFields();
/// The teacher's own keys (seed, torchscript, run, model); `input` is read by hand.
const std::vector<Field<TeacherOptions>>& teacherFields();
const std::vector<Field<TrainOptions>>& trainFields();
/// teacher.pretrain's and student.pretrain's keys.
const std::vector<Field<PretrainOptions>>& pretrainFields();
const std::vector<Field<DistillOptions>>& distillFields();
/// distill.features' keys.
const std::vector<Field<FeatureOptions>>& featureFields();
/// The student's keys that are not model options (student.init).
const std::vector<Field<ExperimentSpec>>& studentFields();
const std::vector<Field<PruneOptions>>& pruneFields();
const std::vector<Field<QuantizeOptions>>& quantizeFields();

}  // namespace retort::specfields
