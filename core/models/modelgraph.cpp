#include "models/modelgraph.h"

#include "models/compressedmodel.h"
#include "models/modeldescription.h"

#include <map>
#include <set>

namespace retort {

namespace {

// One string table each: the names the format writes.
const std::pair<NodeKind, const char*> kKinds[] = {
    {NodeKind::Linear, "linear"},       {NodeKind::Conv2d, "conv2d"},
    {NodeKind::Relu, "relu"},           {NodeKind::MaxPool2d, "maxpool2d"},
    {NodeKind::Flatten, "flatten"},     {NodeKind::Add, "add"},
    {NodeKind::Embedding, "embedding"}, {NodeKind::LayerNorm, "layernorm"},
    {NodeKind::Attention, "attention"}, {NodeKind::Lstm, "lstm"},
    {NodeKind::Gelu, "gelu"},           {NodeKind::SequencePool, "pool"},
};
const std::pair<ParamRole, const char*> kRoles[] = {
    {ParamRole::Weight, "weight"},
    {ParamRole::Bias, "bias"},
    {ParamRole::Embedding, "embedding"},
    {ParamRole::Norm, "norm"},
};

/// The attributes each kind needs (integers), and how many inputs it reads (0: one or more).
struct KindRule {
    std::vector<const char*> attrs;
    size_t inputs;
};
KindRule ruleOf(NodeKind k) {
    switch (k) {
        case NodeKind::Linear:
            return {{"in", "out"}, 1};
        case NodeKind::Conv2d:
            return {{"in", "out", "kernel", "padding"}, 1};
        case NodeKind::MaxPool2d:
            return {{"kernel"}, 1};
        case NodeKind::Relu:
        case NodeKind::Flatten:
        case NodeKind::Gelu:
        case NodeKind::SequencePool:
            return {{}, 1};
        case NodeKind::Add:
            return {{}, 0};
        case NodeKind::Embedding:
            return {{"num", "dim"}, 1};
        case NodeKind::LayerNorm:
            return {{"dim"}, 1};
        case NodeKind::Attention:
            return {{"dim", "heads"}, 1};
        case NodeKind::Lstm:
            return {{"in", "hidden"}, 1};
    }
    return {{}, 1};
}

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw FormatError("model graph: " + where + ": " + what);
}

}  // namespace

const char* toString(NodeKind kind) {
    for (const auto& [k, name] : kKinds)
        if (k == kind) return name;
    return "?";
}

const char* toString(ParamRole role) {
    for (const auto& [r, name] : kRoles)
        if (r == role) return name;
    return "?";
}

std::optional<NodeKind> parseNodeKind(const std::string& text) {
    for (const auto& [k, name] : kKinds)
        if (text == name) return k;
    return std::nullopt;
}

std::optional<ParamRole> parseParamRole(const std::string& text) {
    for (const auto& [r, name] : kRoles)
        if (text == name) return r;
    return std::nullopt;
}

bool compressibleByDefault(NodeKind kind, ParamRole role) {
    if (role != ParamRole::Weight) return false;
    return kind == NodeKind::Linear || kind == NodeKind::Conv2d || kind == NodeKind::Attention ||
           kind == NodeKind::Lstm;
}

Json ModelGraph::toJson() const {
    Json nodesJson = Json::array();
    for (const auto& n : nodes) {
        Json j = {{"name", n.name}, {"type", toString(n.kind)}, {"inputs", n.inputs}};
        for (auto it = n.attrs.begin(); it != n.attrs.end(); ++it) j[it.key()] = it.value();
        Json params = Json::array();
        for (const auto& p : n.params)
            params.push_back({{"name", p.name},
                              {"role", toString(p.role)},
                              {"shape", p.shape},
                              {"compressible", p.compressible}});
        j["params"] = params;
        nodesJson.push_back(j);
    }
    return {{"input_shape", input_shape},
            {"classes", classes},
            {"output", output},
            {"nodes", nodesJson}};
}

ModelGraph ModelGraph::fromJson(const Json& j) {
    ModelGraph g;
    if (!j.is_object()) bad("the graph", "must be an object");
    try {
        g.input_shape = j.at("input_shape").get<std::vector<int64_t>>();
        g.classes = j.at("classes").get<int64_t>();
        g.output = j.at("output").get<std::string>();
        const Json& nodes = j.at("nodes");
        if (!nodes.is_array()) bad("nodes", "must be a list");
        for (size_t i = 0; i < nodes.size(); ++i) {
            const Json& nj = nodes[i];
            const std::string where = "node " + std::to_string(i);
            if (!nj.is_object()) bad(where, "must be an object");
            GraphNode n;
            n.name = nj.at("name").get<std::string>();
            const std::string type = nj.at("type").get<std::string>();
            const auto kind = parseNodeKind(type);
            if (!kind) bad("node '" + n.name + "'", "unknown type '" + type + "'");
            n.kind = *kind;
            n.inputs = nj.at("inputs").get<std::vector<std::string>>();
            for (const char* a : ruleOf(n.kind).attrs) {
                if (!nj.contains(a) || !nj[a].is_number_integer())
                    bad("node '" + n.name + "'", std::string("needs the integer '") + a + "'");
                n.attrs[a] = nj[a];
            }
            for (const char* flag : {"bidirectional", "mode", "causal", "tied"})
                if (nj.contains(flag)) n.attrs[flag] = nj[flag];
            // Optional: an attention's head width when heads were pruned (else dim / heads).
            if (nj.contains("head_dim")) {
                if (!nj["head_dim"].is_number_integer() || nj["head_dim"].get<int64_t>() < 1)
                    bad("node '" + n.name + "'", "head_dim must be a positive integer");
                n.attrs["head_dim"] = nj["head_dim"];
            }
            for (const Json& pj : nj.value("params", Json::array())) {
                GraphParam p;
                p.name = pj.at("name").get<std::string>();
                const std::string role = pj.at("role").get<std::string>();
                const auto r = parseParamRole(role);
                if (!r) bad("parameter '" + p.name + "'", "unknown role '" + role + "'");
                p.role = *r;
                p.shape = pj.at("shape").get<std::vector<int64_t>>();
                p.compressible = pj.value("compressible", compressibleByDefault(n.kind, p.role));
                n.params.push_back(std::move(p));
            }
            g.nodes.push_back(std::move(n));
        }
    } catch (const Json::exception& e) {
        bad("the graph", e.what());
    }
    g.check();
    return g;
}

void ModelGraph::check() const {
    std::set<std::string> seen = {"input"}, paramNames;
    if (nodes.empty()) bad("the graph", "has no nodes");
    for (const auto& n : nodes) {
        const std::string where = "node '" + n.name + "'";
        if (n.name.empty() || n.name == "input") bad(where, "needs a name other than 'input'");
        if (seen.count(n.name)) bad(where, "appears twice");
        const KindRule rule = ruleOf(n.kind);
        if (rule.inputs ? n.inputs.size() != rule.inputs : n.inputs.size() < 2)
            bad(where, std::string("a ") + toString(n.kind) + " node reads " +
                           (rule.inputs ? std::to_string(rule.inputs) : "two or more") +
                           " input(s), not " + std::to_string(n.inputs.size()));
        for (const auto& in : n.inputs)
            if (!seen.count(in)) bad(where, "reads '" + in + "', which comes later or not at all");
        for (const auto& p : n.params) {
            if (!paramNames.insert(p.name).second)
                bad("parameter '" + p.name + "'", "appears twice");
            for (int64_t d : p.shape)
                if (d < 1) bad("parameter '" + p.name + "'", "has a dimension below 1");
        }
        seen.insert(n.name);
    }
    if (!seen.count(output) || output == "input")
        bad("output", "'" + output + "' is not a node of the graph");
}

std::vector<const GraphParam*> ModelGraph::params() const {
    std::vector<const GraphParam*> out;
    for (const auto& n : nodes)
        for (const auto& p : n.params) out.push_back(&p);
    return out;
}

namespace {

/// The graph of a text model: its Sequential's children expanded into nodes (a Transformer
/// layer into its norms, attention, residual adds and feed-forward block), with the pooling
/// that comes before the first top-level Linear.
ModelGraph textGraph(ZooNetImpl& net) {
    ModelGraph g;
    g.input_shape = net.sampleShape();
    g.classes = net.classes();
    const std::string prefix = "net.";
    auto node = [&](std::string name, NodeKind kind, std::vector<std::string> inputs,
                    Json attrs = Json::object()) -> GraphNode& {
        GraphNode n;
        n.name = std::move(name);
        n.kind = kind;
        n.inputs = std::move(inputs);
        n.attrs = std::move(attrs);
        g.nodes.push_back(std::move(n));
        return g.nodes.back();
    };
    // Parameters of @p m under state-dict prefix @p path, with roles by their names.
    auto params = [&](GraphNode& n, torch::nn::Module& m, const std::string& path,
                      ParamRole weightRole, bool compressible) {
        for (const auto& p : m.named_parameters(true)) {
            const std::string& k = p.key();
            const bool bias =
                k == "bias" || k.rfind("bias", 0) == 0 || k.find(".bias") != std::string::npos;
            const ParamRole role = bias ? ParamRole::Bias : weightRole;
            n.params.push_back(
                {prefix + path + "." + k, role, p.value().sizes().vec(), !bias && compressible});
        }
    };
    const Arch arch = net.options().arch;
    std::string previous = "input";
    bool pooled = false;
    for (const auto& child : net.layers()->named_children()) {
        const std::string name = child.key();
        const auto& m = child.value();
        if (auto* e = m->as<torch::nn::Embedding>()) {
            const bool pos = name == "pos";
            GraphNode& n =
                node(name, NodeKind::Embedding, {"input"},
                     {{"num", e->options.num_embeddings()}, {"dim", e->options.embedding_dim()}});
            if (pos) n.attrs["mode"] = "position";
            params(n, *m, name, ParamRole::Embedding, !pos);
            if (pos) {
                node("embed", NodeKind::Add, {previous, name});
                previous = "embed";
            } else {
                previous = name;
            }
        } else if (auto* b = m->as<TransformerLayerImpl>()) {
            const std::string in = previous, p = name + ".";
            const int64_t d = b->attn->dim();
            params(node(p + "ln1", NodeKind::LayerNorm, {in}, {{"dim", d}}), *b->ln1, p + "ln1",
                   ParamRole::Norm, false);
            Json attn = {{"dim", d}, {"heads", b->attn->heads()}, {"head_dim", b->attn->headDim()}};
            if (b->attn->causal) attn["causal"] = true;  // a language model's decoder
            params(node(p + "attn", NodeKind::Attention, {p + "ln1"}, attn), *b->attn, p + "attn",
                   ParamRole::Weight, true);
            node(p + "res1", NodeKind::Add, {in, p + "attn"});
            params(node(p + "ln2", NodeKind::LayerNorm, {p + "res1"}, {{"dim", d}}), *b->ln2,
                   p + "ln2", ParamRole::Norm, false);
            params(node(p + "ff1", NodeKind::Linear, {p + "ln2"},
                        {{"in", d}, {"out", b->ff1->options.out_features()}}),
                   *b->ff1, p + "ff1", ParamRole::Weight, true);
            node(p + "gelu", NodeKind::Gelu, {p + "ff1"});
            params(node(p + "ff2", NodeKind::Linear, {p + "gelu"},
                        {{"in", b->ff2->options.in_features()}, {"out", d}}),
                   *b->ff2, p + "ff2", ParamRole::Weight, true);
            node(p + "res2", NodeKind::Add, {p + "res1", p + "ff2"});
            previous = p + "res2";
        } else if (auto* ln = m->as<torch::nn::LayerNormImpl>()) {
            params(node(name, NodeKind::LayerNorm, {previous},
                        {{"dim", ln->options.normalized_shape().at(0)}}),
                   *m, name, ParamRole::Norm, false);
            previous = name;
        } else if (auto* lstm = m->as<torch::nn::LSTM>()) {
            params(node(name, NodeKind::Lstm, {previous},
                        {{"in", lstm->options.input_size()},
                         {"hidden", lstm->options.hidden_size()},
                         {"bidirectional", lstm->options.bidirectional()}}),
                   *m, name, ParamRole::Weight, true);
            previous = name;
        } else if (auto* lin = m->as<torch::nn::Linear>()) {
            if (!pooled && !net.dataShape().language_model) {
                const char* mode =
                    arch == Arch::Bilstm                                                   ? "max"
                    : arch == Arch::Transformer && net.options().pooling == Pooling::First ? "first"
                                                                                           : "mean";
                node("pool", NodeKind::SequencePool, {previous}, {{"mode", mode}});
                previous = "pool";
                pooled = true;
            }
            params(node(name, NodeKind::Linear, {previous},
                        {{"in", lin->options.in_features()}, {"out", lin->options.out_features()}}),
                   *m, name, ParamRole::Weight, true);
            previous = name;
        } else if (auto* tied = m->as<TiedOutputImpl>()) {
            // A language model's output through the token table: its weight is "tok"'s, so
            // only the bias is a parameter of this node.
            params(node(name, NodeKind::Linear, {previous},
                        {{"in", net.tokenTable().size(1)},
                         {"out", tied->bias.size(0)},
                         {"tied", "tok"}}),
                   *m, name, ParamRole::Weight, true);
            previous = name;
        } else if (m->as<torch::nn::ReLU>()) {
            node(name, NodeKind::Relu, {previous});
            previous = name;
        } else {
            bad("layer '" + name + "'", "has a module type the graph does not know");
        }
    }
    g.output = previous;
    g.check();
    return g;
}

}  // namespace

ModelGraph modelGraph(ZooNetImpl& net) {
    if (net.isText()) return textGraph(net);
    ModelGraph g;
    g.input_shape = net.sampleShape();
    g.classes = net.classes();
    std::string previous = "input";
    const std::string prefix = "net.";  // ZooNet registers its Sequential as "net"
    for (const auto& child : net.layers()->named_children()) {
        GraphNode n;
        n.name = child.key();
        n.inputs = {previous};
        const auto& m = child.value();
        if (auto* lin = m->as<torch::nn::Linear>()) {
            n.kind = NodeKind::Linear;
            n.attrs = {{"in", lin->options.in_features()}, {"out", lin->options.out_features()}};
        } else if (auto* conv = m->as<torch::nn::Conv2d>()) {
            n.kind = NodeKind::Conv2d;
            n.attrs = {
                {"in", conv->options.in_channels()},
                {"out", conv->options.out_channels()},
                {"kernel", conv->options.kernel_size()->at(0)},
                {"padding", c10::get<torch::ExpandingArray<2>>(conv->options.padding())->at(0)}};
        } else if (m->as<torch::nn::ReLU>()) {
            n.kind = NodeKind::Relu;
        } else if (m->as<torch::nn::MaxPool2d>()) {
            n.kind = NodeKind::MaxPool2d;
            n.attrs = {{"kernel", 2}};
        } else if (m->as<torch::nn::Flatten>()) {
            n.kind = NodeKind::Flatten;
        } else {
            bad("layer '" + n.name + "'", "has a module type the graph does not know");
        }
        for (const auto& p : m->named_parameters(false)) {
            const ParamRole role = p.key() == "bias" ? ParamRole::Bias : ParamRole::Weight;
            n.params.push_back({prefix + n.name + "." + p.key(), role, p.value().sizes().vec(),
                                compressibleByDefault(n.kind, role)});
        }
        previous = n.name;
        g.nodes.push_back(std::move(n));
    }
    g.output = previous;
    g.check();
    return g;
}

ModelGraph graphFromDescription(const Json& description) {
    ZooNet net = buildFromDescription(description);
    return modelGraph(*net);
}

std::vector<torch::Tensor> selectParameters(
    torch::nn::Module& module, const ModelGraph& graph,
    const std::function<bool(const GraphNode&, const GraphParam&)>& selects) {
    auto named = module.named_parameters();
    std::vector<torch::Tensor> out;
    size_t described = 0;
    for (const auto& n : graph.nodes)
        for (const auto& p : n.params) {
            ++described;
            torch::Tensor* t = named.find(p.name);
            if (!t)
                throw std::logic_error("the model has no parameter '" + p.name +
                                       "' that its graph names");
            if (selects(n, p)) out.push_back(*t);
        }
    if (described != named.size())
        throw std::logic_error("the model graph describes " + std::to_string(described) +
                               " parameters, the module has " + std::to_string(named.size()));
    return out;
}

}  // namespace retort
