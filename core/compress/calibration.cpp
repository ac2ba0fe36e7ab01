#include "compress/calibration.h"

#include <stdexcept>

namespace retort {

namespace {

constexpr int64_t kChunk = 64;  // samples per pass: bounds the unfolded patches' memory

/// The rows a layer multiplies by its weight: [rows, inputs].
torch::Tensor layerRows(torch::nn::Module& layer, const torch::Tensor& x) {
    if (auto* conv = layer.as<torch::nn::Conv2d>()) {
        const auto& o = conv->options;
        const auto k = o.kernel_size();
        const auto pad = c10::get<torch::ExpandingArray<2>>(o.padding());
        const auto cols = torch::nn::functional::unfold(
            x, torch::nn::functional::UnfoldFuncOptions(torch::ExpandingArray<2>(*k))
                   .padding(torch::ExpandingArray<2>(*pad)));  // [B, C·k·k, L]
        return cols.transpose(1, 2).reshape({-1, cols.size(1)});
    }
    return x.reshape({x.size(0), -1});
}

}  // namespace

torch::Tensor calibrationIndices(int64_t n, int64_t count, uint64_t seed) {
    if (count <= 0 || count >= n) return torch::arange(n, torch::kLong);
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randperm(n, gen, torch::kLong).slice(0, 0, count);
}

void calibrateLayers(ZooNet& net, const torch::Tensor& samples,
                     const std::function<void(LayerCalibration&)>& visit,
                     const std::function<bool()>& cancelled) {
    if (net->isText())
        throw std::invalid_argument(
            "calibrated compression (wanda, sparsegpt, gptq) is "
            "implemented for mlp, cnn and lenet5 students; text models "
            "are not walked yet");
    torch::NoGradGuard guard;
    const bool wasTraining = net->is_training();
    net->eval();
    torch::Tensor x = samples;
    const auto names = net->layers()->named_children().keys();
    size_t index = 0;
    for (auto& any : *net->layers()) {
        if (cancelled && cancelled()) break;
        const std::string key = names.at(index++);
        torch::nn::Module& layer = *any.ptr();
        auto* lin = layer.as<torch::nn::Linear>();
        auto* conv = layer.as<torch::nn::Conv2d>();
        if (lin || conv) {
            torch::Tensor h;
            int64_t rows = 0;
            for (int64_t i = 0; i < x.size(0); i += kChunk) {
                const auto r = layerRows(layer, x.slice(0, i, i + kChunk)).to(torch::kFloat64);
                h = h.defined() ? h.addmm_(r.t(), r) : r.t().matmul(r);
                rows += r.size(0);
            }
            LayerCalibration c;
            c.name = "net." + key + ".weight";
            c.weight = lin ? lin->weight : conv->weight;
            c.hessian = h.mul_(2.0 / double(std::max<int64_t>(1, rows)));
            c.rows = rows;
            visit(c);
        }
        // Run the layer (after its compression) to get the next one's inputs.
        std::vector<torch::Tensor> out;
        for (int64_t i = 0; i < x.size(0); i += kChunk)
            out.push_back(any.forward(x.slice(0, i, i + kChunk)));
        x = torch::cat(out);
    }
    if (wasTraining) net->train();
}

}  // namespace retort
