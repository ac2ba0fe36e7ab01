#include "train/stages.h"

#include "compress/featuredistiller.h"
#include "compress/pruner.h"
#include "compress/rebuild.h"
#include "models/archivecheck.h"
#include "models/modeldescription.h"
#include "train/calibrationhooks.h"
#include "train/pretraining.h"
#include "train/trainloop.h"

#include <sstream>

namespace retort::pipeline {

namespace {

/// Where the optimizer-state archive keeps feature distillation's projections: they train with
/// the student but are not part of it, and a resumed run needs them as they were.
constexpr const char* kProjectionsKey = "retort_feature_projections";

std::string optimizerState(torch::optim::Optimizer& opt, const FeatureDistiller& features) {
    torch::serialize::OutputArchive archive;
    opt.save(archive);
    if (features) {
        torch::serialize::OutputArchive projections;
        features->save(projections);
        archive.write(kProjectionsKey, projections);
    }
    std::ostringstream os;
    archive.save_to(os);
    return os.str();
}

}  // namespace

using namespace stagesupport;

std::vector<Slot> StudentStage::inputs(const ExperimentSpec& spec) const {
    std::vector<Slot> in = {Slot::Data};
    // Feature distillation runs the teacher on every batch; teacher_layers copies its weights.
    if (spec.teacher && (spec.distill.features || spec.student_init == StudentInit::TeacherLayers))
        in.push_back(Slot::Teacher);
    if (spec.teacher && spec.distill.lambda > 0) in.push_back(Slot::TeacherOutputs);
    return in;
}

void StudentStage::run(RunContext& ctx, StageServices& services) {
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    const int64_t runId = ctx.runId;
    // The student starts from the run's seed whatever happened before (teacher trained or
    // reused), so the same spec gives the same student.
    torch::manual_seed(static_cast<uint64_t>(spec.seed));
    ctx.student = ZooNet(spec.student, d.shape);
    ZooNet& student = ctx.student;
    student->to(ctx.device);
    auto zooTeacher = [&]() -> ZooNet {
        if (!ctx.teacher || !ctx.teacher->zoo)
            throw std::runtime_error("the teacher is not a zoo model or a run's model");
        return ctx.teacher->zoo;
    };
    if (spec.student_init == StudentInit::TeacherLayers && !ctx.resumeFrom) {
        try {
            initFromTeacherLayers(*student, *zooTeacher());
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(e.what());
        }
        services.message(runId, "student", "initialized from the teacher's layers");
    }
    // Pretraining (or a stored pretrained model) before the task; after a resume too, so the
    // results say where the student came from (a stored pretraining is only loaded, and the
    // checkpoint then replaces its weights).
    if (spec.student_pretrain || spec.student_pretrained > 0) {
        const Json sj = spec.toJson()["student"];
        PretrainTarget target{
            "student", architectureOf(sj), sj.value("pretrain", Json()), spec.seed, runId, Json()};
        if (spec.student_init == StudentInit::TeacherLayers)
            target.start = {{"init", "teacher_layers"},
                            {"teacher", ctx.teacher ? Json(ctx.teacher->key) : Json()}};
        ctx.results["pretrain"] =
            spec.student_pretrain
                ? pretrain(student, *spec.student_pretrain, target, ctx, services)
                : loadPretrained(student, spec.student_pretrained, target, d, services);
        torch::manual_seed(static_cast<uint64_t>(spec.seed) + 15485863ULL);
    }
    const int64_t n = d.train_x.size(0);
    const int64_t bs = std::min(spec.train.batch_size, n);
    const int64_t stepsPerEpoch = (n + bs - 1) / bs;
    // Per-layer targets must name layers of this student (the validator checks image models;
    // this says it for every model before any epoch runs).
    const auto weights = compressibleWeights(*student);
    std::vector<UnitGroup> groups;
    try {
        std::vector<std::string> names;
        if (spec.prune)
            for (const auto& e : spec.prune->per_layer) names.push_back(e.first);
        if (spec.prune && removesUnits(spec.prune->structure)) {
            // Structured: per-layer targets name unit groups ("fc1", "layer1.attn", "lstm1").
            groups = findUnitGroups(*student, spec.prune->structure, weights);
            std::vector<std::string> known;
            for (const auto& g : groups) known.push_back(g.name);
            checkNames(names, known, "prune.per_layer");
        } else {
            checkLayerNames(names, weights, "prune.per_layer");
        }
        names.clear();
        if (spec.quantize)
            for (const auto& e : spec.quantize->per_layer) names.push_back(e.first);
        checkLayerNames(names, weights, "quantize.per_layer");
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(e.what());
    }
    // What the steps update (train.finetune): after the weights above are listed, because
    // LoRA adds adapters beside them.
    std::vector<torch::Tensor> params = finetuneParameters(student, spec.train);
    const int64_t trainable = countElements(params);
    ctx.results["trainable_params"] = trainable;
    ctx.results["trainable_share"] =
        double(trainable) / double(student->summary().param_count);  // adapters on top
    FeatureDistiller features{nullptr};
    if (spec.distill.features) {
        try {
            features = FeatureDistiller(*spec.distill.features, zooTeacher(), spec.student);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(e.what());
        }
        features->to(ctx.device);
        // The projections train with the student (and are not part of it).
        for (const auto& p : features->parameters()) params.push_back(p);
    }
    auto opt = makeOptimizer(spec.train, params);
    if (spec.prune)
        ctx.pruner = std::make_unique<Pruner>(*spec.prune, spec.pruneEndEpoch(), weights,
                                              stepsPerEpoch, std::move(groups));
    installPruningHooks(ctx);
    // Quantization-aware training: the last qat_epochs see the weights as they will be stored.
    std::unique_ptr<WeightFakeQuantizer> qat;
    if (spec.quantize && spec.quantize->mode == QuantMode::Qat) {
        std::vector<int> bits;
        for (const auto& w : weights)
            bits.push_back(static_cast<int>(spec.quantize->bitsFor(layerName(w.first))));
        qat = std::make_unique<WeightFakeQuantizer>(
            weights, bits, spec.quantize->granularity == QuantGranularity::PerChannel,
            spec.quantize->group_size);
    }
    const int64_t qatFrom = spec.quantize ? spec.train.epochs - spec.quantize->qat_epochs + 1 : 0;
    torch::Tensor teacherLogits =
        ctx.teacher && spec.distill.lambda > 0 ? ctx.teacher->trainLogits : torch::Tensor();
    const TeacherTokenTargets* tokenTeacher = nullptr;  // language_model
    if (ctx.teacher && spec.distill.lambda > 0 && d.shape.language_model) {
        const auto it = ctx.teacher->tokenTargets.find(tokenTargetsKey(spec.distill));
        if (it == ctx.teacher->tokenTargets.end())
            throw std::runtime_error("the teacher's next-token distributions were not computed");
        tokenTeacher = &it->second;
    }
    int64_t firstEpoch = 1;
    if (const Checkpoint* cp = ctx.resumeFrom) {
        loadModule(*student, cp->student);
        verifyArchive(cp->optimizer, "optimizer state");
        torch::serialize::InputArchive archive;
        std::istringstream is(cp->optimizer);
        archive.load_from(is, ctx.device);
        opt->load(archive);
        if (features) {
            torch::serialize::InputArchive projections;
            if (!archive.try_read(kProjectionsKey, projections))
                throw std::runtime_error(
                    "the checkpoint has no feature-distillation projections to resume with");
            features->load(projections);
        }
        firstEpoch = cp->epoch + 1;
        if (ctx.pruner) ctx.pruner->restore(cp->epoch * stepsPerEpoch);
        services.message(runId, "student", "resuming after epoch " + std::to_string(cp->epoch));
    }

    // After a resume too: the frozen encoder gives the same standardization again.
    standardizeProbe(student, d, spec.train);
    services.message(runId, "student", "training the student");
    const auto t0 = Clock::now();
    int64_t step = (firstEpoch - 1) * stepsPerEpoch;
    auto studentFwd = [&](const torch::Tensor& x) { return student->forward(x); };
    for (ctx.epoch = firstEpoch; ctx.epoch <= spec.train.epochs; ++ctx.epoch) {
        const int64_t epoch = ctx.epoch;
        const auto epochStart = Clock::now();
        const double lr = epochLr(spec.train, epoch);
        for (auto& g : opt->param_groups()) g.options().set_lr(lr);
        // Dropout draws from the global generator: seeded per epoch, so an epoch after a
        // resume draws what it would have drawn in an uninterrupted run.
        torch::manual_seed(static_cast<uint64_t>(spec.seed) * 1000003ULL + 104729ULL +
                           uint64_t(epoch));
        EpochStats s = trainEpoch(student, *opt, d, teacherLogits, spec.train, spec.distill,
                                  ctx.pruner.get(), features ? features.get() : nullptr,
                                  static_cast<uint64_t>(spec.seed) * 1000003ULL + uint64_t(epoch),
                                  epoch, step, runId, "student", services,
                                  qat && epoch >= qatFrom ? qat.get() : nullptr, tokenTeacher);
        student->eval();
        std::map<std::string, double> m = {{"train_loss", s.loss},
                                           {"train_soft_loss", s.soft},
                                           {"train_hard_loss", s.hard},
                                           {"lr", lr},
                                           {"epoch_seconds", s.seconds}};
        if (spec.distill.features) {
            m["train_hidden_loss"] = s.hidden;
            m["train_attention_loss"] = s.attention;
        }
        const ClassScores val = scores(studentFwd, d.val_x, d.val_y, d.shape.classes);
        if (std::isfinite(val.accuracy)) m["val_accuracy"] = val.accuracy;
        if (std::isfinite(val.macro_f1)) m["val_macro_f1"] = val.macro_f1;
        if (std::isfinite(val.perplexity)) m["val_perplexity"] = val.perplexity;
        m["sparsity"] = ctx.pruner ? ctx.pruner->overallSparsity() : 0.0;
        // The epoch's whole cost (training, validation, checkpoint): what wall_seconds sums, so
        // a resumed run's figures cover every epoch, not only those after the resume.
        std::string checkpoint = saveModule(*student), optState = optimizerState(*opt, features);
        m["epoch_wall_seconds"] = secondsSince(epochStart);
        services.store.recordEpoch(runId, epoch, m, std::move(checkpoint), std::move(optState));
        Progress p;
        p.kind = Progress::Kind::Epoch;
        p.run_id = runId;
        p.stage = "student";
        p.epoch = epoch;
        p.epochs = spec.train.epochs;
        p.metrics = m;
        p.elapsed_s = secondsSince(t0);
        p.eta_s = p.elapsed_s / double(epoch - firstEpoch + 1) * double(spec.train.epochs - epoch);
        services.report(p);
    }
    ctx.epoch = spec.train.epochs;
    student->mergeLora();  // plain weights for compression, the model file and export
    student->foldHeadStandardization();
    student->eval();
}

}  // namespace retort::pipeline
