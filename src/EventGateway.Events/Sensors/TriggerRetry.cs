using System.Globalization;
using System.Text.Json.Nodes;
using Polly;
using Polly.Retry;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors;

/// <summary>
/// A trigger's <c>retryStrategy</c> (Argo's Backoff: <c>steps</c> attempts in all, first wait <c>duration</c>,
/// each next one times <c>factor</c>, plus up to <c>jitter</c> of it at random) as a Polly pipeline on the
/// injected clock. Without a strategy a trigger is tried once, as in Argo. Only retryable failures retry.
/// </summary>
public static class TriggerRetry
{
    public sealed record Backoff(int Steps, TimeSpan Duration, double Factor, double Jitter)
    {
        public static readonly Backoff Once = new(1, TimeSpan.Zero, 1, 0);
    }

    /// <exception cref="FormatException">a field has the wrong shape; the message names it.</exception>
    public static Backoff Parse(JsonObject? strategy)
    {
        if (strategy is null) return Backoff.Once;
        var steps = strategy["steps"] is { } s ? (int)Number(s, "steps") : 1;
        if (steps < 1) throw new FormatException($"steps: {steps} must be at least 1 (the number of attempts)");
        var duration = strategy["duration"] switch
        {
            null => TimeSpan.FromSeconds(1),
            JsonValue v when v.TryGetValue<string>(out var text) => Durations.TryParse(text, out var d) ? d
                : throw new FormatException($"duration: '{text}' is not a duration such as 1s or 500ms"),
            var n => TimeSpan.FromTicks((long)(Number(n, "duration") / 100)), // an integer is nanoseconds, as in Argo
        };
        var factor = strategy["factor"] is { } f ? Number(f, "factor") : 1.0;
        var jitter = strategy["jitter"] is { } j ? Number(j, "jitter") : 0.0;
        if (factor < 1) throw new FormatException($"factor: {factor.ToString(CultureInfo.InvariantCulture)} must be at least 1");
        if (jitter is < 0 or > 1) throw new FormatException($"jitter: {jitter.ToString(CultureInfo.InvariantCulture)} must be between 0 and 1");
        return new Backoff(steps, duration, factor, jitter);
    }

    public static ResiliencePipeline Build(Backoff backoff, TimeProvider time)
    {
        if (backoff.Steps <= 1) return ResiliencePipeline.Empty;
        return new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = backoff.Steps - 1,
                ShouldHandle = new PredicateBuilder().Handle<TriggerException>(e => e.Retryable),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(DelayBefore(backoff, args.AttemptNumber)),
            })
            .Build();
    }

    /// <summary>The wait before retry number <paramref name="attempt"/> (0-based): duration × factor^attempt, plus jitter.</summary>
    public static TimeSpan DelayBefore(Backoff backoff, int attempt)
    {
        var wait = backoff.Duration.TotalMilliseconds * Math.Pow(backoff.Factor, attempt);
        if (backoff.Jitter > 0) wait += wait * backoff.Jitter * Random.Shared.NextDouble();
        return TimeSpan.FromMilliseconds(Math.Min(wait, TimeSpan.FromHours(1).TotalMilliseconds));
    }

    private static double Number(JsonNode node, string field) =>
        node is JsonValue v && (v.TryGetValue<double>(out var d) || v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
            ? d : throw new FormatException($"{field}: '{node.ToJsonString()}' is not a number");
}
