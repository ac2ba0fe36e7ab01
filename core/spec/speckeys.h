#pragma once

// The spec's key registry: every key of an experiment spec declared once, with its type, default,
// range or choices, help, whether it can be swept, its editor section and when it applies.
// ExperimentSpec::fromJson / toJson, checkRanges, the editor's fields and sweep keys,
// `retort-cli keys` and the key table of docs/spec.md are all derived from it (a test compares
// that table with specKeysMarkdown()). Adding a key: one entry in specfields.cpp plus the code that
// uses its value.

#include "spec/experimentspec.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace retort {

/// The JSON type of a key's value.
enum class KeyType {
    String,       ///< text (a choice when the key lists choices)
    Integer,      ///< a whole number (a choice when the key lists choices)
    Number,       ///< a real number
    Boolean,      ///< true or false
    IntegerList,  ///< a list of whole numbers
    NumberList,   ///< a number or a list of numbers
    NumberMap,    ///< an object of names to numbers (per-layer targets)
    IntegerMap,   ///< an object of names to whole numbers (per-layer bit widths)
    Section,      ///< an optional object of keys (teacher, prune, quantize, teacher.train)
};

/// One condition of when a key applies: @p key (dotted) has one of @p values, or, with @p negate,
/// none of them. For `teacher` the value is the teacher's form (`none`, `zoo`, `torchscript`,
/// `run`); for another optional section it is `absent` or `present`.
struct KeyCondition {
    std::string key;
    std::vector<std::string> values;
    bool negate = false;
    /// Only hides the editor's field where the key means nothing (a decoder's pooling); the key
    /// still applies and is written (stored specs and keys do not change).
    bool editor_only = false;
};

/// One key of the spec.
struct SpecKey {
    std::string key;  ///< dotted name, e.g. "distill.temperature"
    KeyType type = KeyType::String;
    Json default_value;              ///< the default (null: none, the key is optional)
    std::optional<double> min;       ///< smallest allowed value (numbers, integers)
    std::optional<double> max;       ///< largest allowed value
    bool min_exclusive = false;      ///< min itself is not allowed (temperature > 0)
    bool max_exclusive = false;      ///< max itself is not allowed (sparsity < 1)
    std::vector<Json> choices;       ///< the allowed values (strings or integers); empty: any
    std::string label;               ///< the editor's field label
    std::string help;                ///< what it means, one or two sentences (docs, tooltip, CLI)
    std::string note;                ///< how a special value reads, e.g. "0: all" (in messages too)
    std::string section;             ///< editor section and docs group ("" top level: Experiment)
    bool sweepable = true;           ///< may appear in `sweep`
    bool in_editor = true;           ///< has a field of its own in the editor's form
    bool omit_default = false;       ///< toJson leaves it out while it has its default
    int decimals = 3;                ///< editor: decimals of a number field
    double step = 0.1;               ///< editor: step of a number field
    std::vector<KeyCondition> when;  ///< applies only when all hold (editor visibility, toJson)
    /// editor: the label by the value of another key (`label_key`; data.path reads "Text file"
    /// for text data, "WordNet folder" for WordNet), `label` for any other value
    std::string label_key;
    std::map<std::string, std::string> labels;
};

/// An editor section: the prefix its keys share, its title, and whether it is optional.
struct SpecSection {
    std::string name;   ///< "", "data", "teacher", ...
    std::string title;  ///< "Experiment", "Data", ...
};

/// Every key, in the order the editor and the docs list them.
const std::vector<SpecKey>& specKeys();

/// The editor's sections, in order.
const std::vector<SpecSection>& specSections();

/// The key named @p dotted, or nullptr.
const SpecKey* findSpecKey(const std::string& dotted);

/// The value a condition looks at in an effective spec (ExperimentSpec::toJson()): the teacher's
/// form for `teacher`, absent/present for another section, else the key's value as text.
std::string conditionValue(const Json& effective, const std::string& key);

/// Whether @p key applies to @p effective (every one of its conditions holds). With @p shown,
/// the editor-only conditions too: whether the key means something there (a decoder's masked
/// share applies, is written and stored, but means nothing; the editor and the report hide it).
bool keyApplies(const SpecKey& key, const Json& effective, bool shown = false);

/// A number as messages show it: integers without a fraction (1, 10000000), else shortest.
std::string numberText(double value);

/// Choices as text: strings quoted, separated by ", " and, before the last one, by @p last when
/// given (" or "): "'adam', 'sgd'", "4 or 8".
std::string choiceText(const std::vector<Json>& choices, const char* last);

/// What values are allowed, in words: "'adam', 'adamw', 'sgd'", "> 0", "[0, 1)", "≥ 1".
std::string allowedText(const SpecKey& key);

/// The registry as the Markdown table of docs/spec.md (one row a key).
std::string specKeysMarkdown();

/// The registry as `retort-cli keys` prints it: one block a key.
std::string specKeysText();

/// The registry as JSON (`retort-cli keys --json`): a list of objects, one a key.
Json specKeysJson();

/// "a string", "an integer", ...: how messages name a JSON value's type.
std::string jsonTypeName(const Json& value);

}  // namespace retort
