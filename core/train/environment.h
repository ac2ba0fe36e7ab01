#pragma once

#include "spec/experimentspec.h"

#include <torch/torch.h>

#include <string>

namespace retort {

/// Resolves a spec's device: auto -> cuda when LibTorch sees a GPU, else cpu. Throws
/// std::invalid_argument when a CUDA device is asked for and not present.
torch::Device resolveDevice(const std::string& device);

/// Sets LibTorch's intra-op threads; 0 means every core. Returns the count in force.
int applyThreads(int64_t threads);

/// Where a run ran: Retort version and revision, LibTorch, the BLAS library actually loaded,
/// OS, CPU, threads, device.
Json environmentInfo(const torch::Device& device);

/// "Retort 0.1.0 (rev), LibTorch 1.13.1": for --version and reports.
std::string versionString();

}  // namespace retort
