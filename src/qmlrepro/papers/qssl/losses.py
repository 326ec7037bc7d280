"""The SimCLR contrastive loss."""

import torch
import torch.nn.functional as F


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """Normalised-temperature cross entropy over the 2B views: each view's positive is the other
    view of its image, its negatives the remaining 2B - 2 views (self-similarity excluded).

    ``z1``, ``z2``: (B, d) L2-normalised projections of two views of the same B images.
    """
    z = torch.cat([z1, z2], dim=0)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), -torch.inf)
    b = len(z1)
    positives = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(logits, positives)
