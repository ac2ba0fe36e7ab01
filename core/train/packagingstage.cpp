#include "train/stages.h"

#include "models/compressedmodel.h"
#include "models/modeldescription.h"
#include "models/modelgraph.h"

#include <sstream>

namespace retort::pipeline {

using namespace stagesupport;

std::vector<Slot> PackagingStage::inputs(const ExperimentSpec& spec) const {
    std::vector<Slot> in{Slot::Data, Slot::Student, Slot::Compression, Slot::Evaluation};
    if (spec.teacher) in.push_back(Slot::TeacherOutputs);  // the teacher's figures
    return in;
}

void PackagingStage::run(RunContext& ctx, StageServices& services) {
    const ExperimentSpec& spec = ctx.spec;
    const Dataset& d = *ctx.data;
    ZooNet& student = ctx.student;
    Json& results = ctx.results;

    // The compressed file: its byte size is compressed_size_bytes, and it must read back to the
    // same outputs as the model just evaluated.
    CompressedModel cm;
    cm.model = modelDescription(student);
    for (const auto& p : student->named_parameters()) {
        CompressedTensor ct;
        ct.name = p.key();
        ct.shape = p.value().sizes().vec();
        if (auto it = ctx.compression.quantized.find(p.key());
            it != ctx.compression.quantized.end()) {
            ct.bits = it->second.bits;
            ct.values = it->second.codes.cpu();
            ct.scales = it->second.scales.cpu();
            ct.groupSize = it->second.groupSize;
        } else {
            ct.values = p.value().detach().cpu();
        }
        if (spec.prune && spec.prune->structure == PruneStructure::NM) {
            ct.nmN = static_cast<int>(spec.prune->n);
            ct.nmM = static_cast<int>(spec.prune->m);
        }
        cm.tensors.push_back(ct);
    }
    for (const auto& b : student->named_buffers())
        cm.tensors.push_back({b.key(), b.value().sizes().vec(), 32, b.value().detach().cpu(), {}});
    ctx.compressed = writeCompressedModel(cm);
    {
        torch::NoGradGuard guard;
        ZooNet back = loadCompressedModel(ctx.compressed);
        back->to(ctx.device);
        // A language model's logits cover the vocabulary at every position: fewer samples.
        const int64_t probeSamples = d.shape.language_model ? 16 : 256;
        auto probe =
            trimPadding(d.test_x.slice(0, 0, std::min<int64_t>(probeSamples, d.test_x.size(0))));
        auto a = student->forward(probe), b = back->forward(probe);
        const double diff = (a - b).abs().max().item<double>();
        if (!(diff <= 1e-5 * (1.0 + a.abs().max().item<double>())))
            throw std::runtime_error(
                "the compressed model file does not reproduce the model's outputs (max diff " +
                std::to_string(diff) + ")");
    }
    // Against the original dense fp32 student: a structurally pruned run is rebuilt smaller,
    // and its own fp32 size would hide the rebuild's share of the saving.
    const int64_t sizeBytes = results.contains("dense_size_bytes")
                                  ? results["dense_size_bytes"].get<int64_t>()
                                  : results["size_bytes"].get<int64_t>();
    results["compressed_size_bytes"] = static_cast<int64_t>(ctx.compressed.size());
    results["compression_ratio"] = double(sizeBytes) / double(ctx.compressed.size());
    results["model"] = cm.model;
    results["model_graph"] = modelGraph(*student).toJson();

    const Teacher* teacher = ctx.teacher.get();
    results["teacher_test_accuracy"] = teacher ? Json(teacher->testAccuracy) : Json();
    if (teacher) {
        results["teacher_trained"] = teacher->trained;
        if (std::isfinite(teacher->testPerplexity)) {
            results["teacher_test_perplexity"] = teacher->testPerplexity;
            results["teacher_val_perplexity"] =
                std::isfinite(teacher->valPerplexity) ? Json(teacher->valPerplexity) : Json();
        }
        std::vector<std::string> warnings = teacher->warnings;
        const double valAccFp32 = ctx.compression.valAccuracyFp32;
        // A language model is compared by perplexity (lower is better): its next-token accuracy
        // can tie or cross while the distributions differ widely.
        const double valPpl = results.value("val_perplexity", Json()).is_number()
                                  ? results["val_perplexity"].get<double>()
                                  : std::nan("");
        if (d.shape.language_model) {
            if (spec.distill.lambda > 0 && std::isfinite(teacher->valPerplexity) &&
                std::isfinite(valPpl) && valPpl < teacher->valPerplexity) {
                std::ostringstream w;
                w.precision(4);
                w << "the student (validation perplexity " << valPpl << ") beats its teacher ("
                  << teacher->valPerplexity
                  << "): a teacher this weak may hold the student back; compare with a "
                     "label-only run (distill.lambda 0) before crediting distillation";
                warnings.push_back(w.str());
                services.message(ctx.runId, "evaluate", "warning: " + w.str());
            }
        } else if (spec.distill.lambda > 0 && std::isfinite(teacher->valAccuracy) &&
                   std::isfinite(valAccFp32) && valAccFp32 > teacher->valAccuracy) {
            // On validation: a hint, and never a choice made on the test split.
            std::ostringstream w;
            w.precision(4);
            w << "the student (" << 100 * valAccFp32 << " % validation accuracy) beats its "
              << "teacher (" << 100 * teacher->valAccuracy
              << " %): a teacher this weak may hold the student back; compare with a "
                 "label-only run (distill.lambda 0) before crediting distillation";
            warnings.push_back(w.str());
            services.message(ctx.runId, "evaluate", "warning: " + w.str());
        }
        for (const auto& w : warnings) results["warnings"].push_back(w);
        results["teacher_val_accuracy"] =
            std::isfinite(teacher->valAccuracy) ? Json(teacher->valAccuracy) : Json();
        results["teacher_key"] = teacher->key;
        if (teacher->trainableParams > 0) {
            results["teacher_trainable_params"] = teacher->trainableParams;
            results["teacher_trainable_share"] =
                double(teacher->trainableParams) / double(teacher->paramCount);
        }
        if (teacher->pretrain.is_object()) {
            // A teacher another run trained (shared in a sweep, or stored): this run pretrained
            // nothing; the record still says which pretrained model it came from.
            Json p = teacher->pretrain;
            if (teacher->trainedBy != ctx.runId) {
                p["reused"] = true;
                p["seconds"] = 0.0;
            }
            results["teacher_pretrain"] = p;
        }
        results["teacher_param_count"] = teacher->paramCount;
        results["teacher_flops"] = teacher->flops >= 0 ? Json(teacher->flops) : Json();
        results["teacher_size_bytes"] = teacher->paramCount * 4;
    }

    // The run's wall time: every epoch's whole cost (those before a resume too) and the stages
    // after training, this one included.
    double trainSeconds = 0, epochWall = 0;
    for (const auto& mp : services.store.metrics(ctx.runId)) {
        if (mp.name == "epoch_seconds") trainSeconds += mp.value;
        if (mp.name == "epoch_wall_seconds") epochWall += mp.value;
    }
    if (epochWall == 0) epochWall = trainSeconds;  // runs stored before the wall figure
    results["wall_seconds"] = epochWall + secondsSince(ctx.trainedAt);

    services.store.finishRun(ctx.runId, RunStatus::Completed, results, ctx.compression.layers,
                             {{"student", saveModule(*student)}, {"compressed", ctx.compressed}});
}

}  // namespace retort::pipeline
