using System.Diagnostics;
using System.Threading.Channels;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The controller's queue of workflow keys, with client-go's workqueue guarantees: a key is queued once however
/// often it is added, and never handed to two workers at once; a key added while a worker has it is handed out
/// again when that worker is done, so no change is missed and no workflow's passes overlap.
/// </summary>
internal sealed class WorkQueue(ControllerMetrics? metrics = null)
{
    private readonly Channel<string> _ready = Channel.CreateUnbounded<string>();
    private readonly Lock _gate = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _processing = new(StringComparer.Ordinal);
    /// <summary>When each dirty key was added, and when each key in work was taken (client-go's queue_latency and work duration).</summary>
    private readonly Dictionary<string, long> _added = new(StringComparer.Ordinal), _taken = new(StringComparer.Ordinal);

    public void Add(string key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key)) return;
            if (metrics is not null) _added[key] = Stopwatch.GetTimestamp();
            if (_processing.Contains(key)) return;
        }
        _ready.Writer.TryWrite(key);
        metrics?.Queued(_ready.Reader.Count);
    }

    /// <summary>The next key; the caller owns it until <see cref="Done"/>.</summary>
    public async ValueTask<string> TakeAsync(CancellationToken ct)
    {
        var key = await _ready.Reader.ReadAsync(ct).ConfigureAwait(false);
        lock (_gate)
        {
            _dirty.Remove(key);
            _processing.Add(key);
            if (metrics is not null)
            {
                var now = Stopwatch.GetTimestamp();
                if (_added.Remove(key, out var added)) metrics.QueueLatency(Stopwatch.GetElapsedTime(added, now));
                _taken[key] = now;
            }
            metrics?.Taken(_ready.Reader.Count, _processing.Count);
        }
        return key;
    }

    public void Done(string key)
    {
        lock (_gate)
        {
            _processing.Remove(key);
            if (metrics is not null && _taken.Remove(key, out var taken)) metrics.QueueDuration(Stopwatch.GetElapsedTime(taken));
            metrics?.Taken(_ready.Reader.Count, _processing.Count);
            if (!_dirty.Contains(key)) return;
        }
        _ready.Writer.TryWrite(key);
    }
}
