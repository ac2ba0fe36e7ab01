#pragma once

#include <string>

/// retort-cli's usage: every command, one line each, and the common options.
extern const char* const kUsage;
/// One command's usage and what it does (kUsage for an unknown command).
std::string commandHelp(const std::string& command);
