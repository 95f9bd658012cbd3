"""Re-parameterization: the arithmetic that folds a network into its deployed form.

Every family folds the same way: a BatchNorm that follows a bias-free conv is folded into the
conv's kernel and a bias (:func:`fuse_bn`); parallel branches (MobileOne, RepVGG) are summed
after writing each as a k×k kernel (:func:`identity_kernel` for the identity branch); the
result is one conv with the train-time conv's geometry (:func:`fused_conv`). A module that can
be folded defines ``reparameterize()``; :func:`reparameterize_model` calls it on every such
sub-module of a copy, and :func:`deploy` is that copy in eval mode — what is counted, measured
and exported.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from analysis.errors import ConfigError


def fuse_bn(kernel: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold a BatchNorm that follows a bias-free conv into the conv's kernel and a bias.

    With σ = sqrt(running_var + eps): ``W' = W · γ/σ`` (per output channel) and
    ``b' = β − μ · γ/σ`` — exact for the BatchNorm's inference (eval-mode) behaviour.
    """
    std = (bn.running_var + bn.eps).sqrt()
    scale = bn.weight / std
    return kernel * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


@torch.no_grad()
def fused_conv(like: nn.Conv2d, kernel: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    """A Conv2d with ``like``'s geometry (channels, kernel size, stride, padding, dilation,
    groups) holding ``kernel`` and ``bias``: the single conv a re-parameterized block runs."""
    conv = nn.Conv2d(like.in_channels, like.out_channels, like.kernel_size, like.stride,
                     like.padding, like.dilation, like.groups, bias=True)
    conv.to(device=kernel.device, dtype=kernel.dtype)
    conv.weight.copy_(kernel)
    conv.bias.copy_(bias)
    return conv


def identity_kernel(channels: int, groups: int, kernel_size: int,
                    like: torch.Tensor) -> torch.Tensor:
    """The k×k kernel of an identity map: 1 at the centre of input channel ``i mod (C/groups)``."""
    in_per_group = channels // groups
    kernel = torch.zeros(channels, in_per_group, kernel_size, kernel_size,
                         dtype=like.dtype, device=like.device)
    centre = kernel_size // 2
    for i in range(channels):
        kernel[i, i % in_per_group, centre, centre] = 1.0
    return kernel


def reparameterize_model(model: nn.Module) -> nn.Module:
    """Return a fused deep copy of ``model``; the input model is left untouched.

    Calls ``reparameterize()`` on every sub-module that defines it (MobileOne and RepVGG
    blocks, every conv-BN layer), so it works for any model of the project, and is idempotent.
    """
    fused = copy.deepcopy(model)
    for module in fused.modules():
        if hasattr(module, "reparameterize"):
            module.reparameterize()
    if hasattr(fused, "inference_mode"):
        fused.inference_mode = True
    return fused


def deploy(model: nn.Module) -> nn.Module:
    """The model as deployed: a re-parameterized (fused) copy in eval mode."""
    return reparameterize_model(model).eval()


@torch.no_grad()
def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm (1d or 2d) seeded random running statistics and affine parameters,
    so that folding them into the convs is actually exercised (fresh BatchNorms are the
    identity); returns the model in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return model.eval()


def calibrate_batchnorm(model: nn.Module, inputs: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to those of ``model``'s activations on
    ``inputs`` (in place; returns ``model`` in its previous train/eval mode).

    A randomly initialised network keeps BatchNorm's identity statistics (mean 0, variance 1)
    whatever the scale of its activations, so summed branches can grow from block to block —
    MobileOne-S0's four conv branches overflow fp16 (65504) in stage 3. With the statistics
    of the actual activations every BatchNorm normalises its output to unit scale, as in a
    trained network; the weights stay random, and the cost of the network is unchanged.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return model
    training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: exactly this batch's statistics
    model.train()
    model(inputs)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model.train(training)


def plain_sequential(fused: nn.Module) -> nn.Sequential:
    """A fused MobileOne as one flat ``nn.Sequential``: for every block its ``reparam_conv``,
    its Squeeze-Excite module (where it has one) and its activation; then pooling, flatten and
    the classifier. The layers are shared with ``fused`` (same weights), so both compute the
    same function, without the blocks' Python structure (what a plain network costs).

    Raises:
        ConfigError: for a network with no MobileOne blocks, or with unfused ones.
    """
    layers: list[nn.Module] = []
    for block in fused.modules():
        if not (hasattr(block, "se") and hasattr(block, "inference_mode")
                and hasattr(block, "reparameterize")):
            continue  # MobileOne blocks (duck-typed: this module sits below mobileone.py)
        if getattr(block, "reparam_conv", None) is None or not block.inference_mode:
            raise ConfigError("plain_sequential needs a fused (re-parameterized) MobileOne")
        layers.append(block.reparam_conv)
        if not isinstance(block.se, nn.Identity):
            layers.append(block.se)
        layers.append(block.activation)
    if not layers or not all(hasattr(fused, a) for a in ("gap", "linear")):
        raise ConfigError("plain_sequential needs a fused (re-parameterized) MobileOne")
    return nn.Sequential(*layers, fused.gap, nn.Flatten(1), fused.linear).eval()
