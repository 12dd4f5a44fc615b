"""Peer: the ORIGINAL report's PyTorch models, per-timestep loop and all, timed for one epoch
on the suite's own encoded data (.npy from export_npy.ts).

The three model classes below are the report's code (original-report/000_5c3a0d1c0303f0c9.txt),
unchanged but for the lines the report's PDF cut off at the right margin, completed the only
way they can be; train_model/evaluate_model are its per-batch statements (zero_grad, forward,
BCEWithLogitsLoss, backward, Adam step, loss.item(), accuracy .sum().item()). Only the data
loading differs: the suite's ids and (correct) labels instead of torchtext's iterators.

Usage: python3 torch_loop.py --data DIR --arch lstm [--device 0] [--batches 3]
Prints one JSON line (see _common.report).
"""
import json
import math
import os

import torch
import torch.nn as nn

from _common import ORIGINAL_LR, device_of, parse_args, run_epoch


class RNNModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, output_size=1, num_layers=25):
        super(RNNModel, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        W_xh_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hh_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_h_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        for _ in range(num_layers - 1):
            W_xh_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hh_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_h_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
        self.W_xh_layers = nn.ParameterList(W_xh_layers)
        self.W_hh_layers = nn.ParameterList(W_hh_layers)
        self.b_h_layers = nn.ParameterList(b_h_layers)
        self.W_hy = nn.Parameter(torch.Tensor(hidden_size, output_size))
        self.b_y = nn.Parameter(torch.Tensor(output_size))
        self.reset_parameters()

    def reset_parameters(self):
        for i in range(self.num_layers):
            nn.init.kaiming_uniform_(self.W_xh_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hh_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_h_layers[i])
        nn.init.kaiming_uniform_(self.W_hy, a=math.sqrt(5))
        nn.init.zeros_(self.b_y)

    def forward(self, x, h_0=None):
        batch_size, seq_len = x.size()
        if h_0 is None:
            h_0 = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=x.device)
        embedded = self.embedding(x)
        h_t_layers = [h_0[i] for i in range(self.num_layers)]
        for t in range(seq_len):
            input_t = embedded[:, t, :]
            for i in range(self.num_layers):
                h_t_layers[i] = torch.tanh(input_t @ self.W_xh_layers[i] + h_t_layers[i] @ self.W_hh_layers[i] + self.b_h_layers[i])
                input_t = h_t_layers[i]
        logits = input_t @ self.W_hy + self.b_y
        h_last = torch.stack(h_t_layers, dim=0)
        return logits.squeeze(1), h_last


class LSTMModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, output_size=1, num_layers=25):
        super(LSTMModel, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        W_xf_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hf_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_f_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        W_xi_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hi_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_i_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        W_xC_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hC_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_C_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        W_xo_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_ho_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_o_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        for _ in range(num_layers - 1):
            W_xf_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hf_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_f_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
            W_xi_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hi_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_i_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
            W_xC_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hC_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_C_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
            W_xo_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_ho_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_o_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
        self.W_xf_layers = nn.ParameterList(W_xf_layers)
        self.W_hf_layers = nn.ParameterList(W_hf_layers)
        self.b_f_layers = nn.ParameterList(b_f_layers)
        self.W_xi_layers = nn.ParameterList(W_xi_layers)
        self.W_hi_layers = nn.ParameterList(W_hi_layers)
        self.b_i_layers = nn.ParameterList(b_i_layers)
        self.W_xC_layers = nn.ParameterList(W_xC_layers)
        self.W_hC_layers = nn.ParameterList(W_hC_layers)
        self.b_C_layers = nn.ParameterList(b_C_layers)
        self.W_xo_layers = nn.ParameterList(W_xo_layers)
        self.W_ho_layers = nn.ParameterList(W_ho_layers)
        self.b_o_layers = nn.ParameterList(b_o_layers)
        self.W_hy = nn.Parameter(torch.Tensor(hidden_size, output_size))
        self.b_y = nn.Parameter(torch.Tensor(output_size))
        self.reset_parameters()

    def reset_parameters(self):
        for i in range(self.num_layers):
            nn.init.kaiming_uniform_(self.W_xf_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hf_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_f_layers[i])
            nn.init.kaiming_uniform_(self.W_xi_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hi_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_i_layers[i])
            nn.init.kaiming_uniform_(self.W_xC_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hC_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_C_layers[i])
            nn.init.kaiming_uniform_(self.W_xo_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_ho_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_o_layers[i])
        nn.init.kaiming_uniform_(self.W_hy, a=math.sqrt(5))
        nn.init.zeros_(self.b_y)

    def forward(self, x, h_0=None, c_0=None):
        batch_size, seq_len = x.size()
        if h_0 is None:
            h_0 = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=x.device)
        if c_0 is None:
            c_0 = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=x.device)
        embedded = self.embedding(x)
        h_t_layers = [h_0[i] for i in range(self.num_layers)]
        c_t_layers = [c_0[i] for i in range(self.num_layers)]
        for t in range(seq_len):
            input_t = embedded[:, t, :]
            for i in range(self.num_layers):
                f_t_layer = torch.sigmoid(input_t @ self.W_xf_layers[i] + h_t_layers[i] @ self.W_hf_layers[i] + self.b_f_layers[i])
                i_t_layer = torch.sigmoid(input_t @ self.W_xi_layers[i] + h_t_layers[i] @ self.W_hi_layers[i] + self.b_i_layers[i])
                C_t_layer = torch.tanh(input_t @ self.W_xC_layers[i] + h_t_layers[i] @ self.W_hC_layers[i] + self.b_C_layers[i])
                o_t_layer = torch.sigmoid(input_t @ self.W_xo_layers[i] + h_t_layers[i] @ self.W_ho_layers[i] + self.b_o_layers[i])
                c_t_layers[i] = c_t_layers[i] * f_t_layer + i_t_layer * C_t_layer
                h_t_layers[i] = o_t_layer * torch.tanh(c_t_layers[i])
                input_t = h_t_layers[i]
        logits = input_t @ self.W_hy + self.b_y
        h_last = torch.stack(h_t_layers, dim=0)
        return logits.squeeze(1), h_last


class GRUModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, output_size=1, num_layers=25):
        super(GRUModel, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        W_xz_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hz_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_z_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        W_xr_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_hr_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_r_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        W_xH_layers = [nn.Parameter(torch.Tensor(embed_dim, hidden_size))]
        W_rH_layers = [nn.Parameter(torch.Tensor(hidden_size, hidden_size))]
        b_H_layers = [nn.Parameter(torch.Tensor(hidden_size))]
        for _ in range(num_layers - 1):
            W_xz_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hz_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_z_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
            W_xr_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_hr_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_r_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
            W_xH_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            W_rH_layers.append(nn.Parameter(torch.Tensor(hidden_size, hidden_size)))
            b_H_layers.append(nn.Parameter(torch.Tensor(hidden_size)))
        self.W_xz_layers = nn.ParameterList(W_xz_layers)
        self.W_hz_layers = nn.ParameterList(W_hz_layers)
        self.b_z_layers = nn.ParameterList(b_z_layers)
        self.W_xr_layers = nn.ParameterList(W_xr_layers)
        self.W_hr_layers = nn.ParameterList(W_hr_layers)
        self.b_r_layers = nn.ParameterList(b_r_layers)
        self.W_xH_layers = nn.ParameterList(W_xH_layers)
        self.W_rH_layers = nn.ParameterList(W_rH_layers)
        self.b_H_layers = nn.ParameterList(b_H_layers)
        self.W_hy = nn.Parameter(torch.Tensor(hidden_size, output_size))
        self.b_y = nn.Parameter(torch.Tensor(output_size))
        self.reset_parameters()

    def reset_parameters(self):
        for i in range(self.num_layers):
            nn.init.kaiming_uniform_(self.W_xz_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hz_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_z_layers[i])
            nn.init.kaiming_uniform_(self.W_xr_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_hr_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_r_layers[i])
            nn.init.kaiming_uniform_(self.W_xH_layers[i], a=math.sqrt(5))
            nn.init.kaiming_uniform_(self.W_rH_layers[i], a=math.sqrt(5))
            nn.init.zeros_(self.b_H_layers[i])
        nn.init.kaiming_uniform_(self.W_hy, a=math.sqrt(5))
        nn.init.zeros_(self.b_y)

    def forward(self, x, h_0=None):
        batch_size, seq_len = x.size()
        if h_0 is None:
            h_0 = torch.zeros(self.num_layers, batch_size, self.hidden_size, device=x.device)
        embedded = self.embedding(x)
        h_t_layers = [h_0[i] for i in range(self.num_layers)]
        for t in range(seq_len):
            input_t = embedded[:, t, :]
            for i in range(self.num_layers):
                z_t_layer = torch.sigmoid(input_t @ self.W_xz_layers[i] + h_t_layers[i] @ self.W_hz_layers[i] + self.b_z_layers[i])
                r_t_layer = torch.sigmoid(input_t @ self.W_xr_layers[i] + h_t_layers[i] @ self.W_hr_layers[i] + self.b_r_layers[i])
                H_t_layer = torch.tanh(input_t @ self.W_xH_layers[i] + (h_t_layers[i] * r_t_layer) @ self.W_rH_layers[i] + self.b_H_layers[i])
                h_t_layers[i] = h_t_layers[i] * (1 - z_t_layer) + z_t_layer * H_t_layer
                input_t = h_t_layers[i]
        logits = input_t @ self.W_hy + self.b_y
        h_last = torch.stack(h_t_layers, dim=0)
        return logits.squeeze(1), h_last


MODELS = {"rnn": RNNModel, "lstm": LSTMModel, "gru": GRUModel}


def main():
    args = parse_args("Time one epoch of the original report's per-timestep PyTorch models.")
    device = device_of(args.device)
    torch.manual_seed(args.seed)
    vocab_size = load_meta_vocab(args.data)
    model = MODELS[args.arch](vocab_size, args.embed, args.hidden, num_layers=args.layers).to(device)
    criterion = nn.BCEWithLogitsLoss()
    lr = args.lr if args.lr is not None else ORIGINAL_LR[args.arch]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def step(texts, labels):  # the body of the original's train_model loop
        model.train()
        texts, labels = texts.to(device), labels.to(device)
        optimizer.zero_grad()
        logits, _ = model(texts)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        preds = (torch.sigmoid(logits) > 0.5).long()
        correct = (preds == labels.long()).sum().item()
        return loss.item(), correct

    def evaluate(texts, labels):  # the body of the original's evaluate_model loop
        model.eval()
        with torch.no_grad():
            texts, labels = texts.to(device), labels.to(device)
            logits, _ = model(texts)
            loss = criterion(logits, labels)
            preds = (torch.sigmoid(logits) > 0.5).long()
            correct = (preds == labels.long()).sum().item()
            return loss.item(), correct

    run_epoch("torch-loop", args, model, optimizer, step, evaluate)


def load_meta_vocab(folder):
    """The vocabulary size recorded by export_npy.ts."""
    with open(os.path.join(folder, "meta.json")) as f:
        return int(json.load(f)["vocabSize"])


if __name__ == "__main__":
    main()
