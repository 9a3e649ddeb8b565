"""Vision Transformer: the helper module vit.py against torch's own components."""
import pytest
import torch
from torch import nn

from dlhistory.topics import transformer, vit


@pytest.mark.parametrize("B, C, H, P, D", [(5, 1, 28, 7, 16), (3, 3, 32, 4, 24)])
def test_patch_embedding_is_a_strided_conv(B, C, H, P, D):
    torch.manual_seed(0)
    embed = vit.PatchEmbedding(P, C, D).double()
    conv = vit.as_conv(embed)
    assert conv.kernel_size == (P, P) and conv.stride == (P, P)
    x1 = torch.randn(B, C, H, H, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    ours, theirs = embed(x1), conv(x2).flatten(2).transpose(1, 2)
    torch.testing.assert_close(ours, theirs)
    g = torch.randn_like(ours)
    (ours * g).sum().backward()
    (theirs * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(embed.E.weight.grad.view_as(conv.weight), conv.weight.grad)
    torch.testing.assert_close(embed.E.bias.grad, conv.bias.grad)


def test_patchify_order():
    # patch i is the i-th P x P block of the grid, read row by row
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float).view(2, 3, 8, 8)
    patches = vit.patchify(x, 4)
    assert patches.shape == (2, 4, 48)
    torch.testing.assert_close(patches[1, 2], x[1, :, 4:8, 0:4].flatten())


@pytest.mark.parametrize("B, n, D, heads", [(4, 17, 64, 4), (2, 50, 48, 6)])
def test_vit_encoder_layer_matches_torch(B, n, D, heads):
    torch.manual_seed(0)
    vit_model = vit.ViT(D=D, heads=heads, d_mlp=2 * D, L=1).double()
    layer = vit_model.layers[0]
    assert layer.norm_first and isinstance(layer.ff.act, nn.GELU)
    twin = transformer.to_torch(layer)
    x1 = torch.randn(B, n, D, dtype=torch.float64, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    ours, theirs = layer(x1), twin(x2)
    torch.testing.assert_close(ours, theirs)
    g = torch.randn_like(ours)
    (ours * g).sum().backward()
    (theirs * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    a = layer.self_attn
    torch.testing.assert_close(torch.cat([a.W_q.weight.grad, a.W_k.weight.grad, a.W_v.weight.grad]),
                               twin.self_attn.in_proj_weight.grad)
    torch.testing.assert_close(a.W_o.weight.grad, twin.self_attn.out_proj.weight.grad)
    torch.testing.assert_close(layer.ff.W_1.weight.grad, twin.linear1.weight.grad)
    torch.testing.assert_close(layer.ff.W_2.weight.grad, twin.linear2.weight.grad)
    torch.testing.assert_close(layer.norms[0].weight.grad, twin.norm1.weight.grad)
    torch.testing.assert_close(layer.norms[1].bias.grad, twin.norm2.bias.grad)


@pytest.mark.parametrize("image_size, P, C", [(28, 7, 1), (32, 4, 3)])
def test_vit_forward(image_size, P, C):
    torch.manual_seed(0)
    model = vit.ViT(image_size=image_size, P=P, C=C, D=32, L=2, heads=2, d_mlp=64)
    x = torch.rand(3, C, image_size, image_size)
    logits = model(x)
    assert logits.shape == (3, 10)
    n = (image_size // P) ** 2 + 1
    assert [tuple(A.shape) for A in model.attentions()] == [(3, 2, n, n)] * 2
    logits.sum().backward()
    assert model.x_class.grad.abs().sum() > 0 and model.E_pos.grad.abs().sum() > 0
    # eq. 4: only the class token reaches the head, so its output ignores nothing else of the last layer
    torch.testing.assert_close(model.head(model.encode(x)), logits)


def test_rollout_hand_checked():
    # head-averaged layer 1 [[.5 .5] [0 1]] -> with I, renormalized: [[.75 .25] [0 1]];
    # layer 2 [[0 1] [1 0]] -> [[.5 .5] [.5 .5]]; product, layer 2 on the left
    layer1 = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]])
    layer2 = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    torch.testing.assert_close(vit.rollout([layer1, layer2]), torch.tensor([[[0.375, 0.625], [0.375, 0.625]]]))
    # without the identity: the plain product of the head-averaged matrices
    torch.testing.assert_close(vit.rollout([layer1, layer2], residual=False), torch.tensor([[[0.0, 1.0], [0.5, 0.5]]]))


def test_rollout_rows_sum_to_one_and_order():
    torch.manual_seed(0)
    A = [torch.randn(2, 3, 5, 5).softmax(-1) for _ in range(3)]
    R = vit.rollout(A)
    torch.testing.assert_close(R.sum(-1), torch.ones(2, 5))
    tilde = [(a.mean(1) + torch.eye(5)) / 2 for a in A]     # rows of a.mean(1) sum to 1: adding I doubles them
    torch.testing.assert_close(R, tilde[2] @ tilde[1] @ tilde[0])
    m = vit.class_token_map(R, 2)
    assert m.shape == (2, 2, 2)
    torch.testing.assert_close(m.sum((1, 2)), torch.ones(2))


def test_position_similarity():
    E_pos = torch.randn(1, 10, 8)
    S = vit.position_similarity(E_pos, 3)
    assert S.shape == (3, 3, 3, 3)
    torch.testing.assert_close(S[1, 2, 0, 1], torch.cosine_similarity(E_pos[0, 6], E_pos[0, 2], dim=0))
    torch.testing.assert_close(torch.stack([S[i, j, i, j] for i in range(3) for j in range(3)]), torch.ones(9))


def test_random_shift():
    x = torch.zeros(50, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    moved = vit.random_shift(x, 2, torch.Generator().manual_seed(0))
    where = moved[:, 0].flatten(1).argmax(1)
    rows, cols = where // 9, where % 9
    assert moved.sum() == 50 and (rows - 4).abs().max() <= 2 and (cols - 4).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10
    assert vit.random_shift(x, 0) is x
