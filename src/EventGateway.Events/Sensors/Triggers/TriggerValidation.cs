using System.Text.Json.Nodes;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// Load-time checks of the <c>k8s</c>, <c>argoWorkflow</c>, <c>http</c>, <c>kafka</c> and <c>log</c> trigger kinds, by field path: Argo's own
/// validation plus what this service refuses rather than ignores (unknown fields, settings it cannot honour).
/// The triggers run the same checks again after their parameters rewrote them.
/// </summary>
public static class TriggerValidation
{
    /// <summary>Checks whichever kind the trigger uses, and the http status policy.</summary>
    /// <param name="at">The trigger's path, e.g. <c>spec.triggers[0]</c>.</param>
    /// <param name="dependencies">The Sensor's dependency names, to check parameters against; null skips that check.</param>
    /// <param name="cluster">Kubernetes mode: a k8s trigger may name any kind the cluster serves.</param>
    public static void Validate(SensorTrigger trigger, string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail, bool cluster = false)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(fail);
        if (trigger.Template is not { } template) return;
        if (template.Http is { } http)
        {
            ValidateHttp(http, $"{at}.template.http", dependencies, fail);
            ValidateStatusPolicy(trigger.Policy, $"{at}.policy", fail);
        }

        if (template.K8s is { } k8s) TriggerSpec.Read<K8sTriggerSpec>(k8s, $"{at}.template.k8s", fail)?.Validate($"{at}.template.k8s", dependencies, fail, cluster);
        if (template.ArgoWorkflow is { } wf)
            TriggerSpec.Read<ArgoWorkflowTriggerSpec>(wf, $"{at}.template.argoWorkflow", fail)?.Validate($"{at}.template.argoWorkflow", dependencies, fail);
        if (template.Kafka is { } kafka) ValidateKafka(kafka, $"{at}.template.kafka", dependencies, fail);
        if (template.Log is { } log) ValidateLog(log, $"{at}.template.log", fail);
    }

    /// <param name="at">The path of the http object, e.g. <c>spec.triggers[0].template.http</c>.</param>
    public static void ValidateHttp(JsonObject http, string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail) =>
        TriggerSpec.Read<HttpTriggerSpec>(http, at, fail)?.Validate(at, dependencies, fail);

    /// <summary><c>policy.status.allow</c>: status codes (100-599) that count as success.</summary>
    /// <param name="at">The path of the policy, e.g. <c>spec.triggers[0].policy</c>.</param>
    public static void ValidateStatusPolicy(JsonObject? policy, string at, Action<string, string> fail) =>
        HttpTriggerSpec.AllowedStatuses(policy, at, fail);

    /// <param name="at">The path of the kafka object, e.g. <c>spec.triggers[0].template.kafka</c>.</param>
    public static void ValidateKafka(JsonObject kafka, string at, IReadOnlyCollection<string>? dependencies, Action<string, string> fail) =>
        TriggerSpec.Read<KafkaTriggerSpec>(kafka, at, fail)?.Validate(at, dependencies, fail);

    /// <param name="at">The path of the log object, e.g. <c>spec.triggers[0].template.log</c>.</param>
    public static void ValidateLog(JsonObject log, string at, Action<string, string> fail) =>
        TriggerSpec.Read<LogTriggerSpec>(log, at, fail)?.Validate(at, fail);
}
