"""The Pulumi program of inferstack (Pulumi.yaml: `main: stacks/`). See docs/cloud.md and docs/onprem-platform.md."""
