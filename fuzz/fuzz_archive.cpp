// libFuzzer target: the LibTorch loaders behind the project's checksums. The first byte picks
// the loader, the rest are the blob:
//   0  a module state (student, teacher, checkpoint) -> loadModule into a small MLP
//   1  an optimizer state (checkpoint)               -> Adam::load over that MLP's parameters
//   2  pickled teacher outputs                       -> deserializeTensor
//   3  a TorchScript teacher file                    -> torch::jit::load
// Each goes through verifyArchive first, as in Retort (LibTorch's own parsers crash on some
// corrupted archives: docs/fuzzing.md, finding 3). Exceptions are the expected answer to a bad
// blob; a crash or a sanitizer report is a finding (LibTorch itself is not instrumented, so
// memory errors inside it show only as crashes).
//
// RETORT_FUZZ_WRITE_SEEDS=DIR writes one valid blob per loader into DIR and exits: the seeds in
// fuzz/corpus/archive are made that way.
#include "models/archivecheck.h"
#include "models/modelzoo.h"

#include <torch/script.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

namespace {

retort::ZooNet smallNet() {
    retort::ModelOptions m;
    m.arch = retort::Arch::Mlp;
    m.hidden = {8};
    return retort::ZooNet(m, std::vector<int64_t>{4}, 3);
}

void writeSeeds(const std::string& dir) {
    torch::manual_seed(1);
    retort::ZooNet net = smallNet();
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
    // One step so the optimizer has state to save.
    auto loss = net->forward(torch::randn({2, 4})).sum();
    loss.backward();
    opt.step();
    const auto write = [&](const std::string& name, char mode, const std::string& bytes) {
        std::ofstream(dir + "/" + name, std::ios::binary) << mode << bytes;
    };
    write("seed-module", 0, retort::saveModule(*net));
    write("seed-optimizer", 1, retort::archiveBytes(opt));
    write("seed-logits", 2, retort::serializeTensor(torch::randn({5, 3})));
    // A scripted module (the same kind of file a TorchScript teacher is).
    torch::jit::Module scripted("Teacher");
    scripted.register_parameter("w", torch::randn({4, 3}), false);
    scripted.define("def forward(self, x):\n    return x.matmul(self.w)\n");
    std::ostringstream os;
    scripted.save(os);
    write("seed-torchscript", 3, os.str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("RETORT_FUZZ_WRITE_SEEDS")) {
        writeSeeds(dir);
        std::cerr << "wrote 4 seeds to " << dir << "\n";
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const std::string blob(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 4) {
            case 0: {
                retort::ZooNet net = smallNet();
                retort::loadModule(*net, blob);
                break;
            }
            case 1: {
                retort::ZooNet net = smallNet();
                torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
                retort::verifyArchive(blob, "optimizer state");  // as the runner does
                torch::serialize::InputArchive archive;
                std::istringstream is(blob);
                archive.load_from(is);
                opt.load(archive);
                break;
            }
            case 2:
                retort::deserializeTensor(blob);
                break;
            case 3:
                retort::loadTorchScript(blob, "fuzz.pt", torch::kCPU);
                break;
        }
    } catch (const std::exception&) {
        // c10::Error and the rest: the loaders' answer to a bad blob.
    }
    return 0;
}
