#pragma once

#include "spec/specchoices.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort {

using Json = nlohmann::json;

/// One problem found in a spec: the dotted key it concerns and what is wrong with it.
struct SpecIssue {
    std::string key;      ///< dotted key, e.g. "distill.temperature"; "" for the whole spec
    std::string message;  ///< what is wrong, in words a user can act on
};

/// Thrown when a spec cannot be used; carries every problem found, not just the first.
class SpecError : public std::runtime_error {
public:
    explicit SpecError(std::vector<SpecIssue> issues);
    const std::vector<SpecIssue>& issues() const { return m_issues; }

private:
    std::vector<SpecIssue> m_issues;
};

/// How text is split into subword ids (text and wordnet data).
struct TokenizerOptions {
    TokenizerType type = TokenizerType::Unigram;  ///< unigram | bpe
    int64_t vocab_size = 8000;  ///< pieces, the special ones included (fewer if the text is small)
    int64_t max_length = 128;   ///< most ids per sample, [CLS] included; longer samples are cut
    bool lowercase = true;      ///< case-fold (NFKC with case folding) before splitting
};

/// Where the samples come from and how they are prepared.
struct DataOptions {
    DataFormat format = DataFormat::Idx;  ///< idx | csv | synthetic | text | wordnet
    std::string path = "/usr/share/datasets/fashion-mnist";  ///< folder holding the files
    double validation_fraction = 0.1;  ///< share of the training set held out for validation
    int64_t limit_train = 0;           ///< use at most this many training samples (0: all)
    int64_t limit_test = 0;            ///< use at most this many test samples (0: all)
    int64_t limit_val = 0;             ///< use at most this many validation samples (0: all)
    Normalization normalize = Normalization::Auto;  ///< auto | global | per_feature | none
    int64_t label_column = 0;                       ///< csv: index of the label column
    CsvHeader header = CsvHeader::Auto;             ///< csv: auto | yes | no
    std::vector<int64_t>
        shape;            ///< csv: reshape features (e.g. [1,28,28]); synthetic: sample shape
    int64_t classes = 0;  ///< synthetic: class count (0: 10); csv: 0 infers it from labels
    int64_t train_samples = 2000;  ///< synthetic: training samples
    int64_t test_samples = 500;    ///< synthetic: test samples
    double noise = 1.0;            ///< synthetic: noise standard deviation around class prototypes
    std::string test_path;  ///< text: the test file (empty: a fixed 10 % of `path` by text hash)
    std::string text_column = "text";  ///< text: the text's column (header name or 0-based index)
    std::string label = "label";       ///< text: the label's column (header name or index)
    /// text, language_model: the file's lines in order are one stream of tokens cut into
    /// max_length windows (false: each line or row is a sample, cut at max_length)
    bool stream = false;
    TokenizerOptions tokenizer;  ///< text, wordnet: the subword tokenizer
    int64_t seed = 1;  ///< the validation split, limit_train's subset, synthetic data; fixed, so
                       ///< every student seed of a sweep sees the same data
};

/// How a model is optimized.
struct TrainOptions {
    int64_t epochs = 10;                            ///< passes over the training set
    int64_t batch_size = 128;                       ///< samples per optimizer step
    OptimizerKind optimizer = OptimizerKind::Adam;  ///< adam | adamw | sgd
    double lr = 1e-3;                               ///< learning rate
    double momentum = 0.9;                          ///< sgd momentum
    double weight_decay = 0.0;                      ///< L2 penalty (decoupled for adamw)
    LrSchedule lr_schedule = LrSchedule::Constant;  ///< constant | cosine (per epoch)
    double grad_clip = 0.0;              ///< clip the gradients' total L2 norm to this (0: off)
    Finetune finetune = Finetune::Full;  ///< full | head | lora | bitfit: what the steps update
    int64_t lora_rank = 8;               ///< lora: rank r of each adapter
    double lora_alpha = 16;              ///< lora: the update is scaled by alpha / r
    double lora_dropout = 0.0;           ///< lora: dropout on the adapters' input
    LoraTargets lora_targets = LoraTargets::Attention;  ///< lora: attention | ffn | all
};

/// Masked-LM pretraining of a text encoder (BERT) before its training on the labels.
struct PretrainOptions {
    int64_t epochs = 3;       ///< passes over the pretraining texts
    int64_t batch_size = 64;  ///< texts per optimizer step
    double lr = 5e-4;  ///< AdamW learning rate (weight decay 0.01 on matrices, none on biases
                       ///< and norms; constant after the warm-up)
    double mask_fraction = 0.15;  ///< share of the real tokens predicted ([CLS] never)
    double grad_clip = 1.0;       ///< clip the gradients' total L2 norm (0: off)
    double warmup = 0.0;          ///< share of the steps over which the rate rises linearly from 0
    std::string path;  ///< a UTF-8 text file, one document per line (empty: the training texts)
};

/// A zoo architecture and its options.
struct ModelOptions {
    Arch arch = Arch::Mlp;  ///< mlp | lenet5 | cnn | transformer | bilstm | embedding_bag
    /// mlp/cnn/embedding_bag: widths of the fully connected hidden layers; bilstm: hidden units
    /// per direction of each LSTM layer (empty: one layer of `embedding` units)
    std::vector<int64_t> hidden;
    std::vector<int64_t> channels;  ///< cnn: output channels of each conv3x3+relu+maxpool2 block
    int64_t classes = 0;            ///< output classes (0: the data's class count)
    int64_t embedding = 128;        ///< bilstm/embedding_bag: token embedding width
    int64_t layers = 2;             ///< transformer: encoder layers
    int64_t d_model = 128;          ///< transformer: model width (embeddings included)
    int64_t heads = 4;              ///< transformer: attention heads (d_model divisible by it)
    int64_t ffn = 512;              ///< transformer: feed-forward inner width
    /// transformer: heads of each layer, each d_model/heads wide (empty: `heads` everywhere);
    /// what pruning heads leaves
    std::vector<int64_t> layer_heads;
    std::vector<int64_t> layer_ffn;  ///< transformer: each layer's ffn width (empty: `ffn`)

    /// transformer: the heads and the ffn width of encoder layer @p i (0-based)
    int64_t headsOf(size_t i) const { return i < layer_heads.size() ? layer_heads[i] : heads; }
    int64_t ffnOf(size_t i) const { return i < layer_ffn.size() ? layer_ffn[i] : ffn; }
    double dropout = 0.1;             ///< transformer/bilstm: dropout while training
    Pooling pooling = Pooling::Mean;  ///< transformer: mean over real tokens | first ([CLS])
    /// transformer language model: the output layer is the token table (transposed) with a bias
    /// of its own, instead of a vocab × d_model matrix of its own
    bool tie_embeddings = false;
};

/// The teacher: a zoo model (trained first or used as initialized), a TorchScript file, or a run.
struct TeacherOptions {
    enum class Kind { Zoo, TorchScript, Run };
    Kind kind = Kind::Zoo;              ///< which of the three forms
    ModelOptions model;                 ///< Zoo: architecture
    std::optional<TrainOptions> train;  ///< Zoo: train it first (stage one); absent: frozen at init
    int64_t seed = 1;  ///< Zoo: initialization and training seed; fixed, so one teacher serves
                       ///< every student seed of a sweep
    std::string torchscript;  ///< TorchScript: path of the module file
    /// TorchScript: what the module expects as input. "normalized": Retort's normalized features
    /// (data.normalize); "raw": the features as read from the data files; "explicit": the raw
    /// features as (x - input_mean) / input_std, per channel (dim 1) or for all.
    TeacherInput input = TeacherInput::Normalized;
    std::vector<double> input_mean, input_std;  ///< explicit: one value, or one per channel
    int64_t run = 0;                            ///< Run: id of a completed run of the project
    RunModel run_model = RunModel::Student;     ///< Run: that run's student or its (zoo) teacher
    std::optional<PretrainOptions> pretrain;    ///< Zoo: masked-LM pretraining before `train`
    int64_t pretrained = 0;  ///< Zoo: start from this stored pretrained model (0: none)
};

/// Intermediate-layer distillation between two Transformers (TinyBERT, MiniLM).
struct FeatureOptions {
    double hidden = 1.0;     ///< weight of the hidden-state MSE (through a learned projection)
    double attention = 1.0;  ///< weight of the attention-map KL (the same heads on both sides)
    LayerMap layer_map = LayerMap::Uniform;  ///< which teacher layer each student layer learns
};

/// Knowledge distillation loss settings.
struct DistillOptions {
    DistillLossKind loss = DistillLossKind::Hinton;  ///< hinton
    double temperature = 4.0;                        ///< softmax temperature T > 0
    double lambda = 0.9;                     ///< weight of the soft loss in [0,1]; 0 = labels only
    std::optional<FeatureOptions> features;  ///< absent: logits only
    /// language_model: which divergence compares next-token distributions
    Divergence divergence = Divergence::ForwardKl;
    /// language_model: the teacher's most likely tokens kept per position (its other tokens are
    /// one bucket holding their summed probability)
    int64_t top_k = 32;
};

/// Pruning: what it removes (structure), how it ranks (method) and when (schedule).
struct PruneOptions {
    PruneStructure structure = PruneStructure::Unstructured;  ///< unstructured | neurons |
                                                              ///< channels | n:m | heads | ffn
    PruneMethod method = PruneMethod::Magnitude;  ///< magnitude | wanda | sparsegpt | taylor
    PruneScope scope = PruneScope::Global;        ///< global | layer
    double sparsity = 0.5;  ///< final fraction of zero weights (of units when structured)
    PruneSchedule schedule = PruneSchedule::Agp;  ///< agp | one_shot
    int64_t begin_epoch = 1;                      ///< first epoch (1-based) that prunes
    int64_t end_epoch = 0;              ///< last epoch of the ramp (0: ceil(0.6 * epochs))
    int64_t updates_per_epoch = 10;     ///< agp: mask updates per epoch
    int64_t n = 2;                      ///< n:m: weights kept of every m
    int64_t m = 4;                      ///< n:m: group length along a row's inputs
    int64_t calibration_samples = 512;  ///< wanda, sparsegpt, taylor: training samples read
    /// Per layer ("fc1", "conv2"): its own final sparsity (of weights, or of units when
    /// structured), ramped by the same schedule; layers not named follow `sparsity` and `scope`.
    std::map<std::string, double> per_layer;

    /// The final sparsity of the layer named @p layer (a short name, see layerName).
    double sparsityFor(const std::string& layer) const {
        const auto it = per_layer.find(layer);
        return it == per_layer.end() ? sparsity : it->second;
    }
    /// The fraction of weights (or units) pruned at the end: n:m's 1 − n/m, else sparsity.
    double finalSparsity() const {
        return structure == PruneStructure::NM ? 1.0 - double(n) / double(m) : sparsity;
    }
};

/// Weight quantization: after training (ptq), trained with it (qat) or GPTQ.
struct QuantizeOptions {
    QuantMode mode = QuantMode::Ptq;                              ///< ptq | qat | gptq
    int64_t bits = 8;                                             ///< 8 | 4
    QuantGranularity granularity = QuantGranularity::PerChannel;  ///< per_channel | per_tensor
    int64_t group_size = 0;             ///< > 0: one scale per this many inputs of a channel
    int64_t qat_epochs = 2;             ///< qat: the last epochs train with fake quantization
    int64_t calibration_samples = 512;  ///< gptq: training samples read
    /// Per layer ("fc1", "conv2"): its own bit width, 8 or 4, or 32 to keep it fp32; layers not
    /// named take `bits`.
    std::map<std::string, int64_t> per_layer;

    /// The bit width of the layer named @p layer (a short name, see layerName): 32 is fp32.
    int64_t bitsFor(const std::string& layer) const {
        const auto it = per_layer.find(layer);
        return it == per_layer.end() ? bits : it->second;
    }
};

/// One experiment: everything a run needs. Defaults are those of SPEC.md.
struct ExperimentSpec {
    std::string name = "experiment";   ///< run name (sweep points add their values)
    Task task = Task::Classification;  ///< classification | language_model (next token)
    int64_t seed = 1;                  ///< the student's initialization, sample order and dropout
    std::string device = "auto";       ///< auto | cpu | cuda | cuda:N
    int64_t threads = 0;               ///< intra-op CPU threads (0: every core)
    DataOptions data;                  ///< the dataset
    std::optional<TeacherOptions> teacher;            ///< absent: no teacher (lambda must be 0)
    ModelOptions student;                             ///< the student architecture
    StudentInit student_init = StudentInit::Random;   ///< student.init: random | teacher_layers
    std::optional<PretrainOptions> student_pretrain;  ///< student.pretrain: before training
    int64_t student_pretrained = 0;     ///< student.pretrained: a stored pretrained model (0: none)
    DistillOptions distill;             ///< distillation loss
    std::optional<PruneOptions> prune;  ///< absent: no pruning
    std::optional<QuantizeOptions> quantize;  ///< absent: fp32 weights
    TrainOptions train;                       ///< student training
    Json sweep;  ///< null, an object of dotted key -> list, or a list of those

    /// Reads a spec from JSON. Every structural problem (unknown key, wrong type) goes to
    /// @p issues; the returned spec holds the defaults where a value was unusable.
    static ExperimentSpec fromJson(const Json& j, std::vector<SpecIssue>& issues);
    /// The full spec with every default filled in (sweep included).
    Json toJson() const;
    /// The prune end epoch after applying its default.
    int64_t pruneEndEpoch() const;
    /// What is valid but probably not what the user meant, one sentence each, naming the key
    /// (a zoo teacher without `train` is a random network, for example).
    std::vector<SpecIssue> warnings() const;
};

/// Checks value ranges and cross-field rules that need no files (temperature > 0, lambda in
/// [0,1], bits in {4,8}, ...). Returns one issue per problem.
std::vector<SpecIssue> checkRanges(const ExperimentSpec& spec);

/// Parses spec text. Throws SpecError naming @p file: invalid JSON with its line and column, and
/// every key that appears twice in one object (JSON parsers keep the last one silently).
Json parseSpecText(const std::string& text, const std::string& file);

/// Reads and parses the spec file @p path (parseSpecText), and resolves its relative paths
/// (`data.path`, `teacher.torchscript`) from the file's folder, not the current directory, so
/// runs store where their data really is.
Json readSpecFile(const std::string& path);

/// A training input as the data declares it: sample shape and class count.
struct DataShape {
    std::vector<int64_t> sample_shape;  ///< e.g. {1, 28, 28} or {20}; text: {max_length}
    int64_t classes = 0;                ///< number of classes
    int64_t vocab = 0;                  ///< text: the tokenizer's vocabulary (0: not text)
    double mean_tokens = 0;  ///< text: mean ids per training sample (0: unknown; FLOPs use it)
    /// text: mean_tokens is an estimate from the words (a data probe, before any tokenizer),
    /// not the tokenizer's count
    bool mean_tokens_estimated = false;
    /// language model: a transformer is a causal decoder and predicts the next token at every
    /// position (classes = vocab)
    bool language_model = false;
    /// text: the key of the tokenizer a run of this data trains or reuses (Tokenizer::key), so
    /// that a project holding it can tell the vocabulary its runs really get (vocab is then
    /// its size, not the size asked for)
    std::string tokenizer_key;
};

/// The shape a model of @p task sees: a language model predicts one of the vocabulary's tokens
/// at every position, so its classes are the vocabulary.
inline DataShape taskShape(DataShape shape, Task task) {
    if (task == Task::LanguageModel) {
        shape.language_model = true;
        shape.classes = shape.vocab;
    }
    return shape;
}

/// Whether an architecture reads token ids (text data) rather than features.
constexpr bool isTextArch(Arch a) {
    return a == Arch::Transformer || a == Arch::Bilstm || a == Arch::EmbeddingBag;
}
/// Whether a data format is text.
constexpr bool isTextData(DataFormat f) {
    return f == DataFormat::Text || f == DataFormat::Wordnet;
}

/// One point of a sweep: its parameters (dotted key -> value) and its full spec.
struct RunPoint {
    Json params = Json::object();  ///< the swept values of this point (empty without a sweep)
    ExperimentSpec spec;           ///< the spec with those values applied (sweep removed)
    std::string name;              ///< run name: spec name plus the swept values
};

/// The most runs one spec may expand to: a larger grid is refused before it is expanded.
constexpr size_t kMaxSweepRuns = 10000;

/// Expands the sweep of @p specJson into its points (the cartesian grid of each grid object;
/// a list of grid objects is their union). Structural problems go to @p issues.
std::vector<RunPoint> expandSweep(const Json& specJson, std::vector<SpecIssue>& issues);

/// Sets a dotted key in a JSON object, creating intermediate objects; null erases the key.
void setDotted(Json& j, const std::string& dottedKey, const Json& value);
/// The value at a dotted key ("prune.per_layer"), or nullptr where a part is missing.
const Json* findDotted(const Json& j, const std::string& dottedKey);

/// Formats a JSON scalar the way run names and tables show it (1, 0.9, "agp").
std::string formatValue(const Json& v);

}  // namespace retort
