#pragma once

// retort-cli's command line: the parsed arguments, the options every command shares, and Ctrl-C.

#include "spec/experimentspec.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace retort::cli {

/// Bad usage: exit 2 with the message.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The parsed command line: a command, positionals and --options.
struct Args {
    std::string command;
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;

    bool has(const std::string& f) const { return flags.count(f) > 0; }
    std::string option(const std::string& k, const std::string& def = {}) const {
        auto it = options.find(k);
        return it == options.end() ? def : it->second;
    }
    std::string required(const std::string& k) const {
        auto it = options.find(k);
        if (it == options.end() || it->second.empty()) throw UsageError("missing --" + k);
        return it->second;
    }
};

/// Parses argv; throws UsageError for an unknown option or a missing value.
Args parse(int argc, char** argv);

/// Applies --threads and --device to a spec read from a file.
void applyOverrides(const Args& a, Json& spec);

/// The single RUN positional as a run id; throws UsageError otherwise.
int64_t runIdArg(const Args& a);

/// Set by the first SIGINT/SIGTERM after installCancelHandlers (a second one stops at once).
std::atomic<bool>& cancelFlag();
void installCancelHandlers();

}  // namespace retort::cli
