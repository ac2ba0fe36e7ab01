#include "compress/quantizer.h"

#include <stdexcept>

namespace retort {

torch::Tensor QuantizedTensor::dequantize() const {
    auto c = codes.to(torch::kFloat32);
    if (perChannel) {
        std::vector<int64_t> view(static_cast<size_t>(c.dim()), 1);
        view[0] = -1;
        return c * scales.view(view);
    }
    return c * scales;
}

QuantizedTensor quantizeSymmetric(const torch::Tensor& weight, int bits, bool perChannel) {
    if (bits != 8 && bits != 4) throw std::invalid_argument("quantization supports 8 or 4 bits");
    torch::NoGradGuard guard;
    QuantizedTensor q;
    q.bits = bits;
    q.perChannel = perChannel && weight.dim() >= 1;
    const double qmax = double((1 << (bits - 1)) - 1);  // 127 or 7
    auto w = weight.detach().to(torch::kFloat32);
    torch::Tensor maxAbs =
        q.perChannel ? w.abs().reshape({w.size(0), -1}).amax(1) : w.abs().max().reshape({1});
    // An all-zero channel keeps scale 1 so that codes stay 0 and nothing divides by zero.
    q.scales = torch::where(maxAbs > 0, maxAbs / qmax, torch::ones_like(maxAbs)).contiguous();
    torch::Tensor s = q.scales;
    if (q.perChannel) {
        std::vector<int64_t> view(static_cast<size_t>(w.dim()), 1);
        view[0] = -1;
        s = s.view(view);
    }
    q.codes = torch::clamp(torch::round(w / s), -qmax, qmax).to(torch::kInt8).contiguous();
    return q;
}

}  // namespace retort
