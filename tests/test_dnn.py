"""01-dnn: the hand-written backward pass and update rule against torch's own."""
import torch

from dlhistory.topics import dnn


SHAPES = [([6, 5, 4, 3], 16), ([3, 7, 2], 1), ([2, 2, 1], 4), ([10, 3, 10], 8)]  # (sizes, batch)


def test_backward_equals_autograd_for_both_output_kinds_and_several_shapes():
    g = torch.Generator().manual_seed(0)
    for sizes, batch in SHAPES:
        x = torch.randn(batch, sizes[0], generator=g, dtype=torch.float64)
        t = torch.eye(sizes[-1], dtype=torch.float64)[torch.randint(0, sizes[-1], (batch,), generator=g)]
        for output in ("sigmoid", "softmax"):
            net = dnn.MLP(sizes, output=output, generator=g).double()
            net(x)
            net.backward(t)
            for ours, reference in zip(net.parameters(), dnn.autograd_gradients(net, x, t)):
                torch.testing.assert_close(ours.grad, reference)


def test_forward_and_loss_equal_torch_layers_on_several_shapes():
    g = torch.Generator().manual_seed(1)
    for sizes, batch in SHAPES:
        x = torch.randn(batch, sizes[0], generator=g)
        t = torch.eye(sizes[-1])[torch.randint(0, sizes[-1], (batch,), generator=g)]
        for output in ("sigmoid", "softmax"):
            net = dnn.MLP(sizes, output=output, generator=g)
            h = x
            for l, (W, theta) in enumerate(zip(net.W, net.theta)):
                z = torch.nn.functional.linear(h, W, theta)
                h = torch.softmax(z, 1) if output == "softmax" and l == len(net.W) - 1 else torch.sigmoid(z)
            torch.testing.assert_close(net(x), h)
            expected = (torch.nn.functional.cross_entropy(z, t.argmax(1)) if output == "softmax"
                        else 0.5 * torch.nn.functional.mse_loss(h, t, reduction="sum") / batch)
            torch.testing.assert_close(net.loss(t), expected)


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


def test_training_steps_solve_xor_where_no_hidden_layer_cannot():
    x = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    t = torch.tensor([[0.], [1.], [1.], [0.]])
    for sizes, solvable in (([2, 2, 1], True), ([2, 1], False)):
        net = dnn.MLP(sizes, generator=torch.Generator().manual_seed(3))
        step = dnn.delta_rule_step(net, dnn.DeltaRule(net.parameters(), lr=4.0, momentum=0.9))
        for _ in range(500):
            step((x, t))
        assert bool(((net(x) - t).abs() < 0.4).all()) == solvable, sizes
