namespace EventGateway.Events.Log;

/// <summary>
/// A CloudEvents 1.0 event as Argo Events builds it: <c>source</c> is the EventSource's name,
/// <c>subject</c> the event name, <c>data</c> the per-source JSON shape Sensors read with dataKey.
/// The id comes from the source's own identity where it has one (GitHub delivery, topic/partition/offset,
/// bucket/key/ETag, schedule tick), so a redelivery is recognisably the same event.
/// <c>TraceParent</c> is the CloudEvents distributed-tracing extension (<c>traceparent</c>): the W3C trace context of the
/// listener's span that accepted the event, kept with it in the log so a sensor's spans continue that trace.
/// </summary>
public sealed record CloudEvent(
    string Id,
    string Source,
    string Type,
    string Subject,
    DateTimeOffset Time,
    ReadOnlyMemory<byte> Data,
    string DataContentType = "application/json",
    string? TraceParent = null)
{
    public const string Version = "1.0";
    public string SpecVersion => Version;
}

/// <summary>An event as it sits in the log: its place in the order, its namespace and when it was accepted.</summary>
public sealed record LoggedEvent(long Sequence, string Namespace, CloudEvent Event, DateTimeOffset Received);

/// <summary>Where an event came from, for placing it in the log: the EventSource's namespace plus the envelope.</summary>
public sealed record EventToAppend(string Namespace, CloudEvent Event);

/// <summary>
/// A source's position (S3 poll listing, calendar tick) written in the same transaction as the events
/// it produced, so a restart neither replays nor skips.
/// </summary>
public sealed record SourceCheckpoint(string Key, string Value);

public sealed record EventQuery(string? Namespace = null, string? Source = null, string? Subject = null, long? BeforeSequence = null, int Limit = 50);

public sealed record EventLogStats(long Count, long FirstSequence, long LastSequence, DateTimeOffset? Oldest, DateTimeOffset? Newest,
    TimeSpan RetentionMaxAge, long RetentionMaxEvents, long Pending);

/// <summary>The log cannot take the event now (queue full, disk failing). Senders get 503 with Retry-After.</summary>
public sealed class EventLogUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
}
