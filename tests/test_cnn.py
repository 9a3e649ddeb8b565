"""02-cnn: im2col, convolution, subsampling and the eq. 7 output units against torch's; LeNet-5 and the 1989 network as the papers count them."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory.topics import cnn


@pytest.mark.parametrize("k, stride, padding", [(5, 1, 0), (5, 2, 2), (3, 2, 1), (3, 3, 0), (1, 1, 0)])
def test_im2col_and_conv2d_equal_torch(k, stride, padding):
    g = torch.Generator().manual_seed(k * 10 + stride + padding)
    x = torch.randn(2, 3, 12, 9, generator=g)
    W, b = torch.randn(4, 3, k, k, generator=g), torch.randn(4, generator=g)
    torch.testing.assert_close(cnn.im2col(x, k, stride, padding), F.unfold(x, k, padding=padding, stride=stride))
    torch.testing.assert_close(cnn.conv2d(x, W, b, stride, padding), F.conv2d(x, W, b, stride, padding))
    torch.testing.assert_close(cnn.conv2d(x, W, None, stride, padding), F.conv2d(x, W, None, stride, padding))


def test_conv2d_with_one_bias_per_unit():
    g = torch.Generator().manual_seed(1)
    x, W = torch.randn(2, 1, 16, 16, generator=g), torch.randn(12, 1, 5, 5, generator=g)
    b = torch.randn(12, 8, 8, generator=g)
    torch.testing.assert_close(cnn.conv2d(x, W, b, stride=2, padding=2), F.conv2d(x, W, stride=2, padding=2) + b)


def test_conv2d_gradients_equal_torch():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 10, 10, generator=g, dtype=torch.float64)
    W = torch.randn(5, 3, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    ours = torch.autograd.grad(cnn.conv2d(x, W, stride=2, padding=1).square().sum(), W)[0]
    theirs = torch.autograd.grad(F.conv2d(x, W, stride=2, padding=1).square().sum(), W)[0]
    torch.testing.assert_close(ours, theirs)


def test_subsampling_equals_scaled_avg_pool():
    layer = cnn.Subsampling(4)
    with torch.no_grad():
        layer.c.copy_(torch.tensor([0.5, 1.0, 2.0, -1.0]))
        layer.beta.copy_(torch.tensor([0.1, -0.2, 0.0, 0.3]))
    x = torch.randn(3, 4, 10, 10, generator=torch.Generator().manual_seed(3))
    expected = 1.7159 * torch.tanh(2 / 3 * (layer.c.view(1, 4, 1, 1) * F.avg_pool2d(x, 2) + layer.beta.view(1, 4, 1, 1)))
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("batch, n, classes", [(5, 84, 10), (1, 3, 2), (7, 16, 4)])
def test_rbf_equals_squared_distance_and_its_linear_form(batch, n, classes):
    g = torch.Generator().manual_seed(batch + n + classes)
    x = torch.randn(batch, n, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(classes, n, generator=g, dtype=torch.float64)
    y = cnn.rbf(x, w)
    torch.testing.assert_close(y, torch.cdist(x, w).square())
    # under a softmax over -y, eq. 7 is a linear layer with weights 2w and biases -|w|^2
    linear_form = x @ (2 * w).T - w.square().sum(1)
    torch.testing.assert_close(torch.softmax(-y, 1), torch.softmax(linear_form, 1))
    ours = torch.autograd.grad(y.sum(), x)[0]
    theirs = torch.autograd.grad(torch.cdist(x, w).square().sum(), x)[0]
    torch.testing.assert_close(ours, theirs)


def test_squash_maps_plus_minus_one_to_itself():
    torch.testing.assert_close(cnn.squash(torch.tensor([-1.0, 0.0, 1.0])), torch.tensor([-1.0, 0.0, 1.0]),
                               atol=1e-4, rtol=0)


def test_c3_sees_only_its_table():
    layer = cnn.Conv(6, 16, 5, table=cnn.C3_TABLE)
    x = torch.randn(1, 6, 14, 14, generator=torch.Generator().manual_seed(4))
    bumped = x.clone()
    bumped[:, 3] += 1.0                                   # S2 map 3 is not in C3 map 0's set (0, 1, 2)
    out, out_bumped = layer(x), layer(bumped)
    torch.testing.assert_close(out[:, 0], out_bumped[:, 0])
    assert not torch.allclose(out[:, 1], out_bumped[:, 1])  # map 1 sees (1, 2, 3)


def test_parameter_counts_equal_the_papers():
    lenet = cnn.LeNet5()
    assert cnn.free_parameters(lenet) - cnn.free_parameters(lenet.output) == 60_000
    assert cnn.free_parameters(lenet.C3) == 1_516
    assert cnn.free_parameters(cnn.ZipNet1989()) == 9_760


def test_shapes():
    images = torch.rand(4, 1, 28, 28)
    assert cnn.LeNet5()(cnn.lenet_input(images)).shape == (4, 10)
    assert cnn.ZipNet1989()(cnn.zipnet_input(images)).shape == (4, 10)


def test_shift_digits_moves_content_and_fills_with_zero():
    image = torch.zeros(1, 1, 8, 8)
    image[0, 0, 4, 4] = 1.0
    moved = cnn.shift_digits(image.expand(64, 1, 8, 8), 2, generator=torch.Generator().manual_seed(5))
    positions = {tuple(torch.nonzero(m[0]).squeeze(0).tolist()) for m in moved}
    assert positions == {(4, 6), (4, 2), (6, 4), (2, 4)}
    assert torch.equal(moved.sum((1, 2, 3)), torch.ones(64))


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(6)
    model = cnn.LeNet5()
    x, y = torch.randn(16, 1, 32, 32), torch.randint(0, 10, (16,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 2
