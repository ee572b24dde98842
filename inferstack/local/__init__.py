"""The `local` environment: Triton, Prometheus and MLflow as processes on 127.0.0.1, no containers."""
