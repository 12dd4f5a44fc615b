"""Shared by the PyTorch peers: arguments, the suite's .npy data, timing, the JSON result.

The peers time one epoch (train on the shuffled train split, then evaluate the test split
in order) of a model on the suite's own encoded data (exported by export_npy.ts), with
torch.cuda.synchronize() around every timed region, and print ONE JSON line.
"""
import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch

# The original report's learning rates (DESIGN.md section 1).
ORIGINAL_LR = {"rnn": 1e-7, "lstm": 1e-10, "gru": 1e-9}


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", required=True, help="folder written by bench/peers/export_npy.ts")
    p.add_argument("--arch", required=True, choices=["rnn", "gru", "lstm"])
    p.add_argument("--device", default="0", help="CUDA device index, or 'cpu' (tests)")
    p.add_argument("--batches", type=int, default=0,
                   help="time only this many train and test batches and extrapolate to the "
                        "epoch (0: the whole epoch); either way after one untimed warm-up "
                        "batch of each")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=8)
    p.add_argument("--layers", type=int, default=25)
    p.add_argument("--lr", type=float, default=None, help="default: the original's per arch")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def device_of(arg):
    if arg == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        fail("torch has no CUDA device (torch.cuda.is_available() is False)")
    return torch.device(f"cuda:{int(arg)}")


def fail(message):
    print(json.dumps({"error": message}))
    sys.exit(2)


def load(folder):
    """The suite's splits: ids int32 [n, T] as int64 tensors (as the original's process_text
    makes them), labels as float tensors (1 = positive), and meta.json."""
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    out = {"meta": meta}
    for split in ("train", "test"):
        ids = np.load(os.path.join(folder, f"{split}_ids.npy"))
        labels = np.load(os.path.join(folder, f"{split}_labels.npy"))
        out[split] = (torch.from_numpy(ids.astype(np.int64)),
                      torch.from_numpy(labels.astype(np.float32)))
    return out


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device, fn):
    sync(device)
    t0 = time.perf_counter()
    value = fn()
    sync(device)
    return time.perf_counter() - t0, value


def batches(n, batch_size, order):
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def report(peer, args, device, extra):
    info = {
        "peer": peer,
        "arch": args.arch,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "batchSize": args.batch_size,
        "layers": args.layers,
        "hidden": args.hidden,
        "embed": args.embed,
    }
    info.update(extra)
    print(json.dumps(info))


def run_epoch(peer, args, model, optimizer, step, evaluate):
    """Times one epoch: step(texts, labels) -> (loss, correct) trains one batch of model with
    optimizer; evaluate(texts, labels) -> (loss, correct) evaluates one. Returns nothing;
    prints JSON."""
    device = device_of(args.device)
    data = load(args.data)
    train_ids, train_labels = data["train"]
    test_ids, test_labels = data["test"]
    n_train, n_test = len(train_labels), len(test_labels)
    bs = args.batch_size
    g = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(n_train, generator=g)
    train_batches = list(batches(n_train, bs, order))
    test_batches = list(batches(n_test, bs, torch.arange(n_test)))
    limit = args.batches
    # One warm-up train batch and one test batch (CUDA context, cuDNN plans for training and
    # for inference, the allocator), not timed, as the suite's own engine is warmed; then the
    # model and the optimizer are put back, so the timed epoch starts from the initial weights.
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    step(train_ids[train_batches[0]], train_labels[train_batches[0]])
    evaluate(test_ids[test_batches[0]], test_labels[test_batches[0]])
    sync(device)
    model.load_state_dict(saved_model)
    optimizer.load_state_dict(saved_optimizer)
    if limit > 0:
        timed_train, timed_test = train_batches[:limit], test_batches[:limit]
    else:
        timed_train, timed_test = train_batches, test_batches

    def train_pass():
        total_loss, total_correct, count = 0.0, 0, 0
        for rows in timed_train:
            loss, correct = step(train_ids[rows], train_labels[rows])
            total_loss += loss * len(rows)
            total_correct += correct
            count += len(rows)
        return total_loss / max(count, 1), total_correct / max(count, 1)

    def eval_pass():
        total_loss, total_correct, count = 0.0, 0, 0
        for rows in timed_test:
            loss, correct = evaluate(test_ids[rows], test_labels[rows])
            total_loss += loss * len(rows)
            total_correct += correct
            count += len(rows)
        return total_loss / max(count, 1), total_correct / max(count, 1)

    train_s, (train_loss, train_acc) = timed(device, train_pass)
    eval_s, (test_loss, test_acc) = timed(device, eval_pass)
    scale_train = len(train_batches) / max(len(timed_train), 1)
    scale_test = len(test_batches) / max(len(timed_test), 1)
    report(peer, args, device, {
        "trainSeconds": train_s * scale_train,
        "evalSeconds": eval_s * scale_test,
        "epochSeconds": train_s * scale_train + eval_s * scale_test,
        "trainBatches": len(train_batches),
        "evalBatches": len(test_batches),
        "timedTrainBatches": len(timed_train),
        "timedEvalBatches": len(timed_test),
        "extrapolated": limit > 0,
        "warmedUp": True,
        "trainLoss": train_loss,
        "trainAccuracy": train_acc,
        "testLoss": test_loss,
        "testAccuracy": test_acc,
        "datasetHash": data["meta"]["datasetHash"],
    })
