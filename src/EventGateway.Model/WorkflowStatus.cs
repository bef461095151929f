using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace EventGateway.Model;

/// <summary>Argo's workflow status: the observable truth the controller keeps.</summary>
public sealed class WorkflowStatus
{
    public string? Phase { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? Progress { get; set; }
    public string? Message { get; set; }
    public Dictionary<string, NodeStatus>? Nodes { get; set; }
    public Outputs? Outputs { get; set; }
    public List<Condition>? Conditions { get; set; }
    public WorkflowSpec? StoredWorkflowTemplateSpec { get; set; }
    /// <summary>Templates referenced by templateRef, frozen at submission ("namespaced/NAME/TEMPLATE").</summary>
    public Dictionary<string, Template>? StoredTemplates { get; set; }
    public SynchronizationStatus? Synchronization { get; set; }
    public ArtifactRepositoryRefStatus? ArtifactRepositoryRef { get; set; }
    public long? EstimatedDuration { get; set; }

    [JsonIgnore] public bool IsCompleted => WorkflowPhase.IsCompleted(Phase);
}

public sealed class Condition
{
    public string? Type { get; set; }
    public string? Status { get; set; }
    public string? Message { get; set; }
}

public sealed class NodeStatus
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string DisplayName { get; set; } = "";
    public string Type { get; set; } = "";
    public string? TemplateName { get; set; }
    public TemplateRef? TemplateRef { get; set; }
    public string? TemplateScope { get; set; }
    public string Phase { get; set; } = NodePhase.Pending;
    public string? BoundaryID { get; set; }
    public string? Message { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? Progress { get; set; }
    public Inputs? Inputs { get; set; }
    public Outputs? Outputs { get; set; }
    public List<string>? Children { get; set; }
    public List<string>? OutboundNodes { get; set; }
    public string? HostNodeName { get; set; }
    public string? PodIP { get; set; }
    /// <summary>A daemon step that is running and ready: its scope goes on without it, and stops it when it ends.</summary>
    public bool? Daemoned { get; set; }
    public MemoizationStatus? MemoizationStatus { get; set; }
    public NodeSynchronizationStatus? SynchronizationStatus { get; set; }
    public JsonNode? ResourcesDuration { get; set; }
    public long? EstimatedDuration { get; set; }

    [JsonIgnore] public bool Fulfilled => NodePhase.IsFulfilled(Phase);
}

public static class WorkflowPhase
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Error = "Error";

    public static bool IsCompleted(string? phase) => phase is Succeeded or Failed or Error;
}

public static class NodePhase
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Error = "Error";
    public const string Skipped = "Skipped";
    public const string Omitted = "Omitted";

    public static bool IsFulfilled(string? phase) => phase is Succeeded or Failed or Error or Skipped or Omitted;
    public static bool IsFailedOrError(string? phase) => phase is Failed or Error;
}

public static class NodeType
{
    public const string Pod = "Pod";
    public const string Steps = "Steps";
    public const string StepGroup = "StepGroup";
    public const string Dag = "DAG";
    public const string TaskGroup = "TaskGroup";
    public const string Retry = "Retry";
    public const string Skipped = "Skipped";
    public const string Suspend = "Suspend";
    public const string Container = "Container";
}

/// <summary>Argo's record of the locks a workflow holds and waits for; holders are "ns/workflow" or "ns/workflow/nodeId".</summary>
public sealed class SynchronizationStatus
{
    public SemaphoreStatus? Semaphore { get; set; }
    public MutexStatus? Mutex { get; set; }
}

public sealed class SemaphoreStatus
{
    public List<SemaphoreHolding>? Holding { get; set; }
    /// <summary>The semaphores this workflow waits for, with who holds them now.</summary>
    public List<SemaphoreHolding>? Waiting { get; set; }
}

public sealed class SemaphoreHolding
{
    public string? Semaphore { get; set; }
    public List<string>? Holders { get; set; }
}

public sealed class MutexStatus
{
    public List<MutexHolding>? Holding { get; set; }
    /// <summary>The mutexes this workflow waits for, with who holds them now.</summary>
    public List<MutexHolding>? Waiting { get; set; }
}

public sealed class MutexHolding
{
    public string? Mutex { get; set; }
    public string? Holder { get; set; }
}

public sealed class NodeSynchronizationStatus
{
    /// <summary>The lock this node waits for.</summary>
    public string? Waiting { get; set; }
}
