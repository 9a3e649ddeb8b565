"""Attention (Bahdanau): the helper module attention.py against torch's own components."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import attention, seq2seq


@pytest.mark.parametrize("B, S, n, align", [(1, 1, 3, 2), (2, 5, 3, 4), (8, 17, 16, 8)])
def test_context_equals_torch_attention(B, S, n, align):
    """Eqs. (5)-(6) equal F.scaled_dot_product_attention given e_ij as the mask and a zero query,
    forward and gradients; padded positions get weight zero."""
    torch.manual_seed(0)
    model = attention.AttentionEncoderDecoder(10, 10, emb=4, hidden=n, out=4, align=align).double()
    h = torch.randn(B, S, 2 * n, dtype=torch.double, requires_grad=True)
    s = torch.randn(B, n, dtype=torch.double, requires_grad=True)
    mask = torch.arange(S)[None] < torch.randint(1, S + 1, (B, 1))
    c, alpha = model.context(s, {"h": h, "U_a_h": model.U_a(h), "mask": mask})
    e = model.v_a(torch.tanh(model.W_a(s)[:, None] + model.U_a(h))).squeeze(-1).masked_fill(~mask, float("-inf"))
    c_torch = F.scaled_dot_product_attention(torch.zeros(B, 1, 1, dtype=torch.double), torch.zeros(B, S, 1, dtype=torch.double),
                                             h, attn_mask=e[:, None])[:, 0]
    torch.testing.assert_close(c, c_torch)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(B, dtype=torch.double))
    assert (alpha[~mask] == 0).all()
    w = torch.randn_like(c)
    for a, b in zip(torch.autograd.grad((c * w).sum(), [s, h]), torch.autograd.grad((c_torch * w).sum(), [s, h])):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("n_in, n_hidden, lengths", [(3, 4, [2, 2]), (5, 7, [6, 4, 1])])
def test_bidirectional_encoder_equals_torch(n_in, n_hidden, lengths):
    """Our bidirectional encoder on a padded batch equals nn.GRU(bidirectional=True) on each sentence alone,
    weights copied, forward and gradients."""
    torch.manual_seed(1)
    ours = attention.BidirectionalEncoder(n_in, n_hidden).double()
    theirs = nn.GRU(n_in, n_hidden, batch_first=True, bidirectional=True).double()
    H = n_hidden
    with torch.no_grad():
        for rnn, suffix in ((ours.forward_rnn, ""), (ours.backward_rnn, "_reverse")):
            w_ih, w_hh = getattr(theirs, "weight_ih_l0" + suffix), getattr(theirs, "weight_hh_l0" + suffix)
            b_ih, b_hh = getattr(theirs, "bias_ih_l0" + suffix), getattr(theirs, "bias_hh_l0" + suffix)
            rnn.cell.reset_after = True                          # torch's form of eq. (8)
            rnn.cell.W.weight.copy_(w_ih), rnn.cell.W.bias.copy_(b_ih)
            rnn.cell.U_rz.weight.copy_(w_hh[:2 * H]), rnn.cell.U_rz.bias.copy_(b_hh[:2 * H])
            rnn.cell.U.weight.copy_(w_hh[2 * H:]), rnn.cell.U.bias.copy_(b_hh[2 * H:])
    T = max(lengths)
    x = torch.randn(len(lengths), T, n_in, dtype=torch.double, requires_grad=True)
    mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
    annotations = ours(x, mask)
    w = torch.randn_like(annotations)
    grad = torch.autograd.grad((annotations * w * mask[..., None]).sum(), x)[0]
    for i, n in enumerate(lengths):
        xi = x[i:i + 1, :n].detach().requires_grad_()
        out, _ = theirs(xi)
        torch.testing.assert_close(annotations[i, :n], out[0])
        torch.testing.assert_close(grad[i, :n], torch.autograd.grad((out[0] * w[i, :n]).sum(), xi)[0][0])


def test_decoding_with_attention():
    """greedy returns weights over the source that sum to one; beam width 1 is greedy."""
    torch.manual_seed(2)
    model = attention.AttentionEncoderDecoder(20, 15, emb=8, hidden=12, out=8).eval()
    src = seq2seq.pad([[5, 6, 7, 8], [9, 10], [11, 12, 13]])
    ids, alpha = seq2seq.greedy(model, src, max_len=7)
    assert alpha.shape == (3, ids.shape[1], 4)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:2]))
    assert (alpha[1, :, 2:] == 0).all()                          # padding gets no weight
    assert torch.equal(ids, seq2seq.beam_search(model, src, 1, max_len=7))
