#include "train/stages.h"

#include "models/archivecheck.h"
#include "models/modeldescription.h"
#include "store/fnv1a.h"
#include "train/pretraining.h"
#include "train/trainloop.h"

#include <sstream>

namespace retort::pipeline {

using namespace stagesupport;

namespace {

/// Stage one: trains a zoo teacher on the labels (its parameters as train.finetune says; LoRA
/// adapters merged at the end). Returns its per-epoch metrics; @p trainable gets the number of
/// parameters trained.
Json trainTeacher(ZooNet& net, const TrainOptions& train, const Dataset& d, int64_t seed,
                  int64_t runId, StageServices& services, int64_t& trainable) {
    services.message(runId, "teacher", "training the teacher (stage one)");
    const auto params = finetuneParameters(net, train);
    trainable = countElements(params);
    standardizeProbe(net, d, train);
    auto opt = makeOptimizer(train, params);
    DistillOptions none;
    none.lambda = 0;
    int64_t step = 0;
    Json epochs = Json::array();
    for (int64_t e = 1; e <= train.epochs; ++e) {
        for (auto& g : opt->param_groups()) g.options().set_lr(epochLr(train, e));
        EpochStats s = trainEpoch(net, *opt, d, {}, train, none, nullptr, nullptr,
                                  static_cast<uint64_t>(seed) * 1000003ULL + 7919ULL * e + 1, e,
                                  step, runId, "teacher", services);
        net->eval();
        Progress p;
        p.kind = Progress::Kind::Epoch;
        p.run_id = runId;
        p.stage = "teacher";
        p.epoch = e;
        p.epochs = train.epochs;
        p.metrics = {{"train_loss", s.loss}, {"epoch_seconds", s.seconds}};
        const ClassScores val = scores([&](const torch::Tensor& x) { return net->forward(x); },
                                       d.val_x, d.val_y, d.shape.classes);
        if (std::isfinite(val.accuracy)) p.metrics["val_accuracy"] = val.accuracy;
        if (std::isfinite(val.perplexity)) p.metrics["val_perplexity"] = val.perplexity;
        epochs.push_back(p.metrics);
        services.report(p);
    }
    net->mergeLora();
    net->foldHeadStandardization();
    return epochs;
}

}  // namespace

void TeacherStage::run(RunContext& ctx, StageServices& services) {
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    const torch::Device& device = ctx.device;
    const int64_t runId = ctx.runId;
    const TeacherOptions& o = *spec.teacher;
    auto t = std::make_shared<Teacher>();
    Json keySpec;
    std::string fileBytes;
    Json runTeacherSpec;  // teacher.run with model "teacher": that teacher's stored spec
    if (o.kind == TeacherOptions::Kind::Zoo) {
        keySpec = spec.toJson()["teacher"];
        keySpec["seed"] = o.seed;
        keySpec["data"] = d.fingerprint;
    } else if (o.kind == TeacherOptions::Kind::TorchScript) {
        try {
            fileBytes = readArchiveFile(o.torchscript);
        } catch (const ArchiveError& e) {
            throw std::runtime_error("teacher.torchscript: " + std::string(e.what()));
        }
        keySpec = {{"torchscript", fnv1aHex(fileBytes)},
                   {"data", d.fingerprint},
                   {"input", spec.toJson()["teacher"]["input"]}};
    } else {
        const auto source = services.store.run(o.run);
        if (!source)
            throw std::runtime_error("teacher.run: the project has no run " +
                                     std::to_string(o.run));
        if (o.run_model == RunModel::Teacher) {
            // The run's own (zoo) teacher, as stored with its architecture.
            const auto stored =
                source->results.contains("teacher_key")
                    ? services.store.teacher(source->results["teacher_key"].get<std::string>())
                    : std::nullopt;
            if (!stored || !stored->spec.contains("arch"))
                throw std::runtime_error("teacher.model: run " + std::to_string(o.run) +
                                         " has no stored zoo teacher");
            fileBytes = stored->state;
            runTeacherSpec = stored->spec;
        } else {
            auto state = services.store.artifact(o.run, "student");
            if (!state)
                throw std::runtime_error("teacher.run: run " + std::to_string(o.run) +
                                         " has no stored student");
            fileBytes = *state;
        }
        keySpec = {{"run", o.run},
                   {"model", o.run_model},
                   {"weights", fnv1aHex(fileBytes)},
                   {"data", d.fingerprint}};
    }
    t->key = fnv1aHex(keySpec.dump());
    t->cacheKey = t->key + "|" + device.str();
    if (auto it = services.teachers.find(t->cacheKey); it != services.teachers.end()) {
        ctx.teacher = it->second;  // its outputs too: the next stage has nothing to do
        services.message(runId, "teacher",
                         "reusing the teacher " + t->key.substr(0, 8) + " already in memory");
        return;
    }
    if (services.teachers.size() >= 2)
        services.teachers.clear();  // bound memory: a sweep usually has one teacher

    std::optional<TeacherRecord> stored = services.store.teacher(t->key);
    if (stored && stored->spec != keySpec) stored.reset();  // a hash collision: do not reuse
    TeacherRecord record{t->key, keySpec, {}, Json::object()};
    if (o.kind == TeacherOptions::Kind::Zoo) {
        torch::manual_seed(static_cast<uint64_t>(o.seed));
        t->zoo = ZooNet(o.model, d.shape);
        t->zoo->to(device);
        t->paramCount = t->zoo->summary().param_count;
        t->flops = t->zoo->summary().flops;
        if (stored) {
            loadModule(*t->zoo, stored->state);
            record = *stored;
            services.message(runId, "teacher", "reusing the stored teacher " + t->key.substr(0, 8));
        } else if (o.train) {
            const Json tj = spec.toJson()["teacher"];
            const PretrainTarget target{
                "teacher", architectureOf(tj), tj.value("pretrain", Json()), o.seed, runId, Json()};
            if (o.pretrain)
                record.summary["pretrain"] = pretrain(t->zoo, *o.pretrain, target, ctx, services);
            else if (o.pretrained > 0)
                record.summary["pretrain"] =
                    loadPretrained(t->zoo, o.pretrained, target, d, services);
            // Adapters and dropout then draw the same whether pretraining ran or was reused.
            if (o.pretrain || o.pretrained > 0)
                torch::manual_seed(static_cast<uint64_t>(o.seed) + 15485863ULL);
            int64_t trainable = 0;
            record.summary["epochs"] =
                trainTeacher(t->zoo, *o.train, d, o.seed, runId, services, trainable);
            record.summary["trainable_params"] = trainable;
            record.state = saveModule(*t->zoo);
            t->trainedBy = runId;
        } else {
            record.state = saveModule(*t->zoo);  // frozen at initialization
        }
        t->trained = o.train.has_value();
        t->trainableParams = record.summary.value("trainable_params", int64_t(0));
        t->pretrain = record.summary.value("pretrain", Json());
        freeze(*t->zoo);
        torch::NoGradGuard guard;
        t->forward = frozenForward(t->zoo);
    } else if (o.kind == TeacherOptions::Kind::TorchScript) {
        t->script =
            std::make_shared<torch::jit::Module>(loadTorchScript(fileBytes, o.torchscript, device));
        t->script->eval();
        for (auto p : t->script->parameters()) {
            p.set_requires_grad(false);
            t->paramCount += p.numel();
        }
        auto m = t->script;
        const auto convert = teacherInput(o, d);
        t->forward = [m, convert](const torch::Tensor& x) {
            return m->forward({convert(x)}).toTensor();
        };
        record.state = fileBytes;  // archived with the project; never loaded from it
    } else {
        auto run = services.store.run(o.run);
        // Token ids mean something only under the tokenizer they came from.
        if (d.shape.vocab > 0 && run->results.value("tokenizer_key", "") != d.tokenizer_key)
            throw std::runtime_error(
                "teacher.run: run " + std::to_string(o.run) +
                " tokenized its text with another tokenizer; its model needs the same data and "
                "data.tokenizer settings");
        ZooNet net{nullptr};
        if (o.run_model == RunModel::Teacher) {
            // The stored teacher spec read back as a zoo teacher (its other keys are ignored).
            std::vector<SpecIssue> ignored;
            Json tj = runTeacherSpec;
            tj.erase("torchscript");
            tj.erase("run");
            const ExperimentSpec parsed = ExperimentSpec::fromJson({{"teacher", tj}}, ignored);
            const ModelOptions m = parsed.teacher ? parsed.teacher->model : ModelOptions{};
            net = ZooNet(m, d.shape);
        } else {
            net = buildFromDescription(run->results.at("model"));
        }
        if (net->dataShape().language_model != d.shape.language_model)
            throw std::runtime_error("teacher.run: run " + std::to_string(o.run) + "'s model is " +
                                     (d.shape.language_model
                                          ? "a classifier; a language model distils from a "
                                            "language model's run"
                                          : "a language model; a classifier distils from a "
                                            "classifier's run"));
        loadModule(*net, fileBytes);
        net->to(device);
        freeze(*net);
        t->zoo = net;
        t->paramCount = net->summary().param_count;
        t->flops = net->summary().flops;
        torch::NoGradGuard guard;
        t->forward = frozenForward(net);
    }
    // Stored once its outputs are known (TeacherOutputsStage); an earlier run's model is not.
    if (!stored && o.kind != TeacherOptions::Kind::Run) t->unsaved = record;
    ctx.teacher = t;
}

}  // namespace retort::pipeline
