"""MLflow tracking of model builds: one run per build, one registered model version per publish."""

from __future__ import annotations

import os
from pathlib import Path

from inferstack.paths import state_dir


def default_tracking_uri() -> str:
    return f"sqlite:///{mlflow_dir() / 'mlflow.db'}"


def mlflow_dir() -> Path:
    path = state_dir() / "mlflow"
    (path / "artifacts").mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri(flag: str | None = None) -> str:
    return flag or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def setup(uri: str, experiment: str):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    if client.get_experiment_by_name(experiment) is None:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = (mlflow_dir() / "artifacts").as_uri()
        client.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return mlflow, client


def register(client, name: str, run, artifact_path: str, tags: dict[str, str]) -> str:
    """Register the run's model artifacts as a new version (MLflow 3 refuses runs:/ for plain artifacts)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="Published to the Triton model repository by inferstack"
        )
    version = client.create_model_version(
        name, source=f"{run.info.artifact_uri}/{artifact_path}", run_id=run.info.run_id, tags=tags
    )
    return str(version.version)
