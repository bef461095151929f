using System.Text.Json.Nodes;
using EventGateway.Events.Sensors.Filters;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors;

/// <summary>
/// Load-time checks of a Sensor, by field path: dependencies, their filters, triggers, conditions,
/// parameters and rate limits. What this service cannot run is refused by name instead of ignored.
/// </summary>
public sealed partial class SensorValidator : IKindValidator
{
    public static readonly string[] TriggerKinds = ["argoWorkflow", "k8s", "http", "kafka", "log"];
    /// <summary>Fields of Argo's Trigger that examples sometimes put one level too deep, under its template.</summary>
    private static readonly string[] TriggerFields = ["parameters", "policy", "retryStrategy", "rateLimit", "atLeastOnce", "dlqTrigger"];
    private static readonly string[] ParameterOperations = ["overwrite", "append", "prepend"];
    private static readonly string[] RateUnits = ["Second", "Minute", "Hour"];

    public static SensorValidator Instance { get; } = new();

    /// <summary>Kubernetes mode (<c>serve --kubernetes</c>): k8s triggers may act on any kind the cluster serves.</summary>
    public static SensorValidator InCluster { get; } = new() { _cluster = true };

    private bool _cluster;

    public IReadOnlyCollection<Type> Kinds { get; } = [typeof(Sensor)];

    void IKindValidator.Validate(Resource resource, Action<string, string> fail) => Validate((Sensor)resource, fail, _cluster);

    public static void Validate(Sensor sensor, Action<string, string> fail) => Validate(sensor, fail, cluster: false);

    private static void Validate(Sensor sensor, Action<string, string> fail, bool cluster)
    {
        var deps = sensor.Spec.Dependencies ?? [];
        if (deps.Count == 0) fail("spec.dependencies", "missing: a Sensor needs at least one dependency");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < deps.Count; i++)
        {
            var d = deps[i];
            var at = $"spec.dependencies[{i}]";
            if (string.IsNullOrEmpty(d.Name)) fail($"{at}.name", "missing: every dependency needs a name");
            else if (!names.Add(d.Name)) fail($"{at}.name", $"dependency '{d.Name}' is declared twice");
            if (string.IsNullOrEmpty(d.EventSourceName)) fail($"{at}.eventSourceName", "missing: the EventSource to listen to");
            if (string.IsNullOrEmpty(d.EventName)) fail($"{at}.eventName", "missing: the event of that EventSource");
            DependencyFilter.Validate(d.Filters, $"{at}.filters", fail);
            DependencyFilter.ValidateOperator(d.FiltersLogicalOperator, $"{at}.filtersLogicalOperator", fail);
            if (d.Transform is { } t) Transforms.EventTransformer.Validate(t, $"{at}.transform", fail);
        }

        var triggers = sensor.Spec.Triggers ?? [];
        if (triggers.Count == 0) fail("spec.triggers", "missing: a Sensor needs at least one trigger");
        var triggerNames = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < triggers.Count; i++)
            ValidateTrigger(triggers[i], $"spec.triggers[{i}]", names, triggerNames, fail, cluster);
    }

    private static void ValidateTrigger(SensorTrigger trigger, string at, HashSet<string> deps, HashSet<string> triggerNames, Action<string, string> fail, bool cluster)
    {
        if (trigger.Template is not { } t) { fail($"{at}.template", "missing: the trigger's name and kind"); return; }
        if (string.IsNullOrEmpty(t.Name)) fail($"{at}.template.name", "missing: every trigger needs a name");
        else if (!triggerNames.Add(t.Name)) fail($"{at}.template.name", $"trigger '{t.Name}' is declared twice");

        var kinds = new List<string>();
        if (t.ArgoWorkflow is not null) kinds.Add("argoWorkflow");
        if (t.K8s is not null) kinds.Add("k8s");
        if (t.Http is not null) kinds.Add("http");
        if (t.Kafka is not null) kinds.Add("kafka");
        if (t.Log is not null) kinds.Add("log");
        foreach (var other in t.Unsupported?.Keys ?? Enumerable.Empty<string>())
            fail($"{at}.template.{other}", TriggerFields.Contains(other)
                ? $"'{other}' is not supported under the template: it is a field of the trigger, so move it to {at}.{other} (Argo ignores it here)"
                : $"trigger type '{other}' is not supported here; supported: {string.Join(", ", TriggerKinds)}");
        if (kinds.Count == 0 && t.Unsupported is not { Count: > 0 })
            fail($"{at}.template", $"no trigger kind: set one of {string.Join(", ", TriggerKinds)}");
        if (kinds.Count > 1) fail($"{at}.template", $"one trigger kind per trigger, found {string.Join(" and ", kinds)}");

        Triggers.TriggerValidation.Validate(trigger, at, deps, fail, cluster);

        if (t.Conditions is { } conditions) ValidateConditions(conditions, $"{at}.template.conditions", deps, fail);
        for (var i = 0; i < (t.ConditionsReset?.Count ?? 0); i++)
        {
            var cron = t.ConditionsReset![i].ByTime?.Cron;
            if (string.IsNullOrEmpty(cron)) fail($"{at}.template.conditionsReset[{i}].byTime.cron", "missing: when to reset the conditions");
            else if (NCrontab.CrontabSchedule.TryParse(cron) is null) fail($"{at}.template.conditionsReset[{i}].byTime.cron", $"'{cron}' is not a 5-field cron schedule");
            if (t.ConditionsReset[i].ByTime?.Timezone is { } tz && !TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
                fail($"{at}.template.conditionsReset[{i}].byTime.timezone", $"unknown timezone '{tz}'");
        }

        for (var i = 0; i < (trigger.Parameters?.Count ?? 0); i++)
        {
            var p = trigger.Parameters![i];
            var pat = $"{at}.parameters[{i}]";
            if (p.Src is null) fail($"{pat}.src", "missing: where the value comes from");
            else if (p.Src.DependencyName is { } dn && !deps.Contains(dn)) fail($"{pat}.src.dependencyName", $"'{dn}' is not a dependency of this Sensor");
            else if (p.Src.DependencyName is null && p.Src.Value is null) fail($"{pat}.src.dependencyName", "missing: name a dependency or give a value");
            if (string.IsNullOrEmpty(p.Dest)) fail($"{pat}.dest", "missing: where to write the value, e.g. spec.arguments.parameters.0.value");
            if (p.Operation is { } op && !ParameterOperations.Contains(op)) fail($"{pat}.operation", $"'{op}' is not one of {string.Join(", ", ParameterOperations)}");
        }

        if (trigger.RateLimit is { } rl)
        {
            if (rl.Unit is { } u && !RateUnits.Contains(u)) fail($"{at}.rateLimit.unit", $"'{u}' is not one of {string.Join(", ", RateUnits)}");
            if (rl.RequestsPerUnit is not > 0) fail($"{at}.rateLimit.requestsPerUnit", "must be a positive number of triggers per unit");
            else if (rl.RequestsPerUnit > TriggerRateLimiter.MaxRequestsPerUnit)
                fail($"{at}.rateLimit.requestsPerUnit", $"{rl.RequestsPerUnit} is above the limit of {TriggerRateLimiter.MaxRequestsPerUnit}; use a shorter unit");
        }
        ValidateBackoff(trigger.RetryStrategy, $"{at}.retryStrategy", fail);
        if (trigger.Policy?["k8s"] is JsonObject k8sPolicy) ValidateBackoff(k8sPolicy["backoff"] as JsonObject, $"{at}.policy.k8s.backoff", fail);
        if (trigger.DlqTrigger is { } dlq) ValidateTrigger(dlq, $"{at}.dlqTrigger", deps, [], fail, cluster);
    }

    private static void ValidateBackoff(JsonObject? backoff, string at, Action<string, string> fail)
    {
        try
        {
            TriggerRetry.Parse(backoff);
        }
        catch (FormatException e)
        {
            var colon = e.Message.IndexOf(": ", StringComparison.Ordinal);
            fail($"{at}.{e.Message[..colon]}", e.Message[(colon + 2)..]);
        }
    }

    /// <summary>Parses a conditions expression and checks that it names only this Sensor's dependencies.</summary>
    private static void ValidateConditions(string conditions, string at, HashSet<string> deps, Action<string, string> fail)
    {
        try
        {
            foreach (var name in TriggerConditions.Parse(conditions).Names.Where(n => !deps.Contains(n)))
                fail(at, $"'{name}' is not a dependency of this Sensor (known: {string.Join(", ", deps.Order(StringComparer.Ordinal))})");
        }
        catch (FormatException e)
        {
            fail(at, e.Message);
        }
    }
}
