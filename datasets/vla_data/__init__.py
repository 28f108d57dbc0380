"""LeRobot v3.0 datasets: writer, reader, stats, summary and rendering.

pyarrow reads and writes the parquet files, PyAV encodes and decodes the MP4 videos.
"""

from vla_data.errors import DatasetError
from vla_data.reader import DatasetReader
from vla_data.writer import LeRobotDatasetWriter

__all__ = ["DatasetError", "DatasetReader", "LeRobotDatasetWriter"]
