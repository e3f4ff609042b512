"""Per-turn checkpoints of a tool run (content-addressed in S3; see ``blobs`` and ``state``)."""

from agents.checkpoints.blobs import CheckpointStore, LoadedCheckpoint
from agents.checkpoints.state import CheckpointState, Manifest

__all__ = ["CheckpointState", "CheckpointStore", "LoadedCheckpoint", "Manifest"]
