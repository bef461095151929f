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
    public Metrics? Metrics { get; set; }
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
    [System.Text.Json.Serialization.JsonConverter(typeof(FileModeConverter))] public int? Mode { get; set; }
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
    public HttpArtifact? Http { get; set; }
    public GitArtifact? Git { get; set; }
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

/// <summary>An input artifact fetched over HTTP(S) by the controller before the step starts.</summary>
public sealed class HttpArtifact
{
    public string? Url { get; set; }
    public List<HttpArtifactHeader>? Headers { get; set; }
    public HttpArtifactAuth? Auth { get; set; }
    public bool? SaveStreamViaFile { get; set; }
}

public sealed class HttpArtifactHeader
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
}

public sealed class HttpArtifactAuth
{
    public BasicAuthSecrets? BasicAuth { get; set; }
    public JsonNode? ClientCert { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("oauth2")] public JsonNode? OAuth2 { get; set; }
}

public sealed class BasicAuthSecrets
{
    public SecretKeySelector? UsernameSecret { get; set; }
    public SecretKeySelector? PasswordSecret { get; set; }
}

/// <summary>An input artifact cloned from a git repository (the git CLI, in a sandbox) before the step starts.</summary>
public sealed class GitArtifact
{
    public string? Repo { get; set; }
    public string? Revision { get; set; }
    public long? Depth { get; set; }
    public List<string>? Fetch { get; set; }
    public SecretKeySelector? UsernameSecret { get; set; }
    public SecretKeySelector? PasswordSecret { get; set; }
    public SecretKeySelector? SshPrivateKeySecret { get; set; }
    public bool? InsecureIgnoreHostKey { get; set; }
    public bool? DisableSubmodules { get; set; }
    public bool? SingleBranch { get; set; }
    public string? Branch { get; set; }
    public bool? InsecureSkipTLS { get; set; }
}

/// <summary>Argo's data template: a source (artifact keys) run through expr transformations; the JSON result is outputs.result.</summary>
public sealed class DataTemplate
{
    public DataSource Source { get; set; } = new();
    public List<TransformationStep>? Transformation { get; set; }
}

public sealed class DataSource
{
    /// <summary>The keys under an artifact location (a bucket, or a key prefix in it).</summary>
    public Artifact? ArtifactPaths { get; set; }
}

public sealed class TransformationStep
{
    public string? Expression { get; set; }
}

/// <summary>
/// A file mode as Argo reads one from YAML 1.1: <c>mode: 0755</c> is octal (493). The manifest reader keeps a
/// leading-zero number as text (JSON has none), so that text is read here as octal; plain numbers are decimal.
/// </summary>
public sealed class FileModeConverter : System.Text.Json.Serialization.JsonConverter<int?>
{
    public override int? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        if (reader.TokenType == System.Text.Json.JsonTokenType.Number) return reader.GetInt32();
        if (reader.TokenType == System.Text.Json.JsonTokenType.String && reader.GetString() is { Length: > 1 } text && text[0] == '0'
            && text.AsSpan(text.StartsWith("0o", StringComparison.Ordinal) ? 2 : 1).IndexOfAnyExcept("01234567") < 0)
            return Convert.ToInt32(text.StartsWith("0o", StringComparison.Ordinal) ? text[2..] : text[1..], 8);
        throw new System.Text.Json.JsonException("expected an integer file mode (0755 is read as octal)");
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, int? value, System.Text.Json.JsonSerializerOptions options)
    {
        if (value is { } v) writer.WriteNumberValue(v);
        else writer.WriteNullValue();
    }
}
