"""Replace and read a folder of files as one unit, safe against crashes and concurrent readers.

Replacing (:func:`replace_folder`) writes the complete new folder into a hidden
staging folder beside the target (``.<name>.kneebayes-save-XXXXXXXX``), with the
target's other entries linked or copied in, syncs it to disk, then switches the
two in one step. On Linux the switch is ``renameat2(RENAME_EXCHANGE)``, which
swaps the two names atomically: at every moment the target's name points to the
whole old folder or the whole new one, whenever the saving process is killed.
The old folder, now under the staging name, is then deleted. Savers of folders
in the same parent hold an exclusive ``flock`` on the parent folder, so they run
one at a time, and each removes what an earlier killed save left behind: no
staging folder accumulates, and the lock needs no file of its own.

The swap gives the folder's name to a new directory: a program whose working
folder was the old one (a shell ``cd``'d into it) stays in the deleted old
version until it changes into the folder again; the saving process itself
follows the folder.

Where no atomic exchange exists (other systems, or a file system without it),
the switch is two renames (target to ``.<name>.kneebayes-old-XXXXXXXX``, staging
to target); a crash between them leaves no folder under the target's name until
the next save renames the old one back. Readers then read the hidden old
version, whole; but other programs find the folder missing for that moment.

Reading (:func:`read_files`) opens the folder once and reads every file
relative to that open folder, so all files come from the same version even if a
save switches versions meanwhile. A file that vanishes because the saver is
deleting the old version makes the whole read start again.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path

from ._errors import SaveError

if sys.platform != "win32":
    import fcntl

STAGING = ".kneebayes-save-"
OLD = ".kneebayes-old-"
#: Temporary files that kneebayes 0.x wrote inside a priors folder while saving (``.causes.csv.k3j_9x2a.tmp``).
_OLD_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2

_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_READ_ATTEMPTS = 50


def replace_folder(folder: Path, files: Mapping[str, bytes], *, required: Collection[str], shown: str) -> None:
    """Make ``folder`` hold ``files``, switching from the old version to the new one in one step.

    Parameters
    ----------
    folder : Path
        The target, with symbolic links resolved. Created (with its parents) if missing.
    files : mapping of str to bytes
        Name and content of every file to write. A file keeps the permission
        bits of the file it replaces (new files get 0666 less the umask).
    required : collection of str
        An existing non-empty folder must hold all these names, or it is refused.
    shown : str
        The folder as the caller named it, for messages.

    Raises
    ------
    SaveError
        When the folder is refused (a file, not empty and lacking ``required``,
        read-only) or the operating system fails; the folder is then unchanged.
    """
    step = f"cannot create its parent folder {folder.parent}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        step = f"cannot lock its parent folder {folder.parent}"
        with _locked(folder.parent) as (parent_fd, locked):
            if locked:  # only then is nobody else saving here: what is left is debris of a killed save
                step = f"cannot clean up after an earlier, interrupted save in {folder.parent}"
                _recover(folder)
            old = _check(folder, required, shown)
            step = f"cannot create a staging folder beside it in {folder.parent}"
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}{STAGING}", dir=folder.parent))
            try:
                step = "cannot write the new files"
                _fill(staging, files, folder if old is not None else None, old, shown)
                step = "cannot switch to the new version"
                inside = old is not None and _is_working_folder(old)
                _switch(staging, folder, exists=old is not None)
                if parent_fd is not None:
                    os.fsync(parent_fd)
                if inside:  # this process worked in the old version: follow the folder to the new one
                    with suppress(OSError):
                        os.chdir(folder)
            finally:  # the failed new version, or the old one after the switch
                shutil.rmtree(staging, ignore_errors=True)
    except SaveError:
        raise
    except OSError as err:
        raise SaveError(shown, f"{step}: {err.strerror or err}") from err


def read_files(folder: Path, names: Iterable[str]) -> dict[str, bytes | OSError]:
    """Read files of one folder, all from the same version of it.

    Examples
    --------
    >>> from kneebayes import shipped_priors_path
    >>> read_files(shipped_priors_path(), ["settings.csv"])["settings.csv"][:2]
    b'# '

    Parameters
    ----------
    folder : Path
        The folder.
    names : iterable of str
        The files to read.

    Returns
    -------
    dict of str to bytes or OSError
        Each file's content, or the error reading it (``FileNotFoundError`` when
        it is missing or not a regular file).

    Raises
    ------
    OSError
        When the folder itself cannot be opened: ``FileNotFoundError`` when it
        does not exist, ``NotADirectoryError`` when it is a file.
    """
    wanted = list(names)
    if not _DIRECTORY or os.open not in os.supports_dir_fd:  # pragma: no cover - Windows: read by path
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        return {name: _read_one(folder, name, None) for name in wanted}
    for _ in range(_READ_ATTEMPTS):
        fd = _open_version(folder)
        try:
            found = {name: _read_one(folder, name, fd) for name in wanted}
            vanished = any(isinstance(got, FileNotFoundError) for got in found.values())
            if not vanished or not _switched(folder, fd):
                return found
        finally:
            os.close(fd)
    return found  # pragma: no cover - a save completed during each of 50 reads in a row


def _open_version(folder: Path) -> int:
    """Open the folder; while a two-rename switch has its old version under a hidden name, open that one."""
    try:
        return os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    except FileNotFoundError:
        for entry in sorted(os.listdir(folder.parent)):
            if entry.startswith(f".{folder.name}{OLD}"):
                with suppress(FileNotFoundError, NotADirectoryError):
                    return os.open(folder.parent / entry, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        raise


def _read_one(folder: Path, name: str, folder_fd: int | None) -> bytes | OSError:
    """Read one file of ``folder``, relative to its open descriptor when given; return its bytes or the error."""
    try:
        if folder_fd is None:  # pragma: no cover - Windows
            fd = os.open(folder / name, os.O_RDONLY | _NONBLOCK)
        else:
            fd = os.open(name, os.O_RDONLY | _NONBLOCK | _CLOEXEC, dir_fd=folder_fd)
    except OSError as err:
        return err
    with os.fdopen(fd, "rb") as stream:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return FileNotFoundError(errno.ENOENT, "not a regular file", name)
            return stream.read()
        except OSError as err:
            return err


def _switched(folder: Path, fd: int) -> bool:
    """Return whether ``folder`` no longer names the directory open as ``fd`` (a save switched versions)."""
    opened = os.fstat(fd)
    try:
        now = os.stat(folder)
    except FileNotFoundError:
        return True
    return (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino)


# ---- replacing, step by step -----------------------------------------------------------------


@contextmanager
def _locked(parent: Path) -> Iterator[tuple[int | None, bool]]:
    """Hold an exclusive lock on the parent folder; yield its descriptor (None on Windows) and whether it is locked.

    A file system that refuses locks on folders (some network file systems)
    gives no lock: the save still switches atomically, but cleaning up after
    killed saves is skipped, since another saver might be at work.
    """
    if sys.platform == "win32":  # pragma: no cover - no flock, no directory descriptors
        yield None, False
        return
    fd = os.open(parent, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        except OSError as err:
            if err.errno not in (errno.EBADF, errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            locked = False
        yield fd, locked
    finally:
        os.close(fd)  # releases the lock


def _recover(folder: Path) -> None:
    """Undo what a killed save left beside ``folder``: an old version goes back if the folder is gone, the rest goes."""
    entries = sorted(os.listdir(folder.parent))
    staged = [folder.parent / e for e in entries if e.startswith(f".{folder.name}{STAGING}")]
    olds = [folder.parent / e for e in entries if e.startswith(f".{folder.name}{OLD}")]
    if olds and not os.path.lexists(folder):  # killed between the two renames of the fallback switch
        os.rename(olds.pop(), folder)
    for path in staged + olds:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)


def _is_working_folder(info: os.stat_result) -> bool:
    """Return whether the process's working folder is the folder ``info`` describes."""
    try:
        here = os.stat(".")
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (info.st_dev, info.st_ino)


def _check(folder: Path, required: Collection[str], shown: str) -> os.stat_result | None:
    """Refuse a target that is a file, read-only, or a non-empty folder lacking ``required``; return its stat."""
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        raise SaveError(shown, "it is a file, not a folder")
    entries = os.listdir(folder)
    missing = [name for name in required if name not in entries]
    if entries and missing:
        raise SaveError(
            shown,
            f"it is not a priors folder and not empty (it holds {len(entries)} entries but lacks "
            f"{', '.join(missing)}); save into a new or empty folder",
        )
    if not os.access(folder, os.W_OK):
        raise SaveError(shown, "the folder is read-only (no permission to write in it)")
    return info


def _fill(staging: Path, files: Mapping[str, bytes], old: Path | None, info: os.stat_result | None,
          shown: str) -> None:
    """Write ``files`` into ``staging``, bring in the old folder's other entries, and sync it all to disk.

    The staging folder gets the old folder's permissions and each file the
    permissions of the file it replaces; when running as root, the owners too
    (so that root saving a user's folder does not take it away from them).
    """
    umask = _umask()
    os.chmod(staging, stat.S_IMODE(info.st_mode) if info is not None else 0o777 & ~umask)
    _give(staging, info)
    for name, data in files.items():
        previous = _stat(old / name) if old is not None else None
        mode = stat.S_IMODE(previous.st_mode) if previous is not None else 0o666 & ~umask
        fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            _give(staging / name, previous or info)
            os.chmod(staging / name, mode)
            os.fsync(fd)
    if old is not None:
        for entry in sorted(os.listdir(old)):
            if entry not in files and not _OLD_TEMP.match(entry):
                _bring(old / entry, staging / entry, shown)
    for directory, _, _ in os.walk(staging):
        _sync_folder(Path(directory))


def _give(path: Path, owner: os.stat_result | None) -> None:
    """When running as root, give ``path`` the owner and group of ``owner``."""
    if owner is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
        os.chown(path, owner.st_uid, owner.st_gid)


def _umask() -> int:
    """Return the process's umask (from /proc on Linux, which does not change it even for an instant)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o077)  # elsewhere: set and restore (briefly racy with other threads creating files)
    os.umask(umask)
    return umask


def _bring(source: Path, target: Path, shown: str) -> None:
    """Put an entry of the old folder into the new one: a link to the same file, or a copy; folders recursively."""
    info = os.lstat(source)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISDIR(info.st_mode):
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
    elif stat.S_ISREG(info.st_mode):
        _link_or_copy(source, target)
    else:
        raise SaveError(shown, f"it holds {source.name}, which is neither a file nor a folder; move it out first")


def _link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Hard-link ``source`` as ``target`` (same bytes, mode and owner, nothing copied); copy when links fail."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _stat(path: Path) -> os.stat_result | None:
    """Return the stat of a path (of the file a link points to), or None when there is none."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk (a no-op where folders cannot be opened)."""
    if not _DIRECTORY:  # pragma: no cover - Windows
        return
    fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _switch(staging: Path, folder: Path, *, exists: bool) -> None:
    """Put the staging folder under the target's name; afterwards ``staging`` names the old version, if any."""
    if _rename2(staging, folder, _RENAME_EXCHANGE if exists else _RENAME_NOREPLACE):
        return
    if not exists:
        os.rename(staging, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}{OLD}", dir=folder.parent))
    os.rmdir(old)  # a fresh unique name for the old version
    os.rename(folder, old)
    try:
        os.rename(staging, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    os.rename(old, staging)


def _rename2(source: Path, target: Path, flags: int) -> bool:
    """Rename with Linux ``renameat2`` flags; return False when the system or the file system lacks them."""
    call = _renameat2()
    if call is None:
        return False
    if call(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code))


@cache
def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """Return the C library's ``renameat2(olddirfd, oldpath, newdirfd, newpath, flags)``, or None.

    Linux only; C libraries without the wrapper (glibc before 2.28) get None,
    hence the best-effort switch.
    """
    if sys.platform != "linux":
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - no C library, or one without renameat2
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
