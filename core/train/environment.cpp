#include "train/environment.h"

#include "revision.h"
#include "version.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <sys/utsname.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace retort {

torch::Device resolveDevice(const std::string& device) {
    if (device == "cpu") return torch::kCPU;
    if (device == "auto")
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
    if (device.rfind("cuda", 0) == 0) {
        const int64_t index = device.size() > 5 ? std::stoll(device.substr(5)) : 0;
        const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
        if (count == 0)
            throw std::invalid_argument("device '" + device + "': LibTorch sees no CUDA GPU");
        if (index >= count)
            throw std::invalid_argument("device '" + device + "': only " + std::to_string(count) +
                                        " GPU(s) present");
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw std::invalid_argument("unknown device '" + device + "'");
}

int applyThreads(int64_t threads) {
    int n = threads > 0 ? static_cast<int>(threads)
                        : static_cast<int>(std::thread::hardware_concurrency());
    if (n < 1) n = 1;
    if (torch::get_num_threads() != n) torch::set_num_threads(n);
    return torch::get_num_threads();
}

namespace {

std::string firstMatch(const std::string& file, const std::string& prefix) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0) {
            auto p = line.find_first_of(":=", prefix.size());
            std::string v = p == std::string::npos ? line : line.substr(p + 1);
            v.erase(0, v.find_first_not_of(" \t\""));
            while (!v.empty() && (v.back() == '"' || v.back() == ' ')) v.pop_back();
            return v;
        }
    return {};
}

/// The BLAS that is really loaded, read from the process's memory map (the Debian LibTorch
/// links libblas.so.3, which the alternatives system points at OpenBLAS or the reference BLAS).
std::string loadedBlas() {
    std::ifstream in("/proc/self/maps");
    std::string line;
    while (std::getline(in, line)) {
        auto p = line.find('/');
        if (p == std::string::npos) continue;
        std::string path = line.substr(p);
        if (path.find("libopenblas") != std::string::npos ||
            path.find("libblas") != std::string::npos || path.find("libmkl") != std::string::npos ||
            path.find("libblis") != std::string::npos) {
            std::string resolved = path;
            try {
                resolved = std::filesystem::canonical(path).string();
            } catch (...) {
            }
            if (resolved.find("openblas") != std::string::npos)
                return "OpenBLAS (" + resolved + ")";
            if (resolved.find("mkl") != std::string::npos) return "MKL (" + resolved + ")";
            if (resolved.find("blis") != std::string::npos) return "BLIS (" + resolved + ")";
            return "reference BLAS (" + resolved + ")";
        }
    }
    return "unknown";
}

}  // namespace

std::string versionString() {
    return std::string("Retort ") + RETORT_VERSION + " (" + RETORT_GIT_REVISION + "), LibTorch " +
           TORCH_VERSION;
}

Json environmentInfo(const torch::Device& device) {
    struct utsname u {};
    uname(&u);
    std::string os = firstMatch("/etc/os-release", "PRETTY_NAME");
    Json env = {{"retort_version", RETORT_VERSION},
                {"git_revision", RETORT_GIT_REVISION},
                {"libtorch", TORCH_VERSION},
                {"blas", loadedBlas()},
                {"os", (os.empty() ? std::string(u.sysname) : os) + " (" + u.release + ", " +
                           u.machine + ")"},
                {"cpu", firstMatch("/proc/cpuinfo", "model name")},
                {"cpu_cores", std::thread::hardware_concurrency()},
                {"threads", torch::get_num_threads()},
                {"device", device.str()},
                {"host", u.nodename}};
    if (device.is_cuda()) env["cuda_devices"] = torch::cuda::device_count();
    return env;
}

}  // namespace retort
