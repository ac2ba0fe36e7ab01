// Calibrated compression on small layers against hand-checked cases: Wanda's score and its
// per-row masks, N:M masks, SparseGPT's OBS update, GPTQ against round-to-nearest, group-wise
// scales and fake quantization's straight-through gradient.

#include "testutil.h"

#include "compress/calibratedpruning.h"
#include "compress/quantizer.h"

using namespace retort;

namespace {

/// tr((W − Ŵ) H (W − Ŵ)ᵀ): the layer's output error on the calibration inputs (up to 2/N).
double outputError(const torch::Tensor& w, const torch::Tensor& approx, const torch::Tensor& h) {
    const auto d = (w - approx).to(torch::kFloat64).reshape({w.size(0), -1});
    return (d.matmul(h.to(torch::kFloat64)) * d).sum().item<double>();
}

/// Inputs whose features are strongly correlated (a few factors mixed), as real activations are.
torch::Tensor correlatedInputs(int64_t n, int64_t features, uint64_t seed) {
    torch::manual_seed(seed);
    const auto z = torch::randn({n, 4});
    const auto mix = torch::randn({4, features});
    return z.matmul(mix) + 0.1 * torch::randn({n, features});
}

torch::Tensor hessianOf(const torch::Tensor& x) {
    return 2.0 / double(x.size(0)) * x.t().matmul(x);
}

}  // namespace

class TestCalibrated : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void wandaScoreByHand() {
        // |W| · ‖X_j‖: column norms 2 and 1.
        const auto w = torch::tensor({1.0f, -1.5f, 3.0f, 0.5f}).view({2, 2});
        const auto x = torch::tensor({2.0f, 1.0f, 0.0f, 0.0f}).view({2, 2});  // ‖X_0‖=2, ‖X_1‖=1
        const auto norms = x.pow(2).sum(0);
        const auto s = wandaScores(w, norms);
        QVERIFY(torch::allclose(s, torch::tensor({2.0f, 1.5f, 6.0f, 0.5f}).view({2, 2})));
        // Half of each row: Wanda keeps w_00 (score 2 > 1.5) where magnitude would keep w_01.
        const auto keep = rowwiseMask(s, 0.5);
        QVERIFY(torch::equal(keep, torch::tensor({true, false, true, false}).view({2, 2})));
        const auto byMagnitude = rowwiseMask(w.abs(), 0.5);
        QVERIFY(!torch::equal(keep, byMagnitude));
        // Every row loses exactly its share.
        torch::manual_seed(3);
        const auto big = rowwiseMask(torch::rand({7, 20}), 0.3);
        QVERIFY(torch::equal(big.sum(1), torch::full({7}, 14, torch::kLong)));
    }

    void nmMasks() {
        const auto s = torch::tensor({0.1f, 0.4f, 0.3f, 0.2f, 5.0f, 1.0f, 2.0f, 3.0f}).view({1, 8});
        QVERIFY(torch::equal(
            nmMask(s, 2, 4),
            torch::tensor({false, true, true, false, true, false, false, true}).view({1, 8})));
        torch::manual_seed(1);
        const auto m = nmMask(torch::randn({6, 32}), 2, 4);
        QVERIFY(torch::equal(m.view({6, 8, 4}).sum(2), torch::full({6, 8}, 2, torch::kLong)));
        QVERIFY(torch::equal(nmMask(torch::randn({3, 16}), 1, 8).view({3, 2, 8}).sum(2),
                             torch::ones({3, 2}, torch::kLong)));
        bool refused = false;
        try {
            nmMask(torch::randn({2, 6}), 2, 4);
        } catch (const std::invalid_argument& e) {
            refused = QString(e.what()).contains("multiple of m");
        }
        QVERIFY(refused);
    }

    void sparseGptIsTheObsUpdate() {
        // A known Hessian and a 2×4 weight whose first column is by far the least salient: with
        // 25 % sparsity SparseGPT prunes w_r0 in both rows and moves the others by the OBS
        // update δ = −w_0 / [H⁻¹]_00 · H⁻¹_{0,:}.
        const auto a = torch::tensor({2.0, 0.5, 0.0, 0.3, 0.1, 1.5, 0.4, 0.0, 0.2, 0.3, 1.0, 0.5,
                                      0.0, 0.2, 0.1, 1.2},
                                     torch::kFloat64)
                           .view({4, 4});
        const auto h = a.matmul(a.t()) + torch::eye(4, torch::kFloat64);
        const auto w =
            torch::tensor({0.01f, 1.0f, -2.0f, 1.5f, -0.02f, 2.0f, 1.0f, -1.0f}).view({2, 4});
        ObsOptions o;
        o.damp = 0.0;
        const auto got = sparseGpt(w, h, 0.25, 0, 0, o);
        const auto hinv = torch::inverse(h);
        auto expected = w.to(torch::kFloat64).clone();
        for (int64_t r = 0; r < 2; ++r) {
            const double w0 = expected[r][0].item<double>();
            expected[r] -= w0 / hinv[0][0].item<double>() * hinv[0];
        }
        QVERIFY2(torch::allclose(got.to(torch::kFloat64), expected, 1e-5, 1e-6),
                 qPrintable(QString("got %1").arg(QString::fromStdString([&] {
                     std::ostringstream s;
                     s << got;
                     return s.str();
                 }()))));
        QCOMPARE(got.index({torch::indexing::Slice(), 0}).abs().sum().item<double>(), 0.0);
        // Exactly the requested zeros, none elsewhere.
        QCOMPARE((got == 0).sum().item<int64_t>(), int64_t(2));
    }

    void sparseGptBeatsMagnitudeOnItsObjective() {
        const auto x = correlatedInputs(512, 32, 7);
        const auto h = hessianOf(x);
        torch::manual_seed(8);
        const auto w = torch::randn({16, 32});
        const auto magnitude = w * rowwiseMask(w.abs(), 0.5);
        const auto wanda = w * rowwiseMask(wandaScores(w, x.pow(2).sum(0)), 0.5);
        const auto sgpt = sparseGpt(w, h, 0.5);
        QCOMPARE((sgpt == 0).sum().item<int64_t>(), int64_t(16 * 32 / 2));
        const double em = outputError(w, magnitude, h), ew = outputError(w, wanda, h),
                     es = outputError(w, sgpt, h);
        qInfo("output error at 50 %%: magnitude %.2f, wanda %.2f, sparsegpt %.2f", em, ew, es);
        QVERIFY(es < ew);
        QVERIFY(es < em);
        // 2:4: a valid pattern, and still better than magnitude's 2:4.
        const auto s24 = sparseGpt(w, h, 0.5, 2, 4);
        QVERIFY(torch::equal((s24 != 0).view({16, 8, 4}).sum(2) <= 2,
                             torch::ones({16, 8}, torch::kBool)));
        const auto m24 = w * nmMask(w.abs(), 2, 4);
        QVERIFY(outputError(w, s24, h) < outputError(w, m24, h));
    }

    void sparseGptNmGroupsAcrossBlocks() {
        // 140 inputs: 128-column blocks hold no whole number of 5- or 7-groups. Every group
        // keeps exactly n (a group cut at a block's end threw in topk or kept too many).
        const auto x = correlatedInputs(600, 140, 3);
        const auto h = hessianOf(x);
        torch::manual_seed(9);
        const auto w = torch::randn({8, 140});
        for (const auto& [n, m] : {std::pair<int64_t, int64_t>{1, 5}, {3, 7}, {2, 4}}) {
            const auto s = sparseGpt(w, h, 0.0, n, m);
            const auto kept = (s != 0).view({8, 140 / m, m}).sum(2);
            QVERIFY2(torch::equal(kept, torch::full_like(kept, n)),
                     (std::to_string(n) + ":" + std::to_string(m)).c_str());
        }
    }

    void groupwiseScales() {
        torch::manual_seed(2);
        auto w = torch::randn({4, 10});
        w[1].mul_(100);  // one loud row must not coarsen the others
        const auto q = quantizeGroupwise(w, 4, 4);
        QCOMPARE(q.scales.sizes().vec(), (std::vector<int64_t>{4, 3}));  // ⌈10 / 4⌉ groups
        QVERIFY(q.codes.abs().max().item<int>() <= 7);
        const auto deq = q.dequantize();
        const auto bound = q.scales.repeat_interleave(4, 1).slice(1, 0, 10) / 2 + 1e-6;
        QVERIFY(((w - deq).abs() <= bound).all().item<bool>());
        // The last group's scale comes from its 2 columns alone.
        QVERIFY(std::abs(q.scales[0][2].item<double>() -
                         w[0].slice(0, 8, 10).abs().max().item<double>() / 7) < 1e-6);
        // Finer groups: smaller error than per channel.
        const double eg = (w - deq).pow(2).sum().item<double>();
        const double ec =
            (w - quantizeSymmetric(w, 4, true).dequantize()).pow(2).sum().item<double>();
        QVERIFY(eg < ec);
    }

    void gptqWithAnIdentityHessianIsRoundToNearest() {
        torch::manual_seed(4);
        const auto w = torch::randn({6, 16});
        ObsOptions o;
        o.damp = 0.0;
        const auto g = gptqQuantize(w, torch::eye(16, torch::kFloat64), 4, 8, o);
        const auto r = quantizeGroupwise(w, 4, 8);
        QVERIFY(torch::equal(g.codes, r.codes));
        QVERIFY(torch::allclose(g.scales, r.scales));
    }

    void gptqBeatsRoundToNearest() {
        const auto x = correlatedInputs(512, 64, 11);
        const auto h = hessianOf(x);
        torch::manual_seed(12);
        const auto w = torch::randn({16, 64});
        const auto g = gptqQuantize(w, h, 4, 32);
        const auto r = quantizeGroupwise(w, 4, 32);
        QCOMPARE(g.scales.sizes().vec(), (std::vector<int64_t>{16, 2}));
        QVERIFY(g.codes.abs().max().item<int>() <= 7);
        const double eg = outputError(w, g.dequantize(), h), er = outputError(w, r.dequantize(), h);
        qInfo("int4 group 32 output error: gptq %.3f, round-to-nearest %.3f", eg, er);
        QVERIFY(eg < 0.8 * er);
        // Pruned zeros stay zero through the error compensation.
        auto sparse = w * rowwiseMask(w.abs(), 0.5);
        const auto gs = gptqQuantize(sparse, h, 4, 32);
        QVERIFY(((sparse == 0).logical_and(gs.codes != 0)).sum().item<int64_t>() == 0);
    }

    void fakeQuantizePassesTheGradientStraight() {
        torch::manual_seed(5);
        auto w = torch::randn({3, 8}, torch::requires_grad());
        const auto f = fakeQuantize(w, 4, 0);
        QVERIFY(torch::allclose(f.detach(), quantizeSymmetric(w.detach(), 4, true).dequantize()));
        (f * torch::arange(24).view({3, 8})).sum().backward();
        QVERIFY(torch::equal(w.grad(), torch::arange(24, torch::kFloat32).view({3, 8})));
    }
};

QTEST_APPLESS_MAIN(TestCalibrated)
#include "tst_calibrated.moc"
