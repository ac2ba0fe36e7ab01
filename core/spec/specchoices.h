#pragma once

// The spec's choices as enums, each with one string table: the names that specs, the database,
// the CLI and the editor use. The key registry takes a choice key's allowed values from its
// enum's table (specfields.h), so a new value is one enumerator plus one name here, and the code
// that handles it.

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace retort {

enum class DataFormat { Idx, Csv, Synthetic, Text, Wordnet };
enum class Normalization { Auto, Global, PerFeature, None };
enum class CsvHeader { Auto, Yes, No };
enum class OptimizerKind { Adam, AdamW, Sgd };
enum class LrSchedule { Constant, Cosine };
enum class Arch { Mlp, Lenet5, Cnn, Transformer, Bilstm, EmbeddingBag };
/// How a Transformer turns its token states into one vector: their mean over the real tokens, or
/// the first ([CLS]) token's state.
enum class Pooling { Mean, First };
/// What a TorchScript teacher takes; Explicit is written as {"mean": …, "std": …}, not a name.
enum class TeacherInput { Normalized, Raw, Explicit };
enum class RunModel { Student, Teacher };
enum class DistillLossKind { Hinton };
/// What a run learns: one label per sample, or the next token of every position (causal LM).
enum class Task { Classification, LanguageModel };
/// How a language model's distillation compares the teacher's and the student's next-token
/// distributions: KL(teacher ‖ student), KL(student ‖ teacher) (MiniLLM) or their
/// Jensen-Shannon divergence (GKD's β = 0.5).
enum class Divergence { ForwardKl, ReverseKl, Jsd };
enum class PruneMethod { Magnitude, Wanda, SparseGpt, Taylor };
/// What pruning removes: single weights, whole hidden units or channels, or all but n of m.
enum class PruneStructure { Unstructured, Neurons, Channels, NM, Heads, Ffn };
/// Whether @p s removes whole units (so the model is rebuilt smaller at the end).
inline bool removesUnits(PruneStructure s) {
    return s == PruneStructure::Neurons || s == PruneStructure::Channels ||
           s == PruneStructure::Heads || s == PruneStructure::Ffn;
}
enum class PruneScope { Global, Layer };
enum class PruneSchedule { Agp, OneShot };
enum class QuantGranularity { PerChannel, PerTensor };
/// After training (round to nearest), during training (fake quantization), or GPTQ.
enum class QuantMode { Ptq, Qat, Gptq };
/// Which teacher layer each student layer learns from: layer i of S from layer round(i·T/S) of T.
enum class LayerMap { Uniform };
/// How the student's weights start: at random, or copied from the teacher's layers.
enum class StudentInit { Random, TeacherLayers };
/// Which parameters a training stage updates: all; the classifier only (the backbone frozen);
/// low-rank adapters beside frozen weights, and the classifier (LoRA); biases and the classifier
/// (BitFit).
enum class Finetune { Full, Head, Lora, Bitfit };
/// Which Linear layers of a Transformer get LoRA adapters: q, k, v, o; ff1, ff2; or both.
enum class LoraTargets { Attention, Ffn, All };
/// SentencePiece's model: unigram language model (Kudo 2018) or byte-pair encoding.
enum class TokenizerType { Unigram, Bpe };

/// The string table of a choice enum: its names in enumerator order.
template <class E>
struct ChoiceNames;

#define RETORT_CHOICE_NAMES(E, ...)                        \
    template <>                                            \
    struct ChoiceNames<E> {                                \
        static constexpr std::array names = {__VA_ARGS__}; \
    };

RETORT_CHOICE_NAMES(DataFormat, "idx", "csv", "synthetic", "text", "wordnet")
RETORT_CHOICE_NAMES(Normalization, "auto", "global", "per_feature", "none")
RETORT_CHOICE_NAMES(CsvHeader, "auto", "yes", "no")
RETORT_CHOICE_NAMES(OptimizerKind, "adam", "adamw", "sgd")
RETORT_CHOICE_NAMES(LrSchedule, "constant", "cosine")
RETORT_CHOICE_NAMES(Arch, "mlp", "lenet5", "cnn", "transformer", "bilstm", "embedding_bag")
RETORT_CHOICE_NAMES(Pooling, "mean", "first")
RETORT_CHOICE_NAMES(TeacherInput, "normalized", "raw", "explicit")
RETORT_CHOICE_NAMES(RunModel, "student", "teacher")
RETORT_CHOICE_NAMES(DistillLossKind, "hinton")
RETORT_CHOICE_NAMES(Task, "classification", "language_model")
RETORT_CHOICE_NAMES(Divergence, "forward_kl", "reverse_kl", "jsd")
RETORT_CHOICE_NAMES(PruneMethod, "magnitude", "wanda", "sparsegpt", "taylor")
RETORT_CHOICE_NAMES(PruneStructure, "unstructured", "neurons", "channels", "n:m", "heads", "ffn")
RETORT_CHOICE_NAMES(PruneScope, "global", "layer")
RETORT_CHOICE_NAMES(PruneSchedule, "agp", "one_shot")
RETORT_CHOICE_NAMES(QuantGranularity, "per_channel", "per_tensor")
RETORT_CHOICE_NAMES(QuantMode, "ptq", "qat", "gptq")
RETORT_CHOICE_NAMES(TokenizerType, "unigram", "bpe")
RETORT_CHOICE_NAMES(LayerMap, "uniform")
RETORT_CHOICE_NAMES(StudentInit, "random", "teacher_layers")
RETORT_CHOICE_NAMES(Finetune, "full", "head", "lora", "bitfit")
RETORT_CHOICE_NAMES(LoraTargets, "attention", "ffn", "all")

#undef RETORT_CHOICE_NAMES

/// Whether E is a choice enum (has a string table).
template <class E, class = void>
struct IsChoice : std::false_type {};
template <class E>
struct IsChoice<E, std::void_t<decltype(ChoiceNames<E>::names)>> : std::true_type {};
template <class E>
constexpr bool isChoice = IsChoice<E>::value;

/// The name of @p e ("per_channel").
template <class E, std::enable_if_t<isChoice<E>, int> = 0>
constexpr const char* choiceName(E e) {
    return ChoiceNames<E>::names[static_cast<size_t>(e)];
}

/// The enumerator named @p name, or nothing.
template <class E>
std::optional<E> choiceFromName(std::string_view name) {
    const auto& names = ChoiceNames<E>::names;
    for (size_t i = 0; i < names.size(); ++i)
        if (name == names[i]) return static_cast<E>(i);
    return std::nullopt;
}

/// Every name of E, in enumerator order.
template <class E>
std::vector<std::string> choiceNames() {
    const auto& names = ChoiceNames<E>::names;
    return {names.begin(), names.end()};
}

/// Writes a choice's name: messages, logs and test failures show "cosine", not 1.
template <class E, std::enable_if_t<isChoice<E>, int> = 0>
std::ostream& operator<<(std::ostream& os, E e) {
    return os << choiceName(e);
}

/// JSON holds a choice by name: {"model", RunModel::Teacher} is {"model": "teacher"}, never 1.
template <class E, std::enable_if_t<isChoice<E>, int> = 0>
void to_json(nlohmann::json& j, E e) {
    j = choiceName(e);
}

/// Reads a choice by name; anything else throws std::invalid_argument naming the allowed names.
template <class E, std::enable_if_t<isChoice<E>, int> = 0>
void from_json(const nlohmann::json& j, E& e) {
    const std::optional<E> v =
        j.is_string() ? choiceFromName<E>(j.get<std::string>()) : std::nullopt;
    if (!v) {
        std::string allowed;
        for (const char* n : ChoiceNames<E>::names)
            allowed += (allowed.empty() ? "'" : ", '") + std::string(n) + "'";
        throw std::invalid_argument(j.dump() + " is not one of " + allowed);
    }
    e = *v;
}

}  // namespace retort
