using System.Diagnostics;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources.Http;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.EventSources;

/// <summary>Everything a listener may use: its identity, the log to publish into, secrets, the shared HTTP listeners, the clock.</summary>
public sealed class ListenerContext(
    EventSource source,
    string type,
    string eventName,
    IEventLog log,
    SecretResolver secrets,
    WebhookServer http,
    IResourceStore store,
    TimeProvider time,
    ILogger logger,
    ListenerStatus status,
    EventGateway.Workflows.Replicas.IOwnership? ownership = null)
{
    public EventSource Source { get; } = source;
    public string Namespace => Source.NamespaceOrDefault;
    public string SourceName => Source.Name;
    public string Type { get; } = type;
    public string EventName { get; } = eventName;
    public IEventLog Log { get; } = log;
    public SecretResolver Secrets { get; } = secrets;
    public WebhookServer Http { get; } = http;
    public IResourceStore Store { get; } = store;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;
    public ListenerStatus Status { get; } = status;

    /// <summary>Who does exclusive work among replicas (embedded: this process does all of it).</summary>
    public EventGateway.Workflows.Replicas.IOwnership Ownership { get; } = ownership ?? EventGateway.Workflows.Replicas.SoleOwnership.Instance;

    /// <summary>Key prefix for this event's own state (poll checkpoints, last tick), unique per source and event.</summary>
    public string StateKey(string what) => $"{Namespace}/{SourceName}/{EventName}/{what}";

    /// <summary>The listeners' spans: one per accepted event, the root of that event's trace.</summary>
    public const string ActivitySourceName = "EventGateway.EventSources";

    private static readonly ActivitySource Tracing = new(ActivitySourceName);

    /// <summary>Whether anyone records spans: a listener reads its sender's trace context only then.</summary>
    public static bool Traced => Tracing.HasListeners();

    /// <summary>
    /// Builds the envelope and waits until it is durable; returns its sequence. <paramref name="caller"/> is the sender's
    /// trace context (<see cref="CallerTrace"/>), given only once the sender was authenticated: the event's span is then its
    /// child instead of a new trace's root.
    /// </summary>
    public async Task<long> PublishAsync(string id, ReadOnlyMemory<byte> data, DateTimeOffset? time = null, SourceCheckpoint? checkpoint = null,
        CancellationToken ct = default, ActivityContext caller = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = Receive(id, caller);
        var at = time ?? Time.GetUtcNow();
        var seqs = await Log.AppendAsync([new EventToAppend(Namespace, Envelope(id, data, at, span?.Id))], checkpoint, ct).ConfigureAwait(false);
        span?.SetTag("sequence", seqs[0]);
        Status.Accept(Time.GetUtcNow());
        Status.Metrics?.Processed(Stopwatch.GetElapsedTime(started));
        return seqs[0];
    }

    /// <summary>
    /// Several events and an optional checkpoint in one durable write (a poll's findings, a catch-up's ticks).
    /// <paramref name="callers"/>, if given, holds each event's sender trace context by index (default: none).
    /// </summary>
    public async Task<IReadOnlyList<long>> PublishManyAsync(IReadOnlyList<(string Id, ReadOnlyMemory<byte> Data, DateTimeOffset Time)> events,
        SourceCheckpoint? checkpoint = null, CancellationToken ct = default, IReadOnlyList<ActivityContext>? callers = null)
    {
        var started = Stopwatch.GetTimestamp();
        // A span per event, each the root of its own trace: events of one batch go their own ways through the sensors.
        var spans = Tracing.HasListeners() ? new Activity?[events.Count] : null;
        var outer = Activity.Current;
        var batch = new List<EventToAppend>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var span = spans is null ? null : spans[i] = Receive(events[i].Id, callers?[i] ?? default);
            Activity.Current = outer;
            batch.Add(new EventToAppend(Namespace, Envelope(events[i].Id, events[i].Data, events[i].Time, span?.Id)));
        }
        try
        {
            var seqs = await Log.AppendAsync(batch, checkpoint, ct).ConfigureAwait(false);
            for (var i = 0; spans is not null && i < spans.Length; i++) spans[i]?.SetTag("sequence", seqs[i]);
            if (batch.Count > 0)
            {
                Status.Accept(Time.GetUtcNow(), batch.Count);
                Status.Metrics?.Processed(Stopwatch.GetElapsedTime(started));
            }
            return seqs;
        }
        catch (Exception e)
        {
            foreach (var span in spans ?? []) span?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
        finally
        {
            foreach (var span in spans ?? []) span?.Dispose();
        }
    }

    /// <summary>
    /// The span of one event's receipt; null (at no cost) while no one listens. Its parent is the authenticated sender's
    /// context or none: never an ambient Activity.Current (ASP.NET Core's request activity takes the traceparent header
    /// before any signature was checked).
    /// </summary>
    private Activity? Receive(string id, ActivityContext caller)
    {
        if (!Tracing.HasListeners()) return null;
        // StartActivity takes Activity.Current as the parent when given none; clearing it makes a root. The caller restores it.
        Activity.Current = null;
        return Tracing.StartActivity($"{Type} receive", ActivityKind.Consumer, caller,
        [
            new("namespace", Namespace), new("eventsource_name", SourceName), new("event_name", EventName), new("event_type", Type),
            new("cloudevents.event_id", id),
        ]);
    }

    public CloudEvent Envelope(string id, ReadOnlyMemory<byte> data, DateTimeOffset time, string? traceParent = null) =>
        new(id, SourceName, Type, EventName, time, data, TraceParent: traceParent);
}
