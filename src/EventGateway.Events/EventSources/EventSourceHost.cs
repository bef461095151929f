using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources.Http;
using EventGateway.Events.Log;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Replicas;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.EventSources;

/// <summary>
/// Keeps the running listeners equal to the EventSources in the store: starts an EventSource's
/// listeners when it is added, restarts them when its spec changes, stops them when it is deleted.
/// A listener that fails is restarted with backoff; its status says why. One EventSource's failure
/// never touches another's. With several replicas, listeners that take requests run on every replica and
/// those that poll (<see cref="IEventListener.Exclusive"/>) on the one holding their lease.
/// </summary>
public sealed partial class EventSourceHost(
    IResourceStore store,
    IEventLog log,
    SecretResolver secrets,
    WebhookServer http,
    TimeProvider time,
    ILoggerFactory loggers,
    IOwnership ownership,
    EventSourceMetrics? metrics = null) : ResourceReconciler<EventSource>(store, "EventSource", loggers.CreateLogger<EventSourceHost>())
{
    private sealed record Running(string Fingerprint, CancellationTokenSource Stop, IReadOnlyList<(ListenerStatus Status, Task Task)> Listeners, string? Error,
        IReadOnlyList<ExclusiveWork>? Leases = null);

    private readonly ConcurrentDictionary<(string Ns, string Name), Running> _running = new();
    private readonly ILogger _log = loggers.CreateLogger<EventSourceHost>();

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>The listeners of an EventSource, or null when it is not running; <c>Error</c> when it was refused.</summary>
    public (IReadOnlyList<ListenerStatus> Listeners, string? Error)? StatusOf(string @namespace, string name) =>
        _running.TryGetValue((@namespace, name), out var r) ? (r.Listeners.Select(l => l.Status).ToList(), r.Error) : null;

    protected override async Task StopAllAsync()
    {
        foreach (var key in _running.Keys.ToList()) await StopAsync(key).ConfigureAwait(false);
    }

    protected override async Task ReconcileAsync((string Ns, string Name) key, CancellationToken ct)
    {
        var es = await Store.GetAsync<EventSource>(key.Ns, key.Name, ct).ConfigureAwait(false);
        if (es is null)
        {
            await StopAsync(key).ConfigureAwait(false);
            return;
        }
        var fingerprint = JsonSerializer.Serialize(es.Spec, Json.Lenient) + JsonSerializer.Serialize(es.Metadata.Annotations, Json.Lenient);
        if (_running.TryGetValue(key, out var current) && current.Fingerprint == fingerprint) return;
        await StopAsync(key).ConfigureAwait(false);

        var errors = new List<string>();
        EventSourceValidator.Validate(es, (path, reason) => errors.Add($"{path}: {reason}"));
        if (errors.Count > 0)
        {
            _running[key] = new Running(fingerprint, new CancellationTokenSource(), [], string.Join("; ", errors));
            LogRefused(_log, key.Ns, key.Name, string.Join("; ", errors));
            return;
        }

        var stop = new CancellationTokenSource();
        var leases = new List<ExclusiveWork>();
        var listeners = EventListeners.For(es).Select(entry =>
        {
            var status = new ListenerStatus(entry.Type, entry.EventName, metrics?.For(key.Ns, key.Name, entry.EventName));
            var ctx = new ListenerContext(es, entry.Type, entry.EventName, log, secrets, http, Store, time,
                loggers.CreateLogger($"EventGateway.Events.EventSources.{entry.Type}"), status, ownership);
            var work = entry.Listener.Exclusive(es) ? new ExclusiveWork(ownership, $"eventsource/{key.Ns}/{key.Name}/{entry.Type}/{entry.EventName}") : null;
            if (work is not null) leases.Add(work);
            return (status, Task.Run(() => SuperviseAsync(entry.Listener, ctx, work, stop.Token), CancellationToken.None));
        }).ToList();
        _running[key] = new Running(fingerprint, stop, listeners, null, leases);
        LogStarted(_log, key.Ns, key.Name, listeners.Count);
    }

    /// <summary>Runs a listener until stopped; a failure is recorded and retried after 1 s, doubling to 30 s.</summary>
    private async Task SuperviseAsync(IEventListener listener, ListenerContext ctx, ExclusiveWork? work, CancellationToken ct)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            var held = CancellationToken.None;
            if (work is not null)
            {
                if (!work.Claim.Held) ctx.Status.Standby($"another replica runs this listener (lease {work.Lease}); this one takes over when it is free");
                try { held = await work.WaitHeldAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
            }
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct, held);
            try
            {
                await listener.RunAsync(ctx, run.Token).ConfigureAwait(false);
                if (ct.IsCancellationRequested) break;
                if (held.IsCancellationRequested) continue;
                ctx.Status.Failed("listener ended unexpectedly");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException) when (held.IsCancellationRequested)
            {
                // Its lease was lost: stopped before another replica may take it; wait to hold it again.
                backoff = TimeSpan.FromSeconds(1);
                continue;
            }
            catch (Exception e)
            {
                ctx.Status.Failed(e.Message);
                LogListenerFailed(_log, ctx.Namespace, ctx.SourceName, ctx.EventName, e.Message, backoff.TotalSeconds);
            }
            try { await Task.Delay(backoff, time, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
        ctx.Status.Stopped();
    }

    private async Task StopAsync((string Ns, string Name) key)
    {
        if (!_running.TryRemove(key, out var r)) return;
        await r.Stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(r.Listeners.Select(l => l.Task)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var lease in r.Leases ?? []) lease.Dispose();
        r.Stop.Dispose();
        LogStopped(_log, key.Ns, key.Name);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "event source {Namespace}/{Name}: {Count} listeners started")]
    private static partial void LogStarted(ILogger log, string @namespace, string name, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "event source {Namespace}/{Name}: stopped")]
    private static partial void LogStopped(ILogger log, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "event source {Namespace}/{Name} refused: {Errors}")]
    private static partial void LogRefused(ILogger log, string @namespace, string name, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "event source {Namespace}/{Name} event {Event} failed: {Reason}; retrying in {Seconds}s")]
    private static partial void LogListenerFailed(ILogger log, string @namespace, string name, string @event, string reason, double seconds);
}
