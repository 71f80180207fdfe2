"""socketlab: build an encrypted, multithreaded TCP chat and watch it on the wire.

The repository's folders install as the subpackages ``socketlab.protocol``,
``socketlab.server``, ``socketlab.client``, ``socketlab.inspector`` and
``socketlab.labs``; ``socketlab.trace`` is the ``--trace`` file format they
share. The ``socketlab`` command (``socketlab.cli``) is the one way in.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("socketlab")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
