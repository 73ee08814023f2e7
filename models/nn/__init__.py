"""What the networks of ``models.oneclass`` and ``models.pseudo`` share.

- ``nets``: the 1-D convolutional encoder / decoder and the input lengths they accept.
- ``gan``: GAN training pieces (discriminator loss, WGAN-GP penalty and loop).
- ``tensors``: numpy <-> torch helpers and network weights as named arrays (npz, no pickle).
- ``threads``: torch's thread cap.
- ``cache``: the on-disk cache of trained weights (no torch).

Nothing here imports authapp or Qt, and this package imports no submodule: torch loads only
when a module that needs it is imported (``authapp login`` must start without it).
"""
