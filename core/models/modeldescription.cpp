#include "models/modeldescription.h"

#include "models/compressedmodel.h"
#include "models/modelgraph.h"

#include <cmath>
#include <map>
#include <set>

namespace retort {

Json modelDescription(const ZooNet& net) {
    const ModelOptions& o = net->options();
    Json options = {{"arch", o.arch}, {"hidden", o.hidden}, {"channels", o.channels}};
    Json d = {{"model", options}, {"input_shape", net->sampleShape()}, {"classes", net->classes()}};
    if (net->isText()) {
        // What builds the same text model: its own options and the tokenizer's vocabulary;
        // the mean tokens per sample reproduce its FLOPs.
        Json& m = d["model"];
        if (o.arch == Arch::Transformer) {
            m.erase("hidden");
            m.update({{"layers", o.layers},
                      {"d_model", o.d_model},
                      {"heads", o.heads},
                      {"ffn", o.ffn},
                      {"pooling", o.pooling}});
            // What structured pruning left of each layer (absent when every layer is uniform).
            if (!o.layer_heads.empty()) m["layer_heads"] = o.layer_heads;
            if (!o.layer_ffn.empty()) m["layer_ffn"] = o.layer_ffn;
        } else {
            m["embedding"] = o.embedding;
        }
        m.erase("channels");
        m["dropout"] = o.dropout;
        d["vocab"] = net->vocab();
        if (net->dataShape().language_model) d["language_model"] = true;
        if (net->dataShape().language_model && o.tie_embeddings) m["tie_embeddings"] = true;
        d["mean_tokens"] = net->dataShape().mean_tokens;
    }
    return d;
}

namespace {

/// Every tensor of a model of @p model as the compressed file stores it: compressible weights at
/// their layer's own sparsity and bits where given, group-wise and n:m layouts as given.
int64_t estimateFor(const ModelOptions& model, const DataShape& data, double sparsity, int bits,
                    bool perChannel, const std::map<std::string, double>& layerSparsity,
                    const std::map<std::string, int64_t>& layerBits, int64_t groupSize = 0,
                    int nmN = 0, int nmM = 0) {
    torch::NoGradGuard guard;
    ZooNet net(model, data);
    std::vector<TensorLayout> tensors;
    std::set<std::string> compressible;
    for (const auto& [name, w] : compressibleWeights(*net)) compressible.insert(name);
    for (const auto& p : net->named_parameters()) {
        TensorLayout t{p.key(), p.value().sizes().vec(), compressible.count(p.key()) > 0};
        const std::string layer = layerName(p.key());
        if (auto it = layerSparsity.find(layer); it != layerSparsity.end()) t.sparsity = it->second;
        if (auto it = layerBits.find(layer); it != layerBits.end()) t.bits = int(it->second);
        t.groupSize = groupSize;
        t.nmN = nmN;
        t.nmM = nmM;
        tensors.push_back(t);
    }
    for (const auto& b : net->named_buffers())
        tensors.push_back({b.key(), b.value().sizes().vec(), false});
    return estimateCompressedSize(modelDescription(net).dump().size(), tensors, sparsity, bits,
                                  perChannel);
}

/// What a fraction @p removed of @p units leaves: at least one.
int64_t kept(int64_t units, double removed) {
    return std::max<int64_t>(1, units - int64_t(std::llround(removed * double(units))));
}

}  // namespace

int64_t expectedCompressedSize(const ModelOptions& model, const DataShape& data, double sparsity,
                               int bits, bool perChannel,
                               const std::map<std::string, double>& layerSparsity,
                               const std::map<std::string, int64_t>& layerBits) {
    return estimateFor(model, data, sparsity, bits, perChannel, layerSparsity, layerBits);
}

int64_t expectedCompressedSize(const ExperimentSpec& spec, const DataShape& data) {
    ModelOptions model = spec.student;
    double sparsity = 0;
    int nmN = 0, nmM = 0;
    std::map<std::string, double> layerSparsity;
    if (spec.prune) {
        const PruneOptions& p = *spec.prune;
        const double s = p.sparsity;
        switch (p.structure) {
            case PruneStructure::Unstructured:
                sparsity = s;
                layerSparsity = p.per_layer;
                break;
            case PruneStructure::NM:
                nmN = int(p.n);
                nmM = int(p.m);
                break;
            case PruneStructure::Neurons:
                // The rebuilt model: every hidden layer (an LSTM's units too) keeps its share.
                for (auto& h : model.hidden) h = kept(h, s);
                break;
            case PruneStructure::Channels:
                for (auto& c : model.channels) c = kept(c, s);
                break;
            case PruneStructure::Heads:
                model.layer_heads.clear();
                for (int64_t l = 0; l < model.layers; ++l)
                    model.layer_heads.push_back(kept(spec.student.headsOf(size_t(l)), s));
                break;
            case PruneStructure::Ffn:
                model.layer_ffn.clear();
                for (int64_t l = 0; l < model.layers; ++l)
                    model.layer_ffn.push_back(kept(spec.student.ffnOf(size_t(l)), s));
                break;
        }
    }
    const int bits = spec.quantize ? int(spec.quantize->bits) : 32;
    const bool perChannel =
        !spec.quantize || spec.quantize->granularity == QuantGranularity::PerChannel;
    const int64_t group = spec.quantize ? spec.quantize->group_size : 0;
    return estimateFor(model, data, sparsity, bits, perChannel, layerSparsity,
                       spec.quantize ? spec.quantize->per_layer : std::map<std::string, int64_t>{},
                       group, nmN, nmM);
}

namespace {

/// A model description read back: what ZooNet's constructor and describeModel take.
struct Described {
    ModelOptions options;
    std::vector<int64_t> inputShape;
    int64_t classes = 0;
    DataShape data;  ///< input shape, classes, vocabulary and mean tokens
};

Described parseDescription(const Json& d) {
    try {
        Described r;
        const Json& m = d.at("model");
        r.options.arch = m.at("arch").get<Arch>();  // an unknown name throws invalid_argument
        r.options.hidden = m.value("hidden", std::vector<int64_t>{});
        r.options.channels = m.value("channels", std::vector<int64_t>{});
        const ModelOptions defaults;
        r.options.embedding = m.value("embedding", defaults.embedding);
        r.options.layers = m.value("layers", defaults.layers);
        r.options.d_model = m.value("d_model", defaults.d_model);
        r.options.heads = m.value("heads", defaults.heads);
        r.options.ffn = m.value("ffn", defaults.ffn);
        r.options.dropout = m.value("dropout", defaults.dropout);
        if (m.contains("pooling")) r.options.pooling = m.at("pooling").get<Pooling>();
        r.options.tie_embeddings = m.value("tie_embeddings", false);
        r.options.layer_heads = m.value("layer_heads", std::vector<int64_t>{});
        r.options.layer_ffn = m.value("layer_ffn", std::vector<int64_t>{});
        for (const auto* v :
             {&r.options.layer_heads, &r.options.layer_ffn, &r.options.hidden, &r.options.channels})
            for (int64_t e : *v)
                if (e < 1 || e > (int64_t(1) << 20))
                    throw FormatError("invalid model description: a width out of range");
        r.inputShape = d.at("input_shape").get<std::vector<int64_t>>();
        r.classes = d.at("classes").get<int64_t>();
        r.data = {r.inputShape, r.classes, d.value("vocab", int64_t(0)),
                  d.value("mean_tokens", 0.0)};
        r.data.language_model = d.value("language_model", false);
        for (int64_t v : {r.options.embedding, r.options.layers, r.options.d_model, r.options.heads,
                          r.options.ffn, r.data.vocab})
            if (v < 0 || v > (int64_t(1) << 20))
                throw FormatError("invalid model description: a size out of range");
        return r;
    } catch (const Json::exception& e) {
        throw FormatError(std::string("invalid model description: ") + e.what());
    } catch (const std::invalid_argument& e) {
        throw FormatError(std::string("invalid model description: model.arch ") + e.what());
    }
}

}  // namespace

ZooNet buildFromDescription(const Json& d) {
    const Described m = parseDescription(d);
    try {
        return ZooNet(m.options, m.data);
    } catch (const std::invalid_argument& e) {
        throw FormatError(std::string("invalid model description: ") + e.what());
    }
}

ZooNet loadCompressedModel(const std::string& bytes) {
    CompressedModel cm = readCompressedModel(bytes);
    // The description must account for exactly the tensors in the file before anything is
    // allocated for it (a crafted description could otherwise ask for any size).
    int64_t stored = 0;
    for (const auto& t : cm.tensors) stored += t.values.numel();
    const Described m = parseDescription(cm.model);
    int64_t described = 0;
    try {
        described = describeModel(m.options, m.data).param_count;
    } catch (const std::invalid_argument& e) {
        throw FormatError(std::string("invalid model description: ") + e.what());
    }
    if (described != stored)
        throw FormatError("the model description has " + std::to_string(described) +
                          " parameters, the file stores " + std::to_string(stored));
    ZooNet net = buildFromDescription(cm.model);
    // Only what the graph calls compressible may be stored quantized: a quantized bias or norm
    // is a file no writer of this format makes.
    std::map<std::string, const GraphParam*> roles;
    const ModelGraph graph = modelGraph(*net);
    for (const GraphParam* p : graph.params()) roles[p->name] = p;
    for (const auto& t : cm.tensors) {
        const auto it = roles.find(t.name);
        if (it != roles.end() && t.bits != 32 && !it->second->compressible)
            throw FormatError("tensor '" + t.name + "' is stored at " + std::to_string(t.bits) +
                              " bits, but it is a " + toString(it->second->role) +
                              ", which is not compressed");
    }
    torch::NoGradGuard guard;
    auto params = net->named_parameters();
    auto buffers = net->named_buffers();
    size_t matched = 0;
    for (const auto& t : cm.tensors) {
        torch::Tensor* target = params.find(t.name);
        if (!target) target = buffers.find(t.name);
        if (!target)
            throw FormatError("the file has a tensor '" + t.name + "' the model does not have");
        if (target->sizes().vec() != t.shape)
            throw FormatError("tensor '" + t.name + "' has the wrong shape");
        target->copy_(t.dequantized());
        ++matched;
    }
    if (matched != params.size() + buffers.size())
        throw FormatError("the file lacks some of the model's tensors");
    net->eval();
    return net;
}

}  // namespace retort
