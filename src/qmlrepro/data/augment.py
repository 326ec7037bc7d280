"""SimCLR-style image augmentations applied to a whole batch at once, each image drawn anew.

torchvision's transforms draw one crop (or one jitter factor) per call, so per-image randomness
would need a Python loop over the batch; on two CPU cores that loop costs more than the encoder.
Here every random choice is a tensor of shape (B,), and crops are one ``grid_sample``. The global
torch RNG is used, so the training loop's checkpoints restore the augmentation stream exactly.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# ITU-R 601 luma, as torchvision's rgb_to_grayscale.
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class AugmentSpec:
    """Probabilities and ranges, named after torchvision's transforms they mirror."""

    crop_scale: tuple[float, float] = (0.2, 1.0)  # RandomResizedCrop(scale=...)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)  # ColorJitter(b, c, s, h)
    jitter_p: float = 0.8  # RandomApply([ColorJitter], p)
    grayscale_p: float = 0.2  # RandomGrayscale(p); no-op on one channel
    flip_p: float = 0.5  # RandomHorizontalFlip(p)
    mean: tuple[float, ...] = (0.5,)  # Normalize(mean, std), per channel
    std: tuple[float, ...] = (0.5,)


def _uniform(lo: float, hi: float, n: int, device: torch.device) -> torch.Tensor:
    return torch.rand(n, device=device) * (hi - lo) + lo


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    weights = torch.tensor(LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def random_resized_crop(
    x: torch.Tensor, scale: Sequence[float], ratio: Sequence[float], flip_p: float
) -> torch.Tensor:
    """A crop of area fraction ~U(scale) and aspect ~logU(ratio) per image, resized back to the
    input size (bilinear), mirrored with probability ``flip_p``. Crops that would leave the image
    are shrunk to fit (torchvision retries instead; the distributions differ only at the edges)."""
    b, device = x.shape[0], x.device
    area = _uniform(scale[0], scale[1], b, device)
    log_ratio = _uniform(math.log(ratio[0]), math.log(ratio[1]), b, device)
    aspect = torch.exp(log_ratio)
    half_w = torch.sqrt(area * aspect).clamp(max=1.0)  # fractions of the side = affine half-sizes
    half_h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (torch.rand(b, device=device) * 2 - 1) * (1 - half_w)
    cy = (torch.rand(b, device=device) * 2 - 1) * (1 - half_h)
    flip = torch.where(torch.rand(b, device=device) < flip_p, -1.0, 1.0).to(device)
    theta = torch.zeros(b, 2, 3, device=device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2] = half_w * flip, cx
    theta[:, 1, 1], theta[:, 1, 2] = half_h, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _hue_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate chroma in YIQ space by ``2 pi * shift`` (an RGB hue shift without the HSV round
    trip; torchvision shifts H in HSV, which differs slightly for saturated colours)."""
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        device=x.device,
        dtype=x.dtype,
    )
    yiq = torch.einsum("ij,bjhw->bihw", to_yiq, x)
    angle = 2 * math.pi * shift.view(-1, 1, 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], cos * i - sin * q, sin * i + cos * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(to_yiq), yiq)


def color_jitter(x: torch.Tensor, jitter: Sequence[float], p: float) -> torch.Tensor:
    """Brightness, contrast, saturation and hue factors drawn per image, applied (in that fixed
    order) to a random subset of probability ``p``. Saturation and hue need colour images."""
    b, device = x.shape[0], x.device
    apply = (torch.rand(b, device=device) < p).view(-1, 1, 1, 1)
    brightness, contrast, saturation, hue = jitter
    out = x
    if brightness:
        factor = _uniform(1 - brightness, 1 + brightness, b, device).clamp(min=0)
        out = (out * factor.view(-1, 1, 1, 1)).clamp(0, 1)
    if contrast:
        factor = _uniform(1 - contrast, 1 + contrast, b, device).clamp(min=0).view(-1, 1, 1, 1)
        mean = _gray(out).mean(dim=(1, 2, 3), keepdim=True)
        out = ((out - mean) * factor + mean).clamp(0, 1)
    if x.shape[1] == 3 and saturation:
        factor = _uniform(1 - saturation, 1 + saturation, b, device).clamp(min=0)
        gray = _gray(out)
        out = ((out - gray) * factor.view(-1, 1, 1, 1) + gray).clamp(0, 1)
    if x.shape[1] == 3 and hue:
        out = _hue_shift(out, _uniform(-hue, hue, b, device)).clamp(0, 1)
    return torch.where(apply, out, x)


def random_grayscale(x: torch.Tensor, p: float) -> torch.Tensor:
    if x.shape[1] == 1 or p <= 0:
        return x
    pick = (torch.rand(x.shape[0], device=x.device) < p).view(-1, 1, 1, 1)
    return torch.where(pick, _gray(x).expand_as(x), x)


class BatchAugment:
    """Images (B, C, H, W) in [0, 1] -> one augmented, normalised view per image."""

    def __init__(self, spec: AugmentSpec) -> None:
        self.spec = spec

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.spec.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.spec.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        s = self.spec
        x = random_resized_crop(x, s.crop_scale, s.crop_ratio, s.flip_p)
        x = color_jitter(x, s.jitter, s.jitter_p)
        x = random_grayscale(x, s.grayscale_p)
        return self.normalise(x)
