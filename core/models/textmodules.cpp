#include "models/textmodules.h"

#include <cmath>
#include <limits>

namespace retort {

LoraAdapterImpl::LoraAdapterImpl(int64_t in, int64_t out, const LoraSettings& settings)
    : scale(settings.alpha / double(settings.rank)) {
    A = register_parameter("A", torch::empty({settings.rank, in}));
    B = register_parameter("B", torch::zeros({out, settings.rank}));
    torch::nn::init::kaiming_uniform_(A, std::sqrt(5.0));  // as PEFT and nn.Linear
    m_drop = register_module("drop", torch::nn::Dropout(settings.dropout));
}

torch::Tensor LoraAdapterImpl::forward(const torch::Tensor& x) {
    return torch::nn::functional::linear(torch::nn::functional::linear(m_drop(x), A), B) * scale;
}

torch::Tensor LoraAdapterImpl::delta() const {
    return torch::mm(B, A) * scale;
}

void LoraSet::add(torch::nn::Module& owner, const std::string& name, torch::nn::Linear& lin,
                  const LoraSettings& settings) {
    const auto w = lin->weight;
    auto a = LoraAdapter(w.size(1), w.size(0), settings);
    a->to(w.device());
    m_adapters.insert_or_assign(name, owner.register_module(name + "_lora", a));
}

torch::Tensor LoraSet::apply(const std::string& name, torch::nn::Linear& lin,
                             const torch::Tensor& x) {
    const auto it = m_adapters.find(name);
    return it == m_adapters.end() ? lin(x) : lin(x) + it->second(x);
}

void LoraSet::merge(torch::nn::Module& owner,
                    const std::function<torch::nn::Linear&(const std::string&)>& linear) {
    torch::NoGradGuard guard;
    for (auto& [name, a] : m_adapters) {
        linear(name)->weight.add_(a->delta());
        owner.unregister_module(name + "_lora");
    }
    m_adapters.clear();
}

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t heads, double dropout, int64_t headDim)
    : m_dim(dim), m_heads(heads), m_headDim(headDim > 0 ? headDim : dim / heads) {
    const int64_t inner = m_heads * m_headDim;
    q = register_module("q", torch::nn::Linear(dim, inner));
    k = register_module("k", torch::nn::Linear(dim, inner));
    v = register_module("v", torch::nn::Linear(dim, inner));
    o = register_module("o", torch::nn::Linear(inner, dim));
    m_drop = register_module("drop", torch::nn::Dropout(dropout));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& real,
                                         torch::Tensor* probs) {
    return m_lora.apply("o", o, context(x, real, probs));
}

void SelfAttentionImpl::addLora(const LoraSettings& settings) {
    m_lora.add(*this, "q", q, settings);
    m_lora.add(*this, "k", k, settings);
    m_lora.add(*this, "v", v, settings);
    m_lora.add(*this, "o", o, settings);
}

void SelfAttentionImpl::mergeLora() {
    m_lora.merge(*this, [this](const std::string& n) -> torch::nn::Linear& {
        return n == "q" ? q : n == "k" ? k : n == "v" ? v : o;
    });
}

torch::Tensor SelfAttentionImpl::context(const torch::Tensor& x, const torch::Tensor& real,
                                         torch::Tensor* probs) {
    const int64_t b = x.size(0), l = x.size(1), dh = m_headDim;
    auto split = [&](const torch::Tensor& t) {  // [B, L, D] -> [B, H, L, dh]
        return t.view({b, l, m_heads, dh}).transpose(1, 2);
    };
    const auto qh = split(m_lora.apply("q", q, x)), kh = split(m_lora.apply("k", k, x)),
               vh = split(m_lora.apply("v", v, x));
    auto scores = torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(dh));
    // Padding keys get no weight; every sample has its [CLS], so no row is all padding.
    scores = scores.masked_fill(real.logical_not().view({b, 1, 1, l}),
                                -std::numeric_limits<float>::infinity());
    if (causal)  // the future: strictly above the diagonal
        scores = scores.masked_fill(
            torch::ones({l, l}, x.options().dtype(torch::kBool)).triu(1).view({1, 1, l, l}),
            -std::numeric_limits<float>::infinity());
    auto p = torch::softmax(scores, -1);
    if (probs) *probs = p;
    return torch::matmul(m_drop(p), vh).transpose(1, 2).reshape({b, l, m_heads * dh});
}

TransformerLayerImpl::TransformerLayerImpl(int64_t dim, int64_t heads, int64_t ffn, double dropout,
                                           int64_t headDim) {
    ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    attn = register_module("attn", SelfAttention(dim, heads, dropout, headDim));
    ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    ff1 = register_module("ff1", torch::nn::Linear(dim, ffn));
    ff2 = register_module("ff2", torch::nn::Linear(ffn, dim));
    m_drop = register_module("drop", torch::nn::Dropout(dropout));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& real,
                                            torch::Tensor* probs) {
    auto h = x + m_drop(attn(ln1(x), real, probs));
    return h + m_drop(m_lora.apply("ff2", ff2, torch::gelu(m_lora.apply("ff1", ff1, ln2(h)))));
}

void TransformerLayerImpl::addLora(const LoraSettings& settings) {
    if (settings.attention) attn->addLora(settings);
    if (settings.ffn) {
        m_lora.add(*this, "ff1", ff1, settings);
        m_lora.add(*this, "ff2", ff2, settings);
    }
}

void TransformerLayerImpl::mergeLora() {
    attn->mergeLora();
    m_lora.merge(*this, [this](const std::string& n) -> torch::nn::Linear& {
        return n == "ff1" ? ff1 : ff2;
    });
}

std::vector<torch::Tensor> TransformerLayerImpl::loraParameters() {
    std::vector<torch::Tensor> out;
    for (const LoraSet* set : {&attn->lora(), &m_lora})
        for (const auto& [name, a] : set->adapters())
            for (const auto& p : a->parameters()) out.push_back(p);
    return out;
}

torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& real) {
    const auto w = real.unsqueeze(-1).to(x.scalar_type());
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0);
}

torch::Tensor maskedMax(const torch::Tensor& x, const torch::Tensor& real) {
    return x.masked_fill(real.logical_not().unsqueeze(-1), -std::numeric_limits<float>::infinity())
        .amax(1);
}

torch::Tensor packedLstm(torch::nn::LSTM& lstm, const torch::Tensor& x, const torch::Tensor& real) {
    namespace rnn = torch::nn::utils::rnn;
    const auto lengths = real.sum(1).to(torch::kCPU, torch::kInt64);
    auto packed = rnn::pack_padded_sequence(x, lengths, /*batch_first=*/true,
                                            /*enforce_sorted=*/false);
    auto out = std::get<0>(lstm->forward_with_packed_input(packed));
    return std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0, x.size(1)));
}

TiedOutputImpl::TiedOutputImpl(int64_t vocab) {
    bias = register_parameter("bias", torch::zeros({vocab}));
}

torch::Tensor TiedOutputImpl::forward(const torch::Tensor& states, const torch::Tensor& table) {
    return torch::nn::functional::linear(states, table, bias);
}

}  // namespace retort
