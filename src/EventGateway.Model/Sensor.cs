using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace EventGateway.Model;

/// <summary>
/// Argo Events <c>Sensor</c>: dependencies on (EventSource, event name) pairs, and the triggers that fire
/// when their conditions hold. The trigger kinds' own settings stay JSON here; each trigger owns its shape.
/// </summary>
public sealed class Sensor : Resource
{
    public SensorSpec Spec { get; set; } = new();
    public JsonObject? Status { get; set; }
}

public sealed class SensorSpec
{
    public List<EventDependency>? Dependencies { get; set; }
    public List<SensorTrigger>? Triggers { get; set; }
    /// <summary>Pod template of a Kubernetes deployment: accepted, meaningless here.</summary>
    public JsonObject? Template { get; set; }
    public bool? ErrorOnFailedRound { get; set; }
    public string? EventBusName { get; set; }
    public int? Replicas { get; set; }
    public int? RevisionHistoryLimit { get; set; }
    public Dictionary<string, string>? LoggingFields { get; set; }
}

public sealed class EventDependency
{
    public string? Name { get; set; }
    public string? EventSourceName { get; set; }
    public string? EventName { get; set; }
    public EventDependencyFilter? Filters { get; set; }
    public DependencyTransform? Transform { get; set; }
    public string? FiltersLogicalOperator { get; set; }
}

/// <summary>Rewrites an event before filters: a jq expression or a Lua script.</summary>
public sealed class DependencyTransform
{
    public string? Jq { get; set; }
    public string? Script { get; set; }
}

public sealed class SensorTrigger
{
    public TriggerTemplate? Template { get; set; }
    public List<TriggerParameter>? Parameters { get; set; }
    public JsonObject? Policy { get; set; }
    public JsonObject? RetryStrategy { get; set; }
    public TriggerRateLimit? RateLimit { get; set; }
    public bool? AtLeastOnce { get; set; }
    public SensorTrigger? DlqTrigger { get; set; }
}

public sealed class TriggerRateLimit
{
    /// <summary>Second (default), Minute or Hour.</summary>
    public string? Unit { get; set; }
    public int? RequestsPerUnit { get; set; }
}

public sealed class ConditionsReset
{
    public ConditionsResetByTime? ByTime { get; set; }
}

public sealed class ConditionsResetByTime
{
    public string? Cron { get; set; }
    public string? Timezone { get; set; }
}

public sealed class TriggerTemplate
{
    public string? Name { get; set; }
    /// <summary>Boolean expression over dependency names, e.g. <c>(dep01 || dep02) &amp;&amp; dep03</c>; default: all of them.</summary>
    public string? Conditions { get; set; }
    public List<ConditionsReset>? ConditionsReset { get; set; }
    public JsonObject? K8s { get; set; }
    public JsonObject? ArgoWorkflow { get; set; }
    public JsonObject? Http { get; set; }
    public JsonObject? Kafka { get; set; }
    public JsonObject? Log { get; set; }

    /// <summary>Every other Argo trigger kind (slack, awsLambda, nats, ...): kept so the refusal can name it.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unsupported { get; set; }
}
