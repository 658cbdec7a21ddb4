"""B-cos-v2 architectures for 224 x 224 RGB images (6-channel add-inverse input), written from the structure
described in the method digest: a ResNet with bottleneck blocks, a DenseNet, and a ViT with a convolutional stem
(ViT-C). All are bias-free, ReLU-free, b = 2, max-out 1, with the classifier applied before global pooling
(CNNs) and a constant logit bias -log(num_classes - 1).

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-numpy
Run with /usr/bin/python3. Factories (usable with export.py --module bcos_archs:<factory>):
    resnet_small, densenet_small, vitc_small       (the test-fixture widths)
    resnet50, densenet121, vitc_s                   (full widths, for benchmarks)
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import List, Sequence

import torch
from torch import Tensor, nn

from bcos_layers import (BatchNormUncentered2d, BcosAttention, BcosConv2d, BcosLinear, DetachableGNLayerNorm2d,
                         DetachableLayerNorm, LogitLayer)


# ----------------------------------------------------------------------------------------------------------------
# ResNet (bottleneck)
# ----------------------------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        width = planes
        out = planes * self.expansion
        self.conv1 = BcosConv2d(inplanes, width, 1)
        self.bn1 = BatchNormUncentered2d(width)
        self.conv2 = BcosConv2d(width, width, 3, stride, 1)   # the stride sits in the 3x3 conv (ResNet v1.5)
        self.bn2 = BatchNormUncentered2d(width)
        self.conv3 = BcosConv2d(width, out, 1)
        self.bn3 = BatchNormUncentered2d(out)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(BcosConv2d(inplanes, out, 1, stride), BatchNormUncentered2d(out))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.bn1(self.conv1(x))
        y = self.bn2(self.conv2(y))
        y = self.bn3(self.conv3(y))
        return y + identity  # no ReLU after the residual add


class BcosResNet(nn.Module):
    def __init__(self, layers: Sequence[int], inplanes: int = 64, num_classes: int = 1000,
                 in_chans: int = 6) -> None:
        super().__init__()
        self.conv1 = BcosConv2d(in_chans, inplanes, 7, 2, 3)
        self.bn1 = BatchNormUncentered2d(inplanes)
        self.pool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        self._in = inplanes
        self.layer1 = self._make(inplanes, layers[0], 1)
        self.layer2 = self._make(inplanes * 2, layers[1], 2)
        self.layer3 = self._make(inplanes * 4, layers[2], 2)
        self.layer4 = self._make(inplanes * 8, layers[3], 2)
        self.fc = BcosConv2d(inplanes * 8 * Bottleneck.expansion, num_classes, 1)  # classifier before pooling
        self.logit_layer = LogitLayer(-math.log(num_classes - 1))

    def _make(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        mods = [Bottleneck(self._in, planes, stride)]
        self._in = planes * Bottleneck.expansion
        mods += [Bottleneck(self._in, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.logit_layer(self.fc(x).mean(dim=(2, 3)))


# ----------------------------------------------------------------------------------------------------------------
# DenseNet
# ----------------------------------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = BatchNormUncentered2d(cin)
        self.conv1 = BcosConv2d(cin, bn_size * growth, 1)
        self.norm2 = BatchNormUncentered2d(bn_size * growth)
        self.conv2 = BcosConv2d(bn_size * growth, growth, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv2(self.norm2(self.conv1(self.norm1(x))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, n: int, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(n):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth, bn_size)

    def forward(self, x: Tensor) -> Tensor:
        feats: List[Tensor] = [x]
        for layer in self.values():
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class Transition(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(OrderedDict(norm=BatchNormUncentered2d(cin), conv=BcosConv2d(cin, cout, 1),
                                     pool=nn.AvgPool2d(kernel_size=2, stride=2)))


class BcosDenseNet(nn.Module):
    def __init__(self, growth: int = 32, blocks: Sequence[int] = (6, 12, 24, 16), init_features: int = 64,
                 bn_size: int = 4, num_classes: int = 1000, in_chans: int = 6) -> None:
        super().__init__()
        f = OrderedDict(conv0=BcosConv2d(in_chans, init_features, 7, 2, 3),
                        norm0=BatchNormUncentered2d(init_features),
                        pool0=nn.AvgPool2d(kernel_size=3, stride=2, padding=1))
        c = init_features
        for i, n in enumerate(blocks):
            f[f"denseblock{i + 1}"] = DenseBlock(n, c, growth, bn_size)
            c += n * growth
            if i != len(blocks) - 1:
                f[f"transition{i + 1}"] = Transition(c, c // 2)
                c //= 2
        f["norm5"] = BatchNormUncentered2d(c)
        self.features = nn.Sequential(f)
        self.classifier = BcosConv2d(c, num_classes, 1)  # classifier before pooling
        self.logit_layer = LogitLayer(-math.log(num_classes - 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.logit_layer(self.classifier(self.features(x)).mean(dim=(2, 3)))


# ----------------------------------------------------------------------------------------------------------------
# ViT with a convolutional stem (B-cos SimpleViT-C)
# ----------------------------------------------------------------------------------------------------------------
def posemb_sincos_2d(h: int, w: int, dim: int, temperature: float = 10000.0) -> Tensor:
    """Fixed 2-D sine-cosine positional embedding [h*w, dim]: with omega_i = temperature^(-i/(dim/4 - 1)),
    i = 0..dim/4-1, the row for grid position (y, x) is [sin(x omega), cos(x omega), sin(y omega), cos(y omega)]."""
    assert dim % 4 == 0
    q = dim // 4
    omega = 1.0 / temperature ** (torch.arange(q, dtype=torch.float64) / (q - 1))
    ys = torch.arange(h, dtype=torch.float64).repeat_interleave(w)
    xs = torch.arange(w, dtype=torch.float64).repeat(h)
    xo = xs[:, None] * omega[None]
    yo = ys[:, None] * omega[None]
    return torch.cat([xo.sin(), xo.cos(), yo.sin(), yo.cos()], dim=1)


class ToTokens(nn.Module):
    """1x1 patches: [B, C, g, g] -> [B, g*g, C] (row-major grid order), with constant reshape shapes."""

    def __init__(self, channels: int, tokens: int) -> None:
        super().__init__()
        self.channels = channels
        self.tokens = tokens

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(-1, self.channels, self.tokens).permute(0, 2, 1)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(OrderedDict(norm=DetachableLayerNorm(dim), linear1=BcosLinear(dim, hidden),
                                             act=nn.Identity(), linear2=BcosLinear(hidden, dim)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Encoder(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int, tokens: int) -> None:
        super().__init__()
        self.attn = BcosAttention(dim, heads, dim_head, tokens, DetachableLayerNorm(dim))
        self.ff = FeedForward(dim, mlp_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(x) + x
        return self.ff(x) + x


class SimpleViTC(nn.Module):
    """Conv stem (B-cos 3x3 convs, stride 2 when the width grows, each followed by a centred GN-LayerNorm and
    act = Identity) -> 1x1 patches -> BcosLinear patch embedding -> + fixed sincos positional embedding ->
    `depth` encoders (transformer.encoder_i) -> mean over tokens -> LayerNorm + BcosLinear head."""

    def __init__(self, image_size: int = 224, stem: Sequence[int] = (48, 96, 192, 384), dim: int = 384,
                 depth: int = 11, heads: int = 6, mlp_dim: int = 1536, num_classes: int = 1000,
                 in_chans: int = 6) -> None:
        super().__init__()
        mods = []
        c = in_chans
        size = image_size
        for outc in stem:
            stride = 2 if outc > c else 1
            mods += [BcosConv2d(c, outc, 3, stride, 1), DetachableGNLayerNorm2d(outc), nn.Identity()]
            size = (size + 2 - 3) // stride + 1
            c = outc
        self.grid = size
        self.tokens = size * size
        self.to_patch_embedding = nn.Sequential(OrderedDict(conv_stem=nn.Sequential(*mods),
                                                            rearrange=ToTokens(c, self.tokens),
                                                            linear=BcosLinear(c, dim)))
        self.register_buffer("pos_embedding", posemb_sincos_2d(size, size, dim).float())
        self.transformer = nn.Sequential(OrderedDict(
            (f"encoder_{i}", Encoder(dim, heads, dim // heads, mlp_dim, self.tokens)) for i in range(depth)))
        self.linear_head = nn.Sequential(OrderedDict(norm=DetachableLayerNorm(dim),
                                                     linear=BcosLinear(dim, num_classes)))

    def forward(self, img: Tensor) -> Tensor:
        x = self.to_patch_embedding(img) + self.pos_embedding                    # [B, g*g, dim]; a constant
        x = self.transformer(x)
        return self.linear_head(x.mean(dim=1))


def _vit_with_logit_layer(vit: SimpleViTC, num_classes: int) -> nn.Sequential:
    # B-cos-v2 wraps its ViTs as Sequential(SimpleViT, LogitLayer): module paths read 0.transformer.encoder_i
    return nn.Sequential(OrderedDict([("0", vit), ("1", LogitLayer(-math.log(num_classes - 1)))]))


# ----------------------------------------------------------------------------------------------------------------
# factories
# ----------------------------------------------------------------------------------------------------------------
def resnet_small(num_classes: int = 1000) -> BcosResNet:
    return BcosResNet([2, 2, 2, 2], inplanes=4, num_classes=num_classes)


def resnet50(num_classes: int = 1000) -> BcosResNet:
    return BcosResNet([3, 4, 6, 3], inplanes=64, num_classes=num_classes)


def densenet_small(num_classes: int = 1000) -> BcosDenseNet:
    return BcosDenseNet(growth=8, blocks=(2, 3, 3, 2), init_features=16, bn_size=4, num_classes=num_classes)


def densenet121(num_classes: int = 1000) -> BcosDenseNet:
    return BcosDenseNet(growth=32, blocks=(6, 12, 24, 16), init_features=64, bn_size=4, num_classes=num_classes)


def vitc_small(num_classes: int = 1000) -> nn.Sequential:
    return _vit_with_logit_layer(SimpleViTC(224, stem=(8, 16, 32, 64), dim=64, depth=6, heads=4, mlp_dim=128,
                                            num_classes=num_classes), num_classes)


def vitc_s(num_classes: int = 1000) -> nn.Sequential:
    return _vit_with_logit_layer(SimpleViTC(224, stem=(48, 96, 192, 384), dim=384, depth=11, heads=6,
                                            mlp_dim=1536, num_classes=num_classes), num_classes)
