#include "compress/quantizer.h"

#include <stdexcept>

namespace retort {

namespace {

double qmaxOf(int bits) {
    if (bits != 8 && bits != 4) throw std::invalid_argument("quantization supports 8 or 4 bits");
    return double((1 << (bits - 1)) - 1);  // 127 or 7
}

/// An all-zero group keeps scale 1 so that codes stay 0 and nothing divides by zero.
torch::Tensor scalesOf(const torch::Tensor& maxAbs, double qmax) {
    return torch::where(maxAbs > 0, maxAbs / qmax, torch::ones_like(maxAbs));
}

}  // namespace

torch::Tensor dequantizeCodes(const torch::Tensor& codes, const torch::Tensor& scales,
                              int64_t groupSize) {
    auto c = codes.to(torch::kFloat32);
    if (groupSize > 0) {
        const auto c2 = c.reshape({c.size(0), -1});
        const auto s =
            scales.reshape({c.size(0), -1}).repeat_interleave(groupSize, 1).slice(1, 0, c2.size(1));
        return (c2 * s).view(codes.sizes());
    }
    if (scales.numel() == 1) return c * scales;
    std::vector<int64_t> view(static_cast<size_t>(c.dim()), 1);
    view[0] = -1;
    return c * scales.view(view);
}

torch::Tensor QuantizedTensor::dequantize() const {
    return dequantizeCodes(codes, perChannel || groupSize > 0 ? scales : scales.reshape({1}),
                           groupSize);
}

QuantizedTensor quantizeSymmetric(const torch::Tensor& weight, int bits, bool perChannel) {
    const double qmax = qmaxOf(bits);
    torch::NoGradGuard guard;
    QuantizedTensor q;
    q.bits = bits;
    q.perChannel = perChannel && weight.dim() >= 1;
    auto w = weight.detach().to(torch::kFloat32);
    torch::Tensor maxAbs =
        q.perChannel ? w.abs().reshape({w.size(0), -1}).amax(1) : w.abs().max().reshape({1});
    q.scales = scalesOf(maxAbs, qmax).contiguous();
    torch::Tensor s = q.scales;
    if (q.perChannel) {
        std::vector<int64_t> view(static_cast<size_t>(w.dim()), 1);
        view[0] = -1;
        s = s.view(view);
    }
    q.codes = torch::clamp(torch::round(w / s), -qmax, qmax).to(torch::kInt8).contiguous();
    return q;
}

QuantizedTensor quantizeGroupwise(const torch::Tensor& weight, int bits, int64_t groupSize) {
    const double qmax = qmaxOf(bits);
    if (groupSize <= 0) throw std::invalid_argument("group size must be positive");
    torch::NoGradGuard guard;
    auto w = weight.detach().to(torch::kFloat32).reshape({weight.size(0), -1});
    const int64_t rows = w.size(0), cols = w.size(1), groups = (cols + groupSize - 1) / groupSize;
    auto padded = torch::zeros({rows, groups * groupSize}, w.options());
    padded.slice(1, 0, cols).copy_(w);
    const auto maxAbs = padded.view({rows, groups, groupSize}).abs().amax(2);
    QuantizedTensor q;
    q.bits = bits;
    q.perChannel = true;
    q.groupSize = groupSize;
    q.scales = scalesOf(maxAbs, qmax).contiguous();
    const auto s = q.scales.repeat_interleave(groupSize, 1).slice(1, 0, cols);
    q.codes = torch::clamp(torch::round(w / s), -qmax, qmax)
                  .to(torch::kInt8)
                  .view(weight.sizes())
                  .contiguous();
    return q;
}

QuantizedTensor gptqQuantize(const torch::Tensor& weight, const torch::Tensor& hessian, int bits,
                             int64_t groupSize, const ObsOptions& options) {
    const double qmax = qmaxOf(bits);
    torch::NoGradGuard guard;
    using torch::indexing::None;
    using torch::indexing::Slice;
    auto w = weight.detach().to(torch::kFloat64).reshape({weight.size(0), -1}).clone();
    const int64_t rows = w.size(0), cols = w.size(1);
    if (hessian.size(0) != cols || hessian.size(1) != cols)
        throw std::invalid_argument("gptqQuantize: the Hessian must be [inputs, inputs]");
    const int64_t g = groupSize > 0 ? groupSize : cols;
    const int64_t groups = (cols + g - 1) / g;
    const auto keep = w != 0;  // pruning's zeros stay zero
    w.index_put_({Slice(), hessian.diagonal() == 0}, 0.0);
    const auto hinv = dampedInverseCholesky(hessian, options.damp);
    auto codes = torch::zeros({rows, cols}, torch::kFloat64);
    auto scales = torch::ones({rows, groups}, torch::kFloat64);
    torch::Tensor scale;  // the current group's, [rows]
    const int64_t bs = std::max<int64_t>(1, options.blockSize);
    for (int64_t i1 = 0; i1 < cols; i1 += bs) {
        const int64_t i2 = std::min(i1 + bs, cols), count = i2 - i1;
        auto w1 = w.index({Slice(), Slice(i1, i2)}).clone();
        auto err1 = torch::zeros_like(w1);
        const auto h1 = hinv.index({Slice(i1, i2), Slice(i1, i2)});
        for (int64_t i = 0; i < count; ++i) {
            const int64_t c = i1 + i;
            if (c % g == 0) {
                // The group's scale from its weights as the walk has updated them so far: the
                // block's part from w1, the rest (beyond this block) from w.
                const int64_t end = std::min(c + g, cols);
                const int64_t inBlock = std::min(end, i2) - c;
                auto maxAbs = w1.index({Slice(), Slice(i, i + inBlock)}).abs().amax(1);
                if (end > i2)
                    maxAbs =
                        torch::maximum(maxAbs, w.index({Slice(), Slice(i2, end)}).abs().amax(1));
                scale = scalesOf(maxAbs, qmax);
                scales.index_put_({Slice(), c / g}, scale);
            }
            auto col = w1.index({Slice(), i});
            const auto colKeep = keep.index({Slice(), c});
            auto code = torch::clamp(torch::round(col / scale), -qmax, qmax) * colKeep;
            codes.index_put_({Slice(), c}, code);
            const auto err = (col - code * scale) / h1[i][i];
            w1.index({Slice(), Slice(i, None)})
                .sub_(err.view({-1, 1}).matmul(h1.index({i, Slice(i, None)}).view({1, -1})));
            w1.mul_(keep.index({Slice(), Slice(i1, i2)}));
            err1.index_put_({Slice(), i}, err);
        }
        if (i2 < cols) {
            w.index({Slice(), Slice(i2, None)})
                .sub_(err1.matmul(hinv.index({Slice(i1, i2), Slice(i2, None)})));
            w.index({Slice(), Slice(i2, None)}).mul_(keep.index({Slice(), Slice(i2, None)}));
        }
    }
    QuantizedTensor q;
    q.bits = bits;
    q.perChannel = true;
    q.groupSize = groupSize > 0 ? g : 0;
    q.scales = (groupSize > 0 ? scales : scales.view({rows})).to(torch::kFloat32).contiguous();
    q.codes = codes.to(torch::kInt8).view(weight.sizes()).contiguous();
    return q;
}

torch::Tensor fakeQuantize(const torch::Tensor& weight, int bits, int64_t groupSize) {
    torch::Tensor q;
    {
        torch::NoGradGuard guard;
        q = (groupSize > 0 ? quantizeGroupwise(weight, bits, groupSize)
                           : quantizeSymmetric(weight, bits, true))
                .dequantize()
                .to(weight.device());
    }
    return weight + (q - weight).detach();
}

WeightFakeQuantizer::WeightFakeQuantizer(std::vector<std::pair<std::string, torch::Tensor>> weights,
                                         int bits, bool perChannel, int64_t groupSize)
    : WeightFakeQuantizer(weights, std::vector<int>(weights.size(), bits), perChannel, groupSize) {}

WeightFakeQuantizer::WeightFakeQuantizer(std::vector<std::pair<std::string, torch::Tensor>> weights,
                                         std::vector<int> bits, bool perChannel, int64_t groupSize)
    : m_weights(std::move(weights)),
      m_bits(std::move(bits)),
      m_perChannel(perChannel),
      m_groupSize(groupSize) {
    if (m_bits.size() != m_weights.size())
        throw std::invalid_argument("fake quantization needs one bit width per weight");
    for (int b : m_bits) qmaxOf(b);  // refuses other widths now, not at the first step
}

void WeightFakeQuantizer::quantize() {
    torch::NoGradGuard guard;
    m_float.clear();
    for (size_t i = 0; i < m_weights.size(); ++i) {
        torch::Tensor& w = m_weights[i].second;
        const int bits = m_bits[i];
        m_float.push_back(w.detach().clone());
        const QuantizedTensor q = m_groupSize > 0 ? quantizeGroupwise(w, bits, m_groupSize)
                                                  : quantizeSymmetric(w, bits, m_perChannel);
        w.copy_(q.dequantize().to(w.device()));
    }
}

void WeightFakeQuantizer::restore() {
    torch::NoGradGuard guard;
    for (size_t i = 0; i < m_float.size(); ++i) m_weights[i].second.copy_(m_float[i]);
    m_float.clear();
}

}  // namespace retort
