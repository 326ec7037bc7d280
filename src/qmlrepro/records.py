"""Tidy results: every measurement is one record, a ``name``, a ``value`` and its dimensions.

Experiments return :class:`Records` (``records.add("test_kl", 0.03, n=4, k=2, memory=3)``); the
stages add the job's own dimensions (``seed``, ``job``, ``model``, ``backend``, ``stage``, a sweep
point such as ``shots``) and store them per job in ``results/metrics/<job>/*.json`` beside the
MLflow run id. The report reads them back as a :class:`Table` and picks numbers with
:meth:`Table.select` (``table.select("test_kl", model="contextual/gru", n=4, k=2)``), never by
parsing metric names: this is the long ("tidy") format of Wickham, *Tidy Data*, J. Stat. Softw.
59 (2014), one row per observation.

Why not a pandas DataFrame: the records of one paper have different dimensions (a shot count on
sampled evaluations only, a depth on the circuit's records only); a frame would fill the gaps with
NaN and turn every integer dimension into a float, and the report's lookups are a few hundred
rows. :meth:`Table.frame` gives a DataFrame for interactive work.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from qmlrepro.errors import DataError

Dim = int | float | str | bool

# Dimensions the stages add to every record: who measured it, not what was measured.
RUN_DIMS = ("job", "stage", "model", "backend", "train_backend", "profile", "seed", "mlflow_run_id")


@dataclass(frozen=True)
class Record:
    """One measurement: ``name`` (a metric name without dimensions, e.g. ``"test_kl"``),
    ``value`` (a float) and ``dims`` (dimension name -> int, float, str or bool)."""

    name: str
    value: float
    dims: Mapping[str, Dim] = field(default_factory=dict)

    def key(self, omit: Iterable[str] = ()) -> str:
        """The flat metric name MLflow and ``metrics`` in the JSON files show: the name, then
        ``dim:value`` per dimension in the order given (``"test_kl/n:4/k:2/memory:3"``),
        leaving out the dimensions in ``omit``."""
        skip = set(omit)
        parts = [self.name, *(f"{k}:{_text(v)}" for k, v in self.dims.items() if k not in skip)]
        return "/".join(parts)

    def own_dims(self, omit: Iterable[str]) -> dict[str, Dim]:
        skip = set(omit)
        return {k: v for k, v in self.dims.items() if k not in skip}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "dims": dict(self.dims)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "Record":
        """Raises TypeError/KeyError on a malformed record (the readers turn it into a
        :class:`~qmlrepro.errors.DataError` naming the file)."""
        name, value, dims = raw["name"], raw["value"], raw.get("dims", {})
        if not isinstance(name, str) or isinstance(value, bool):
            raise TypeError(f"record {raw!r}: name must be text and value a number")
        if not isinstance(value, (int, float)) or not isinstance(dims, dict):
            raise TypeError(f"record {name!r}: value must be a number and dims an object")
        if not all(isinstance(v, (int, float, str, bool)) for v in dims.values()):
            raise TypeError(f"record {name!r}: dimension values must be numbers or text")
        return cls(name, float(value), dims)


def _text(value: Dim) -> str:
    """A dimension's value in a flat name: floats in their shortest round-trip form (``repr``),
    so two different values never share a name."""
    return repr(value) if isinstance(value, float) else str(value)


class Records:
    """What an experiment returns: records in the order they were added.

    ``Records(task="mnist01")`` sets dimensions every later record gets (a record's own
    dimensions win): the job's constants, which tell jobs apart in a table but are the same for
    the whole run, so :meth:`flat` names and MLflow's child runs leave them out (MLflow has them
    as the run's params). Adding a name twice with the same dimensions raises ValueError: the
    second value would silently replace the first in MLflow and in every table."""

    def __init__(self, **common: Dim) -> None:
        self._common = dict(common)
        self._records: list[Record] = []
        self._seen: set[tuple] = set()

    def add(self, name: str, value: float, **dims: Dim) -> None:
        """Add one record. Raises TypeError for a non-numeric value or dimension value of
        another type than int/float/str/bool, ValueError for a duplicate or for a dimension the
        stage adds itself (:data:`RUN_DIMS`: a swept executor ``seed`` would otherwise be
        overwritten by the run's seed and two sweep points pooled)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value)  # numpy / 0-d torch scalars
            except (TypeError, ValueError):
                raise TypeError(f"record {name!r}: value {value!r} is not a number") from None
        merged = {**self._common, **dims}
        for dim, v in merged.items():
            if dim in RUN_DIMS:
                raise ValueError(
                    f"record {name!r}: dimension {dim!r} is the stage's (it adds {RUN_DIMS}); "
                    "rename it"
                )
            if not isinstance(v, (int, float, str, bool)):
                raise TypeError(f"record {name!r}: dimension {dim}={v!r} is not a number or text")
        identity = (name, tuple(sorted(merged.items(), key=lambda kv: kv[0])))
        if identity in self._seen:
            raise ValueError(f"record {name!r} with dimensions {merged} was added twice")
        self._seen.add(identity)
        self._records.append(Record(name, float(value), merged))

    def update(self, values: Mapping[str, float], **dims: Dim) -> None:
        """Add one record per ``name: value`` of ``values``, all with ``dims``."""
        for name, value in values.items():
            self.add(name, value, **dims)

    def extend(self, records: Iterable[Record], **dims: Dim) -> None:
        """Add ``records`` with ``dims`` added (a record's own dimensions win)."""
        if isinstance(records, Records):
            self._common = {**records.common, **self._common}
        for r in records:
            self.add(r.name, r.value, **{**dims, **r.dims})

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    @property
    def common(self) -> dict[str, Dim]:
        """The dimensions every record got from the constructor (the run's constants)."""
        return dict(self._common)

    def flat(self) -> dict[str, float]:
        """``{name/dim:value/...: value}`` without the :attr:`common` dimensions: the metric
        names MLflow shows."""
        return {r.key(self._common): r.value for r in self._records}


def as_records(result: "Records | Mapping[str, float]") -> Records:
    """An experiment's return value as :class:`Records`: a plain ``{name: value}`` mapping (an
    experiment with nothing to dimension) becomes records without dimensions.

    Raises:
        TypeError: neither Records nor a mapping of names to numbers.
    """
    if isinstance(result, Records):
        return result
    if isinstance(result, Mapping):
        records = Records()
        records.update(result)
        return records
    raise TypeError(
        f"an experiment returned {type(result).__name__}; return Records or a dict of numbers"
    )


class Table:
    """Records with every dimension attached (the run's too), queried by :meth:`select`."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self.records: tuple[Record, ...] = tuple(records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __bool__(self) -> bool:
        return bool(self.records)

    def __add__(self, other: "Table") -> "Table":
        return Table(self.records + other.records)

    def select(self, name: str | None = None, **dims: Any) -> "Table":
        """The records called ``name`` (any name if None) whose dimensions equal ``dims``; a
        dimension given as None matches records that lack it. Values compare with ``==``
        (``shots=1000`` matches 1000 and 1000.0)."""
        return Table(
            r
            for r in self.records
            if (name is None or r.name == name)
            and all(
                r.dims.get(k) == v if v is not None else k not in r.dims for k, v in dims.items()
            )
        )

    def levels(self, dim: str) -> list[Dim]:
        """The distinct values of ``dim`` among these records, sorted (records without it are
        left out)."""
        values = {r.dims[dim] for r in self.records if dim in r.dims}
        return sorted(values, key=lambda v: (isinstance(v, str), v))

    def groups(self, dim: str) -> dict[Dim, "Table"]:
        """{value of ``dim``: its records}, in :meth:`levels` order."""
        return {level: self.select(**{dim: level}) for level in self.levels(dim)}

    def names(self) -> list[str]:
        return sorted({r.name for r in self.records})

    def values(self, by: str = "seed") -> dict[Dim, float]:
        """``{value of by: value}``, e.g. seed -> accuracy.

        Raises:
            DataError: two records share a value of ``by`` (the selection left another
                dimension free; the message names the dimensions that vary).
        """
        out: dict[Dim, float] = {}
        for r in self.records:
            if by not in r.dims:
                raise DataError(f"record {r.key()} has no dimension {by!r}")
            level = r.dims[by]
            if level in out:
                varying = sorted(
                    k
                    for k in {k for x in self.records for k in x.dims}
                    if k not in (by, "mlflow_run_id")
                    and len({x.dims.get(k) for x in self.records}) > 1
                )
                raise DataError(
                    f"select() is ambiguous: {by}={level!r} occurs twice among "
                    f"{sorted({x.name for x in self.records})}; fix one of {varying} or the name"
                )
            out[level] = r.value
        return out

    def one(self) -> float:
        """The value of the only record. Raises DataError for none or several."""
        if len(self.records) != 1:
            raise DataError(f"expected one record, found {len(self.records)}")
        return self.records[0].value

    def run_ids(self) -> list[str]:
        """The MLflow run ids behind these records, in first-seen order."""
        ids = (r.dims.get("mlflow_run_id") for r in self.records)
        return list(dict.fromkeys(i for i in ids if isinstance(i, str)))

    def frame(self):
        """A pandas DataFrame, one row per record (``name``, ``value``, one column per
        dimension), for interactive work."""
        import pandas as pd

        return pd.DataFrame([{"name": r.name, "value": r.value, **r.dims} for r in self.records])
