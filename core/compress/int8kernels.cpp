#include "compress/int8kernels.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>

#include <algorithm>
#include <vector>

namespace retort {

namespace {

using Packed = c10::intrusive_ptr<LinearPackedParamsBase>;

bool refuse(std::string* why, const std::string& reason) {
    if (why) *why = reason;
    return false;
}

}  // namespace

namespace {

/// LibTorch's quantized engines by the names results use.
const std::vector<std::pair<std::string, at::QEngine>>& knownEngines() {
    static const std::vector<std::pair<std::string, at::QEngine>> e = {
        {"fbgemm", at::QEngine::FBGEMM},
        {"x86", at::QEngine::X86},
        {"onednn", at::QEngine::ONEDNN},
        {"qnnpack", at::QEngine::QNNPACK}};
    return e;
}

}  // namespace

std::vector<std::string> int8Engines() {
    const auto supported = at::globalContext().supportedQEngines();
    std::vector<std::string> out;
    for (const auto& [name, engine] : knownEngines())
        if (std::find(supported.begin(), supported.end(), engine) != supported.end())
            out.push_back(name);
    return out;
}

Int8Forward int8Forward(ZooNet& net, const std::map<std::string, QuantizedTensor>& quantized,
                        std::string* why, const std::string& engine) {
    const auto engines = int8Engines();
    if (engines.empty()) {
        refuse(why, "this LibTorch has no int8 kernels");
        return {};
    }
    const std::string name = engine.empty() ? engines.front() : engine;
    if (std::find(engines.begin(), engines.end(), name) == engines.end()) {
        refuse(why, "this LibTorch has no " + name + " engine");
        return {};
    }
    if (net->isText()) {
        refuse(why, "text models have no int8 kernel here (embeddings and attention run fp32)");
        return {};
    }
    // Weights are packed for the engine in force when they are packed; the previous engine is
    // put back after.
    const at::QEngine previous = at::globalContext().qEngine();
    for (const auto& [n, e] : knownEngines())
        if (n == name) at::globalContext().setQEngine(e);
    struct Restore {
        at::QEngine e;
        ~Restore() { at::globalContext().setQEngine(e); }
    } restore{previous};
    static const auto prepack = c10::Dispatcher::singleton()
                                    .findSchemaOrThrow("quantized::linear_prepack", "")
                                    .typed<Packed(at::Tensor, c10::optional<at::Tensor>)>();
    static const auto linear = c10::Dispatcher::singleton()
                                   .findSchemaOrThrow("quantized::linear_dynamic", "")
                                   .typed<at::Tensor(at::Tensor, const Packed&, bool)>();
    std::vector<std::function<torch::Tensor(const torch::Tensor&)>> steps;
    for (const auto& child : net->layers()->named_children()) {
        const std::string param = "net." + child.key() + ".weight";
        const auto& m = child.value();
        if (auto* lin = m->as<torch::nn::Linear>()) {
            const auto it = quantized.find(param);
            if (it == quantized.end() || it->second.bits != 8 || it->second.groupSize > 0) {
                refuse(why,
                       child.key() + " is not int8 per channel or tensor (" +
                           (it == quantized.end()      ? std::string("fp32")
                            : it->second.groupSize > 0 ? std::string("group-wise")
                                                       : "int" + std::to_string(it->second.bits)) +
                           "): no int8 kernel takes it");
                return {};
            }
            const QuantizedTensor& q = it->second;
            const auto codes = q.codes.to(torch::kCPU, torch::kInt8).contiguous();
            const auto scales = q.scales.to(torch::kCPU, torch::kDouble).contiguous();
            const at::Tensor qw =
                q.perChannel
                    ? at::_make_per_channel_quantized_tensor(
                          codes, scales, torch::zeros({scales.numel()}, torch::kLong), 0)
                    : at::_make_per_tensor_quantized_tensor(codes, scales.item<double>(), 0);
            const at::Tensor bias = lin->bias.defined()
                                        ? lin->bias.detach().to(torch::kCPU).contiguous()
                                        : at::Tensor();
            const Packed packed =
                prepack.call(qw, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt);
            // fbgemm (x86) multiplies u8 activations by s8 weights in pairs summed into int16
            // (vpmaddubsw), which saturates with 8-bit activations on CPUs without VNNI: as
            // PyTorch's own fbgemm qconfig, it quantizes activations to 7 bits. qnnpack
            // accumulates in int32 and keeps all 8.
            const bool reduceRange = name != "qnnpack";
            steps.push_back([packed, reduceRange](const torch::Tensor& x) {
                return linear.call(x.contiguous(), packed, reduceRange);
            });
        } else if (m->as<torch::nn::ReLU>()) {
            steps.push_back([](const torch::Tensor& x) { return torch::relu(x); });
        } else if (m->as<torch::nn::Flatten>()) {
            steps.push_back([](const torch::Tensor& x) { return x.flatten(1); });
        } else if (m->as<torch::nn::Dropout>()) {
            continue;  // evaluation: identity
        } else {
            refuse(why, child.key() + " (" + m->name() +
                            ") has no int8 kernel here: only fully connected layers run int8");
            return {};
        }
    }
    return [steps](const torch::Tensor& input) {
        torch::Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
        for (const auto& f : steps) x = f(x);
        return x;
    };
}

}  // namespace retort
