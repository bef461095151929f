using System.Text.Json.Nodes;

namespace EventGateway.Model;

public sealed class Template
{
    public string? Name { get; set; }
    public Inputs? Inputs { get; set; }
    public Outputs? Outputs { get; set; }
    public Container? Container { get; set; }
    public ScriptTemplate? Script { get; set; }
    public List<List<WorkflowStep>>? Steps { get; set; }
    public DagTemplate? Dag { get; set; }
    public SuspendTemplate? Suspend { get; set; }
    public ResourceTemplate? Resource { get; set; }
    public HttpTemplate? Http { get; set; }
    public ContainerSetTemplate? ContainerSet { get; set; }
    public DataTemplate? Data { get; set; }
    public JsonNode? Plugin { get; set; }
    public RetryStrategy? RetryStrategy { get; set; }
    public string? ActiveDeadlineSeconds { get; set; }
    public long? Parallelism { get; set; }
    public bool? FailFast { get; set; }
    public bool? Daemon { get; set; }
    public string? Timeout { get; set; }
    public string? ServiceAccountName { get; set; }
    public bool? AutomountServiceAccountToken { get; set; }
    public string? PriorityClassName { get; set; }
    public long? Priority { get; set; }
    public string? SchedulerName { get; set; }
    public string? PodSpecPatch { get; set; }
    public JsonNode? Metadata { get; set; }
    public Memoize? Memoize { get; set; }
    public Synchronization? Synchronization { get; set; }
    public Dictionary<string, LifecycleHook>? Hooks { get; set; }
    public Metrics? Metrics { get; set; }
    public JsonNode? ArchiveLocation { get; set; }
    public JsonNode? Volumes { get; set; }
    public JsonNode? InitContainers { get; set; }
    public List<UserContainer>? Sidecars { get; set; }
    public JsonNode? NodeSelector { get; set; }
    public JsonNode? Tolerations { get; set; }
    public JsonNode? Affinity { get; set; }
    public JsonNode? SecurityContext { get; set; }
    public JsonNode? Executor { get; set; }
    public JsonNode? HostAliases { get; set; }
    /// <summary>Pod-level resources (requests/limits for the pod as a whole); overrides the workflow's.</summary>
    public JsonNode? PodResources { get; set; }

    /// <summary>The kind of work this template does; exactly one must be set.</summary>
    public TemplateType Type =>
        Container is not null ? TemplateType.Container
        : Script is not null ? TemplateType.Script
        : Steps is not null ? TemplateType.Steps
        : Dag is not null ? TemplateType.Dag
        : Suspend is not null ? TemplateType.Suspend
        : Resource is not null ? TemplateType.Resource
        : Http is not null ? TemplateType.Http
        : ContainerSet is not null ? TemplateType.ContainerSet
        : Data is not null ? TemplateType.Data
        : Plugin is not null ? TemplateType.Plugin
        : TemplateType.Unknown;

    public int TypeCount =>
        new object?[] { Container, Script, Steps, Dag, Suspend, Resource, Http, ContainerSet, Data, Plugin }.Count(x => x is not null);
}

public enum TemplateType { Unknown, Container, Script, Steps, Dag, Suspend, Resource, Http, ContainerSet, Data, Plugin }

public class Container
{
    public string? Name { get; set; }
    public string? Image { get; set; }
    public List<string>? Command { get; set; }
    public List<string>? Args { get; set; }
    public string? WorkingDir { get; set; }
    public List<EnvVar>? Env { get; set; }
    public List<EnvFromSource>? EnvFrom { get; set; }
    public string? ImagePullPolicy { get; set; }
    public JsonNode? Resources { get; set; }
    public JsonNode? VolumeMounts { get; set; }
    public JsonNode? VolumeDevices { get; set; }
    public JsonNode? Ports { get; set; }
    public JsonNode? SecurityContext { get; set; }
    public JsonNode? Lifecycle { get; set; }
    public JsonNode? LivenessProbe { get; set; }
    public JsonNode? ReadinessProbe { get; set; }
    public JsonNode? StartupProbe { get; set; }
    public bool? Stdin { get; set; }
    public bool? StdinOnce { get; set; }
    public bool? Tty { get; set; }
    public string? TerminationMessagePath { get; set; }
    public string? TerminationMessagePolicy { get; set; }
    public JsonNode? ResizePolicy { get; set; }
    public string? RestartPolicy { get; set; }
}

/// <summary>A sidecar or init container: a container with a name, and Argo's option to mount the main container's volumes.</summary>
public sealed class UserContainer : Container
{
    public bool? MirrorVolumeMounts { get; set; }
}

public sealed class ScriptTemplate : Container
{
    public string? Source { get; set; }
}

public sealed class EnvVar
{
    public string Name { get; set; } = "";
    public string? Value { get; set; }
    public EnvVarSource? ValueFrom { get; set; }
}

public sealed class EnvVarSource
{
    public KeySelector? ConfigMapKeyRef { get; set; }
    public KeySelector? SecretKeyRef { get; set; }
    public JsonNode? FieldRef { get; set; }
    public JsonNode? ResourceFieldRef { get; set; }
}

public sealed class EnvFromSource
{
    public string? Prefix { get; set; }
    public KeySelector? ConfigMapRef { get; set; }
    public KeySelector? SecretRef { get; set; }
}

public sealed class SuspendTemplate
{
    public string? Duration { get; set; }
}

public sealed class DagTemplate
{
    public string? Target { get; set; }
    public List<DagTask> Tasks { get; set; } = [];
    public bool? FailFast { get; set; }
}

/// <summary>What steps and DAG tasks share: a call of a template with arguments, loops and a guard.</summary>
public abstract class TemplateCall
{
    public string Name { get; set; } = "";
    public string? Template { get; set; }
    public TemplateRef? TemplateRef { get; set; }
    public Template? Inline { get; set; }
    public Arguments? Arguments { get; set; }
    public string? When { get; set; }
    public JsonArray? WithItems { get; set; }
    public string? WithParam { get; set; }
    public Sequence? WithSequence { get; set; }
    public ContinueOn? ContinueOn { get; set; }
    public string? OnExit { get; set; }
    public Dictionary<string, LifecycleHook>? Hooks { get; set; }

    public bool IsLoop => WithItems is not null || WithParam is not null || WithSequence is not null;
}

public sealed class WorkflowStep : TemplateCall;

public sealed class DagTask : TemplateCall
{
    public List<string>? Dependencies { get; set; }
    public string? Depends { get; set; }
}
