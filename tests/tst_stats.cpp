// Statistics over seeds: Student's t against textbook quantiles, means with intervals (n = 1,
// n = 2, identical values), paired and Welch differences, unmatched seeds; runs grouped into
// configurations (a spec that differs only in a seed, or in a seed's default, is one
// configuration) and compared with a baseline.
#include "testutil.h"

#include "stats/configurations.h"
#include "stats/findings.h"
#include "stats/pareto.h"
#include "stats/seedstats.h"

#include <cmath>

using namespace retort;

namespace {

bool near(double a, double b, double tol) {
    return std::abs(a - b) <= tol;
}

/// A completed run of the demo's shape with the given seed, lambda and test accuracy.
RunRecord run(int64_t id, int64_t seed, double lambda, double testAcc, double valAcc) {
    RunRecord r;
    r.id = id;
    r.status = RunStatus::Completed;
    r.name = "demo [lambda=" + std::to_string(lambda) + ",seed=" + std::to_string(seed) + "]";
    // teacher.seed as the resolved spec stores it: its default is the run's seed.
    r.spec = {{"name", "demo"},
              {"seed", seed},
              {"data", {{"format", "synthetic"}, {"limit_train", 0}}},
              {"teacher", {{"arch", "cnn"}, {"seed", seed}}},
              {"student", {{"arch", "mlp"}, {"hidden", {128}}}},
              {"distill", {{"temperature", 4.0}, {"lambda", lambda}}}};
    r.params = {{"distill.lambda", lambda}, {"seed", seed}};
    r.results = {{"test_accuracy", testAcc}, {"val_accuracy", valAcc}};
    return r;
}

/// A completed run of one configuration (lambda) and seed with its test and validation accuracy,
/// compressed size and teacher.
RunRecord sized(int64_t id, int64_t seed, double lambda, double test, double val, double bytes,
                const std::string& teacher = "t1") {
    RunRecord r = run(id, seed, lambda, test, val);
    r.results["compressed_size_bytes"] = bytes;
    r.results["teacher_key"] = teacher;
    r.results["teacher_test_accuracy"] = 0.9139;
    r.results["teacher_param_count"] = 421642;
    return r;
}

}  // namespace

class TestStats : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void studentTAgainstTables() {
        // Two-sided 95 % critical values (any statistics table).
        const std::vector<std::pair<double, double>> table = {
            {1, 12.7062047}, {2, 4.3026527},  {3, 3.1824463},  {4, 2.7764451},
            {5, 2.5705818},  {10, 2.2281389}, {30, 2.0422725}, {1e6, 1.9599663}};
        for (auto [df, t] : table)
            QVERIFY2(near(studentTQuantile(0.975, df), t, 1e-6),
                     qPrintable(QString("df %1: %2").arg(df).arg(studentTQuantile(0.975, df))));
        QVERIFY(near(studentTQuantile(0.995, 4), 4.6040949, 1e-6));
        QVERIFY(near(studentTQuantile(0.025, 3), -3.1824463, 1e-6));
        QCOMPARE(studentTQuantile(0.5, 7), 0.0);
        QVERIFY(near(studentTCdf(0, 3), 0.5, 1e-12));
        QVERIFY(near(studentTCdf(12.7062047, 1), 0.975, 1e-8));
        QVERIFY(near(studentTCdf(-2.2281389, 10), 0.025, 1e-8));
        // Cauchy (df 1) in closed form: 1/2 + atan(t)/π.
        QVERIFY(near(studentTCdf(3.0, 1), 0.5 + std::atan(3.0) / M_PI, 1e-12));
        bool threw = false;
        try {
            studentTQuantile(1.0, 3);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        QVERIFY(threw);
    }

    void meanIntervals() {
        const MeanInterval three = meanInterval({1, 2, 3});
        QCOMPARE(three.n, int64_t(3));
        QCOMPARE(three.mean, 2.0);
        QVERIFY(near(three.sd, 1.0, 1e-12));
        QVERIFY(near(three.half, 4.3026527 / std::sqrt(3.0), 1e-6));  // 2.48414
        const MeanInterval two = meanInterval({1, 3});
        QVERIFY(near(two.half, 12.7062047, 1e-6));  // t(1) · √2 / √2
        const MeanInterval one = meanInterval({0.88});
        QCOMPARE(one.n, int64_t(1));
        QCOMPARE(one.mean, 0.88);
        QVERIFY(!one.hasInterval());
        QVERIFY(std::isnan(one.half));
        const MeanInterval same = meanInterval({0.5, 0.5, 0.5});
        QCOMPARE(same.sd, 0.0);
        QCOMPARE(same.half, 0.0);
        QVERIFY(same.hasInterval());
        const MeanInterval none = meanInterval({});
        QCOMPARE(none.n, int64_t(0));
        QVERIFY(std::isnan(none.mean));
        QCOMPARE(meanInterval({1, NAN, 3}).n, int64_t(2));  // NaN skipped
    }

    void differences() {
        // Paired by seed: diffs 0.01, 0.02, 0.00 -> mean 0.01, sd 0.01, ± t(2)·0.01/√3.
        const Difference noisy = compareBySeed({{"s1", 0.90}, {"s2", 0.92}, {"s3", 0.91}},
                                               {{"s1", 0.89}, {"s2", 0.90}, {"s3", 0.91}});
        QCOMPARE(noisy.kind, DifferenceKind::Paired);
        QCOMPARE(noisy.n, int64_t(3));
        QVERIFY(near(noisy.mean, 0.01, 1e-12));
        QVERIFY(near(noisy.half, 4.3026527 * 0.01 / std::sqrt(3.0), 1e-8));
        QVERIFY(noisy.withinNoise());
        // Consistent gains: the same seeds' differences 0.010, 0.012, 0.011 exclude 0 ...
        const Difference real = compareBySeed({{"s1", 0.900}, {"s2", 0.912}, {"s3", 0.921}},
                                              {{"s1", 0.890}, {"s2", 0.900}, {"s3", 0.910}});
        QVERIFY(!real.withinNoise());
        QVERIFY(near(real.low(), 0.011 - 4.3026527 * 0.001 / std::sqrt(3.0), 1e-8));
        // ... while the same values unpaired (different seeds) do not: pairing removes the
        // seed-to-seed spread.
        const Difference unpaired = compareBySeed({{"a", 0.900}, {"b", 0.912}, {"c", 0.921}},
                                                  {{"d", 0.890}, {"e", 0.900}, {"f", 0.910}});
        QCOMPARE(unpaired.kind, DifferenceKind::Unpaired);
        QVERIFY(unpaired.withinNoise());
        // Welch by hand: means 2 and 4, variances 1 and 4, n 3 each.
        const Difference welch =
            compareBySeed({{"a", 1}, {"b", 2}, {"c", 3}}, {{"d", 2}, {"e", 4}, {"f", 6}});
        QCOMPARE(welch.mean, -2.0);
        QVERIFY(near(welch.df, 50.0 / 17.0, 1e-12));
        QVERIFY(
            near(welch.half, studentTQuantile(0.975, 50.0 / 17.0) * std::sqrt(5.0 / 3.0), 1e-9));
        // One matching seed only: unpaired over all values.
        const Difference onePair =
            compareBySeed({{"a", 1}, {"b", 2}, {"c", 3}}, {{"a", 2}, {"e", 4}, {"f", 6}});
        QCOMPARE(onePair.kind, DifferenceKind::Unpaired);
        // One run each: a difference without an interval, never a finding.
        const Difference single = compareBySeed({{"s1", 0.91}}, {{"s1", 0.90}});
        QCOMPARE(single.kind, DifferenceKind::None);
        QVERIFY(near(single.mean, 0.01, 1e-12));
        QVERIFY(single.withinNoise());
        QVERIFY(std::isnan(compareBySeed({}, {{"s1", 0.9}}).mean));
        // Identical values: zero-width interval, a difference of exactly 0 is within noise.
        const Difference zero = compareBySeed({{"a", 0.5}, {"b", 0.5}}, {{"a", 0.5}, {"b", 0.5}});
        QCOMPARE(zero.half, 0.0);
        QVERIFY(zero.withinNoise());
    }

    void groupsBySpecWithoutSeeds() {
        std::vector<RunRecord> runs;
        int64_t id = 0;
        for (int64_t seed : {1, 2, 3}) {
            runs.push_back(run(++id, seed, 0.0, 0.880 + 0.001 * double(seed), 0.87));
            runs.push_back(run(++id, seed, 0.9, 0.884 + 0.001 * double(seed), 0.88));
        }
        RunRecord failed = run(++id, 4, 0.9, 0, 0);
        failed.status = RunStatus::Failed;
        runs.push_back(failed);
        const auto confs = groupConfigurations(runs);
        QCOMPARE(confs.size(), size_t(2));  // teacher.seed following seed does not split them
        QCOMPARE(confs[0].runs, (std::vector<int64_t>{1, 3, 5}));
        QCOMPARE(confs[1].runs, (std::vector<int64_t>{2, 4, 6}));  // the failed run is left out
        QCOMPARE(confs[0].label, std::string("distill.lambda=0"));
        QCOMPARE(confs[1].seeds[1], std::string("seed=2 teacher.seed=2"));
        QVERIFY(!confs[0].spec.contains("seed") && !confs[0].spec["teacher"].contains("seed"));

        const Comparison c = compareConfigurations(runs, {"test_accuracy", "val_accuracy"});
        QCOMPARE(c.baseline, size_t(0));  // the label-only one
        const auto& d = c.values[1][0].difference;
        QCOMPARE(d.kind, DifferenceKind::Paired);
        QVERIFY(near(d.mean, 0.004, 1e-12));
        QCOMPARE(d.half, 0.0);  // every seed gains exactly 0.004
        QVERIFY(!d.withinNoise());
        QVERIFY(near(c.values[0][0].value.mean, 0.882, 1e-12));
        // Baseline by run id or label.
        QCOMPARE(compareConfigurations(runs, {"test_accuracy"}, "4").baseline, size_t(1));
        QCOMPARE(compareConfigurations(runs, {"test_accuracy"}, "distill.lambda=0.9").baseline,
                 size_t(1));
        bool threw = false;
        try {
            compareConfigurations(runs, {"test_accuracy"}, "99");
        } catch (const std::invalid_argument& e) {
            threw = QString(e.what()).contains("99");
        }
        QVERIFY(threw);
        const Json j = comparisonJson(c);
        QCOMPARE(j["baseline"]["label"], Json("distill.lambda=0"));
        QCOMPARE(j["configurations"][1]["test_accuracy"]["difference"]["within_noise"],
                 Json(false));
        QVERIFY(j["configurations"][0]["test_accuracy"]["ci_low"].is_number());
        QVERIFY(!j["configurations"][0]["test_accuracy"].contains("difference"));
    }

    void frontOfMeansTakesIntervalsSeriously() {
        // Two dense configurations of one size whose intervals overlap, a clearly better one of
        // that size, and a small one. On the means alone (paretoFront) B would be "on the front"
        // and A "dominated"; with their intervals neither is settled against the other, and
        // both are beaten beyond noise by D.
        const IntervalPoint a{100, 0.880, 0.870, 0.890}, b{100, 0.885, 0.875, 0.895},
            c{10, 0.800, 0.790, 0.810}, d{100, 0.950, 0.940, 0.960};
        auto s = paretoFrontOfMeans({a, b, c});
        QCOMPARE(s[0], FrontStatus::Undecided);
        QCOMPARE(s[1], FrontStatus::Undecided);  // A could be as accurate at the same size
        QCOMPARE(s[2], FrontStatus::Front);      // nothing is smaller
        s = paretoFrontOfMeans({a, b, c, d});
        QCOMPARE(s[0], FrontStatus::Dominated);
        QCOMPARE(s[1], FrontStatus::Dominated);
        QCOMPARE(s[2], FrontStatus::Front);
        QCOMPARE(s[3], FrontStatus::Front);
        // A smaller configuration whose interval reaches a larger one's leaves it undecided;
        // one wholly below does not.
        const IntervalPoint small{50, 0.872, 0.860, 0.884};
        QCOMPARE(paretoFrontOfMeans({a, small})[0], FrontStatus::Undecided);
        QCOMPARE(paretoFrontOfMeans({a, small})[1], FrontStatus::Front);
        const IntervalPoint worse{50, 0.850, 0.845, 0.855};
        QCOMPARE(paretoFrontOfMeans({a, worse})[0], FrontStatus::Front);
        // Smaller and beyond noise better: dominated.
        const IntervalPoint better{50, 0.930, 0.925, 0.935};
        QCOMPARE(paretoFrontOfMeans({a, better})[0], FrontStatus::Dominated);
        // Single values: exactly the ordinary front, nothing undecided.
        std::mt19937 rng(3);
        std::uniform_real_distribution<double> u(0, 1);
        std::vector<IntervalPoint> ip;
        std::vector<ParetoPoint> pp;
        for (int i = 0; i < 60; ++i) {
            const double size = std::round(u(rng) * 10), acc = std::round(u(rng) * 10) / 10;
            ip.push_back({size, acc, acc, acc});
            pp.push_back({size, acc});
        }
        const auto ordinary = paretoFront(pp);
        const auto means = paretoFrontOfMeans(ip);
        for (size_t i = 0; i < ip.size(); ++i)
            QCOMPARE(means[i], ordinary[i] ? FrontStatus::Front : FrontStatus::Dominated);
    }

    void languageModelsAreJudgedByPerplexity() {
        // Language models: lambda 0 (baseline, test perplexity 100, 102, 101), lambda 0.5
        // (5, 4, 6 lower on every seed: better beyond noise although its next-token accuracy
        // is lower), lambda 0.9 pruned to a quarter of the size (its validation perplexity 2
        // above the baseline's). On validation the front is lambda 0.5 (best) and the pruned
        // one (smallest); the baseline is dominated by lambda 0.5 at the same size.
        std::vector<RunRecord> runs;
        const double base[] = {100, 102, 101}, gain[] = {-5, -4, -6};
        int64_t id = 0;
        auto lm = [&](int64_t seed, double lambda, double test, double val, double bytes) {
            RunRecord r = sized(++id, seed, lambda, 0.30 - lambda * 0.01, 0.31, bytes);
            r.results["task"] = "language_model";
            r.results["test_perplexity"] = test;
            r.results["val_perplexity"] = val;
            r.results["teacher_test_perplexity"] = 85.01;
            r.results.erase("teacher_test_accuracy");
            return r;
        };
        for (int k = 0; k < 3; ++k) {
            runs.push_back(lm(k + 1, 0.0, base[k], 99 + k, 2400000));
            runs.push_back(lm(k + 1, 0.5, base[k] + gain[k], 93 + k, 2400000));
            runs.push_back(lm(k + 1, 0.9, base[k] + 7, 101 + k, 600000));
        }
        QVERIFY(languageModelRuns(runs));
        QCOMPARE(defaultComparisonMetrics(runs).front(), std::string("val_perplexity"));
        QVERIFY(lowerIsBetter("test_perplexity") && !lowerIsBetter("test_accuracy"));
        QVERIFY(!fractionMetric("val_perplexity") && fractionMetric("val_accuracy"));
        const Findings f = findings(runs);
        QVERIFY2(f.baseline.find("101.00 ± 2.48 test perplexity") != std::string::npos,
                 f.baseline.c_str());
        const std::string& half = f.configurations[0].sentence;
        QVERIFY2(half.find("C2 (distill.lambda=0.5): \u22125.00 [\u22127.48, \u22122.52] test "
                           "perplexity, paired over 3 seeds \u2014 better beyond noise") == 0,
                 half.c_str());
        QVERIFY2(half.find("next-token accuracy \u22120.50 pt") != std::string::npos, half.c_str());
        QCOMPARE(f.configurations[0].verdict, 1);
        QCOMPARE(f.configurations[1].verdict, -1);  // +7 on every seed: worse beyond noise
        QVERIFY2(f.summary.find("beyond noise (test perplexity): C2") != std::string::npos,
                 f.summary.c_str());
        QVERIFY2(
            f.front.find("(validation perplexity vs compressed size): ") != std::string::npos &&
                f.front.find("C2 (distill.lambda=0.5) at 2.29 MiB, 94.00 ± 2.48 perplexity") !=
                    std::string::npos &&
                f.front.find("C3 (distill.lambda=0.9) at 585.9 KiB") != std::string::npos,
            f.front.c_str());
        QVERIFY2(f.teachers[0].find("Teacher: 85.01 test perplexity") == 0, f.teachers[0].c_str());
        const auto points = configurationFront(f.comparison.configurations, runs);
        QCOMPARE(points.size(), size_t(3));
        QVERIFY(points[0].perplexity);
        QCOMPARE(points[0].status, FrontStatus::Dominated);
        QCOMPARE(points[1].status, FrontStatus::Front);
        QCOMPARE(points[2].status, FrontStatus::Front);
        // A project that mixes in a classifier is compared by accuracy, as before.
        runs.push_back(sized(++id, 1, 0.0, 0.8, 0.8, 1000));
        QVERIFY(!languageModelRuns(runs));
        QCOMPARE(defaultComparisonMetrics(runs).front(), std::string("val_accuracy"));
    }

    void findingsStateTheNumbers() {
        // lambda 0 (baseline), 0.9 (+3 pt: per-seed gains 3, 2, 4 pt), 0.5 (gains 1, −1, 0 pt)
        // over seeds 1–3; lambda 0.7 with one seed; a pruned size for lambda 0.5.
        std::vector<RunRecord> runs;
        const double base[] = {0.80, 0.82, 0.81}, gain9[] = {0.03, 0.02, 0.04},
                     gain5[] = {0.01, -0.01, 0.0};
        int64_t id = 0;
        for (int k = 0; k < 3; ++k) {
            const int64_t seed = k + 1;
            runs.push_back(sized(++id, seed, 0.0, base[k], 0.79, 400000));
            runs.push_back(sized(++id, seed, 0.9, base[k] + gain9[k], 0.80, 400000));
            runs.push_back(sized(++id, seed, 0.5, base[k] + gain5[k], 0.79, 25000));
        }
        runs.push_back(sized(++id, 1, 0.7, 0.85, 0.70, 400000));
        const Findings f = findings(runs);
        QCOMPARE(f.comparison.baseline, size_t(0));
        QVERIFY2(QString::fromStdString(f.baseline)
                     .startsWith("Baseline: C1 (distill.lambda=0) \u2014 label-only"),
                 f.baseline.c_str());
        // 0.81 ± t(0.975, 2)·0.01/√3 = 2.48 pt.
        QVERIFY2(f.baseline.find("81.00 % ± 2.48 pt test accuracy") != std::string::npos,
                 f.baseline.c_str());
        QCOMPARE(f.configurations.size(), size_t(3));
        // +3 pt, sd 1 pt over 3 pairs: half-width 4.3027 · 1/√3 = 2.48 pt.
        const std::string& nine = f.configurations[0].sentence;
        QVERIFY2(nine.find("C2 (distill.lambda=0.9): +3.00 pt [+0.52, +5.48] test accuracy, paired "
                           "over 3 seeds \u2014 better beyond noise") == 0,
                 nine.c_str());
        QCOMPARE(f.configurations[0].verdict, 1);
        const std::string& five = f.configurations[1].sentence;
        QVERIFY2(
            five.find("C3 (distill.lambda=0.5): ±0.00 pt [\u22122.48, +2.48] test accuracy, paired "
                      "over 3 seeds \u2014 within noise") == 0,
            five.c_str());
        QVERIFY2(five.find("16.0× smaller") != std::string::npos, five.c_str());
        QCOMPARE(f.configurations[1].verdict, 0);
        const std::string& seven = f.configurations[2].sentence;
        QVERIFY2(seven.find("no interval") != std::string::npos &&
                     seven.find("not a finding") != std::string::npos,
                 seven.c_str());
        QVERIFY2(
            f.summary.find("beyond noise (test accuracy): C2 (distill.lambda=0.9).") !=
                    std::string::npos &&
                f.summary.find("Within noise: C3 (distill.lambda=0.5).") != std::string::npos &&
                f.summary.find("(one seed): C4 (distill.lambda=0.7).") != std::string::npos,
            f.summary.c_str());
        // On validation, lambda 0.9 (0.80, same size) beats lambda 0 (0.79) with zero-width
        // intervals; lambda 0.5 is smallest: the front; lambda 0.7 (0.70) is dominated.
        QVERIFY2(f.front.find("Pareto front of means (validation accuracy vs compressed size): "
                              "C2 (distill.lambda=0.9) at 390.6 KiB, 80.00 % ± 0.00 pt; "
                              "C3 (distill.lambda=0.5) at 24.4 KiB") == 0,
                 f.front.c_str());
        QVERIFY2(f.front.find("Dominated beyond noise: 2 configuration(s).") != std::string::npos,
                 f.front.c_str());
        QCOMPARE(f.teachers.size(), size_t(1));
        QVERIFY2(f.teachers[0].find("Teacher: 91.39 % test accuracy, 421,642 parameters; trained "
                                    "once, shared by all 10 completed runs.") == 0,
                 f.teachers[0].c_str());
        QCOMPARE(f.notes.size(), size_t(1));  // the one-seed configuration
        // Another baseline, by label: lambda 0.9's own differences are now to itself.
        const Findings g = findings(runs, "distill.lambda=0.9");
        QCOMPARE(g.comparison.baseline, size_t(1));
        QVERIFY(g.configurations[0].sentence.find("\u22123.00 pt") != std::string::npos);
        QCOMPARE(g.configurations[0].verdict, -1);
        QCOMPARE(signedPoints(-0.00001), std::string("±0.00"));
        QCOMPARE(signedPoints(0.0031), std::string("+0.31"));
    }
};

QTEST_APPLESS_MAIN(TestStats)
#include "tst_stats.moc"
