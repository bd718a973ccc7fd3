"""What the package writes and reads back: files written atomically, and the settings a file
records compared with the current ones.

Ground floor: the standard library only, so every layer (checkpoints, ``reproduce``'s
output folder, the command line) uses the same two helpers.
"""

import os
from pathlib import Path

__all__ = ["PARTIAL_SUFFIX", "differences", "write_atomic"]

#: Suffix of the file a write fills before renaming it into place.
PARTIAL_SUFFIX = ".part"

#: How :func:`differences` shows a name one side does not have.
NOT_SET = "(not set)"


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows); the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, content, *, durable=False, before_replace=None):
    """Write ``path`` so that a reader sees its old contents or its new ones, never a part.

    The contents go to ``<path>.part`` beside the target, which is then renamed into place
    (``os.replace``, atomic on POSIX and Windows); on any error the partial file is removed.

    Parameters
    ----------
    path : str or path-like
        The file written.
    content : bytes, str or callable
        The bytes, the text (written with ``newline=""``), or a function given the open text
        file (``newline=""``, as the csv module wants) that writes it.
    durable : bool, default=False
        Flush and fsync the file before the rename and the folder after it, so that the new
        contents survive a power cut once the call returns.
    before_replace : callable or None, default=None
        Called without arguments once the partial file is complete, just before the rename
        (a checkpoint moves the file it replaces aside there).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    part = path.with_name(path.name + PARTIAL_SUFFIX)
    binary = isinstance(content, (bytes, bytearray))
    try:
        with open(part, "wb" if binary else "w", **({} if binary else {"newline": ""})) as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_directory(path.parent)
    return path


def differences(saved, current):
    """``[(name, saved value, current value)]`` of every name whose values differ.

    A name one of the two mappings lacks shows as ``"(not set)"`` on that side.

    Parameters
    ----------
    saved, current : mapping
        The settings a file records, and the current ones.

    Returns
    -------
    list of tuple
        Sorted by name; empty where the two agree.
    """
    return [(name, saved.get(name, NOT_SET), current.get(name, NOT_SET))
            for name in sorted(set(saved) | set(current), key=str)
            if saved.get(name, NOT_SET) != current.get(name, NOT_SET)]
