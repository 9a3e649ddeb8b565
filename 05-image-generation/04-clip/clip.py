"""CLIP: the helper module of clip.ipynb.

Generated from the notebook's `#| export` cells by `python -m dlhistory export`:
edit the notebook, not this file.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import resnet, transformer
from dlhistory.train import Batches, autograd_step, fit
from dlhistory.topics.seq2seq import BOS, EOS, UNK, Vocab, pad, tokenize

COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.75, 0.2), "blue": (0.15, 0.3, 1.0),
           "yellow": (0.95, 0.9, 0.1), "purple": (0.6, 0.15, 0.85)}
SHAPES = ("circle", "square", "triangle", "cross", "ring")
COMBOS = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES))]   # class k = 5 * colour + shape
HELD_OUT = [(c, (2 * c + 1) % 5) for c in range(5)]   # every colour and every shape is held out once


def shape_masks(u, v):
    """u, v [..., H, W]: each pixel's offset from the shape's centre in units of its radius (v points
    down) -> [..., 5, H, W] bool, one mask per SHAPES entry."""
    rho, au, av = torch.sqrt(u ** 2 + v ** 2), u.abs(), v.abs()
    return torch.stack([
        rho <= 1,                                                   # circle
        torch.maximum(au, av) <= 0.8,                               # square
        (v <= 0.8) & (au <= (v + 0.9) / 1.7),                       # triangle, apex up
        ((au <= 0.3) & (av <= 0.9)) | ((av <= 0.3) & (au <= 0.9)),  # cross
        (rho <= 1) & (rho >= 0.55),                                 # ring
    ], dim=-3)


def shapes(n, seed=0, combos=None, size=32):
    """n generated images [n, 3, size, size] in [0, 1], each one shape of one colour on a dark
    noisy background, with its labels colour [n] and shape [n] (indices into COLOURS and SHAPES).
    The (colour, shape) pairs are drawn uniformly from `combos` (default: all 25). Radius 6 to 10
    pixels, anywhere in the frame; the colour jittered by up to 0.1 per channel. Same seed, same set."""
    g = torch.Generator().manual_seed(seed)
    combos = torch.tensor(COMBOS if combos is None else combos)
    colour, shape = combos[torch.randint(len(combos), (n,), generator=g)].T
    r = 6 + 4 * torch.rand(n, 1, 1, generator=g)
    cx, cy = (r + 1 + (size - 2 * r - 2) * torch.rand(2, n, 1, 1, generator=g))
    axis = torch.arange(size, dtype=torch.float) + 0.5                   # pixel centres
    u, v = (axis.view(1, 1, -1) - cx) / r, (axis.view(1, -1, 1) - cy) / r
    mask = shape_masks(u, v)[torch.arange(n), shape][:, None].float()    # [n, 1, H, W]
    rgb = torch.tensor(list(COLOURS.values()))[colour] + 0.1 * (2 * torch.rand(n, 3, generator=g) - 1)
    background = 0.15 * torch.rand(n, 1, 1, 1, generator=g)
    images = background + mask * (rgb.clamp(0, 1)[:, :, None, None] - background)
    return (images + 0.03 * torch.randn(images.shape, generator=g)).clamp(0, 1), colour, shape


TEMPLATES = ("a {}", "a photo of a {}", "a picture of a {}", "there is a {}", "a {} on a dark background")


def caption(colour, shape, template="a {}"):
    """'a red circle': the class name of (colour, shape) set in a template."""
    return template.format(f"{list(COLOURS)[colour]} {SHAPES[shape]}")


def encode_captions(captions, vocab):
    """Strings -> ids [len(captions), longest + 2]: [SOS] words [EOS], padded at the end (Section 2.4's
    text input; our tokens are words, the paper's are byte-pair codes)."""
    return pad([[BOS] + vocab.encode(tokenize(c)) + [EOS] for c in captions])


class ImageEncoder(nn.Module):
    """f: images [B, C, H, W] -> features [B, 4 * width]. A small ResNet (Section 2.4 uses ResNet-50 and
    its scaled-up versions): a stride-2 3x3 stem, two residual blocks of the resnet topic, each halving
    the map (32 -> 16 -> 8 -> 4 for 32x32 input), then global average pooling."""

    def __init__(self, in_channels=3, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nn.Sequential(resnet.BasicBlock(width, 2 * width, 2, shortcut="B"),
                                    resnet.BasicBlock(2 * width, 4 * width, 2, shortcut="B"))
        self.d_out = 4 * width

    def forward(self, x):
        return self.blocks(self.stem(x)).mean(dim=(2, 3))


class TextEncoder(nn.Module):
    """g: ids [B, L] -> features [B, d_model] (Section 2.4): token and learned position embeddings, N
    pre-LN transformer layers (EncoderLayer with GELU) under a causal mask (the paper's masked
    self-attention), a final LayerNorm, and the top layer's activation at the [EOS] token."""

    def __init__(self, vocab_size, d_model=64, h=4, N=1, max_len=16, causal=True):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(0.01 * torch.randn(max_len, d_model))
        self.layers = nn.ModuleList([transformer.EncoderLayer(d_model, h, 4 * d_model, dropout=0.0, norm_first=True,
                                                              activation=nn.GELU) for _ in range(N)])
        self.ln_final, self.causal, self.d_out = nn.LayerNorm(d_model), causal, d_model

    def forward(self, ids):
        x = self.embed(ids) + self.pos[:ids.shape[1]]
        mask = transformer.causal_mask(ids.shape[1], ids.device) if self.causal else None
        for layer in self.layers:
            x = layer(x, mask)
        eos = (ids == EOS).int().argmax(1)                   # the first [EOS] of each caption
        return self.ln_final(x)[torch.arange(len(ids)), eos]


class CLIP(nn.Module):
    """Figure 3: the two encoders, linear projections W_i and W_t to a joint space of d_embed, L2
    normalization, and the learned temperature as t = log(1 / tau), initialized to tau = 0.07 (Section 2.5)."""

    def __init__(self, image_encoder, text_encoder, d_embed=64):
        super().__init__()
        self.image_encoder, self.text_encoder = image_encoder, text_encoder
        self.W_i = nn.Linear(image_encoder.d_out, d_embed, bias=False)
        self.W_t = nn.Linear(text_encoder.d_out, d_embed, bias=False)
        self.t = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, images):
        return F.normalize(self.W_i(self.image_encoder(images)), dim=-1)     # I_e [B, d_embed]

    def encode_text(self, ids):
        return F.normalize(self.W_t(self.text_encoder(ids)), dim=-1)         # T_e [B, d_embed]

    def forward(self, images, ids):
        """The [B, B] logits: e^t times the cosine similarity of every image with every text."""
        return self.t.exp() * self.encode_image(images) @ self.encode_text(ids).T

    @torch.no_grad()
    def clip_temperature_(self, max_scale=100.0):
        """Section 2.5: keep the logit scale e^t at most 100 (call after each update)."""
        self.t.clamp_(max=math.log(max_scale))


def contrastive_loss(logits):
    """Figure 3's symmetric loss on logits [N, N] whose diagonal holds the true pairs: the mean of the
    cross-entropy over texts for each image (rows) and over images for each text (columns)."""
    positive = logits.diagonal()
    loss_i = (logits.logsumexp(dim=1) - positive).mean()     # image -> which text
    loss_t = (logits.logsumexp(dim=0) - positive).mean()     # text -> which image
    return (loss_i + loss_t) / 2


@torch.no_grad()
def zero_shot_classifier(model, vocab, class_names, templates):
    """Section 3.1.2 and 3.1.4: one weight vector per class, the text embedding of its name set in a
    prompt; with several templates, the mean of their normalized embeddings, normalized again
    (the ensemble in embedding space). -> [K, d_embed]."""
    model.eval()
    per_template = torch.stack([model.encode_text(encode_captions([t.format(c) for c in class_names], vocab))
                                for t in templates])               # [M, K, d_embed]
    return F.normalize(per_template.mean(0), dim=-1)


@torch.no_grad()
def zero_shot_scores(model, weights, images, batch=1000):
    """Cosine similarity of every image with every class: [N, K]. Images go in batches to bound memory."""
    model.eval()
    return torch.cat([model.encode_image(images[i:i + batch]) @ weights.T for i in range(0, len(images), batch)])


def fit_clip(model, images, labels, caption_ids, steps, batch_size=128, lr=1e-3, weight_decay=0.1, warmup=0.05,
             evaluate=None, eval_every=None, desc="CLIP"):
    """Train on (image, class) pairs; each image's caption is caption_ids[class, m] [K, M, L] with a
    template m drawn at random per example. Returns fit's history (loss, logit scale, evaluate()'s metrics)."""
    decay = [p for p in model.parameters() if p.dim() > 1]           # no weight decay on gains, biases, t
    rest = [p for p in model.parameters() if p.dim() <= 1]
    optimizer = torch.optim.AdamW([dict(params=decay, weight_decay=weight_decay), dict(params=rest, weight_decay=0.0)], lr)
    w = max(1, int(warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / w) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))

    def loss_fn(model, batch):
        x, y = batch
        template = torch.randint(caption_ids.shape[1], (len(y),), device=y.device)
        return contrastive_loss(model(x, caption_ids[y, template])), {"logit scale": model.t.exp().item()}

    step = autograd_step(model, optimizer, loss_fn, schedule=schedule)

    def clip_step(batch):
        metrics = step(batch)
        model.clip_temperature_()
        return metrics

    return fit(clip_step, Batches(images, labels, batch_size=batch_size), steps, evaluate=evaluate,
               eval_every=eval_every, desc=desc)
