#pragma once

#include "models/textmodules.h"
#include "spec/experimentspec.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace retort {

/// A shape as "1x28x28" (messages, layer tables).
std::string shapeText(const std::vector<int64_t>& shape);

/// One layer of a zoo model as the counters see it.
struct LayerInfo {
    std::string name;                ///< state-dict prefix, e.g. "fc1"
    std::string type;                ///< linear | conv2d | relu | maxpool2d | flatten
    std::vector<int64_t> out_shape;  ///< output shape of one sample
    int64_t params = 0;              ///< parameters of this layer
    int64_t flops = 0;               ///< operations for one sample (a multiply-add counts 2)
};

/// Static description of a model: what the editor and the results show. Text models count
/// FLOPs at the data's mean tokens per sample (DataShape::mean_tokens; max_length when unknown):
/// matrix products and bias adds, not the element-wise work of norms, GELU and softmax.
struct ModelSummary {
    int64_t param_count = 0;        ///< all parameters
    int64_t embedding_params = 0;   ///< of which embedding tables (token and position)
    int64_t flops = 0;              ///< one forward pass of one sample
    int64_t size_bytes = 0;         ///< dense fp32 storage of parameters and buffers
    std::vector<LayerInfo> layers;  ///< in forward order
};

/// A zoo network: a named sequence of layers. State-dict keys are "<layer>.weight|bias".
class ZooNetImpl : public torch::nn::Module {
public:
    ZooNetImpl(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
               int64_t classes);
    /// Any architecture; a text one needs data.vocab (and data.sample_shape {max_length}).
    ZooNetImpl(const ModelOptions& options, const DataShape& data);
    /// Logits. Text models take int64 token ids [batch, tokens] padded with 0 on the right.
    torch::Tensor forward(torch::Tensor x);
    /// A text model's logits, with each encoder layer's states and attention maps in
    /// @p features when it is not null (transformer; a bilstm hands out its layers' states).
    torch::Tensor forwardText(const torch::Tensor& ids, TextFeatures* features);
    /// A text model's state of every token before pooling: a transformer's final-norm output
    /// [B, L, d_model], a bilstm's last layer [B, L, 2·hidden], an embedding bag's embeddings;
    /// each encoder layer's states and attention maps go to @p features when it is not null.
    torch::Tensor tokenStates(const torch::Tensor& ids, TextFeatures* features = nullptr);
    /// A text model's token table [vocab, width] (what a masked-LM head ties its output to).
    torch::Tensor tokenTable() const { return m_tok ? m_tok->weight : torch::Tensor(); }
    /// Adds LoRA adapters to every encoder layer of a transformer (throws std::invalid_argument
    /// for another architecture). They are parameters of the network until mergeLora().
    void addLora(const LoraSettings& settings);
    /// Folds the adapters into the weights: afterwards the network is a plain one again.
    void mergeLora();
    /// The adapters' parameters (empty: none).
    std::vector<torch::Tensor> loraParameters();
    /// A text classifier's pooled features [B, width]: what its head reads.
    torch::Tensor pooledFeatures(const torch::Tensor& ids);
    /// A linear probe's standardization (head-only training): the head reads (pooled − mean) /
    /// std per feature, so its weights need not grow to the features' own scale (mean-pooled
    /// normalized states vary by about 0.2, and a probe trained at an ordinary rate stayed at
    /// the majority class). Not part of the state dict; foldHeadStandardization() makes it so.
    void standardizeHead(const torch::Tensor& mean, const torch::Tensor& std);
    /// Folds the standardization into the head's first layer (W / std, b − W·mean / std):
    /// afterwards the network computes the same logits as a plain one.
    void foldHeadStandardization();
    bool isText() const { return isTextArch(m_options.arch); }
    int64_t vocab() const { return m_data.vocab; }
    const DataShape& dataShape() const { return m_data; }
    const ModelSummary& summary() const { return m_summary; }
    torch::nn::Sequential& layers() { return m_seq; }
    const ModelOptions& options() const { return m_options; }
    const std::vector<int64_t>& sampleShape() const { return m_sampleShape; }
    int64_t classes() const { return m_classes; }

private:
    torch::nn::Sequential m_seq{nullptr};
    ModelSummary m_summary;
    ModelOptions m_options;
    std::vector<int64_t> m_sampleShape;
    int64_t m_classes = 0;
    DataShape m_data;
    // Text models: typed handles to the modules m_seq holds (it names them in the state dict).
    torch::nn::Embedding m_tok{nullptr}, m_pos{nullptr};
    std::vector<TransformerLayer> m_blocks;
    torch::nn::LayerNorm m_norm{nullptr};
    std::vector<torch::nn::LSTM> m_lstms;
    std::vector<torch::nn::Linear> m_head;  // embedding_bag's hidden layers, then "out"
    TiedOutput m_tied{nullptr};             // a tied language model's "out" (m_head empty)
    torch::Tensor m_headMean, m_headStd;    // standardizeHead (undefined: none)
};
TORCH_MODULE(ZooNet);

/// Computes the summary without building the network. Throws std::invalid_argument with the
/// reason when the architecture does not fit the input (e.g. a cnn on flat features).
ModelSummary describeModel(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
                           int64_t classes);
/// The same for any architecture (text ones need data.vocab).
ModelSummary describeModel(const ModelOptions& options, const DataShape& data);

/// A forward function for a frozen network, specialized for inference: on a CPU with oneDNN
/// (mkldnn), convolutions, ReLUs and max-pools run on oneDNN's blocked layout with weights
/// reordered once, which is several times faster than the default NCHW path for the zoo CNNs;
/// elsewhere it is the network's own forward. The weights are captured when this is called:
/// the network must not change afterwards. Call under NoGradGuard.
std::function<torch::Tensor(const torch::Tensor&)> frozenForward(ZooNet net);

/// The batch size frozen inference passes use: measured fastest for the zoo CNNs on oneDNN
/// (bench/RESULTS.md); larger batches spill the caches.
constexpr int64_t kInferenceBatch = 128;

/// The weights that pruning and quantization act on, in order: for a zoo network the parameters
/// its graph (models/modelgraph.h) marks compressible (Linear and Conv2d weights); for another
/// module every weight of two or more dimensions.
std::vector<std::pair<std::string, torch::Tensor>> compressibleWeights(torch::nn::Module& module);

/// The name a user writes for a weight (per-layer keys, sensitivity tables): the parameter
/// name without the network's "net." and the ".weight" ("net.fc1.weight" -> "fc1").
std::string layerName(const std::string& parameter);

/// Throws std::invalid_argument naming @p key and the layers there are when a name of
/// @p names is not one of @p layers.
void checkNames(const std::vector<std::string>& names, const std::vector<std::string>& layers,
                const std::string& key);
/// The same for the layers of @p weights (compressibleWeights).
void checkLayerNames(const std::vector<std::string>& names,
                     const std::vector<std::pair<std::string, torch::Tensor>>& weights,
                     const std::string& key);

/// LibTorch archive bytes of anything with save(OutputArchive&): a module's parameters and
/// buffers, an optimizer's state.
template <typename Saveable>
std::string archiveBytes(Saveable& object) {
    torch::serialize::OutputArchive archive;
    object.save(archive);
    std::ostringstream os;
    archive.save_to(os);
    return os.str();
}

/// Serializes / restores a module's parameters and buffers (LibTorch archive bytes).
inline std::string saveModule(torch::nn::Module& module) {
    return archiveBytes(module);
}
/// Loads saveModule()'s @p bytes into @p module. Throws std::runtime_error naming the first
/// parameter or buffer whose stored shape differs from the module's (LibTorch would silently
/// take the stored shape); the module's weights are then unspecified.
void loadModule(torch::nn::Module& module, const std::string& bytes);

/// A TorchScript module from a file's bytes, checked with verifyArchive first (a corrupted
/// TorchScript file can crash LibTorch's loader). `what` names the file in errors.
torch::jit::Module loadTorchScript(const std::string& bytes, const std::string& what,
                                   torch::Device device);

/// Tensor bytes for the project (LibTorch's pickle format, CPU): the cached teacher outputs.
std::string serializeTensor(const torch::Tensor& t);
/// Reads serializeTensor's bytes; throws c10::Error on bytes that are not one pickled tensor.
torch::Tensor deserializeTensor(const std::string& bytes);

}  // namespace retort
