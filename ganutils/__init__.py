"""ganutils: what the ganbook chapters have already taught, packaged for reuse.

Modules are named for what they do: ``data`` (embedded datasets, image pipelines,
downloads), ``models`` (the seeds' generators and discriminators), ``train`` (the
training engine), ``viz`` (grids, curves, GIFs) and ``metrics`` (SWD, FID, factor
coverage). Import the one you need; importing ``ganutils`` itself is cheap.
"""

__version__ = "0.1.0"
