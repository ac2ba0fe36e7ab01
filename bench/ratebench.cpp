// Measures, on this machine and LibTorch: the fp32 matrix-product rate (a 2048^3 product) and the
// forward rate of the benchmark teacher (cnn conv32-conv64-fc128 on 1x28x28), both as LibTorch's
// default NCHW forward and as Retort's frozen-inference path. Prints one JSON object.
// usage: retort-bench [--threads N] [--images N]

#include "models/modelzoo.h"
#include "train/environment.h"

#include <chrono>
#include <cstring>
#include <iostream>

using namespace retort;

namespace {
double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// Best of three passes over @p images images in batches of @p batch, in GFLOP/s.
double rate(const std::function<torch::Tensor(const torch::Tensor&)>& f, int64_t batch,
            int64_t images, double flopsPerImage) {
    torch::NoGradGuard guard;
    auto x = torch::randn({batch, 1, 28, 28});
    f(x);
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
        const double t0 = now();
        for (int64_t done = 0; done < images; done += batch) f(x);
        best = std::min(best, now() - t0);
    }
    const int64_t passes = (images + batch - 1) / batch;
    return flopsPerImage * double(passes * batch) / best / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
    int64_t threads = 2, images = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--threads")) threads = std::atoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--images")) images = std::atoll(argv[i + 1]);
    }
    applyThreads(threads);
    torch::NoGradGuard guard;
    double gemm = 0;
    {
        auto a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
        a.mm(b);
        double best = 1e30;
        for (int rep = 0; rep < 5; ++rep) {
            const double t0 = now();
            a.mm(b);
            best = std::min(best, now() - t0);
        }
        gemm = 2.0 * 2048.0 * 2048.0 * 2048.0 / best / 1e9;
    }
    ModelOptions o;
    o.arch = Arch::Cnn;
    o.channels = {32, 64};
    o.hidden = {128};
    torch::manual_seed(1);
    ZooNet teacher(o, std::vector<int64_t>{1, 28, 28}, 10);
    teacher->eval();
    const double flops = double(teacher->summary().flops);
    const double nchw =
        rate([&](const torch::Tensor& x) { return teacher->forward(x); }, 128, images, flops);
    const double frozen = rate(frozenForward(teacher), kInferenceBatch, images, flops);
    Json out = {{"threads", torch::get_num_threads()},
                {"gemm_gflops", gemm},
                {"teacher_nchw_gflops", nchw},
                {"teacher_frozen_gflops", frozen},
                {"teacher_frozen_vs_gemm", frozen / gemm},
                {"teacher_flops_per_image", flops},
                {"blas", environmentInfo(torch::kCPU)["blas"]}};
    std::cout << out.dump() << "\n";
}
