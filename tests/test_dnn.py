"""01-dnn: the hand-written backward pass and update rule against torch's own."""
import torch

from dlhistory.topics import dnn


def test_backward_equals_autograd_for_both_output_kinds():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 6, generator=g, dtype=torch.float64)
    t = torch.eye(3, dtype=torch.float64)[torch.randint(0, 3, (16,), generator=g)]
    for output in ("sigmoid", "softmax"):
        net = dnn.MLP([6, 5, 4, 3], output=output, generator=g).double()
        net(x)
        net.backward(t)
        for ours, reference in zip(net.parameters(), dnn.autograd_gradients(net, x, t)):
            torch.testing.assert_close(ours.grad, reference)


def test_forward_equals_torch_layers():
    net = dnn.MLP([4, 3, 2], generator=torch.Generator().manual_seed(1))
    x = torch.randn(5, 4)
    h = torch.sigmoid(torch.nn.functional.linear(x, net.W[0], net.theta[0]))
    expected = torch.sigmoid(torch.nn.functional.linear(h, net.W[1], net.theta[1]))
    torch.testing.assert_close(net(x), expected)


def test_delta_rule_equals_sgd_with_momentum():
    g = torch.Generator().manual_seed(2)
    ours_w = torch.randn(4, 4, generator=g)
    torch_w = ours_w.clone().requires_grad_()
    ours = dnn.DeltaRule([ours_w], lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD([torch_w], lr=0.05, momentum=0.9)
    for _ in range(20):
        grad = torch.randn(4, 4, generator=g)
        ours_w.grad, torch_w.grad = grad, grad.clone()
        ours.step()
        theirs.step()
    torch.testing.assert_close(ours_w, torch_w.detach())


def test_training_step_lowers_the_loss_on_xor():
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    t = torch.tensor([[0.], [1.], [1.], [0.]])
    net = dnn.MLP([2, 4, 1], generator=torch.Generator().manual_seed(3))
    step = dnn.delta_rule_step(net, dnn.DeltaRule(net.parameters(), lr=2.0, momentum=0.9))
    first = step((x, t))["loss"]
    for _ in range(500):
        final = step((x, t))["loss"]
    assert final < first / 10
