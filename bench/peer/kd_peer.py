#!/usr/bin/env python3
"""The benchmark peer: Retort's workload in plain PyTorch, written the way a researcher writes it.

Loads the Fashion-MNIST IDX files itself, normalizes with the training mean and std, runs the
frozen teacher on every batch, trains the student with Hinton's loss, and evaluates student and
teacher on the test set. One process per sweep point. Prints one JSON line with its results.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_idx(path, offset):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def find(folder, name):
    for candidate in (name + ".gz", name):
        p = os.path.join(folder, candidate)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(folder, name))


def teacher_net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def student_net():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1024):
            correct += (model(x[i:i + 1024]).argmax(1) == y[i:i + 1024]).sum().item()
    return correct / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--teacher-epochs", type=int, default=0, help="0: untrained, frozen")
    p.add_argument("--temperature", type=float, default=4.0)
    p.add_argument("--lam", type=float, default=0.9)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (quick mode)")
    a = p.parse_args()
    start = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    x_train = load_idx(find(a.data, "train-images-idx3-ubyte"), 16).reshape(-1, 1, 28, 28)
    y_train = load_idx(find(a.data, "train-labels-idx1-ubyte"), 8)
    x_test = load_idx(find(a.data, "t10k-images-idx3-ubyte"), 16).reshape(-1, 1, 28, 28)
    y_test = load_idx(find(a.data, "t10k-labels-idx1-ubyte"), 8)
    if a.limit:
        x_train, y_train = x_train[:a.limit], y_train[:a.limit]
    x_train = torch.from_numpy(x_train.astype(np.float32))
    x_test = torch.from_numpy(x_test.astype(np.float32))
    mean, std = x_train.mean(), x_train.std()
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    y_train = torch.from_numpy(y_train.astype(np.int64))
    y_test = torch.from_numpy(y_test.astype(np.int64))

    teacher = teacher_net()
    if a.teacher_epochs:
        opt = torch.optim.Adam(teacher.parameters(), lr=a.lr)
        for _ in range(a.teacher_epochs):
            teacher.train()
            perm = torch.randperm(len(x_train))
            for i in range(0, len(x_train), a.batch):
                idx = perm[i:i + a.batch]
                loss = F.cross_entropy(teacher(x_train[idx]), y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    teacher.eval()
    for q in teacher.parameters():
        q.requires_grad_(False)

    student = student_net()
    opt = torch.optim.Adam(student.parameters(), lr=a.lr)
    T, lam = a.temperature, a.lam
    for _ in range(a.epochs):
        student.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = x_train[idx], y_train[idx]
            with torch.no_grad():
                t = teacher(xb)
            s = student(xb)
            soft = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), reduction="batchmean",
                            log_target=True) * T * T
            hard = F.cross_entropy(s, yb)
            loss = lam * soft + (1 - lam) * hard
            opt.zero_grad()
            loss.backward()
            opt.step()

    result = {"test_accuracy": accuracy(student, x_test, y_test),
              "teacher_test_accuracy": accuracy(teacher, x_test, y_test),
              "seconds": time.time() - start}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
