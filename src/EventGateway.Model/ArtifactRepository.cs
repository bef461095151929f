using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace EventGateway.Model;

// Argo's artifact repository types: the value of an artifact-repositories ConfigMap key, the
// controller configuration's artifactRepository, and an artifact's own s3 location.

/// <summary>Where a workflow's artifacts go. Only <c>s3</c> is served; the others are accepted to be refused by name.</summary>
public sealed class ArtifactRepository
{
    public bool? ArchiveLogs { get; set; }
    public S3ArtifactRepository? S3 { get; set; }
    public JsonNode? Artifactory { get; set; }
    public JsonNode? Hdfs { get; set; }
    public JsonNode? Oss { get; set; }
    public JsonNode? Gcs { get; set; }
    public JsonNode? Azure { get; set; }
}

/// <summary>The bucket and how to reach it: shared by a repository and an artifact's s3 location.</summary>
public class S3ArtifactLocation
{
    public string? Endpoint { get; set; }
    public string? Bucket { get; set; }
    public string? Region { get; set; }
    public bool? Insecure { get; set; }
    public SecretKeySelector? AccessKeySecret { get; set; }
    public SecretKeySelector? SecretKeySecret { get; set; }
    public SecretKeySelector? SessionTokenSecret { get; set; }
    [JsonPropertyName("roleARN")] public string? RoleArn { get; set; }
    public bool? UseSDKCreds { get; set; }
    public JsonNode? CreateBucketIfNotPresent { get; set; }
    public JsonNode? EncryptionOptions { get; set; }
    public SecretKeySelector? CaSecret { get; set; }
}

public sealed class S3ArtifactRepository : S3ArtifactLocation
{
    /// <summary>Template of the key prefix under which a step's outputs are stored; Argo's default is {{workflow.name}}/{{pod.name}}.</summary>
    public string? KeyFormat { get; set; }
    /// <summary>Deprecated in Argo in favour of keyFormat: a prefix put before the default format.</summary>
    public string? KeyPrefix { get; set; }
}

/// <summary>An artifact's s3 location: a key, and bucket fields that override the repository's.</summary>
public sealed class S3Artifact : S3ArtifactLocation
{
    public string? Key { get; set; }
}

public sealed class ArtifactRepositoryRef
{
    public string? ConfigMap { get; set; }
    public string? Key { get; set; }
}

/// <summary>The repository a workflow resolved at its start, frozen into its status so later edits of the ConfigMap do not move it.</summary>
public sealed class ArtifactRepositoryRefStatus
{
    public string? ConfigMap { get; set; }
    public string? Key { get; set; }
    public string? Namespace { get; set; }
    /// <summary>True when this is the service-wide repository rather than a ConfigMap's.</summary>
    public bool? Default { get; set; }
    public ArtifactRepository? ArtifactRepository { get; set; }
}

/// <summary>When a workflow's output artifacts are deleted from their repository.</summary>
public sealed class ArtifactGC
{
    public const string OnWorkflowCompletion = "OnWorkflowCompletion";
    public const string OnWorkflowDeletion = "OnWorkflowDeletion";
    public const string Never = "Never";

    public string? Strategy { get; set; }
    public string? ServiceAccountName { get; set; }
    public JsonNode? PodMetadata { get; set; }
    public bool? ForceFinalizerRemoval { get; set; }
    public string? PodSpecPatch { get; set; }
}
