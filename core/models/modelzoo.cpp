#include "models/modelzoo.h"

#include "models/modelgraph.h"

#include "models/archivecheck.h"

#include <algorithm>
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
    int64_t heads = 0, ffn = 0;  // transformer layer (in: width); embedding: in rows, out width
    int64_t headDim = 0;         // transformer layer: width of one head
};

int64_t numel(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t e : s) n *= e;
    return n;
}

std::vector<PlanLayer> textPlan(const ModelOptions& o, const DataShape& data, int64_t classes);

std::vector<PlanLayer> plan(const ModelOptions& o, const DataShape& data) {
    const int64_t classes = o.classes > 0 ? o.classes : data.classes;
    if (isTextArch(o.arch)) return textPlan(o, data, classes);
    const std::vector<int64_t>& sample = data.sample_shape;
    if (classes < 2) throw std::invalid_argument("needs at least 2 classes");
    if (data.vocab > 0)
        throw std::invalid_argument(std::string(choiceName(o.arch)) +
                                    " reads features, not token ids: use transformer, bilstm or "
                                    "embedding_bag for text");
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

/// The layers of a text model. T, the tokens FLOPs are counted at, is the data's mean tokens per
/// sample (max_length when unknown); P, the position table's rows, is max_length.
std::vector<PlanLayer> textPlan(const ModelOptions& o, const DataShape& data, int64_t classes) {
    if (classes < 2) throw std::invalid_argument("needs at least 2 classes");
    if (data.vocab < 4 || data.sample_shape.size() != 1)
        throw std::invalid_argument(std::string(choiceName(o.arch)) +
                                    " reads token ids: the data must be text (format text or "
                                    "wordnet)");
    const int64_t positions = data.sample_shape[0];
    const double tokens = data.mean_tokens > 0 ? data.mean_tokens : double(positions);
    const auto perToken = [&](double f) { return int64_t(std::llround(f * tokens)); };
    std::vector<PlanLayer> layers;
    auto embedding = [&](const std::string& name, int64_t rows, int64_t dim) {
        PlanLayer l;
        l.in = rows;
        l.out = dim;
        l.info = {name, "embedding", {positions, dim}, rows * dim, 0};
        layers.push_back(l);
    };
    auto linear = [&](const std::string& name, int64_t in, int64_t out) {
        PlanLayer l;
        l.in = in;
        l.out = out;
        l.info = {name, "linear", {out}, in * out + out, 2 * in * out + out};
        layers.push_back(l);
    };
    auto relu = [&](const std::string& name, int64_t width) {
        PlanLayer l;
        l.info = {name, "relu", {width}, 0, width};
        layers.push_back(l);
    };
    int64_t width = 0;
    if (data.language_model && o.arch != Arch::Transformer)
        throw std::invalid_argument("a language model is a causal transformer, not a " +
                                    std::string(choiceName(o.arch)));
    if (o.arch == Arch::Transformer) {
        const int64_t d = o.d_model;
        if (d < 1 || o.heads < 1 || d % o.heads != 0)
            throw std::invalid_argument("d_model " + std::to_string(d) +
                                        " is not divisible by heads " + std::to_string(o.heads));
        for (const auto* v : {&o.layer_heads, &o.layer_ffn})
            if (!v->empty() && int64_t(v->size()) != o.layers)
                throw std::invalid_argument("layer_heads and layer_ffn need one entry per layer (" +
                                            std::to_string(o.layers) + "), not " +
                                            std::to_string(v->size()));
        embedding("tok", data.vocab, d);
        embedding("pos", positions, d);
        const int64_t dh = d / o.heads;  // every head is as wide as in the unpruned layout
        for (int64_t i = 0; i < o.layers; ++i) {
            PlanLayer l;
            l.in = d;
            l.heads = o.headsOf(size_t(i));
            l.ffn = o.ffnOf(size_t(i));
            l.headDim = dh;
            if (l.heads < 1 || l.ffn < 1)
                throw std::invalid_argument("layer " + std::to_string(i + 1) +
                                            " needs at least one head and one ffn unit");
            const int64_t a = l.heads * dh, f = l.ffn;  // attention and feed-forward widths
            const int64_t params =
                2 * 2 * d + 3 * (d * a + a) + (a * d + d) + (d * f + f) + (f * d + d);
            // Projections and the feed-forward block per token; scores and the weighted sum of
            // values over every pair of tokens.
            const double flops = tokens * (3 * (2.0 * d * a + a) + (2.0 * a * d + d) +
                                           (2.0 * d * f + f) + (2.0 * f * d + d)) +
                                 2 * 2.0 * tokens * tokens * double(a);
            l.info = {"layer" + std::to_string(i + 1),
                      "transformer_layer",
                      {positions, d},
                      params,
                      int64_t(std::llround(flops))};
            layers.push_back(l);
        }
        PlanLayer norm;
        norm.in = d;
        norm.info = {"norm", "layernorm", {positions, d}, 2 * d, 0};
        layers.push_back(norm);
        width = d;
    } else if (o.arch == Arch::Bilstm) {
        embedding("tok", data.vocab, o.embedding);
        std::vector<int64_t> hidden =
            o.hidden.empty() ? std::vector<int64_t>{o.embedding} : o.hidden;
        int64_t in = o.embedding;
        for (size_t i = 0; i < hidden.size(); ++i) {
            const int64_t h = hidden[i];
            PlanLayer l;
            l.in = in;
            l.out = h;
            // Per direction: four gates of [in + h] -> h, two bias vectors.
            const int64_t params = 2 * (4 * h * (in + h) + 8 * h);
            l.info = {"lstm" + std::to_string(i + 1),
                      "lstm",
                      {positions, 2 * h},
                      params,
                      perToken(2.0 * (2.0 * 4 * h * (in + h) + 8 * h))};
            layers.push_back(l);
            in = 2 * h;
        }
        width = in;
    } else {  // embedding_bag: the fastText-style floor
        embedding("tok", data.vocab, o.embedding);
        width = o.embedding;
        for (size_t i = 0; i < o.hidden.size(); ++i) {
            linear("fc" + std::to_string(i + 1), width, o.hidden[i]);
            relu("relu" + std::to_string(i + 1), o.hidden[i]);
            width = o.hidden[i];
        }
    }
    linear("out", width, classes);
    if (data.language_model) {  // the next token's logits at every position
        PlanLayer& out = layers.back();
        out.info.out_shape = {positions, classes};
        out.info.flops = perToken(2.0 * double(width) * double(classes) + double(classes));
        if (o.tie_embeddings) {  // the token table transposed: only the bias is its own
            out.info.type = "tied_linear";
            out.info.params = classes;
        }
    }
    return layers;
}

ModelSummary summarize(const std::vector<PlanLayer>& layers) {
    ModelSummary s;
    for (const auto& l : layers) {
        s.param_count += l.info.params;
        s.flops += l.info.flops;
        if (l.info.type == "embedding") s.embedding_params += l.info.params;
        s.layers.push_back(l.info);
    }
    s.size_bytes = s.param_count * 4;
    return s;
}

}  // namespace

ModelSummary describeModel(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
                           int64_t classes) {
    DataShape data;
    data.sample_shape = sampleShape;
    data.classes = classes;
    return describeModel(options, data);
}

ModelSummary describeModel(const ModelOptions& options, const DataShape& data) {
    return summarize(plan(options, data));
}

ZooNetImpl::ZooNetImpl(const ModelOptions& options, const std::vector<int64_t>& sampleShape,
                       int64_t classes)
    : ZooNetImpl(options, DataShape{sampleShape, classes, 0, 0}) {}

ZooNetImpl::ZooNetImpl(const ModelOptions& options, const DataShape& data)
    : m_options(options),
      m_sampleShape(data.sample_shape),
      m_classes(options.classes > 0 ? options.classes : data.classes),
      m_data(data) {
    const auto layers = plan(options, data);
    m_summary = summarize(layers);
    m_seq = torch::nn::Sequential();
    const bool text = isTextArch(options.arch);
    for (const auto& l : layers) {
        const auto& t = l.info.type;
        if (t == "tied_linear") {
            m_tied = TiedOutput(l.out);
            m_seq->push_back(std::string(l.info.name), m_tied);
        } else if (t == "linear" && text) {
            torch::nn::Linear lin(l.in, l.out);
            m_head.push_back(lin);
            m_seq->push_back(std::string(l.info.name), lin);
        } else if (t == "embedding") {
            torch::nn::Embedding e(l.in, l.out);
            // Small initial embeddings (BERT's 0.02) keep the first steps of a pre-norm
            // Transformer and an LSTM well scaled; N(0, 1) rows swamp the position table.
            torch::NoGradGuard g;
            e->weight.normal_(0.0, 0.02);
            (l.info.name == "pos" ? m_pos : m_tok) = e;
            m_seq->push_back(std::string(l.info.name), e);
        } else if (t == "transformer_layer") {
            TransformerLayer b(l.in, l.heads, l.ffn, options.dropout, l.headDim);
            m_blocks.push_back(b);
            m_seq->push_back(std::string(l.info.name), b);
        } else if (t == "layernorm") {
            m_norm = torch::nn::LayerNorm(torch::nn::LayerNormOptions({l.in}));
            m_seq->push_back(std::string(l.info.name), m_norm);
        } else if (t == "lstm") {
            torch::nn::LSTM lstm(
                torch::nn::LSTMOptions(l.in, l.out).batch_first(true).bidirectional(true));
            m_lstms.push_back(lstm);
            m_seq->push_back(std::string(l.info.name), lstm);
        } else if (t == "linear")
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
    // A language model's layers attend to the past only.
    for (auto& block : m_blocks) block->attn->causal = data.language_model;
    // Registered as "net": state-dict keys read "net.fc1.weight".
    register_module("net", m_seq);
}

torch::Tensor ZooNetImpl::forward(torch::Tensor x) {
    if (isText()) return forwardText(x, nullptr);
    return m_seq->forward(x);
}

void ZooNetImpl::addLora(const LoraSettings& settings) {
    if (m_options.arch != Arch::Transformer)
        throw std::invalid_argument("LoRA adapters need a transformer, not a " +
                                    std::string(choiceName(m_options.arch)));
    for (auto& block : m_blocks) block->addLora(settings);
}

void ZooNetImpl::mergeLora() {
    for (auto& block : m_blocks) block->mergeLora();
}

std::vector<torch::Tensor> ZooNetImpl::loraParameters() {
    std::vector<torch::Tensor> out;
    for (auto& block : m_blocks)
        for (auto& p : block->loraParameters()) out.push_back(p);
    return out;
}

namespace {

torch::Tensor pooledStates(const torch::Tensor& h, const torch::Tensor& ids, Arch arch,
                           Pooling pooling) {
    const auto real = ids.ne(0);
    if (arch == Arch::Transformer)
        return pooling == Pooling::First ? h.select(1, 0) : maskedMean(h, real);
    if (arch == Arch::Bilstm) return maskedMax(h, real);
    return maskedMean(h, real);
}

}  // namespace

torch::Tensor ZooNetImpl::forwardText(const torch::Tensor& ids, TextFeatures* features) {
    const auto h = tokenStates(ids, features);
    if (m_data.language_model)  // [B, L, vocab]
        return m_tied ? m_tied(h, m_tok->weight) : m_head.back()(h);
    torch::Tensor pooled = pooledStates(h, ids, m_options.arch, m_options.pooling);
    if (m_headMean.defined()) pooled = (pooled - m_headMean) / m_headStd;
    for (size_t i = 0; i + 1 < m_head.size(); ++i) pooled = torch::relu(m_head[i](pooled));
    return m_head.back()(pooled);
}

torch::Tensor ZooNetImpl::pooledFeatures(const torch::Tensor& ids) {
    TORCH_CHECK(isText() && !m_data.language_model, "pooled features need a text classifier");
    return pooledStates(tokenStates(ids), ids, m_options.arch, m_options.pooling);
}

void ZooNetImpl::standardizeHead(const torch::Tensor& mean, const torch::Tensor& std) {
    TORCH_CHECK(!m_head.empty() && mean.dim() == 1 && mean.sizes() == std.sizes() &&
                    mean.size(0) == m_head.front()->weight.size(1),
                "the head's standardization must have one mean and std per pooled feature");
    m_headMean = mean.detach().clone();
    m_headStd = std.detach().clamp_min(1e-6);
}

void ZooNetImpl::foldHeadStandardization() {
    if (!m_headMean.defined()) return;
    torch::NoGradGuard guard;
    auto& first = m_head.front();
    first->weight.div_(m_headStd.unsqueeze(0));
    first->bias.sub_(first->weight.matmul(m_headMean));
    m_headMean = m_headStd = torch::Tensor();
}

torch::Tensor ZooNetImpl::tokenStates(const torch::Tensor& ids, TextFeatures* features) {
    TORCH_CHECK(ids.dim() == 2 && !ids.is_floating_point(),
                "a text model takes token ids [batch, tokens], not ", ids.sizes(), " ",
                ids.scalar_type());
    TORCH_CHECK(ids.size(1) <= m_sampleShape[0], "a sample has ", ids.size(1),
                " tokens, more than the model's ", m_sampleShape[0]);
    const auto real = ids.ne(0);
    const double p = is_training() ? m_options.dropout : 0.0;
    torch::Tensor h = m_tok(ids);
    if (m_options.arch == Arch::Transformer) {
        const auto positions = torch::arange(ids.size(1), ids.options());
        h = torch::dropout(h + m_pos(positions).unsqueeze(0), p, is_training());
        for (auto& block : m_blocks) {
            torch::Tensor probs;
            h = block->forward(h, real, features ? &probs : nullptr);
            if (features) {
                features->hidden.push_back(h);
                features->attention.push_back(probs);
            }
        }
        h = m_norm(h);
    } else if (m_options.arch == Arch::Bilstm) {
        h = torch::dropout(h, p, is_training());
        for (auto& lstm : m_lstms) {
            h = torch::dropout(packedLstm(lstm, h, real), p, is_training());
            if (features) features->hidden.push_back(h);
        }
    }
    return h;
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

std::string layerName(const std::string& parameter) {
    std::string s = parameter;
    if (s.rfind("net.", 0) == 0) s = s.substr(4);
    const std::string suffix = ".weight";
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
        s.resize(s.size() - suffix.size());
    return s;
}

void checkNames(const std::vector<std::string>& names, const std::vector<std::string>& layers,
                const std::string& key) {
    std::string known;
    for (const auto& l : layers) known += (known.empty() ? "" : ", ") + l;
    for (const auto& n : names)
        if (std::find(layers.begin(), layers.end(), n) == layers.end())
            throw std::invalid_argument(key + "." + n + ": '" + n +
                                        "' is not a layer of the model (its layers: " + known +
                                        ")");
}

void checkLayerNames(const std::vector<std::string>& names,
                     const std::vector<std::pair<std::string, torch::Tensor>>& weights,
                     const std::string& key) {
    std::vector<std::string> layers;
    for (const auto& w : weights) layers.push_back(layerName(w.first));
    checkNames(names, layers, key);
}

void loadModule(torch::nn::Module& module, const std::string& bytes) {
    verifyArchive(bytes, "module state");
    torch::serialize::InputArchive archive;
    std::istringstream is(bytes);
    archive.load_from(is);
    std::vector<std::pair<std::string, torch::Tensor>> before;
    for (const auto& p : module.named_parameters()) before.push_back({p.key(), p.value()});
    for (const auto& b : module.named_buffers()) before.push_back({b.key(), b.value()});
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& [name, t] : before) shapes.push_back(t.sizes().vec());
    module.load(archive);
    for (size_t i = 0; i < before.size(); ++i)
        if (before[i].second.sizes().vec() != shapes[i]) {
            auto text = [](const std::vector<int64_t>& v) {
                std::string s = "[";
                for (size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + std::to_string(v[k]);
                return s + "]";
            };
            throw std::runtime_error("stored weights do not fit the model: '" + before[i].first +
                                     "' is stored as " + text(before[i].second.sizes().vec()) +
                                     ", the model has " + text(shapes[i]));
        }
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
