#include "compress/featuredistiller.h"

#include <cmath>
#include <regex>

namespace retort {

std::vector<int64_t> uniformLayerMap(int64_t studentLayers, int64_t teacherLayers) {
    std::vector<int64_t> map;
    for (int64_t i = 1; i <= studentLayers; ++i)
        map.push_back(std::max<int64_t>(
            0,
            int64_t(std::llround(double(i) * double(teacherLayers) / double(studentLayers))) - 1));
    return map;
}

torch::Tensor hiddenMse(const torch::Tensor& student, const torch::Tensor& teacher,
                        const torch::Tensor& real) {
    const auto w = real.to(student.scalar_type());
    const auto perToken = (student - teacher).pow(2).mean(-1);
    return (perToken * w).sum() / w.sum().clamp_min(1.0);
}

torch::Tensor attentionKl(const torch::Tensor& student, const torch::Tensor& teacher,
                          const torch::Tensor& real) {
    const auto logS = student.clamp_min(1e-12).log();
    const auto kl = torch::where(teacher > 0, teacher * (teacher.clamp_min(1e-12).log() - logS),
                                 torch::zeros({}, student.options()))
                        .sum(-1)   // over keys: [B, H, L]
                        .mean(1);  // over heads: [B, L]
    const auto w = real.to(student.scalar_type());
    return (kl * w).sum() / w.sum().clamp_min(1.0);
}

FeatureDistillerImpl::FeatureDistillerImpl(const FeatureOptions& options, ZooNet teacher,
                                           const ModelOptions& student)
    : m_options(options), m_teacher(std::move(teacher)) {
    const ModelOptions& t = m_teacher->options();
    if (t.arch != Arch::Transformer || student.arch != Arch::Transformer)
        throw std::invalid_argument(
            "distill.features needs a transformer teacher and a transformer student");
    if (student.layers > t.layers)
        throw std::invalid_argument("distill.features: the student has more layers (" +
                                    std::to_string(student.layers) + ") than the teacher (" +
                                    std::to_string(t.layers) + ")");
    if (options.attention > 0 && student.heads != t.heads)
        throw std::invalid_argument("distill.features.attention needs the teacher's " +
                                    std::to_string(t.heads) + " heads in the student, not " +
                                    std::to_string(student.heads));
    m_map = uniformLayerMap(student.layers, t.layers);
    for (size_t i = 0; options.attention > 0 && i < m_map.size(); ++i)
        if (student.headsOf(i) != t.headsOf(size_t(m_map[i])))
            throw std::invalid_argument(
                "distill.features.attention: student layer " + std::to_string(i + 1) + " has " +
                std::to_string(student.headsOf(i)) + " heads, its teacher layer " +
                std::to_string(t.headsOf(size_t(m_map[i]))));
    if (student.d_model != t.d_model)
        for (int64_t i = 0; i < student.layers; ++i)
            m_proj.push_back(register_module("proj" + std::to_string(i + 1),
                                             torch::nn::Linear(student.d_model, t.d_model)));
}

FeatureDistillerImpl::Terms FeatureDistillerImpl::loss(const TextFeatures& student,
                                                       const torch::Tensor& ids) {
    TextFeatures teacher;
    {
        torch::NoGradGuard guard;
        m_teacher->eval();
        m_teacher->forwardText(ids, &teacher);
    }
    const auto real = ids.ne(0);
    Terms t;
    t.hidden = torch::zeros({}, student.hidden.front().options());
    t.attention = t.hidden.clone();
    for (size_t i = 0; i < m_map.size(); ++i) {
        const size_t j = size_t(m_map[i]);
        if (m_options.hidden > 0) {
            const auto s = m_proj.empty() ? student.hidden[i] : m_proj[i](student.hidden[i]);
            t.hidden = t.hidden + hiddenMse(s, teacher.hidden[j], real);
        }
        if (m_options.attention > 0)
            t.attention =
                t.attention + attentionKl(student.attention[i], teacher.attention[j], real);
    }
    t.hidden = t.hidden / double(m_map.size());
    t.attention = t.attention / double(m_map.size());
    t.total = m_options.hidden * t.hidden + m_options.attention * t.attention;
    return t;
}

void initFromTeacherLayers(ZooNetImpl& student, ZooNetImpl& teacher) {
    const ModelOptions &s = student.options(), &t = teacher.options();
    if (s.arch != Arch::Transformer || t.arch != Arch::Transformer)
        throw std::invalid_argument("student.init teacher_layers needs two transformers");
    if (s.layers > t.layers)
        throw std::invalid_argument("student.init teacher_layers: the student has more layers");
    const std::vector<int64_t> map = uniformLayerMap(s.layers, t.layers);
    auto from = teacher.named_parameters();
    torch::NoGradGuard guard;
    static const std::regex layer(R"(^net\.layer(\d+)\.)");
    for (auto& p : student.named_parameters()) {
        std::string name = p.key();
        std::smatch m;
        if (std::regex_search(name, m, layer))
            name = "net.layer" + std::to_string(map[size_t(std::stoll(m[1].str()) - 1)] + 1) + "." +
                   m.suffix().str();
        const torch::Tensor* src = from.find(name);
        if (!src || src->sizes() != p.value().sizes())
            throw std::invalid_argument("student.init teacher_layers: the teacher's " + name +
                                        (src ? " has another shape" : " does not exist"));
        p.value().copy_(*src);
    }
}

}  // namespace retort
