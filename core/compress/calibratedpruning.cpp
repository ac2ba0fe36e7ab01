#include "compress/calibratedpruning.h"

#include <cmath>
#include <stdexcept>

namespace retort {

torch::Tensor wandaScores(const torch::Tensor& weight, const torch::Tensor& inputSquaredNorms) {
    if (weight.dim() != 2 || inputSquaredNorms.numel() != weight.size(1))
        throw std::invalid_argument(
            "wandaScores: needs a [outputs, inputs] weight and one norm "
            "per input");
    return weight.abs().to(torch::kFloat32) *
           inputSquaredNorms.to(torch::kFloat32).clamp_min(0).sqrt().view({1, -1});
}

torch::Tensor rowwiseMask(const torch::Tensor& scores, double sparsity) {
    const int64_t cols = scores.size(1);
    const int64_t k = std::llround(sparsity * double(cols));
    auto keep = torch::ones_like(scores, torch::kBool);
    if (k <= 0) return keep;
    const auto idx = std::get<1>(scores.topk(k, 1, /*largest=*/false, /*sorted=*/false));
    return keep.scatter_(1, idx, false);
}

torch::Tensor nmMask(const torch::Tensor& scores, int64_t n, int64_t m) {
    if (m <= 0 || n < 0 || n > m || scores.size(1) % m != 0)
        throw std::invalid_argument("nmMask: the inputs (" + std::to_string(scores.size(1)) +
                                    ") must be a multiple of m (" + std::to_string(m) + ")");
    const int64_t rows = scores.size(0), groups = scores.size(1) / m;
    auto g = scores.reshape({rows, groups, m});
    auto keep = torch::zeros_like(g, torch::kBool);
    if (n > 0)
        keep.scatter_(2, std::get<1>(g.topk(n, 2, /*largest=*/true, /*sorted=*/false)), true);
    return keep.reshape(scores.sizes());
}

torch::Tensor dampedInverseCholesky(torch::Tensor h, double damp) {
    h = h.to(torch::kFloat64).clone();
    auto diag = h.diagonal();
    const auto dead = diag == 0;
    diag.masked_fill_(dead, 1.0);
    const double mean = diag.mean().item<double>();
    diag.add_(damp * mean);
    auto [l, info] = torch::linalg_cholesky_ex(h);
    if (info.item<int64_t>() != 0)
        throw std::runtime_error(
            "the calibration Hessian is not positive definite; raise the "
            "damping or the calibration samples");
    const auto inv = torch::cholesky_inverse(l);
    auto [u, info2] = torch::linalg_cholesky_ex(inv, /*upper=*/true);
    if (info2.item<int64_t>() != 0)
        throw std::runtime_error("the inverse calibration Hessian is not positive definite");
    return u;
}

torch::Tensor sparseGpt(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity,
                        int64_t n, int64_t m, const ObsOptions& options) {
    torch::NoGradGuard guard;
    const int64_t cols = weight.size(1);
    if (hessian.size(0) != cols || hessian.size(1) != cols)
        throw std::invalid_argument("sparseGpt: the Hessian must be [inputs, inputs]");
    if (n > 0 && (m <= 0 || cols % m != 0))
        throw std::invalid_argument("sparseGpt: the inputs must be a multiple of m");
    auto w = weight.to(torch::kFloat64).clone();
    // Inputs that are always zero carry no information: their weights go first.
    w.index_put_({torch::indexing::Slice(), hessian.diagonal() == 0}, 0.0);
    const auto hinv = dampedInverseCholesky(hessian, options.damp);
    // N:M groups never straddle two blocks: the block is a whole number of groups (128 holds
    // no whole number of 5s or 7s, and a group cut at the block's end had too few columns).
    int64_t bs = std::max<int64_t>(1, options.blockSize);
    if (n > 0) bs = std::max<int64_t>(m, bs / m * m);
    using torch::indexing::Slice;
    for (int64_t i1 = 0; i1 < cols; i1 += bs) {
        const int64_t i2 = std::min(i1 + bs, cols), count = i2 - i1;
        auto w1 = w.index({Slice(), Slice(i1, i2)}).clone();
        auto q1 = torch::zeros_like(w1), err1 = torch::zeros_like(w1);
        const auto h1 = hinv.index({Slice(i1, i2), Slice(i1, i2)});
        const auto d1 = h1.diagonal();
        torch::Tensor prune;  // true: pruned
        if (n == 0) {
            // The block's smallest saliencies w² / [H⁻¹]_jj² (here U_jj², U the Cholesky factor).
            const auto sal = w1.pow(2) / d1.view({1, -1}).pow(2);
            const int64_t k = std::llround(sparsity * double(sal.numel()));
            prune = torch::zeros_like(sal, torch::kBool);
            if (k > 0) {
                auto flat = prune.view({-1});
                flat.index_fill_(0, std::get<1>(sal.view({-1}).topk(k, 0, false, false)), true);
            }
        } else {
            prune = torch::zeros_like(w1, torch::kBool);
        }
        for (int64_t i = 0; i < count; ++i) {
            auto col = w1.index({Slice(), i});
            const double d = d1[i].item<double>();
            if (n > 0 && (i1 + i) % m == 0) {
                // Choose this group's survivors from the weights as updated so far.
                const auto sal = w1.index({Slice(), Slice(i, i + m)}).pow(2) /
                                 d1.index({Slice(i, i + m)}).view({1, -1}).pow(2);
                auto idx = std::get<1>(sal.topk(m - n, 1, /*largest=*/false, false)) + i;
                prune.scatter_(1, idx, true);
            }
            auto q = col.clone().masked_fill_(prune.index({Slice(), i}), 0.0);
            q1.index_put_({Slice(), i}, q);
            const auto err = (col - q) / d;
            // Later columns of the block absorb this column's error.
            w1.index({Slice(), Slice(i, torch::indexing::None)})
                .sub_(err.view({-1, 1}).matmul(
                    h1.index({i, Slice(i, torch::indexing::None)}).view({1, -1})));
            err1.index_put_({Slice(), i}, err);
        }
        w.index_put_({Slice(), Slice(i1, i2)}, q1);
        if (i2 < cols)
            w.index({Slice(), Slice(i2, torch::indexing::None)})
                .sub_(err1.matmul(hinv.index({Slice(i1, i2), Slice(i2, torch::indexing::None)})));
    }
    return w.to(torch::kFloat32);
}

}  // namespace retort
