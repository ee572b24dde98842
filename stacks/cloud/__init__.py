"""AWS substrate: VPC across zones, EKS with a system and GPU node groups, S3 model store with IRSA, RDS.

Raw pulumi_aws resources, not pulumi_eks: pulumi_eks.Cluster is a remote component that registers as one
opaque resource under mocks, so its node groups, AMI types, taints and IAM could not be asserted offline.
With raw resources every input is recorded and the tests check them like policies.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from inferstack import versions
from inferstack.k8s import engine_job, mlflow, triton
from inferstack.k8s.spec import Database, S3Store
from stacks.cloud import policies
from stacks.config import Config

GPU_AMI = "AL2023_x86_64_NVIDIA"
SYSTEM_AMI = "AL2023_x86_64_STANDARD"


@dataclass
class AwsSubstrate:
    provider: k8s.Provider
    store: S3Store
    database: Database
    db_password: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    model_bucket: pulumi.Output[str]
    artifact_bucket: pulumi.Output[str]
    ready: list[pulumi.Resource] = field(default_factory=list)


def eks_version() -> str:
    major, minor, *_ = str(versions.get("kubernetes.version")).split(".")
    return f"{major}.{minor}"


def _tags(name: str, **extra: str) -> dict[str, str]:
    return {"Name": name, "inferstack:stack": pulumi.get_stack(), **extra}


def network(prefix: str, cfg: Config) -> tuple[aws.ec2.Vpc, list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
    c = cfg.stack
    zones = list(c.availability_zones) or aws.get_availability_zones(state="available").names[: c.az_count]
    vpc = aws.ec2.Vpc(
        f"{prefix}-vpc",
        cidr_block=c.vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=_tags(f"{prefix}-vpc"),
    )
    igw = aws.ec2.InternetGateway(f"{prefix}-igw", vpc_id=vpc.id, tags=_tags(f"{prefix}-igw"))
    # /20 blocks (4,094 addresses): private subnets hold every pod IP with the VPC CNI.
    blocks = list(ipaddress.ip_network(c.vpc_cidr, strict=False).subnets(new_prefix=20))
    public_rt = aws.ec2.RouteTable(
        f"{prefix}-public",
        vpc_id=vpc.id,
        tags=_tags(f"{prefix}-public"),
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
    )
    public, private, nats = [], [], []
    for i, zone in enumerate(zones):
        pub = aws.ec2.Subnet(
            f"{prefix}-public-{zone}",
            vpc_id=vpc.id,
            availability_zone=zone,
            cidr_block=str(blocks[i]),
            map_public_ip_on_launch=False,
            tags=_tags(f"{prefix}-public-{zone}", **{"kubernetes.io/role/elb": "1"}),
        )
        aws.ec2.RouteTableAssociation(
            f"{prefix}-public-{zone}", subnet_id=pub.id, route_table_id=public_rt.id
        )
        public.append(pub)
        if c.nat_gateways == "per-az" or not nats:
            eip = aws.ec2.Eip(f"{prefix}-nat-{zone}", domain="vpc", tags=_tags(f"{prefix}-nat-{zone}"))
            nats.append(
                aws.ec2.NatGateway(
                    f"{prefix}-nat-{zone}",
                    subnet_id=pub.id,
                    allocation_id=eip.id,
                    tags=_tags(f"{prefix}-nat-{zone}"),
                    opts=pulumi.ResourceOptions(depends_on=[igw]),
                )
            )
        priv = aws.ec2.Subnet(
            f"{prefix}-private-{zone}",
            vpc_id=vpc.id,
            availability_zone=zone,
            cidr_block=str(blocks[len(zones) + i]),
            tags=_tags(f"{prefix}-private-{zone}", **{"kubernetes.io/role/internal-elb": "1"}),
        )
        rt = aws.ec2.RouteTable(
            f"{prefix}-private-{zone}",
            vpc_id=vpc.id,
            tags=_tags(f"{prefix}-private-{zone}"),
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id)],
        )
        aws.ec2.RouteTableAssociation(f"{prefix}-private-{zone}", subnet_id=priv.id, route_table_id=rt.id)
        private.append(priv)
    return vpc, public, private


def _bucket(prefix: str, purpose: str) -> aws.s3.Bucket:
    """A private, versioned, encrypted bucket that refuses plain HTTP."""
    bucket = aws.s3.Bucket(
        f"{prefix}-{purpose}",
        bucket_prefix=f"{prefix}-{purpose}-"[:37],
        force_destroy=False,
        tags=_tags(f"{prefix}-{purpose}"),
    )
    aws.s3.BucketPublicAccessBlock(
        f"{prefix}-{purpose}",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketOwnershipControls(
        f"{prefix}-{purpose}",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
    )
    aws.s3.BucketVersioning(
        f"{prefix}-{purpose}",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-{purpose}",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms"
                ),
                bucket_key_enabled=True,
            )
        ],
    )
    aws.s3.BucketPolicy(
        f"{prefix}-{purpose}",
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(policies.deny_insecure_transport(arn))),
    )
    return bucket


def _role(name: str, trust: pulumi.Input[str], managed: list[str] = ()) -> aws.iam.Role:
    role = aws.iam.Role(name, assume_role_policy=trust, tags=_tags(name))
    for i, arn in enumerate(managed):
        aws.iam.RolePolicyAttachment(f"{name}-{i}", role=role.name, policy_arn=arn)
    return role


def _irsa_role(
    prefix: str,
    purpose: str,
    oidc: aws.iam.OpenIdConnectProvider,
    namespace: str,
    service_account: str,
    bucket: aws.s3.Bucket,
    write: bool,
) -> aws.iam.Role:
    trust = pulumi.Output.all(oidc.arn, oidc.url).apply(
        lambda v: json.dumps(policies.irsa_trust(v[0], v[1], namespace, service_account))
    )
    role = _role(f"{prefix}-{purpose}", trust)
    aws.iam.RolePolicy(
        f"{prefix}-{purpose}",
        role=role.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(policies.bucket_access(arn, write))),
    )
    return role


def build(cfg: Config, prefix: str = "inferstack") -> AwsSubstrate:
    c = cfg.stack
    vpc, public, private = network(prefix, cfg)

    cluster_role = _role(
        f"{prefix}-cluster",
        json.dumps(policies.service_trust("eks.amazonaws.com")),
        ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
    )
    secrets_key = aws.kms.Key(
        f"{prefix}-eks-secrets",
        description="Envelope encryption of EKS secrets",
        enable_key_rotation=True,
        tags=_tags(f"{prefix}-eks-secrets"),
    )
    cluster = aws.eks.Cluster(
        f"{prefix}-eks",
        version=eks_version(),
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=[s.id for s in private + public],
            endpoint_private_access=True,
            endpoint_public_access=bool(c.cluster_public_access_cidrs),
            public_access_cidrs=list(c.cluster_public_access_cidrs) or None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
        ),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            resources=["secrets"],
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
        ),
        enabled_cluster_log_types=["api", "audit", "authenticator"],
        tags=_tags(f"{prefix}-eks"),
    )
    vpc_cni = aws.eks.Addon(
        f"{prefix}-vpc-cni",
        cluster_name=cluster.name,
        addon_name="vpc-cni",
        addon_version=str(versions.get("eks.addons.vpc-cni")),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
    )

    node_role = _role(
        f"{prefix}-node",
        json.dumps(policies.service_trust("ec2.amazonaws.com")),
        [
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ],
    )
    subnet_ids = [s.id for s in private]
    system = aws.eks.NodeGroup(
        f"{prefix}-system",
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=subnet_ids,
        ami_type=SYSTEM_AMI,
        instance_types=[c.system_instance_type],
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=c.system_nodes, desired_size=c.system_nodes, max_size=c.system_nodes + 1
        ),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels={"inferstack.io/node-role": "system"},
        tags=_tags(f"{prefix}-system"),
        opts=pulumi.ResourceOptions(depends_on=[vpc_cni]),
    )
    gpu_groups = []
    for itype in c.gpu_instance_types:
        group = itype.replace(".", "-")
        gpu_groups.append(
            aws.eks.NodeGroup(
                f"{prefix}-gpu-{group}",
                cluster_name=cluster.name,
                node_role_arn=node_role.arn,
                subnet_ids=subnet_ids,
                ami_type=GPU_AMI,
                instance_types=[itype],
                disk_size=c.gpu_node_disk_gib,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=c.gpu_nodes_min, desired_size=c.gpu_nodes_desired, max_size=c.gpu_nodes_max
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                # Only pods that tolerate the taint (GPU workloads, GPU Operator daemonsets) land here.
                taints=[aws.eks.NodeGroupTaintArgs(key="nvidia.com/gpu", value="true", effect="NO_SCHEDULE")],
                labels={"inferstack.io/node-role": "gpu", "inferstack.io/instance-type": itype},
                tags=_tags(f"{prefix}-gpu-{group}"),
                opts=pulumi.ResourceOptions(depends_on=[vpc_cni]),
            )
        )

    oidc = aws.iam.OpenIdConnectProvider(
        f"{prefix}-oidc",
        url=cluster.identities[0].oidcs[0].issuer,
        client_id_lists=["sts.amazonaws.com"],
        tags=_tags(f"{prefix}-oidc"),
    )
    models = _bucket(prefix, "models")
    artifacts = _bucket(prefix, "mlflow")
    triton_role = _irsa_role(prefix, "triton", oidc, c.namespace, triton.NAME, models, write=False)
    builder_role = _irsa_role(prefix, "trt-build", oidc, c.namespace, engine_job.NAME, models, write=True)
    mlflow_role = _irsa_role(prefix, "mlflow", oidc, c.namespace, mlflow.NAME, artifacts, write=True)

    db_password = (
        cfg.mlflow_db_password
        or random.RandomPassword(f"{prefix}-mlflow-db", length=32, special=False).result
    )
    db_subnets = aws.rds.SubnetGroup(
        f"{prefix}-mlflow-db", subnet_ids=subnet_ids, tags=_tags(f"{prefix}-mlflow-db")
    )
    db_sg = aws.ec2.SecurityGroup(
        f"{prefix}-mlflow-db",
        vpc_id=vpc.id,
        description="MLflow database: PostgreSQL from the cluster's nodes only",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                description="PostgreSQL from EKS nodes",
                security_groups=[cluster.vpc_config.cluster_security_group_id],
            )
        ],
        tags=_tags(f"{prefix}-mlflow-db"),
    )
    db = aws.rds.Instance(
        f"{prefix}-mlflow-db",
        engine="postgres",
        engine_version=str(versions.get("platform.postgres")),
        instance_class=c.db_instance_class,
        allocated_storage=20,
        max_allocated_storage=100,
        storage_type="gp3",
        storage_encrypted=True,
        db_name="mlflow",
        username="mlflow",
        password=db_password,
        db_subnet_group_name=db_subnets.name,
        vpc_security_group_ids=[db_sg.id],
        publicly_accessible=False,
        backup_retention_period=7,
        deletion_protection=True,
        skip_final_snapshot=False,
        final_snapshot_identifier=f"{prefix}-mlflow-db-final",
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=False,
        tags=_tags(f"{prefix}-mlflow-db"),
    )

    kubeconfig = pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda v: json.dumps(policies.kubeconfig(v[0], v[1], v[2], c.aws_region))
        )
    )
    provider = k8s.Provider(
        f"{prefix}-eks",
        kubeconfig=kubeconfig,
        enable_server_side_apply=True,
        opts=pulumi.ResourceOptions(depends_on=[system]),
    )
    store = S3Store(
        model_repository=pulumi.Output.concat("s3://", models.bucket, "/models"),
        region=c.aws_region,
        triton_role_arn=triton_role.arn,
        builder_role_arn=builder_role.arn,
        mlflow_role_arn=mlflow_role.arn,
        mlflow_artifacts=pulumi.Output.concat("s3://", artifacts.bucket, "/"),
    )
    return AwsSubstrate(
        provider=provider,
        store=store,
        database=Database(host=db.address),
        db_password=db_password,
        cluster_name=cluster.name,
        kubeconfig=kubeconfig,
        model_bucket=models.bucket,
        artifact_bucket=artifacts.bucket,
        ready=[system, *gpu_groups],
    )
