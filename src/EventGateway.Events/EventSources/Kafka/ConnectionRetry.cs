using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.EventSources.Kafka;

/// <summary>
/// Argo's <c>connectionBackoff</c> (Kubernetes' wait.Backoff): up to <see cref="Steps"/> attempts; before
/// each retry wait <see cref="Duration"/> plus up to <see cref="Jitter"/> times as much at random, then
/// multiply the duration by <see cref="Factor"/>. Unset fields take Argo's defaults (1s, 1.0, 1, 5 steps).
/// </summary>
public sealed record ConnectionRetry(TimeSpan Duration, double Factor, double Jitter, int Steps)
{
    public static readonly ConnectionRetry Default = new(TimeSpan.FromSeconds(1), 1.0, 1.0, 5);

    public static ConnectionRetry From(ConnectionBackoff? backoff)
    {
        var errors = new List<string>();
        var retry = Parse(backoff, (field, reason) => errors.Add($"connectionBackoff.{field}: {reason}"));
        return errors.Count == 0 ? retry : throw new FormatException(string.Join("; ", errors));
    }

    /// <summary>Parses what is valid and reports each invalid field by name (duration, factor, jitter, steps).</summary>
    public static ConnectionRetry Parse(ConnectionBackoff? backoff, Action<string, string> fail)
    {
        if (backoff is null) return Default;
        var duration = Default.Duration;
        if (backoff.Duration is { } d)
        {
            if (!TryDuration(d, out duration))
                fail("duration", $"'{d.ToJsonString()}' is not a duration like 1s or 500ms, nor integer nanoseconds");
        }
        var factor = Number(backoff.Factor, "factor", Default.Factor, fail);
        var jitter = Number(backoff.Jitter, "jitter", Default.Jitter, fail);
        if (backoff.Steps is < 0) fail("steps", $"must be 0 (default 5) or more, got {backoff.Steps}");
        return new ConnectionRetry(duration, factor, jitter, backoff.Steps is > 0 ? backoff.Steps.Value : Default.Steps);
    }

    /// <summary>The wait before retry number <paramref name="retry"/> (1 = after the first failed attempt).</summary>
    public TimeSpan DelayBefore(int retry, Random random)
    {
        var d = Duration.TotalSeconds * Math.Pow(Factor, retry - 1);
        if (Jitter > 0) d += d * Jitter * random.NextDouble();
        return TimeSpan.FromSeconds(Math.Min(d, TimeSpan.FromHours(1).TotalSeconds));
    }

    private static bool TryDuration(JsonNode node, out TimeSpan value)
    {
        value = default;
        if (node is not JsonValue v) return false;
        if (v.GetValueKind() == JsonValueKind.Number)
        {
            // An integer is nanoseconds, as Go's time.Duration.
            if (!v.TryGetValue<long>(out var ns) || ns < 0) return false;
            value = TimeSpan.FromTicks(ns / 100);
            return true;
        }
        return v.TryGetValue<string>(out var s) && Durations.TryParse(s, out value);
    }

    private static double Number(JsonNode? node, string field, double fallback, Action<string, string> fail)
    {
        if (node is null) return fallback;
        if (node is JsonValue v)
        {
            if (v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var n) && n >= 0) return n;
            if (v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p >= 0 && double.IsFinite(p))
                return p;
        }
        fail(field, $"'{node.ToJsonString()}' is not a non-negative number");
        return fallback;
    }
}
