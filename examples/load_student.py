#!/usr/bin/env python3
"""Loads a student exported by `retort-cli export-model RUN --format pt` into PyTorch.

    python3 load_student.py student.pt                  # prints the module and its metadata
    python3 load_student.py student.pt --check X Y      # X, Y: tensors saved with torch.save
                                                        # (exit 1 unless model(X) matches Y)

Image students take normalized images; text students take token ids [batch, tokens]: [CLS] (2)
first, then the pieces of the SentencePiece model exported beside the checkpoint, right-padded
with 0 (see the metadata's "tokenizer").
"""
import json
import math
import sys

import torch
from torch import nn


class SelfAttention(nn.Module):
    """Retort's multi-head self-attention: q, k, v, o projections; padding keys masked; a
    language model's (causal) also masks every later token."""

    def __init__(self, dim, heads, head_dim=None, causal=False):
        super().__init__()
        self.heads = heads
        self.causal = causal
        self.head_dim = head_dim or dim // heads  # pruned heads keep their width
        inner = heads * self.head_dim
        self.q, self.k, self.v = (nn.Linear(dim, inner) for _ in range(3))
        self.o = nn.Linear(inner, dim)

    def forward(self, x, real):
        b, l, _ = x.shape
        dh = self.head_dim
        split = lambda t: t.view(b, l, self.heads, dh).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh)
        scores = scores.masked_fill(~real.view(b, 1, 1, l), float("-inf"))
        if self.causal:
            future = torch.ones(l, l, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        return self.o((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, l, self.heads * dh))


def packed_lstm(lstm, x, real):
    """An LSTM over each sample's real tokens only; zeros at padding."""
    lengths = real.sum(1).cpu()
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    return nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))[0]


class TiedOutput(nn.Module):
    """A language model's output tied to its token table: only the bias is its own."""

    def __init__(self, vocab):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, h, table):
        return nn.functional.linear(h, table, self.bias)


def make(node):
    kind = node["type"]
    if kind == "linear" and node.get("tied"):
        return TiedOutput(node["out"])
    if kind == "linear":
        return nn.Linear(node["in"], node["out"])
    if kind == "conv2d":
        return nn.Conv2d(node["in"], node["out"], node["kernel"], padding=node["padding"])
    if kind == "embedding":
        return nn.Embedding(node["num"], node["dim"])
    if kind == "layernorm":
        return nn.LayerNorm(node["dim"])
    if kind == "attention":
        return SelfAttention(node["dim"], node["heads"], node.get("head_dim"),
                             node.get("causal", False))
    if kind == "lstm":
        return nn.LSTM(node["in"], node["hidden"], batch_first=True,
                       bidirectional=node["bidirectional"])
    return None  # relu, maxpool2d, flatten, add, gelu, pool: no parameters


class RetortStudent(nn.Module):
    """Runs Retort's layer list (a graph: each node names the nodes it reads). Modules sit under
    their node names ("layer1.attn" is self.layer1.attn), so the state dict loads strictly."""

    def __init__(self, layers):
        super().__init__()
        self.nodes = layers
        for node in layers:
            module = make(node)
            if module is None:
                continue
            *path, leaf = node["name"].split(".")
            parent = self
            for part in path:
                if not hasattr(parent, part):
                    parent.add_module(part, nn.Module())
                parent = getattr(parent, part)
            parent.add_module(leaf, module)
        self.text = any(n["type"] == "embedding" for n in layers)

    def module(self, name):
        m = self
        for part in name.split("."):
            m = getattr(m, part)
        return m

    def forward(self, x):
        real = x.ne(0) if self.text else None
        values = {"input": x}
        for node in self.nodes:
            kind, name = node["type"], node["name"]
            inputs = [values[i] for i in node["inputs"]]
            h = inputs[0]
            if kind == "embedding":
                table = self.module(name)
                if node.get("mode") == "position":
                    h = table(torch.arange(x.size(1), device=x.device)).unsqueeze(0)
                else:
                    h = table(x)
            elif kind == "add":
                h = sum(inputs[1:], inputs[0])
            elif kind == "attention":
                h = self.module(name)(h, real)
            elif kind == "lstm":
                h = packed_lstm(self.module(name), h, real)
            elif kind == "pool":
                mode = node["mode"]
                if mode == "first":
                    h = h[:, 0]
                elif mode == "max":
                    h = h.masked_fill(~real.unsqueeze(-1), float("-inf")).amax(1)
                else:
                    w = real.unsqueeze(-1).to(h.dtype)
                    h = (h * w).sum(1) / w.sum(1).clamp_min(1.0)
            elif kind == "relu":
                h = torch.relu(h)
            elif kind == "gelu":
                h = nn.functional.gelu(h)
            elif kind == "maxpool2d":
                h = nn.functional.max_pool2d(h, 2)
            elif kind == "flatten":
                h = torch.flatten(h, 1)
            elif node.get("tied"):  # the token table transposed, and a bias
                h = self.module(name)(h, self.module(node["tied"]).weight)
            else:  # linear, conv2d, layernorm
                h = self.module(name)(h)
            values[name] = h
        return h


def load(path):
    checkpoint = torch.load(path)
    info = json.loads(checkpoint["retort"])
    model = RetortStudent(info["layers"])
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
    for key in ("input_normalization", "tokenizer", "labels", "results"):
        if key in info:
            print(f"{key}:", json.dumps(info[key]))
