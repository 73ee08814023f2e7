"""One-class GAN anomaly detectors (the networks they share with the pseudo-data generators
are in ``models.nn``).

- ``nets``: the networks only the detectors use (joint and code critics, U-Net, score range).
- ``ganomaly``: GANomaly (Akcay et al. 2018): encoder-decoder-encoder, the anomaly score is the
  distance between the code of a sample and the code of its reconstruction.
- ``fanogan``: f-AnoGAN (Schlegl et al. 2019): a WGAN-GP, then an izi encoder trained to invert
  the generator; scores: izi_f residual, and the latent norm of Berg et al.
- ``anogan``: AnoGAN (latent search at scoring time); ``bigan``: EGBAD and ALAD (BiGAN
  encoders); ``ocgan``: OCGAN; ``fencegan``: FenceGAN; ``skipganomaly``: Skip-GANomaly;
  ``autoencoder``: the plain baseline; ``berg``: Berg et al.'s jointly trained encoder with the
  min-max normalised residual + latent norm score (contaminated training data).
- ``verifiers``: all of them as registered verifiers ("ganomaly", "fanogan", "anogan", ...):
  pretrained on other people's recordings (the background), adapted to a user's few samples.

Everything here works on plain arrays except ``verifiers``; nothing imports authapp or Qt.
Torch is imported only when a module below is imported.
"""
