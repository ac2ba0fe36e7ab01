#!/usr/bin/env python3
"""Loads a student exported by `retort-cli export-model RUN --format pt` into PyTorch.

    python3 load_student.py student.pt                  # prints the module and its metadata
    python3 load_student.py student.pt --check X Y      # X, Y: tensors saved with torch.save
                                                        # (exit 1 unless model(X) matches Y)
"""
import json
import sys
from collections import OrderedDict

import torch
from torch import nn


def build(layers):
    """The PyTorch module equivalent to Retort's: layer names match the state dict's keys."""
    make = {
        "linear": lambda l: nn.Linear(l["in"], l["out"]),
        "conv2d": lambda l: nn.Conv2d(l["in"], l["out"], l["kernel"], padding=l["padding"]),
        "relu": lambda l: nn.ReLU(),
        "maxpool2d": lambda l: nn.MaxPool2d(2),
        "flatten": lambda l: nn.Flatten(),
    }
    return nn.Sequential(OrderedDict((l["name"], make[l["type"]](l)) for l in layers))


def load(path):
    checkpoint = torch.load(path)
    info = json.loads(checkpoint["retort"])
    model = build(info["layers"])
    model.load_state_dict(checkpoint["state_dict"])  # strict: every key must match
    return model.eval(), info


if __name__ == "__main__":
    model, info = load(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "--check":
        x, expected = torch.load(sys.argv[3]), torch.load(sys.argv[4])
        with torch.no_grad():
            diff = (model(x) - expected).abs().max().item()
        print(f"max |difference| = {diff:.3g}")
        sys.exit(0 if diff <= 1e-5 else 1)
    print(model)
    print("input normalization:", json.dumps(info.get("input_normalization")))
    print("results:", json.dumps(info.get("results")))
