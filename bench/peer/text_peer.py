#!/usr/bin/env python3
"""The text benchmark's peer: Retort's WordNet workload in plain PyTorch, written the plain way.

Reads WordNet 3.0's glosses (Debian's wordnet-base) with the same 80/10/10 split by a hash of
part of speech and offset, trains the same SentencePiece unigram model on the training glosses,
trains a pre-norm Transformer teacher (nn.TransformerEncoder) on the labels, then a BiLSTM
student with Hinton's loss, running the frozen teacher on every batch. Batches are random and
padded to their longest sample (pad_sequence), as a plain script pads. Prints one JSON line:
times, real tokens per second, accuracies.
"""
import argparse
import io
import json
import math
import os
import time

import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence


def fnv1a(text):
    h = 1469598103934665603
    for b in text.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h


def read_wordnet(folder):
    """(gloss, lexicographer file number, split 0/1/2) for every synset."""
    out = []
    for part in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(folder, "data." + part), encoding="utf-8") as f:
            for line in f:
                if line.startswith("  ") or not line.strip():
                    continue
                offset, lex, pos = line.split(" ", 3)[:3]
                gloss = line[line.index(" | ") + 3:].rstrip(" \r\n")
                bucket = fnv1a(f"{pos}:{int(offset)}") % 10
                out.append((gloss, int(lex), 0 if bucket < 8 else 1 if bucket == 8 else 2))
    return out


class Teacher(nn.Module):
    def __init__(self, vocab, classes, length, d=192, heads=4, ffn=768, layers=3, dropout=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(length, d)
        layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(d, classes)

    def forward(self, ids):
        real = ids.ne(0)
        h = self.drop(self.tok(ids) + self.pos(torch.arange(ids.size(1))))
        h = self.norm(self.encoder(h, src_key_padding_mask=~real))
        w = real.unsqueeze(-1).float()
        return self.out((h * w).sum(1) / w.sum(1))


class BiLstm(nn.Module):
    def __init__(self, vocab, classes, emb=128, hidden=128, dropout=0.1):
        super().__init__()
        self.tok = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, classes)

    def forward(self, ids):
        real = ids.ne(0)
        packed = pack_padded_sequence(self.drop(self.tok(ids)), real.sum(1), batch_first=True,
                                      enforce_sorted=False)
        h = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.size(1))[0]
        h = self.drop(h).masked_fill(~real.unsqueeze(-1), float("-inf"))
        return self.out(h.amax(1))


def batches(samples, labels, batch, generator):
    order = torch.randperm(len(samples), generator=generator).tolist()
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        yield pad_sequence([samples[j] for j in idx], batch_first=True), labels[idx]


def accuracy(model, samples, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(samples), 256):
            x = pad_sequence(samples[i:i + 256], batch_first=True)
            correct += (model(x).argmax(1) == labels[i:i + 256]).sum().item()
    return correct / len(samples)


def train_epoch(model, opt, samples, labels, batch, generator, teacher=None, T=2.0, lam=0.5):
    model.train()
    for x, y in batches(samples, labels, batch, generator):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if teacher is not None:
            with torch.no_grad():
                t = teacher(x)
            soft = F.kl_div(F.log_softmax(logits / T, 1), F.log_softmax(t / T, 1),
                            reduction="batchmean", log_target=True) * T * T
            loss = lam * soft + (1 - lam) * loss
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/wordnet")
    p.add_argument("--teacher-epochs", type=int, default=1)
    p.add_argument("--student-epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="only the first N training glosses")
    a = p.parse_args()
    start = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    data = read_wordnet(a.data)
    train = [(g, c) for g, c, s in data if s == 0]
    test = [(g, c) for g, c, s in data if s == 2]
    if a.limit:
        train = train[:a.limit]
    classes = sorted({c for _, c in train})
    label_of = {c: i for i, c in enumerate(classes)}
    test = [(g, c) for g, c in test if c in label_of]
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([g for g, _ in train]), model_writer=proto, model_type="unigram",
        vocab_size=8000, pad_id=0, unk_id=1, bos_id=2, eos_id=-1,
        normalization_rule_name="nmt_nfkc_cf", character_coverage=1.0, hard_vocab_limit=False,
        num_threads=1, minloglevel=2)
    model = spm.SentencePieceProcessor(model_proto=proto.getvalue())

    def encode(pairs):
        ids = model.encode([g for g, _ in pairs])
        return ([torch.tensor([2] + x[:63]) for x in ids],
                torch.tensor([label_of[c] for _, c in pairs]))

    x_train, y_train = encode(train)
    x_test, y_test = encode(test)
    tokens = sum(len(x) for x in x_train)
    prepared = time.time() - start

    vocab = model.get_piece_size()
    teacher = Teacher(vocab, len(classes), 64)
    opt = torch.optim.AdamW(teacher.parameters(), lr=5e-4, weight_decay=0.01)
    t0 = time.time()
    for e in range(a.teacher_epochs):
        for g in opt.param_groups:  # cosine over epochs, as the Retort spec
            g["lr"] = 5e-4 * 0.5 * (1 + math.cos(math.pi * e / a.teacher_epochs))
        train_epoch(teacher, opt, x_train, y_train, 64, gen)
    teacher_seconds = time.time() - t0
    teacher.eval()
    for q in teacher.parameters():
        q.requires_grad_(False)
    teacher_acc = accuracy(teacher, x_test, y_test)

    student = BiLstm(vocab, len(classes))
    opt = torch.optim.AdamW(student.parameters(), lr=1e-3, weight_decay=0.01)
    t0 = time.time()
    for e in range(a.student_epochs):
        for g in opt.param_groups:
            g["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * e / a.student_epochs))
        train_epoch(student, opt, x_train, y_train, 64, gen, teacher=teacher)
    student_seconds = time.time() - t0
    print(json.dumps({
        "train_samples": len(x_train), "train_tokens": tokens, "prepare_seconds": prepared,
        "teacher_seconds": teacher_seconds,
        "teacher_tokens_per_s": tokens * a.teacher_epochs / teacher_seconds,
        "student_seconds": student_seconds,
        "student_tokens_per_s": tokens * a.student_epochs / student_seconds,
        "teacher_test_accuracy": teacher_acc, "test_accuracy": accuracy(student, x_test, y_test),
        "seconds": time.time() - start}))


if __name__ == "__main__":
    main()
