"""The installed version, read by the package (``skspectral.__version__``) and by the build
(``pyproject.toml``'s dynamic version), so it is written once."""

#: The installed version (PEP 440); :func:`~skspectral.parallel.check_workers` compares it
#: with each Dask worker's.
__version__ = "0.3.0"
