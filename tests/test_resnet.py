"""Residual networks: the helper module resnet.py against torch's own layers: option B's
projection against a 1x1 strided nn.Conv2d, the block against torchvision's BasicBlock (option
B) and against one built from torch layers (option A, plain), forward and gradients, on
several shapes; option A, which torch lacks, through properties that a wrong version fails."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock as TorchvisionBlock

from dlhistory.topics import resnet

# (batch, c_in, c_out, stride, height, width): same shape, growing width, stride 2 on even and odd sizes
SHAPES = [(4, 8, 8, 1, 6, 6), (3, 4, 8, 2, 8, 8), (2, 5, 7, 2, 7, 9), (5, 16, 32, 2, 16, 16)]


def random_input(batch, channels, height, width):
    return torch.randn(batch, channels, height, width, dtype=torch.double, requires_grad=True)


def same_gradients(ours, theirs, x, names):
    """Back-propagate the same random weighting of both outputs; inputs and named parameters
    get the same gradients. `names`: (our parameter, torch's parameter) pairs."""
    y_ours, y_theirs = ours(x), theirs(x_theirs := x.detach().clone().requires_grad_())
    torch.testing.assert_close(y_ours, y_theirs)
    weights = torch.randn_like(y_ours)
    (weights * y_ours).sum().backward()
    (weights * y_theirs).sum().backward()
    torch.testing.assert_close(x.grad, x_theirs.grad)
    for a, b in names:
        torch.testing.assert_close(a.grad, b.grad)


@pytest.mark.parametrize("shape", SHAPES)
def test_projection_is_a_strided_1x1_conv(shape):
    batch, c_in, c_out, stride, h, w = shape
    torch.manual_seed(0)
    ours = resnet.Projection(c_in, c_out, stride).double()
    theirs = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False).double()
    with torch.no_grad():
        theirs.weight.copy_(ours.W_s[:, :, None, None])
    same_gradients(ours, theirs, random_input(batch, c_in, h, w), [])
    torch.testing.assert_close(ours.W_s.grad, theirs.weight.grad[:, :, 0, 0])


def test_projection_gradient_against_conv_weight():
    torch.manual_seed(1)
    ours = resnet.Projection(3, 6, 2).double()
    theirs = nn.Conv2d(3, 6, 1, stride=2, bias=False).double()
    with torch.no_grad():
        theirs.weight.copy_(ours.W_s[:, :, None, None])
    x = random_input(2, 3, 5, 5)
    ours(x).square().sum().backward()
    theirs(x.detach()).square().sum().backward()
    torch.testing.assert_close(ours.W_s.grad, theirs.weight.grad[:, :, 0, 0])


@pytest.mark.parametrize("shape", SHAPES)
def test_option_A_shapes_and_values(shape):
    batch, c_in, c_out, stride, h, w = shape
    x = torch.randn(batch, c_in, h, w)
    s = resnet.shortcut_A(x, c_out, stride)
    assert s.shape == (batch, c_out, -(-h // stride), -(-w // stride))
    torch.testing.assert_close(s[:, :c_in], x[:, :, ::stride, ::stride])   # identity on the kept positions
    assert (s[:, c_in:] == 0).all()                                          # zero-padded new channels
    if stride == 1 and c_in == c_out:
        assert torch.equal(s, x)


def test_option_A_gradient_is_the_identity_on_kept_positions():
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    g = torch.randn(2, 8, 3, 3)
    (resnet.shortcut_A(x, 8, 2) * g).sum().backward()
    expected = torch.zeros_like(x)
    expected[:, :, ::2, ::2] = g[:, :4]
    torch.testing.assert_close(x.grad, expected)


def copy_block(ours, theirs):
    """Give both blocks the same weights: our convolutions and projection, random BN scales and
    shifts (so that a mix-up of the two BN layers would show)."""
    with torch.no_grad():
        theirs.conv1.weight.copy_(ours.conv1.weight)
        theirs.conv2.weight.copy_(ours.conv2.weight)
        pairs = [(ours.bn1, theirs.bn1), (ours.bn2, theirs.bn2)]
        if ours.projection is not None:
            theirs.downsample[0].weight.copy_(ours.projection[0].W_s[:, :, None, None])
            pairs.append((ours.projection[1], theirs.downsample[1]))
        for a, b in pairs:
            a.weight.copy_(torch.rand_like(a.weight) + 0.5), a.bias.copy_(torch.randn_like(a.bias))
            b.weight.copy_(a.weight), b.bias.copy_(a.bias)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_option_B_block_equals_torchvision(shape, training):
    batch, c_in, c_out, stride, h, w = shape
    torch.manual_seed(2)
    ours = resnet.BasicBlock(c_in, c_out, stride, shortcut="B").double()
    downsample = None
    if stride > 1 or c_in != c_out:
        downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
    theirs = TorchvisionBlock(c_in, c_out, stride, downsample).double()
    copy_block(ours, theirs)
    if not training:  # eval mode: the running statistics of one training batch
        probe = torch.randn(batch, c_in, h, w, dtype=torch.double)
        ours(probe), theirs(probe)
        ours.eval(), theirs.eval()
    names = [(ours.conv1.weight, theirs.conv1.weight), (ours.conv2.weight, theirs.conv2.weight),
             (ours.bn1.weight, theirs.bn1.weight), (ours.bn2.bias, theirs.bn2.bias)]
    if downsample is not None:
        names.append((ours.projection[1].weight, theirs.downsample[1].weight))
    same_gradients(ours, theirs, random_input(batch, c_in, h, w), names)
    if downsample is not None:
        torch.testing.assert_close(ours.projection[0].W_s.grad, theirs.downsample[0].weight.grad[:, :, 0, 0])


class TorchOptionA(nn.Module):
    """Option A and the plain twin from torch layers: F.relu, nn.Conv2d, nn.BatchNorm2d, and the
    zero-padded stride-2 identity as a 1x1 strided nn.Conv2d whose weight is a fixed identity
    matrix with zero rows for the new channels."""

    def __init__(self, ours, c_in, c_out, stride, plain):
        super().__init__()
        self.ours, self.plain = ours, plain
        eye = torch.zeros(c_out, c_in, 1, 1, dtype=torch.double)
        eye[torch.arange(c_in), torch.arange(c_in)] = 1
        self.register_buffer("eye", eye)
        self.stride = stride

    def forward(self, x):
        o = self.ours
        f = o.bn2(o.conv2(F.relu(o.bn1(o.conv1(x)))))
        return F.relu(f if self.plain else f + F.conv2d(x, self.eye, stride=self.stride))


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_option_A_and_plain_blocks_against_torch_layers(shape, plain):
    batch, c_in, c_out, stride, h, w = shape
    torch.manual_seed(3)
    ours = resnet.BasicBlock(c_in, c_out, stride, shortcut=None if plain else "A").double()
    twin = resnet.BasicBlock(c_in, c_out, stride, shortcut=None if plain else "A").double()
    twin.load_state_dict(ours.state_dict())
    theirs = TorchOptionA(twin, c_in, c_out, stride, plain)
    same_gradients(ours, theirs, random_input(batch, c_in, h, w),
                   [(ours.conv1.weight, twin.conv1.weight), (ours.conv2.weight, twin.conv2.weight)])


@pytest.mark.parametrize("n,layers", [(1, 8), (3, 20), (9, 56)])
@pytest.mark.parametrize("shortcut", ["A", "B", None])
def test_network_depth_and_shapes(n, layers, shortcut):
    model = resnet.CifarResNet(n, shortcut, width=4, in_channels=1)
    assert resnet.depth(model) == layers == 6 * n + 2
    assert len(model.blocks) == 3 * n
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_plain_twin_has_the_same_parameters_as_option_A():
    """The plain net is the residual net minus its shortcuts: option A adds no parameter."""
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(resnet.CifarResNet(3, None, width=8)) == count(resnet.CifarResNet(3, "A", width=8))
    assert count(resnet.CifarResNet(3, "B", width=8)) > count(resnet.CifarResNet(3, "A", width=8))


def test_zero_residual_makes_the_block_an_identity():
    """With the last BN's scale and shift at zero, F(x) = 0: a residual block passes relu(x) on
    (x >= 0 after a ReLU, so exactly x), while the plain twin outputs zeros."""
    torch.manual_seed(4)
    x = torch.relu(torch.randn(2, 8, 6, 6))
    for shortcut, expected in (("A", x), ("B", x), (None, torch.zeros_like(x))):
        block = resnet.BasicBlock(8, 8, 1, shortcut)
        with torch.no_grad():
            block.bn2.weight.zero_(), block.bn2.bias.zero_()
        torch.testing.assert_close(block(x), expected)
