#pragma once

#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "models/modelzoo.h"
#include "spec/experimentspec.h"
#include "spec/specvalidator.h"
#include "store/projectstore.h"
#include "train/runner.h"

#include <sqlite3.h>
#include <torch/serialize.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <random>
#include <string>

/// The message of a test that finds something it needs missing: it names the Debian package to
/// install. Tests fail, never skip, on a missing tool: scripts/install-deps.sh installs them all.
#define RETORT_MISSING(package, what)                                                       \
    qPrintable(QString("%1 is missing: install Debian's %2 (scripts/install-deps.sh does)") \
                   .arg(what, package))

namespace retort {
/// How QCOMPARE prints a status (found by argument-dependent lookup).
inline char* toString(RunStatus s) {
    return qstrdup(statusName(s));
}
}  // namespace retort

namespace retort::test {

/// Writes @p bytes to @p path (binary).
inline void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string readFile(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Runs SQL @p statements on the project file @p path directly (to corrupt or age it).
inline void sql(const std::string& path, const std::string& statements) {
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) qWarning("%s", err);
    sqlite3_free(err);
    sqlite3_close(db);
    QCOMPARE(rc, SQLITE_OK);
}

/// Every parameter of a network, counted.
inline int64_t countParams(ZooNet& net) {
    int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    return n;
}

/// A transformer of @p layers layers, width @p d, @p heads heads and ffn width @p ffn.
inline ModelOptions transformer(int64_t layers, int64_t d, int64_t heads, int64_t ffn,
                                double dropout = ModelOptions{}.dropout) {
    ModelOptions mo;
    mo.arch = Arch::Transformer;
    mo.layers = layers;
    mo.d_model = d;
    mo.heads = heads;
    mo.ffn = ffn;
    mo.dropout = dropout;
    return mo;
}

/// A small synthetic spec that trains in well under a second.
inline Json smallSyntheticSpec() {
    return Json::parse(R"({
      "name": "small", "seed": 5, "threads": 1, "device": "cpu",
      "data": {"format": "synthetic", "classes": 4, "train_samples": 600, "test_samples": 200,
               "shape": [1, 6, 6], "noise": 1.0},
      "teacher": {"arch": "mlp", "hidden": [32], "train": {"epochs": 2, "batch_size": 50}},
      "student": {"arch": "mlp", "hidden": [16]},
      "distill": {"temperature": 2.0, "lambda": 0.5},
      "train": {"epochs": 3, "batch_size": 50}
    })");
}

/// Pruning options for @p structure at @p sparsity, once (one_shot), in @p scope.
inline PruneOptions oneShotPrune(PruneStructure structure, double sparsity,
                                 PruneScope scope = PruneScope::Layer) {
    PruneOptions o;
    o.structure = structure;
    o.scope = scope;
    o.sparsity = sparsity;
    o.schedule = PruneSchedule::OneShot;
    return o;
}

/// Every issue of @p j: what reading it and the validator (data read) find.
/// With @p store, what the validator finds against that project (teachers of its runs).
inline std::vector<SpecIssue> specIssues(const Json& j, const ProjectStore* store = nullptr) {
    std::vector<SpecIssue> issues;
    const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
    SpecValidator v(store);
    for (const auto& i : v.validate(s)) issues.push_back(i);
    return issues;
}

/// The issues as one line each ("key: message"), for failure messages.
inline std::string issuesText(const std::vector<SpecIssue>& issues) {
    std::string out;
    for (const auto& i : issues) out += i.key + ": " + i.message + "\n";
    return out;
}

/// True when the message list has an issue for @p key whose message contains @p part.
inline bool hasIssue(const std::vector<SpecIssue>& issues, const std::string& key,
                     const std::string& part = {}) {
    for (const auto& i : issues)
        if (i.key == key && i.message.find(part) != std::string::npos) return true;
    return false;
}

/// Runs every point of @p j into @p store; returns the outcomes.
inline std::vector<RunOutcome> runAll(ProjectStore& store, const Json& j,
                                      std::vector<std::string>* messages = nullptr,
                                      const std::atomic<bool>* cancel = nullptr,
                                      std::function<void(const Progress&)> hook = {}) {
    std::vector<RunOutcome> out;
    Runner r(
        store,
        [&](const Progress& p) {
            if (messages && !p.message.empty()) messages->push_back(p.message);
            if (hook) hook(p);
        },
        cancel);
    for (const auto& p : SpecValidator(&store).plan(j)) {
        const int64_t id = store.createRun(p.name, p.spec.toJson(), p.params);
        out.push_back(r.run(id, p.spec));
    }
    return out;
}

/// A finished program: its exit code (-1 when it crashed or ran out of time), stdout, stderr.
struct ProgramResult {
    int code = -1;
    QString out, err;
};

inline ProgramResult runProgram(const QString& program, const QStringList& args,
                                int timeoutMs = 300000) {
    QProcess p;
    p.start(program, args);
    p.waitForFinished(timeoutMs);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
            QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

/// The first python3 that imports torch: the one on PATH, else Debian's; empty when none.
inline QString pythonWithTorch() {
    for (const QString& p :
         {QStandardPaths::findExecutable("python3"), QString("/usr/bin/python3")})
        if (!p.isEmpty() && runProgram(p, {"-c", "import torch"}).code == 0) return p;
    return {};
}

/// Runs examples/load_student.py --check on the checkpoint @p checkpoint: the module it builds
/// must map @p x to @p y. Files go to @p dir.
inline ProgramResult checkCheckpointInPython(const QString& python, const QTemporaryDir& dir,
                                             const std::string& checkpoint, const torch::Tensor& x,
                                             const torch::Tensor& y) {
    const std::string pt = dir.filePath("student.pt").toStdString();
    writeFile(pt, checkpoint);
    for (auto [name, t] : {std::pair{"x.pt", x}, std::pair{"y.pt", y}}) {
        const auto bytes = torch::pickle_save(t);
        writeFile(dir.filePath(name).toStdString(), std::string(bytes.begin(), bytes.end()));
    }
    return runProgram(python,
                      {RETORT_SOURCE_DIR "/examples/load_student.py", QString::fromStdString(pt),
                       "--check", dir.filePath("x.pt"), dir.filePath("y.pt")});
}

/// The common part of a small text run's spec on @p file: name, seed, CPU, a 60-piece
/// tokenizer and 16 tokens.
inline Json textRunSpec(const std::string& name, const std::string& file) {
    return {{"name", name},
            {"seed", 1},
            {"threads", 1},
            {"device", "cpu"},
            {"data",
             {{"format", "text"},
              {"path", file},
              {"tokenizer", {{"vocab_size", 60}, {"max_length", 16}}}}}};
}

/// A TSV file "texts.tsv" in @p dir of three separable classes (water, rock, music), each
/// class's texts drawing on its own words; @p perClass samples of each. Returns its path.
inline std::string writeSeparableTexts(const QTemporaryDir& dir, int perClass) {
    const std::vector<std::vector<std::string>> words = {
        {"river", "lake", "water", "stream", "flow", "wet"},
        {"stone", "rock", "granite", "hard", "cliff", "pebble"},
        {"song", "music", "melody", "sing", "tune", "choir"}};
    const std::vector<std::string> names = {"water", "rock", "music"};
    std::string tsv = "text\tlabel\n";
    std::mt19937 rng(7);
    for (int i = 0; i < perClass; ++i)
        for (size_t c = 0; c < words.size(); ++c) {
            std::string text = "sample " + std::to_string(i);
            const int n = 3 + int(rng() % 6);
            for (int k = 0; k < n; ++k) text += " " + words[c][rng() % words[c].size()];
            tsv += text + "\t" + names[c] + "\n";
        }
    const std::string path = dir.filePath("texts.tsv").toStdString();
    writeFile(path, tsv);
    return path;
}

/// The seeded study the grouped views and the report's Findings are tested on, as stored runs
/// (no training): lambda 0 (the label-only baseline), 0.9 and 0.5 (pruned: 16× smaller) over
/// seeds 1–3. Test accuracy: baseline 0.80, 0.82, 0.81; lambda 0.9 gains 3, 2, 4 pt (mean
/// +3.00 pt, 95 % interval [+0.52, +5.48] by hand); lambda 0.5 gains 1, −1, 0 pt (±0.00,
/// [−2.48, +2.48]: within noise). Validation accuracy per epoch 1–3 rises to the final one.
/// Returns the run ids in creation order (seed-major: 0, 0.9, 0.5 for seed 1, then seed 2, …).
inline std::vector<int64_t> addSeededStudy(ProjectStore& store) {
    const double base[] = {0.80, 0.82, 0.81}, gain9[] = {0.03, 0.02, 0.04},
                 gain5[] = {0.01, -0.01, 0.0};
    std::vector<int64_t> ids;
    for (int k = 0; k < 3; ++k) {
        const int64_t seed = k + 1;
        for (double lambda : {0.0, 0.9, 0.5}) {
            Json spec = smallSyntheticSpec();
            spec["seed"] = seed;
            spec["distill"]["lambda"] = lambda;
            if (lambda == 0.5) spec["prune"] = {{"sparsity", 0.9}};
            const double test = base[k] + (lambda == 0.9 ? gain9[k] : lambda == 0.5 ? gain5[k] : 0);
            const double val = test - 0.01 + 0.002 * double(k);
            const int64_t id = store.createRun(
                "seeded [lambda=" + std::to_string(lambda) + ",seed=" + std::to_string(seed) + "]",
                spec, {{"distill.lambda", lambda}, {"seed", seed}});
            store.startRun(id, Json::object());
            for (int e = 1; e <= 3; ++e)
                store.recordEpoch(id, e,
                                  {{"val_accuracy", val - 0.1 * (3 - e)},
                                   {"train_loss", 1.0 / e + 0.01 * double(k)}},
                                  "", "");
            store.finishRun(id, RunStatus::Completed,
                            {{"test_accuracy", test},
                             {"val_accuracy", val},
                             {"compressed_size_bytes", lambda == 0.5 ? 25000 : 400000},
                             {"teacher_key", "t1"},
                             {"teacher_test_accuracy", 0.9139},
                             {"teacher_param_count", 421642}},
                            {}, {});
            ids.push_back(id);
        }
    }
    return ids;
}

}  // namespace retort::test
