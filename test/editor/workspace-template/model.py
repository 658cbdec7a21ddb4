"""The embedded default model of FaCT for VS Code: a B-cos CNN for 28x28 Fashion-MNIST images.

This file is the sample workspace's stand-in for "your model code": it names the same modules as the exported
models/fashion-mnist-bcos/model.onnx (layer1 ... layer4, classifier), which is how FaCT labels the candidate SAE
layers it finds in the ONNX graph. The full training recipe is models/recipes/train_default.py in the extension's
repository.
"""
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F


class BcosConv2d(nn.Module):
    """B-cos v2 convolution (b = 2, max-out 1): y = lin * |lin| / ||patch||, lin = conv(x, W / ||W||)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.linear = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.linear.weight
        w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        lin = F.conv2d(x, w, stride=self.stride, padding=self.padding)
        ones = torch.ones(1, x.shape[1], self.kernel_size, self.kernel_size, device=x.device)
        norm = (F.conv2d(x * x, ones, stride=self.stride, padding=self.padding) + 1e-6).sqrt()
        return lin * lin.abs() / norm


class FashionBcosCNN(nn.Module):
    def __init__(self, num_classes: int = 10, logit_bias: float = -2.1972246):
        super().__init__()
        self.layer1 = nn.Sequential(OrderedDict(conv=BcosConv2d(2, 32, 3, 1, 1)))              # 32 x 28 x 28
        self.layer2 = nn.Sequential(OrderedDict(conv1=BcosConv2d(32, 64, 3, 2, 1),
                                                conv2=BcosConv2d(64, 64, 3, 1, 1)))           # 64 x 14 x 14
        self.layer3 = nn.Sequential(OrderedDict(conv=BcosConv2d(64, 128, 3, 2, 1)))            # 128 x 7 x 7
        self.layer4 = nn.Sequential(OrderedDict(conv=BcosConv2d(128, 128, 3, 1, 1)))           # 128 x 7 x 7
        self.classifier = BcosConv2d(128, num_classes, 1)                                       # 10 x 7 x 7
        self.logit_bias = logit_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x is the B-cos encoding [x, 1 - x] of a grayscale image in [0, 1]: 2 x 28 x 28.
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        return self.classifier(x).mean(dim=(2, 3)) + self.logit_bias


if __name__ == "__main__":
    # FaCT hover previews: hover over `self.layer3` above (the SAE trained on that layer: its accuracy, C² and top
    # concepts) and over the image path below (the prediction and the concepts that make it up).
    from PIL import Image
    import torchvision.transforms.functional as TF

    model = FashionBcosCNN().eval()
    image = TF.to_tensor(Image.open("models/fashion-mnist-bcos/samples/0002-trouser.png").convert("L"))
    print(model(torch.cat([image, 1 - image]).unsqueeze(0)).argmax(dim=1))
