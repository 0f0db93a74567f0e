"""Synthetic Galaxy Zoo style galaxies with known truth: one module per idea.

`truth` (what a galaxy is: `sample_truth`), `render` (GalSim images: `render_galaxy`), `votes` (simulated volunteers:
`simulate_votes`), `captions` (`vote_attributes`, `caption_from_votes`, `parse_caption`, `truth_attributes`) and
`ingest` (`ingest_synthetic`, registered as the `synthetic` source). The package re-exports their public names."""
from cosmic_morph.synthetic.truth import *
from cosmic_morph.synthetic.render import *
from cosmic_morph.synthetic.votes import *
from cosmic_morph.synthetic.captions import *
from cosmic_morph.synthetic.ingest import *
