#pragma once

// The stages of a run (inside core/train only), each in the file named after it. What each reads
// and fills is declared with it; Pipeline::plan checks the order.

#include "train/pipeline.h"

namespace retort::pipeline {

/// Loads the data (kept across runs by StageServices) and moves it to the run's device.
class DataStage : public Stage {
public:
    std::string name() const override { return "data"; }
    std::vector<Slot> inputs(const ExperimentSpec&) const override { return {}; }
    std::vector<Slot> outputs() const override { return {Slot::Data}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// Builds the teacher: a zoo teacher trained on the labels (or reused from the project), a
/// TorchScript module, or an earlier run's model. Kept in memory across runs by its key.
class TeacherStage : public Stage {
public:
    std::string name() const override { return "teacher"; }
    bool applies(const ExperimentSpec& spec) const override { return spec.teacher.has_value(); }
    std::vector<Slot> inputs(const ExperimentSpec&) const override { return {Slot::Data}; }
    std::vector<Slot> outputs() const override { return {Slot::Teacher}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// The frozen teacher's outputs over the training set (from the project when stored), its test
/// and validation accuracy, and its warnings; stores a new teacher once these are known.
class TeacherOutputsStage : public Stage {
public:
    std::string name() const override { return "teacher_outputs"; }
    bool applies(const ExperimentSpec& spec) const override { return spec.teacher.has_value(); }
    std::vector<Slot> inputs(const ExperimentSpec&) const override {
        return {Slot::Data, Slot::Teacher};
    }
    std::vector<Slot> outputs() const override { return {Slot::TeacherOutputs}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// Trains the student from the run's seed (distilled when the teacher's outputs weigh in, pruned
/// on its schedule), or continues it from a checkpoint; records and checkpoints every epoch.
class StudentStage : public Stage {
public:
    std::string name() const override { return "student"; }
    std::vector<Slot> inputs(const ExperimentSpec& spec) const override;
    std::vector<Slot> outputs() const override { return {Slot::Student}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// Records the trained model's figures, then compresses it: pruning's per-layer figures from its
/// masks, post-training quantization of the compressible weights.
class CompressionStage : public Stage {
public:
    std::string name() const override { return "compression"; }
    std::vector<Slot> inputs(const ExperimentSpec&) const override {
        return {Slot::Data, Slot::Student};
    }
    std::vector<Slot> outputs() const override { return {Slot::Compression}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// The compressed student's accuracy, sizes, cost, latency and training throughput.
class EvaluationStage : public Stage {
public:
    std::string name() const override { return "evaluation"; }
    std::vector<Slot> inputs(const ExperimentSpec&) const override {
        return {Slot::Data, Slot::Student, Slot::Compression};
    }
    std::vector<Slot> outputs() const override { return {Slot::Evaluation}; }
    void run(RunContext& ctx, StageServices& services) override;
};

/// Writes the compressed model file and checks that it reproduces the model's outputs, adds the
/// model's description and the teacher's figures to the results, and stores the run completed.
class PackagingStage : public Stage {
public:
    std::string name() const override { return "packaging"; }
    std::vector<Slot> inputs(const ExperimentSpec& spec) const override;
    std::vector<Slot> outputs() const override { return {Slot::Package}; }
    void run(RunContext& ctx, StageServices& services) override;
};

}  // namespace retort::pipeline
