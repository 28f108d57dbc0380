"""Training logs: a CSV of metrics per logged step (TensorBoard too when it is installed) and a PNG of the curves."""

from __future__ import annotations

import csv
from pathlib import Path


class MetricsLog:
    def __init__(self, path: Path, tensorboard: str | None = None, enabled: bool = True):
        """`enabled=False` on non-main processes of a distributed run: nothing is read or written."""
        self.path, self.enabled = path, enabled
        self.rows: list[dict[str, float]] = []
        if not enabled:
            self._tb = None
            return
        if path.exists():
            with path.open() as f:
                self.rows = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        self._tb = None
        self._tb_name = tensorboard

    def truncate(self, step: int) -> None:
        """After a resume, forget rows logged after the checkpoint that training restarts from."""
        if not self.enabled:
            return
        self.rows = [r for r in self.rows if r.get("step", 0) <= step]
        self._write()
        if self._tb_name:
            try:  # tensorboard is optional
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.path.parent / "tensorboard" / self._tb_name), purge_step=step + 1)
            except Exception:
                self._tb = None

    def log(self, row: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.rows.append(row)
        if self._tb is not None:
            for k, v in row.items():
                if k != "step":
                    self._tb.add_scalar(k, v, int(row["step"]))
        self._write()

    def _write(self) -> None:
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        tmp.replace(self.path)


def plot_curves(train: MetricsLog, val: MetricsLog, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("loss", "action", "ground_points", "time_contrastive") if any(k in r for r in train.rows)]
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(4 * (len(keys) + 1), 3.2), squeeze=False)
    axes = axes[0]
    for ax, key in zip(axes, keys):
        rows = [r for r in train.rows if key in r]
        ax.plot([r["step"] for r in rows], [r[key] for r in rows], lw=0.8, label="train")
        vrows = [r for r in val.rows if key in r]
        if vrows:
            ax.plot([r["step"] for r in vrows], [r[key] for r in vrows], "o-", ms=3, label="val")
        ax.set_title(key)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    ax = axes[-1]
    vrows = [r for r in val.rows if "point_err_px_median" in r]
    ax.plot([r["step"] for r in vrows], [r["point_err_px_median"] for r in vrows], "o-", ms=3)
    ax.set_title("val target point error (px, median)")
    ax.set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
