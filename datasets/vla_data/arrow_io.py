"""Parquet tables of a v3.0 dataset (data, episodes, tasks) with pyarrow: schemas, build, read."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vla_data.errors import DatasetError
from vla_data.layout import is_video
from vla_data.stats import STAT_KEYS

_PA_TYPES = {
    "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
    "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(), "uint64": pa.uint64(),
    "bool": pa.bool_(),
}


def data_type(ft: dict) -> pa.DataType:
    """Arrow type of a per-frame feature, as Hugging Face `datasets` stores it.

    shape [1] -> scalar (Value); [n] -> fixed_size_list (List with length);
    2-D and more -> nested lists (the storage of datasets' ArrayXD).
    """
    base = _PA_TYPES[ft["dtype"]]
    shape = list(ft["shape"])
    if shape == [1]:
        return base
    if len(shape) == 1:
        return pa.list_(base, shape[0])
    t = base
    for _ in shape:
        t = pa.list_(t)
    return t


def _hf_feature(ft: dict) -> dict[str, Any]:
    shape = list(ft["shape"])
    value = {"dtype": ft["dtype"], "_type": "Value"}
    if shape == [1]:
        return value
    if len(shape) == 1:
        return {"feature": value, "length": shape[0], "_type": "List"}
    return {"shape": shape, "dtype": ft["dtype"], "_type": f"Array{len(shape)}D"}


def data_schema(features: dict) -> pa.Schema:
    """Schema of data/chunk-*/file-*.parquet: non-video features in order, with HF metadata."""
    cols = {k: ft for k, ft in features.items() if not is_video(ft)}
    hf = {"info": {"features": {k: _hf_feature(ft) for k, ft in cols.items()}}}
    hf["fingerprint"] = hashlib.sha256(json.dumps(hf).encode()).hexdigest()[:16]
    return pa.schema([pa.field(k, data_type(ft)) for k, ft in cols.items()],
                     metadata={"huggingface": json.dumps(hf)})


def _array(values: np.ndarray, ft: dict) -> pa.Array:
    typ = data_type(ft)
    flat = pa.array(np.ascontiguousarray(values).reshape(-1), type=_PA_TYPES[ft["dtype"]])
    shape = list(ft["shape"])
    if shape == [1]:
        return flat
    if len(shape) == 1:
        return pa.FixedSizeListArray.from_arrays(flat, shape[0])
    arr: pa.Array = flat
    for dim in reversed(shape):
        n = len(arr) // dim
        arr = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32) * dim), arr)
    assert arr.type == typ
    return arr


def data_table(columns: dict[str, np.ndarray], features: dict) -> pa.Table:
    """One episode's frames as a data table (columns keyed by feature name)."""
    schema = data_schema(features)
    arrays = [_array(columns[f.name], features[f.name]) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def column_to_numpy(col: pa.ChunkedArray | pa.Array, ft: dict) -> np.ndarray:
    """A data column back to a numpy array of shape (rows, *shape) ((rows,) for shape [1])."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    rows = len(arr)
    while pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type) or pa.types.is_large_list(arr.type):
        arr = arr.flatten()
    out = arr.to_numpy(zero_copy_only=False).astype(ft["dtype"], copy=False)
    shape = list(ft["shape"])
    return out.reshape(rows) if shape == [1] else out.reshape(rows, *shape)


def episodes_schema(features: dict, with_stats: dict[str, dict[str, np.ndarray]]) -> pa.Schema:
    """Schema of meta/episodes/chunk-*/file-*.parquet, in LeRobot's column order."""
    fields = [
        pa.field("episode_index", pa.int64()), pa.field("tasks", pa.list_(pa.string())),
        pa.field("length", pa.int64()), pa.field("data/chunk_index", pa.int64()),
        pa.field("data/file_index", pa.int64()), pa.field("dataset_from_index", pa.int64()),
        pa.field("dataset_to_index", pa.int64()),
    ]
    for key, ft in features.items():
        if is_video(ft):
            fields += [pa.field(f"videos/{key}/chunk_index", pa.int64()),
                       pa.field(f"videos/{key}/file_index", pa.int64()),
                       pa.field(f"videos/{key}/from_timestamp", pa.float64()),
                       pa.field(f"videos/{key}/to_timestamp", pa.float64())]
    for key in features:
        for stat in STAT_KEYS:
            value = np.asarray(with_stats[key][stat])
            integer = stat == "count" or (stat in ("min", "max") and np.issubdtype(value.dtype, np.integer))
            t: pa.DataType = pa.int64() if integer else pa.float64()
            for _ in range(value.ndim):
                t = pa.list_(t)
            fields.append(pa.field(f"stats/{key}/{stat}", t))
    fields += [pa.field("meta/episodes/chunk_index", pa.int64()), pa.field("meta/episodes/file_index", pa.int64())]
    return pa.schema(fields)


def episodes_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Episode metadata rows (plain Python values) as a table of `schema`."""
    return pa.Table.from_pylist(rows, schema=schema)


_PANDAS_META = {
    "index_columns": ["__index_level_0__"],
    "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                        "metadata": {"encoding": "UTF-8"}}],
    "columns": [
        {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
         "metadata": None},
        {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode", "numpy_type": "object",
         "metadata": None},
    ],
    "attributes": {}, "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.3",
}


def tasks_table(tasks: list[str]) -> pa.Table:
    """meta/tasks.parquet as pandas writes LeRobot's DataFrame (task string as the index)."""
    schema = pa.schema([pa.field("task_index", pa.int64()), pa.field("__index_level_0__", pa.large_string())],
                       metadata={"pandas": json.dumps(_PANDAS_META)})
    return pa.Table.from_arrays([pa.array(range(len(tasks)), pa.int64()), pa.array(tasks, pa.large_string())],
                                schema=schema)


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a parquet file; a missing, truncated or corrupt file is one DatasetError line."""
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise DatasetError(f"parquet file {path} is missing") from None
    except (pa.ArrowException, OSError) as e:
        reason = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise DatasetError(f"parquet file {path} is truncated or corrupt ({reason})") from None


def parquet_columns(path: Path) -> list[str]:
    """Column names of a parquet file (reads the footer only)."""
    try:
        return pq.read_schema(path).names
    except FileNotFoundError:
        raise DatasetError(f"parquet file {path} is missing") from None
    except (pa.ArrowException, OSError) as e:
        reason = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise DatasetError(f"parquet file {path} is truncated or corrupt ({reason})") from None


def read_tasks(path: Path) -> list[str]:
    """Task strings ordered by task_index from meta/tasks.parquet."""
    table = read_parquet(path)
    if "task_index" not in table.column_names:
        raise DatasetError(f"{path} is corrupt: no task_index column")
    names = [c for c in table.column_names if c != "task_index"]
    if not names:
        raise DatasetError(f"{path} is corrupt: no task column")
    key = "task" if "task" in names else names[0]
    idx = table.column("task_index").to_pylist()
    texts = table.column(key).to_pylist()
    tasks = [t for _, t in sorted(zip(idx, texts, strict=True))]
    if sorted(idx) != list(range(len(idx))):
        raise DatasetError(f"{path} is corrupt: task_index is not 0..{len(idx) - 1}")
    return tasks
