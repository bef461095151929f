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
    ListenerStatus status)
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

    /// <summary>Key prefix for this event's own state (poll checkpoints, last tick), unique per source and event.</summary>
    public string StateKey(string what) => $"{Namespace}/{SourceName}/{EventName}/{what}";

    /// <summary>Builds the envelope and waits until it is durable; returns its sequence.</summary>
    public async Task<long> PublishAsync(string id, ReadOnlyMemory<byte> data, DateTimeOffset? time = null, SourceCheckpoint? checkpoint = null, CancellationToken ct = default)
    {
        var at = time ?? Time.GetUtcNow();
        var seqs = await Log.AppendAsync([new EventToAppend(Namespace, Envelope(id, data, at))], checkpoint, ct).ConfigureAwait(false);
        Status.Accept(Time.GetUtcNow());
        return seqs[0];
    }

    /// <summary>Several events and an optional checkpoint in one durable write (a poll's findings, a catch-up's ticks).</summary>
    public async Task<IReadOnlyList<long>> PublishManyAsync(IReadOnlyList<(string Id, ReadOnlyMemory<byte> Data, DateTimeOffset Time)> events,
        SourceCheckpoint? checkpoint = null, CancellationToken ct = default)
    {
        var batch = events.Select(e => new EventToAppend(Namespace, Envelope(e.Id, e.Data, e.Time))).ToList();
        var seqs = await Log.AppendAsync(batch, checkpoint, ct).ConfigureAwait(false);
        if (batch.Count > 0) Status.Accept(Time.GetUtcNow(), batch.Count);
        return seqs;
    }

    public CloudEvent Envelope(string id, ReadOnlyMemory<byte> data, DateTimeOffset time) =>
        new(id, SourceName, Type, EventName, time, data);
}
