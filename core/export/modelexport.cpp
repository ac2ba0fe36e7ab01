#include "export/modelexport.h"

#include "data/tokenizer.h"
#include "export/dataexport.h"
#include "models/modelgraph.h"
#include "models/modelzoo.h"
#include "store/projectstore.h"
#include "train/environment.h"
#include "train/runner.h"

#include <torch/serialize.h>

#ifdef RETORT_HAVE_ONNX
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#endif

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace retort {

namespace {

constexpr const char* kPrefix = "net.";  // ZooNet's state-dict keys: "net.<layer>.<tensor>"

std::map<std::string, const CompressedTensor*> tensorsByName(const CompressedModel& model) {
    std::map<std::string, const CompressedTensor*> byName;
    for (const auto& t : model.tensors) byName[t.name] = &t;
    return byName;
}

const CompressedTensor& tensorOf(const std::map<std::string, const CompressedTensor*>& byName,
                                 const std::string& layer, const std::string& what) {
    auto it = byName.find(kPrefix + layer + "." + what);
    if (it == byName.end()) throw FormatError("the model has no tensor for " + layer + "." + what);
    return *it->second;
}

}  // namespace

Json layerList(const Json& description) {
    return graphFromDescription(description).toJson()["nodes"];
}

bool onnxSupported() {
#ifdef RETORT_HAVE_ONNX
    return true;
#else
    return false;
#endif
}

#ifdef RETORT_HAVE_ONNX
namespace {

void setTensor(onnx::TensorProto* t, const std::string& name, const torch::Tensor& value) {
    auto v = value.contiguous();
    t->set_name(name);
    for (int64_t d : v.sizes()) t->add_dims(d);
    if (v.scalar_type() == torch::kFloat32) {
        t->set_data_type(onnx::TensorProto::FLOAT);
    } else if (v.scalar_type() == torch::kInt8) {
        t->set_data_type(onnx::TensorProto::INT8);
    } else {
        throw std::logic_error("unexpected tensor type for " + name);
    }
    t->set_raw_data(std::string(static_cast<const char*>(v.data_ptr()), v.nbytes()));
}

onnx::NodeProto* addNode(onnx::GraphProto* g, const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
}

void addInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
}

void addInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
}

void setValueInfo(onnx::ValueInfoProto* v, const std::string& name,
                  const std::vector<int64_t>& sampleShape) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (int64_t d : sampleShape) shape->add_dim()->set_dim_value(d);
}

/// Adds a weight as an initializer; quantized ones as int8 codes, scale and zero point feeding
/// a DequantizeLinear node (per-channel along axis 0 when there is one scale per row).
/// Returns the name of the float weight the layer reads.
std::string addWeight(onnx::GraphProto* g, const std::string& layer, const CompressedTensor& t,
                      bool floatWeights) {
    const std::string name = layer + ".weight";
    if (t.bits == 32 || floatWeights) {
        setTensor(g->add_initializer(), name, t.dequantized());
        return name;
    }
    setTensor(g->add_initializer(), name + "_quantized", t.values.to(torch::kInt8));
    const bool perChannel = t.scales.numel() > 1;
    auto scale = perChannel ? t.scales.flatten() : t.scales.reshape({});
    setTensor(g->add_initializer(), name + "_scale", scale.to(torch::kFloat32));
    setTensor(g->add_initializer(), name + "_zero_point", torch::zeros_like(scale, torch::kInt8));
    auto* n = addNode(g, "DequantizeLinear", layer + "_dequantize",
                      {name + "_quantized", name + "_scale", name + "_zero_point"}, name);
    if (perChannel) addInt(n, "axis", 0);
    return name;
}

/// Writes the nodes of a text model's graph (token ids in, logits out) beside the helpers
/// above. Every value it makes is named after its node, so a node's inputs are found by name as
/// in the image path. Padding (id 0) is masked the way LibTorch's forward masks it: an additive
/// -1e9 on attention scores and before max-pooling (exp and max then ignore padding as -inf
/// does), a 0/1 weight for mean-pooling, sequence_lens for the LSTM.
class TextGraphWriter {
public:
    TextGraphWriter(onnx::GraphProto* g, const std::map<std::string, const CompressedTensor*>& w,
                    bool floatWeights)
        : m_g(g), m_byName(w), m_float(floatWeights) {}

    /// A constant initializer (added once): int64 or float values of @p shape.
    std::string ints(const std::string& name, const std::vector<int64_t>& v,
                     std::vector<int64_t> shape = {-1}) {
        if (m_constants.insert(name).second) {
            auto t = torch::tensor(v, torch::kInt64);
            setInt64(m_g->add_initializer(), name,
                     shape == std::vector<int64_t>{} ? t.reshape({}) : t.reshape(shape));
        }
        return name;
    }
    std::string scalar(const std::string& name, float v) {
        if (m_constants.insert(name).second)
            setTensor(m_g->add_initializer(), name, torch::tensor(v).reshape({}));
        return name;
    }

    /// The derived values of the token ids that nodes share, made on first use: "real_f"
    /// [B, L] 1/0, "pad_bias" [B, L] 0/-1e9, "lengths" [B] int32, "tokens" [1] (L),
    /// "causal_bias" [L, L] 0 on and below the diagonal, -1e9 above (sliced from a table of
    /// the context's size, setContext).
    std::string shared(const std::string& what) {
        if (m_shared.count(what)) return what;
        m_shared.insert(what);
        if (what == "real") {
            addNode(m_g, "Equal", "is_padding", {kIds, ints("c_zero", {0}, {})}, "is_padding");
            addNode(m_g, "Not", "real", {"is_padding"}, "real");
        } else if (what == "real_f") {
            addInt(addNode(m_g, "Cast", "real_f", {shared("real")}, "real_f"), "to",
                   onnx::TensorProto::FLOAT);
        } else if (what == "pad_bias") {
            addNode(m_g, "Sub", "pad_minus", {shared("real_f"), scalar("c_one_f", 1.f)},
                    "pad_minus");
            addNode(m_g, "Mul", "pad_bias", {"pad_minus", scalar("c_big_f", 1e9f)}, "pad_bias");
        } else if (what == "lengths") {
            addInt(addNode(m_g, "Cast", "real_i32", {shared("real")}, "real_i32"), "to",
                   onnx::TensorProto::INT32);
            addInt(
                addNode(m_g, "ReduceSum", "lengths", {"real_i32", ints("c_axis1", {1})}, "lengths"),
                "keepdims", 0);
        } else if (what == "tokens") {
            addNode(m_g, "Shape", "ids_shape", {kIds}, "ids_shape");
            addNode(m_g, "Slice", "tokens",
                    {"ids_shape", ints("c_axis1", {1}), ints("c_two", {2}), ints("c_zero1", {0})},
                    "tokens");
        } else if (what == "causal_bias") {
            if (m_context < 1) throw std::logic_error("a causal graph needs its context length");
            const auto table = torch::ones({m_context, m_context}, torch::kFloat32).triu(1) * -1e9f;
            setTensor(m_g->add_initializer(), "causal_table", table);
            addInt(
                addNode(m_g, "Concat", "causal_ends", {shared("tokens"), "tokens"}, "causal_ends"),
                "axis", 0);
            addNode(
                m_g, "Slice", "causal_bias",
                {"causal_table", ints("c_zero2", {0, 0}), "causal_ends", ints("c_axes01", {0, 1})},
                "causal_bias");
        } else {
            throw std::logic_error("unknown shared text value " + what);
        }
        return what;
    }

    /// y = x Wᵀ + b over the last axis of a [B, L, in] or [B, in] input. @p tiedTo: the
    /// embedding whose table is W (a tied language-model output), written once by embedding().
    void linear(const std::string& layer, const std::string& in, const std::string& out,
                const std::string& tiedTo = {}) {
        const std::string w = tiedTo.empty()
                                  ? addWeight(m_g, layer, tensor(layer, "weight"), m_float)
                                  : tiedTo + ".weight";
        setTensor(m_g->add_initializer(), layer + ".bias", tensor(layer, "bias").dequantized());
        addInts(addNode(m_g, "Transpose", layer + "_t", {w}, layer + ".weight_t"), "perm", {1, 0});
        addNode(m_g, "MatMul", layer + "_matmul", {in, layer + ".weight_t"}, layer + "_mm");
        addNode(m_g, "Add", layer, {layer + "_mm", layer + ".bias"}, out);
    }

    void embedding(const GraphNode& n, const std::string& out) {
        const std::string w = addWeight(m_g, n.name, tensor(n.name, "weight"), m_float);
        if (n.attrs.value("mode", "") == "position") {  // rows 0 .. L-1, added to every sample
            addNode(m_g, "Slice", n.name,
                    {w, ints("c_zero1", {0}), shared("tokens"), ints("c_zero1", {0})}, out);
        } else {
            addInt(addNode(m_g, "Gather", n.name, {w, kIds}, out), "axis", 0);
        }
    }

    /// Layer normalization over the last axis (opset 13 has no LayerNormalization), eps 1e-5
    /// as LibTorch's LayerNorm.
    void layerNorm(const std::string& name, const std::string& in, const std::string& out) {
        auto mean = [&](const std::string& x, const std::string& y) {
            addInts(addNode(m_g, "ReduceMean", y, {x}, y), "axes", {-1});
        };
        mean(in, name + "_mean");
        addNode(m_g, "Sub", name + "_centered", {in, name + "_mean"}, name + "_centered");
        addNode(m_g, "Mul", name + "_sq", {name + "_centered", name + "_centered"}, name + "_sq");
        mean(name + "_sq", name + "_var");
        addNode(m_g, "Add", name + "_var_eps", {name + "_var", scalar("c_ln_eps", 1e-5f)},
                name + "_var_eps");
        addNode(m_g, "Sqrt", name + "_std", {name + "_var_eps"}, name + "_std");
        addNode(m_g, "Div", name + "_normed", {name + "_centered", name + "_std"},
                name + "_normed");
        setTensor(m_g->add_initializer(), name + ".weight", tensor(name, "weight").dequantized());
        setTensor(m_g->add_initializer(), name + ".bias", tensor(name, "bias").dequantized());
        addNode(m_g, "Mul", name + "_scaled", {name + "_normed", name + ".weight"},
                name + "_scaled");
        addNode(m_g, "Add", name, {name + "_scaled", name + ".bias"}, out);
    }

    /// Multi-head self-attention as SelfAttentionImpl computes it.
    void attention(const GraphNode& n, const std::string& in, const std::string& out) {
        const std::string& p = n.name;
        const int64_t d = n.attrs.at("dim"), h = n.attrs.at("heads");
        const int64_t dh = n.attrs.value("head_dim", d / h);  // pruned heads keep their width
        const std::string heads =
            ints("c_heads_" + std::to_string(h) + "_" + std::to_string(dh), {0, 0, h, dh});
        for (const char* which : {"q", "k", "v"}) {
            const std::string l = p + "." + which;
            linear(l, in, l + "_out");
            addNode(m_g, "Reshape", l + "_split", {l + "_out", heads}, l + "_split");
            // Queries and values [B, H, L, dh]; keys already transposed [B, H, dh, L].
            addInts(addNode(m_g, "Transpose", l + "_heads", {l + "_split"}, l + "_heads"), "perm",
                    std::string(which) == "k" ? std::vector<int64_t>{0, 2, 3, 1}
                                              : std::vector<int64_t>{0, 2, 1, 3});
        }
        addNode(m_g, "MatMul", p + "_qk", {p + ".q_heads", p + ".k_heads"}, p + "_qk");
        addNode(m_g, "Div", p + "_scores",
                {p + "_qk", scalar(p + "_sqrt_dh", std::sqrt(float(dh)))}, p + "_scores");
        if (!m_shared.count("attn_bias")) {
            m_shared.insert("attn_bias");
            addNode(m_g, "Unsqueeze", "attn_bias", {shared("pad_bias"), ints("c_axes12", {1, 2})},
                    "attn_bias");
        }
        std::string masked = p + "_masked";
        addNode(m_g, "Add", masked, {p + "_scores", "attn_bias"}, masked);
        if (n.attrs.value("causal", false)) {  // a decoder: no position sees the ones after it
            addNode(m_g, "Add", p + "_causal", {masked, shared("causal_bias")}, p + "_causal");
            masked = p + "_causal";
        }
        addInt(addNode(m_g, "Softmax", p + "_probs", {masked}, p + "_probs"), "axis", -1);
        addNode(m_g, "MatMul", p + "_ctx", {p + "_probs", p + ".v_heads"}, p + "_ctx");
        addInts(addNode(m_g, "Transpose", p + "_ctx_t", {p + "_ctx"}, p + "_ctx_t"), "perm",
                {0, 2, 1, 3});
        addNode(m_g, "Reshape", p + "_merge",
                {p + "_ctx_t", ints("c_merge_heads_" + std::to_string(h * dh), {0, 0, h * dh})},
                p + "_merged");
        linear(p + ".o", p + "_merged", out);
    }

    /// GELU in its erf form: x · (1 + erf(x / √2)) / 2.
    void gelu(const std::string& name, const std::string& in, const std::string& out) {
        addNode(m_g, "Div", name + "_scaled", {in, scalar("c_sqrt2", std::sqrt(2.f))},
                name + "_scaled");
        addNode(m_g, "Erf", name + "_erf", {name + "_scaled"}, name + "_erf");
        addNode(m_g, "Add", name + "_erf1", {name + "_erf", scalar("c_one_f", 1.f)},
                name + "_erf1");
        addNode(m_g, "Mul", name + "_x", {in, name + "_erf1"}, name + "_x");
        addNode(m_g, "Mul", name, {name + "_x", scalar("c_half_f", 0.5f)}, out);
    }

    /// [B, L, D] to [B, D] over the real tokens.
    void pool(const GraphNode& n, const std::string& in, const std::string& out) {
        const std::string mode = n.attrs.at("mode");
        const std::string& p = n.name;
        if (mode == "first") {
            addInt(addNode(m_g, "Gather", p, {in, ints("c_zero", {0}, {})}, out), "axis", 1);
        } else if (mode == "max") {
            addNode(m_g, "Unsqueeze", p + "_bias", {shared("pad_bias"), ints("c_axis2", {2})},
                    p + "_bias");
            addNode(m_g, "Add", p + "_masked", {in, p + "_bias"}, p + "_masked");
            auto* r = addNode(m_g, "ReduceMax", p, {p + "_masked"}, out);
            addInts(r, "axes", {1});
            addInt(r, "keepdims", 0);
        } else {  // mean
            addNode(m_g, "Unsqueeze", p + "_weight", {shared("real_f"), ints("c_axis2", {2})},
                    p + "_weight");
            addNode(m_g, "Mul", p + "_weighted", {in, p + "_weight"}, p + "_weighted");
            addInt(addNode(m_g, "ReduceSum", p + "_sum", {p + "_weighted", ints("c_axis1", {1})},
                           p + "_sum"),
                   "keepdims", 0);
            addNode(m_g, "ReduceSum", p + "_count", {shared("real_f"), ints("c_axis1", {1})},
                    p + "_count");  // keepdims 1: [B, 1]
            addNode(m_g, "Max", p + "_count1", {p + "_count", scalar("c_one_f", 1.f)},
                    p + "_count1");
            addNode(m_g, "Div", p, {p + "_sum", p + "_count1"}, out);
        }
    }

    /// One bidirectional LSTM layer as ONNX's LSTM (gates i, o, f, c; LibTorch's are i, f, g,
    /// o: the rows are reordered) over the real tokens (sequence_lens), [B, L, in] to
    /// [B, L, 2·hidden] with zeros at padding.
    void lstm(const GraphNode& n, const std::string& in, const std::string& out) {
        const std::string& p = n.name;
        const int64_t h = n.attrs.at("hidden");
        const std::vector<std::string> dirs = n.attrs.value("bidirectional", false)
                                                  ? std::vector<std::string>{"", "_reverse"}
                                                  : std::vector<std::string>{""};
        auto gates = [&](const CompressedTensor& t) {  // rows [i f g o] -> [i o f g]
            CompressedTensor r = t;
            auto order = torch::cat({torch::arange(0, h), torch::arange(3 * h, 4 * h),
                                     torch::arange(h, 2 * h), torch::arange(2 * h, 3 * h)});
            r.values = t.values.index_select(0, order);
            if (t.scales.defined() && t.scales.numel() > 1)
                r.scales = t.scales.index_select(0, order);
            return r;
        };
        std::vector<std::string> w, rec, bias;
        for (const auto& dir : dirs) {
            const std::string suffix = "_l0" + dir;
            const std::string wName =
                addWeight(m_g, p + ".W" + dir, gates(tensor(p, "weight_ih" + suffix)), m_float);
            const std::string rName =
                addWeight(m_g, p + ".R" + dir, gates(tensor(p, "weight_hh" + suffix)), m_float);
            for (auto [from, list] : {std::pair{wName, &w}, std::pair{rName, &rec}}) {
                addNode(m_g, "Unsqueeze", from + "_3d", {from, ints("c_zero1", {0})}, from + "_3d");
                list->push_back(from + "_3d");
            }
            const std::string b = p + ".B" + dir;
            setTensor(m_g->add_initializer(), b,
                      torch::cat({gates(tensor(p, "bias_ih" + suffix)).dequantized(),
                                  gates(tensor(p, "bias_hh" + suffix)).dequantized()})
                          .unsqueeze(0));
            bias.push_back(b);
        }
        auto concat = [&](const std::vector<std::string>& parts, const std::string& name) {
            if (parts.size() == 1) return parts[0];
            addInt(addNode(m_g, "Concat", name, parts, name), "axis", 0);
            return name;
        };
        const std::string W = concat(w, p + ".W_all"), R = concat(rec, p + ".R_all"),
                          B = concat(bias, p + ".B_all");
        addInts(addNode(m_g, "Transpose", p + "_time_major", {in}, p + "_time_major"), "perm",
                {1, 0, 2});
        auto* node =
            addNode(m_g, "LSTM", p, {p + "_time_major", W, R, B, shared("lengths")}, p + "_y");
        addInt(node, "hidden_size", h);
        auto* a = node->add_attribute();
        a->set_name("direction");
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(dirs.size() == 2 ? "bidirectional" : "forward");
        // Y [L, directions, B, H] -> [B, L, directions, H] -> [B, L, directions·H]
        addInts(addNode(m_g, "Transpose", p + "_batch_major", {p + "_y"}, p + "_batch_major"),
                "perm", {2, 0, 1, 3});
        addNode(m_g, "Reshape", p + "_concat_dirs",
                {p + "_batch_major", ints("c_merge_last", {0, 0, -1})}, out);
    }

    /// The longest input a causal graph reads (the position table's rows).
    void setContext(int64_t tokens) { m_context = tokens; }

    static constexpr const char* kIds = "input_ids";

private:
    const CompressedTensor& tensor(const std::string& layer, const std::string& what) {
        return tensorOf(m_byName, layer, what);
    }
    static void setInt64(onnx::TensorProto* t, const std::string& name, const torch::Tensor& v) {
        t->set_name(name);
        for (int64_t d : v.sizes()) t->add_dims(d);
        t->set_data_type(onnx::TensorProto::INT64);
        auto c = v.contiguous();
        t->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.nbytes()));
    }

    onnx::GraphProto* m_g;
    const std::map<std::string, const CompressedTensor*>& m_byName;
    bool m_float;
    int64_t m_context = 0;
    std::set<std::string> m_constants, m_shared;
};

}  // namespace

std::string exportOnnx(const CompressedModel& model, const ModelExportOptions& options) {
    const bool languageModel = model.model.value("language_model", false);
    const ModelGraph graph = graphFromDescription(model.model);
    const auto byName = tensorsByName(model);
    const auto inputShape = model.model.at("input_shape").get<std::vector<int64_t>>();

    const bool text = std::any_of(graph.nodes.begin(), graph.nodes.end(),
                                  [](const GraphNode& n) { return n.kind == NodeKind::Embedding; });
    onnx::ModelProto m;
    m.set_ir_version(7);  // the IR version that came with opset 13
    m.set_producer_name("Retort");
    m.set_producer_version(versionString().substr(7));
    m.set_domain("org.retort");
    m.set_model_version(1);
    m.set_doc_string(
        languageModel
            ? "Language model exported by Retort (a causal decoder). Input: token ids int64 "
              "[batch, tokens], tokens at most the context length, [CLS] (2) first, "
              "right-padded with 0, from the SentencePiece model written beside this file (see "
              "metadata retort.tokenizer); output: next-token logits [batch, tokens, vocab], "
              "position t's from the ids up to t only."
        : text ? "Student exported by Retort. Input: token ids int64 [batch, tokens], [CLS] (2) "
                 "first, right-padded with 0, from the SentencePiece model written beside this "
                 "file (see metadata retort.tokenizer); output: class logits."
               : "Student exported by Retort. Input: normalized features (see metadata "
                 "retort.input_normalization); output: class logits.");
    auto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(13);
    for (auto it = options.metadata.begin(); it != options.metadata.end(); ++it) {
        auto* p = m.add_metadata_props();
        p->set_key("retort." + it.key());
        p->set_value(it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
    }
    auto* p = m.add_metadata_props();
    p->set_key("retort.model");
    p->set_value(model.model.dump());

    auto* g = m.mutable_graph();
    g->set_name("retort_student");
    const std::string input = text ? TextGraphWriter::kIds : "input";
    if (text) {  // token ids [batch, tokens], right-padded with 0; tokens ≤ input_shape[0]
        auto* v = g->add_input();
        v->set_name(input);
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto::INT64);
        tt->mutable_shape()->add_dim()->set_dim_param("batch");
        tt->mutable_shape()->add_dim()->set_dim_param("tokens");
    } else {
        setValueInfo(g->add_input(), input, inputShape);
    }
    TextGraphWriter tw(g, byName, options.onnxFloatWeights);
    if (text) tw.setContext(inputShape.at(0));
    // Each node's output is "<name>_out", the graph's output "logits"; a node reads its inputs
    // by those names, so residual adds and other non-chain graphs export the same way.
    auto valueName = [&](const std::string& node) {
        if (node == "input") return input;
        return node == graph.output ? std::string("logits") : node + "_out";
    };
    std::string x;
    bool pooled = false;  // text: linear layers before the pooling act on every token
    for (const GraphNode& n : graph.nodes) {
        const std::string& name = n.name;
        const std::string out = valueName(name);
        std::vector<std::string> in;
        for (const auto& i : n.inputs) in.push_back(valueName(i));
        switch (n.kind) {
            case NodeKind::Embedding:
                tw.embedding(n, out);
                break;
            case NodeKind::LayerNorm:
                tw.layerNorm(name, in[0], out);
                break;
            case NodeKind::Attention:
                tw.attention(n, in[0], out);
                break;
            case NodeKind::Gelu:
                tw.gelu(name, in[0], out);
                break;
            case NodeKind::Lstm:
                tw.lstm(n, in[0], out);
                break;
            case NodeKind::SequencePool:
                tw.pool(n, in[0], out);
                pooled = true;
                break;
            case NodeKind::Linear:
                if (text && !pooled) {
                    tw.linear(name, in[0], out, n.attrs.value("tied", std::string()));
                    break;
                }
                [[fallthrough]];
            case NodeKind::Conv2d: {
                const std::string w =
                    addWeight(g, name, tensorOf(byName, name, "weight"), options.onnxFloatWeights);
                setTensor(g->add_initializer(), name + ".bias",
                          tensorOf(byName, name, "bias").dequantized());
                if (n.kind == NodeKind::Linear) {
                    addInt(addNode(g, "Gemm", name, {in[0], w, name + ".bias"}, out), "transB", 1);
                } else {
                    const int64_t k = n.attrs.at("kernel"), pad = n.attrs.at("padding");
                    auto* node = addNode(g, "Conv", name, {in[0], w, name + ".bias"}, out);
                    addInts(node, "kernel_shape", {k, k});
                    addInts(node, "pads", {pad, pad, pad, pad});
                    addInts(node, "strides", {1, 1});
                }
                break;
            }
            case NodeKind::Relu:
                addNode(g, "Relu", name, in, out);
                break;
            case NodeKind::MaxPool2d: {
                auto* node = addNode(g, "MaxPool", name, in, out);
                addInts(node, "kernel_shape", {2, 2});
                addInts(node, "strides", {2, 2});
                break;
            }
            case NodeKind::Flatten:
                addInt(addNode(g, "Flatten", name, in, out), "axis", 1);
                break;
            case NodeKind::Add: {
                // ONNX's Add takes two inputs: a chain of them for more.
                std::string acc = in[0];
                for (size_t i = 1; i < in.size(); ++i) {
                    const std::string o = i + 1 == in.size() ? out : name + "_" + std::to_string(i);
                    addNode(g, "Add", name + (i > 1 ? "_" + std::to_string(i) : ""), {acc, in[i]},
                            o);
                    acc = o;
                }
                break;
            }
            default:
                throw FormatError(std::string("ONNX export does not handle ") + toString(n.kind) +
                                  " nodes yet (node '" + name + "')");
        }
        x = out;
    }
    if (x != "logits") throw FormatError("the model has no layers");
    if (languageModel) {  // [batch, tokens, vocab]
        auto* v = g->add_output();
        v->set_name("logits");
        auto* tt = v->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(onnx::TensorProto::FLOAT);
        tt->mutable_shape()->add_dim()->set_dim_param("batch");
        tt->mutable_shape()->add_dim()->set_dim_param("tokens");
        tt->mutable_shape()->add_dim()->set_dim_value(model.model.at("classes").get<int64_t>());
    } else {
        setValueInfo(g->add_output(), "logits", {model.model.at("classes").get<int64_t>()});
    }

    try {
        onnx::checker::check_model(m);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("the ONNX checker refused the exported model: ") +
                                 e.what());
    }
    std::string bytes;
    if (!m.SerializeToString(&bytes)) throw std::runtime_error("cannot serialize the ONNX model");
    return bytes;
}
#else
std::string exportOnnx(const CompressedModel&, const ModelExportOptions&) {
    throw std::runtime_error(
        "this build of Retort has no ONNX support (build it with Debian's libonnx-dev)");
}
#endif

std::string exportCheckpoint(const CompressedModel& model, const ModelExportOptions& options) {
    c10::Dict<std::string, torch::Tensor> state;
    for (const auto& t : model.tensors) {
        std::string key = t.name;
        if (key.rfind(kPrefix, 0) == 0) key = key.substr(std::string(kPrefix).size());
        state.insert(key, t.dequantized().contiguous());
    }
    Json info = {{"model", model.model}, {"layers", layerList(model.model)}};
    for (auto it = options.metadata.begin(); it != options.metadata.end(); ++it)
        info[it.key()] = it.value();
    c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
    root.insert(std::string("state_dict"), state);
    root.insert(std::string("retort"), info.dump());
    const std::vector<char> bytes = torch::pickle_save(root);
    return std::string(bytes.begin(), bytes.end());
}

std::string exportRunModel(const ProjectStore& store, int64_t runId, ModelExportOptions options) {
    const auto run = store.run(runId);
    if (!run) throw std::invalid_argument("run " + std::to_string(runId) + " does not exist");
    const auto bytes = store.artifact(runId, "compressed");
    if (run->status != RunStatus::Completed || !bytes)
        throw std::invalid_argument("run " + std::to_string(runId) + " is " +
                                    statusName(run->status) +
                                    ": only a completed run has a final model to export");
    CompressedModel model = readCompressedModel(*bytes);
    options.metadata["run"] = runId;
    options.metadata["run_name"] = run->name;
    options.metadata["project"] = store.path();
    if (run->results.contains("input_normalization"))
        options.metadata["input_normalization"] = run->results["input_normalization"];
    if (run->results.contains("tokenizer_key")) {
        Json t = run->spec.at("data").value("tokenizer", Json::object());
        t["vocab_size_trained"] = run->results.value("vocab_size", 0);
        t["pad_id"] = Tokenizer::kPad;
        t["unk_id"] = Tokenizer::kUnknown;
        t["cls_id"] = Tokenizer::kCls;
        t["encode"] =
            "ids = [cls_id] + sentencepiece.encode(text)[: max_length - 1]; pad with pad_id";
        options.metadata["tokenizer"] = t;
        if (run->results.contains("labels")) options.metadata["labels"] = run->results["labels"];
    }
    Json headline = Json::object();
    for (const char* k : {"task", "test_accuracy", "test_macro_f1", "test_perplexity", "sparsity",
                          "compressed_size_bytes", "param_count", "nonzero_params"})
        if (run->results.contains(k)) headline[k] = run->results[k];
    if (run->spec.contains("quantize")) headline["quantize"] = run->spec["quantize"];
    options.metadata["results"] = headline;
    if (options.format == "onnx") return exportOnnx(model, options);
    if (options.format == "pt") return exportCheckpoint(model, options);
    throw std::invalid_argument("unknown model format '" + options.format + "' (onnx or pt)");
}

std::optional<std::string> runTokenizerModel(const ProjectStore& store, int64_t runId) {
    const auto run = store.run(runId);
    if (!run) throw std::invalid_argument("run " + std::to_string(runId) + " does not exist");
    const std::string key = run->results.value("tokenizer_key", "");
    if (key.empty()) return std::nullopt;
    auto model = store.tokenizer(key);
    if (!model)
        throw std::invalid_argument("run " + std::to_string(runId) + "'s tokenizer " + key +
                                    " is missing from the project");
    return model;
}

std::vector<std::string> writeRunModel(const ProjectStore& store, int64_t runId,
                                       const ModelExportOptions& options, const std::string& path) {
    const std::string bytes = exportRunModel(store, runId, options);
    const auto tokenizer = runTokenizerModel(store, runId);
    std::vector<std::string> written{path};
    if (tokenizer) {
        const std::string beside = tokenizerPathBeside(path);
        if (beside == path) throw std::invalid_argument("the tokenizer would overwrite " + path);
        writeExport(beside, *tokenizer, store.path());
        written.push_back(beside);
    }
    writeExport(path, bytes, store.path());
    return written;
}

std::string tokenizerPathBeside(const std::string& modelPath) {
    const size_t slash = modelPath.find_last_of('/');
    const size_t dot = modelPath.find_last_of('.');
    const bool hasExtension =
        dot != std::string::npos && dot > 0 && (slash == std::string::npos || dot > slash + 1);
    return (hasExtension ? modelPath.substr(0, dot) : modelPath) + ".tokenizer.model";
}

}  // namespace retort
