#include "export/modelexport.h"

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

#include <map>
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

}  // namespace

std::string exportOnnx(const CompressedModel& model, const ModelExportOptions& options) {
    const ModelGraph graph = graphFromDescription(model.model);
    const auto byName = tensorsByName(model);
    const auto inputShape = model.model.at("input_shape").get<std::vector<int64_t>>();

    onnx::ModelProto m;
    m.set_ir_version(7);  // the IR version that came with opset 13
    m.set_producer_name("Retort");
    m.set_producer_version(versionString().substr(7));
    m.set_domain("org.retort");
    m.set_model_version(1);
    m.set_doc_string(
        "Student exported by Retort. Input: normalized features (see metadata "
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
    setValueInfo(g->add_input(), "input", inputShape);
    // Each node's output is "<name>_out", the graph's output "logits"; a node reads its inputs
    // by those names, so residual adds and other non-chain graphs export the same way.
    auto valueName = [&](const std::string& node) {
        if (node == "input") return std::string("input");
        return node == graph.output ? std::string("logits") : node + "_out";
    };
    std::string x;
    for (const GraphNode& n : graph.nodes) {
        const std::string& name = n.name;
        const std::string out = valueName(name);
        std::vector<std::string> in;
        for (const auto& i : n.inputs) in.push_back(valueName(i));
        switch (n.kind) {
            case NodeKind::Linear:
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
    setValueInfo(g->add_output(), "logits", {model.model.at("classes").get<int64_t>()});

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
    Json headline = Json::object();
    for (const char* k :
         {"test_accuracy", "sparsity", "compressed_size_bytes", "param_count", "nonzero_params"})
        if (run->results.contains(k)) headline[k] = run->results[k];
    if (run->spec.contains("quantize")) headline["quantize"] = run->spec["quantize"];
    options.metadata["results"] = headline;
    if (options.format == "onnx") return exportOnnx(model, options);
    if (options.format == "pt") return exportCheckpoint(model, options);
    throw std::invalid_argument("unknown model format '" + options.format + "' (onnx or pt)");
}

}  // namespace retort
