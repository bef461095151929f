namespace EventGateway.Model;

public sealed class CronWorkflow : Resource
{
    public CronWorkflowSpec Spec { get; set; } = new();
    public CronWorkflowStatus? Status { get; set; }
}

public sealed class CronWorkflowSpec
{
    /// <summary>Pre-4.0 singular form; converted to <see cref="Schedules"/> on load.</summary>
    public string? Schedule { get; set; }
    public List<string>? Schedules { get; set; }
    public string? Timezone { get; set; }
    public string? ConcurrencyPolicy { get; set; }
    public long? StartingDeadlineSeconds { get; set; }
    public bool? Suspend { get; set; }
    public int? SuccessfulJobsHistoryLimit { get; set; }
    public int? FailedJobsHistoryLimit { get; set; }
    public string? When { get; set; }
    public System.Text.Json.Nodes.JsonNode? StopStrategy { get; set; }
    public ObjectMeta? WorkflowMetadata { get; set; }
    public WorkflowSpec WorkflowSpec { get; set; } = new();
}

public sealed class CronWorkflowStatus
{
    public List<System.Text.Json.Nodes.JsonNode>? Active { get; set; }
    public DateTimeOffset? LastScheduledTime { get; set; }
    /// <summary>The latest tick that created nothing (Forbid, startingDeadlineSeconds, when); the reason is in conditions.</summary>
    public DateTimeOffset? LastSkippedTime { get; set; }
    public List<Condition>? Conditions { get; set; }
    public long? Succeeded { get; set; }
    public long? Failed { get; set; }
    public string? Phase { get; set; }
}
