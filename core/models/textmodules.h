#pragma once

// The building blocks of the zoo's text models (transformer, bilstm, embedding_bag), which read
// token ids padded with 0 (Tokenizer::kPad) on the right. Every block takes the padding mask, so
// attention, recurrence and pooling see only the real tokens, whatever the batch is padded to.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace retort {

/// What a text model's forward pass can hand out besides its logits (feature distillation).
struct TextFeatures {
    std::vector<torch::Tensor> hidden;     ///< per encoder layer: [batch, tokens, width]
    std::vector<torch::Tensor> attention;  ///< per encoder layer: [batch, heads, tokens, tokens]
};

/// Where and how large a Transformer's LoRA adapters are (Hu et al. 2021).
struct LoraSettings {
    int64_t rank = 8;       ///< r: the adapters' inner width
    double alpha = 16;      ///< the update is scaled by alpha / r
    double dropout = 0.0;   ///< dropout on the adapters' input while training
    bool attention = true;  ///< adapters beside q, k, v and o
    bool ffn = false;       ///< adapters beside ff1 and ff2
};

/// A low-rank update beside a frozen Linear: (alpha/r) · B · A · dropout(x). A [r, in] starts
/// Kaiming-uniform and B [out, r] at zero, so training starts from the base model exactly.
class LoraAdapterImpl : public torch::nn::Module {
public:
    LoraAdapterImpl(int64_t in, int64_t out, const LoraSettings& settings);
    torch::Tensor forward(const torch::Tensor& x);
    /// (alpha/r) · B · A, [out, in]: what merging adds to the base weight.
    torch::Tensor delta() const;

    torch::Tensor A, B;
    double scale = 1;

private:
    torch::nn::Dropout m_drop{nullptr};
};
TORCH_MODULE(LoraAdapter);

/// The LoRA adapters of one module, by the name of the Linear each sits beside ("q", "ff1"):
/// registered as "<name>_lora" submodules, so checkpoints carry them, until merged.
class LoraSet {
public:
    /// Adds an adapter beside @p lin, registered on @p owner.
    void add(torch::nn::Module& owner, const std::string& name, torch::nn::Linear& lin,
             const LoraSettings& settings);
    /// lin(x), plus the adapter's update when @p name has one.
    torch::Tensor apply(const std::string& name, torch::nn::Linear& lin, const torch::Tensor& x);
    /// Folds every adapter into its Linear's weight (W += (alpha/r)·B·A) and unregisters it.
    /// @p linear maps a name back to its Linear.
    void merge(torch::nn::Module& owner,
               const std::function<torch::nn::Linear&(const std::string&)>& linear);
    bool empty() const { return m_adapters.empty(); }
    const std::map<std::string, LoraAdapter>& adapters() const { return m_adapters; }

private:
    std::map<std::string, LoraAdapter> m_adapters;
};

/// Multi-head self-attention with separate query, key, value and output projections (each a
/// Linear, so pruning, quantization and export treat them as any other weight).
class SelfAttentionImpl : public torch::nn::Module {
public:
    /// @p headDim: the width of one head (0: dim / heads); q, k and v map dim to
    /// heads·headDim, o maps it back to dim.
    SelfAttentionImpl(int64_t dim, int64_t heads, double dropout, int64_t headDim = 0);
    /// @p x [B, L, D]; @p real [B, L] bool, true for real tokens. Stores the attention
    /// probabilities [B, H, L, L] in @p probs when it is not null.
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& real,
                          torch::Tensor* probs = nullptr);
    /// What o reads: the heads' attention-weighted values, [B, L, heads·headDim].
    torch::Tensor context(const torch::Tensor& x, const torch::Tensor& real,
                          torch::Tensor* probs = nullptr);
    int64_t dim() const { return m_dim; }
    int64_t heads() const { return m_heads; }
    int64_t headDim() const { return m_headDim; }
    /// Adds LoRA adapters beside q, k, v and o.
    void addLora(const LoraSettings& settings);
    /// Folds the adapters into q, k, v and o.
    void mergeLora();
    LoraSet& lora() { return m_lora; }

    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
    /// A decoder's attention: a token attends to itself and the tokens before it only.
    bool causal = false;

private:
    int64_t m_dim, m_heads, m_headDim;
    torch::nn::Dropout m_drop{nullptr};
    LoraSet m_lora;
};
TORCH_MODULE(SelfAttention);

/// One pre-norm Transformer encoder layer: x + attn(ln1(x)), then x + ff2(gelu(ff1(ln2(x)))).
class TransformerLayerImpl : public torch::nn::Module {
public:
    TransformerLayerImpl(int64_t dim, int64_t heads, int64_t ffn, double dropout,
                         int64_t headDim = 0);
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& real,
                          torch::Tensor* probs = nullptr);
    /// Adds LoRA adapters where @p settings says (attention: q, k, v, o; ffn: ff1, ff2).
    void addLora(const LoraSettings& settings);
    /// Folds every adapter of the layer into its weights.
    void mergeLora();
    /// The layer's adapters' parameters (attention's and the feed-forward's).
    std::vector<torch::Tensor> loraParameters();

    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    SelfAttention attn{nullptr};
    torch::nn::Linear ff1{nullptr}, ff2{nullptr};

private:
    torch::nn::Dropout m_drop{nullptr};
    LoraSet m_lora;  // ff1, ff2
};
TORCH_MODULE(TransformerLayer);

/// A language model's output layer tied to its token table (Press & Wolf 2017): logits =
/// states · tableᵀ + bias. Only the bias is its own; the table is the token embedding's weight,
/// handed over at each call, so the two are one tensor for training, pruning, quantization and
/// every exported file.
class TiedOutputImpl : public torch::nn::Module {
public:
    explicit TiedOutputImpl(int64_t vocab);
    /// @p states [..., D], @p table [vocab, D] -> logits [..., vocab].
    torch::Tensor forward(const torch::Tensor& states, const torch::Tensor& table);

    torch::Tensor bias;
};
TORCH_MODULE(TiedOutput);

/// The mean of each sample's real token states: [B, L, D] -> [B, D].
torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& real);
/// The maximum over each sample's real token states: [B, L, D] -> [B, D].
torch::Tensor maskedMax(const torch::Tensor& x, const torch::Tensor& real);

/// Runs one (bidirectional) LSTM layer over right-padded sequences as packed sequences, so the
/// backward direction starts at each sample's last real token: [B, L, in] -> [B, L, 2·hidden],
/// zeros at padding.
torch::Tensor packedLstm(torch::nn::LSTM& lstm, const torch::Tensor& x, const torch::Tensor& real);

}  // namespace retort
