// retort-cli's help texts: the command list and each command's usage.
#include "clihelp.h"

#include "cluster/slurm.h"

using retort::defaultSettingsPath;

const char* const kUsage =
    "usage: retort-cli COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "Neural-network compression experiments: distillation, pruning, quantization.\n"
    "\n"
    "commands:\n"
    "  run SPEC.json --project P.retort [--json]   run every point of the spec's sweep into the "
    "project\n"
    "  validate SPEC.json [--project P.retort]     check a spec and print its runs; trains "
    "nothing\n"
    "  keys [--json | --markdown]                  every spec key: type, default, allowed "
    "values\n"
    "  list --project P.retort [--json] [--group]  the project's runs with status and results\n"
    "  compare --project P.retort [--baseline B] [--metric M] [--json]\n"
    "                                              configurations: means, 95 % intervals over\n"
    "                                              seeds, differences to the baseline\n"
    "  show RUN --project P.retort [--json]        one run: spec, per-epoch metrics, results\n"
    "  sensitivity RUN --project P.retort [--sparsities 0.3,0.5,...] [--bits 8,4]\n"
    "              [--model student|teacher] [--json]\n"
    "                                              accuracy drop on validation with one layer\n"
    "                                              pruned or quantized at a time; stored\n"
    "  generate RUN --project P.retort --prompt TEXT [--model student|teacher] [--top-k K]\n"
    "                                              text from a language-model run\n"
    "  pretrained --project P.retort [--json]      the stored pretrained encoders: id, model,\n"
    "                                              epochs, perplexity (\"pretrained\": ID)\n"
    "  delete RUN... --project P.retort            delete runs with their metrics and models\n"
    "  export --project P.retort --format csv|json [--metrics] --out FILE\n"
    "                                              every run's spec values and results, a row per "
    "run;\n"
    "                                              --metrics: per-epoch metrics in long form\n"
    "                                              (run,metric,step,value)\n"
    "  export-model RUN --project P.retort --format onnx|pt --out FILE [--float-weights]\n"
    "                                              the run's final student as ONNX or a PyTorch\n"
    "                                              checkpoint\n"
    "  submit SPEC.json --project P.retort --slurm [--shared-dir D] [--partition X] [--time T]\n"
    "         [--cpus-per-task N] [--gres G] [--mem M] [--account A] [--qos Q] [--dry-run]\n"
    "                                              run the sweep as a Slurm job array\n"
    "  sync --project P.retort [--json]            merge finished Slurm tasks into the project\n"
    "  cancel --project P.retort                   scancel the project's Slurm jobs\n"
    "  run-point POINT.json --shard S.retort       (on a cluster node) run one sweep point\n"
    "  report --project P.retort --out report.html|report.pdf [--baseline CONFIG|RUN]\n"
    "                                              plots, results, specs and environment in one "
    "file\n"
    "  resume RUN|--all --project P.retort [--json]\n"
    "                                              continue an interrupted, cancelled or queued "
    "run\n"
    "                                              from its last completed epoch (--all: every\n"
    "                                              interrupted or queued run)\n"
    "\n"
    "options:\n"
    "  --threads N     intra-op CPU threads (0: every core); overrides the spec\n"
    "  --device D      auto | cpu | cuda | cuda:N; overrides the spec\n"
    "  --json          print one JSON document on stdout\n"
    "  --help, --version\n"
    "\n"
    "exit status: 0 success, 1 a run failed or was cancelled, 2 bad usage or invalid "
    "spec/project\n";

std::string commandHelp(const std::string& c) {
    if (c == "run")
        return "usage: retort-cli run SPEC.json --project P.retort [--json] [--threads N] "
               "[--device D]\n"
               "Validates the spec, expands its sweep and runs every point into the project "
               "(created if\n"
               "needed). Progress goes to stderr; results to stdout. Ctrl-C cancels the run in "
               "progress.\n";
    if (c == "validate")
        return "usage: retort-cli validate SPEC.json [--project P.retort] [--json]\n"
               "Checks the spec (keys, types, ranges, data files, shapes) and lists its sweep "
               "points.\n";
    if (c == "generate")
        return "usage: retort-cli generate RUN --project P.retort --prompt TEXT [--model "
               "student|teacher]\n"
               "                  [--tokens N] [--top-k K] [--seed S] [--temperature T] "
               "[--json]\n"
               "Continues TEXT with a completed language-model run's student (its stored "
               "compressed model)\n"
               "or its teacher: greedily, and by top-K sampling (default 10; 0: greedy only) "
               "with seed S.\n"
               "Stops at the end-of-text mark, after N new tokens (default 24) or when the "
               "context is full.\n";
    if (c == "pretrained")
        return "usage: retort-cli pretrained --project P.retort [--json]\n"
               "The pretrained encoders stored in the project (teacher.pretrain and "
               "student.pretrain\n"
               "store them once per model, settings and data): their id, which "
               "`teacher.pretrained` "
               "and\n"
               "`student.pretrained` take, the architecture, epochs done and the last epoch's "
               "perplexity.\n";
    if (c == "keys")
        return "usage: retort-cli keys [--json | --markdown]\n"
               "Every key a spec may hold, from the engine's key registry: its type, default, "
               "allowed\n"
               "values, whether a sweep may vary it, when it applies, and what it means. "
               "--markdown\n"
               "prints the table of docs/spec.md.\n";
    if (c == "list")
        return "usage: retort-cli list --project P.retort [--json] [--group [--baseline B]]\n"
               "--group: one row per configuration (runs that differ only in seed, data.seed,\n"
               "teacher.seed), as `compare` prints it, for test accuracy and compressed size.\n";
    if (c == "sensitivity")
        return "usage: retort-cli sensitivity RUN --project P.retort [--sparsities "
               "0.3,0.5,0.7,0.9] "
               "[--bits 8,4] [--model student|teacher] [--json]\n"
               "Prunes (magnitude) or quantizes (per channel, round to nearest) one compressible "
               "layer\nof a completed run's student (or its zoo teacher) at a time, the others "
               "untouched, and\nmeasures validation accuracy (never test). Prints the drop in "
               "points per layer and level;\nstores the table as the run's "
               "sensitivity_student (or sensitivity_teacher) artifact.\n";
    if (c == "compare")
        return "usage: retort-cli compare --project P.retort [--baseline CONFIG|RUN] [--metric M] "
               "[--json]\n"
               "Groups the completed runs into configurations (specs that differ only in their "
               "seeds)\n"
               "and gives each metric's mean with its 95 % t-interval over seeds, and the "
               "difference\n"
               "to the baseline (paired by seed where the seeds match, else Welch) with its "
               "interval;\n"
               "'within noise' when that interval contains 0. The baseline: the configuration "
               "whose\n"
               "label is CONFIG or that holds run RUN; by default the label-only one, else the "
               "first.\n"
               "--metric M: that result only (default: test_accuracy on the terminal, all in "
               "--json).\n";
    if (c == "delete")
        return "usage: retort-cli delete RUN [RUN...] --project P.retort\n"
               "Deletes the runs with their metrics, layers and models, in one transaction. A "
               "queued or\n"
               "running run is refused (cancel it first) and then nothing is deleted.\n";
    if (c == "resume")
        return "usage: retort-cli resume RUN|--all --project P.retort [--json]\n"
               "Continues an interrupted, cancelled or queued run from its last completed epoch, "
               "with\n"
               "its stored spec, to the same results as an uninterrupted run (same device, "
               "threads).\n"
               "--all resumes every interrupted or queued run of the project, oldest first.\n";
    if (c == "show")
        return "usage: retort-cli show RUN --project P.retort [--json | --spec]\n"
               "--spec prints the run's full spec: `retort-cli run` on it repeats the run.\n";
    if (c == "export")
        return "usage: retort-cli export --project P.retort --format csv|json [--metrics | "
               "--grouped "
               "[--baseline B]] --out FILE\n"
               "Runs: id, name, status, swept keys, scalar results, error (one row per run).\n"
               "--metrics: every per-epoch metric in long form: run,metric,step,value.\n"
               "--grouped: one row per configuration, as `compare --json` gives it.\n";
    if (c == "export-model")
        return "usage: retort-cli export-model RUN --project P.retort --format onnx|pt --out FILE "
               "[--float-weights]\n"
               "onnx: opset 13 (Gemm, Conv, Relu, MaxPool, Flatten); quantized weights as int8 "
               "codes with\n"
               "DequantizeLinear, or with --float-weights as their float values (for runtimes "
               "without QDQ).\n"
               "pt: a checkpoint for torch.load: {'state_dict': ..., 'retort': JSON with the "
               "layers}.\n"
               "Inputs are normalized features, x' = (x - mean) / std, with the mean and std of "
               "the "
               "metadata's\n"
               "input_normalization in the data's raw units: for Fashion-MNIST, pixels 0-255 (not "
               "the 0-1\n"
               "of torchvision's ToTensor(): multiply those by 255 first).\n"
               "Text students take input_ids int64 [batch, tokens]: [CLS] (2), the SentencePiece "
               "ids,\n"
               "padding 0; the run's tokenizer is written beside FILE as <FILE without "
               "extension>.tokenizer.model.\n";
    if (c == "submit")
        return "usage: retort-cli submit SPEC.json --project P.retort --slurm [--shared-dir D]\n"
               "         [--partition X] [--time T] [--cpus-per-task N] [--gres G] [--mem M]\n"
               "         [--account A] [--qos Q] [--sbatch-args '...'] [--retort-cli PATH]\n"
               "         [--settings FILE] [--dry-run]\n"
               "Expands the sweep, writes each point and the job scripts into a new folder under "
               "the\n"
               "shared folder (seen by every node), submits the teacher job (when the teacher "
               "must be\n"
               "trained) and one sbatch --array job depending on it, and records every point as a "
               "queued\n"
               "run. Options not given come from the [slurm] section of the settings file "
               "(default\n" +
               defaultSettingsPath() + "). --dry-run prints the job scripts and submits nothing.\n";
    if (c == "sync")
        return "usage: retort-cli sync --project P.retort [--json]\n"
               "Reads Slurm's view (squeue; sacct, or scontrol show job without accounting) and "
               "the\n"
               "shards; merges every finished run in one transaction; failed or cancelled tasks "
               "become\n"
               "failed/cancelled runs with Slurm's reason. Running it again changes nothing. Exit "
               "0.\n";
    if (c == "cancel") return "usage: retort-cli cancel --project P.retort\n";
    if (c == "run-point")
        return "usage: retort-cli run-point POINT.json --shard S.retort [--teacher-cache T.retort] "
               "[--teacher-only]\n"
               "What a Slurm task runs: one sweep point into its own shard project.\n";
    if (c == "report")
        return "usage: retort-cli report --project P.retort --out report.html|report.pdf "
               "[--baseline CONFIG|RUN]\n"
               "Self-contained HTML (plots embedded) or PDF: findings (each configuration "
               "against the baseline,\n"
               "with 95 % intervals over seeds), summary, environment, accuracy-vs-size with "
               "its Pareto front\n"
               "(configuration means with whiskers when there are seeds), loss curves, results "
               "grouped by\n"
               "configuration, each configuration's spec as a difference from the baseline's, "
               "per-layer sparsity\n"
               "and the commands that reproduce each run. --baseline as for compare (default: "
               "label-only).\n"
               "Needs no display.\n";
    return kUsage;
}
