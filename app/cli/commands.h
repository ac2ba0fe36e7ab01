#pragma once

// retort-cli's commands, one function each; main() dispatches on the command word. Each returns
// the exit status (0 ok, 1 a run failed or was cancelled) and throws UsageError, SpecError or
// StoreError for exit 2.

#include "cliargs.h"

namespace retort::cli {

// runcommands.cpp: list the spec keys, validate a spec, run it, resume runs, run one Slurm point.
int cmdValidate(const Args& a);
int cmdKeys(const Args& a);
int cmdRun(const Args& a);
int cmdResume(const Args& a);
int cmdRunPoint(const Args& a);
// runscommands.cpp: the project's runs.
int cmdList(const Args& a);
int cmdCompare(const Args& a);
int cmdShow(const Args& a);
int cmdDelete(const Args& a);
int cmdPretrained(const Args& a);
// generatecommand.cpp: text from a completed language-model run.
int cmdGenerate(const Args& a);
// sensitivitycommand.cpp: per-layer sensitivity of a completed run.
int cmdSensitivity(const Args& a);
// exportcommands.cpp: data, models and reports out of a project.
int cmdExport(const Args& a);
int cmdExportModel(const Args& a);
int cmdReport(const Args& a);
// slurmcommands.cpp: sweeps on a Slurm cluster.
int cmdSubmit(const Args& a);
int cmdSync(const Args& a);
int cmdCancel(const Args& a);

}  // namespace retort::cli
