"""04-u-net: the touching-cells generator, the Oxford-IIIT Pet parser, and the U-Net helpers."""
import io
import tarfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

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


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _tar(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def test_oxford_pets_parser_on_tiny_archives(tmp_path):
    trimap = np.full((20, 30), 2, np.uint8)  # background
    trimap[5:15, 10:20] = 1                  # pet
    trimap[4, 10:20] = 3                     # uncertain border, counted as pet
    photo = np.zeros((20, 30, 3), np.uint8)
    photo[..., 0] = 200
    _tar(tmp_path / "annotations.tar.gz", {
        "annotations/trainval.txt": b"cat_1 1 1 1\ndog_2 2 2 1\n",
        "annotations/test.txt": b"#Image CLASS-ID SPECIES BREED ID\ncat_3 1 1 1\n",
        "annotations/trimaps/cat_1.png": _png(trimap),
        "annotations/trimaps/._cat_1.png": b"resource fork junk",
        "annotations/trimaps/dog_2.png": _png(trimap[::-1].copy()),
        "annotations/trimaps/cat_3.png": _png(trimap),
    })
    _tar(tmp_path / "images.tar.gz", {f"images/{name}.jpg": _jpeg(photo) for name in ("cat_1", "dog_2", "cat_3")})
    images, masks = data.read_oxford_pets(tmp_path / "images.tar.gz", tmp_path / "annotations.tar.gz",
                                          "trainval", size=16)
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.float32
    assert masks.shape == (2, 16, 16) and masks.dtype == torch.int64
    torch.testing.assert_close(images[:, 0].mean(), torch.tensor(200 / 255), atol=0.02, rtol=0)
    assert images[:, 1:].max() < 0.05
    expected = np.asarray(Image.fromarray(trimap).resize((16, 16), Image.NEAREST)) != 2
    assert torch.equal(masks[0], torch.from_numpy(expected).long())
    assert torch.equal(masks[1], torch.from_numpy(expected[::-1].copy()).long())
    test_images, _ = data.read_oxford_pets(tmp_path / "images.tar.gz", tmp_path / "annotations.tar.gz", "test", size=16)
    assert test_images.shape == (1, 3, 16, 16)


def test_oxford_pets_smoke_stand_in_has_the_real_shapes():
    images, masks = data.oxford_pets("test", scale="smoke")
    assert images.shape[1:] == (3, 128, 128) and masks.shape[1:] == (128, 128)
    assert data.FILES["oxford-pets-images"].checksum == "md5:5c4f3ee8e5d25df40f4fd59a7f44e54c"


def test_unet_sizes_padded_and_valid_like_the_paper():
    net = unet.UNet(1, 2, widths=(4, 8, 16))
    assert net(torch.zeros(2, 1, 64, 64)).shape == (2, 2, 64, 64)
    paper = unet.UNet(1, 2, widths=(1, 1, 1, 1, 1), pad=False)
    with torch.no_grad():
        assert paper(torch.zeros(1, 1, 572, 572)).shape == (1, 2, 388, 388)


def test_unet_embedding_hook_changes_the_output():
    torch.manual_seed(0)
    net = unet.UNet(1, 1, widths=(8, 16), emb_dim=5)
    x = torch.randn(2, 1, 16, 16)
    a, b = net(x, torch.zeros(2, 5)), net(x, torch.ones(2, 5))
    assert a.shape == (2, 1, 16, 16) and not torch.allclose(a, b)


def test_distance_to_equals_brute_force():
    g = torch.Generator().manual_seed(0)
    regions = torch.rand(6, 20, 20, generator=g) < 0.03
    regions[0] = False  # an empty region: every distance clipped to R
    grid = torch.cartesian_prod(torch.arange(20.), torch.arange(20.))
    brute = torch.stack([torch.cdist(grid, grid[r.flatten()]).amin(1).reshape(20, 20) if r.any()
                         else torch.full((20, 20), 6.) for r in regions]).clamp(max=6)
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


def test_weighted_cross_entropy_equals_torch():
    g = torch.Generator().manual_seed(1)
    logits, target = torch.randn(3, 4, 8, 8, generator=g), torch.randint(0, 4, (3, 8, 8), generator=g)
    torch.testing.assert_close(unet.weighted_cross_entropy(logits, target, torch.ones(3, 8, 8)),
                               F.cross_entropy(logits, target))
    class_w = torch.tensor([0.5, 1.0, 2.0, 3.0])
    torch.testing.assert_close(unet.weighted_cross_entropy(logits, target, class_w[target]),
                               F.cross_entropy(logits, target, weight=class_w, reduction="sum") / target.numel())
    pixel_w = torch.rand(3, 8, 8, generator=g)
    torch.testing.assert_close(unet.weighted_cross_entropy(logits, target, pixel_w),
                               (pixel_w * F.cross_entropy(logits, target, reduction="none")).mean())


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
