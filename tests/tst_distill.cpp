#include "testutil.h"

#include "compress/distillation.h"

#include <cmath>

using namespace retort;

class TestDistill : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void hintonAgainstHandComputed() {
        // One sample, two classes. s = [1, 0], t = [0, 2], T = 2, lambda = 0.25, label 0.
        auto s = torch::tensor({{1.0, 0.0}}, torch::kFloat64);
        auto t = torch::tensor({{0.0, 2.0}}, torch::kFloat64);
        auto y = torch::tensor({0}, torch::kInt64);
        DistillLoss l = hintonLoss(s, t, y, 2.0, 0.25);
        // softmax(s/T) = softmax([0.5, 0]); softmax(t/T) = softmax([0, 1])
        const double ps0 = std::exp(0.5) / (std::exp(0.5) + 1.0), ps1 = 1.0 - ps0;
        const double pt0 = 1.0 / (1.0 + std::exp(1.0)), pt1 = 1.0 - pt0;
        const double kl = pt0 * std::log(pt0 / ps0) + pt1 * std::log(pt1 / ps1);
        const double soft = 4.0 * kl;  // T^2
        const double hard = -std::log(std::exp(1.0) / (std::exp(1.0) + 1.0));
        QVERIFY(std::abs(l.soft.item<double>() - soft) < 1e-12);
        QVERIFY(std::abs(l.hard.item<double>() - hard) < 1e-12);
        QVERIFY(std::abs(l.total.item<double>() - (0.25 * soft + 0.75 * hard)) < 1e-12);
    }

    void batchMean() {
        auto s = torch::randn({5, 4}, torch::kFloat64), t = torch::randn({5, 4}, torch::kFloat64);
        auto y = torch::tensor({0, 1, 2, 3, 0}, torch::kInt64);
        double sum = 0;
        for (int i = 0; i < 5; ++i)
            sum += hintonLoss(s.slice(0, i, i + 1), t.slice(0, i, i + 1), y.slice(0, i, i + 1), 3.0,
                              1.0)
                       .soft.item<double>();
        QVERIFY(std::abs(hintonLoss(s, t, y, 3.0, 1.0).soft.item<double>() - sum / 5) < 1e-12);
    }

    void identicalLogitsGiveZeroSoftLoss() {
        auto s = torch::randn({6, 3});
        auto y = torch::zeros({6}, torch::kInt64);
        QVERIFY(hintonLoss(s, s.clone(), y, 4.0, 0.9).soft.abs().item<double>() < 1e-6);
    }

    void lambdaZeroIsLabelsOnly() {
        auto s = torch::randn({4, 3}), t = torch::randn({4, 3});
        auto y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
        DistillLoss l = hintonLoss(s, t, y, 4.0, 0.0);
        QCOMPARE(l.soft.item<double>(), 0.0);
        QVERIFY(torch::allclose(l.total, torch::nn::functional::cross_entropy(s, y)));
    }

    void gradientAgainstHandComputed() {
        // d total / d s = lambda T (softmax(s/T) - softmax(t/T)) + (1 - lambda)(softmax(s) - y):
        // the T^2 factor cancels the 1/T^2 of the soft targets' gradient, once.
        auto s =
            torch::tensor({{1.0, 0.0, -1.0}}, torch::dtype(torch::kFloat64).requires_grad(true));
        auto t = torch::tensor({{0.0, 2.0, 1.0}}, torch::kFloat64);
        auto y = torch::tensor({2}, torch::kInt64);
        const double T = 3.0, lambda = 0.4;
        hintonLoss(s, t, y, T, lambda).total.backward();
        auto softmax = [](std::vector<double> v, double temp) {
            double z = 0;
            for (auto& x : v) z += (x = std::exp(x / temp));
            for (auto& x : v) x /= z;
            return v;
        };
        const auto ps = softmax({1, 0, -1}, T), pt = softmax({0, 2, 1}, T),
                   p1 = softmax({1, 0, -1}, 1);
        for (int k = 0; k < 3; ++k) {
            const double expected =
                lambda * T * (ps[k] - pt[k]) + (1 - lambda) * (p1[k] - (k == 2 ? 1.0 : 0.0));
            QVERIFY2(std::abs(s.grad()[0][k].item<double>() - expected) < 1e-12,
                     qPrintable(QString("class %1").arg(k)));
        }
    }

    void squaredTemperatureKeepsTheSoftGradientScale() {
        // Hinton et al.: soft-target gradients scale as 1/T^2, so the loss is multiplied by T^2.
        // Between T = 4 and T = 16 the soft gradient's size must stay about the same (without
        // the factor it would shrink 16-fold).
        torch::manual_seed(3);
        auto t = torch::randn({64, 10}, torch::kFloat64);
        auto s0 = torch::randn({64, 10}, torch::kFloat64);
        auto y = torch::zeros({64}, torch::kInt64);
        auto gradNorm = [&](double T) {
            auto s = s0.clone().requires_grad_(true);
            hintonLoss(s, t, y, T, 1.0).total.backward();
            return s.grad().norm().item<double>();
        };
        const double ratio = gradNorm(4.0) / gradNorm(16.0);
        // (T instead of T^2 would give 4, no factor 16.)
        QVERIFY2(ratio > 0.8 && ratio < 1.25, qPrintable(QString::number(ratio)));
    }

    void gradientsFlowWithNoGradTeacher() {
        auto w = torch::randn({3, 5}, torch::requires_grad());
        auto x = torch::randn({4, 5});
        torch::Tensor teacher;
        {
            torch::NoGradGuard guard;  // not InferenceMode: backward must accept these targets
            teacher = torch::randn({4, 3});
        }
        auto y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
        hintonLoss(x.matmul(w.t()), teacher, y, 4.0, 0.9).total.backward();
        QVERIFY(w.grad().defined());
        QVERIFY(w.grad().abs().sum().item<double>() > 0);
    }
};

QTEST_APPLESS_MAIN(TestDistill)
#include "tst_distill.moc"
