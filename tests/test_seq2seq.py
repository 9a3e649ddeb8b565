"""Sequence to sequence: the helper module seq2seq.py against torch's own components."""
import pytest
import torch
from torch import nn

from dlhistory.topics import seq2seq


def copied(n_in, n_hidden, reset_after=True):
    """An nn.GRU and our GRU with the same weights, in float64."""
    theirs = nn.GRU(n_in, n_hidden, batch_first=True).double()
    ours = seq2seq.GRU(n_in, n_hidden, reset_after=reset_after).double()
    H, c = n_hidden, ours.cell
    with torch.no_grad():
        c.W.weight.copy_(theirs.weight_ih_l0), c.W.bias.copy_(theirs.bias_ih_l0)
        c.U_rz.weight.copy_(theirs.weight_hh_l0[:2 * H]), c.U_rz.bias.copy_(theirs.bias_hh_l0[:2 * H])
        c.U.weight.copy_(theirs.weight_hh_l0[2 * H:]), c.U.bias.copy_(theirs.bias_hh_l0[2 * H:])
    return ours, theirs


@pytest.mark.parametrize("batch, T, n_in, n_hidden", [(1, 1, 3, 5), (4, 7, 6, 8), (16, 20, 32, 64)])
def test_gru_equals_torch_forward_and_gradients(batch, T, n_in, n_hidden):
    torch.manual_seed(0)
    ours, theirs = copied(n_in, n_hidden)
    x = torch.randn(batch, T, n_in, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(batch, n_hidden, dtype=torch.double, requires_grad=True)
    w = torch.randn(batch, T, n_hidden, dtype=torch.double)
    out, h = ours(x, h0)
    out_t, h_t = theirs(x, h0[None])
    torch.testing.assert_close(out, out_t)
    torch.testing.assert_close(h, h_t[0])
    c = ours.cell
    g = torch.autograd.grad((out * w).sum() + h.sum(), [x, h0, c.W.weight, c.U_rz.weight, c.U.weight,
                                                        c.W.bias, c.U_rz.bias, c.U.bias])
    g_t = torch.autograd.grad((out_t * w).sum() + h_t.sum(), [x, h0, theirs.weight_ih_l0, theirs.weight_hh_l0,
                                                              theirs.bias_ih_l0, theirs.bias_hh_l0])
    for a, b in zip([g[0], g[1], g[2], torch.cat(g[3:5]), g[5], torch.cat(g[6:8])], g_t):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch, n_in, n_hidden", [(2, 3, 4), (8, 10, 16)])
def test_cell_equals_torch_gru_cell(batch, n_in, n_hidden):
    torch.manual_seed(1)
    theirs = nn.GRUCell(n_in, n_hidden).double()
    ours = seq2seq.GRUCell(n_in, n_hidden, reset_after=True).double()
    H = n_hidden
    with torch.no_grad():
        ours.W.weight.copy_(theirs.weight_ih), ours.W.bias.copy_(theirs.bias_ih)
        ours.U_rz.weight.copy_(theirs.weight_hh[:2 * H]), ours.U_rz.bias.copy_(theirs.bias_hh[:2 * H])
        ours.U.weight.copy_(theirs.weight_hh[2 * H:]), ours.U.bias.copy_(theirs.bias_hh[2 * H:])
    x = torch.randn(batch, n_in, dtype=torch.double, requires_grad=True)
    h = torch.randn(batch, n_hidden, dtype=torch.double, requires_grad=True)
    torch.testing.assert_close(ours(x, h), theirs(x, h))
    ga = torch.autograd.grad(ours(x, h).pow(2).sum(), [x, h])
    gb = torch.autograd.grad(theirs(x, h).pow(2).sum(), [x, h])
    for a, b in zip(ga, gb):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("batch, T, n_in, n_hidden", [(3, 5, 4, 6), (8, 12, 16, 32)])
def test_eq8_equals_torch_only_for_diagonal_U(batch, T, n_in, n_hidden):
    """Eq. (8) resets h before U, torch after: equal outputs and input gradients when U is diagonal
    (and its bias zero), different outputs otherwise."""
    torch.manual_seed(2)
    H = n_hidden
    for diagonal in (True, False):
        ours, theirs = copied(n_in, n_hidden, reset_after=False)
        if diagonal:
            with torch.no_grad():
                U = torch.diag(torch.randn(H, dtype=torch.double))
                theirs.weight_hh_l0[2 * H:] = U
                theirs.bias_hh_l0[2 * H:] = 0
                ours.cell.U.weight.copy_(U), ours.cell.U.bias.zero_()
        x = torch.randn(batch, T, n_in, dtype=torch.double, requires_grad=True)
        out, _ = ours(x)
        out_t, _ = theirs(x)
        if diagonal:
            torch.testing.assert_close(out, out_t)
            torch.testing.assert_close(torch.autograd.grad(out.sum(), x)[0], torch.autograd.grad(out_t.sum(), x)[0])
        else:
            assert (out - out_t).abs().max() > 1e-4


def test_mask_keeps_state_after_the_end():
    """The masked layer's last state is the state after each sequence's own last element."""
    torch.manual_seed(3)
    gru = seq2seq.GRU(4, 6).double()
    x = torch.randn(3, 7, 4, dtype=torch.double)
    lengths = [7, 4, 1]
    mask = torch.arange(7)[None] < torch.tensor(lengths)[:, None]
    _, h = gru(x, mask=mask)
    for i, n in enumerate(lengths):
        torch.testing.assert_close(h[i], gru(x[i:i + 1, :n])[1][0])


def test_beam_of_width_one_is_greedy_and_bleu_is_sacrebleu():
    torch.manual_seed(4)
    model = seq2seq.EncoderDecoder(20, 15, emb=8, hidden=12, out=8).eval()
    src = torch.randint(4, 20, (5, 6))
    assert torch.equal(seq2seq.greedy(model, src, max_len=9)[0], seq2seq.beam_search(model, src, 1, max_len=9))
    wide = seq2seq.beam_search(model, src, 4, max_len=9)
    assert wide.shape[0] == 5
    assert seq2seq.bleu(["a man runs ."], ["a man runs ."]) == pytest.approx(100.0)


def test_vocab_and_reversal():
    pairs = [("Ein Mann läuft.", "A man runs."), ("Ein Hund läuft.", "A dog runs.")] * 3
    src = seq2seq.Vocab([seq2seq.tokenize(d) for d, _ in pairs])
    tgt = seq2seq.Vocab([seq2seq.tokenize(e) for _, e in pairs])
    plain, reverse = seq2seq.Corpus(pairs, src, tgt), seq2seq.Corpus(pairs, src, tgt, reverse=True)
    assert seq2seq.tokenize("Ein Mann läuft.") == ["ein", "mann", "läuft", "."]
    assert reverse.src[0] == plain.src[0][::-1]
    assert plain.tgt[0][0] == seq2seq.BOS and plain.tgt[0][-1] == seq2seq.EOS
    assert tgt.decode(plain.tgt[0]) == ["a", "man", "runs", "."]
