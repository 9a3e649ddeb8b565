"""04-u-net: the touching-cells generator, the Oxford-IIIT Pet stand-in, and the U-Net helpers."""
import pytest
import torch
import torch.nn.functional as F

from dlhistory import data
from dlhistory.topics import unet


def test_touching_cells_shapes_types_and_determinism():
    images, masks, instances = data.touching_cells(12, size=64, seed=3)
    assert images.shape == (12, 1, 64, 64) and images.dtype == torch.float32
    assert masks.shape == instances.shape == (12, 64, 64)
    assert masks.dtype == instances.dtype == torch.int64
    assert 0 <= images.min() and images.max() <= 1
    assert torch.equal(masks, (instances > 0).long())
    again = data.touching_cells(12, size=64, seed=3)
    for a, b in zip((images, masks, instances), again):
        assert torch.equal(a, b)
    assert not torch.equal(data.touching_cells(12, size=64, seed=4)[2], instances)
    assert data.touching_cells(2, size=96)[0].shape == (2, 1, 96, 96)


def test_cells_really_touch_and_are_brighter_than_background():
    images, masks, instances = data.touching_cells(40, seed=0)
    cells = touching = 0
    for inst in instances:
        for k in inst.unique()[1:]:
            near = F.max_pool2d((inst == k).float()[None, None], 5, stride=1, padding=2)[0, 0] > 0
            cells += 1
            touching += bool((near & (inst > 0) & (inst != k)).any())  # another cell within 2 px
    assert cells >= 40 * 4 * 0.9
    assert touching / cells > 0.7, (touching, cells)
    assert images[:, 0][masks == 1].mean() > images[:, 0][masks == 0].mean() + 0.3


def test_oxford_pets_smoke_stand_in_has_the_real_shapes():
    images, masks = data.oxford_pets("test", scale="smoke")
    assert images.shape[1:] == (3, 128, 128) and masks.shape[1:] == (128, 128)
    assert images.dtype == torch.float32 and masks.dtype == torch.int64 and len(images) == len(masks)


def test_unet_sizes_padded_and_valid_like_the_paper():
    net = unet.UNet(1, 2, widths=(4, 8, 16))
    assert net(torch.zeros(2, 1, 64, 64)).shape == (2, 2, 64, 64)
    assert net(torch.zeros(1, 1, 32, 48)).shape == (1, 2, 32, 48)
    paper = unet.UNet(1, 2, widths=(1, 1, 1, 1, 1), pad=False)
    with torch.no_grad():
        assert paper(torch.zeros(1, 1, 572, 572)).shape == (1, 2, 388, 388)


def test_unet_embedding_hook_starts_as_the_plain_network_and_then_conditions_it():
    torch.manual_seed(0)
    net, plain = unet.UNet(1, 1, widths=(8, 16), emb_dim=5), unet.UNet(1, 1, widths=(8, 16))
    plain.load_state_dict(net.state_dict(), strict=False)          # the same convolutions, no hook
    x = torch.randn(2, 1, 16, 16)
    torch.testing.assert_close(net(x, torch.randn(2, 5)), plain(x))  # zero scale and shift at init
    for block in [*net.down, *net.up_blocks]:
        torch.nn.init.normal_(block.emb.weight)
    a, b = net(x, torch.zeros(2, 5)), net(x, torch.ones(2, 5))
    assert a.shape == (2, 1, 16, 16) and not torch.allclose(a, b)


@pytest.mark.parametrize("c_in, c_out, size", [(3, 8, 12), (4, 16, 9)])
def test_block_adaptive_group_norm_equals_torch_group_norm_with_per_image_affine(c_in, c_out, size):
    torch.manual_seed(0)
    block = unet.Block(c_in, c_out, emb_dim=6)
    torch.nn.init.normal_(block.emb.weight, std=0.5)
    torch.nn.init.normal_(block.emb.bias, std=0.5)
    torch.nn.init.normal_(block.norm1.weight)
    x, emb = torch.randn(3, c_in, size, size, requires_grad=True), torch.randn(3, 6)
    scale, shift = block.emb(emb).chunk(2, dim=1)
    gamma, beta = block.norm1.weight, block.norm1.bias
    theirs = torch.cat([  # (1 + s) (gamma GN(h) + beta) + b is torch's group norm with weight and bias per image
        F.group_norm(block.conv1(x[i:i + 1]), block.norm1.num_groups, gamma * (1 + scale[i]), beta * (1 + scale[i]) + shift[i])
        for i in range(3)])
    theirs = F.relu(block.norm2(block.conv2(F.relu(theirs))))
    ours = block(x, emb)
    torch.testing.assert_close(ours, theirs)
    g_ours, = torch.autograd.grad(ours.square().sum(), x)
    g_theirs, = torch.autograd.grad(theirs.square().sum(), x)
    torch.testing.assert_close(g_ours, g_theirs)


@pytest.mark.parametrize("H, W", [(20, 20), (12, 31)])
def test_distance_to_equals_brute_force(H, W):
    g = torch.Generator().manual_seed(0)
    regions = torch.rand(6, H, W, generator=g) < 0.03
    regions[0] = False  # an empty region: every distance clipped to R
    grid = torch.cartesian_prod(torch.arange(float(H)), torch.arange(float(W)))
    brute = torch.stack([torch.cdist(grid, grid[r.flatten()]).amin(1).reshape(H, W) if r.any()
                         else torch.full((H, W), 6.) for r in regions]).clamp(max=6)
    torch.testing.assert_close(unet.distance_to(regions, R=6), brute)


def test_weight_map_peaks_in_the_gap_between_two_cells():
    instances = torch.zeros(1, 16, 24, dtype=torch.int64)
    instances[0, 4:12, 3:11], instances[0, 4:12, 12:20] = 1, 2  # one background column between them
    masks = (instances > 0).long()
    w_c = unet.class_balance(masks)
    w = unet.weight_map(masks, instances, w_c, w0=10.0, sigma=2.0)
    torch.testing.assert_close(w[0, 8, 11], w_c[0] + 10 * torch.exp(torch.tensor(-4 / 8)))  # d1 = d2 = 1
    torch.testing.assert_close(w[0, 8, 5], w_c[1])   # inside a cell: w_c only
    assert w[0, 0, 0] < w_c[0] + 1e-3                 # open background: about w_c
    lonely = unet.weight_map(masks.clamp(max=1), masks, w_c)  # a single "cell": no border term anywhere
    torch.testing.assert_close(lonely, w_c[masks])


@pytest.mark.parametrize("shape", [(3, 4, 8, 8), (2, 2, 5, 7)])
def test_weighted_cross_entropy_equals_torch_forward_and_gradient(shape):
    g = torch.Generator().manual_seed(1)
    B, K, H, W = shape
    logits, target = torch.randn(*shape, generator=g), torch.randint(0, K, (B, H, W), generator=g)
    torch.testing.assert_close(unet.weighted_cross_entropy(logits, target, torch.ones(B, H, W)),
                               F.cross_entropy(logits, target))
    class_w = torch.rand(K, generator=g) + 0.5
    ours_logits, ref_logits = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    ours = unet.weighted_cross_entropy(ours_logits, target, class_w[target])
    ref = F.cross_entropy(ref_logits, target, weight=class_w, reduction="sum") / target.numel()
    torch.testing.assert_close(ours, ref)
    ours.backward(), ref.backward()
    torch.testing.assert_close(ours_logits.grad, ref_logits.grad)
    pixel_w = torch.rand(B, H, W, generator=g)
    ours_logits.grad = ref_logits.grad = None
    ours = unet.weighted_cross_entropy(ours_logits, target, pixel_w)
    ref = (pixel_w * F.cross_entropy(ref_logits, target, reduction="none")).mean()
    torch.testing.assert_close(ours, ref)
    ours.backward(), ref.backward()
    torch.testing.assert_close(ours_logits.grad, ref_logits.grad)


def test_elastic_deform_identity_at_zero_and_labels_stay_labels():
    images, masks, instances = data.touching_cells(4, seed=2)
    weights = torch.rand(4, 64, 64)
    same = unet.elastic_deform(images, masks, weights, sigma=0.0)
    torch.testing.assert_close(same[0], images)
    assert torch.equal(same[1], masks)
    torch.testing.assert_close(same[2], weights)
    torch.manual_seed(0)
    x, m, i = unet.elastic_deform(images, masks, instances, sigma=3.0)
    assert not torch.allclose(x, images)
    assert m.dtype == torch.int64 and set(m.unique().tolist()) <= {0, 1}
    assert set(i.unique().tolist()) <= set(instances.unique().tolist())
    assert (x[:, 0][m == 1].mean() - x[:, 0][m == 0].mean()) > 0.3  # the mask moved with the image


def test_connected_components_and_separation():
    fg = torch.zeros(1, 8, 8, dtype=torch.bool)
    fg[0, 1:3, 1:3] = fg[0, 1:3, 5:7] = fg[0, 5:7, 1:7] = True
    fg[0, 7, 7] = True  # diagonal contact does not join under 4-connectivity
    labels = unet.connected_components(fg)
    assert len(labels.unique()) - 1 == 4
    assert len(labels[0, 5:7, 1:7].unique()) == 1
    instances = torch.zeros(1, 8, 8, dtype=torch.int64)
    instances[0, 1:3, 1:4], instances[0, 1:3, 4:7] = 1, 2  # two touching cells
    merged = instances > 0                                  # predicted as one blob
    separated, touching, count = unet.separation(merged, instances, min_size=1)
    assert count == 1 and touching.tolist() == [True, True] and not separated.all()
    apart = instances.clone().bool()
    apart[0, :, 3] = False
    separated, _, count = unet.separation(apart, instances, min_size=1)
    assert count == 2 and separated.all()
    assert unet.iou(apart, instances > 0) < 1 and unet.iou(instances > 0, (instances > 0).long()) == 1
