#pragma once

#include <stdexcept>
#include <string>

namespace retort {

/// An archive that is not the zip LibTorch wrote: truncated, or an entry whose bytes no longer
/// match the CRC-32 the zip's central directory records for it.
class ArchiveError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Checks a LibTorch archive (a module or optimizer state, a pickled tensor, a TorchScript file:
/// all are zips) before LibTorch parses it. LibTorch's zip reader skips the CRC-32 checks, and
/// its parsers crash on some corrupted archives (docs/fuzzing.md, finding 3), so every archive
/// Retort loads passes here first. Throws ArchiveError naming `what` and the entry.
/// This catches corruption, not malice: a crafted archive with correct CRCs is as trusted as the
/// code in a TorchScript file.
void verifyArchive(const std::string& bytes, const std::string& what);

/// Reads a whole archive file (e.g. a TorchScript teacher) and returns its bytes; the loader
/// verifies them (loadTorchScript). Throws ArchiveError when the file cannot be read.
std::string readArchiveFile(const std::string& path);

}  // namespace retort
