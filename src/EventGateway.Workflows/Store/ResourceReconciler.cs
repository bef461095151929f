using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// A hosted service that keeps something running per object of one kind: every object in the store at start and
/// every later change is handed to <see cref="ReconcileAsync"/>, one key at a time; a failing key is logged and
/// does not stop the others. When the service stops, <see cref="StopAllAsync"/> ends what it started.
/// </summary>
public abstract partial class ResourceReconciler<T>(IResourceStore store, string kind, ILogger logger) : BackgroundService where T : Resource
{
    protected IResourceStore Store { get; } = store;

    private readonly Channel<(string Ns, string Name)> _changes = Channel.CreateUnbounded<(string, string)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Brings what runs for the object in line with the store; the object may be gone.</summary>
    protected abstract Task ReconcileAsync((string Ns, string Name) key, CancellationToken ct);

    protected abstract Task StopAllAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watch = Store.Watch(kind, c => _changes.Writer.TryWrite((c.Namespace, c.Name)));
        foreach (var r in await Store.ListAsync<T>(ct: stoppingToken).ConfigureAwait(false))
            _changes.Writer.TryWrite((r.NamespaceOrDefault, r.Name));
        try
        {
            await foreach (var key in _changes.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await ReconcileAsync(key, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReconcileFailed(logger, e, kind, key.Ns, key.Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally
        {
            await StopAllAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind} {Namespace}/{Name}: reconcile failed")]
    private static partial void LogReconcileFailed(ILogger log, Exception e, string kind, string @namespace, string name);
}
