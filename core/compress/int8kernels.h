#pragma once

// The int8 form of a quantized zoo network, run by LibTorch's own int8 kernels: what a user
// would deploy on a CPU. Each Linear runs a quantized engine's dynamic-quantization kernel (int8
// weights per output channel, activations quantized per call from their range, int32
// accumulation): fbgemm, x86, onednn or qnnpack, whichever this LibTorch has; ReLU, Flatten and
// Dropout (eval) run as in fp32. Convolutions, text
// models, int4 and group-wise weights have no int8 kernel here, and are reported so.

#include "compress/quantizer.h"
#include "models/modelzoo.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace retort {

/// A forward function over int8 kernels.
using Int8Forward = std::function<torch::Tensor(const torch::Tensor&)>;

/// The quantized engines this LibTorch has ("fbgemm", "x86", "onednn", "qnnpack").
std::vector<std::string> int8Engines();

/// Whether this LibTorch has any int8 CPU kernels.
inline bool hasInt8Kernels() {
    return !int8Engines().empty();
}

/// @p net's forward with its Linear weights as the int8 codes and scales of @p quantized (keyed
/// by parameter name, as the compression stage keeps them), packed for @p engine (one of
/// int8Engines(); empty: the first). Empty when some layer cannot run on an int8 kernel, with the
/// reason in @p why. Call under NoGradGuard; inputs on the CPU.
Int8Forward int8Forward(ZooNet& net, const std::map<std::string, QuantizedTensor>& quantized,
                        std::string* why = nullptr, const std::string& engine = {});

}  // namespace retort
