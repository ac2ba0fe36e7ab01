#include "compress/sensitivity.h"

#include "compress/calibratedpruning.h"
#include "compress/quantizer.h"

#include <sstream>
#include <stdexcept>

namespace retort {

namespace {

double accuracyOf(ZooNet& net, const torch::Tensor& x, const torch::Tensor& y) {
    int64_t correct = 0;
    for (int64_t i = 0; i < x.size(0); i += kInferenceBatch) {
        const auto logits = net->forward(x.slice(0, i, i + kInferenceBatch));
        correct += logits.argmax(1).eq(y.slice(0, i, i + kInferenceBatch)).sum().item<int64_t>();
    }
    return x.size(0) ? double(correct) / double(x.size(0)) : 0.0;
}

std::string sparsityLevel(double s) {
    std::ostringstream o;
    o << "sparsity " << s;
    return o.str();
}

}  // namespace

Json Sensitivity::toJson() const {
    Json c = Json::array();
    for (const auto& cell : cells)
        c.push_back({{"layer", cell.layer},
                     {"level", cell.level},
                     {"accuracy", cell.accuracy},
                     {"drop", cell.drop}});
    return {{"baseline", baseline},
            {"samples", samples},
            {"layers", layers},
            {"levels", levels},
            {"cells", c}};
}

Sensitivity Sensitivity::fromJson(const Json& j) {
    Sensitivity s;
    try {
        s.baseline = j.at("baseline").get<double>();
        s.samples = j.at("samples").get<int64_t>();
        s.layers = j.at("layers").get<std::vector<std::string>>();
        s.levels = j.at("levels").get<std::vector<std::string>>();
        for (const auto& c : j.at("cells"))
            s.cells.push_back({c.at("layer").get<std::string>(), c.at("level").get<std::string>(),
                               c.at("accuracy").get<double>(), c.at("drop").get<double>()});
    } catch (const Json::exception& e) {
        throw std::invalid_argument(std::string("not a sensitivity table: ") + e.what());
    }
    if (s.cells.size() != s.layers.size() * s.levels.size())
        throw std::invalid_argument("a sensitivity table needs one cell per layer and level");
    return s;
}

Sensitivity layerSensitivity(ZooNet& net, const torch::Tensor& x, const torch::Tensor& y,
                             const SensitivityOptions& options,
                             const std::function<void(int, int)>& progress,
                             const std::function<bool()>& cancelled) {
    if (x.size(0) == 0)
        throw std::invalid_argument("sensitivity needs a validation split (it never reads test)");
    torch::NoGradGuard guard;
    net->eval();
    Sensitivity s;
    s.samples = x.size(0);
    s.baseline = accuracyOf(net, x, y);
    for (double sp : options.sparsities) {
        if (!(sp >= 0 && sp < 1)) throw std::invalid_argument("a sparsity must be in [0, 1)");
        s.levels.push_back(sparsityLevel(sp));
    }
    for (int b : options.bits) {
        if (b != 8 && b != 4) throw std::invalid_argument("bit widths are 8 or 4");
        s.levels.push_back("int" + std::to_string(b));
    }
    auto weights = compressibleWeights(*net);
    const int total = int(weights.size() * s.levels.size());
    int done = 0;
    for (auto& entry : weights) {
        // Plain references, not structured bindings: C++17 lambdas cannot capture those.
        const std::string& name = entry.first;
        torch::Tensor& w = entry.second;
        s.layers.push_back(name);
        const torch::Tensor saved = w.detach().clone();
        auto measure = [&](const std::string& level) {
            if (cancelled && cancelled()) throw std::runtime_error("cancelled");
            const double acc = accuracyOf(net, x, y);
            s.cells.push_back({name, level, acc, s.baseline - acc});
            w.copy_(saved);
            if (progress) progress(++done, total);
        };
        for (double sp : options.sparsities) {
            const auto w2 = w.reshape({1, -1});
            w.mul_(rowwiseMask(w2.abs(), sp).view(w.sizes()).to(w.dtype()));
            measure(sparsityLevel(sp));
        }
        for (int b : options.bits) {
            w.copy_(quantizeSymmetric(w, b, true).dequantize().to(w.device()));
            measure("int" + std::to_string(b));
        }
    }
    return s;
}

}  // namespace retort
