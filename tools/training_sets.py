"""Which data the training script may read: DL21 and Cranfield train and pick checkpoints; TREC DL 2019 and SciFact
are the evaluation sets and are refused here, whatever path or link leads to them."""

from __future__ import annotations

from pathlib import Path

DL21 = "trec-dl-2021-passage"
CRANFIELD = "cranfield"
EVALUATION_SETS = ("trec-dl-2019-passage", "scifact")


class EvaluationSetError(SystemExit):
    """Raised when training, mining, a teacher or checkpoint selection would read an evaluation set."""


def check_not_evaluation(path: str | Path, role: str = "training") -> Path:
    """Returns `path` resolved, or refuses it when it or the folder a link points to names an evaluation set."""
    given = Path(path).absolute()
    resolved = given.resolve()
    names = {p.lower() for p in given.parts} | {p.lower() for p in resolved.parts}
    for bad in EVALUATION_SETS:
        if any(bad in name for name in names):
            raise EvaluationSetError(
                f"refusing to read {given} for {role}: {bad} is an evaluation set; train and select on "
                f"{DL21} and {CRANFIELD} (or your own --pairs) and keep the evaluation sets for reporting"
            )
    return resolved


def training_folder(data: str | Path, name: str, role: str = "training") -> Path:
    """The folder of a training data set under `data`, after the evaluation-set check."""
    return check_not_evaluation(Path(data) / name, role)
