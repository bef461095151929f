using System.Text.Json.Nodes;

namespace EventGateway.Model;

// The Argo Workflows spec (argoproj.io/v1alpha1). Fields the local executor interprets are typed;
// Kubernetes scheduling fields are kept as opaque JSON so manifests round-trip unchanged.
// Int-or-string fields are strings: they may hold {{templates}} resolved at run time.

public sealed class Workflow : Resource
{
    public WorkflowSpec Spec { get; set; } = new();
    public WorkflowStatus? Status { get; set; }
}

public sealed class WorkflowTemplate : Resource
{
    public WorkflowSpec Spec { get; set; } = new();
}

public sealed class ClusterWorkflowTemplate : Resource
{
    public WorkflowSpec Spec { get; set; } = new();
}

public sealed class WorkflowSpec
{
    public string? Entrypoint { get; set; }
    public Arguments? Arguments { get; set; }
    public List<Template>? Templates { get; set; }
    public string? OnExit { get; set; }
    public long? Parallelism { get; set; }
    public long? ActiveDeadlineSeconds { get; set; }
    public bool? Suspend { get; set; }
    public string? Shutdown { get; set; }
    public RetryStrategy? RetryStrategy { get; set; }
    public WorkflowTemplateRef? WorkflowTemplateRef { get; set; }
    public Template? TemplateDefaults { get; set; }
    public string? ServiceAccountName { get; set; }
    public bool? AutomountServiceAccountToken { get; set; }
    public WorkflowMetadata? WorkflowMetadata { get; set; }
    public long? Priority { get; set; }
    public string? PodPriorityClassName { get; set; }
    public long? PodPriority { get; set; }
    public string? SchedulerName { get; set; }
    public bool? ArchiveLogs { get; set; }
    public bool? HostNetwork { get; set; }
    public string? DnsPolicy { get; set; }
    public string? PodSpecPatch { get; set; }
    public Dictionary<string, LifecycleHook>? Hooks { get; set; }
    public Synchronization? Synchronization { get; set; }
    public JsonNode? Memoize { get; set; }
    public PodGC? PodGC { get; set; }
    public TtlStrategy? TtlStrategy { get; set; }
    public ArtifactRepositoryRef? ArtifactRepositoryRef { get; set; }
    public ArtifactGC? ArtifactGC { get; set; }
    public JsonNode? VolumeClaimGC { get; set; }
    public JsonNode? Volumes { get; set; }
    public JsonNode? VolumeClaimTemplates { get; set; }
    public JsonNode? NodeSelector { get; set; }
    public JsonNode? Tolerations { get; set; }
    public JsonNode? Affinity { get; set; }
    public JsonNode? SecurityContext { get; set; }
    public JsonNode? ImagePullSecrets { get; set; }
    public JsonNode? PodMetadata { get; set; }
    public JsonNode? PodDisruptionBudget { get; set; }
    public JsonNode? Metrics { get; set; }
    public JsonNode? Executor { get; set; }
    public JsonNode? DnsConfig { get; set; }
    public JsonNode? HostAliases { get; set; }
    /// <summary>Pod-level resources of every pod, unless a template sets its own.</summary>
    public JsonNode? PodResources { get; set; }
}

/// <summary>Labels and annotations the Workflow object gets when it starts; labelsFrom are expressions over its globals.</summary>
public sealed class WorkflowMetadata
{
    public Dictionary<string, string>? Labels { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public Dictionary<string, LabelValueFrom>? LabelsFrom { get; set; }
}

public sealed class LabelValueFrom
{
    public string Expression { get; set; } = "";
}

public sealed class WorkflowTemplateRef
{
    public string? Name { get; set; }
    public bool? ClusterScope { get; set; }
}

public sealed class TemplateRef
{
    public string? Name { get; set; }
    public string? Template { get; set; }
    public bool? ClusterScope { get; set; }
}

public sealed class Arguments
{
    public List<Parameter>? Parameters { get; set; }
    public List<Artifact>? Artifacts { get; set; }
}

public sealed class Inputs
{
    public List<Parameter>? Parameters { get; set; }
    public List<Artifact>? Artifacts { get; set; }
}

public sealed class Outputs
{
    public List<Parameter>? Parameters { get; set; }
    public List<Artifact>? Artifacts { get; set; }
    public string? Result { get; set; }
    public string? ExitCode { get; set; }
}

public sealed class Parameter
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
    public string? Default { get; set; }
    public List<string>? Enum { get; set; }
    public ValueFrom? ValueFrom { get; set; }
    public string? GlobalName { get; set; }
    public string? Description { get; set; }
}

public sealed class ValueFrom
{
    public string? Path { get; set; }
    public string? Default { get; set; }
    public string? Parameter { get; set; }
    public string? Expression { get; set; }
    public string? JsonPath { get; set; }
    public string? JqFilter { get; set; }
    public string? Event { get; set; }
    public KeySelector? ConfigMapKeyRef { get; set; }
    public JsonNode? Supplied { get; set; }
}

public sealed class KeySelector
{
    public string? Name { get; set; }
    public string? Key { get; set; }
    public bool? Optional { get; set; }
}

public sealed class Artifact
{
    public string Name { get; set; } = "";
    public string? Path { get; set; }
    public string? From { get; set; }
    public string? FromExpression { get; set; }
    public int? Mode { get; set; }
    public bool? Optional { get; set; }
    public string? GlobalName { get; set; }
    public string? SubPath { get; set; }
    public bool? RecurseMode { get; set; }
    public bool? ArchiveLogs { get; set; }
    public bool? Deleted { get; set; }
    public ArchiveStrategy? Archive { get; set; }
    public RawArtifact? Raw { get; set; }
    /// <summary>Where the local artifact repository keeps this artifact (set by the controller).</summary>
    public LocalArtifact? Local { get; set; }
    public S3Artifact? S3 { get; set; }
    public JsonNode? Http { get; set; }
    public JsonNode? Git { get; set; }
    public JsonNode? Gcs { get; set; }
    public JsonNode? Oss { get; set; }
    public JsonNode? Hdfs { get; set; }
    public JsonNode? Azure { get; set; }
    public JsonNode? Artifactory { get; set; }
    public ArtifactGC? ArtifactGC { get; set; }
}

public sealed class ArchiveStrategy
{
    public JsonNode? None { get; set; }
    public JsonNode? Tar { get; set; }
    public JsonNode? Zip { get; set; }
}

public sealed class RawArtifact
{
    public string Data { get; set; } = "";
}

public sealed class LocalArtifact
{
    public string Key { get; set; } = "";
}

public sealed class RetryStrategy
{
    public string? Limit { get; set; }
    public string? RetryPolicy { get; set; }
    public Backoff? Backoff { get; set; }
    public string? Expression { get; set; }
    public JsonNode? Affinity { get; set; }
}

public sealed class Backoff
{
    public string? Duration { get; set; }
    public string? Factor { get; set; }
    public string? MaxDuration { get; set; }
    public string? Cap { get; set; }
}

public sealed class ContinueOn
{
    public bool? Error { get; set; }
    public bool? Failed { get; set; }
}

public sealed class Sequence
{
    public string? Count { get; set; }
    public string? Start { get; set; }
    public string? End { get; set; }
    public string? Format { get; set; }
}
