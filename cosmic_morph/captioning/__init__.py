"""Galaxy captioning (chapter `09h_captioning`), one idea per module: `vocab`, `metrics`, `encoder`, `pretrain`,
`decoder`, `decoding`, `model`, `training` (chapters `09a`-`09g` and `09h_captioning`).

Every public name of those modules is also importable from `cosmic_morph.captioning`."""
from .vocab import *
from .metrics import *
from .encoder import *
from .pretrain import *
from .decoder import *
from .decoding import *
from .model import *
from .training import *
