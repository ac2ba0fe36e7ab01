#include "testutil.h"

#include "spec/speckeys.h"
#include "spec/specvalidator.h"

#include <QFile>

#include <algorithm>

using namespace retort;
using retort::test::hasIssue;

class TestSpec : public QObject {
    Q_OBJECT

    std::vector<SpecIssue> issuesOf(const Json& j) { return test::specIssues(j); }

    // ---------------------------------------------------------------- the key registry (helpers)

    static const Json* lookup(const Json& j, const std::string& dotted) {
        const Json* node = &j;
        size_t from = 0;
        while (true) {
            const size_t dot = dotted.find('.', from);
            const std::string part = dotted.substr(from, dot - from);
            if (!node->is_object() || !node->contains(part)) return nullptr;
            node = &(*node)[part];
            if (dot == std::string::npos) return node;
            from = dot + 1;
        }
    }

    /// A spec of the form @p key's conditions ask for (data format, teacher form, sections).
    static Json specFor(const SpecKey& key) {
        Json j = test::smallSyntheticSpec();
        for (const auto& c : key.when) {
            if (c.key == "teacher") {
                if (c.negate) continue;  // "a teacher": the spec has one
                const std::string form = c.values.front();
                if (form == "torchscript") j["teacher"] = {{"torchscript", "teacher.pt"}};
                if (form == "run") j["teacher"] = {{"run", 1}};
            } else if (c.values == std::vector<std::string>{"present"}) {
                if (!lookup(j, c.key)) setDotted(j, c.key, Json::object());
            } else if (!c.negate) {
                setDotted(j, c.key, c.values.front());
            } else {
                const SpecKey* on = findSpecKey(c.key);
                for (const Json& v : on->choices)
                    if (std::find(c.values.begin(), c.values.end(), v.get<std::string>()) ==
                        c.values.end()) {
                        setDotted(j, c.key, v);
                        break;
                    }
            }
        }
        return j;
    }

    /// A valid value other than the key's default: another choice, a larger number, a list.
    static Json otherValue(const SpecKey& k) {
        // Per-layer maps: one layer at a value of the key's range or choices.
        if (k.type == KeyType::NumberMap) return {{"fc1", 0.25}};
        if (k.type == KeyType::IntegerMap) return {{"fc1", k.choices.front()}};
        if (!k.choices.empty())
            return k.choices.front() == k.default_value ? k.choices.back() : k.choices.front();
        switch (k.type) {
            case KeyType::String:
                return "changed";
            case KeyType::Integer:
                return (k.default_value.is_number() ? k.default_value.get<int64_t>() : 0) + 2;
            case KeyType::Number: {
                const double d = k.default_value.get<double>();
                return k.max ? (d + *k.max) / 2 : d + 0.5;
            }
            case KeyType::IntegerList:
                return Json::array({3});
            case KeyType::Boolean:
                return !k.default_value.get<bool>();
            default:
                return Json();
        }
    }

private Q_SLOTS:
    void validSpecHasNoIssues() {
        auto issues = issuesOf(test::smallSyntheticSpec());
        QVERIFY2(issues.empty(), issues.empty() ? "" : issues[0].message.c_str());
    }

    void defaultsFollowSpecMd() {
        std::vector<SpecIssue> issues;
        ExperimentSpec s = ExperimentSpec::fromJson(Json::object(), issues);
        QVERIFY(issues.empty());
        QCOMPARE(s.device, std::string("auto"));
        QCOMPARE(s.data.format, DataFormat::Idx);
        QCOMPARE(s.data.path, std::string("/usr/share/datasets/fashion-mnist"));
        QCOMPARE(s.distill.temperature, 4.0);
        QCOMPARE(s.train.batch_size, int64_t(128));
        QVERIFY(!s.prune && !s.quantize && !s.teacher);
    }

    void unknownKeys() {
        Json j = test::smallSyntheticSpec();
        j["colour"] = "red";
        j["distill"]["temprature"] = 3;
        auto issues = issuesOf(j);
        QVERIFY(hasIssue(issues, "colour", "unknown key"));
        QVERIFY(hasIssue(issues, "distill.temprature", "unknown key"));
    }

    void wrongTypes() {
        Json j = test::smallSyntheticSpec();
        j["seed"] = "one";
        j["train"]["epochs"] = 2.5;
        j["student"]["hidden"] = {16, "x"};
        j["data"] = 3;
        auto issues = issuesOf(j);
        QVERIFY(hasIssue(issues, "seed", "must be an integer, not a string"));
        QVERIFY(hasIssue(issues, "train.epochs", "must be an integer"));
        QVERIFY(hasIssue(issues, "student.hidden", "list of integers"));
        QVERIFY(hasIssue(issues, "data", "must be an object"));
    }

    void rangeErrors_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("temperature 0") << "distill.temperature"
                                       << "0"
                                       << "must be > 0";
        QTest::newRow("temperature <0") << "distill.temperature"
                                        << "-1"
                                        << "must be > 0";
        QTest::newRow("lambda >1") << "distill.lambda"
                                   << "1.5"
                                   << "[0, 1]";
        QTest::newRow("lambda <0") << "distill.lambda"
                                   << "-0.1"
                                   << "[0, 1]";
        QTest::newRow("sparsity 1") << "prune.sparsity"
                                    << "1.0"
                                    << "[0, 1)";
        QTest::newRow("sparsity <0") << "prune.sparsity"
                                     << "-0.2"
                                     << "[0, 1)";
        QTest::newRow("bits 3") << "quantize.bits"
                                << "3"
                                << "4 or 8";
        QTest::newRow("bits 16") << "quantize.bits"
                                 << "16"
                                 << "4 or 8";
        QTest::newRow("lr 0") << "train.lr"
                              << "0"
                              << "must be > 0";
        QTest::newRow("lr <0") << "train.lr"
                               << "-0.001"
                               << "must be > 0";
        QTest::newRow("teacher lr") << "teacher.train.lr"
                                    << "0"
                                    << "must be > 0";
        QTest::newRow("epochs 0") << "train.epochs"
                                  << "0"
                                  << "at least 1";
        QTest::newRow("batch 0") << "train.batch_size"
                                 << "0"
                                 << "at least 1";
        QTest::newRow("optimizer") << "train.optimizer"
                                   << "\"rmsprop\""
                                   << "not one of";
        QTest::newRow("validation 1") << "data.validation_fraction"
                                      << "1.0"
                                      << "[0, 1)";
        QTest::newRow("device") << "device"
                                << "\"tpu\""
                                << "not one of";
        QTest::newRow("arch") << "student.arch"
                              << "\"resnet\""
                              << "not one of";
        QTest::newRow("begin epoch") << "prune.begin_epoch"
                                     << "9"
                                     << "[1, train.epochs]";
    }
    void rangeErrors() {
        QFETCH(QString, key);
        QFETCH(QString, value);
        QFETCH(QString, expected);
        Json j = test::smallSyntheticSpec();
        j["prune"] = {{"sparsity", 0.5}};
        j["quantize"] = {{"bits", 8}};
        setDotted(j, key.toStdString(), Json::parse(value.toStdString()));
        auto issues = issuesOf(j);
        QVERIFY2(hasIssue(issues, key.toStdString(), expected.toStdString()),
                 issues.empty() ? "no issue" : (issues[0].key + ": " + issues[0].message).c_str());
    }

    void lambdaNeedsTeacher() {
        Json j = test::smallSyntheticSpec();
        j.erase("teacher");
        QVERIFY(hasIssue(issuesOf(j), "distill.lambda", "without a teacher"));
        j["distill"]["lambda"] = 0;
        QVERIFY(issuesOf(j).empty());
        // A label-only spec need not write lambda: without a teacher it defaults to 0 (before,
        // it failed on a default the user never wrote).
        j.erase("distill");
        QVERIFY(issuesOf(j).empty());
    }

    void duplicateKeysAreRefused() {
        const std::string text = R"({"name": "d", "seed": 1,
          "distill": {"lambda": 0.5, "temperature": 2, "lambda": 0.9},
          "sweep": [{"seed": [1], "seed": [2]}], "seed": 3})";
        try {
            parseSpecText(text, "dup.json");
            QFAIL("duplicate keys were accepted");
        } catch (const SpecError& e) {
            QVERIFY(hasIssue(e.issues(), "distill.lambda", "dup.json: the key appears twice"));
            QVERIFY(hasIssue(e.issues(), "sweep[].seed", "appears twice"));
            QVERIFY(hasIssue(e.issues(), "seed", "appears twice"));
            QCOMPARE(e.issues().size(), size_t(3));
        }
        try {
            parseSpecText("{\n  \"name\": \"x\",\n  \"seed\": ,\n}", "bad.json");
            QFAIL("invalid JSON was accepted");
        } catch (const SpecError& e) {
            QVERIFY2(e.issues()[0].message.rfind("bad.json:3:", 0) == 0,
                     e.issues()[0].message.c_str());
        }
    }

    void relativePathsFromTheSpecsFolder() {
        // Before: resolved from the current directory, so `retort-cli run sub/spec.json` found
        // other data than `cd sub; retort-cli run spec.json`.
        QTemporaryDir dir;
        QDir().mkpath(dir.filePath("specs"));
        const std::string path = dir.filePath("specs/s.json").toStdString();
        test::writeFile(path, R"({"data": {"format": "csv", "path": "../data"},
                                 "teacher": {"torchscript": "t.pt"}})");
        const Json j = readSpecFile(path);
        QCOMPARE(j["data"]["path"].get<std::string>(), dir.filePath("data").toStdString());
        QCOMPARE(j["teacher"]["torchscript"].get<std::string>(),
                 dir.filePath("specs/t.pt").toStdString());
        test::writeFile(path, R"({"data": {"path": "/abs/data"}})");
        QCOMPARE(readSpecFile(path)["data"]["path"].get<std::string>(), std::string("/abs/data"));
    }

    void missingDataFiles() {
        QTemporaryDir dir;
        Json j = test::smallSyntheticSpec();
        j["data"] = {{"format", "idx"}, {"path", dir.path().toStdString()}};
        auto issues = issuesOf(j);
        QVERIFY(hasIssue(issues, "data.path", "train-images-idx3-ubyte: no such file"));
        j["data"] = {{"format", "csv"}, {"path", dir.path().toStdString()}};
        QVERIFY(hasIssue(issuesOf(j), "data.path", "train.csv: no such file"));
    }

    void classCountMismatch() {
        Json j = test::smallSyntheticSpec();
        j["student"]["classes"] = 7;
        auto issues = issuesOf(j);
        QVERIFY(hasIssue(issues, "student.classes", "the data has 4 classes"));
        j = test::smallSyntheticSpec();
        j["teacher"]["classes"] = 3;
        QVERIFY(hasIssue(issuesOf(j), "teacher.classes", "data has 4"));
    }

    void inputShapeMismatch() {
        Json j = test::smallSyntheticSpec();
        j["data"]["shape"] = {20};
        j["student"] = {{"arch", "cnn"}, {"channels", {4}}, {"hidden", {8}}};
        QVERIFY(hasIssue(issuesOf(j), "student.arch", "needs image input"));
        j = test::smallSyntheticSpec();
        j["data"]["shape"] = {1, 3, 3};
        j["teacher"] = {{"arch", "lenet5"}};
        QVERIFY(hasIssue(issuesOf(j), "teacher.arch", "too small"));
    }

    void teacherSources() {
        Json j = test::smallSyntheticSpec();
        j["teacher"] = {{"torchscript", "/nonexistent/teacher.pt"}};
        QVERIFY(hasIssue(issuesOf(j), "teacher.torchscript", "no such file"));
        QTemporaryDir dir;
        const std::string bogus = dir.filePath("bogus.pt").toStdString();
        test::writeFile(bogus, "this is not a TorchScript archive");
        j["teacher"] = {{"torchscript", bogus}};
        QVERIFY(hasIssue(issuesOf(j), "teacher.torchscript", "not a usable TorchScript module"));
        QVERIFY(hasIssue(issuesOf(j), "teacher.torchscript", "not a sound LibTorch archive"));
        j["teacher"] = {{"run", 12}};
        QVERIFY(hasIssue(issuesOf(j), "teacher.run", "no run 12"));
    }

    void everyProblemAtOnce() {
        Json j = test::smallSyntheticSpec();
        j["distill"]["temperature"] = -1;
        j["train"]["lr"] = 0;
        j["bogus"] = 1;
        SpecValidator v;
        try {
            v.plan(j);
            QFAIL("an invalid spec was accepted");
        } catch (const SpecError& e) {
            QCOMPARE(e.issues().size(), size_t(3));
            QVERIFY(std::string(e.what()).find("distill.temperature: must be > 0") !=
                    std::string::npos);
        }
    }

    void unknownChoicesAreOneIssueEach() {
        // A choice is read by name into its enum: a name not in the table is one issue naming
        // the key and every allowed name; the spec keeps the default, and the data are not
        // read by that default (which would add a misleading "no such file").
        Json j = test::smallSyntheticSpec();
        j["data"] = {{"format", "parquet"}, {"path", "/nonexistent"}};
        j["train"]["lr_schedule"] = "step";
        j["sweep"] = {{"train.optimizer", {"adam", "rmsprop"}}};
        SpecValidator v;
        try {
            v.plan(j);
            QFAIL("unknown choices were accepted");
        } catch (const SpecError& e) {
            QVERIFY2(e.issues().size() == 3, e.what());
            QVERIFY(hasIssue(e.issues(), "data.format",
                             "'parquet' is not one of 'idx', 'csv', 'synthetic'"));
            QVERIFY(hasIssue(e.issues(), "train.lr_schedule",
                             "'step' is not one of 'constant', "
                             "'cosine'"));
            QVERIFY(hasIssue(e.issues(), "train.optimizer", "optimizer=rmsprop"));
        }
        std::vector<SpecIssue> issues;
        const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
        QCOMPARE(s.data.format, DataFormat::Idx);
        QCOMPARE(s.train.lr_schedule, LrSchedule::Constant);
        // Written back by name, never as the enumerator's number.
        QCOMPARE(s.toJson()["train"]["lr_schedule"], Json("constant"));
        QCOMPARE(Json(PruneSchedule::OneShot), Json("one_shot"));
    }

    void sweepGrid() {
        Json j = test::smallSyntheticSpec();
        j["sweep"] = {{"distill.temperature", {1, 2, 4}}, {"prune.sparsity", {0.5, 0.9}}};
        std::vector<SpecIssue> issues;
        auto points = expandSweep(j, issues);
        QVERIFY(issues.empty());
        QCOMPARE(points.size(), size_t(6));
        // First key varies slowest; each point carries its own params and spec.
        QCOMPARE(points[0].params["distill.temperature"].get<double>(), 1.0);
        QCOMPARE(points[0].params["prune.sparsity"].get<double>(), 0.5);
        QCOMPARE(points[1].params["prune.sparsity"].get<double>(), 0.9);
        QCOMPARE(points[5].spec.distill.temperature, 4.0);
        QVERIFY(points[5].spec.prune.has_value());  // created by the dotted key
        QCOMPARE(points[5].spec.prune->sparsity, 0.9);
        QCOMPARE(points[3].name, std::string("small [temperature=2,sparsity=0.9]"));
        for (const auto& p : points) QVERIFY(p.spec.sweep.is_null());
    }

    void sweepUnionAndNull() {
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"bits", 8}};
        j["sweep"] = Json::array({Json{{"distill.lambda", {0, 0.5}}},
                                  Json{{"quantize", {nullptr}}, {"seed", {1, 2, 3}}}});
        std::vector<SpecIssue> issues;
        auto points = expandSweep(j, issues);
        QVERIFY(issues.empty());
        QCOMPARE(points.size(), size_t(5));
        QVERIFY(points[0].spec.quantize.has_value());
        QVERIFY(!points[2].spec.quantize.has_value());  // null removes the section
        QCOMPARE(points[4].spec.seed, int64_t(3));
    }

    void sweepErrors() {
        Json j = test::smallSyntheticSpec();
        j["sweep"] = {{"distill.temperature", 4}};
        std::vector<SpecIssue> issues;
        expandSweep(j, issues);
        QVERIFY(hasIssue(issues, "sweep.distill.temperature", "non-empty list"));
        j["sweep"] = {{"distill.temperatur", {1, 2}}};
        SpecValidator v;
        try {
            v.plan(j);
            QFAIL("a misspelt sweep key was accepted");
        } catch (const SpecError& e) {
            QVERIFY(hasIssue(e.issues(), "distill.temperatur", "unknown key"));
        }
        // An invalid value in one point names that point.
        j["sweep"] = {{"distill.temperature", {1, -2}}};
        try {
            v.plan(j);
            QFAIL("a negative swept temperature was accepted");
        } catch (const SpecError& e) {
            QCOMPARE(e.issues().size(), size_t(1));
            QVERIFY(hasIssue(e.issues(), "distill.temperature", "temperature=-2"));
        }
    }

    void hugeGridsAreRefusedBeforeExpansion() {
        // Found by fuzzing: a few lines of sweep can ask for billions of runs.
        Json j = test::smallSyntheticSpec();
        Json values = Json::array();
        for (int i = 1; i <= 40; ++i) values.push_back(i);
        j["sweep"] = {{"seed", values},
                      {"train.epochs", values},
                      {"student.hidden", Json::array({Json::array({1}), Json::array({2})})},
                      {"distill.temperature", values},
                      {"distill.lambda", {0, 0.5}},
                      {"train.batch_size", values}};
        std::vector<SpecIssue> issues;
        auto points = expandSweep(j, issues);  // would exhaust memory if it expanded
        QVERIFY(points.empty());
        QVERIFY(hasIssue(issues, "sweep", "expands to 10240000 runs; at most 10000"));
    }

    void jsonRoundTrip() {
        // Every key written, none at its default: toJson(fromJson(input)) must give the input
        // back (the old test compared toJson with itself, so a dropped or misread key passed).
        const Json zoo = Json::parse(R"({
          "name": "all", "seed": 11, "device": "cpu", "threads": 3,
          "data": {"format": "synthetic", "validation_fraction": 0.2, "limit_train": 500,
                   "limit_test": 100, "normalize": "none", "classes": 5, "train_samples": 700,
                   "test_samples": 300, "noise": 0.5, "shape": [1, 4, 4], "seed": 4},
          "teacher": {"arch": "cnn", "hidden": [24], "channels": [6], "classes": 5, "seed": 8,
                      "train": {"epochs": 4, "batch_size": 33, "optimizer": "sgd", "lr": 0.02,
                                "momentum": 0.8, "weight_decay": 0.001,
                                "lr_schedule": "cosine"}},
          "student": {"arch": "mlp", "hidden": [20, 10], "classes": 5},
          "distill": {"loss": "hinton", "temperature": 3.5, "lambda": 0.7},
          "prune": {"method": "magnitude", "scope": "layer", "sparsity": 0.7,
                    "schedule": "one_shot", "begin_epoch": 2, "end_epoch": 3,
                    "updates_per_epoch": 4},
          "quantize": {"bits": 4, "granularity": "per_tensor"},
          "train": {"epochs": 6, "batch_size": 40, "optimizer": "adamw", "lr": 0.003,
                    "momentum": 0.5, "weight_decay": 0.01, "lr_schedule": "cosine"}
        })");
        Json csv = zoo;
        csv["data"] = Json::parse(R"({"format": "csv", "path": "/tmp/x", "validation_fraction": 0,
            "limit_train": 0, "limit_test": 0, "normalize": "per_feature", "label_column": 2,
            "header": "yes", "classes": 3, "seed": 1})");
        csv["teacher"] = {{"torchscript", "/tmp/t.pt"},
                          {"input", {{"mean", {0.5}}, {"std", {2.0}}}}};
        for (const Json& input : {zoo, csv}) {
            std::vector<SpecIssue> issues;
            const ExperimentSpec a = ExperimentSpec::fromJson(input, issues);
            QVERIFY2(issues.empty(), issues.empty() ? "" : issues[0].key.c_str());
            const Json back = a.toJson();
            QVERIFY2(back == input, (back.dump() + "\n  vs\n" + input.dump()).c_str());
        }
        std::vector<SpecIssue> issues;
        QCOMPARE(ExperimentSpec::fromJson(zoo, issues).pruneEndEpoch(), int64_t(3));
        Json j = zoo;
        j["prune"].erase("end_epoch");
        QCOMPARE(ExperimentSpec::fromJson(j, issues).pruneEndEpoch(), int64_t(4));  // ceil(0.6*6)
    }
    void registryKeysAreReadAndWritten() {
        // Each key at a value of its own lands in the spec and comes back from toJson at that
        // value: a key bound to the wrong member, not read, or not written fails here.
        int checked = 0;
        for (const SpecKey& k : specKeys()) {
            // A one-choice key (distill.loss, prune.method) has no other value to set.
            if (k.type == KeyType::Section || k.key == "teacher.input" || k.choices.size() == 1)
                continue;
            const Json value = otherValue(k);
            QVERIFY2(!value.is_null(), k.key.c_str());
            QVERIFY2(value != k.default_value, k.key.c_str());
            Json j = specFor(k);
            setDotted(j, k.key, value);
            std::vector<SpecIssue> issues;
            const ExperimentSpec s = ExperimentSpec::fromJson(j, issues);
            QVERIFY2(
                issues.empty(),
                (k.key + ": " + (issues.empty() ? "" : issues[0].key + " " + issues[0].message))
                    .c_str());
            const Json out = s.toJson();
            const Json* written = lookup(out, k.key);
            QVERIFY2(written, (k.key + " is not written by toJson: " + out.dump()).c_str());
            QVERIFY2(*written == value,
                     (k.key + ": wrote " + written->dump() + ", set " + value.dump()).c_str());
            ++checked;
        }
        QVERIFY(checked > 50);
    }

    void registryDefaultsAreTheStructs() {
        // An empty section reads as the registry's defaults (written ones, where toJson writes
        // a key at its default).
        for (const SpecKey& k : specKeys()) {
            if (k.type == KeyType::Section || k.default_value.is_null() || k.omit_default ||
                k.key == "prune.end_epoch" || k.key == "data.path" || k.key == "distill.lambda")
                continue;
            Json j = specFor(k);
            // Remove what the small spec sets, so the default shows.
            Json* parent = &j;
            const std::string leaf = k.key.substr(k.key.rfind('.') + 1);
            if (k.key.find('.') != std::string::npos) {
                const Json* p = lookup(j, k.key.substr(0, k.key.rfind('.')));
                if (!p) continue;
                parent = const_cast<Json*>(p);
            }
            parent->erase(leaf);
            std::vector<SpecIssue> issues;
            const Json out = ExperimentSpec::fromJson(j, issues).toJson();
            const Json* written = lookup(out, k.key);
            if (!written) continue;  // not written in this form
            QVERIFY2(*written == k.default_value,
                     (k.key + ": " + written->dump() + " vs " + k.default_value.dump()).c_str());
        }
    }

    void registryChecksRanges() {
        // Past a registry bound is an issue that names the key; inside is none.
        for (const SpecKey& k : specKeys()) {
            if (k.type != KeyType::Integer && k.type != KeyType::Number) continue;
            if (!k.min || !k.choices.empty()) continue;
            Json j = specFor(k);
            const double below = k.min_exclusive ? *k.min : *k.min - 1;
            setDotted(j, k.key, k.type == KeyType::Integer ? Json(int64_t(below)) : Json(below));
            QVERIFY2(hasIssue(issuesOf(j), k.key), k.key.c_str());
        }
        Json j = test::smallSyntheticSpec();
        j["quantize"] = {{"bits", 3}};
        QVERIFY(hasIssue(issuesOf(j), "quantize.bits", "must be 4 or 8"));
    }

    void sweepRefusesWhatCannotBeSwept() {
        Json j = test::smallSyntheticSpec();
        j["sweep"] = {{"name", {"a", "b"}}};
        std::vector<SpecIssue> issues;
        expandSweep(j, issues);
        QVERIFY(hasIssue(issues, "sweep.name", "not a key that can be swept"));
        j["sweep"] = {{"quantize.bits", {4, 8}}};
        issues.clear();
        QCOMPARE(expandSweep(j, issues).size(), size_t(2));
        QVERIFY(issues.empty());
    }

    void docsKeyTableIsTheRegistry() {
        QFile f(QStringLiteral(RETORT_SOURCE_DIR "/docs/spec.md"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const std::string text = f.readAll().toStdString();
        const std::string begin = "<!-- spec-keys:begin (retort-cli keys --markdown) -->\n",
                          end = "<!-- spec-keys:end -->";
        const size_t a = text.find(begin), b = text.find(end);
        QVERIFY2(a != std::string::npos && b != std::string::npos && b > a,
                 "docs/spec.md has no spec-keys markers");
        const std::string table = text.substr(a + begin.size(), b - a - begin.size());
        QVERIFY2(table == specKeysMarkdown(),
                 "docs/spec.md's key table differs from the registry: regenerate it with "
                 "retort-cli keys --markdown");
    }
};

QTEST_APPLESS_MAIN(TestSpec)
#include "tst_spec.moc"
