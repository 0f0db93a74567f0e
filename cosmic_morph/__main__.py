"`python -m cosmic_morph …` is the `cosmic-morph` command (and what `torchrun … -m cosmic_morph train` starts)."
from cosmic_morph.cli import main

if __name__ == "__main__": raise SystemExit(main())
