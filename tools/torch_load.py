#!/usr/bin/python3
"""Loads a heed checkpoint into the equivalent PyTorch module, built from the checkpoint's recipe.

    /usr/bin/python3 tools/torch_load.py RUN_DIR_OR_CHECKPOINT [--eval test|train]

prints the module and, with --eval, one JSON line {"split", "loss", "accuracy", "samples"}
computed by PyTorch on Fashion-MNIST's split (read with numpy from the recipe's data.path), to
compare with `heed eval RUN_DIR --split ...`. As a module:

    sys.path.insert(0, "tools")
    from torch_load import load
    model, recipe = load("runs/quick")        # an nn.Module in eval mode, and the recipe (a dict)
    logits = model(x)                         # x [batch, 28, 28] (rows) or [batch, 1, 28, 28]

heed names every parameter and buffer as PyTorch does (docs/checkpoint.md), so the module is
assembled from PyTorch's own layers with heed's child names and loaded with strict=True:
  sequence_classifier: nn.RNN / nn.LSTM / nn.GRU (num_layers, bidirectional, nonlinearity,
    batch_first) or Linear input projection + positions (learned, sinusoidal, none) +
    nn.TransformerEncoder (softmax attention, pre- or post-LN, relu or gelu); pooling last, mean or
    query (nn.TransformerDecoderLayer); dropout; the Linear head "fc".
  image_classifier: nn.Sequential "layers" of Conv1d/2d, BatchNorm1d/2d, ReLU, GELU, Tanh,
    Sigmoid, Max/AvgPool1d/2d, AdaptiveAvgPool2d, Flatten, Linear, Dropout, squeeze-and-excitation
    and CBAM (small modules here, with heed's names), then the Linear head.
Dropouts act only in training; heed's training-only regularizers that PyTorch has no layer for
(AWD-LSTM's locked dropout and weight drop) do not change the eval-mode output, so such models
load with a note on stderr. What PyTorch lacks at inference (attention variants other than
softmax, RoPE, ALiBi, attention pooling) is an error naming the recipe key.

Needs Debian's python3-torch and python3-h5py (`tools/bootstrap.sh torch`); run /usr/bin/python3.
"""

import argparse
import gzip
import json
import os
import sys

try:
    import h5py
    import numpy as np
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"torch_load: {e.name} is missing; install it with `tools/bootstrap.sh torch` "
             "(Debian's python3-torch and python3-h5py) and run /usr/bin/python3")


class TorchLoadError(Exception):
    """A checkpoint or recipe this tool cannot turn into a PyTorch module; the message names the
    file or the recipe key."""


def unsupported(key, value, why):
    raise TorchLoadError(f"recipe key {key} = {json.dumps(value)}: {why}; torch_load.py builds "
                         "only what PyTorch has")


# ---------------------------------------------------------------------------------------------
# The checkpoint


def checkpoint_path(path):
    """The checkpoint PATH names: the file itself, or a run directory's checkpoints/last.h5."""
    if not os.path.exists(path):
        raise TorchLoadError(f"{path}: no such file or run directory")
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoints", "last.h5")
        if not os.path.exists(path):
            raise TorchLoadError(f"checkpoint {path}: no such file (not a run directory, or the "
                                 "run has written no checkpoint yet)")
    return path


def read_checkpoint(path):
    """(state_dict of torch tensors, recipe dict) of a heed checkpoint (docs/checkpoint.md)."""
    if not h5py.is_hdf5(path):
        raise TorchLoadError(f"checkpoint {path}: not an HDF5 file")
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != "heed-checkpoint" or "model" not in f or "recipe" not in f:
            raise TorchLoadError(f"checkpoint {path}: not a heed checkpoint (no "
                                 "format=\"heed-checkpoint\" attribute, /model or /recipe)")
        state = {}

        def add(name, obj):  # keys are dataset names; nested groups join with "."
            if isinstance(obj, h5py.Dataset):
                state[name.replace("/", ".")] = torch.from_numpy(np.array(obj[()]))

        f["model"].visititems(add)
        recipe = json.loads(f["recipe"].asstr()[()])
    return state, recipe


# ---------------------------------------------------------------------------------------------
# Sequence classifier (layers/models/sequence_classifier.cpp)


class LockedDropout(nn.Module):
    """heed's LockedDropout: one mask per sequence and feature, shared by every step (identity in
    eval mode)."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask

    def extra_repr(self):
        return f"p={self.p}"


class LearnedPositionalEmbedding(nn.Module):
    """x [batch, seq, d_model] + weight[:seq] (heed's "pos_embedding")."""

    def __init__(self, max_len, d_model):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_len, d_model))

    def forward(self, x):
        return x + self.weight[: x.size(1)]


class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[:seq], PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(...): computed in
    double and rounded to float as heed does; a non-persistent buffer (not in the state dict)."""

    def __init__(self, d_model, max_len):
        super().__init__()
        i = np.arange(d_model)
        freq = np.power(10000.0, -(i - i % 2).astype(np.float64) / d_model)
        angle = np.arange(max_len, dtype=np.float64)[:, None] * freq[None, :]
        pe = np.where(i % 2 == 0, np.sin(angle), np.cos(angle)).astype(np.float32)
        self.register_buffer("pe", torch.from_numpy(pe), persistent=False)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class SequenceClassifier(nn.Module):
    """[batch, seq, input_size] -> logits [batch, num_classes], heed's children and names."""

    def __init__(self, model, seq, input_size, num_classes):
        super().__init__()
        enc = model.get("encoder", {})
        self.encoder_type = enc.get("type", "lstm")
        self.is_rnn = self.encoder_type != "transformer"
        if self.is_rnn:
            features = self._make_rnn(enc, input_size)
        else:
            features = self._make_transformer(enc, seq, input_size)
        self.pooling = model.get("pooling", "last" if self.is_rnn else "mean")
        if self.pooling == "attention":
            unsupported("model.pooling", "attention", "PyTorch has no additive or Luong attention "
                        "layer")
        if self.pooling == "query":
            self.pool_query = nn.Parameter(torch.zeros(1, 1, self.d_model))
            self.pool_decoder = nn.TransformerDecoderLayer(**self.layer_options)
        self.dropout = nn.Dropout(model.get("dropout", 0.0))
        self.fc = nn.Linear(features, num_classes)

    def _make_rnn(self, enc, input_size):
        hidden, layers = enc.get("hidden_size", 128), enc.get("num_layers", 1)
        self.bidirectional = enc.get("bidirectional", False)
        self.hidden_size = hidden
        if enc.get("weight_drop", 0) > 0 or enc.get("locked_dropout", False):
            print(f"torch_load: note: model.encoder.weight_drop / locked_dropout are training-only "
                  f"regularizers PyTorch has no layer for; this module matches heed's in eval mode "
                  f"only", file=sys.stderr)
        self.input_dropout = LockedDropout(enc.get("input_dropout", 0.0))
        cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[self.encoder_type]
        kwargs = dict(input_size=input_size, hidden_size=hidden, num_layers=layers,
                      batch_first=True, dropout=enc.get("dropout", 0.0),
                      bidirectional=self.bidirectional)
        if self.encoder_type == "rnn":
            kwargs["nonlinearity"] = enc.get("nonlinearity", "tanh")
        setattr(self, self.encoder_type, cls(**kwargs))
        self.output_dropout = LockedDropout(enc.get("output_dropout", 0.0))
        return (2 if self.bidirectional else 1) * hidden

    def _make_transformer(self, enc, seq, input_size):
        d = enc.get("d_model", 64)
        attention = enc.get("attention", "scaled_dot_product")
        if isinstance(attention, dict):  # {"type": name, options...}
            attention = attention.get("type", "scaled_dot_product")
        if attention != "scaled_dot_product":
            unsupported("model.encoder.attention", attention,
                        "PyTorch's nn.MultiheadAttention computes softmax attention only")
        positional = enc.get("positional", "learned")
        if positional in ("rope", "alibi"):
            unsupported("model.encoder.positional", positional,
                        "PyTorch's nn.MultiheadAttention has no rotary or linear-bias positions")
        norm_first = enc.get("norm_first", True)
        self.d_model = d
        self.layer_options = dict(d_model=d, nhead=enc.get("nhead", 4),
                                  dim_feedforward=enc.get("dim_feedforward", 4 * d),
                                  dropout=enc.get("dropout", 0.1),
                                  activation=enc.get("activation", "gelu"), layer_norm_eps=1e-5,
                                  batch_first=True, norm_first=norm_first)
        self.input_proj = nn.Linear(input_size, d)
        if positional == "learned":
            self.pos_embedding = LearnedPositionalEmbedding(seq, d)
        if positional == "sinusoidal":
            self.sinusoidal = SinusoidalPositionalEncoding(d, seq)
        # heed's pre-LN stack ends with a LayerNorm "norm" (TransformerEncoder's final_norm).
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(**self.layer_options), enc.get("num_layers", 2),
            norm=nn.LayerNorm(d, eps=1e-5) if norm_first else None, enable_nested_tensor=False)
        return d

    def encode(self, x):
        if self.is_rnn:
            out, _ = getattr(self, self.encoder_type)(self.input_dropout(x))
            return self.output_dropout(out)
        h = self.input_proj(x)
        if hasattr(self, "pos_embedding"):
            h = self.pos_embedding(h)
        if hasattr(self, "sinusoidal"):
            h = self.sinusoidal(h)
        return self.encoder(h)

    def last_step(self, h):
        """The last step; bidirectional: the forward half of the last step and the reverse half
        of step 0 (the last layer's h_n)."""
        if not self.is_rnn or not self.bidirectional:
            return h[:, -1]
        return torch.cat([h[:, -1, : self.hidden_size], h[:, 0, self.hidden_size:]], dim=1)

    def forward(self, x):
        h = self.encode(x)
        if self.pooling == "query":
            pooled = self.pool_decoder(self.pool_query.expand(h.size(0), 1, h.size(2)), h)
            pooled = pooled.squeeze(1)
        elif self.pooling == "last":
            pooled = self.last_step(h)
        else:
            pooled = h.mean(dim=1)
        return self.fc(self.dropout(pooled))


# ---------------------------------------------------------------------------------------------
# Image classifier (layers/models/image_classifier.cpp, layers/attention/channel.cpp)


class SqueezeExcitation(nn.Module):
    """Hu et al. 2018: x * sigmoid(fc2(relu(fc1(mean over positions of x))))."""

    def __init__(self, channels, reduction):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, channels)

    def forward(self, x):
        w = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.flatten(2).mean(2)))))
        return x * w.view(*w.shape, *([1] * (x.dim() - 2)))


class ChannelAttention(nn.Module):
    """CBAM's channel gate: sigmoid(MLP(avgpool(x)) + MLP(maxpool(x))), the MLP shared."""

    def __init__(self, channels, reduction):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1, self.fc2 = nn.Linear(channels, hidden), nn.Linear(hidden, channels)

    def forward(self, x):
        flat = x.flatten(2)
        mlp = lambda v: self.fc2(torch.relu(self.fc1(v)))
        w = torch.sigmoid(mlp(flat.mean(2)) + mlp(flat.amax(2)))
        return x * w.view(*w.shape, *([1] * (x.dim() - 2)))


class SpatialAttention(nn.Module):
    """CBAM's spatial gate: sigmoid(conv([mean_c(x); max_c(x)]))."""

    def __init__(self, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))


class CBAM(nn.Module):
    def __init__(self, channels, reduction, kernel_size):
        super().__init__()
        self.channel_attention = ChannelAttention(channels, reduction)
        self.spatial_attention = SpatialAttention(kernel_size)

    def forward(self, x):
        return self.spatial_attention(self.channel_attention(x))


class AttentionBranch(nn.Module):
    """A2N's attention branch: k4(k3(x) * sigmoid(k2(lrelu(k1(x)))))."""

    def __init__(self, channels):
        super().__init__()
        conv3 = lambda: nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.k1, self.k2 = conv3(), nn.Conv2d(channels, channels, 1)
        self.k3, self.k4 = conv3(), conv3()

    def forward(self, x):
        gate = torch.sigmoid(self.k2(F.leaky_relu(self.k1(x), 0.2)))
        return self.k4(self.k3(x) * gate)


class AttentionInAttention(nn.Module):
    """A2N's attention in attention block (Chen, Gu & Zhang 2021, arXiv 2104.09497): an
    attention and a non-attention branch mixed by per-example weights softmax(MLP(avgpool) / t),
    inside 1x1 convolutions and a residual connection."""

    def __init__(self, channels, reduction, temperature):
        super().__init__()
        self.temperature = temperature
        self.conv_first = nn.Conv2d(channels, channels, 1, bias=False)
        self.conv_last = nn.Conv2d(channels, channels, 1, bias=False)
        hidden = max(1, channels // reduction)
        self.attention_dropout = nn.Module()
        self.attention_dropout.fc1 = nn.Linear(channels, hidden, bias=False)
        self.attention_dropout.fc2 = nn.Linear(hidden, 2, bias=False)
        self.attention = AttentionBranch(channels)
        self.non_attention = nn.Conv2d(channels, channels, 3, padding=1, bias=False)

    def forward(self, x):
        y = F.leaky_relu(self.conv_first(x), 0.2)
        d = self.attention_dropout
        w = torch.softmax(d.fc2(torch.relu(d.fc1(y.mean((2, 3))))) / self.temperature, 1)
        mixed = (self.attention(y) * w[:, 0, None, None, None] +
                 self.non_attention(y) * w[:, 1, None, None, None])
        return self.conv_last(F.leaky_relu(mixed, 0.2)) + x


def image_layer(layer, shape):
    """The PyTorch module of one entry of model.layers, for per-example input `shape`."""
    t = layer["type"]
    get = layer.get
    if t in ("conv1d", "conv2d"):
        cls = nn.Conv1d if t == "conv1d" else nn.Conv2d
        return cls(shape[0], layer["out_channels"], layer["kernel_size"], get("stride", 1),
                   get("padding", 0), get("dilation", 1), get("groups", 1), get("bias", True))
    if t in ("batch_norm1d", "batch_norm2d"):
        cls = nn.BatchNorm1d if t == "batch_norm1d" else nn.BatchNorm2d
        return cls(shape[0], get("eps", 1e-5), get("momentum", 0.1), get("affine", True),
                   get("track_running_stats", True))
    if t in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
        k = layer["kernel_size"]
        args = (k, get("stride", k), get("padding", 0))
        if t.startswith("max"):
            return (nn.MaxPool1d if t.endswith("1d") else nn.MaxPool2d)(*args)
        cls = nn.AvgPool1d if t.endswith("1d") else nn.AvgPool2d
        return cls(*args, count_include_pad=get("count_include_pad", True))
    simple = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if t in simple:
        return simple[t]()
    if t == "adaptive_avg_pool2d":
        return nn.AdaptiveAvgPool2d(get("output_size", 1))
    if t == "flatten":
        return nn.Flatten(get("start_dim", 1), get("end_dim", -1))
    if t == "linear":
        return nn.Linear(shape[-1], layer["out_features"], get("bias", True))
    if t == "dropout":
        return nn.Dropout(get("p", 0.5))
    if t == "se":
        return SqueezeExcitation(shape[0], get("reduction", 16))
    if t == "cbam":
        return CBAM(shape[0], get("reduction", 16), get("kernel_size", 7))
    if t == "spatial_attention":
        return SpatialAttention(get("kernel_size", 7))
    if t == "attention_in_attention":
        return AttentionInAttention(shape[0], get("reduction", 4), get("temperature", 30.0))
    raise TorchLoadError(f"recipe key model.layers: layer type \"{t}\" is unknown to "
                         "torch_load.py")


class ImageClassifier(nn.Module):
    """heed's image_classifier: nn.Sequential "layers" of the recipe's layers, then the head."""

    def __init__(self, model, input_shape, num_classes):
        super().__init__()
        layers, shape = [], tuple(input_shape)
        for layer in model["layers"]:
            m = image_layer(layer, shape).eval()
            with torch.no_grad():  # the next layer's input shape, as heed infers it
                shape = tuple(m(torch.zeros(2, *shape)).shape[1:])
            layers.append(m)
        layers.append(nn.Linear(shape[0], num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


# ---------------------------------------------------------------------------------------------
# Building, loading, evaluating


def data_info(recipe):
    """(per-example input shape, classes) of the recipe's data section."""
    data = recipe.get("data", {})
    if data.get("name") != "fashion_mnist":
        unsupported("data.name", data.get("name"), "torch_load.py knows Fashion-MNIST only")
    return ((1, 28, 28) if data.get("layout", "rows") == "image" else (28, 28)), 10


def build(recipe):
    """The untrained PyTorch module of `recipe` (a resolved heed recipe, as a dict)."""
    model = recipe["model"]
    shape, classes = data_info(recipe)
    if model["type"] == "sequence_classifier":
        if len(shape) != 2:
            raise TorchLoadError("recipe key data.layout: sequence_classifier reads \"rows\"")
        return SequenceClassifier(model, shape[0], shape[1], classes)
    if model["type"] == "image_classifier":
        return ImageClassifier(model, shape, classes)
    raise TorchLoadError(f"recipe key model.type = {json.dumps(model['type'])}: torch_load.py "
                         "builds sequence_classifier and image_classifier")


def load(path):
    """(module in eval mode with the checkpoint's weights, recipe dict) for a heed checkpoint or
    run directory. Raises TorchLoadError naming the file or recipe key it cannot handle."""
    path = checkpoint_path(path)
    state, recipe = read_checkpoint(path)
    model = build(recipe)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        detail = "; ".join(line.strip() for line in str(e).splitlines())
        raise TorchLoadError(f"checkpoint {path}: its /model does not fit the PyTorch module "
                             f"built from its recipe: {detail}") from e
    return model.eval(), recipe


def read_idx(folder, name):
    """An IDX array (gzipped or not) as numpy, with its dimensions from the header."""
    for file in (os.path.join(folder, name + ".gz"), os.path.join(folder, name)):
        if os.path.exists(file):
            with (gzip.open(file) if file.endswith(".gz") else open(file, "rb")) as f:
                raw = f.read()
            dims = raw[3]
            shape = np.frombuffer(raw, ">i4", count=dims, offset=4)
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise TorchLoadError(f"data.path {folder}: {name}(.gz) is missing")


def fashion_mnist(recipe, split):
    """(inputs, targets) of a split as heed serves them: pixels / 255, standardized with mean
    0.2860 and std 0.3530 in float32, the first max_<split>_samples examples."""
    data = recipe.get("data", {})
    folder = data.get("path", "/usr/share/datasets/fashion-mnist")
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels = read_idx(folder, f"{prefix}-labels-idx1-ubyte")
    limit = data.get(f"max_{split}_samples", 0)
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / np.float32(255) - np.float32(0.2860)) / np.float32(0.3530)
    shape, _ = data_info(recipe)
    return torch.from_numpy(x.reshape(-1, *shape)), torch.from_numpy(labels.astype(np.int64))


def evaluate(model, recipe, split):
    """heed eval's numbers: mean cross-entropy (with the recipe's label smoothing) and accuracy,
    batch by batch in train.eval_batch_size (batch norm without running statistics normalizes per
    batch)."""
    x, y = fashion_mnist(recipe, split)
    batch = recipe.get("train", {}).get("eval_batch_size", 256)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe["model"].get("label_smoothing", 0.0))
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(x[start: start + batch])
            target = y[start: start + batch]
            loss += loss_fn(logits, target).item() * len(target)
            correct += (logits.argmax(1) == target).sum().item()
    return {"split": split, "loss": loss / len(x), "accuracy": correct / len(x), "samples": len(x)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="heed run directory or checkpoint file")
    parser.add_argument("--eval", choices=["test", "train"],
                        help="also print loss and accuracy on this split, as `heed eval` does")
    args = parser.parse_args()
    try:
        model, recipe = load(args.path)
        print(model)
        if args.eval:
            print(json.dumps(evaluate(model, recipe, args.eval)))
    except (TorchLoadError, OSError) as e:
        sys.exit(f"torch_load: error: {e}")


if __name__ == "__main__":
    main()
