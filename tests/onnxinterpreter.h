#pragma once

// A small interpreter of the ONNX operators Retort's text export writes, on LibTorch tensors,
// written from the operator definitions of ONNX opset 13 (https://onnx.ai/onnx/operators/):
// a runtime independent of the exporter that checks its wiring (gate order, masks, axes). Debian
// 12 has no ONNX Runtime, and OpenCV 4.6 runs none of the text graphs (see tst_textexport).

#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort::test {

class OnnxInterpreter {
public:
    explicit OnnxInterpreter(const std::string& bytes) {
        if (!m_model.ParseFromString(bytes)) throw std::runtime_error("not an ONNX model");
        for (const auto& t : m_model.graph().initializer()) m_init[t.name()] = tensor(t);
    }

    /// The graph's first output for one input tensor; the op types it ran are in ops().
    torch::Tensor run(const torch::Tensor& input) {
        std::map<std::string, torch::Tensor> v = m_init;
        v[m_model.graph().input(0).name()] = input;
        for (const auto& n : m_model.graph().node()) {
            std::vector<torch::Tensor> in;
            for (const auto& name : n.input()) {
                if (name.empty()) {
                    in.emplace_back();
                    continue;
                }
                auto it = v.find(name);
                if (it == v.end()) throw std::runtime_error(n.name() + ": no value " + name);
                in.push_back(it->second);
            }
            m_ops[n.op_type()]++;
            v[n.output(0)] = eval(n, in);
        }
        return v.at(m_model.graph().output(0).name());
    }
    const std::map<std::string, int>& ops() const { return m_ops; }

private:
    static torch::Tensor tensor(const onnx::TensorProto& t) {
        std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
        const std::string& raw = t.raw_data();
        torch::ScalarType type;
        switch (t.data_type()) {
            case onnx::TensorProto::FLOAT:
                type = torch::kFloat32;
                break;
            case onnx::TensorProto::INT8:
                type = torch::kInt8;
                break;
            case onnx::TensorProto::INT64:
                type = torch::kInt64;
                break;
            default:
                throw std::runtime_error(t.name() + ": unexpected initializer type");
        }
        auto out = torch::empty(dims, type);
        if (size_t(out.nbytes()) != raw.size()) throw std::runtime_error(t.name() + ": bad size");
        std::memcpy(out.data_ptr(), raw.data(), raw.size());
        return out;
    }
    static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
        for (const auto& a : n.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    static int64_t intAttr(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
        const auto* a = attr(n, name);
        return a ? a->i() : fallback;
    }
    static std::vector<int64_t> intsAttr(const onnx::NodeProto& n, const std::string& name) {
        const auto* a = attr(n, name);
        if (!a) return {};
        return {a->ints().begin(), a->ints().end()};
    }
    static std::vector<int64_t> values(const torch::Tensor& t) {
        auto c = t.to(torch::kInt64).flatten().contiguous();
        return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
    }
    static torch::Tensor reduce(const torch::Tensor& x, std::vector<int64_t> axes, bool keep,
                                const std::string& op) {
        if (op == "ReduceMax") {
            auto y = x;
            std::sort(axes.rbegin(), axes.rend());
            for (int64_t a : axes) y = std::get<0>(y.max(a < 0 ? a + x.dim() : a, keep));
            return y;
        }
        return op == "ReduceSum" ? x.sum(axes, keep) : x.mean(axes, keep);
    }

    /// ONNX LSTM (gates i, o, f, c; no peepholes, default activations), honouring
    /// sequence_lens: the reverse direction starts at each sample's last real step, and outputs
    /// past a sample's length are 0. X [L, B, in] -> Y [L, directions, B, H].
    static torch::Tensor lstm(const onnx::NodeProto& n, const std::vector<torch::Tensor>& in) {
        const auto& X = in[0];
        const auto& W = in[1];
        const auto& R = in[2];
        const int64_t H = intAttr(n, "hidden_size", 0), L = X.size(0), B = X.size(1);
        const int64_t dirs = W.size(0);
        const torch::Tensor bias =
            in.size() > 3 && in[3].defined() ? in[3] : torch::zeros({dirs, 8 * H});
        std::vector<int64_t> lens(size_t(B), L);
        if (in.size() > 4 && in[4].defined()) lens = values(in[4]);
        auto Y = torch::zeros({L, dirs, B, H});
        for (int64_t d = 0; d < dirs; ++d)
            for (int64_t b = 0; b < B; ++b) {
                auto h = torch::zeros({H}), c = torch::zeros({H});
                for (int64_t s = 0; s < lens[size_t(b)]; ++s) {
                    const int64_t t = d == 0 ? s : lens[size_t(b)] - 1 - s;
                    auto g = torch::mv(W[d], X[t][b]) + torch::mv(R[d], h) +
                             bias[d].slice(0, 0, 4 * H) + bias[d].slice(0, 4 * H, 8 * H);
                    auto i = torch::sigmoid(g.slice(0, 0, H));
                    auto o = torch::sigmoid(g.slice(0, H, 2 * H));
                    auto f = torch::sigmoid(g.slice(0, 2 * H, 3 * H));
                    auto cc = torch::tanh(g.slice(0, 3 * H, 4 * H));
                    c = f * c + i * cc;
                    h = o * torch::tanh(c);
                    Y[t][d][b] = h;
                }
            }
        return Y;
    }

    torch::Tensor eval(const onnx::NodeProto& n, const std::vector<torch::Tensor>& in) {
        const std::string& op = n.op_type();
        if (op == "Add") return in[0] + in[1];
        if (op == "Sub") return in[0] - in[1];
        if (op == "Mul") return in[0] * in[1];
        if (op == "Div") return in[0] / in[1];
        if (op == "Max") return torch::maximum(in[0], in[1]);
        if (op == "Sqrt") return in[0].sqrt();
        if (op == "Erf") return in[0].erf();
        if (op == "Relu") return in[0].relu();
        if (op == "Not") return in[0].logical_not();
        if (op == "Equal") return in[0].eq(in[1]);
        if (op == "MatMul") return torch::matmul(in[0], in[1]);
        if (op == "Shape") return torch::tensor(in[0].sizes().vec(), torch::kInt64);
        if (op == "Softmax") return torch::softmax(in[0], intAttr(n, "axis", -1));
        if (op == "Cast") {
            const int64_t to = intAttr(n, "to", 0);
            return in[0].to(to == onnx::TensorProto::FLOAT   ? torch::kFloat32
                            : to == onnx::TensorProto::INT32 ? torch::kInt32
                                                             : torch::kInt64);
        }
        if (op == "Gemm") {
            auto b = intAttr(n, "transB", 0) ? in[1].t() : in[1];
            return torch::matmul(in[0], b) + in[2];
        }
        if (op == "Gather") {
            const int64_t axis = intAttr(n, "axis", 0);
            const auto idx = in[1].to(torch::kInt64);
            if (idx.dim() == 0) return in[0].select(axis, idx.item<int64_t>());
            auto flat = in[0].index_select(axis, idx.flatten());
            auto shape = in[0].sizes().vec();
            shape.erase(shape.begin() + axis);
            const auto is = idx.sizes().vec();
            shape.insert(shape.begin() + axis, is.begin(), is.end());
            return flat.reshape(shape);
        }
        if (op == "Slice") {
            const auto starts = values(in[1]), ends = values(in[2]), axes = values(in[3]);
            auto y = in[0];
            for (size_t i = 0; i < axes.size(); ++i)
                y = y.slice(axes[i], starts[i], std::min(ends[i], y.size(axes[i])));
            return y;
        }
        if (op == "Unsqueeze") {
            auto y = in[0];
            auto axes = values(in[1]);
            std::sort(axes.begin(), axes.end());
            for (int64_t a : axes) y = y.unsqueeze(a);
            return y;
        }
        if (op == "Transpose") return in[0].permute(intsAttr(n, "perm")).contiguous();
        if (op == "Reshape") {
            auto shape = values(in[1]);
            for (size_t i = 0; i < shape.size(); ++i)
                if (shape[i] == 0) shape[i] = in[0].size(int64_t(i));
            return in[0].reshape(shape);
        }
        if (op == "Concat") return torch::cat(in, intAttr(n, "axis", 0));
        if (op == "ReduceSum") return reduce(in[0], values(in[1]), intAttr(n, "keepdims", 1), op);
        if (op == "ReduceMean" || op == "ReduceMax")
            return reduce(in[0], intsAttr(n, "axes"), intAttr(n, "keepdims", 1), op);
        if (op == "DequantizeLinear") {
            auto x = in[0].to(torch::kFloat32) - in[2].to(torch::kFloat32).unsqueeze(-1);
            if (in[1].dim() == 0)
                return (in[0].to(torch::kFloat32) - in[2].to(torch::kFloat32)) * in[1];
            return x * in[1].unsqueeze(-1);  // axis 0 of a 2-D weight
        }
        if (op == "LSTM") return lstm(n, in);
        throw std::runtime_error("the interpreter does not know " + op + " (node " + n.name() +
                                 ")");
    }

    onnx::ModelProto m_model;
    std::map<std::string, torch::Tensor> m_init;
    std::map<std::string, int> m_ops;
};

}  // namespace retort::test
