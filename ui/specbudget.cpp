#include "specbudget.h"

#include "compressedmodel.h"

#include <QObject>

namespace retort::ui {

namespace {

/// Weight and bias shapes of every parameterized layer, from the summary's counts.
std::vector<std::pair<std::vector<int64_t>, bool>> tensorShapes(const ModelSummary& s) {
    std::vector<std::pair<std::vector<int64_t>, bool>> out;
    for (const auto& l : s.layers) {
        if (l.params == 0) continue;
        const int64_t rows = l.out_shape[0];
        out.push_back({{rows, (l.params - rows) / rows}, true});
        out.push_back({{rows}, false});
    }
    return out;
}

ModelBudget describe(const ModelOptions& m, const DataShape& data) {
    ModelBudget b;
    try {
        b.summary = describeModel(m, data.sample_shape, data.classes);
        b.known = true;
    } catch (const std::exception& e) {
        b.note = QString::fromStdString(e.what());
    }
    return b;
}

}  // namespace

ModelBudget studentBudget(const ExperimentSpec& spec, const DataShape& data) {
    ModelBudget b = describe(spec.student, data);
    if (!b.known) return b;
    const double sparsity = spec.prune ? spec.prune->sparsity : 0.0;
    const int bits = spec.quantize ? int(spec.quantize->bits) : 32;
    const bool perChannel = !spec.quantize || spec.quantize->granularity == "per_channel";
    b.expected_compressed =
        estimateCompressedSize(tensorShapes(b.summary), sparsity, bits, perChannel);
    return b;
}

ModelBudget teacherBudget(const ExperimentSpec& spec, const DataShape& data) {
    if (!spec.teacher) return {false, {}, 0, QObject::tr("no teacher: labels only")};
    switch (spec.teacher->kind) {
        case TeacherOptions::Kind::TorchScript:
            return {false, {}, 0, QObject::tr("TorchScript module: counted when it is loaded")};
        case TeacherOptions::Kind::Run:
            return {false, {}, 0, QObject::tr("the student of run %1").arg(spec.teacher->run)};
        case TeacherOptions::Kind::Zoo:
            break;
    }
    return describe(spec.teacher->model, data);
}

}  // namespace retort::ui
