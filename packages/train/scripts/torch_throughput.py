#!/usr/bin/env python3
"""Training throughput of the Medusa-1 heads in PyTorch, for the backend choice in packages/train/README.md.

Runs the same model, loss and batch size as `decodekit train medusa` (4 heads: residual SiLU block + own
LM head, cross-entropy weighted 0.8^k, Adam) on a dataset cached by `decodekit train`, for a fixed number of
steps, and prints positions per second. It measures speed only; it writes no weights.

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 packages/train/scripts/torch_throughput.py <cache>/train/<key> [steps] [batch]
where <key>.json / <key>.bin are the dataset files `decodekit train` printed.
"""
import json
import sys
import time

import numpy as np
import torch

prefix = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 100
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 128
heads = 4
vocab = 512

meta = json.load(open(prefix + ".json"))
raw = np.fromfile(prefix + ".bin", dtype="<i4")
count, rows, hidden_size = meta["count"], meta["rows"], meta["hiddenSize"]
offsets = raw[: count + 1]
tokens = raw[count + 1 : count + 1 + rows]
hidden = raw[count + 1 + rows :].view("<f4").reshape(rows, hidden_size)
positions = np.array([r for s in range(count) for r in range(offsets[s], offsets[s + 1] - 1 - heads)])

torch.manual_seed(0)
weights = [torch.zeros(hidden_size, hidden_size, requires_grad=True) for _ in range(heads)]
biases = [torch.zeros(hidden_size, requires_grad=True) for _ in range(heads)]
lm_heads = [torch.randn(vocab, hidden_size, requires_grad=True) for _ in range(heads)]
optimizer = torch.optim.Adam(weights + biases + lm_heads, lr=3e-3)
features = torch.from_numpy(hidden.copy())
labels = torch.from_numpy(tokens.astype(np.int64))
rng = np.random.default_rng(0)

start = time.perf_counter()
for step in range(steps):
    rows_ = torch.from_numpy(rng.choice(positions, batch))
    h = features[rows_]
    loss = 0
    for k in range(heads):
        z = torch.nn.functional.linear(h, weights[k], biases[k])
        logits = (h + torch.nn.functional.silu(z)) @ lm_heads[k].T
        loss = loss + 0.8**k * torch.nn.functional.cross_entropy(logits, labels[rows_ + 2 + k])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
elapsed = time.perf_counter() - start
print(f"torch {torch.__version__} threads={torch.get_num_threads()}: {steps * batch / elapsed:.0f} positions/s (loss {loss.item():.4f})")
