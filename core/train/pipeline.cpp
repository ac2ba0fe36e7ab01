#include "train/pipeline.h"

#include "compress/pruner.h"
#include "train/stages.h"

#include <iterator>
#include <sstream>
#include <stdexcept>

namespace retort::pipeline {

const char* slotName(Slot s) {
    static constexpr const char* names[] = {
        "data", "teacher", "teacher_outputs", "student", "compression", "evaluation", "package"};
    static_assert(std::size(names) == size_t(Slot::Package) + 1, "a name for every slot");
    return names[static_cast<size_t>(s)];
}

RunContext::RunContext(int64_t id, const ExperimentSpec& s, torch::Device d)
    : runId(id), spec(s), device(d) {}

RunContext::~RunContext() = default;

StageServices::StageServices(ProjectStore& s, ProgressFn p, const std::atomic<bool>* c)
    : store(s), progress(std::move(p)), cancel(c) {}

void StageServices::report(const Progress& p) const {
    if (progress) progress(p);
}

void StageServices::message(int64_t runId, const std::string& stage,
                            const std::string& text) const {
    Progress p;
    p.run_id = runId;
    p.stage = stage;
    p.message = text;
    report(p);
}

void StageServices::checkCancel(const std::string& where) const {
    if (cancel && cancel->load()) throw Cancelled{where};
}

std::string tokenTargetsKey(const DistillOptions& distill) {
    std::ostringstream key;
    key.precision(17);
    key << distill.temperature << "|" << distill.top_k;
    return key.str();
}

const Dataset& StageServices::dataset(const ExperimentSpec& spec) {
    const std::string key = spec.toJson()["data"].dump() + "|" + dataStamp(spec.data) + "|" +
                            choiceName(spec.task);  // data.seed is in the JSON
    if (key != dataKey || !cpuData) {
        cpuData.reset();  // the old data is freed before the new is read
        // Text data's tokenizer: trained once and kept in the project for every run after.
        TokenizerCache tokenizers;
        tokenizers.find = [this](const std::string& k) {
            return store.tokenizer(k).value_or(std::string());
        };
        tokenizers.save = [this](const std::string& k, const std::string& model, const Json& info) {
            store.saveTokenizer(k, model, info);
        };
        Dataset loaded = loadDataset(spec.data, &tokenizers, spec.task);
        cpuData = std::make_shared<Dataset>(
            spec.task == Task::LanguageModel ? languageModelData(loaded) : std::move(loaded));
        dataKey = key;
    }
    return *cpuData;
}

Pipeline& Pipeline::add(std::unique_ptr<Stage> stage) {
    m_stages.push_back(std::move(stage));
    return *this;
}

std::vector<Stage*> Pipeline::plan(const ExperimentSpec& spec) const {
    std::vector<Stage*> out;
    std::map<Slot, std::string> filledBy;
    for (const auto& s : m_stages) {
        if (!s->applies(spec)) continue;
        for (Slot in : s->inputs(spec))
            if (!filledBy.count(in))
                throw std::logic_error("the " + s->name() + " stage reads the " + slotName(in) +
                                       " slot, which no stage before it fills");
        for (Slot o : s->outputs()) {
            if (auto it = filledBy.find(o); it != filledBy.end())
                throw std::logic_error("the " + s->name() + " stage fills the " + slotName(o) +
                                       " slot, which the " + it->second + " stage filled");
            filledBy[o] = s->name();
        }
        out.push_back(s.get());
    }
    return out;
}

void Pipeline::run(RunContext& ctx, StageServices& services) const {
    const std::vector<Stage*> stages = plan(ctx.spec);
    // Once the student is trained (every epoch stored), what is left (compressing, evaluating,
    // packaging: seconds, no training) finishes the run: a cancel then would only throw away the
    // figures of a trained model, which resume would compute again exactly.
    bool trained = false, said = false;
    for (size_t i = 0; i < stages.size(); ++i) {
        if (i > 0 && !trained)
            services.checkCancel("the end of the " + stages[i - 1]->name() + " stage");
        else if (trained && !said && services.cancel && services.cancel->load()) {
            services.message(ctx.runId, stages[i]->name(),
                             "cancel asked after training ended: finishing the evaluation");
            said = true;
        }
        stages[i]->run(ctx, services);
        for (Slot o : stages[i]->outputs()) {
            ctx.filled.insert(o);
            trained |= o == Slot::Student;
        }
    }
}

namespace {
Pipeline teacherStages() {
    Pipeline p;
    p.add(std::make_unique<DataStage>())
        .add(std::make_unique<TeacherStage>())
        .add(std::make_unique<TeacherOutputsStage>());
    return p;
}
}  // namespace

Pipeline standardPipeline() {
    Pipeline p = teacherStages();
    p.add(std::make_unique<StudentStage>())
        .add(std::make_unique<CompressionStage>())
        .add(std::make_unique<EvaluationStage>())
        .add(std::make_unique<PackagingStage>());
    return p;
}

Pipeline teacherPipeline() {
    return teacherStages();
}

}  // namespace retort::pipeline
