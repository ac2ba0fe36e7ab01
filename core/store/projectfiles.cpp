// ProjectStore's file-level helpers: whether a project may be written, and its SQLite side files.
#include "store/projectstore.h"

#include <unistd.h>

#include <filesystem>

namespace retort {

bool ProjectStore::writable(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir = fs::absolute(path, ec).parent_path();
    const bool dirOk = ::access(dir.c_str(), W_OK) == 0;
    if (!fs::exists(path, ec)) return dirOk;
    if (::access(path.c_str(), W_OK) != 0) return false;
    // WAL mode creates -wal and -shm beside the file: the folder must take them, unless they
    // are there already and writable.
    return dirOk || (::access((path + "-wal").c_str(), W_OK) == 0 &&
                     ::access((path + "-shm").c_str(), W_OK) == 0);
}

std::vector<std::string> ProjectStore::sideFiles(const std::string& path) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const char* suffix : {"-wal", "-shm", "-journal"})
        if (std::filesystem::exists(path + suffix, ec)) out.push_back(path + suffix);
    return out;
}

void ProjectStore::removeProjectFiles(const std::string& path) {
    std::vector<std::string> files = sideFiles(path);
    files.insert(files.begin(), path);
    for (const auto& f : files) {
        std::error_code ec;
        if (!std::filesystem::remove(f, ec) && ec)
            throw StoreError(f + ": cannot remove (" + ec.message() + ")");
    }
}

}  // namespace retort
