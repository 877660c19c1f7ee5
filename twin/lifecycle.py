"""The life of a run folder: a lock, a temporary name, signals, and a rename that
never loses a finished result.

- A run is written under a temporary name beside its target
  (``.<name>.<pid>.running``) and renamed when done.
- A lock file (``<name>.lock``, holding the writer's pid) stops a second
  process writing the same target; a lock left by a killed process is
  detected and taken over with a warning.
- Ctrl-C, SIGTERM and SIGHUP all raise :class:`KeyboardInterrupt` in the
  writer, once; later signals, and any signal while the run is being saved,
  are held back, so the save finishes.
- An existing complete run at the target is kept until the new run is
  complete; an interrupted re-run is saved beside it as
  ``<stem>.partial<suffix>`` instead of replacing it.
- Temporary folders of writers that were killed (``kill -9``) are removed by
  the next run of the same target.

Examples
--------
>>> with RunSlot("runs/demo.zarr") as slot:          # doctest: +SKIP
...     write_into(slot.tmp)
...     final = slot.commit(complete=True)
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import warnings
from pathlib import Path

from geodata.errors import DataError, DataWarning

__all__ = ["RunSlot", "RunInterrupted", "shielded", "interruptible"]

_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                 if s is not None)


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by the user or a signal, saved as a partial run.

    Attributes
    ----------
    path : pathlib.Path
        Where the partial run is.
    frames : int
        Frames it holds.
    kept : pathlib.Path or None
        An earlier complete run left in place at the target.
    """

    def __init__(self, path: Path, frames: int, kept: Path | None = None) -> None:
        super().__init__(str(path))
        self.path, self.frames, self.kept = Path(path), int(frames), kept

    def __str__(self) -> str:
        text = f"interrupted: partial run ({self.frames} frames) saved to {self.path}"
        if self.kept is not None:
            text += f"; the earlier complete run at {self.kept} was kept"
        return text


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def interruptible():
    """Ctrl-C, SIGTERM and SIGHUP raise :class:`KeyboardInterrupt` once (main thread only).

    Signals after the first are ignored, so a second Ctrl-C while the
    interrupted run is being saved cannot abort the save.
    """
    if not _main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        if fired:
            return
        fired.append(signum)
        raise KeyboardInterrupt(signal.Signals(signum).name)
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, *_SIGNALS)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def shielded():
    """Hold back Ctrl-C, SIGTERM and SIGHUP while saving (main thread only).

    Signals that arrive are recorded in the yielded list and otherwise ignored:
    the save always finishes.
    """
    got: list[int] = []
    if not _main_thread():
        yield got
        return
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum))
           for s in (signal.SIGINT, *_SIGNALS)}
    try:
        yield got
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunSlot:
    """A locked, temporary place to write the run that will be ``out``.

    Parameters
    ----------
    out : path-like
        The final run folder.
    is_run : callable, optional
        ``is_run(path) -> status or None``: the status of an existing run at a
        path, None when the path is not a run (then it is never replaced).
    """

    def __init__(self, out, is_run=None) -> None:
        self.out = Path(out)
        self.is_run = is_run or (lambda p: None)
        self.lock = self.out.with_name(self.out.name + ".lock")
        self.tmp: Path | None = None

    def __enter__(self) -> "RunSlot":
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create the output folder ({exc.strerror})", file=parent,
                            fix="choose an output path in a folder you can write") from None
        if self.out.exists() and not self.out.is_dir():
            raise DataError("exists and is a file, not a run", file=self.out,
                            fix="choose another output path or remove the file")
        if self.out.exists() and self.is_run(self.out) is None:
            raise DataError("exists and is not a run; it would be overwritten", file=self.out,
                            fix="choose another output path or remove it")
        self._take_lock()
        try:
            self._clean_leftovers()
            self.tmp = parent / f".{self.out.name}.{os.getpid()}.running"
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._release()

    def _take_lock(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = self._lock_pid()
                if pid is not None and pid != os.getpid() and _alive(pid):
                    raise DataError(f"is being written by another process (pid {pid})",
                                    file=self.out,
                                    fix=f"wait for it to finish, stop it (kill {pid}), or "
                                        "choose another output path") from None
                warnings.warn(f"{self.out}: removing a stale lock of a process that is gone "
                              f"(pid {pid})", DataWarning, stacklevel=3)
                self.lock.unlink(missing_ok=True)
                continue
            except OSError as exc:
                raise DataError(f"cannot write in the output folder ({exc.strerror})",
                                file=self.out.parent,
                                fix="choose an output path in a folder you can write") from None
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return
        raise DataError("cannot take the lock", file=self.lock, fix="remove the lock file")

    def _lock_pid(self) -> int | None:
        try:
            return int(self.lock.read_text().strip())
        except (OSError, ValueError):
            return None

    def _release(self) -> None:
        if self._lock_pid() == os.getpid():
            self.lock.unlink(missing_ok=True)

    def _clean_leftovers(self) -> None:
        """Remove temporary folders of earlier writers of this target that are gone."""
        for p in self.out.parent.glob(f".{self.out.name}.*.running"):
            pid = p.name[len(self.out.name) + 2:-len(".running")]
            if not pid.isdigit() or not _alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
        old = self.out.with_name(f".{self.out.name}.old")
        if old.exists() and self.out.exists():
            shutil.rmtree(old, ignore_errors=True)
        elif old.exists():
            old.rename(self.out)      # a crash between the two renames of a replace

    @property
    def partial_path(self) -> Path:
        """Where an interrupted re-run goes when a complete run sits at the target."""
        name = self.out.name
        stem, dot, suffix = name.partition(".")
        return self.out.with_name(f"{stem}.partial.{suffix}" if dot else f"{name}.partial")

    def commit(self, complete: bool) -> Path:
        """Move the temporary run to its final place and return that place.

        A partial run never replaces a complete one: it goes to :attr:`partial_path`.
        """
        target = self.out
        if not complete and self.out.exists() and self.is_run(self.out) == "complete":
            target = self.partial_path
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            self.tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            self.tmp.rename(target)
        self.tmp = None
        return target
