using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Http;

namespace EventGateway.Events.EventSources;

/// <summary>
/// A sender's W3C trace context (<c>traceparent</c>, <c>tracestate</c>), read so that the event's span continues the
/// sender's trace (a CI run's trace then shows the event it sent). Listeners read it only after the sender was
/// authenticated (bearer token, signature): an unauthenticated caller cannot attach spans to someone's trace. It is a
/// parent link only: the sampler (OpenTelemetry's parent-based default) may honour its sampled flag, nothing more.
/// A malformed header is ignored (the event starts its own trace), as W3C Trace Context asks.
/// </summary>
public static class CallerTrace
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    /// <summary>From HTTP request headers; default when absent, malformed, or no one records spans.</summary>
    public static ActivityContext From(IHeaderDictionary headers)
    {
        if (!ListenerContext.Traced || !headers.TryGetValue(TraceParent, out var parent) || parent.Count != 1) return default;
        var state = headers.TryGetValue(TraceState, out var s) ? string.Join(",", s.ToArray()) : null;
        return Parse(parent[0], state);
    }

    /// <summary>From Kafka message headers (UTF-8 values; the last one of a name wins, as Kafka clients read them).</summary>
    public static ActivityContext From(Headers? headers)
    {
        if (!ListenerContext.Traced || headers is null || !headers.TryGetLastBytes(TraceParent, out var parent)) return default;
        var state = headers.TryGetLastBytes(TraceState, out var s) ? Encoding.UTF8.GetString(s) : null;
        return Parse(Encoding.UTF8.GetString(parent), state);
    }

    private static ActivityContext Parse(string? traceParent, string? traceState) =>
        ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : default;
}
