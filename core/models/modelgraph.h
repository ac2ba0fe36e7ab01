#pragma once

// A model as a graph of named modules: each node's kind, the nodes it reads, its attributes and
// its parameters with their role. This is what export and compression read, so that residual
// blocks, attention, embeddings and recurrent layers fit the same description as today's
// sequential zoo models: a node reads any earlier node (`inputs`), and each parameter says
// whether it is a weight, a bias, an embedding table or a norm's scale, and whether pruning and
// quantization act on it.
//
// The text models (transformer, bilstm, embedding_bag) use Embedding, LayerNorm, Attention, Lstm,
// Gelu and SequencePool; a token embedding's table is compressible (it is most of a small text
// model), a position table is not.

#include "models/modelzoo.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace retort {

/// What a node computes.
enum class NodeKind {
    Linear,        ///< y = x Wᵀ + b; attrs in, out
    Conv2d,        ///< 2-D convolution, stride 1; attrs in, out, kernel, padding
    Relu,          ///< max(x, 0)
    MaxPool2d,     ///< 2x2 max-pool, stride 2; attrs kernel
    Flatten,       ///< all but the batch dimension into one
    Add,           ///< the sum of its inputs (a residual connection)
    Embedding,     ///< a lookup table; attrs num, dim
    LayerNorm,     ///< layer normalization; attrs dim
    Attention,     ///< multi-head self-attention; attrs dim, heads
    Lstm,          ///< an LSTM layer over the real tokens; attrs in, hidden, bidirectional
    Gelu,          ///< GELU (erf form)
    SequencePool,  ///< tokens to one vector, padding ignored; attr mode: mean | max | first
};

/// What a parameter is for.
enum class ParamRole {
    Weight,     ///< a linear, convolution, attention or recurrent weight matrix
    Bias,       ///< an additive bias
    Embedding,  ///< an embedding table (not compressed unless asked for)
    Norm,       ///< a normalization scale or shift
};

const char* toString(NodeKind kind);
const char* toString(ParamRole role);
/// The kind or role named @p text; nullopt for an unknown name.
std::optional<NodeKind> parseNodeKind(const std::string& text);
std::optional<ParamRole> parseParamRole(const std::string& text);

/// One parameter of a node.
struct GraphParam {
    std::string name;  ///< state-dict key, e.g. "fc1.weight"
    ParamRole role = ParamRole::Weight;
    std::vector<int64_t> shape;  ///< its shape
    bool compressible = false;   ///< pruning and quantization act on it
};

/// One node of the graph.
struct GraphNode {
    std::string name;  ///< unique; the state-dict prefix of its parameters
    NodeKind kind = NodeKind::Linear;
    std::vector<std::string> inputs;  ///< "input" or earlier nodes' names
    Json attrs = Json::object();      ///< the kind's attributes (in, out, kernel, ...)
    std::vector<GraphParam> params;   ///< its parameters, in state-dict order
};

/// A model graph: its nodes in an order where every node comes after what it reads.
struct ModelGraph {
    std::vector<int64_t> input_shape;  ///< one sample's shape
    int64_t classes = 0;               ///< output classes
    std::vector<GraphNode> nodes;      ///< in evaluation order
    std::string output;                ///< the node whose output is the logits

    /// {"input_shape", "classes", "output", "nodes": [{"name", "type", "inputs", attrs...,
    /// "params": [{"name", "role", "shape", "compressible"}]}]}: attributes sit beside the
    /// node's name, as `layers` in exported checkpoints (examples/load_student.py reads them).
    Json toJson() const;
    /// Reads and checks a graph; throws FormatError naming the node and what is wrong.
    static ModelGraph fromJson(const Json& j);
    /// Checks names, references and roles; throws FormatError naming the node.
    void check() const;
    /// Every parameter, node by node.
    std::vector<const GraphParam*> params() const;
};

/// Whether pruning and quantization act on a parameter of this role in a node of this kind by
/// default: weight matrices of linear, conv, attention and recurrent nodes; never biases, norms
/// or embedding tables.
bool compressibleByDefault(NodeKind kind, ParamRole role);

/// The graph of a zoo network (a chain over its Sequential).
ModelGraph modelGraph(ZooNetImpl& net);

/// The graph of the model a description (modelDescription) names.
ModelGraph graphFromDescription(const Json& description);

/// The module's parameters that @p selects picks, in the graph's order: what a stage trains
/// (every parameter for distillation today; the head only, or adapters, later).
std::vector<torch::Tensor> selectParameters(
    torch::nn::Module& module, const ModelGraph& graph,
    const std::function<bool(const GraphNode&, const GraphParam&)>& selects);

}  // namespace retort
