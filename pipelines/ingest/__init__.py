"""Import curves from CSV or Parquet files: ``ingest_file`` is the one entry point."""

from pipelines.ingest.errors import IngestError
from pipelines.ingest.run import IngestReport, ingest_file

__all__ = ["IngestError", "IngestReport", "ingest_file"]
