#!/usr/bin/env bash
# Installs the Debian 12 packages Retort builds, runs and tests with. Idempotent: does nothing
# (not even apt-get update) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev            # LibTorch 1.13 (C++ API and TorchScript)
  libopenblas0-openmp     # without it LibTorch falls back to reference BLAS (~30x slower)
  nlohmann-json3-dev libsqlite3-dev zlib1g-dev
  libsentencepiece-dev    # the text tokenizer (SentencePiece unigram/BPE, run by retort-tokenize)
  qt6-base-dev libqcustomplot-dev   # workbench and Qt Test
  qt6-qpa-plugins libqt6svg6        # run time: offscreen/xcb platforms, the SVG window icon
  libonnx-dev libprotobuf-dev       # ONNX export
  libopencv-dnn-dev       # test: the exported ONNX student runs in OpenCV's DNN module
  poppler-utils           # test: the report PDF's text (pdftotext)
  lintian desktop-file-utils appstream man-db  # test: the Debian package is linted
  slurm-wlm munge procps  # test: a one-machine Slurm cluster runs sweeps as job arrays
  dataset-fashion-mnist   # the default real dataset, /usr/share/datasets/fashion-mnist
  wordnet-base            # the text dataset: WordNet 3.0 glosses, /usr/share/wordnet
  python3 python3-numpy python3-torch  # TorchScript teacher and checkpoint tests, benchmark peer,
                                       # the Slurm test's JSON checks
  python3-sentencepiece   # the text benchmark's peer (bench/peer/text_peer.py)
  hostname coreutils grep sed  # called by the test scripts (in minbase too; listed to be sure)
  clang libclang-rt-14-dev  # the sanitizer build and the libFuzzer targets
  sqlite3                 # inspecting projects by hand (not needed to run)
  # The benchmark's peak-RSS figures come from wait4's rusage (bench/run.py): no time(1) needed.
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
