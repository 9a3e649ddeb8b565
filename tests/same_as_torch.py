"""The check most unit tests make of a component: ours and torch's give the same outputs, and the
same gradients to their inputs and to matching parameters."""
import torch


def assert_same_as_torch(ours, theirs, inputs, params=()):
    """ours(*inputs) and theirs(*inputs) agree, each on its own copy of the floating-point inputs; so do
    the gradients of a loss that weighs every output differently, for those inputs and for each
    (our parameter, torch's parameter) pair in `params`. Returns our output."""
    def copies():
        return [x.detach().clone().requires_grad_() if torch.is_tensor(x) and x.is_floating_point() else x
                for x in inputs]

    ours_in, theirs_in = copies(), copies()
    out_ours, out_theirs = ours(*ours_in), theirs(*theirs_in)
    torch.testing.assert_close(out_ours, out_theirs)
    weights = torch.randn_like(out_ours)
    leaves = [(a, b) for a, b in zip(ours_in, theirs_in) if torch.is_tensor(a) and a.requires_grad] + list(params)
    grads_ours = torch.autograd.grad((weights * out_ours).sum(), [a for a, _ in leaves])
    grads_theirs = torch.autograd.grad((weights * out_theirs).sum(), [b for _, b in leaves])
    for g_ours, g_theirs in zip(grads_ours, grads_theirs):
        torch.testing.assert_close(g_ours, g_theirs)
    return out_ours
