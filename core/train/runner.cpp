#include "train/runner.h"

#include "train/stagesupport.h"

#include "compress/distillation.h"
#include "compress/pruner.h"
#include "compress/quantizer.h"
#include "data/dataset.h"
#include "models/archivecheck.h"
#include "models/compressedmodel.h"
#include "models/modelgraph.h"
#include "store/fnv1a.h"
#include "store/projectstore.h"
#include "train/environment.h"

#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace retort {

using namespace stagesupport;

namespace {

/// Thrown inside a run when the cancel flag is seen; the run ends `cancelled`.
struct Cancelled {
    std::string where;
};

/// A frozen teacher: how to call it and what it costs.
struct Teacher {
    std::string key;
    Forward forward;
    ZooNet zoo{nullptr};
    std::shared_ptr<torch::jit::Module> script;
    int64_t paramCount = 0;
    int64_t flops = -1;  // unknown for TorchScript
    double testAccuracy = std::nan("");
    double valAccuracy = std::nan("");  // on the run's validation split (NaN: none)
    std::vector<std::string> warnings;  // what a researcher must know about it
    bool trained = true;                // false: a zoo teacher frozen at its random initialization
    torch::Tensor trainLogits;          // cached outputs over the training set, on the device
};

}  // namespace

struct Runner::Impl {
    ProjectStore& store;
    ProgressFn progress;
    const std::atomic<bool>* cancel;

    std::string dataKey;
    std::shared_ptr<Dataset> cpuData;
    std::map<std::string, std::shared_ptr<Teacher>> teachers;  // key|data|device -> teacher

    Impl(ProjectStore& s, ProgressFn p, const std::atomic<bool>* c)
        : store(s), progress(std::move(p)), cancel(c) {}

    void report(Progress p) {
        if (progress) progress(p);
    }
    void message(int64_t runId, const std::string& stage, const std::string& text) {
        Progress p;
        p.run_id = runId;
        p.stage = stage;
        p.message = text;
        report(p);
    }
    void checkCancel(const std::string& where) {
        if (cancel && cancel->load()) throw Cancelled{where};
    }

    const Dataset& dataset(const ExperimentSpec& spec) {
        // Keyed by the files' stamps too: a workbench left open reads data changed on disk anew.
        const std::string key = spec.toJson()["data"].dump() + "|" + std::to_string(spec.seed) +
                                "|" + dataStamp(spec.data);
        if (key != dataKey || !cpuData) {
            cpuData.reset();
            cpuData = std::make_shared<Dataset>(loadDataset(spec.data, spec.seed));
            dataKey = key;
        }
        return *cpuData;
    }

    struct EpochStats {
        double loss = 0, soft = 0, hard = 0, seconds = 0;
        int64_t samples = 0;
    };

    /// One pass over the training set in a seeded order. Teacher logits (optional) are indexed
    /// with the same batch indices as the samples.
    EpochStats trainEpoch(ZooNet& net, torch::optim::Optimizer& opt, const Dataset& d,
                          const torch::Tensor& teacherLogits, const TrainOptions& train,
                          const DistillOptions& distill, Pruner* pruner, uint64_t orderSeed,
                          int64_t epoch, int64_t& step, int64_t runId, const std::string& stage) {
        net->train();
        const int64_t n = d.train_x.size(0);
        const int64_t bs = std::min(train.batch_size, n);
        const int64_t batches = (n + bs - 1) / bs;
        auto gen = at::make_generator<at::CPUGeneratorImpl>(orderSeed);
        auto order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kInt64))
                         .to(d.train_x.device());
        const auto t0 = Clock::now();
        torch::Tensor sumLoss = torch::zeros({}, d.train_x.options()), sumSoft = sumLoss.clone(),
                      sumHard = sumLoss.clone();
        EpochStats s;
        for (int64_t b = 0; b < batches; ++b) {
            checkCancel(stage + " epoch " + std::to_string(epoch) + ", batch " +
                        std::to_string(b + 1));
            auto idx = order.slice(0, b * bs, std::min((b + 1) * bs, n));
            auto x = d.train_x.index_select(0, idx);
            auto y = d.train_y.index_select(0, idx);
            torch::Tensor tl =
                teacherLogits.defined() ? teacherLogits.index_select(0, idx) : torch::Tensor();
            if (pruner) pruner->beforeStep(step);
            opt.zero_grad();
            auto logits = net->forward(x);
            DistillLoss l =
                hintonLoss(logits, tl, y, distill.temperature, tl.defined() ? distill.lambda : 0.0);
            l.total.backward();
            if (train.grad_clip > 0)
                torch::nn::utils::clip_grad_norm_(net->parameters(), train.grad_clip);
            opt.step();
            if (pruner) pruner->applyMasks();
            ++step;
            const double w = double(idx.size(0));
            sumLoss += l.total.detach() * w;
            sumSoft += l.soft.detach() * w;
            sumHard += l.hard.detach() * w;
            s.samples += idx.size(0);
            if (progress && (b % 20 == 19 || b + 1 == batches)) {
                const double mean = sumLoss.item<double>() / double(s.samples);
                if (!std::isfinite(mean))
                    throw std::runtime_error("diverged: the training loss is not finite at " +
                                             stage + " epoch " + std::to_string(epoch) +
                                             ", batch " + std::to_string(b + 1));
                Progress p;
                p.kind = Progress::Kind::Batch;
                p.run_id = runId;
                p.stage = stage;
                p.epoch = epoch;
                p.epochs = train.epochs;
                p.batch = b + 1;
                p.batches = batches;
                p.loss = mean;
                p.elapsed_s = secondsSince(t0);
                // What is left of this epoch and of the epochs after it (before: this epoch
                // only, so the status bar read "0 s left" at the end of every epoch).
                p.eta_s = p.elapsed_s / double(b + 1) *
                          double(batches - b - 1 + batches * (train.epochs - epoch));
                report(p);
            }
        }
        s.seconds = secondsSince(t0);
        s.loss = sumLoss.item<double>() / double(s.samples);
        s.soft = sumSoft.item<double>() / double(s.samples);
        s.hard = sumHard.item<double>() / double(s.samples);
        if (!std::isfinite(s.loss))
            throw std::runtime_error("diverged: the training loss is not finite at " + stage +
                                     " epoch " + std::to_string(epoch));
        return s;
    }

    std::shared_ptr<Teacher> teacher(const ExperimentSpec& spec, const Dataset& d,
                                     const torch::Device& device, int64_t runId) {
        const TeacherOptions& o = *spec.teacher;
        auto t = std::make_shared<Teacher>();
        Json keySpec;
        std::string fileBytes;
        Json runTeacherSpec;  // teacher.run with model "teacher": that teacher's stored spec
        if (o.kind == TeacherOptions::Kind::Zoo) {
            keySpec = spec.toJson()["teacher"];
            keySpec["seed"] = o.seed.value_or(spec.seed);
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
            const auto source = store.run(o.run);
            if (!source)
                throw std::runtime_error("teacher.run: the project has no run " +
                                         std::to_string(o.run));
            if (o.run_model == "teacher") {
                // The run's own (zoo) teacher, as stored with its architecture.
                const auto stored =
                    source->results.contains("teacher_key")
                        ? store.teacher(source->results["teacher_key"].get<std::string>())
                        : std::nullopt;
                if (!stored || !stored->spec.contains("arch"))
                    throw std::runtime_error("teacher.model: run " + std::to_string(o.run) +
                                             " has no stored zoo teacher");
                fileBytes = stored->state;
                runTeacherSpec = stored->spec;
            } else {
                auto state = store.artifact(o.run, "student");
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
        const std::string cacheKey = t->key + "|" + device.str();
        if (auto it = teachers.find(cacheKey); it != teachers.end()) return it->second;
        if (teachers.size() >= 2)
            teachers.clear();  // bound memory: a sweep usually has one teacher

        std::optional<TeacherRecord> stored = store.teacher(t->key);
        if (stored && stored->spec != keySpec) stored.reset();  // a hash collision: do not reuse
        TeacherRecord record{t->key, keySpec, {}, Json::object()};
        if (o.kind == TeacherOptions::Kind::Zoo) {
            torch::manual_seed(static_cast<uint64_t>(o.seed.value_or(spec.seed)));
            t->zoo = ZooNet(o.model, d.shape.sample_shape, d.shape.classes);
            t->zoo->to(device);
            t->paramCount = t->zoo->summary().param_count;
            t->flops = t->zoo->summary().flops;
            if (stored) {
                loadModule(*t->zoo, stored->state);
                record = *stored;
                message(runId, "teacher", "reusing the stored teacher " + t->key.substr(0, 8));
            } else if (o.train) {
                record.summary["epochs"] =
                    trainTeacher(t->zoo, *o.train, d, o.seed.value_or(spec.seed), runId);
                record.state = saveModule(*t->zoo);
            } else {
                record.state = saveModule(*t->zoo);  // frozen at initialization
            }
            t->trained = o.train.has_value();
            freeze(*t->zoo);
            torch::NoGradGuard guard;
            t->forward = frozenForward(t->zoo);
        } else if (o.kind == TeacherOptions::Kind::TorchScript) {
            t->script = std::make_shared<torch::jit::Module>(
                loadTorchScript(fileBytes, o.torchscript, device));
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
            auto run = store.run(o.run);
            ZooNet net{nullptr};
            if (o.run_model == "teacher") {
                ModelOptions m;
                m.arch = runTeacherSpec.value("arch", std::string("mlp"));
                m.hidden = runTeacherSpec.value("hidden", std::vector<int64_t>{});
                m.channels = runTeacherSpec.value("channels", std::vector<int64_t>{});
                net = ZooNet(m, d.shape.sample_shape, d.shape.classes);
            } else {
                net = buildFromDescription(run->results.at("model"));
            }
            loadModule(*net, fileBytes);
            net->to(device);
            freeze(*net);
            t->zoo = net;
            t->paramCount = net->summary().param_count;
            t->flops = net->summary().flops;
            torch::NoGradGuard guard;
            t->forward = frozenForward(net);
        }
        // The outputs over the training set: from the project when an earlier run or process
        // computed them for this teacher and data, else computed once now and stored.
        std::optional<ProjectStore::TeacherOutputs> cached;
        try {
            cached = store.teacherOutputs(t->key);
        } catch (const CorruptArtifactError& e) {
            // A cache: recomputed from the teacher and replaced, never loaded corrupt.
            message(runId, "teacher_outputs", std::string(e.what()) + "; recomputing them");
        }
        if (cached) {
            try {
                torch::Tensor logits = deserializeTensor(cached->logits);
                if (logits.dim() == 2 && logits.size(0) == d.train_x.size(0) &&
                    logits.size(1) == d.shape.classes && logits.is_floating_point()) {
                    t->trainLogits = logits.to(d.train_x.device());
                    t->testAccuracy = cached->test_accuracy;
                    message(runId, "teacher_outputs",
                            "reusing the teacher's stored outputs for the training set");
                }
            } catch (const std::exception&) {
                // An unreadable cache entry is recomputed and replaced below.
            }
        }
        if (!t->trainLogits.defined()) {
            message(runId, "teacher_outputs",
                    "computing the frozen teacher's outputs once for the training set");
            t->testAccuracy = accuracy(t->forward, d.test_x, d.test_y);
            t->trainLogits = batchedLogits(t->forward, d.train_x);
            store.saveTeacherOutputs(t->key,
                                     {serializeTensor(t->trainLogits.cpu()), t->testAccuracy});
        }
        t->valAccuracy = accuracy(t->forward, d.val_x, d.val_y);
        {
            // A teacher near chance was almost always fed the wrong input (teacher.input) or
            // never trained: say so rather than distil noise in silence.
            const bool onVal = std::isfinite(t->valAccuracy);
            const torch::Tensor ys = (onVal ? d.val_y : d.test_y).cpu();
            const double acc = onVal ? t->valAccuracy : t->testAccuracy;
            if (ys.numel() > 0 && std::isfinite(acc)) {
                const double chance = torch::bincount(ys).max().item<double>() / double(ys.numel());
                if (acc < chance + 0.05) {
                    std::ostringstream w;
                    w.precision(3);
                    w << "the teacher scores " << acc * 100 << " % on "
                      << (onVal ? "validation" : "test") << ", near chance (" << chance * 100
                      << " %, the largest class)"
                      << (o.kind == TeacherOptions::Kind::TorchScript
                              ? ": check teacher.input (what the module expects)"
                          : o.kind == TeacherOptions::Kind::Zoo && !o.train
                              ? ": it was never trained"
                              : "");
                    t->warnings.push_back(w.str());
                }
            }
            if (o.kind == TeacherOptions::Kind::Zoo && !o.train)
                t->warnings.push_back("the teacher has no train section: a random network");
            for (const auto& w : t->warnings) message(runId, "teacher", "warning: " + w);
        }
        if (!stored && o.kind != TeacherOptions::Kind::Run) {
            record.summary["test_accuracy"] = t->testAccuracy;
            record.summary["param_count"] = t->paramCount;
            record.summary["flops"] = t->flops;
            store.saveTeacher(record);
        }
        teachers[cacheKey] = t;
        return t;
    }

    /// The parameters a training stage gives its optimizer, picked by their graph roles: every
    /// one for teacher training and distillation (head-only and adapter stages will pick here).
    static std::vector<torch::Tensor> trainable(ZooNet& net) {
        return selectParameters(*net, modelGraph(*net),
                                [](const GraphNode&, const GraphParam&) { return true; });
    }

    /// Stage one: trains a zoo teacher on the labels. Returns its per-epoch metrics.
    Json trainTeacher(ZooNet& net, const TrainOptions& train, const Dataset& d, int64_t seed,
                      int64_t runId) {
        message(runId, "teacher", "training the teacher (stage one)");
        auto opt = makeOptimizer(train, trainable(net));
        DistillOptions none;
        none.lambda = 0;
        int64_t step = 0;
        Json epochs = Json::array();
        for (int64_t e = 1; e <= train.epochs; ++e) {
            for (auto& g : opt->param_groups()) g.options().set_lr(epochLr(train, e));
            EpochStats s = trainEpoch(net, *opt, d, {}, train, none, nullptr,
                                      static_cast<uint64_t>(seed) * 1000003ULL + 7919ULL * e + 1, e,
                                      step, runId, "teacher");
            net->eval();
            Progress p;
            p.kind = Progress::Kind::Epoch;
            p.run_id = runId;
            p.stage = "teacher";
            p.epoch = e;
            p.epochs = train.epochs;
            p.metrics = {{"train_loss", s.loss}, {"epoch_seconds", s.seconds}};
            const double val =
                accuracy([&](const torch::Tensor& x) { return net->forward(x); }, d.val_x, d.val_y);
            if (std::isfinite(val)) p.metrics["val_accuracy"] = val;
            epochs.push_back(p.metrics);
            report(p);
        }
        return epochs;
    }

    /// Where a resumed run starts: its last completed epoch and that epoch's checkpoint.
    struct Checkpoint {
        int64_t epoch = 0;
        std::string student, optimizer;
    };

    RunOutcome resume(int64_t runId) {
        const auto r = store.run(runId);
        if (!r) throw std::invalid_argument("the project has no run " + std::to_string(runId));
        if (r->status != "interrupted" && r->status != "cancelled" && r->status != "queued")
            throw std::invalid_argument("run " + std::to_string(runId) + " is " + r->status +
                                        "; only interrupted, cancelled or queued runs resume");
        std::vector<SpecIssue> issues;
        ExperimentSpec spec = ExperimentSpec::fromJson(r->spec, issues);
        if (!issues.empty()) throw SpecError(issues);
        Checkpoint cp;
        auto student = store.artifact(runId, "checkpoint_student");
        auto optimizer = store.artifact(runId, "checkpoint_optimizer");
        if (student && optimizer) {
            for (const auto& m : store.metrics(runId)) cp.epoch = std::max(cp.epoch, m.epoch);
            cp.student = *student;
            cp.optimizer = *optimizer;
        }
        return run(runId, spec, cp.epoch > 0 ? &cp : nullptr);
    }

    /// Ends a run that did not complete: stored with its status and why, and returned so.
    RunOutcome endRun(int64_t runId, const std::string& status, const std::string& why) {
        store.finishRun(runId, status, Json::object(), {}, {}, why);
        return {status, why, Json::object()};
    }

    RunOutcome run(int64_t runId, const ExperimentSpec& spec,
                   const Checkpoint* resumeFrom = nullptr) {
        const int threads = applyThreads(spec.threads);
        (void)threads;
        torch::Device device = torch::kCPU;
        try {
            device = resolveDevice(spec.device);
        } catch (const std::exception& e) {
            store.startRun(runId, environmentInfo(torch::kCPU));
            return endRun(runId, "failed", e.what());
        }
        store.startRun(runId, environmentInfo(device));
        int64_t epoch = 0;
        try {
            return train(runId, spec, device, epoch, resumeFrom);
        } catch (const Cancelled& c) {
            return endRun(runId, "cancelled", "cancelled by the user at " + c.where);
        } catch (const CorruptArtifactError& e) {
            // A corrupt stored teacher (a StoreError, but of one artifact): the run fails
            // naming it, and nothing corrupt is loaded.
            return endRun(runId, "failed", e.what());
        } catch (const StoreError&) {
            throw;  // nothing can be recorded
        } catch (const c10::Error& e) {
            return endRun(runId, "failed", e.what_without_backtrace());
        } catch (const std::bad_alloc&) {
            return endRun(runId, "failed",
                          "out of memory at epoch " + std::to_string(epoch) +
                              " (try a smaller batch size, model or data.limit_train)");
        } catch (const std::exception& e) {
            return endRun(runId, "failed", e.what());
        }
    }

    RunOutcome train(int64_t runId, const ExperimentSpec& spec, const torch::Device& device,
                     int64_t& epoch, const Checkpoint* resumeFrom) {
        message(runId, "data", "loading " + spec.data.format + " data");
        const Dataset d = dataset(spec).to(device);
        checkCancel("data loading");

        std::shared_ptr<Teacher> teacher;
        if (spec.teacher) teacher = this->teacher(spec, d, device, runId);
        checkCancel("the teacher stage");

        // The student starts from the run's seed whatever happened before (teacher trained or
        // reused), so the same spec gives the same student.
        torch::manual_seed(static_cast<uint64_t>(spec.seed));
        ZooNet student(spec.student, d.shape.sample_shape, d.shape.classes);
        student->to(device);
        auto opt = makeOptimizer(spec.train, trainable(student));
        const int64_t n = d.train_x.size(0);
        const int64_t bs = std::min(spec.train.batch_size, n);
        const int64_t stepsPerEpoch = (n + bs - 1) / bs;
        std::unique_ptr<Pruner> pruner;
        if (spec.prune)
            pruner = std::make_unique<Pruner>(*spec.prune, spec.pruneEndEpoch(),
                                              compressibleWeights(*student), stepsPerEpoch);
        torch::Tensor teacherLogits =
            teacher && spec.distill.lambda > 0 ? teacher->trainLogits : torch::Tensor();
        int64_t firstEpoch = 1;
        if (resumeFrom) {
            loadModule(*student, resumeFrom->student);
            verifyArchive(resumeFrom->optimizer, "optimizer state");
            torch::serialize::InputArchive archive;
            std::istringstream is(resumeFrom->optimizer);
            archive.load_from(is, device);
            opt->load(archive);
            firstEpoch = resumeFrom->epoch + 1;
            if (pruner) pruner->restore(resumeFrom->epoch * stepsPerEpoch);
            message(runId, "student", "resuming after epoch " + std::to_string(resumeFrom->epoch));
        }

        message(runId, "student", "training the student");
        const auto t0 = Clock::now();
        int64_t step = (firstEpoch - 1) * stepsPerEpoch;
        auto studentFwd = [&](const torch::Tensor& x) { return student->forward(x); };
        for (epoch = firstEpoch; epoch <= spec.train.epochs; ++epoch) {
            const auto epochStart = Clock::now();
            const double lr = epochLr(spec.train, epoch);
            for (auto& g : opt->param_groups()) g.options().set_lr(lr);
            EpochStats s =
                trainEpoch(student, *opt, d, teacherLogits, spec.train, spec.distill, pruner.get(),
                           static_cast<uint64_t>(spec.seed) * 1000003ULL + uint64_t(epoch), epoch,
                           step, runId, "student");
            student->eval();
            std::map<std::string, double> m = {{"train_loss", s.loss},
                                               {"train_soft_loss", s.soft},
                                               {"train_hard_loss", s.hard},
                                               {"lr", lr},
                                               {"epoch_seconds", s.seconds}};
            const double val = accuracy(studentFwd, d.val_x, d.val_y);
            if (std::isfinite(val)) m["val_accuracy"] = val;
            m["sparsity"] = pruner ? pruner->overallSparsity() : 0.0;
            // The epoch's whole cost (training, validation, checkpoint): what wall_seconds sums,
            // so a resumed run's figures cover every epoch, not only those after the resume.
            std::string checkpoint = saveModule(*student), optState = archiveBytes(*opt);
            m["epoch_wall_seconds"] = secondsSince(epochStart);
            store.recordEpoch(runId, epoch, m, std::move(checkpoint), std::move(optState));
            Progress p;
            p.kind = Progress::Kind::Epoch;
            p.run_id = runId;
            p.stage = "student";
            p.epoch = epoch;
            p.epochs = spec.train.epochs;
            p.metrics = m;
            p.elapsed_s = secondsSince(t0);
            p.eta_s =
                p.elapsed_s / double(epoch - firstEpoch + 1) * double(spec.train.epochs - epoch);
            report(p);
        }
        epoch = spec.train.epochs;
        checkCancel("the final evaluation");

        message(runId, "evaluate", "evaluating, compressing and timing the student");
        const auto evalStart = Clock::now();
        student->eval();
        Json results;
        // The trained model before quantization: both splits, so that validation and test
        // figures always describe the same model.
        results["test_accuracy_fp32"] = accuracy(studentFwd, d.test_x, d.test_y);
        const double valAccFp32 = accuracy(studentFwd, d.val_x, d.val_y);

        // Pruning's figures come from its masks, before quantization can add zeros of its own.
        int64_t params = 0;
        for (const auto& p : student->parameters()) params += p.numel();
        std::vector<LayerRecord> layers;
        if (pruner) {
            for (const auto& l : pruner->layerSparsity())
                layers.push_back({l.name, l.numel, l.nonzero});
        } else {
            for (const auto& [name, w] : compressibleWeights(*student))
                layers.push_back({name, w.numel(), w.numel()});
        }
        int64_t prunable = 0, prunableNz = 0;
        for (const auto& l : layers) {
            prunable += l.numel;
            prunableNz += l.nonzero;
        }

        // Post-training quantization of the compressible weights (zeros stay zero).
        std::map<std::string, QuantizedTensor> quantized;
        if (spec.quantize) {
            torch::NoGradGuard guard;
            for (auto& [name, w] : compressibleWeights(*student)) {
                QuantizedTensor q = quantizeSymmetric(w, static_cast<int>(spec.quantize->bits),
                                                      spec.quantize->granularity == "per_channel");
                w.copy_(q.dequantize().to(w.device()));
                quantized.emplace(name, std::move(q));
            }
        }
        const double testAcc = accuracy(studentFwd, d.test_x, d.test_y);
        const double valAcc = accuracy(studentFwd, d.val_x, d.val_y);
        // Weights that pruning kept but quantization rounded to zero: a figure of its own.
        int64_t quantZeros = 0;
        if (spec.quantize) {
            int64_t zerosAfter = 0;
            for (const auto& [name, w] : compressibleWeights(*student))
                zerosAfter += w.numel() - w.count_nonzero().item<int64_t>();
            quantZeros = zerosAfter - (prunable - prunableNz);
        }

        // The compressed file: its byte size is compressed_size_bytes, and it must read back to
        // the same outputs as the model just evaluated.
        CompressedModel cm;
        cm.model = modelDescription(student);
        for (const auto& p : student->named_parameters()) {
            CompressedTensor ct;
            ct.name = p.key();
            ct.shape = p.value().sizes().vec();
            if (auto it = quantized.find(p.key()); it != quantized.end()) {
                ct.bits = it->second.bits;
                ct.values = it->second.codes.cpu();
                ct.scales = it->second.scales.cpu();
            } else {
                ct.values = p.value().detach().cpu();
            }
            cm.tensors.push_back(ct);
        }
        for (const auto& b : student->named_buffers())
            cm.tensors.push_back(
                {b.key(), b.value().sizes().vec(), 32, b.value().detach().cpu(), {}});
        const std::string compressed = writeCompressedModel(cm);
        {
            torch::NoGradGuard guard;
            ZooNet back = loadCompressedModel(compressed);
            back->to(device);
            auto probe = d.test_x.slice(0, 0, std::min<int64_t>(256, d.test_x.size(0)));
            auto a = student->forward(probe), b = back->forward(probe);
            const double diff = (a - b).abs().max().item<double>();
            if (!(diff <= 1e-5 * (1.0 + a.abs().max().item<double>())))
                throw std::runtime_error(
                    "the compressed model file does not reproduce the model's outputs (max diff " +
                    std::to_string(diff) + ")");
        }

        // Times over every epoch of the run, those before a resume included (per-epoch figures
        // are stored with each epoch).
        double trainSeconds = 0, epochWall = 0;
        for (const auto& mp : store.metrics(runId)) {
            if (mp.name == "epoch_seconds") trainSeconds += mp.value;
            if (mp.name == "epoch_wall_seconds") epochWall += mp.value;
        }
        if (epochWall == 0) epochWall = trainSeconds;  // runs stored before the wall figure
        const double samples = double(n) * double(spec.train.epochs);

        const ModelSummary& sum = student->summary();
        results["test_accuracy"] = testAcc;
        results["teacher_test_accuracy"] = teacher ? Json(teacher->testAccuracy) : Json();
        results["param_count"] = params;
        results["nonzero_params"] = params - (prunable - prunableNz);
        results["quantization_zero_params"] = quantZeros;
        results["size_bytes"] = sum.size_bytes;
        results["compressed_size_bytes"] = static_cast<int64_t>(compressed.size());
        results["compression_ratio"] = double(sum.size_bytes) / double(compressed.size());
        results["flops"] = sum.flops;
        results["latency_ms"] = latencyMs(student, d.test_x.slice(0, 0, 1), device);
        results["train_samples_per_s"] = trainSeconds > 0 ? samples / trainSeconds : 0.0;
        results["train_seconds"] = trainSeconds;
        results["wall_seconds"] = epochWall + secondsSince(evalStart);
        results["val_accuracy"] = std::isfinite(valAcc) ? Json(valAcc) : Json();
        results["val_accuracy_fp32"] = std::isfinite(valAccFp32) ? Json(valAccFp32) : Json();
        results["sparsity"] = prunable ? 1.0 - double(prunableNz) / double(prunable) : 0.0;
        results["classes"] = d.shape.classes;
        results["input_shape"] = d.shape.sample_shape;
        results["input_normalization"] = d.normalization;
        results["model"] = cm.model;
        results["model_graph"] = modelGraph(*student).toJson();
        results["train_samples"] = n;
        if (teacher) {
            results["teacher_trained"] = teacher->trained;
            std::vector<std::string> warnings = teacher->warnings;
            if (spec.distill.lambda > 0 && std::isfinite(teacher->valAccuracy) &&
                std::isfinite(valAccFp32) && valAccFp32 > teacher->valAccuracy) {
                // On validation: a hint, and never a choice made on the test split.
                std::ostringstream w;
                w.precision(4);
                w << "the student (" << 100 * valAccFp32 << " % validation accuracy) beats its "
                  << "teacher (" << 100 * teacher->valAccuracy
                  << " %): a teacher this weak may hold the student back; compare with a "
                     "label-only run (distill.lambda 0) before crediting distillation";
                warnings.push_back(w.str());
                message(runId, "evaluate", "warning: " + w.str());
            }
            if (!warnings.empty()) results["warnings"] = warnings;
            results["teacher_val_accuracy"] =
                std::isfinite(teacher->valAccuracy) ? Json(teacher->valAccuracy) : Json();
            results["teacher_key"] = teacher->key;
            results["teacher_param_count"] = teacher->paramCount;
            results["teacher_flops"] = teacher->flops >= 0 ? Json(teacher->flops) : Json();
            results["teacher_size_bytes"] = teacher->paramCount * 4;
        }
        store.finishRun(runId, "completed", results, layers,
                        {{"student", saveModule(*student)}, {"compressed", compressed}});
        return {"completed", "", results};
    }
};

Runner::Runner(ProjectStore& store, ProgressFn progress, const std::atomic<bool>* cancel)
    : m_impl(std::make_unique<Impl>(store, std::move(progress), cancel)) {}

Runner::~Runner() = default;

RunOutcome Runner::run(int64_t runId, const ExperimentSpec& spec) {
    return m_impl->run(runId, spec);
}

RunOutcome Runner::resume(int64_t runId) {
    return m_impl->resume(runId);
}

bool Runner::prepareTeacher(const ExperimentSpec& spec) {
    if (!spec.teacher) return false;
    applyThreads(spec.threads);
    const torch::Device device = resolveDevice(spec.device);
    const Dataset d = m_impl->dataset(spec).to(device);
    m_impl->teacher(spec, d, device, 0);
    return true;
}

void Runner::prepareData(const ExperimentSpec& spec) {
    applyThreads(spec.threads);  // the data is prepared exactly as the run will prepare it
    m_impl->dataset(spec);
}

}  // namespace retort
