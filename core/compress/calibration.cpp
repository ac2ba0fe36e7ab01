#include "compress/calibration.h"

#include "data/dataset.h"

#include <algorithm>
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

/// (2 / N) XᵀX over rows [N, in] given chunk by chunk, in float64.
struct Gram {
    torch::Tensor h;
    int64_t rows = 0;
    void add(const torch::Tensor& r) {
        const auto x = r.reshape({-1, r.size(-1)}).to(torch::kFloat64);
        h = h.defined() ? h.addmm_(x.t(), x) : x.t().matmul(x);
        rows += x.size(0);
    }
    torch::Tensor hessian() const { return h * (2.0 / double(std::max<int64_t>(1, rows))); }
};

/// The text walk (transformer, embedding_bag): the forward pass of ZooNetImpl::forwardText in
/// evaluation mode, one compressible layer at a time.
torch::Tensor walkText(ZooNet& net, const torch::Tensor& samples,
                       const std::function<void(LayerCalibration&)>& visit,
                       const std::function<bool()>& cancelled) {
    const Arch arch = net->options().arch;
    if (arch == Arch::Bilstm)
        throw std::invalid_argument(
            "calibrated compression (wanda, sparsegpt, gptq) walks transformers and embedding "
            "bags; a bilstm's recurrent weights are not walked yet");
    const torch::Tensor ids = trimPadding(samples);  // columns of padding only add nothing
    const torch::Tensor real = ids.ne(0);
    auto visitWeight = [&](const std::string& name, const torch::Tensor& weight, const Gram* gram) {
        LayerCalibration c;
        c.name = name;
        c.weight = weight;
        if (gram) {
            c.hessian = gram->hessian();
            c.rows = gram->rows;
        }
        visit(c);
    };
    // The rows a token-wise layer reads: the real tokens' states [R, width].
    auto tokens = [&](const torch::Tensor& x) { return x.index({real}); };
    // A language model's output reads every real token's state (it predicts the next token
    // there), not a pooled one.
    const bool languageModel = net->dataShape().language_model;
    torch::Tensor h, pooled;
    for (const auto& child : net->layers()->named_children()) {
        if (cancelled && cancelled()) break;
        const std::string& key = child.key();
        const std::string p = "net." + key + ".";
        torch::nn::Module& m = *child.value();
        if (auto* e = m.as<torch::nn::EmbeddingImpl>()) {
            if (key == "pos") {
                h = h + e->forward(torch::arange(ids.size(1), ids.options())).unsqueeze(0);
            } else {
                visitWeight(p + "weight", e->weight, nullptr);
                h = e->forward(ids);
            }
        } else if (auto* b = m.as<TransformerLayerImpl>()) {
            const auto a = b->ln1(h);
            Gram in;
            in.add(tokens(a));
            for (auto& [which, lin] : {std::pair{"q", b->attn->q}, std::pair{"k", b->attn->k},
                                       std::pair{"v", b->attn->v}})
                visitWeight(p + "attn." + which + ".weight", lin->weight, &in);
            const auto ctx = b->attn->context(a, real);
            Gram heads;
            heads.add(tokens(ctx));
            visitWeight(p + "attn.o.weight", b->attn->o->weight, &heads);
            h = h + b->attn->o(ctx);
            const auto c = b->ln2(h);
            Gram ffIn;
            ffIn.add(tokens(c));
            visitWeight(p + "ff1.weight", b->ff1->weight, &ffIn);
            const auto g = torch::gelu(b->ff1(c));
            Gram ffMid;
            ffMid.add(tokens(g));
            visitWeight(p + "ff2.weight", b->ff2->weight, &ffMid);
            h = h + b->ff2(g);
        } else if (auto* ln = m.as<torch::nn::LayerNormImpl>()) {
            h = ln->forward(h);
        } else if (auto* out = m.as<torch::nn::LinearImpl>(); out && languageModel) {
            Gram in;
            in.add(tokens(h));
            visitWeight(p + "weight", out->weight, &in);
            pooled = h;  // the final states, not [B, L, vocab] logits (see calibrateLayers)
        } else if (m.as<TiedOutputImpl>()) {
            // Tied to the token table, visited (without activations) as the embedding above.
            pooled = h;
        } else if (auto* lin = m.as<torch::nn::LinearImpl>()) {
            if (!pooled.defined())
                pooled = arch == Arch::Transformer && net->options().pooling == Pooling::First
                             ? h.select(1, 0)
                             : maskedMean(h, real);
            Gram in;
            in.add(pooled);
            visitWeight(p + "weight", lin->weight, &in);
            pooled = lin->forward(pooled);
        } else if (m.as<torch::nn::ReLUImpl>()) {
            pooled = torch::relu(pooled);
        } else {
            throw std::invalid_argument("the calibration walk does not know layer " + key);
        }
    }
    return pooled;
}

}  // namespace

torch::Tensor calibrationIndices(int64_t n, int64_t count, uint64_t seed) {
    if (count <= 0 || count >= n) return torch::arange(n, torch::kLong);
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randperm(n, gen, torch::kLong).slice(0, 0, count);
}

torch::Tensor calibrateLayers(ZooNet& net, const torch::Tensor& samples,
                              const std::function<void(LayerCalibration&)>& visit,
                              const std::function<bool()>& cancelled) {
    torch::NoGradGuard guard;
    const bool wasTraining = net->is_training();
    net->eval();
    if (net->isText()) {
        torch::Tensor logits;
        try {
            logits = walkText(net, samples, visit, cancelled);
        } catch (...) {
            if (wasTraining) net->train();
            throw;
        }
        if (wasTraining) net->train();
        return logits;
    }
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
    return x;
}

}  // namespace retort
