#include "models/textmodules.h"

#include <cmath>
#include <limits>

namespace retort {

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
    return o(context(x, real, probs));
}

torch::Tensor SelfAttentionImpl::context(const torch::Tensor& x, const torch::Tensor& real,
                                         torch::Tensor* probs) {
    const int64_t b = x.size(0), l = x.size(1), dh = m_headDim;
    auto split = [&](const torch::Tensor& t) {  // [B, L, D] -> [B, H, L, dh]
        return t.view({b, l, m_heads, dh}).transpose(1, 2);
    };
    const auto qh = split(q(x)), kh = split(k(x)), vh = split(v(x));
    auto scores = torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(dh));
    // Padding keys get no weight; every sample has its [CLS], so no row is all padding.
    scores = scores.masked_fill(real.logical_not().view({b, 1, 1, l}),
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
    return h + m_drop(ff2(torch::gelu(ff1(ln2(h)))));
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

}  // namespace retort
