using Polly;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Events.Sensors;

/// <summary>
/// One trigger of a running sensor, prepared once when the sensor starts: its conditions, the kind that
/// fires it, its rate limiter, its retry pipeline, its dead-letter trigger and its conditions resets.
/// </summary>
internal sealed class TriggerPlan
{
    public required SensorTrigger Trigger { get; init; }
    public required string Name { get; init; }
    public required TriggerConditions Conditions { get; init; }
    public required ITrigger Kind { get; init; }
    public required ResiliencePipeline Retry { get; init; }
    public required int Attempts { get; init; }
    public TriggerRateLimiter? Limiter { get; init; }
    public TriggerPlan? DeadLetter { get; init; }
    public IReadOnlyList<(CronSpec Cron, TimeZoneInfo Zone)> Resets { get; init; } = [];

    /// <summary>Kinds that create workflows pass the service-wide cap on unfinished sensor workflows first.</summary>
    public bool CreatesWorkflows =>
        Trigger.Template?.K8s is not null
        || Trigger.Template?.ArgoWorkflow is { } wf && (wf["operation"]?.GetValue<string>() ?? "submit") is "submit" or "submit-from" or "resubmit";

    public static TriggerPlan Build(SensorTrigger trigger, IReadOnlyList<string> dependencies, IReadOnlyDictionary<string, ITrigger> kinds, TimeProvider time)
    {
        var t = trigger.Template ?? throw new ArgumentException("template: missing");
        var kind = (t.ArgoWorkflow, t.K8s, t.Http, t.Kafka, t.Log) switch
        {
            ({ }, _, _, _, _) => "argoWorkflow",
            (_, { }, _, _, _) => "k8s",
            (_, _, { }, _, _) => "http",
            (_, _, _, { }, _) => "kafka",
            (_, _, _, _, { }) => "log",
            _ => throw new ArgumentException($"trigger '{t.Name}': no supported kind"),
        };
        var backoff = TriggerRetry.Parse(trigger.RetryStrategy);
        var resets = new List<(CronSpec, TimeZoneInfo)>();
        foreach (var r in t.ConditionsReset ?? [])
        {
            if (r.ByTime?.Cron is not { } cronText) continue;
            if (!CronSpec.TryParse(cronText, out var cron, out var error)) throw new ArgumentException($"conditionsReset: {error}");
            resets.Add((cron, r.ByTime.Timezone is { } tz ? TimeZoneInfo.FindSystemTimeZoneById(tz) : TimeZoneInfo.Utc));
        }
        return new TriggerPlan
        {
            Trigger = trigger,
            Name = t.Name ?? kind,
            Conditions = string.IsNullOrWhiteSpace(t.Conditions) ? TriggerConditions.All(dependencies) : TriggerConditions.Parse(t.Conditions),
            Kind = kinds.TryGetValue(kind, out var k) ? k : throw new ArgumentException($"trigger kind '{kind}' is not available in this service"),
            Retry = TriggerRetry.Build(backoff, time),
            Attempts = backoff.Steps,
            Limiter = trigger.RateLimit is { RequestsPerUnit: > 0 } rl ? new TriggerRateLimiter(rl.RequestsPerUnit.Value, TriggerRateLimiter.UnitOf(rl.Unit), time) : null,
            DeadLetter = trigger.DlqTrigger is { } dlq ? Build(dlq, dependencies, kinds, time) : null,
            Resets = resets,
        };
    }

    /// <summary>
    /// Fires once with the trigger's parameters applied and its retries; a failure comes back as the reason (with the
    /// number of attempts), never as an exception, so the pipeline and a dead-letter replay record it the same way.
    /// </summary>
    public async Task<(TriggerResult? Result, string? Error)> TryFireAsync(Sensor sensor, IReadOnlyDictionary<string, Log.CloudEvent> events,
        string dedupKey, IReadOnlyList<long> sequences, TriggerContext context, CancellationToken ct)
    {
        var attempts = 0;
        try
        {
            var firing = new TriggerFiring(sensor, TriggerParameters.Apply(Trigger, events), events, dedupKey, sequences);
            var result = await Retry.ExecuteAsync(async token =>
            {
                attempts++;
                return await Kind.FireAsync(firing, context, token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            return (result, null);
        }
        catch (TriggerException e)
        {
            return (null, attempts > 1 ? $"{e.Message} (after {attempts} attempts)" : e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, $"{e.GetType().Name}: {e.Message}");
        }
    }

}
