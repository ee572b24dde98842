"""IAM and bucket policy documents as plain dicts (no Pulumi): reviewed, and tested, as data."""

from __future__ import annotations

from typing import Any

# Triton only reads the model repository: list the bucket, get objects. Nothing else.
READ_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket", "s3:GetObject"]
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]


def bucket_access(bucket_arn: str, write: bool) -> dict[str, Any]:
    statements = [
        {
            "Sid": "ListBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": [bucket_arn],
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket_arn}/*"],
        },
    ]
    if write:
        statements.append(
            {
                "Sid": "WriteObjects",
                "Effect": "Allow",
                "Action": WRITE_ACTIONS,
                "Resource": [f"{bucket_arn}/*"],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def irsa_trust(
    oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """Only the named Kubernetes service account may assume the role, through the cluster's OIDC issuer."""
    issuer = issuer_url.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def service_trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    """A kubeconfig that authenticates with `aws eks get-token` (the caller's AWS credentials)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "eks",
                            "get-token",
                            "--cluster-name",
                            cluster_name,
                            "--region",
                            region,
                            "--output",
                            "json",
                        ],
                    }
                },
            }
        ],
    }
