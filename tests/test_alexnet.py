"""03-alex-net: each ingredient of AlexNet against torch's own, and the augmentations."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlhistory.topics import alexnet


@pytest.mark.parametrize("n, k, alpha, beta", [(5, 2.0, 1e-4, 0.75), (3, 1.0, 1e-2, 0.5), (7, 2.0, 1e-3, 0.75)])
def test_local_response_norm_equals_torch_with_alpha_times_n(n, k, alpha, beta):
    a = torch.relu(torch.randn(2, 12, 5, 5, generator=torch.Generator().manual_seed(n), dtype=torch.float64) * 20)
    ours = alexnet.LocalResponseNorm(n, k, alpha, beta)(a)
    torch.testing.assert_close(ours, nn.LocalResponseNorm(n, alpha=n * alpha, beta=beta, k=k)(a))
    # torch's alpha is not the paper's: passed unchanged it gives a different layer
    assert not torch.allclose(ours, nn.LocalResponseNorm(n, alpha=alpha, beta=beta, k=k)(a))


def test_local_response_norm_edges_sum_over_fewer_channels():
    a = torch.zeros(1, 6, 1, 1)
    a[0, 0] = 10.0                                   # only channel 0 is active
    d = alexnet.LocalResponseNorm(n=5, k=2.0, alpha=0.01, beta=1.0).denominator(a).flatten()
    # channels 0, 1, 2 have channel 0 within n/2 = 2 of them; 3, 4, 5 do not
    torch.testing.assert_close(d, torch.tensor([3.0, 3.0, 3.0, 2.0, 2.0, 2.0]))


@pytest.mark.parametrize("z, s", [(3, 2), (2, 2), (3, 1)])
def test_max_pool_equals_torch(z, s):
    x = torch.randn(2, 3, 13, 11)
    torch.testing.assert_close(alexnet.max_pool(x, z, s), F.max_pool2d(x, z, s))


def test_dropout_is_torchs_inverted_dropout_times_one_minus_p():
    h = torch.randn(16, 50)
    layer = alexnet.Dropout(p=0.3)
    torch.manual_seed(0)
    ours = layer.train()(h)
    torch.manual_seed(0)
    torch.testing.assert_close(ours / 0.7, F.dropout(h, 0.3, training=True))
    torch.testing.assert_close(layer.eval()(h), 0.7 * h)


@pytest.mark.parametrize("groups", [2, 4])
def test_two_tower_conv_equals_grouped_conv(groups):
    towers = alexnet.TwoTowerConv2d(8, 12, 3, groups=groups, padding=1)
    x = torch.randn(2, 8, 7, 7)
    torch.testing.assert_close(towers(x), towers.as_grouped_conv()(x))
    # each output group depends only on its own input group
    y = x.clone()
    y[:, :8 // groups] += 1.0
    changed = (towers(y) - towers(x)).abs().amax(dim=(0, 2, 3)) > 0
    assert changed[:12 // groups].all() and not changed[12 // groups:].any()


def test_rgb_pca_diagonalizes_the_pixel_covariance():
    images = torch.rand(4, 3, 8, 8) @ torch.ones(8, 8) / 8 + 0.1 * torch.rand(4, 3, 8, 8)
    lam, p = alexnet.rgb_pca(images)
    torch.testing.assert_close(p @ torch.diag(lam) @ p.T, torch.cov(images.transpose(0, 1).reshape(3, -1)))
    assert (lam[:-1] >= lam[1:]).all()


def test_fancy_pca_adds_eq7_shift_per_image():
    x = torch.rand(6, 3, 5, 5)
    lam, p = alexnet.rgb_pca(torch.rand(10, 3, 4, 4))
    torch.manual_seed(1)
    out = alexnet.fancy_pca(x, lam, p, sigma=0.1)
    torch.manual_seed(1)
    alpha = torch.randn(6, 3) * 0.1
    for b in range(6):
        shift = sum(alpha[b, i] * lam[i] * p[:, i] for i in range(3))    # eq. 7, one image
        torch.testing.assert_close(out[b], x[b] + shift[:, None, None])


def test_fancy_pca_shift_covariance_is_p_diag_sigma_lambda_squared_pt():
    lam, p = torch.tensor([0.2, 0.05, 0.01]), torch.linalg.qr(torch.randn(3, 3))[0]
    torch.manual_seed(0)
    shifts = alexnet.fancy_pca(torch.zeros(20000, 3, 1, 1), lam, p, sigma=0.1)[:, :, 0, 0]
    expected = p @ torch.diag((0.1 * lam) ** 2) @ p.T
    torch.testing.assert_close(torch.cov(shifts.T), expected, atol=2e-5, rtol=0.05)


def test_random_crop_and_flip_take_windows_of_each_image():
    x = torch.arange(4 * 2 * 6 * 6, dtype=torch.float32).reshape(4, 2, 6, 6)
    torch.manual_seed(0)
    crops = alexnet.random_crop(x, 4, padding=1)
    padded = F.pad(x, (1, 1, 1, 1))
    for b in range(4):
        windows = [padded[b, :, i:i + 4, j:j + 4] for i in range(5) for j in range(5)]
        assert any(torch.equal(crops[b], w) for w in windows)
    flipped = alexnet.random_flip(x)
    assert all(torch.equal(f, i) or torch.equal(f, i.flip(-1)) for f, i in zip(flipped, x))


@pytest.mark.parametrize("channels", [1, 3])
def test_alexnet_and_four_layer_net_classify_32x32_images(channels):
    mean = torch.rand(channels, 32, 32)
    x = torch.rand(3, channels, 32, 32)
    for net in (alexnet.AlexNet(mean, widths=(8, 16, 16), hidden=32, stride=2),
                alexnet.four_layer_net(mean, "tanh", widths=(4, 4, 8))):
        assert alexnet.init_weights(net, gain=2)(x).shape == (3, 10)


def test_init_normal_draws_the_papers_weights_and_zero_biases():
    torch.manual_seed(0)
    net = alexnet.init_normal(alexnet.four_layer_net(torch.zeros(1, 32, 32), "relu"), std=0.01)
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weights = torch.cat([m.weight.flatten() for m in layers])
    assert abs(weights.std().item() - 0.01) < 3e-4 and abs(weights.mean().item()) < 3e-4
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in layers)


@pytest.mark.parametrize("c", [255.0, 0.1])
def test_relu_net_with_zero_biases_scales_with_its_input_and_tanh_net_does_not(c):
    torch.manual_seed(0)
    mean, x = torch.rand(1, 32, 32), torch.rand(3, 1, 32, 32)
    outputs = {}
    for name in ("relu", "tanh"):
        net = alexnet.init_normal(alexnet.four_layer_net(mean, name, widths=(4, 4, 8)), std=0.1)
        scaled = alexnet.init_normal(alexnet.four_layer_net(c * mean, name, widths=(4, 4, 8)), std=0.1)
        scaled.load_state_dict({k: (c * mean if k.endswith("mean") else v) for k, v in net.state_dict().items()})
        outputs[name] = (scaled(c * x), c * net(x))
    torch.testing.assert_close(*outputs["relu"], rtol=1e-4, atol=1e-6 * c)
    assert not torch.allclose(*outputs["tanh"], rtol=1e-2)


def test_augment_layer_passes_images_through_in_eval_mode():
    augment = alexnet.Augment(padding=2)
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(augment.eval()(x), x)
    torch.manual_seed(0)
    trained = augment.train()(x)
    torch.manual_seed(0)
    torch.testing.assert_close(trained, alexnet.random_crop(x, 8, padding=2))


def test_alexnet_passes_lrn_alpha_to_both_lrn_layers():
    net = alexnet.AlexNet(torch.rand(1, 32, 32), widths=(8, 16, 16), hidden=32, stride=2, lrn_alpha=0.5)
    assert [m.alpha for m in net.modules() if isinstance(m, alexnet.LocalResponseNorm)] == [0.5, 0.5]
