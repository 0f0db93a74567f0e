"Networks by name: our architectures registered in timm's registry (`d4cnn`), the factory and safetensors save/load."
from . import d4cnn   # registers `d4cnn` with timm, so `timm.create_model("d4cnn", ...)` works after this import
