#pragma once

// Masked-LM pretraining of a text encoder (BERT, Devlin et al. 2019) and the fine-tuning modes
// that adapt a pretrained model cheaply (head only, LoRA, BitFit). Pretrained encoders are stored
// in the project once per spec and data (PretrainedRecord), checkpointed after every epoch.

#include "data/tokenizer.h"
#include "models/modelzoo.h"
#include "train/pipeline.h"

#include <cstdint>
#include <string>

namespace retort {

/// The first id a random replacement may take (after padding, [UNK] and [CLS]).
constexpr int64_t kFirstPiece = 3;

/// [MASK]'s own row of a text model's token table while masked-LM pretraining runs: appended
/// after the tokenizer's pieces (its id is the vocabulary's size, so no other id moves), and
/// removed again when this goes out of scope, so the fine-tuned model keeps the tokenizer's
/// table. The tokenizers have no [MASK] piece, and [UNK] cannot stand in: texts read it too.
class MaskRow {
public:
    explicit MaskRow(ZooNetImpl& net);
    ~MaskRow();
    MaskRow(const MaskRow&) = delete;
    MaskRow& operator=(const MaskRow&) = delete;
    /// [MASK]'s id: the vocabulary's size.
    int64_t id() const { return m_rows; }

private:
    torch::Tensor m_table;
    int64_t m_rows;
};

/// A masked batch: what the encoder reads and what it must predict (-100: not predicted).
struct MaskedTokens {
    torch::Tensor input, target;
};

/// BERT's masking of token ids [B, L] (0 padding): each real token except [CLS] is picked with
/// probability @p fraction; a picked one reads [MASK] (id @p vocab, MaskRow's) 80 % of the time, a
/// random piece from [kFirstPiece, vocab) 10 %, itself 10 %. Draws from @p gen (CPU); same device
/// as @p ids.
MaskedTokens maskTokens(const torch::Tensor& ids, double fraction, int64_t vocab,
                        at::Generator& gen);

/// The masked-LM head: dense, GELU and LayerNorm to the token table's width, then logits over
/// the vocabulary through the token table itself (tied) plus a bias. Thrown away after
/// pretraining, as BERT's is.
class MlmHeadImpl : public torch::nn::Module {
public:
    MlmHeadImpl(int64_t width, int64_t embedding, int64_t vocab);
    /// @p states [N, width] -> logits [N, vocab] with @p table [vocab, embedding]; @p vocab
    /// counts [MASK]'s row.
    torch::Tensor forward(const torch::Tensor& states, const torch::Tensor& table);

    torch::nn::Linear dense{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    torch::Tensor bias;
};
TORCH_MODULE(MlmHead);

/// The mean masked-LM cross-entropy of @p net (with its MaskRow) on @p ids with a masking drawn
/// from @p seed, in batches (no gradients). NaN when nothing is masked.
double maskedLmLoss(ZooNetImpl& net, MlmHeadImpl& head, const torch::Tensor& ids, double fraction,
                    uint64_t seed, int64_t batchSize = 256);

/// The parameters masked-LM pretraining trains: all but the classifier's.
std::vector<torch::Tensor> encoderParameters(ZooNet& net);

namespace pipeline {

/// Who is pretrained: the teacher or the student, and what names its keys and progress.
struct PretrainTarget {
    std::string prefix;  ///< "teacher" or "student": keys are <prefix>.pretrain(ed)
    Json model;          ///< the architecture's keys (what the stored model must match)
    Json options;        ///< the pretrain section as the spec writes it (part of the key)
    int64_t seed = 1;    ///< initialization, masking, order and dropout
    int64_t runId = 0;   ///< the run it happens for (progress and messages)
    /// What else decides the starting weights, part of the record's key: null for a random
    /// start; {"init": "teacher_layers", "teacher": KEY} for a student copied from a teacher.
    Json start;
};

/// The architecture keys of a spec's teacher or student section (what a pretrained model must
/// match): the section without its seed, training, pretraining and source keys.
Json architectureOf(const Json& section);

/// Gives @p net the stored pretrained weights for @p options: from the project when a record
/// with the same key has every epoch, else pretrains (resuming from a stored epoch) and stores
/// every epoch. Returns what the run's results keep: {"id", "key", "epochs": [...], "reused",
/// "seconds"}. The classifier keeps its initialization.
Json pretrain(ZooNet& net, const PretrainOptions& options, const PretrainTarget& target,
              const RunContext& ctx, StageServices& services);

/// Loads the stored pretrained model @p id into @p net; throws std::runtime_error naming
/// <prefix>.pretrained when it is missing, of another architecture or another tokenizer.
Json loadPretrained(ZooNet& net, int64_t id, const PretrainTarget& target, const Dataset& d,
                    StageServices& services);

/// For head-only training of a text classifier (train.finetune head): standardizes what the
/// head reads by the pooled features' per-feature mean and standard deviation over @p d's
/// training samples (the frozen encoder in eval mode, so they are exact), as linear probes do;
/// foldHeadStandardization() after training makes it plain weights. No-op otherwise.
void standardizeProbe(ZooNet& net, const Dataset& d, const TrainOptions& train);

/// The parameters a training stage gives its optimizer, as train.finetune says: every one
/// (full); the classifier's (head); biases and the classifier (bitfit); LoRA adapters, which
/// this adds to @p net, and the classifier (lora). Everything else gets requires_grad false, so
/// it stays bit-identical through training.
std::vector<torch::Tensor> finetuneParameters(ZooNet& net, const TrainOptions& train);

/// Elements of @p params (trainable_params).
int64_t countElements(const std::vector<torch::Tensor>& params);

/// What finetuneParameters would train for a model of @p model on @p data (the editor's
/// budget): builds the model on the CPU and counts. -1 when it cannot be built.
int64_t trainableParameterCount(const ModelOptions& model, const DataShape& data,
                                const TrainOptions& train);

}  // namespace pipeline

}  // namespace retort
