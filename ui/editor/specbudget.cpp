#include "editor/specbudget.h"

#include "train/pretraining.h"
#include "train/runner.h"

#include <QObject>

namespace retort::ui {

namespace {

ModelBudget describe(const ModelOptions& m, const DataShape& data) {
    ModelBudget b;
    try {
        b.summary = describeModel(m, data);
        b.known = true;
    } catch (const std::exception& e) {
        b.note = QString::fromStdString(e.what());
    }
    return b;
}

/// Models past this size are not built to count their trainable parameters (the editor).
constexpr int64_t kCountTrainableUpTo = 50'000'000;

void countTrainable(ModelBudget& b, const ModelOptions& m, const DataShape& data,
                    const TrainOptions& train) {
    if (train.finetune == Finetune::Full)
        b.trainable = b.summary.param_count;
    else if (b.summary.param_count <= kCountTrainableUpTo)
        b.trainable = pipeline::trainableParameterCount(m, data, train);
}

}  // namespace

ModelBudget studentBudget(const ExperimentSpec& spec, const DataShape& data) {
    ModelBudget b = describe(spec.student, data);
    if (!b.known) return b;
    countTrainable(b, spec.student, data, spec.train);
    try {
        b.expected_compressed = expectedCompressedSize(spec, data);
    } catch (const std::exception& e) {
        b.known = false;
        b.note = QString::fromStdString(e.what());
    }
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
    ModelBudget b = describe(spec.teacher->model, data);
    if (b.known && spec.teacher->train)
        countTrainable(b, spec.teacher->model, data, *spec.teacher->train);
    return b;
}

}  // namespace retort::ui
