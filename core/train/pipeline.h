#pragma once

// The runner as a pipeline of stages (inside core/train only). Each stage declares the slots of a
// run it reads and those it fills; before a run starts the pipeline checks that every slot a stage
// reads was filled by a stage before it, so a new stage (pretraining, quantization-aware training,
// fine-tuning) is one class and one line in standardPipeline(), and a stage put in the wrong place
// is refused by name rather than reading an empty slot.

#include "compress/distillation.h"
#include "compress/quantizer.h"
#include "compress/rebuild.h"
#include "data/dataset.h"
#include "models/modelzoo.h"
#include "spec/experimentspec.h"
#include "store/projectstore.h"
#include "train/progress.h"
#include "train/stagesupport.h"

#include <torch/script.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace retort {

class Pruner;

namespace pipeline {

/// What a run holds between its stages. Each slot is filled by exactly one stage.
enum class Slot {
    Data,            ///< the run's splits on its device
    Teacher,         ///< the frozen teacher: how to call it, what it costs
    TeacherOutputs,  ///< its outputs over the training set and its accuracies
    Student,         ///< the trained student (and its pruning masks)
    Compression,     ///< the student compressed: its layers' sparsity, quantized weights
    Evaluation,      ///< the compressed student's figures
    Package,         ///< the compressed file, checked, and the run stored
};

/// The slot's name as errors and docs print it ("teacher_outputs").
const char* slotName(Slot s);

/// Thrown inside a run when the cancel flag is seen; the run ends `cancelled`.
struct Cancelled {
    std::string where;
};

/// Where a resumed run starts: its last completed epoch and that epoch's checkpoint.
struct Checkpoint {
    int64_t epoch = 0;
    std::string student, optimizer;
};

/// A frozen teacher: how to call it and what it costs (slots Teacher and TeacherOutputs).
/// A language model teacher's next-token targets over the training set, for one temperature and
/// k: the top-k rows of every position that has a next token, sample after sample in the
/// training set's order (sample i's rows start at offsets[i], one per target position).
struct TeacherTokenTargets {
    TopKTargets topk;       ///< on the CPU (moved to the device a batch at a time)
    torch::Tensor offsets;  ///< int64 [training samples], CPU
};

/// A language model teacher's TeacherTokenTargets over @p d's training set at @p temperature,
/// top @p k (no gradients, batches of 64); @p checkCancel runs before each batch.
TeacherTokenTargets teacherTokenTargets(const stagesupport::Forward& teacher, const Dataset& d,
                                        double temperature, int64_t k,
                                        const std::function<void()>& checkCancel = {});

/// The rows of @p targets for the training samples @p idx whose predicted positions are @p mask
/// [samples, positions] (each sample's first positions, up to its last target), in the order
/// logits.index({mask}) lists the positions. CPU int64.
torch::Tensor teacherTokenRows(const TeacherTokenTargets& targets, const torch::Tensor& idx,
                               const torch::Tensor& mask);

/// Which TeacherTokenTargets a run's distillation uses: "temperature|k".
std::string tokenTargetsKey(const DistillOptions& distill);

struct Teacher {
    std::string key;       ///< the teacher's key in the project (hash of what defines it)
    std::string cacheKey;  ///< key and device: the runner's in-memory cache entry
    stagesupport::Forward forward;
    ZooNet zoo{nullptr};
    std::shared_ptr<torch::jit::Module> script;
    int64_t paramCount = 0;
    int64_t flops = -1;  // unknown for TorchScript
    double testAccuracy = std::nan("");
    double valAccuracy = std::nan("");  // on the run's validation split (NaN: none)
    std::vector<std::string> warnings;  // what a researcher must know about it
    bool trained = true;                // false: a zoo teacher frozen at its random initialization
    int64_t trainableParams = 0;        // parameters its training updated (0: not trained here)
    Json pretrain;                      // its pretraining (pretrain's outcome), or null
    int64_t trainedBy = 0;              // the run that trained it here (0: loaded from the project)
    torch::Tensor trainLogits;          // cached outputs over the training set, on the device
    /// language_model: next-token targets over the training set by "temperature|k" (in memory,
    /// built once per teacher and setting; what trainLogits is for a classifier)
    std::map<std::string, TeacherTokenTargets> tokenTargets;
    double testPerplexity = std::nan(""), valPerplexity = std::nan("");  // language_model
    std::optional<TeacherRecord> unsaved;  // the record to store once its outputs are known
    bool outputsReady = false;             // TeacherOutputs filled (a teacher from the cache)
};

/// Slot Compression: what compressing the trained student did to it.
struct Compression {
    double testAccuracyFp32 = std::nan("");  ///< before quantization (test split)
    double valAccuracyFp32 = std::nan("");   ///< before quantization (validation split)
    std::vector<LayerRecord> layers;         ///< per compressible tensor: elements, nonzeros
    int64_t prunable = 0, prunableNonzero = 0;
    std::map<std::string, QuantizedTensor> quantized;  ///< by parameter name, when quantized
    std::vector<UnitCount> units;          ///< structured pruning: units per layer before and kept
    double denseLatencyMs = std::nan("");  ///< structured: the masked full-width model's latency
    int64_t denseParamCount = 0;           ///< structured: parameters before the rebuild
};

/// One run's state as it passes through the stages.
struct RunContext {
    RunContext(int64_t runId, const ExperimentSpec& spec, torch::Device device);
    ~RunContext();

    int64_t runId = 0;
    const ExperimentSpec& spec;
    torch::Device device;
    const Checkpoint* resumeFrom = nullptr;  ///< set: the student continues from it
    int64_t epoch = 0;                       ///< the student's epoch reached (for error messages)
    std::set<Slot> filled;                   ///< the slots the stages run so far have filled

    std::shared_ptr<const Dataset> data;        ///< Data
    std::shared_ptr<Teacher> teacher;           ///< Teacher (TeacherOutputs completes it)
    ZooNet student{nullptr};                    ///< Student
    std::unique_ptr<Pruner> pruner;             ///< Student: its masks, when spec.prune
    stagesupport::Clock::time_point trainedAt;  ///< Student: when training ended
    Compression compression;                    ///< Compression
    Json results;            ///< Evaluation and Package: the run's stored results
    std::string compressed;  ///< Package: the compressed model file
};

/// What stages share across runs: the project, progress, cancel and the in-memory caches.
struct StageServices {
    StageServices(ProjectStore& store, ProgressFn progress, const std::atomic<bool>* cancel);

    ProjectStore& store;
    ProgressFn progress;
    const std::atomic<bool>* cancel;

    std::string dataKey;                                       ///< what cpuData was loaded from
    std::shared_ptr<Dataset> cpuData;                          ///< the last data loaded, on the CPU
    std::map<std::string, std::shared_ptr<Teacher>> teachers;  ///< by Teacher::cacheKey

    void report(const Progress& p) const;
    void message(int64_t runId, const std::string& stage, const std::string& text) const;
    /// Throws Cancelled{where} when the cancel flag is set.
    void checkCancel(const std::string& where) const;
    /// The data of @p spec on the CPU: loaded once, and again only when the data section, the
    /// seed or the files' stamps change (a workbench left open reads data changed on disk anew).
    const Dataset& dataset(const ExperimentSpec& spec);
};

/// One unit of a run, with what it reads and what it fills.
class Stage {
public:
    virtual ~Stage() = default;
    /// The stage's name, as progress reports and errors say it.
    virtual std::string name() const = 0;
    /// Whether the stage runs for @p spec (a teacher stage only when there is a teacher).
    virtual bool applies(const ExperimentSpec& spec) const { return true; }
    /// The slots it reads for @p spec.
    virtual std::vector<Slot> inputs(const ExperimentSpec& spec) const = 0;
    /// The slots it fills.
    virtual std::vector<Slot> outputs() const = 0;
    virtual void run(RunContext& ctx, StageServices& services) = 0;
};

/// Stages in order.
class Pipeline {
public:
    Pipeline& add(std::unique_ptr<Stage> stage);
    /// The stages that apply to @p spec, in order. Throws std::logic_error naming the stage and
    /// the slot when a stage reads a slot no stage before it fills, or two stages fill one slot.
    std::vector<Stage*> plan(const ExperimentSpec& spec) const;
    /// Runs the plan for ctx.spec, checking the cancel flag between stages.
    void run(RunContext& ctx, StageServices& services) const;

private:
    std::vector<std::unique_ptr<Stage>> m_stages;
};

/// A run's stages: data, teacher, teacher outputs, student, compression, evaluation, packaging.
Pipeline standardPipeline();
/// The stages that prepare a teacher for a sweep: data, teacher, teacher outputs.
Pipeline teacherPipeline();

}  // namespace pipeline
}  // namespace retort
