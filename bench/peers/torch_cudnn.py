"""Peer: what a PyTorch user would pick instead of the original's loop: cuDNN's nn.RNN /
nn.GRU / nn.LSTM with the same shapes (embedding 64, 25 layers of hidden 8, batch 1000,
sequence 200, batch_first), the LAST layer's output at the LAST timestep -> Linear(8, 1),
BCEWithLogitsLoss, Adam; one epoch timed on the suite's own encoded data.

It is a speed peer, not the same model: nn.GRU gates differ from the original's GRU and the
initialisation is PyTorch's default. Usage as torch_loop.py; prints one JSON line.
"""
import json
import os

import torch
import torch.nn as nn

from _common import ORIGINAL_LR, device_of, parse_args, run_epoch


class CudnnModel(nn.Module):
    def __init__(self, arch, vocab_size, embed_dim, hidden_size, num_layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[arch]
        self.rnn = rnn(embed_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.rnn(self.embedding(x))  # out: [B, T, H], the last layer's outputs
        return self.head(out[:, -1, :]).squeeze(1)


def main():
    args = parse_args("Time one epoch of cuDNN nn.RNN/nn.GRU/nn.LSTM at the original's shapes.")
    device = device_of(args.device)
    torch.manual_seed(args.seed)
    with open(os.path.join(args.data, "meta.json")) as f:
        vocab_size = int(json.load(f)["vocabSize"])
    model = CudnnModel(args.arch, vocab_size, args.embed, args.hidden, args.layers).to(device)
    criterion = nn.BCEWithLogitsLoss()
    lr = args.lr if args.lr is not None else ORIGINAL_LR[args.arch]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step(texts, labels):
        model.train()
        texts, labels = texts.to(device), labels.to(device)
        optimizer.zero_grad()
        logits = model(texts)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        correct = ((torch.sigmoid(logits) > 0.5).long() == labels.long()).sum().item()
        return loss.item(), correct

    def evaluate(texts, labels):
        model.eval()
        with torch.no_grad():
            texts, labels = texts.to(device), labels.to(device)
            logits = model(texts)
            loss = criterion(logits, labels)
            correct = ((torch.sigmoid(logits) > 0.5).long() == labels.long()).sum().item()
            return loss.item(), correct

    run_epoch("torch-cudnn", args, model, optimizer, step, evaluate)


if __name__ == "__main__":
    main()
