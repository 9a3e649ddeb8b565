"""torch's own modules holding the weights of ours, for the tests that compare the two (the
transformer topic's attention and layers, which later topics build on)."""
import torch
from torch import nn

ACTIVATIONS = {nn.ReLU: "relu", nn.GELU: "gelu"}


def copy_attention(ours, theirs):
    """Our MultiHeadAttention's W_q, W_k, W_v (stacked as torch's in_proj) and W_o into nn.MultiheadAttention."""
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
        theirs.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        theirs.out_proj.load_state_dict(ours.W_o.state_dict())


def encoder_layer_twin(layer):
    """nn.TransformerEncoderLayer (no dropout) with the sizes, norm placement, activation, dtype and
    weights of our transformer.EncoderLayer."""
    twin = nn.TransformerEncoderLayer(layer.ff.W_1.in_features, layer.self_attn.h, layer.ff.W_1.out_features,
                                      dropout=0.0, activation=ACTIVATIONS[type(layer.ff.act)], batch_first=True,
                                      norm_first=layer.norm_first).to(layer.ff.W_1.weight.dtype)
    copy_attention(layer.self_attn, twin.self_attn)
    for ours, theirs in [(layer.ff.W_1, twin.linear1), (layer.ff.W_2, twin.linear2),
                         (layer.norms[0], twin.norm1), (layer.norms[1], twin.norm2)]:
        theirs.load_state_dict(ours.state_dict())
    return twin
