// Statistics over seeds: Student's t against textbook quantiles, means with intervals (n = 1,
// n = 2, identical values), paired and Welch differences, unmatched seeds; runs grouped into
// configurations (a spec that differs only in a seed, or in a seed's default, is one
// configuration) and compared with a baseline.
#include "testutil.h"

#include "stats/configurations.h"
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
        QCOMPARE(confs[0].label, std::string("distill.lambda=0.0"));
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
        QCOMPARE(j["baseline"]["label"], Json("distill.lambda=0.0"));
        QCOMPARE(j["configurations"][1]["test_accuracy"]["difference"]["within_noise"],
                 Json(false));
        QVERIFY(j["configurations"][0]["test_accuracy"]["ci_low"].is_number());
        QVERIFY(!j["configurations"][0]["test_accuracy"].contains("difference"));
    }
};

QTEST_APPLESS_MAIN(TestStats)
#include "tst_stats.moc"
