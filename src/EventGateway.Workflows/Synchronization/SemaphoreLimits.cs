using Microsoft.Extensions.Logging;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Synchronization;

/// <summary>
/// Feeds semaphore limits from ConfigMaps in the store into the <see cref="LockTable"/>: read when a semaphore is
/// first used, and again on every change of a ConfigMap in use, so a new limit applies while workflows wait.
/// </summary>
public sealed partial class SemaphoreLimits(IResourceStore store, ILogger log)
{
    private long _reads;
    private LockTable? _table;

    /// <summary>Starts following ConfigMap changes for <paramref name="table"/>; dispose to stop.</summary>
    public IDisposable Follow(LockTable table)
    {
        _table = table;
        return store.Watch("ConfigMap", c =>
        {
            if (table.UsesConfigMap(c.Namespace, c.Name)) Read(c.Namespace, c.Name);
        });
    }

    public void Read(LockName semaphore) => Read(semaphore.Namespace, semaphore.Name);

    private void Read(string ns, string name)
    {
        // Numbered when asked, not when answered: a read asked later started later and saw newer data.
        var read = Interlocked.Increment(ref _reads);
        _ = ReadAsync(ns, name, read);
    }

    private async Task ReadAsync(string ns, string name, long read)
    {
        try
        {
            var cm = await store.GetAsync<ConfigMap>(ns, name).ConfigureAwait(false);
            _table!.SetLimits(ns, name, cm is null ? null : cm.Data ?? [], read);
        }
        catch (Exception e)
        {
            // Waiters stay queued: the next change of the ConfigMap reads it again.
            LogReadFailed(log, ns, name, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not read semaphore limits from ConfigMap {Namespace}/{Name}")]
    private static partial void LogReadFailed(ILogger log, string @namespace, string name, Exception e);
}
