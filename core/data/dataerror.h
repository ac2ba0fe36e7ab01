#pragma once

#include <stdexcept>
#include <string>

namespace retort {

/// A data file that cannot be used: names the file and the problem.
class DataError : public std::runtime_error {
public:
    DataError(const std::string& file, const std::string& problem)
        : std::runtime_error(file + ": " + problem), m_file(file) {}
    const std::string& file() const { return m_file; }

private:
    std::string m_file;
};

}  // namespace retort
