"""PyTorch runner behind @decodekit/train's `torch` backend (`fineTuneLlama`, `trainSplade`, `trainLud`).

TensorFlow.js on wasm trains a 260K-parameter Llama at a few hundred tokens a second on two cores; the same
recipes in PyTorch on CPU run one to two orders of magnitude faster, which is what runs of millions of tokens
(hyperfitting to near-zero loss, full SPLADE fine-tuning) need. This file is the PyTorch side of that bridge:
the TypeScript caller writes a job (JSON) and the starting weights (a llama2.c checkpoint), runs

    python3 decodekit_train.py JOB.json

and reads one JSON object per stdout line: {"event": "progress", ...} while training, then {"event": "done",
...} after the tuned weights are written as a llama2.c checkpoint to job["output"]. Errors go to stderr with a
non-zero exit. The model is llama2.c's Llama (RMSNorm, interleaved RoPE, SwiGLU, grouped-query attention, tied
or separate classifier), the architecture of `tfLlama` and of the ONNX graphs; `parity` jobs return its logits
(of a chain, or of a tree layout given `parents`) so the caller can check it against its own forward. `lud` jobs
train on LUD layouts (`prepareLud` in train-lud.ts builds them): rows with parents, each at position = depth,
attending to its ancestors only; the base model's hidden states and LM head come as float32 files (job["files"]).
"""

import json
import math
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Llama(nn.Module):
    """llama2.c's Llama as one set of stacked parameters (the checkpoint's own layout, [layers, out, in])."""

    def __init__(self, dim, hidden, layers, heads, kv_heads, vocab, context, tied, rope_theta, eps):
        super().__init__()
        self.eps = eps
        self.shape = (dim, hidden, layers, heads, kv_heads, vocab, context)
        self.head_size = dim // heads
        kv_dim = kv_heads * self.head_size

        def zeros(*shape):
            return nn.Parameter(torch.zeros(*shape))

        self.token_embedding = zeros(vocab, dim)
        self.rms_att = zeros(layers, dim)
        self.wq = zeros(layers, dim, dim)
        self.wk = zeros(layers, kv_dim, dim)
        self.wv = zeros(layers, kv_dim, dim)
        self.wo = zeros(layers, dim, dim)
        self.rms_ffn = zeros(layers, dim)
        self.w1 = zeros(layers, hidden, dim)
        self.w2 = zeros(layers, dim, hidden)
        self.w3 = zeros(layers, hidden, dim)
        self.rms_final = zeros(dim)
        self.wcls = None if tied else zeros(vocab, dim)
        pair = torch.arange(self.head_size // 2, dtype=torch.float64)
        self.inverse_frequency64 = 1.0 / rope_theta ** (2 * pair / self.head_size)
        self.inverse_frequency = self.inverse_frequency64.float()

    BODY = ("token_embedding", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final")

    @staticmethod
    def read(path, rope_theta=10000.0, eps=1e-5):
        """A llama2.c checkpoint (legacy format: 7 int32 header, then float32 tensors; vocab < 0 = separate classifier)."""
        raw = open(path, "rb").read()
        dim, hidden, layers, heads, kv_heads, vocab, context = struct.unpack("7i", raw[:28])
        model = Llama(dim, hidden, layers, heads, kv_heads, abs(vocab), context, vocab > 0, rope_theta, eps)
        values = np.frombuffer(raw, dtype=np.float32, offset=28)
        at = 0
        for name in Llama.BODY:
            parameter = getattr(model, name)
            n = parameter.numel()
            parameter.data.copy_(torch.from_numpy(values[at : at + n].copy()).view_as(parameter))
            at += n
        at += context * model.head_size  # the stored RoPE tables (cos and sin, context × head_size / 2 each)
        if model.wcls is not None:
            model.wcls.data.copy_(torch.from_numpy(values[at : at + model.wcls.numel()].copy()).view_as(model.wcls))
            at += model.wcls.numel()
        if at != values.size:
            raise ValueError(f"{path}: {values.size - at} float(s) left over; not a llama2.c checkpoint of this shape")
        return model

    def write(self, path):
        dim, hidden, layers, heads, kv_heads, vocab, context = self.shape
        parts = [struct.pack("7i", dim, hidden, layers, heads, kv_heads, vocab if self.wcls is None else -vocab, context)]
        parts += [getattr(self, name).detach().numpy().astype(np.float32).tobytes() for name in Llama.BODY]
        angles = torch.arange(context, dtype=torch.float64)[:, None] * self.inverse_frequency64[None]
        parts += [torch.cos(angles).float().numpy().tobytes(), torch.sin(angles).float().numpy().tobytes()]
        if self.wcls is not None:
            parts.append(self.wcls.detach().numpy().astype(np.float32).tobytes())
        temporary = f"{path}.partial"
        with open(temporary, "wb") as file:
            file.write(b"".join(parts))
        os.replace(temporary, path)

    def norm(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rope(self, x, positions=None):
        """Rotates each interleaved pair (x0, x1) of every head by its position's angle. x: [batch, heads, time,
        head_size]; positions: [batch, time] (a layout's depths) or None for 0..time-1."""
        if positions is None:
            angles = torch.arange(x.shape[2], dtype=torch.float32)[:, None] * self.inverse_frequency[None]
        else:
            angles = (positions.float()[..., None] * self.inverse_frequency)[:, None]  # [batch, 1, time, pairs]
        cos, sin = torch.cos(angles), torch.sin(angles)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x1 * cos + x0 * sin], -1).flatten(-2)

    def hidden_states(self, tokens, parents=None):
        """Final-normed hidden states [batch, time, dim] of causal chains (right padding never reaches a real row),
        or of a tree layout: `parents` [batch, time] as `TfLlamaLayout.parents` (row r attends to its ancestors
        and itself, at position depth(r))."""
        dim, _, layers, heads, kv_heads, _, _ = self.shape
        batch, time_ = tokens.shape
        x = self.token_embedding[tokens]
        positions = None
        if parents is None:
            mask = torch.full((time_, time_), float("-inf")).triu(1)
        else:
            positions, mask = layout_tensors(parents)
        group = heads // kv_heads
        for layer in range(layers):
            h = self.norm(x, self.rms_att[layer])
            q = (h @ self.wq[layer].t()).view(batch, time_, heads, self.head_size).transpose(1, 2)
            k = (h @ self.wk[layer].t()).view(batch, time_, kv_heads, self.head_size).transpose(1, 2)
            v = (h @ self.wv[layer].t()).view(batch, time_, kv_heads, self.head_size).transpose(1, 2)
            q, k = self.rope(q, positions), self.rope(k, positions)
            k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
            attention = ((q @ k.transpose(-1, -2)) / math.sqrt(self.head_size) + mask).softmax(-1)
            x = x + (attention @ v).transpose(1, 2).reshape(batch, time_, dim) @ self.wo[layer].t()
            h = self.norm(x, self.rms_ffn[layer])
            x = x + (F.silu(h @ self.w1[layer].t()) * (h @ self.w3[layer].t())) @ self.w2[layer].t()
        return self.norm(x, self.rms_final)

    def logits(self, tokens, parents=None):
        classifier = self.token_embedding if self.wcls is None else self.wcls
        return self.hidden_states(tokens, parents) @ classifier.t()


def layout_tensors(parents):
    """Each row's depth [batch, time] and the additive ancestor mask [batch, 1, time, time] of a tree layout
    (`parents[b][r]`: an earlier row of sample b, or -1), the rules of tfLlama's `layoutTensors`."""
    parents = np.asarray(parents, dtype=np.int64)
    batch, time_ = parents.shape
    depth = np.zeros((batch, time_), dtype=np.int64)
    ancestors = np.zeros((batch, time_, time_), dtype=bool)
    for b in range(batch):
        for r in range(time_):
            parent = parents[b, r]
            if parent < -1 or parent >= r:
                raise ValueError(f"row {r} of sample {b} has parent {parent}; a parent must be -1 or an earlier row")
            if parent >= 0:
                depth[b, r] = depth[b, parent] + 1
                ancestors[b, r] = ancestors[b, parent]
            ancestors[b, r, r] = True
    mask = torch.zeros(batch, 1, time_, time_).masked_fill_(torch.from_numpy(~ancestors)[:, None], float("-inf"))
    return torch.from_numpy(depth), mask


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def learning_rate(job, step, steps):
    base = job["learningRate"]
    if job.get("schedule", "constant") == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * step / steps))
    return base


def padded(rows):
    """Right-padded token ids [batch, time] (pad 0) and each row's length."""
    width = max(len(row) for row in rows)
    tokens = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        tokens[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return tokens, [len(row) for row in rows]


def finetune_loss(model, job, batch, step):
    """Next-token cross-entropy of whole sequences (padding masked), as `fineTuneLlama`."""
    tokens, lengths = padded(batch)
    logits = model.logits(tokens[:, :-1])
    targets = tokens[:, 1:].clone()
    for i, length in enumerate(lengths):
        targets[i, length - 1 :] = -100
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


def splade_input(ids, context, echo, bos):
    """`[bos?] x [x]` and the first pooled row, the rules of `causalLmSplade` (text cut to the context)."""
    prefix = [] if bos is None else [bos]
    room = context - len(prefix)
    kept = list(ids[: room // 2 if echo else room])
    return (prefix + kept + kept, len(prefix) + len(kept)) if echo else (prefix + kept, len(prefix))


def splade_vectors(model, texts, job):
    """w_j = max over the pooled rows of log(1 + ReLU(z_ij)) ([texts, vocab], differentiable)."""
    context = model.shape[6]
    inputs = [splade_input(ids, context, job.get("echo", True), job.get("bosTokenId", 1)) for ids in texts]
    tokens, lengths = padded([tokens for tokens, _ in inputs])
    mask = torch.zeros(tokens.shape[0], tokens.shape[1], 1)
    for i, (_, first) in enumerate(inputs):
        mask[i, first : lengths[i]] = 1
    return (torch.log1p(torch.relu(model.logits(tokens))) * mask).max(1).values


def splade_loss(model, job, batch, step):
    """In-batch contrastive ranking loss over dot(w_q, w_d) plus FLOPS / L1, as `trainSplade` (same warm-up)."""
    queries = splade_vectors(model, [pair["query"] for pair in batch], job)
    texts = [pair["document"] for pair in batch] + [pair["negative"] for pair in batch if "negative" in pair]
    documents = splade_vectors(model, texts, job)
    warmup = job.get("regularizerWarmupSteps", 0)
    ramp = min(1.0, (step + 1) / warmup) ** 2 if warmup > 0 else 1.0
    loss = F.cross_entropy(queries @ documents.t(), torch.arange(len(batch)))
    flops = lambda vectors: (vectors.mean(0) ** 2).sum()
    loss = loss + ramp * job.get("flopsQuery", 1e-3) * flops(queries)
    loss = loss + ramp * job.get("flopsDocument", 1e-3) * flops(documents)
    loss = loss + ramp * job.get("l1Query", 0.0) * queries.sum(1).mean()
    return loss


def lud_teacher(job):
    """The base model's hidden states after every dataset row and its LM head (float32 files the caller wrote):
    softmax(hidden @ lmHead.T) is the soft target of a real row, as `trainLud`'s `baseDistributions`."""
    files = job["files"]
    lm_head = torch.from_numpy(np.fromfile(files["lmHead"], dtype=np.float32).reshape(job["vocab"], -1))
    hidden = torch.from_numpy(np.fromfile(files["hidden"], dtype=np.float32).reshape(-1, lm_head.shape[1]))
    return hidden, lm_head


def lud_loss(model, job, batch, step):
    """`trainLud`'s loss on packed layouts: soft cross-entropy of the real rows against the base model's
    distribution, averaged over the real rows with a target, + placeholderWeight × the placeholder rows'
    cross-entropy on their token ahead, averaged over the placeholder rows with a target (padding rows see only
    themselves and carry no target)."""
    hidden, lm_head = job["teacher"]
    time_ = max(len(sample["tokens"]) for sample in batch)
    tokens = torch.zeros(len(batch), time_, dtype=torch.long)
    parents = np.full((len(batch), time_), -1, dtype=np.int64)
    labels = torch.full((len(batch), time_), -100, dtype=torch.long)
    teacher_rows, real_rows = [], []
    for b, sample in enumerate(batch):
        rows = len(sample["tokens"])
        tokens[b, :rows] = torch.tensor(sample["tokens"], dtype=torch.long)
        parents[b, :rows] = sample["parents"]
        labels[b, :rows] = torch.tensor(sample["labels"], dtype=torch.long)
        real = sample["real"]  # rows 0 .. real-1 are the sequence; the last one has no target
        teacher_rows.append(hidden[sample["hiddenStart"] : sample["hiddenStart"] + real - 1])
        real_rows += [b * time_ + r for r in range(real - 1)]
    logits = model.logits(tokens, parents).reshape(len(batch) * time_, -1)
    real_rows = torch.tensor(real_rows, dtype=torch.long)
    teacher = torch.softmax(torch.cat(teacher_rows) @ lm_head.t(), -1)
    real_loss = -(teacher * torch.log_softmax(logits[real_rows], -1)).sum(-1).mean()
    is_placeholder = torch.ones(len(batch), time_, dtype=torch.bool)
    for b, sample in enumerate(batch):
        is_placeholder[b, : sample["real"]] = False
    targets = labels.masked_fill(~is_placeholder, -100).reshape(-1)
    if (targets >= 0).any():
        placeholder_loss = F.cross_entropy(logits, targets, ignore_index=-100)
    else:
        placeholder_loss = logits.sum() * 0
    return real_loss + job.get("placeholderWeight", 1.0) * placeholder_loss


def train(job, model):
    samples = job["samples"]
    steps, batch_size, log_every = job["steps"], job["batchSize"], job.get("logEvery", 25)
    loss_of = {"finetune": finetune_loss, "splade": splade_loss, "lud": lud_loss}[job["task"]]
    generator = random.Random(job["seed"])
    torch.manual_seed(job["seed"])
    parameters = [p for p in model.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=job["learningRate"], betas=(0.9, 0.999), eps=1e-7)
    clip = job.get("clipGradNorm")
    order, losses, positions, started = [], [], 0, time.time()
    for step in range(steps):
        if len(order) < batch_size:  # epochs of seeded permutations; a batch never spans two epochs
            order = list(range(len(samples)))
            generator.shuffle(order)
        indices, order = order[:batch_size], order[batch_size:]
        batch = [samples[i] for i in indices]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(job, step, steps)
        loss = loss_of(model, job, batch, step)
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(parameters, clip)
        optimizer.step()
        positions += len(batch)  # samples, as the TensorFlow.js loop counts them
        if (step + 1) % log_every == 0 or step + 1 == steps:
            losses.append({"step": step + 1, "loss": loss.item()})
            emit("progress", step=step + 1, steps=steps, loss=loss.item(),
                 positionsPerSecond=positions / max(time.time() - started, 1e-9))
    return losses, positions / max(time.time() - started, 1e-9)


def main():
    if len(sys.argv) != 2:
        print("usage: decodekit_train.py JOB.json", file=sys.stderr)
        sys.exit(2)
    job = json.load(open(sys.argv[1]))
    torch.set_num_threads(job.get("threads") or 1)
    model = Llama.read(job["weights"], job.get("ropeTheta", 10000.0), job.get("rmsNormEps", 1e-5))
    if job["task"] == "parity":
        parents = [job["parents"]] if "parents" in job else None
        with torch.no_grad():
            logits = model.logits(torch.tensor([job["tokens"]], dtype=torch.long), parents)[0]
        emit("done", logits=logits.flatten().tolist())
        return
    if job["task"] == "splade" and job.get("untie") and model.wcls is None:
        model.wcls = nn.Parameter(model.token_embedding.detach().clone())
    if job["task"] == "lud":
        job["teacher"] = lud_teacher(job)
    losses, speed = train(job, model)
    model.write(job["output"])
    emit("done", losses=losses, positionsPerSecond=speed)


if __name__ == "__main__":
    main()
