#include "models/modelzoo.h"

#include "models/modelgraph.h"

#include "models/archivecheck.h"

#include <sstream>
#include <stdexcept>

namespace retort {

std::string shapeText(const std::vector<int64_t>& s) {
    std::string r;
    for (int64_t e : s) r += (r.empty() ? "" : "x") + std::to_string(e);
    return r;
}

namespace {

/// Builds the layer plan of an architecture: shape propagation and counting in one place,
/// shared by describeModel (no tensors) and ZooNet (which instantiates the same plan).
struct PlanLayer {
    LayerInfo info;
    int64_t in = 0, out = 0, kernel = 0, padding = 0;  // linear: in/out; conv: channels, kernel
};

int64_t numel(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t e : s) n *= e;
    return n;
}

std::vector<PlanLayer> plan(const ModelOptions& o, const std::vector<int64_t>& sample,
                            int64_t classes) {
    if (classes < 2) throw std::invalid_argument("needs at least 2 classes");
    if (sample.empty()) throw std::invalid_argument("the input has no shape");
    std::vector<PlanLayer> layers;
    std::vector<int64_t> shape = sample;
    auto relu = [&](const std::string& name) {
        PlanLayer l;
        l.info = {name, "relu", shape, 0, numel(shape)};
        layers.push_back(l);
    };
    auto linear = [&](const std::string& name, int64_t out) {
        PlanLayer l;
        l.in = shape[0];
        l.out = out;
        shape = {out};
        l.info = {name, "linear", shape, l.in * out + out, 2 * l.in * out + out};
        layers.push_back(l);
    };
    auto flatten = [&]() {
        if (shape.size() == 1) return;
        PlanLayer l;
        shape = {numel(shape)};
        l.info = {"flatten", "flatten", shape, 0, 0};
        layers.push_back(l);
    };
    auto conv = [&](const std::string& name, int64_t out, int64_t k, int64_t pad) {
        const int64_t h = shape[1] + 2 * pad - k + 1, w = shape[2] + 2 * pad - k + 1;
        if (h < 1 || w < 1)
            throw std::invalid_argument("input " + shapeText(sample) + " is too small for " + name);
        PlanLayer l;
        l.in = shape[0];
        l.out = out;
        l.kernel = k;
        l.padding = pad;
        shape = {out, h, w};
        const int64_t macs = l.in * k * k * out * h * w;
        l.info = {name, "conv2d", shape, l.in * k * k * out + out, 2 * macs + out * h * w};
        layers.push_back(l);
    };
    auto pool = [&](const std::string& name) {
        if (shape[1] < 2 || shape[2] < 2)
            throw std::invalid_argument("input " + shapeText(sample) + " is too small for " + name);
        PlanLayer l;
        shape = {shape[0], shape[1] / 2, shape[2] / 2};
        l.info = {name, "maxpool2d", shape, 0, numel(shape) * 3};  // 3 comparisons per 2x2 window
        layers.push_back(l);
    };

    if (o.arch == Arch::Mlp) {
        flatten();
        for (size_t i = 0; i < o.hidden.size(); ++i) {
            linear("fc" + std::to_string(i + 1), o.hidden[i]);
            relu("relu" + std::to_string(i + 1));
        }
        linear("out", classes);
    } else if (o.arch == Arch::Cnn || o.arch == Arch::Lenet5) {
        if (sample.size() != 3)
            throw std::invalid_argument(std::string(choiceName(o.arch)) +
                                        " needs image input (channels x height x width), not " +
                                        shapeText(sample) + " (set data.shape for CSV data)");
        if (o.arch == Arch::Cnn) {
            for (size_t i = 0; i < o.channels.size(); ++i) {
                const std::string n = std::to_string(i + 1);
                conv("conv" + n, o.channels[i], 3, 1);
                relu("relu_c" + n);
                pool("pool" + n);
            }
            flatten();
            for (size_t i = 0; i < o.hidden.size(); ++i) {
                linear("fc" + std::to_string(i + 1), o.hidden[i]);
                relu("relu" + std::to_string(i + 1));
            }
        } else {  // LeNet-5 (LeCun et al. 1998) with ReLU and max pooling
            conv("conv1", 6, 5, 2);
            relu("relu_c1");
            pool("pool1");
            conv("conv2", 16, 5, 0);
            relu("relu_c2");
            pool("pool2");
            flatten();
            linear("fc1", 120);
            relu("relu1");
            linear("fc2", 84);
            relu("relu2");
        }
        linear("out", classes);
    } else {
        throw std::invalid_argument("unknown architecture " +
                                    std::to_string(static_cast<int>(o.arch)));
    }
    if (numel(shape) > (int64_t(1) << 40)) throw std::invalid_argument("model is absurdly large");
    return layers;
}

ModelSummary summarize(const std::vector<PlanLayer>& layers) {
    ModelSummary s;
    for (const auto& l : layers) {
        s.param_count += l.info.params;
        s.flops += l.info.flops;
        s.layers.push_back(l.info);
    }
    s.size_bytes = s.param_count * 4;
    return s;
}

}  // namespace

ModelSummary describeModel(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
                           int64_t classes) {
    return summarize(plan(options, sampleShape, options.classes > 0 ? options.classes : classes));
}

ZooNetImpl::ZooNetImpl(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
                       int64_t classes)
    : m_options(options),
      m_sampleShape(sampleShape),
      m_classes(options.classes > 0 ? options.classes : classes) {
    const auto layers = plan(options, sampleShape, m_classes);
    m_summary = summarize(layers);
    m_seq = torch::nn::Sequential();
    for (const auto& l : layers) {
        const auto& t = l.info.type;
        if (t == "linear")
            m_seq->push_back(std::string(l.info.name), torch::nn::Linear(l.in, l.out));
        else if (t == "conv2d")
            m_seq->push_back(
                std::string(l.info.name),
                torch::nn::Conv2d(
                    torch::nn::Conv2dOptions(l.in, l.out, l.kernel).padding(l.padding)));
        else if (t == "relu")
            m_seq->push_back(std::string(l.info.name), torch::nn::ReLU());
        else if (t == "maxpool2d")
            m_seq->push_back(std::string(l.info.name), torch::nn::MaxPool2d(2));
        else if (t == "flatten")
            m_seq->push_back(std::string(l.info.name), torch::nn::Flatten());
    }
    // Registered as "net": state-dict keys read "net.fc1.weight".
    register_module("net", m_seq);
}

torch::Tensor ZooNetImpl::forward(torch::Tensor x) {
    return m_seq->forward(x);
}

std::function<torch::Tensor(const torch::Tensor&)> frozenForward(ZooNet net) {
    const bool mkldnn =
        at::hasMKLDNN() && net->parameters().size() > 0 && net->parameters()[0].device().is_cpu();
    bool hasConv = false;
    for (const auto& m : net->layers()->children())
        hasConv |= m->as<torch::nn::Conv2d>() != nullptr;
    if (!mkldnn || !hasConv)
        return [net](const torch::Tensor& x) mutable { return net->forward(x); };

    // One step per layer; convolutions keep oneDNN-reordered weights.
    torch::NoGradGuard guard;
    std::vector<std::function<torch::Tensor(torch::Tensor)>> steps;
    bool blocked = false;  // is the activation a mkldnn tensor at this point?
    for (const auto& m : net->layers()->children()) {
        if (auto* conv = m->as<torch::nn::Conv2d>()) {
            const auto& o = conv->options;
            const std::vector<int64_t> pad = {
                c10::get<torch::ExpandingArray<2>>(o.padding())->at(0),
                c10::get<torch::ExpandingArray<2>>(o.padding())->at(1)};
            const std::vector<int64_t> stride = {o.stride()->at(0), o.stride()->at(1)},
                                       dil = {1, 1};
            auto w = at::mkldnn_reorder_conv2d_weight(
                conv->weight.detach().contiguous().to_mkldnn(), pad, stride, dil, 1);
            auto b = conv->bias.detach().contiguous().to_mkldnn();
            const bool convert = !blocked;
            steps.push_back([w, b, pad, stride, dil, convert](torch::Tensor x) {
                if (convert) x = x.contiguous().to_mkldnn();
                return at::mkldnn_convolution(x, w, b, pad, stride, dil, 1);
            });
            blocked = true;
        } else if (m->as<torch::nn::ReLU>()) {
            steps.push_back(
                [](torch::Tensor x) { return x.is_mkldnn() ? at::relu_(x) : torch::relu(x); });
        } else if (m->as<torch::nn::MaxPool2d>()) {
            steps.push_back([](torch::Tensor x) {
                return x.is_mkldnn()
                           ? at::mkldnn_max_pool2d(x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false)
                           : torch::max_pool2d(x, 2);
            });
        } else if (m->as<torch::nn::Flatten>()) {
            steps.push_back(
                [](torch::Tensor x) { return (x.is_mkldnn() ? x.to_dense() : x).flatten(1); });
            blocked = false;
        } else if (auto* lin = m->as<torch::nn::Linear>()) {
            auto w = lin->weight.detach(), b = lin->bias.detach();
            steps.push_back(
                [w, b](torch::Tensor x) { return torch::nn::functional::linear(x, w, b); });
        } else {
            return
                [net](const torch::Tensor& x) mutable { return net->forward(x); };  // unknown layer
        }
    }
    return [steps](const torch::Tensor& input) {
        torch::Tensor x = input;
        for (const auto& f : steps) x = f(x);
        return x.is_mkldnn() ? x.to_dense() : x;
    };
}

std::vector<std::pair<std::string, torch::Tensor>> compressibleWeights(torch::nn::Module& module) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    if (auto* zoo = dynamic_cast<ZooNetImpl*>(&module)) {
        // A zoo network says so per parameter: its graph's roles (weights of linear and conv
        // nodes; never biases, norms or embedding tables).
        auto named = module.named_parameters();
        const ModelGraph graph = modelGraph(*zoo);  // params() points into it
        for (const GraphParam* p : graph.params())
            if (p->compressible) out.emplace_back(p->name, *named.find(p->name));
        return out;
    }
    // Any other module: every weight of two or more dimensions.
    for (const auto& p : module.named_parameters()) {
        const std::string& k = p.key();
        if (k.size() > 7 && k.compare(k.size() - 7, 7, ".weight") == 0 && p.value().dim() >= 2)
            out.emplace_back(k, p.value());
    }
    return out;
}

void loadModule(torch::nn::Module& module, const std::string& bytes) {
    verifyArchive(bytes, "module state");
    torch::serialize::InputArchive archive;
    std::istringstream is(bytes);
    archive.load_from(is);
    module.load(archive);
}

torch::jit::Module loadTorchScript(const std::string& bytes, const std::string& what,
                                   torch::Device device) {
    verifyArchive(bytes, what);
    std::istringstream is(bytes);
    return torch::jit::load(is, device);
}

std::string serializeTensor(const torch::Tensor& t) {
    const std::vector<char> bytes = torch::pickle_save(t);
    return std::string(bytes.begin(), bytes.end());
}

torch::Tensor deserializeTensor(const std::string& bytes) {
    verifyArchive(bytes, "stored tensor");
    const c10::IValue value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    TORCH_CHECK(value.isTensor(), "the stored bytes are not one tensor");
    return value.toTensor();
}

}  // namespace retort
